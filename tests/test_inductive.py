"""The inductive collator: masked, duplicated, packed inputs equal running each state alone."""

from __future__ import annotations

import pytest
import torch

from hf_reasoning.errors import HFReasoningError
from hf_reasoning.inductive import (
    IGNORE_INDEX,
    CausalCollator,
    InductiveCollator,
    attention_mask_from_segments,
    collator_for,
    greedy_inductive,
    offset_positions,
    position_offsets,
)
from hf_reasoning.modeling import (
    PositionOverflowError,
    UnsupportedAttentionError,
    build_model,
    check_inductive_support,
    check_positions,
)
from hf_reasoning.tokenization import build_tokenizer_from_texts, completion_states


@pytest.fixture(autouse=True)
def _offline(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))


PARITY = [
    ("_ 0 0 _ 1 _ 0 1 =", ": [ 0 1 ] 0 , 0 # [ 0 2 ] 0 , 0 # [ 0 4 ] 1 , 1 # [ 0 6 ] 0 , 1 # [ 0 7 ] 1 , 0 # [ 0 8 ] _ , 0 ."),
    ("1 _ _ =", ": [ 0 0 ] 1 , 1 # [ 0 3 ] _ , 1 ."),
    ("_ _ 1 0 _ =", ": [ 0 2 ] 1 , 1 # [ 0 3 ] 0 , 1 # [ 0 5 ] _ , 1 ."),
]
SHIFT = [
    ("m $ 4 5 + l $ 7 8 = $ a q b | 0", "# 5 m $ 4 + 8 l $ 7 = 3 $ a q | 1 # 4 5 m $ + 7 8 l $ = 2 3 $ a | 1 # 1 2 3 $ a ."),
    ("$ 9 + $ 1 = $ x y | 0", "# 9 $ + 1 $ = 0 $ x | 1 # 1 0 $ x ."),
]
ALL_TEXTS = [t for pair in PARITY + SHIFT for t in pair]


@pytest.fixture(scope="module")
def tokenizer():
    return build_tokenizer_from_texts(ALL_TEXTS)


def rows(pairs):
    return [{"prompt": p, "completion": c} for p, c in pairs]


def reference_logits(model, tokenizer, prompt: str, completion: str):
    """Each state run on its own: question (+ previous state) + state, ordinary causal LM.

    Returns the logits of the question and of every state's own tokens, and the indices of
    those tokens in the duplicated layout (question, then per segment: copy, state).
    """
    opening, states = completion_states(completion)
    encode = lambda text: tokenizer(text, add_special_tokens=False)["input_ids"]  # noqa: E731
    prompt_ids = encode(prompt)
    state_ids = [encode(s) for s in states]
    if opening == ":":
        question = prompt_ids + encode(opening)
    else:
        question, state_ids = [], [prompt_ids + encode(opening), *state_ids]
    pieces, own = [], list(range(len(question)))
    with torch.no_grad():
        if question:
            pieces.append(model(torch.tensor([question])).logits[0])
        previous: list[int] = []
        cursor = len(question)
        for state in state_ids:
            ids = torch.tensor([question + previous + state])
            pieces.append(model(ids).logits[0, len(question) + len(previous) :])
            own.extend(range(cursor + len(previous), cursor + len(previous) + len(state)))
            cursor += len(previous) + len(state)
            previous = state
    return torch.cat(pieces), torch.tensor(own)


