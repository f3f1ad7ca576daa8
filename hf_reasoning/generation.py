"""Generation for every format: cached inductive decoding, its naive reference, and ``generate``.

Inductive formats (``inductive``, ``shift``; docs/formats.md) are decoded so that each state sees
only the question and the previous state, with positions restarting after the question:

* :func:`naive_inductive` — the **reference**: at every token, the whole duplicated sequence
  ``Q : s1 # [s1 #] s2 # …`` generated so far is fed with its 4D mask and position ids, built
  by the training builders of :mod:`hf_reasoning.inductive` (``duplicated_segments`` →
  ``segment_layout`` → ``collate_layouts``). Cost per token: O(everything generated).
* :func:`cached_inductive` — the **fast** decoder. It keeps a KV cache of the question and of
  the current segment (copy of the previous state + the state being written). When a row
  writes ``#``, its segment's cache entries are dropped and the finished state is re-encoded
  as the new copy at the restarted positions ``|Q|, |Q|+1, …`` (a forward of the state's
  tokens over the question's cache). Cost per token: O(question + two states).

Both give the same tokens (tests/test_generation.py checks it on GPT-2 and Llama models,
batched, with ragged prompts and forced state switches). How the cache works: the cache is
a ``transformers.DynamicCache`` whose columns are an unordered *set* per row — every cached
key already carries its position (RoPE is applied before caching, GPT-2 adds its position
embedding to the input), so a column's index means nothing, and an explicit 4D additive mask
says which columns each row sees. Each column has a *kind*: question, segment or dead
(padding, a dropped state, a finished row's dummy). Dropping a state marks its columns dead;
dead columns are squeezed out (a per-row stable gather) after each state switch.

Plain, scratchpad, reversed and index-hint formats decode with ``model.generate`` (greedy,
left padding, stopping at ``.``): :func:`generate_causal`.

:func:`complete` dispatches on the format and returns completion texts.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence

import torch
from transformers import DynamicCache, PreTrainedTokenizerBase

from .inductive import collate_layouts, duplicated_segments, greedy_inductive, is_inductive_format, segment_layout
from .tokenization import marker_id

DEAD, QUESTION_KIND, SEGMENT_KIND = 0, 1, 2

__all__ = [
    "cached_inductive",
    "complete",
    "generate_causal",
    "naive_inductive",
    "pick_tokens",
]


# -- shared helpers -------------------------------------------------------------------------------


def _pad_id(tokenizer: PreTrainedTokenizerBase | None, pad_token_id: int | None) -> int:
    if pad_token_id is not None:
        return pad_token_id
    if tokenizer is not None:
        for candidate in (tokenizer.pad_token_id, tokenizer.eos_token_id, tokenizer.unk_token_id):
            if candidate is not None:
                return candidate
    return 0


def _budgets(max_new_tokens: int | Sequence[int], n: int) -> list[int]:
    return [int(max_new_tokens)] * n if isinstance(max_new_tokens, int) else [int(b) for b in max_new_tokens]


def _cache_kwarg(model) -> str:
    """``cache`` in transformers ≥ 5.x (``past_key_values`` is its deprecated alias)."""
    params = inspect.signature(model.forward).parameters
    return "cache" if "cache" in params else "past_key_values"


def _keep_kwargs(model) -> dict:
    return {"logits_to_keep": 1} if "logits_to_keep" in inspect.signature(model.forward).parameters else {}


def pick_tokens(logits: torch.Tensor, *, do_sample: bool = False, temperature: float = 1.0,
                generator: torch.Generator | None = None) -> torch.Tensor:
    """Greedy (argmax) or sampled next tokens from ``(batch, vocab)`` logits."""
    if not do_sample:
        return logits.argmax(-1)
    probs = torch.softmax(logits.float() / max(temperature, 1e-6), dim=-1)
    return torch.multinomial(probs.cpu(), 1, generator=generator).squeeze(-1).to(logits.device)


def _additive(allowed: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    mask = torch.zeros(allowed.shape, dtype=dtype, device=allowed.device)
    return mask.masked_fill_(~allowed, torch.finfo(dtype).min)


def _left_padded(seqs: Sequence[Sequence[int]], pad_token_id: int, starts: Sequence[int] | None = None):
    """Token lists left padded to one width: ``(ids, position_ids, real)``, each ``(len(seqs), width)``.

    Row ``r``'s positions run ``starts[r], starts[r] + 1, …`` over its real tokens (0 on padding)."""
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad_token_id, dtype=torch.long)
    pos = torch.zeros((len(seqs), width), dtype=torch.long)
    real = torch.zeros((len(seqs), width), dtype=torch.bool)
    for r, s in enumerate(seqs):
        if not s:
            continue
        ids[r, width - len(s):] = torch.tensor(list(s), dtype=torch.long)
        pos[r, width - len(s):] = (starts[r] if starts is not None else 0) + torch.arange(len(s))
        real[r, width - len(s):] = True
    return ids, pos, real


