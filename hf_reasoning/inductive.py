"""The inductive scratchpad as inputs for any Hugging Face causal LM (docs/formats.md, "Inductive scratchpad: masking and positions").

An inductive completion ``: s1 # s2 # … # sk .`` is trained with the *duplication* trick:
the sequence fed to the model is ``Q : s1 # [s1 #] s2 # [s2 #] s3 # …`` where a bracketed
copy of the previous state carries no loss and shares a *segment* with the state after it.
Three tensors make a model see each state with only the question and the previous state:

* ``segment_ids`` (internal): 0 for the question, 1, 2, … for the segments, -1 for padding;
* ``position_ids``: the question keeps ``0..|Q|-1``; every segment restarts at ``|Q|``;
* ``attention_mask``: a 4D *additive float* mask ``(batch, 1, T, T)``, 0 where a query may
  attend a key — causal order, and the key is in the question or in the query's segment —
  and ``torch.finfo(dtype).min`` elsewhere. Never boolean: eager attention *adds* the mask,
  so a boolean one would silently be added as 0/1. A 4D mask is passed through untouched by
  ``transformers.masking_utils`` for both the ``eager`` and ``sdpa`` implementations.

The shift format has no ``:``: the question is empty and the prompt is the first state, so
each state sees only the previous one.

The same builders serve generation: :func:`segment_layout` / :func:`collate_layouts` turn
"question + list of segments" into model inputs, so a decoder (here :func:`greedy_inductive`,
and the cached decoder of the evaluation module) can rebuild the naive reference inputs at
any point of a generation.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from itertools import chain, islice
from dataclasses import dataclass

import numpy as np
import torch
from transformers import PreTrainedTokenizerBase

from .tokenization import completion_states, encode_pieces, encode_prompts_and_completions, marker_id

IGNORE_INDEX = -100
QUESTION = 0
PADDING = -1
INDUCTIVE_FORMATS = ("inductive", "shift")
_OFFSET_STREAM = 0x5EED0FF5  # keeps the offset generator apart from other (seed, …) streams


@dataclass
class Layout:
    """One example laid out for the model: parallel lists of the same length."""

    input_ids: list[int]
    segment_ids: list[int]  # QUESTION, 1, 2, …
    position_ids: list[int]
    targets: list[bool]  # True where the token carries loss

    def __len__(self) -> int:
        return len(self.input_ids)


def segment_layout(
    question: Sequence[int],
    segments: Sequence[Sequence[int]],
    *,
    question_targets: Sequence[bool] | None = None,
    segment_targets: Sequence[Sequence[bool]] | None = None,
) -> Layout:
    """Lay out ``question`` then each of ``segments``; positions restart at ``len(question)``
    for every segment. Empty segments are skipped (e.g. a state not started yet)."""
    n_question = len(question)
    ids = list(question)
    segment_ids = [QUESTION] * n_question
    positions = list(range(n_question))
    targets = list(question_targets) if question_targets is not None else [False] * n_question
    number = 0
    for i, segment in enumerate(segments):
        if not segment:
            continue
        number += 1
        ids.extend(segment)
        segment_ids.extend([number] * len(segment))
        positions.extend(range(n_question, n_question + len(segment)))
        targets.extend(segment_targets[i] if segment_targets is not None else [False] * len(segment))
    return Layout(ids, segment_ids, positions, targets)


def duplicated_segments(
    states: Sequence[Sequence[int]], state_targets: Sequence[Sequence[bool]] | None = None
) -> tuple[list[list[int]], list[list[bool]]]:
    """The duplication trick: segment i is ``copy(state i-1) + state i``; copies carry no loss.

    ``states`` are token ids, each state with the marker that ends it (``#`` or ``.``); the
    last one may be partial (generation). Targets default to True on every state token.
    """
    segments: list[list[int]] = []
    targets: list[list[bool]] = []
    previous: Sequence[int] = ()
    for i, state in enumerate(states):
        own = list(state_targets[i]) if state_targets is not None else [True] * len(state)
        segments.append([*previous, *state])
        targets.append([False] * len(previous) + own)
        previous = state
    return segments, targets


def attention_mask_from_segments(segment_ids: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The 4D additive mask ``(batch, 1, T, T)`` of a batch of ``segment_ids`` ``(batch, T)``.

    A query attends a key iff the key is not later (causal), not padding, and in the
    question or the query's own segment. Padding queries attend themselves only, so no row
    is fully blocked (a fully blocked row makes softmax NaN once the scores underflow).
    """
    length = segment_ids.shape[-1]
    columns = torch.arange(length, device=segment_ids.device)
    # every padding token gets its own negative id, so "same segment" is only itself for it
    own = torch.where(segment_ids == PADDING, -1 - columns, segment_ids)
    query, key = own[:, :, None], own[:, None, :]
    # four passes over (batch, T, T): this runs once per micro-batch on the training path
    allowed = (key == query) | ((key == QUESTION) & (query >= 0))
    allowed &= columns[None, :] <= columns[:, None]
    zero = torch.zeros((), dtype=dtype, device=segment_ids.device)
    blocked = torch.tensor(torch.finfo(dtype).min, dtype=dtype, device=segment_ids.device)
    return torch.where(allowed, zero, blocked)[:, None]


def collate_layouts(
    layouts: Sequence[Layout],
    pad_token_id: int,
    *,
    dtype: torch.dtype = torch.float32,
    pad_to_multiple_of: int | None = None,
    with_labels: bool = True,
    padding_side: str = "right",
) -> dict[str, torch.Tensor]:
    """Pad layouts into model inputs: ``input_ids``, ``position_ids``, the 4D
    ``attention_mask`` and (``with_labels``) ``labels`` (-100 off target and on padding).

    Training pads on the right; decoding pads on the left so that every row's last token
    is at index -1 (the mask, not the index, says what is padding either way)."""
    longest = max(len(layout) for layout in layouts)
    if pad_to_multiple_of:
        longest = -(-longest // pad_to_multiple_of) * pad_to_multiple_of
    batch = len(layouts)
    input_ids = torch.full((batch, longest), pad_token_id, dtype=torch.long)
    position_ids = torch.zeros((batch, longest), dtype=torch.long)
    segment_ids = torch.full((batch, longest), PADDING, dtype=torch.long)
    labels = torch.full((batch, longest), IGNORE_INDEX, dtype=torch.long)
    for row, layout in enumerate(layouts):
        n = len(layout)
        # padding gets position 0 on the left and the last real position on the right, so
        # no padded position exceeds the real ones
        span = slice(longest - n, longest) if padding_side == "left" else slice(0, n)
        ids = torch.tensor(layout.input_ids, dtype=torch.long)
        input_ids[row, span] = ids
        position_ids[row, span] = torch.tensor(layout.position_ids, dtype=torch.long)
        segment_ids[row, span] = torch.tensor(layout.segment_ids, dtype=torch.long)
        labels[row, span] = torch.where(torch.tensor(layout.targets, dtype=torch.bool), ids, IGNORE_INDEX)
        if padding_side == "right" and 0 < n < longest:
            position_ids[row, n:] = layout.position_ids[-1]
    out = {
        "input_ids": input_ids,
        "position_ids": position_ids,
        "attention_mask": attention_mask_from_segments(segment_ids, dtype),
    }
    if with_labels:
        out["labels"] = labels
    return out


# -- training collators ----------------------------------------------------------------------


def is_inductive_format(fmt: str) -> bool:
    return fmt in INDUCTIVE_FORMATS


def format_of_config(config_name: str) -> str:
    """The format of a dataset config ``<preset>-<format>`` (``reversed_index_hints`` included)."""
    return config_name.rpartition("-")[2]


class InductiveCollator:
    """Rows with ``prompt``/``completion`` → duplicated, masked inputs for a causal LM.

    The completion is read as whitespace-separated tokens (:func:`completion_states`), so a
    leading space (rows of generator ≥ 0.6.0) or none (≤ 0.5.0) gives the same ids.

    ``loss_on_prompt`` also trains on the prompt tokens (never on copies or padding).
    ``bos_token_id`` (pretrained models that expect one) is prepended to the question.
    """

    def __init__(
        self,
        tokenizer: PreTrainedTokenizerBase,
        *,
        loss_on_prompt: bool = False,
        dtype: torch.dtype = torch.float32,
        bos_token_id: int | None = None,
        pad_to_multiple_of: int | None = None,
    ):
        self.tokenizer = tokenizer
        self.loss_on_prompt = loss_on_prompt
        self.dtype = dtype
        self.bos_token_id = bos_token_id
        self.pad_to_multiple_of = pad_to_multiple_of
        self.pad_token_id = _pad_token_id(tokenizer)

    def layout(self, prompt: str, completion: str) -> Layout:
        return self.layouts([prompt], [completion])[0]

    def layouts(self, prompts: Sequence[str], completions: Sequence[str]) -> list[Layout]:
        split = [completion_states(c) for c in completions]
        # Each piece is tokenised on its own (one batched call), so the markers that start
        # and end states are token boundaries whatever the tokenizer.
        prompt_ids = self.tokenizer(list(prompts), add_special_tokens=False)["input_ids"]
        pieces = [piece for opening, states in split for piece in (opening, *states)]
        piece_ids = iter(encode_pieces(self.tokenizer, pieces, continuation=True))
        bos = [self.bos_token_id] if self.bos_token_id is not None else []
        out: list[Layout] = []
        for prompt, (opening, states) in zip(prompt_ids, split):
            opening_ids = next(piece_ids)
            state_ids = [next(piece_ids) for _ in states]
            prompt = bos + prompt
            prompt_targets = [False] * len(bos) + [self.loss_on_prompt] * (len(prompt) - len(bos))
            if opening == ":":  # the question is the prompt and ':'
                question = prompt + opening_ids
                question_targets = prompt_targets + [True] * len(opening_ids)
                state_targets = None
            else:  # shift: no question; the prompt is the first state, ended by '#'
                question, question_targets = [], []
                state_ids = [prompt + opening_ids, *state_ids]
                state_targets = [prompt_targets + [True] * len(opening_ids)] + [[True] * len(s) for s in state_ids[1:]]
            segments, segment_targets = duplicated_segments(state_ids, state_targets)
            out.append(segment_layout(question, segments, question_targets=question_targets, segment_targets=segment_targets))
        return out

    def __call__(self, rows: Sequence[dict]) -> dict[str, torch.Tensor]:
        """The padded batch of :meth:`layouts`, built with whole-batch numpy (no per-token
        Python: this runs once per micro-batch on the training path)."""
        ids, segment_ids, position_ids, targets, lengths = self.packed([r["prompt"] for r in rows],
                                                                        [r["completion"] for r in rows])
        longest = int(lengths.max())
        if self.pad_to_multiple_of:
            longest = -(-longest // self.pad_to_multiple_of) * self.pad_to_multiple_of
        row = np.repeat(np.arange(len(rows)), lengths)
        column = np.arange(len(ids)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        input_ids = np.full((len(rows), longest), self.pad_token_id, dtype=np.int64)
        segments = np.full((len(rows), longest), PADDING, dtype=np.int64)
        labels = np.full((len(rows), longest), IGNORE_INDEX, dtype=np.int64)
        # right padding sits at the row's last real position, so no padded position exceeds the real ones
        positions = np.repeat(position_ids[np.cumsum(lengths) - 1][:, None], longest, axis=1)
        input_ids[row, column] = ids
        segments[row, column] = segment_ids
        labels[row, column] = np.where(targets, ids, IGNORE_INDEX)
        positions[row, column] = position_ids
        return {
            "input_ids": torch.from_numpy(input_ids),
            "position_ids": torch.from_numpy(positions),
            "attention_mask": attention_mask_from_segments(torch.from_numpy(segments), self.dtype),
            "labels": torch.from_numpy(labels),
        }

    def packed(self, prompts: Sequence[str], completions: Sequence[str]) -> tuple[np.ndarray, ...]:
        """The layouts of a batch as flat arrays, rows one after the other: token ids, segment
        ids, position ids, targets, and each row's length. Equal to :meth:`layouts`.

        Each row is a list of *units* (bos, prompt, opening marker, states). A unit belongs to
        one segment; a state (and, in the shift format, the first state bos+prompt+'#') is
        also written again, without loss, at the start of the next segment — the copy. The
        units are ordered by (row, segment, copy first, unit) and expanded into tokens.
        """
        split = [completion_states(c) for c in completions]
        n_pieces = [1 + len(states) for _, states in split]
        pieces = [piece for opening, states in split for piece in (opening, *states)]
        # one tokenizer call; pieces continue a text, so they carry their leading space (encode_pieces)
        encoded = self.tokenizer([*prompts, *(" " + piece for piece in pieces)], add_special_tokens=False)["input_ids"]
        prompt_ids, piece_ids = encoded[: len(prompts)], iter(encoded[len(prompts) :])
        bos = [self.bos_token_id] if self.bos_token_id is not None else []
        units = [unit for prompt, n in zip(prompt_ids, n_pieces) for unit in (bos, prompt, *islice(piece_ids, n))]
        unit_lengths = np.fromiter(map(len, units), dtype=np.int64, count=len(units))
        unit_starts = np.cumsum(unit_lengths) - unit_lengths
        flat_ids = np.fromiter(chain.from_iterable(units), dtype=np.int64, count=int(unit_lengths.sum()))

        units_per_row = np.array(n_pieces) + 2
        unit_row = np.repeat(np.arange(len(prompts)), units_per_row)
        kind = np.arange(len(units)) - np.repeat(np.cumsum(units_per_row) - units_per_row, units_per_row)  # 0 bos, 1 prompt, 2 opening, 3… states
        shift = np.array([opening != ":" for opening, _ in split])[unit_row]
        # inductive: bos, prompt and ':' are the question (segment 0), state j is segment j;
        # shift: bos, prompt and '#' are the first state (segment 1), state j is segment j + 1
        segment = np.maximum(kind - 2, 0) + shift
        target = np.where(kind == 1, self.loss_on_prompt, kind >= 2)
        copied = (segment > 0) & (segment < segment[np.cumsum(units_per_row) - 1][unit_row])  # not the row's last state

        # own units and copies (one segment later, no loss), in layout order
        source = np.concatenate([np.arange(len(units)), np.flatnonzero(copied)])
        out_segment = np.concatenate([segment, segment[copied] + 1])
        is_own = np.concatenate([np.ones(len(units), bool), np.zeros(int(copied.sum()), bool)])
        order = np.lexsort((kind[source], is_own, out_segment, unit_row[source]))
        source, out_segment, is_own = source[order], out_segment[order], is_own[order]

        lengths_out = unit_lengths[source]
        n_tokens = int(lengths_out.sum())
        token_source = np.repeat(unit_starts[source] - (np.cumsum(lengths_out) - lengths_out), lengths_out) + np.arange(n_tokens)
        ids = flat_ids[token_source]
        token_row = np.repeat(unit_row[source], lengths_out)
        segment_ids = np.repeat(out_segment, lengths_out)
        targets = np.repeat(target[source] & is_own, lengths_out)
        # positions count from 0 in each (row, segment); segments after the question start at |Q|
        starts = np.flatnonzero(np.append(True, (token_row[1:] != token_row[:-1]) | (segment_ids[1:] != segment_ids[:-1])))
        group_start = np.repeat(starts, np.diff(np.append(starts, n_tokens)))
        question_length = np.bincount(token_row, weights=segment_ids == QUESTION, minlength=len(prompts)).astype(np.int64)
        position_ids = np.arange(n_tokens) - group_start + np.where(segment_ids > QUESTION, question_length[token_row], 0)
        lengths = np.bincount(token_row, minlength=len(prompts))
        return ids, segment_ids, position_ids, targets, lengths


class CausalCollator:
    """Plain and scratchpad formats: the ids of the prompt, then those of the completion after
    one space (:func:`~hf_reasoning.tokenization.encode_prompts_and_completions`: the same ids for
    rows with or without the leading space), with loss on the completion only (``loss_on_prompt``
    adds the prompt), right padding and a 2D padding mask."""

    def __init__(
        self,
        tokenizer: PreTrainedTokenizerBase,
        *,
        loss_on_prompt: bool = False,
        bos_token_id: int | None = None,
        pad_to_multiple_of: int | None = None,
    ):
        self.tokenizer = tokenizer
        self.loss_on_prompt = loss_on_prompt
        self.bos_token_id = bos_token_id
        self.pad_to_multiple_of = pad_to_multiple_of
        self.pad_token_id = _pad_token_id(tokenizer)

    def __call__(self, rows: Sequence[dict]) -> dict[str, torch.Tensor]:
        prompts, completions = encode_prompts_and_completions(self.tokenizer, [r["prompt"] for r in rows],
                                                              [r["completion"] for r in rows])
        bos = [self.bos_token_id] if self.bos_token_id is not None else []
        longest = max(len(bos) + len(p) + len(c) for p, c in zip(prompts, completions))
        if self.pad_to_multiple_of:
            longest = -(-longest // self.pad_to_multiple_of) * self.pad_to_multiple_of
        input_ids = torch.full((len(rows), longest), self.pad_token_id, dtype=torch.long)
        attention_mask = torch.zeros((len(rows), longest), dtype=torch.long)
        labels = torch.full((len(rows), longest), IGNORE_INDEX, dtype=torch.long)
        for row, (prompt, completion) in enumerate(zip(prompts, completions)):
            ids = torch.tensor(bos + prompt + completion, dtype=torch.long)
            n, start = len(ids), len(bos) + (0 if self.loss_on_prompt else len(prompt))
            input_ids[row, :n] = ids
            attention_mask[row, :n] = 1
            labels[row, start:n] = ids[start:]
        return {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}


def collator_for(fmt: str, tokenizer: PreTrainedTokenizerBase, **kwargs) -> InductiveCollator | CausalCollator:
    """The collator of a format: inductive formats get the masked duplication, others a causal one."""
    if is_inductive_format(fmt):
        return InductiveCollator(tokenizer, **kwargs)
    kwargs.pop("dtype", None)
    return CausalCollator(tokenizer, **kwargs)


# -- random position offsets (zhou2023) ---------------------------------------------------------


def position_offsets(seed: int, micro_batch: int, rank: int, size: int, max_offset: int) -> torch.Tensor:
    """``size`` offsets drawn uniformly from ``[0, max_offset]`` for one training micro-batch.

    The generator is seeded by ``(seed, rank, micro_batch)`` alone, not drawn from a global
    RNG, so a resumed run (or a DataLoader worker) draws exactly the offsets of the
    uninterrupted run."""
    rng = np.random.default_rng([seed, _OFFSET_STREAM, rank, micro_batch])
    return torch.from_numpy(rng.integers(0, max_offset, size=size, endpoint=True))


def offset_positions(batch: dict[str, torch.Tensor], offsets: torch.Tensor) -> dict[str, torch.Tensor]:
    """``batch`` with every row's position ids moved up by its offset (``zhou2023``'s random
    position offsets: a model trained on short sequences still trains every row of a learned
    position table). Inductive batches shift their restarting positions as a whole; causal
    batches (2D padding mask, no ``position_ids``) get ``offset + 0, 1, …``, their padding held
    at the last real position. Input ids, masks and labels are unchanged."""
    positions = batch.get("position_ids")
    if positions is None:
        padding_mask = batch["attention_mask"]
        positions = (padding_mask.long().cumsum(-1) - 1).clamp(min=0)
    return {**batch, "position_ids": positions + offsets.to(positions.device, torch.long)[:, None]}


def _pad_token_id(tokenizer: PreTrainedTokenizerBase) -> int:
    for candidate in (tokenizer.pad_token_id, tokenizer.eos_token_id, tokenizer.unk_token_id):
        if candidate is not None:
            return candidate
    return 0


# -- simple greedy decoding (no cache) ---------------------------------------------------------


class _MarkerTest:
    """Does a token end a state (``#``) or the completion (``.``)? By id when the tokenizer
    has one id for the marker, else by decoding the tail of the generated text."""

    def __init__(self, tokenizer: PreTrainedTokenizerBase):
        self.tokenizer = tokenizer
        self.ids = {m: marker_id(tokenizer, m) for m in ("#", ".", ":")}

    def last_token_is(self, marker: str, ids: Sequence[int]) -> bool:
        if not ids:
            return False
        if self.ids[marker] is not None:
            return ids[-1] == self.ids[marker]
        words = self.tokenizer.decode(list(ids[-4:])).split()
        return bool(words) and words[-1] == marker


def _decode(tokenizer: PreTrainedTokenizerBase, ids: Sequence[int]) -> str:
    return " ".join(tokenizer.decode(list(ids), skip_special_tokens=True).split())


def _last_logits(model, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Logits of the last token of each left-padded row (the head runs on that token only)."""
    device = next(model.parameters()).device
    batch = {k: v.to(device) for k, v in batch.items()}
    if batch["attention_mask"].is_floating_point() and model.dtype.is_floating_point:
        batch["attention_mask"] = batch["attention_mask"].to(model.dtype)
    if "logits_to_keep" in inspect.signature(model.forward).parameters:
        batch["logits_to_keep"] = 1
    return model(**batch, use_cache=False).logits[:, -1]


def _budgets(max_new_tokens: int | Sequence[int], n: int) -> list[int]:
    return [max_new_tokens] * n if isinstance(max_new_tokens, int) else list(max_new_tokens)


@torch.no_grad()
def greedy_inductive(
    model,
    tokenizer: PreTrainedTokenizerBase,
    prompts: Sequence[str],
    *,
    shift: bool,
    max_new_tokens: int | Sequence[int],
    window: bool = True,
    lockstep: bool = False,
    bos_token_id: int | None = None,
) -> list[str]:
    """Greedy completions of inductive prompts, recomputed without a cache at every token.

    ``window=False`` is the naive reference: the whole duplicated sequence generated so far
    is fed with its mask at every token. ``window=True`` feeds only the question and the
    current segment (copy of the previous state + the state being written), which the mask
    makes equivalent. ``shift`` selects the no-``:`` format (the prompt is the first state).
    ``max_new_tokens`` is one budget or one per prompt. ``lockstep`` runs exactly
    max(budgets) forward passes even when every row is done (sharded models, whose forward
    is a collective, need the same number on every rank).
    """
    markers = _MarkerTest(tokenizer)
    pad = _pad_token_id(tokenizer)
    bos = [bos_token_id] if bos_token_id is not None else []
    prompt_ids = tokenizer(list(prompts), add_special_tokens=False)["input_ids"]
    n = len(prompts)
    budgets = _budgets(max_new_tokens, n)
    question = [([] if shift else bos + p) for p in prompt_ids]
    # finished states (each with its end marker) and the state being written
    finished: list[list[list[int]]] = [[] for _ in range(n)]
    current = [(bos + p if shift else []) for p in prompt_ids]
    generated: list[list[int]] = [[] for _ in range(n)]
    opened = [shift] * n  # inductive: the first generated token (':') joins the question
    done = [budgets[i] <= 0 for i in range(n)]
    for _ in range(max(budgets, default=0)):
        active = [i for i in range(n) if not done[i]]
        if not active and not lockstep:
            break
        rows = active or [0]
        layouts = []
        for i in rows:
            if window:
                segment = [*(finished[i][-1] if finished[i] else []), *current[i]]
                layouts.append(segment_layout(question[i], [segment]))
            else:
                segments, _ = duplicated_segments([*finished[i], current[i]])
                layouts.append(segment_layout(question[i], segments))
        batch = collate_layouts(layouts, pad, with_labels=False, padding_side="left")
        next_ids = _last_logits(model, batch).argmax(-1).tolist()
        for i, token in zip(active, next_ids):
            generated[i].append(token)
            done[i] = len(generated[i]) >= budgets[i]
            if not opened[i]:
                question[i].append(token)
                opened[i] = True
                continue
            current[i].append(token)
            if markers.last_token_is(".", current[i]):
                done[i] = True
            elif markers.last_token_is("#", current[i]):
                finished[i].append(current[i])
                current[i] = []
    return [_decode(tokenizer, g) for g in generated]


@torch.no_grad()
def greedy_causal(
    model,
    tokenizer: PreTrainedTokenizerBase,
    prompts: Sequence[str],
    *,
    max_new_tokens: int | Sequence[int],
    lockstep: bool = False,
    bos_token_id: int | None = None,
) -> list[str]:
    """Greedy completions of plain/scratchpad prompts (full recompute; stops at ``.``)."""
    markers = _MarkerTest(tokenizer)
    pad = _pad_token_id(tokenizer)
    bos = [bos_token_id] if bos_token_id is not None else []
    contexts = [bos + p for p in tokenizer(list(prompts), add_special_tokens=False)["input_ids"]]
    budgets = _budgets(max_new_tokens, len(prompts))
    generated: list[list[int]] = [[] for _ in prompts]
    done = [b <= 0 for b in budgets]
    for _ in range(max(budgets, default=0)):
        active = [i for i in range(len(prompts)) if not done[i]]
        if not active and not lockstep:
            break
        rows = active or [0]
        longest = max(len(contexts[i]) for i in rows)
        input_ids = torch.full((len(rows), longest), pad, dtype=torch.long)
        attention_mask = torch.zeros((len(rows), longest), dtype=torch.long)
        for r, i in enumerate(rows):
            input_ids[r, longest - len(contexts[i]) :] = torch.tensor(contexts[i])
            attention_mask[r, longest - len(contexts[i]) :] = 1
        # left padding: positions count real tokens only
        position_ids = (attention_mask.cumsum(-1) - 1).clamp(min=0)
        batch = {"input_ids": input_ids, "attention_mask": attention_mask, "position_ids": position_ids}
        if "position_ids" not in inspect.signature(model.forward).parameters:
            del batch["position_ids"]
        next_ids = _last_logits(model, batch).argmax(-1).tolist()
        for i, token in zip(active, next_ids):
            contexts[i].append(token)
            generated[i].append(token)
            done[i] = markers.last_token_is(".", generated[i]) or len(generated[i]) >= budgets[i]
    return [_decode(tokenizer, g) for g in generated]


def greedy_complete(model, tokenizer, prompts: Sequence[str], fmt: str, *, max_new_tokens, **kwargs) -> list[str]:
    """Greedy completions in the way ``fmt`` is trained (see the two functions above)."""
    if is_inductive_format(fmt):
        return greedy_inductive(model, tokenizer, prompts, shift=fmt == "shift", max_new_tokens=max_new_tokens, **kwargs)
    return greedy_causal(model, tokenizer, prompts, max_new_tokens=max_new_tokens, **kwargs)


__all__ = [
    "IGNORE_INDEX",
    "INDUCTIVE_FORMATS",
    "CausalCollator",
    "InductiveCollator",
    "Layout",
    "attention_mask_from_segments",
    "collate_layouts",
    "collator_for",
    "duplicated_segments",
    "format_of_config",
    "greedy_causal",
    "greedy_complete",
    "greedy_inductive",
    "is_inductive_format",
    "offset_positions",
    "position_offsets",
    "segment_layout",
]