@pytest.mark.parametrize("preset", ["tiny", "tiny-gpt2", "tiny-nope"])
@pytest.mark.parametrize("attn", ["sdpa", "eager"])
def test_packed_forward_equals_states_run_separately(tokenizer, preset, attn):
    torch.manual_seed(0)
    model, _ = build_model(preset, tokenizer, attn_implementation=attn)
    model.eval()
    for pairs in (PARITY, SHIFT):
        batch = InductiveCollator(tokenizer)(rows(pairs))  # ragged: rows are padded
        with torch.no_grad():
            logits = model(**{k: v for k, v in batch.items() if k != "labels"}).logits
        for row, (prompt, completion) in enumerate(pairs):
            expected, own = reference_logits(model, tokenizer, prompt, completion)
            torch.testing.assert_close(logits[row, own], expected, atol=2e-5, rtol=1e-4)
            # the reference really differs from an ordinary causal pass over the same inputs
            with torch.no_grad():
                plain = model(batch["input_ids"][row : row + 1]).logits[0, own]
            assert not torch.allclose(plain, expected, atol=1e-3)


def test_labels_ignore_exactly_copies_padding_and_prompt(tokenizer):
    batch = InductiveCollator(tokenizer)(rows(PARITY))
    ids, labels = batch["input_ids"], batch["labels"]
    tok = tokenizer.convert_ids_to_tokens
    for row, (prompt, completion) in enumerate(PARITY):
        n_prompt = len(prompt.split())
        _, states = completion_states(completion)
        expected_targets = []  # rebuilt by hand from the text
        expected_targets += [False] * n_prompt + [True]  # prompt, ':'
        previous = None
        for state in states:
            if previous is not None:
                expected_targets += [False] * len(previous.split())
            expected_targets += [True] * len(state.split())
            previous = state
        length = len(expected_targets)
        assert (labels[row, :length] != IGNORE_INDEX).tolist() == expected_targets
        assert (labels[row, length:] == IGNORE_INDEX).all()  # padding
        targets = labels[row, :length] != IGNORE_INDEX
        assert (labels[row, :length][targets] == ids[row, :length][targets]).all()
        assert " ".join(t for t, keep in zip(tok(ids[row, :length].tolist()), targets.tolist()) if keep) == completion
    with_prompt = InductiveCollator(tokenizer, loss_on_prompt=True)(rows(PARITY))["labels"]
    n_prompt = len(PARITY[0][0].split())
    assert (with_prompt[0, :n_prompt] != IGNORE_INDEX).all()
    assert (with_prompt[0] != IGNORE_INDEX).sum() == (labels[0] != IGNORE_INDEX).sum() + n_prompt


def test_shift_format_layout(tokenizer):
    prompt, completion = SHIFT[1]
    batch = InductiveCollator(tokenizer)(rows([SHIFT[1]]))
    tokens = tokenizer.convert_ids_to_tokens(batch["input_ids"][0].tolist())
    first = prompt.split() + ["#"]
    assert tokens[: len(first)] == first
    assert tokens[len(first) : 2 * len(first)] == first  # the copy of the first state
    positions = batch["position_ids"][0].tolist()
    assert positions[: len(first)] == list(range(len(first)))
    assert positions[len(first)] == 0  # no question: every segment restarts at 0
    labels = batch["labels"][0]
    assert (labels[: len(first) - 1] == IGNORE_INDEX).all() and labels[len(first) - 1] != IGNORE_INDEX
    assert (labels[len(first) : 2 * len(first)] == IGNORE_INDEX).all()


def test_mask_is_additive_float_with_dtype_min():
    segments = torch.tensor([[0, 0, 1, 1, 2, 2, -1]])
    mask = attention_mask_from_segments(segments, torch.bfloat16)
    assert mask.dtype == torch.bfloat16 and mask.shape == (1, 1, 7, 7)
    assert set(mask.unique().tolist()) == {0.0, torch.finfo(torch.bfloat16).min}
    allowed = (mask[0, 0] == 0).int().tolist()
    assert allowed[5] == [1, 1, 0, 0, 1, 1, 0]  # question + own segment, causal
    assert allowed[3] == [1, 1, 1, 1, 0, 0, 0]
    assert allowed[6] == [0, 0, 0, 0, 0, 0, 1]  # padding attends only itself