def _causal_among(real: torch.Tensor) -> torch.Tensor:
    """``(b, m, m)`` boolean: token ``i`` sees the real tokens ``j ≤ i`` of its row; every token also
    sees itself (so a padding query has one finite score and no NaN)."""
    m = real.shape[1]
    causal = torch.ones(m, m, dtype=torch.bool, device=real.device).tril_()
    return (causal[None] & real[:, None, :] & real[:, :, None]) | torch.eye(m, dtype=torch.bool, device=real.device)[None]


def _model_dtype(model) -> torch.dtype:
    dtype = getattr(model, "dtype", torch.float32)
    return dtype if dtype.is_floating_point else torch.float32


class _RowState:
    """Book-keeping of one row of an inductive decode (shared by both decoders)."""

    def __init__(self, prompt: list[int], shift: bool, budget: int, bos: list[int]):
        self.question: list[int] = [] if shift else bos + list(prompt)
        self.finished: list[list[int]] = []
        self.current: list[int] = bos + list(prompt) if shift else []
        self.generated: list[int] = []
        self.opened = shift  # inductive: the first generated token (':') joins the question
        self.budget = budget
        self.done = budget <= 0

    def push(self, token: int, hash_id: int, end_id: int) -> str:
        """Record a generated token; returns what happened: question / state_end / token / end."""
        self.generated.append(token)
        if len(self.generated) >= self.budget:
            self.done = True
        if not self.opened:
            self.question.append(token)
            self.opened = True
            return "question"
        self.current.append(token)
        if token == end_id:
            self.done = True
            return "end"
        if token == hash_id:
            self.finished.append(self.current)
            self.current = []
            return "state_end"
        return "token"


# -- naive reference ------------------------------------------------------------------------------


@torch.no_grad()
def naive_inductive(
    model,
    prompt_ids: Sequence[Sequence[int]],
    *,
    shift: bool,
    hash_id: int,
    end_id: int,
    max_new_tokens: int | Sequence[int],
    pad_token_id: int = 0,
    bos_token_id: int | None = None,
    do_sample: bool = False,
    temperature: float = 1.0,
    generator: torch.Generator | None = None,
) -> list[list[int]]:
    """Reference inductive decoding: the whole duplicated sequence, recomputed at every token.

    ``prompt_ids``: token ids of each prompt (no special tokens); returns the generated ids of
    each row (ending with ``end_id`` unless the budget ran out).
    """
    n = len(prompt_ids)
    bos = [bos_token_id] if bos_token_id is not None else []
    rows = [_RowState(list(p), shift, b, bos) for p, b in zip(prompt_ids, _budgets(max_new_tokens, n))]
    device = next(model.parameters()).device
    dtype = _model_dtype(model)
    keep = _keep_kwargs(model)
    while True:
        active = [i for i in range(n) if not rows[i].done]
        if not active:
            break
        layouts = []
        for i in active:
            segments, _ = duplicated_segments([*rows[i].finished, rows[i].current])
            layouts.append(segment_layout(rows[i].question, segments))
        batch = collate_layouts(layouts, pad_token_id, dtype=dtype, with_labels=False, padding_side="left")
        batch = {k: v.to(device) for k, v in batch.items()}
        logits = model(**batch, use_cache=False, **keep).logits[:, -1]
        tokens = pick_tokens(logits, do_sample=do_sample, temperature=temperature, generator=generator).tolist()
        for i, token in zip(active, tokens):
            rows[i].push(token, hash_id, end_id)
    return [r.generated for r in rows]