def test_causal_collator_loss_on_completion_only(tokenizer):
    pairs = [("1 0 1 =", "0 ."), ("1 =", "1 .")]
    batch = CausalCollator(tokenizer)(rows(pairs))
    assert batch["attention_mask"].tolist() == [[1] * 6, [1] * 4 + [0, 0]]
    assert batch["labels"][0].tolist()[:4] == [IGNORE_INDEX] * 4
    assert tokenizer.convert_ids_to_tokens(batch["labels"][0, 4:].tolist()) == ["0", "."]
    assert (batch["labels"][1, 4:] == IGNORE_INDEX).all()
    assert isinstance(collator_for("scratchpad", tokenizer), CausalCollator)
    assert isinstance(collator_for("shift", tokenizer), InductiveCollator)


def test_malformed_inductive_completion_is_a_one_line_error(tokenizer):
    with pytest.raises(HFReasoningError, match="must start with"):
        InductiveCollator(tokenizer)(rows([("1 =", "[ 0 0 ] 1 .")]))


def test_windowed_greedy_equals_naive_reference(tokenizer):
    torch.manual_seed(1)
    model, _ = build_model("tiny", tokenizer)
    # a few steps of memorising the examples, so generations contain real states
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    batches = [InductiveCollator(tokenizer)(rows(pairs)) for pairs in (PARITY, SHIFT)]
    for _ in range(40):
        for batch in batches:
            model(**batch).loss.backward()
            optimizer.step()
            optimizer.zero_grad()
    model.eval()
    for pairs, shift in ((PARITY, False), (SHIFT, True)):
        prompts = [p for p, _ in pairs]
        naive = greedy_inductive(model, tokenizer, prompts, shift=shift, max_new_tokens=60, window=False)
        windowed = greedy_inductive(model, tokenizer, prompts, shift=shift, max_new_tokens=60, window=True)
        assert naive == windowed
        assert sum(c.count("#") for c in naive) >= 2 * len(pairs)  # several state changes happened


def test_model_checks_before_training(tokenizer):
    model, _ = build_model("tiny-gpt2", tokenizer, attn_implementation="sdpa")
    check_inductive_support(model)
    check_positions(model, 2047)
    with pytest.raises(PositionOverflowError, match="2048"):
        check_positions(model, 2048)
    model.config._attn_implementation = "flash_attention_2"
    with pytest.raises(UnsupportedAttentionError, match="flash_attention_2"):
        check_inductive_support(model)


def test_random_position_offsets_are_seeded_uniform_draws():
    offsets = position_offsets(seed=0, micro_batch=5, rank=0, size=256, max_offset=7)
    assert offsets.dtype == torch.long and set(offsets.tolist()) == set(range(8))  # [0, K], both ends drawn
    assert torch.equal(offsets, position_offsets(0, 5, 0, 256, 7))  # a resumed run draws the same
    for other in (position_offsets(0, 6, 0, 256, 7), position_offsets(0, 5, 1, 256, 7), position_offsets(1, 5, 0, 256, 7)):
        assert not torch.equal(offsets, other)  # another micro-batch, rank or seed: other offsets


def inductive_positions(prompt: str, completion: str) -> list[int]:
    """Position ids of an inductive example, from the text: the question ``prompt :`` counts
    from 0, each segment (copy of the previous state + the state) restarts after it."""
    _, states = completion_states(completion)
    question = len(prompt.split()) + 1
    positions = list(range(question))
    previous = 0
    for state in states:
        positions += range(question, question + previous + len(state.split()))
        previous = len(state.split())
    return positions


def test_position_offsets_shift_each_row_and_keep_inputs_and_labels(tokenizer):
    pairs = [("1 0 1 =", "0 ."), ("1 =", "1 ."), (PARITY[0][0], "1 .")]
    causal = CausalCollator(tokenizer)(rows(pairs))
    offsets = torch.tensor([3, 0, 11])
    shifted = offset_positions(causal, offsets)
    for key in ("input_ids", "attention_mask", "labels"):
        assert torch.equal(shifted[key], causal[key])
    width = causal["input_ids"].shape[1]
    for row, (prompt, completion) in enumerate(pairs):
        n = len(prompt.split()) + len(completion.split())  # word-level tokenizer: a token per word
        # offset + 0, 1, …; right padding stays at the last real position
        assert shifted["position_ids"][row].tolist() == [int(offsets[row]) + min(i, n - 1) for i in range(width)]

    inductive = InductiveCollator(tokenizer)(rows(PARITY))
    offsets = torch.tensor([5, 1, 0])
    shifted = offset_positions(inductive, offsets)
    for key in ("input_ids", "attention_mask", "labels"):
        assert torch.equal(shifted[key], inductive[key])
    for row, (prompt, completion) in enumerate(PARITY):
        expected = inductive_positions(prompt, completion)
        assert shifted["position_ids"][row, : len(expected)].tolist() == [p + int(offsets[row]) for p in expected]


def test_position_offsets_reach_the_model(tokenizer):
    """RoPE sees only relative positions, so a shift leaves its logits unchanged; a learned
    table (GPT-2) sees the absolute ones, so the same shift changes them."""
    batch = InductiveCollator(tokenizer)(rows(PARITY))
    inputs = {k: v for k, v in batch.items() if k != "labels"}
    shifted = offset_positions(inputs, torch.tensor([7, 2, 30]))
    real = batch["input_ids"] != tokenizer.pad_token_id
    for preset, invariant in (("tiny", True), ("tiny-gpt2", False)):
        torch.manual_seed(0)
        model, _ = build_model(preset, tokenizer)
        model.eval()
        with torch.no_grad():
            before, after = model(**inputs).logits[real], model(**shifted).logits[real]
        assert torch.allclose(before, after, atol=1e-4) == invariant, preset


# -- the vectorised collator against a reference written from the text --------------------------

TASK_CONFIGS = [("parity", "laptop-inductive"), ("addition", "cpu_space-inductive"),
                ("addition", "cpu_shift-shift"), ("cycles", "n3-inductive")]


@pytest.fixture(scope="module")
def task_rows():
    """Random rows (and a word-level tokenizer) of several tasks and both inductive formats."""
    import numpy as np

    from hf_reasoning import build_dataset
    from hf_reasoning.tasks import get_task
    from hf_reasoning.tokenization import build_tokenizer

    out = {}
    for task, config in TASK_CONFIGS:
        train = build_dataset(task, config, scale="tiny", seed=0)["train"]
        picked = np.random.default_rng(7).choice(len(train), size=min(6, len(train)), replace=False)
        out[task, config] = (build_tokenizer(get_task(task).vocab.tokens), [train[int(i)] for i in picked])
    return out


def reference_layout(prompt: str, completion: str, *, loss_on_prompt: bool, bos: bool):
    """Words, segment numbers, positions and loss flags of one example, from its text alone.

    Inductive ``prompt : s1 # s2 # … .``: the question is ``[bos] prompt :`` (segment 0), then
    segment k is ``s(k-1) sk`` with the copy ``s(k-1)`` carrying no loss. Shift
    ``prompt # s2 # … .``: no question; the first state is ``[bos] prompt #``.
    """
    words = completion.split()
    states, current = [], []
    for word in words[1:]:
        current.append(word)
        if word in ("#", "."):
            states.append(current)
            current = []
    head = (["<bos>"] if bos else []) + prompt.split() + [words[0]]
    head_loss = ([False] if bos else []) + [loss_on_prompt] * len(prompt.split()) + [True]
    if words[0] == ":":
        tokens, segments, losses = list(head), [0] * len(head), list(head_loss)
        first_loss = [[True] * len(s) for s in states]
    else:
        tokens, segments, losses = [], [], []
        states = [head, *states]
        first_loss = [head_loss] + [[True] * len(s) for s in states[1:]]
    question = len(tokens)
    positions = list(range(question))
    for k, state in enumerate(states):
        copy = states[k - 1] if k else []
        tokens += copy + state
        segments += [k + 1] * (len(copy) + len(state))
        losses += [False] * len(copy) + first_loss[k]
        positions += range(question, question + len(copy) + len(state))
    return tokens, segments, positions, losses