# -- cached decoder -------------------------------------------------------------------------------


class _KindCache:
    """A DynamicCache whose columns are a set per row, with a kind per (row, column)."""

    def __init__(self, cache: DynamicCache, kinds: torch.Tensor):
        self.cache = cache
        self.kinds = kinds  # (batch, width) long

    @property
    def width(self) -> int:
        return self.kinds.shape[1]

    def layers(self):
        return self.cache.layers

    def select_rows(self, index: torch.Tensor) -> "_KindCache":
        data = [(layer.keys.index_select(0, index), layer.values.index_select(0, index)) for layer in self.layers()]
        return _KindCache(DynamicCache(ddp_cache_data=data), self.kinds.index_select(0, index))

    def compact(self) -> None:
        """Squeeze dead columns out (stable per row), down to the widest row's live columns."""
        live = self.kinds != DEAD
        width = int(live.sum(-1).max()) if live.numel() else 0
        if width == self.width:
            return
        order = torch.sort((~live).to(torch.int8), dim=1, stable=True).indices[:, :width]
        self.kinds = self.kinds.gather(1, order)
        for layer in self.layers():
            b, h, _, d = layer.keys.shape
            idx = order[:, None, :, None].expand(b, h, width, d)
            layer.keys = layer.keys.gather(2, idx)
            layer.values = layer.values.gather(2, idx.expand(b, layer.values.shape[1], width, layer.values.shape[3]))


@torch.no_grad()
def cached_inductive(
    model,
    prompt_ids: Sequence[Sequence[int]],
    *,
    shift: bool,
    hash_id: int,
    end_id: int,
    max_new_tokens: int | Sequence[int],
    pad_token_id: int = 0,
    bos_token_id: int | None = None,
    do_sample: bool = False,
    temperature: float = 1.0,
    generator: torch.Generator | None = None,
) -> list[list[int]]:
    """Inductive decoding with a KV cache of the question and the current segment only.

    Same arguments and result as :func:`naive_inductive` (which it matches token for token).
    Finished rows leave the batch; a row that writes ``#`` gets its finished state
    re-encoded (one extra forward over the rows that switched, at that step).
    """
    n = len(prompt_ids)
    bos = [bos_token_id] if bos_token_id is not None else []
    rows = [_RowState(list(p), shift, b, bos) for p, b in zip(prompt_ids, _budgets(max_new_tokens, n))]
    device = next(model.parameters()).device
    dtype = _model_dtype(model)
    cache_kw = _cache_kwarg(model)
    keep = _keep_kwargs(model)
    live = [i for i in range(n) if not rows[i].done]
    if not live:
        return [r.generated for r in rows]

    # prefill: the prompt, left padded; the question (inductive) or the first state (shift)
    kind = SEGMENT_KIND if shift else QUESTION_KIND
    ids, pos, real = _left_padded([rows[i].current if shift else rows[i].question for i in live], pad_token_id)
    allowed = _causal_among(real)
    out = model(input_ids=ids.to(device), position_ids=pos.to(device),
                attention_mask=_additive(allowed[:, None].to(device), dtype),
                use_cache=True, **{cache_kw: DynamicCache()}, **keep)
    kinds = torch.where(real, kind, DEAD).to(device)
    state = _KindCache(out.cache if hasattr(out, "cache") else out.past_key_values, kinds)
    # per live row: question length and live segment length (positions: |Q| + segment index)
    q_len = {i: (0 if shift else len(rows[i].question)) for i in live}
    seg_len = {i: (len(rows[i].current) if shift else 0) for i in live}
    next_tokens = pick_tokens(out.logits[:, -1], do_sample=do_sample, temperature=temperature, generator=generator).tolist()

    while live:
        # 1. record the tokens just chosen
        events = {i: rows[i].push(t, hash_id, end_id) for i, t in zip(live, next_tokens)}
        keep_rows = [r for r, i in enumerate(live) if not rows[i].done]
        if len(keep_rows) < len(live):  # finished rows leave the batch
            if not keep_rows:
                break
            state = state.select_rows(torch.tensor(keep_rows, device=device))
            live = [live[r] for r in keep_rows]
        switch = [r for r, i in enumerate(live) if events[i] == "state_end"]
        # 2. one-token step for every row (rows that switched feed a dead dummy)
        b = len(live)
        step_ids = torch.full((b, 1), pad_token_id, dtype=torch.long)
        step_pos = torch.zeros((b, 1), dtype=torch.long)
        step_kind = torch.full((b, 1), DEAD, dtype=torch.long)
        for r, i in enumerate(live):
            ev = events[i]
            if ev == "state_end":
                continue
            step_ids[r, 0] = rows[i].generated[-1]
            if ev == "question":
                step_pos[r, 0] = q_len[i]
                step_kind[r, 0] = QUESTION_KIND
                q_len[i] += 1
            else:
                step_pos[r, 0] = q_len[i] + seg_len[i]
                step_kind[r, 0] = SEGMENT_KIND
                seg_len[i] += 1
        switched = set(switch)
        decode_rows = [r for r in range(b) if r not in switched]
        logits_by_row: dict[int, torch.Tensor] = {}
        if decode_rows:
            allowed = torch.cat([state.kinds != DEAD, torch.ones((b, 1), dtype=torch.bool, device=device)], dim=1)
            out = model(input_ids=step_ids.to(device), position_ids=step_pos.to(device),
                        attention_mask=_additive(allowed[:, None, None, :], dtype),
                        use_cache=True, **{cache_kw: state.cache}, **keep)
            state.cache = out.cache if hasattr(out, "cache") else out.past_key_values
            state.kinds = torch.cat([state.kinds, step_kind.to(device)], dim=1)
            for r in decode_rows:
                logits_by_row[r] = out.logits[r, -1]
        # 3. rows that wrote '#': drop their segment, re-encode the finished state as the copy
        if switch:
            index = torch.tensor(switch, device=device)
            sub = state.select_rows(index)
            states = [rows[live[r]].finished[-1] for r in switch]
            ids, pos, real = _left_padded(states, pad_token_id, starts=[q_len[live[r]] for r in switch])
            for r, s in zip(switch, states):
                seg_len[live[r]] = len(s)
            real = real.to(device)
            m, w = real.shape[1], sub.width
            question_cols = (sub.kinds == QUESTION_KIND)[:, None, :].expand(len(switch), m, w)
            allowed = torch.cat([question_cols, _causal_among(real)], dim=2)
            out = model(input_ids=ids.to(device), position_ids=pos.to(device),
                        attention_mask=_additive(allowed[:, None], dtype),
                        use_cache=True, **{cache_kw: sub.cache}, **keep)
            sub_cache = out.cache if hasattr(out, "cache") else out.past_key_values
            for k, r in enumerate(switch):
                logits_by_row[r] = out.logits[k, -1]
            # merge: the switched rows' old segments die, their re-encoded copies are appended
            full_w = state.width
            new_kinds = torch.cat([state.kinds, torch.full((b, m), DEAD, dtype=torch.long, device=device)], dim=1)
            old = new_kinds[index, :full_w]
            new_kinds[index, :full_w] = torch.where(old == SEGMENT_KIND, DEAD, old)
            new_kinds[index, full_w:] = torch.where(real, SEGMENT_KIND, DEAD)
            for layer, sub_layer in zip(state.layers(), sub_cache.layers):
                for name in ("keys", "values"):
                    big, small = getattr(layer, name), getattr(sub_layer, name)
                    grown = torch.cat([big, big.new_zeros(big.shape[0], big.shape[1], m, big.shape[3])], dim=2)
                    grown[index, :, full_w:] = small[:, :, w:]
                    setattr(layer, name, grown)
            state.kinds = new_kinds
            state.compact()
        logits = torch.stack([logits_by_row[r] for r in range(b)])
        next_tokens = pick_tokens(logits, do_sample=do_sample, temperature=temperature, generator=generator).tolist()
    return [r.generated for r in rows]


# -- plain and scratchpad formats -----------------------------------------------------------------