@pytest.mark.parametrize("options", [{}, {"loss_on_prompt": True, "bos_token_id": 1, "pad_to_multiple_of": 8}])
def test_vectorised_collator_matches_reference_from_text(task_rows, options):
    import numpy as np

    bos = options.get("bos_token_id") is not None
    for (task, config), (tokenizer, rows) in task_rows.items():
        batch = InductiveCollator(tokenizer, **options)(rows)
        width = batch["input_ids"].shape[1]
        assert width % options.get("pad_to_multiple_of", 1) == 0
        for row, example in enumerate(rows):
            tokens, segments, positions, losses = reference_layout(
                example["prompt"], example["completion"], loss_on_prompt=bool(options.get("loss_on_prompt")), bos=bos)
            n = len(tokens)
            where = f"{task} {config} row {row}"
            expected_ids = tokenizer.convert_tokens_to_ids(tokens)
            assert batch["input_ids"][row, :n].tolist() == expected_ids, where
            assert (batch["input_ids"][row, n:] == tokenizer.pad_token_id).all(), where
            assert batch["position_ids"][row, :n].tolist() == positions, where
            assert (batch["position_ids"][row, n:] == positions[-1]).all(), where  # right padding: last position
            assert batch["labels"][row, :n].tolist() == [i if keep else IGNORE_INDEX for i, keep in zip(expected_ids, losses)], where
            assert (batch["labels"][row, n:] == IGNORE_INDEX).all(), where
            # the mask's rule: causal, and the key is in the question or in the query's segment
            seg = np.array(segments)
            allowed = np.tril(np.ones((n, n), bool)) & ((seg[None, :] == 0) | (seg[None, :] == seg[:, None]))
            mask = batch["attention_mask"][row, 0]
            assert ((mask[:n, :n] == 0).numpy() == allowed).all(), where
            assert (mask[:n, n:] == torch.finfo(torch.float32).min).all(), where  # real tokens never see padding
            assert ((mask[n:, :] == 0).numpy() == np.eye(width, dtype=bool)[n:]).all(), where  # padding sees itself


def test_vectorised_collator_gives_the_per_row_path_loss(task_rows):
    """The batch of the vectorised collator equals the per-row layouts path (kept for
    decoding) tensor for tensor, so a model's loss on it is the same."""
    from hf_reasoning.inductive import collate_layouts

    for (task, config), (tokenizer, rows) in task_rows.items():
        collator = InductiveCollator(tokenizer)
        new = collator(rows)
        old = collate_layouts(collator.layouts([r["prompt"] for r in rows], [r["completion"] for r in rows]), collator.pad_token_id)
        assert new.keys() == old.keys()
        for key in old:
            assert new[key].dtype == old[key].dtype and torch.equal(new[key], old[key]), (task, config, key)
        torch.manual_seed(0)
        model, _ = build_model("tiny", tokenizer)
        with torch.no_grad():
            assert abs(model(**new).loss.item() - model(**old).loss.item()) <= 1e-6, (task, config)


def test_mask_with_left_padding():
    """Decoding pads on the left: padding attends itself only, real tokens never see it."""
    mask = attention_mask_from_segments(torch.tensor([[-1, -1, 0, 1, 1, 2]]))
    allowed = (mask[0, 0] == 0).int().tolist()
    assert allowed[0] == [1, 0, 0, 0, 0, 0] and allowed[1] == [0, 1, 0, 0, 0, 0]
    assert allowed[4] == [0, 0, 1, 1, 1, 0]
    assert allowed[5] == [0, 0, 1, 0, 0, 1]