@torch.no_grad()
def generate_causal(
    model,
    tokenizer: PreTrainedTokenizerBase,
    prompts: Sequence[str],
    *,
    max_new_tokens: int | Sequence[int],
    bos_token_id: int | None = None,
    do_sample: bool = False,
    **generate_kwargs,
) -> list[list[int]]:
    """Plain/scratchpad formats with ``model.generate``: greedy, left padding, stops at ``.``.

    Returns the generated ids of each prompt, cut after the first ``.``; with several budgets
    the batch runs to the largest and each row is cut to its own budget.
    """
    end_id = marker_id(tokenizer, ".")
    pad = _pad_id(tokenizer, None)
    budgets = _budgets(max_new_tokens, len(prompts))
    bos = [bos_token_id] if bos_token_id is not None else []
    input_ids, _, real = _left_padded([bos + p for p in tokenizer(list(prompts), add_special_tokens=False)["input_ids"]], pad)
    width, attention = input_ids.shape[1], real.long()
    device = next(model.parameters()).device
    out = model.generate(
        input_ids=input_ids.to(device), attention_mask=attention.to(device), max_new_tokens=max(budgets),
        do_sample=do_sample, eos_token_id=end_id, pad_token_id=pad, **generate_kwargs,
    )
    results = []
    for r, row in enumerate(out[:, width:].tolist()):
        row = row[: budgets[r]]
        if end_id is not None and end_id in row:
            row = row[: row.index(end_id) + 1]
        results.append(row)
    return results


# -- text-level entry point -----------------------------------------------------------------------


def _decode(tokenizer: PreTrainedTokenizerBase, ids: Sequence[int]) -> str:
    return " ".join(tokenizer.decode(list(ids), skip_special_tokens=True).split())


def complete(
    model,
    tokenizer: PreTrainedTokenizerBase,
    prompts: Sequence[str],
    fmt: str,
    *,
    max_new_tokens: int | Sequence[int],
    method: str = "cached",
    bos_token_id: int | None = None,
    batch_size: int | None = None,
    do_sample: bool = False,
    temperature: float = 1.0,
    generator: torch.Generator | None = None,
) -> list[str]:
    """Completion texts of ``prompts`` decoded the way ``fmt`` is trained.

    Inductive formats: ``method="cached"`` (default) or ``"naive"`` (the reference). A
    tokenizer that splits ``#`` or ``.`` into several ids falls back to the text-level
    decoder of :mod:`hf_reasoning.inductive`. Other formats use ``model.generate``.
    """
    prompts = list(prompts)
    budgets = _budgets(max_new_tokens, len(prompts))
    if batch_size and len(prompts) > batch_size:
        texts: list[str] = []
        for start in range(0, len(prompts), batch_size):
            texts += complete(model, tokenizer, prompts[start:start + batch_size], fmt,
                              max_new_tokens=budgets[start:start + batch_size], method=method,
                              bos_token_id=bos_token_id, do_sample=do_sample, temperature=temperature,
                              generator=generator)
        return texts
    if not prompts:
        return []
    if not is_inductive_format(fmt):
        ids = generate_causal(model, tokenizer, prompts, max_new_tokens=budgets, bos_token_id=bos_token_id,
                              do_sample=do_sample, **({"temperature": temperature} if do_sample else {}))
        return [_decode(tokenizer, g) for g in ids]
    hash_id, end_id = marker_id(tokenizer, "#"), marker_id(tokenizer, ".")
    if hash_id is None or end_id is None:
        return greedy_inductive(model, tokenizer, prompts, shift=fmt == "shift", max_new_tokens=budgets,
                                window=method != "naive", bos_token_id=bos_token_id)
    if method not in ("cached", "naive"):
        raise ValueError(f"unknown decoding method {method!r}; allowed: cached, naive")
    decoder = cached_inductive if method == "cached" else naive_inductive
    prompt_ids = tokenizer(prompts, add_special_tokens=False)["input_ids"]
    ids = decoder(model, prompt_ids, shift=fmt == "shift", hash_id=hash_id, end_id=end_id, max_new_tokens=budgets,
                  pad_token_id=_pad_id(tokenizer, None), bos_token_id=bos_token_id, do_sample=do_sample,
                  temperature=temperature, generator=generator)
    return [_decode(tokenizer, g) for g in ids]
