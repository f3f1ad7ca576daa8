"""count, mode, copy, reverse, sort: every row checked against the spec (docs/formats.md), written
here in plain Python from the structured columns and again from the parsed text."""

from __future__ import annotations

import collections
import functools
import itertools
import math

import numpy as np
import pyarrow as pa
import pytest

from hf_reasoning.errors import HFReasoningError
from hf_reasoning.splits import SPLITS, build_config
from hf_reasoning.tasks import SCALES, Group, Instances, algorithmic, get_task
from hf_reasoning.tasks.algorithmic import (
    MAX_HINT,
    SequenceConfig,
    distinct_sequences,
    lemire16,
    mode_of,
    number_text,
    random_words16,
    uniform_below,
    with_last_char,
    without_end,
)

TASKS = ("count", "mode", "copy", "reverse", "sort")
CONFIGS = [(t, c) for t in TASKS for c in get_task(t).config_names()]
SPECIAL = {":", "#", ".", "_", "$"}
TINY = SCALES["tiny"]


@pytest.fixture(autouse=True)
def _offline(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))


@functools.cache
def built(task: str, config: str):
    return build_config(task, config, "tiny", seed=0)


@functools.cache
def rows_of(task: str, config: str) -> dict[str, list[dict]]:
    return {split: table.to_pylist() for split, table in built(task, config).tables.items()}


# -- the spec, in plain Python ----------------------------------------------------------------

def expected_output(task: str, seq: list[int]) -> list[int]:
    if task == "mode":
        counts = collections.Counter(seq)
        best = max(counts.values())
        return [min(x for x, c in counts.items() if c == best)]
    if task == "copy":
        return list(seq)
    if task == "reverse":
        return list(reversed(seq))
    if task == "sort":
        return sorted(seq)
    raise AssertionError(task)


def sort_next_state(question: list[int], previous: tuple[int, int] | None) -> tuple[int, int] | None:
    """The next inductive sort state from the question and the previous state alone."""
    if previous is None:
        return min(question), 1
    value, copies = previous
    if question.count(value) > copies:
        return value, copies + 1
    larger = [x for x in question if x > value]
    return (min(larger), 1) if larger else None


def words(xs) -> str:
    return " ".join(str(x) for x in xs)


def hinted(values, hints) -> str:
    return " ".join(f"h{h} {v}" for h, v in zip(hints, values))


def hint_set_size(cfg: SequenceConfig) -> int:
    """H of the spec: one hint per element at the preset's longest length, train or test."""
    return max(cfg.train_lengths + cfg.ood_lengths)


def parse_prompt(task: str, fmt: str, prompt: str) -> list[int]:
    tokens = prompt.split()
    assert tokens[-1] == "=" and "=" not in tokens[:-1]
    tokens = tokens[:-1]
    if fmt == "index_hints":
        assert len(tokens) % 2 == 0
        parse_hints(tokens[0::2])
        tokens = tokens[1::2]
    assert all(t.isdigit() and str(int(t)) == t for t in tokens), prompt
    return [int(t) for t in tokens]


def parse_hints(hints: list[str]) -> list[int]:
    """The indices of hint tokens `h<i>`, which must be consecutive."""
    assert all(h[0] == "h" and h[1:].isdigit() and h[1] != "0" for h in hints), hints
    indices = [int(h[1:]) for h in hints]
    assert indices == list(range(indices[0], indices[0] + len(indices))), hints
    return indices


def check_row(task: str, fmt: str, cfg: SequenceConfig, row: dict) -> None:
    if task == "count":
        a, b = row["start"], row["end"]
        assert 0 <= a <= b < cfg.numbers
        assert row["length"] == b - a + 1
        out = list(range(a, b + 1))
        assert row["prompt"] == f"{a} {b} ="
        assert row["completion"] == " " + words(out) + " ."
        # from the text alone
        pa_, pb = (int(t) for t in row["prompt"].split()[:2])
        assert row["completion"].split()[:-1] == [str(x) for x in range(pa_, pb + 1)]
        assert get_task(task).parse_answer(fmt, row["completion"]) == row["answer"] == words(out)
        return
    seq = row["sequence"]
    assert row["length"] == len(seq)
    assert all(0 <= x < cfg.numbers for x in seq)
    if cfg.unique:
        assert len(set(seq)) == len(seq)
    out = expected_output(task, seq)
    assert row["answer"] == words(out)
    # the text, written from the structured instance
    n = len(seq)
    if fmt == "index_hints":
        o = row["hint_offset"]
        assert 0 <= o <= hint_set_size(cfg) - n  # the run o+1 .. o+n lies in h1 .. hH
        assert row["prompt"] == hinted(seq, range(o + 1, o + n + 1)) + " ="
        source = list(range(o + 1, o + n + 1)) if task == "copy" else list(range(o + n, o, -1))
        assert row["completion"] == " " + hinted(out, source) + " ."
        # back from the text: the prompt's hints are a consecutive run starting at o + 1, and each
        # completion element keeps the hint of the prompt element it comes from
        prompt_tokens, completion_tokens = row["prompt"].split()[:-1], row["completion"].split()[:-1]
        assert parse_hints(prompt_tokens[0::2])[0] == o + 1
        hint_of = dict(zip(prompt_tokens[0::2], prompt_tokens[1::2]))
        assert all(hint_of[h] == v for h, v in zip(completion_tokens[0::2], completion_tokens[1::2]))
        order = completion_tokens[0::2] if task == "copy" else completion_tokens[0::2][::-1]
        assert order == prompt_tokens[0::2]
    else:
        assert "hint_offset" not in row
        assert row["prompt"] == words(seq) + " ="
    if fmt == "plain":
        assert row["completion"] == " " + words(out) + " ."
    if fmt == "inductive":
        expected_states, state = [], sort_next_state(seq, None)
        while state is not None:
            expected_states.append(state)
            state = sort_next_state(seq, state)
        assert row["completion"] == " : " + " # ".join(f"{v} , {c}" for v, c in expected_states) + " ."
    # and back from the text: the question, every state, the answer
    question = parse_prompt(task, fmt, row["prompt"])
    assert question == seq
    tokens = row["completion"].split()
    assert tokens[-1] == "." and "." not in tokens[:-1]
    if fmt == "inductive":
        assert tokens[0] == ":"
        states = [s.split() for s in " ".join(tokens[1:-1]).split(" # ")]
        previous = None
        for state in states:
            assert len(state) == 3 and state[1] == ","
            current = (int(state[0]), int(state[2]))
            assert current == sort_next_state(question, previous)  # a function of question + previous state
            previous = current
        assert sort_next_state(question, previous) is None  # `.` exactly after the last state
        assert [s[0] for s in states] == [str(x) for x in sorted(question)]
    else:
        assert not SPECIAL & set(tokens[:-1])
    assert not SPECIAL & set(row["prompt"].split())
    assert get_task(task).parse_answer(fmt, row["completion"]) == words(expected_output(task, question))


@pytest.mark.parametrize("task,config", CONFIGS)
def test_rows_follow_the_spec(task, config):
    t = get_task(task)
    _, cfg, fmt = t.parse_config(config)
    rows = rows_of(task, config)
    for split_rows in rows.values():
        for row in split_rows:
            check_row(task, fmt, cfg, row)
            assert row["group"] == str(row["length"])
            # every token is in the task vocabulary (a word-level tokenizer built from it has no <unk>)
            assert all(tok in t.vocab.id for tok in (row["prompt"] + " " + row["completion"]).split())


@pytest.mark.parametrize("task,config", CONFIGS)
def test_split_sizes_and_lengths(task, config):
    t = get_task(task)
    _, cfg, _ = t.parse_config(config)
    rows = rows_of(task, config)
    assert [s for s in SPLITS if s in rows] == ["train", "validation", "test", "ood"]
    for split in ("train", "validation", "test"):
        assert len(rows[split]) == getattr(TINY, split)
        assert {r["length"] for r in rows[split]} <= set(cfg.train_lengths)
    # OOD holds exactly its lengths, each with the same number of rows
    per_length = collections.Counter(r["length"] for r in rows["ood"])
    assert set(per_length) == set(cfg.ood_lengths)
    assert set(per_length.values()) == {TINY.ood}
    assert not set(cfg.ood_lengths) & set(cfg.train_lengths)


def instance_of(task: str, row: dict) -> tuple:
    return (row["group"], row["start"]) if task == "count" else (row["group"], tuple(row["sequence"]))


@pytest.mark.parametrize("task,config", CONFIGS)
def test_splits_share_no_instance_outside_overlap_groups(task, config):
    build = built(task, config)
    rows = rows_of(task, config)
    overlap = set(build.overlap_groups)
    seen: dict[tuple, str] = {}
    shared = 0
    for split in ("ood", "test", "validation", "train"):
        here = {instance_of(task, r) for r in rows[split]}
        for inst in here:
            if inst in seen and seen[inst] != split:
                assert inst[0] in overlap, (split, seen[inst], inst)
                shared += split == "train"
        for inst in here:
            seen.setdefault(inst, split)
    # overlap groups are exactly those whose space is under 100 × the rows drawn there
    _, cfg, _ = get_task(task).parse_config(config)
    drawn = collections.Counter(r["group"] for split in rows.values() for r in split)
    for group, count in drawn.items():
        small = independent_space(task, cfg, int(group)) < 100 * count
        assert (group in overlap) == small, (group, count)


def independent_space(task: str, cfg: SequenceConfig, n: int) -> int:
    """Number of distinct instances of length n, counted from the definition."""
    N = cfg.numbers
    if task == "count":
        return N - n + 1
    if cfg.unique:
        return math.perm(N, n)
    return N**n


@pytest.mark.parametrize("task", TASKS)
def test_space_log2_matches_the_definition_and_a_census(task):
    t = get_task(task)
    for cfg in t.presets.values():
        for n in (1, 2, 5, max(cfg.train_lengths), max(cfg.ood_lengths)):
            expected = math.log2(independent_space(task, cfg, n))
            assert t.space_log2(cfg, "plain", Group(str(n), n, n)) == pytest.approx(expected, rel=1e-9, abs=1e-9)
    # a census: drawing many rows of a small space finds every instance, and no more
    small = {"count": SequenceConfig(numbers=6), "mode": SequenceConfig(numbers=3),
             "copy": SequenceConfig(numbers=5, unique=True), "reverse": SequenceConfig(numbers=2),
             "sort": SequenceConfig(numbers=4, unique=True)}[task]
    n = 3
    inst = t.sample(small, "plain", Group("3", n, n), 4000, np.random.default_rng(1), np.random.default_rng(2))
    distinct = {tuple(k) for k in inst.key.tolist()}
    space = round(2 ** t.space_log2(small, "plain", Group("3", n, n)))
    assert len(distinct) == space == independent_space(task, small, n)


# -- the samplers ------------------------------------------------------------------------------
# chi-square thresholds: the 1e-6 upper quantile of the chi-square law with the test's degrees of
# freedom (scipy.stats.chi2.isf(1e-6, dof)); a correct sampler stays below them (fixed seeds), and
# a sampler that favours some numbers goes far above (e.g. +10% on half the numbers of a position
# adds about 0.01 × rows to the statistic).
CHI2_1E6 = {11: 48.9, 59: 125.7, 99: 180.8}


def chi_square(counts, cells: int, total: int) -> float:
    expected = total / cells
    observed = list(counts.values()) + [0] * (cells - len(counts))
    return sum((c - expected) ** 2 / expected for c in observed)


def unique_rows(numbers: int, k: int, rows: int, seed: int) -> list[list[int]]:
    """Rows of a unique-token preset of `numbers` numbers, drawn through the task's sampler."""
    cfg = SequenceConfig(train_lengths=(k,), ood_lengths=(k,), numbers=numbers, unique=True)
    inst = get_task("sort").sample(cfg, "plain", Group(str(k), k, k), rows, np.random.default_rng(seed),
                                   np.random.default_rng(seed + 1))
    assert inst["sequence"].shape == (rows, k)
    return inst["sequence"].tolist()


def check_uniform_ordered_subsets(rows_of_sampler) -> None:
    """Uniform over ordered k-subsets: every ordered triple of 5 numbers equally often, and at the
    zhou2023 shape (100 numbers, k = 40) every number equally often at the first and the last position."""
    triples = rows_of_sampler(5, 3, 60_000, 3)
    counts = collections.Counter(map(tuple, triples))
    assert set(counts) <= {t for t in itertools.permutations(range(5), 3)}  # distinct numbers, in range
    assert chi_square(counts, 60, 60_000) < CHI2_1E6[59]
    wide = rows_of_sampler(100, 40, 30_000, 4)
    assert all(len(set(r)) == 40 and 0 <= min(r) and max(r) < 100 for r in wide)
    for position in (0, 39):
        counts = collections.Counter(r[position] for r in wide)
        assert chi_square(counts, 100, 30_000) < CHI2_1E6[99], position


def test_distinct_sequences_are_uniform_ordered_subsets():
    check_uniform_ordered_subsets(unique_rows)
    draws = distinct_sequences(np.random.default_rng(5), 24_000, 4, 2)
    counts = collections.Counter(map(tuple, draws.tolist()))
    assert set(counts) == {(a, b) for a in range(4) for b in range(4) if a != b}
    assert chi_square(counts, 12, 24_000) < CHI2_1E6[11]
    full = distinct_sequences(np.random.default_rng(6), 50, 30, 30)
    assert all(sorted(r) == list(range(30)) for r in full.tolist())  # k = numbers: permutations
    assert distinct_sequences(np.random.default_rng(7), 4, 1, 1).tolist() == [[0]] * 4
    assert distinct_sequences(np.random.default_rng(7), 0, 10, 3).shape == (0, 3)


def test_a_biased_sampler_fails_the_uniformity_check():
    """The check above is not vacuous: a sampler that takes the smallest free number instead of a
    repeat (so small numbers come up a little more often) fails it."""
    def favours_small_numbers(numbers, k, rows, seed):
        rng = np.random.default_rng(seed)
        out = []
        for row in rng.integers(0, numbers, size=(rows, k)).tolist():
            seen = []
            for x in row:
                seen.append(min(set(range(numbers)) - set(seen)) if x in seen else x)
            out.append(seen)
        return out

    with pytest.raises(AssertionError):
        check_uniform_ordered_subsets(favours_small_numbers)


def test_distinct_sequences_are_a_fisher_yates_prefix():
    """Row by row in plain Python: the first k swaps of a Fisher–Yates shuffle of 0..numbers-1,
    step i swapping position i with position i + (the i-th offset drawn for that row)."""
    for numbers, k in [(100, 7), (10, 10), (1, 1), (3, 2), (64, 60)]:
        drawn = distinct_sequences(np.random.default_rng(11), 20, numbers, k)
        steps = min(k, numbers - 1)
        offsets = uniform_below(np.random.default_rng(11), numbers - np.arange(steps), 20)  # the same stream
        assert drawn.dtype == np.int16 and drawn.shape == (20, k)
        for row in range(20):
            perm = list(range(numbers))
            for i in range(steps):
                j = i + int(offsets[i, row])
                assert i <= j < numbers
                perm[i], perm[j] = perm[j], perm[i]
            assert drawn[row].tolist() == perm[:k]


@pytest.mark.parametrize("high", [1, 2, 3, 7, 10, 100, 1000, 40_000, 2**16 - 1, 2**16])
def test_lemire16_is_exactly_uniform_over_accepted_words(high):
    # every 16-bit word once: each value 0..high-1 must come from the same number of accepted words
    values, accepted = lemire16(np.arange(2**16, dtype=np.uint16), high)
    per_value = np.bincount(values[accepted].astype(np.int64), minlength=high)
    assert per_value.size == high and (per_value == 2**16 // high).all()
    assert (~accepted).sum() == 2**16 % high  # and no more words are rejected than needed


def test_uniform_below_is_uniform_per_row_and_redraws_rejected_words():
    high = np.array([3, 100, 40_000])  # 40,000 rejects about 39% of the words: the redraw loop runs
    drawn = uniform_below(np.random.default_rng(3), high, 30_000)
    assert drawn.shape == (3, 30_000)
    assert (drawn < high[:, None]).all()
    assert (drawn == uniform_below(np.random.default_rng(3), high, 30_000)).all()  # seeded
    # equal-size bins of 0..h-1 (cells divides h), each equally likely; thresholds: p = 1e-6
    for row, h, cells, threshold in zip(drawn, high, (3, 20, 16), (27.6, 63.7, 56.5)):
        bins = collections.Counter((row.astype(np.int64) * cells // h).tolist())
        assert len(bins) == cells
        assert chi_square(bins, cells, row.size) < threshold, (h, bins)


def test_random_words16_are_the_generators_words_cut_in_four_little_endian():
    words = random_words16(np.random.default_rng(9), 10)
    raw = np.random.default_rng(9).integers(0, 2**64, size=3, dtype=np.uint64).tolist()
    assert words.tolist() == [(w >> (16 * j)) & 0xFFFF for w in raw for j in range(4)][:10]


def test_mode_is_the_most_frequent_number_with_ties_to_the_smallest():
    rng = np.random.default_rng(8)
    for numbers in (2, 10, 100):
        seq = rng.integers(0, numbers, size=(3000, 7))
        for row, m in zip(seq.tolist(), mode_of(seq, numbers).tolist()):
            assert m == expected_output("mode", row)[0]
    # and in the rows of the preset where ties are frequent: from the sequence column and from the prompt
    rows = rows_of("mode", "zhou2023_large_vocab-plain")
    tied = 0
    for row in (r for split in rows.values() for r in split):
        counts = collections.Counter(row["sequence"])
        tied += list(counts.values()).count(max(counts.values())) > 1
        assert row["answer"] == str(expected_output("mode", row["sequence"])[0])
        assert row["completion"] == " " + str(expected_output("mode", parse_prompt("mode", "plain", row["prompt"]))[0]) + " ."
    assert tied > 100


@pytest.mark.parametrize("numbers", [2, 10, 11, 64, 100, 101, 1000])  # digits, pairs, one number a piece
def test_number_text_is_the_numbers_joined_by_spaces(numbers, monkeypatch):
    rng = np.random.default_rng(numbers)
    for n in (1, 2, 3, 8, 9):
        values = rng.integers(0, numbers, size=(40, n)).astype(np.int16)
        expected = [words(r) for r in values.tolist()]
        assert number_text(values, numbers, "=").to_pylist() == [e + " =" for e in expected]
        assert number_text(values, numbers, ".").to_pylist() == [e + " ." for e in expected]
        assert number_text(values, numbers, None).to_pylist() == expected
    # the 64-bit-offset table of columns above 2 GiB writes the same text (a string column when it fits)
    monkeypatch.setattr(algorithmic, "MAX_PIECE_BYTES", 2**31)
    text = number_text(values, numbers, ".")
    assert text.type == pa.string() and text.to_pylist() == [e + " ." for e in expected]


def test_text_helpers_respect_array_offsets():
    text = pa.array(["1 2 =", "33 =", "4 5 6 ="]).slice(1)
    assert with_last_char(text, ".").to_pylist() == ["33 .", "4 5 6 ."]
    assert without_end(with_last_char(text, ".")).to_pylist() == ["33", "4 5 6"]
    large = pa.array(["7 =", "8 9 ="], type=pa.large_string())
    assert with_last_char(large, ".").to_pylist() == ["7 .", "8 9 ."]


def test_repeated_presets_repeat_and_unique_presets_do_not():
    for task, config, unique in (("copy", "zhou2023-plain", True), ("copy", "zhou2023_repeat-plain", False),
                                 ("sort", "zhou2023-plain", True), ("sort", "zhou2023_repeat-plain", False),
                                 ("reverse", "zhou2023-plain", False)):
        short = [r["sequence"] for r in rows_of(task, config)["train"] if 5 <= len(r["sequence"]) <= 10]
        repeats = sum(len(set(s)) < len(s) for s in short)
        assert (repeats == 0) if unique else (repeats > len(short) // 4), (task, config, repeats, len(short))


def test_mode_ties_go_to_the_smallest():
    t = get_task("mode")
    cfg = t.presets["zhou2023"]
    seq = np.array([[3, 1, 3, 1, 2], [5, 5, 4, 4, 9], [7, 7, 7, 0, 0], [9, 8, 7, 6, 5]], dtype=np.int16)
    columns = t.to_columns(cfg, "plain", Instances({"sequence": seq}, seq.astype(np.int64)))
    assert columns["completion"].to_pylist() == ["1 .", "4 .", "7 .", "5 ."]
    def tied(seq):
        counts = collections.Counter(seq)
        return list(counts.values()).count(max(counts.values())) > 1

    ties = sum(tied(r["sequence"]) for r in rows_of("mode", "zhou2023-plain")["train"])
    assert ties > 0  # the tie rule is exercised by the data


def test_builds_are_deterministic_and_formats_share_instances():
    for task, config in (("sort", "zhou2023-inductive"), ("sort", "zhou2023-plain"), ("copy", "zhou2023-index_hints"),
                         ("reverse", "zhou2023-index_hints"), ("mode", "zhou2023-plain"), ("count", "zhou2023-plain")):
        again = build_config(task, config, "tiny", seed=0)
        for split, table in built(task, config).tables.items():
            assert table.equals(again.tables[split])
    a, b = built("sort", "zhou2023-plain"), built("sort", "zhou2023-inductive")
    for split in SPLITS:
        assert a.tables[split].column("sequence").equals(b.tables[split].column("sequence"))
    other_seed = build_config("sort", "zhou2023-plain", "tiny", seed=1)
    assert not other_seed.tables["train"].column("sequence").equals(a.tables["train"].column("sequence"))
    # the hint offsets come from the layout stream: the index-hint rows hold the plain rows' instances
    for task in ("copy", "reverse"):
        plain, hints = built(task, "zhou2023-plain"), built(task, "zhou2023-index_hints")
        for split in SPLITS:
            assert plain.tables[split].column("sequence").equals(hints.tables[split].column("sequence"))


@pytest.mark.parametrize("task", ["copy", "reverse"])
def test_training_rows_show_every_hint_the_ood_split_needs(task):
    """zhou2023 trains on lengths ≤ 40 and tests at 41..60: hints numbered from h1 would leave
    h41..h60 unseen in training. With a random offset in every split they are all trained."""
    rows = rows_of(task, "zhou2023-index_hints")
    hints_in = {split: {t for r in split_rows for t in r["prompt"].split() if t[0] == "h"}
                for split, split_rows in rows.items()}
    assert {f"h{i}" for i in range(41, 61)} <= hints_in["ood"]  # the test needs hints above 40 ...
    assert hints_in["ood"] <= hints_in["train"]  # ... and training shows every one of them
    assert hints_in["train"] <= {f"h{i}" for i in range(1, 61)}  # H = 60: no hint beyond the longest length
    # the offsets are spread over their whole range: both ends of h1..h60 start or end some training run
    offsets = [(r["hint_offset"], r["length"]) for r in rows["train"]]
    assert any(o == 0 for o, _ in offsets) and any(o + n == 60 for o, n in offsets)


def test_documented_examples_are_what_the_generator_writes():
    def render_one(task, config, arrays):
        t = get_task(task)
        _, cfg, fmt = t.parse_config(config)
        key = np.concatenate([np.asarray(v).reshape(1, -1) for v in arrays.values()], axis=1).astype(np.int64)
        columns = t.to_columns(cfg, fmt, Instances({k: np.asarray(v) for k, v in arrays.items()}, key))
        text = f"`{columns['prompt'][0].as_py()}` → `{columns['completion'][0].as_py()}`"
        assert text in t.format_docs[fmt], (text, t.format_docs[fmt])

    seq = np.array([[7, 2, 9]], dtype=np.int16)
    render_one("count", "zhou2023-plain", {"start": np.array([3], np.int16), "end": np.array([7], np.int16)})
    render_one("mode", "zhou2023-plain", {"sequence": np.array([[3, 1, 3, 1, 2]], np.int16)})
    render_one("copy", "zhou2023-plain", {"sequence": seq})
    render_one("copy", "zhou2023-index_hints", {"sequence": seq, "hint_offset": np.array([2], np.int16)})
    render_one("reverse", "zhou2023-plain", {"sequence": seq})
    render_one("reverse", "zhou2023-index_hints", {"sequence": seq, "hint_offset": np.array([2], np.int16)})
    render_one("sort", "zhou2023_repeat-plain", {"sequence": np.array([[7, 2, 9, 2]], np.int16)})
    render_one("sort", "zhou2023_repeat-inductive", {"sequence": np.array([[7, 2, 9, 2]], np.int16)})


def test_parse_answer_rejects_malformed_completions():
    assert get_task("copy").parse_answer("plain", "1 2 3") is None  # no end token
    assert get_task("copy").parse_answer("plain", "1 . 2 .") is None
    assert get_task("copy").parse_answer("index_hints", "h1 4 5 .") is None
    assert get_task("copy").parse_answer("index_hints", "h1 4 h2 5 .") == "4 5"
    assert get_task("reverse").parse_answer("index_hints", "h42 5 h41 4 .") == "5 4"  # any hint indices
    assert get_task("copy").parse_answer("index_hints", "h0 4 .") is None  # not a hint token
    assert get_task("copy").parse_answer("index_hints", "hx 4 .") is None
    assert get_task("sort").parse_answer("inductive", "2 , 1 # 3 , 1 .") is None  # no `:`
    assert get_task("sort").parse_answer("inductive", ": 2 , 1 # 3 1 .") is None
    assert get_task("sort").parse_answer("inductive", ": 2 , 1 # 3 , 1 .") == "2 3"
    assert get_task("mode").parse_answer("plain", "x .") is None


@pytest.mark.parametrize("task,cfg,fmt,needle", [
    ("copy", SequenceConfig(train_lengths=(70,), ood_lengths=(), numbers=64, unique=True), "plain", "70"),
    ("sort", SequenceConfig(train_lengths=(5,), ood_lengths=(65,), numbers=64, unique=True), "inductive", "65"),
    ("count", SequenceConfig(train_lengths=(40,), ood_lengths=(200,), numbers=150), "plain", "200"),
    ("mode", SequenceConfig(numbers=10, unique=True), "plain", "unique"),
    ("reverse", SequenceConfig(numbers=1001), "plain", "1001"),
    ("reverse", SequenceConfig(numbers=0), "plain", "numbers=0"),
    ("copy", SequenceConfig(train_lengths=(0, 3), numbers=10), "plain", "0"),
    ("copy", SequenceConfig(ood_lengths=(401,), numbers=10), "index_hints", "401"),
    ("reverse", SequenceConfig(train_lengths=(MAX_HINT + 1,), ood_lengths=(), numbers=10), "index_hints", "401"),
    ("sort", SequenceConfig(ood_lengths=(1000,), numbers=10), "inductive", "1000"),
])
def test_impossible_settings_fail_in_one_line(task, cfg, fmt, needle):
    with pytest.raises(HFReasoningError) as err:
        get_task(task).validate(cfg, fmt)
    message = str(err.value)
    assert "\n" not in message and needle in message
    assert "allowed" in message or "must be positive" in message


def test_presets_are_valid_and_unknown_configs_fail():
    for task in TASKS:
        t = get_task(task)
        for config in t.config_names():
            t.parse_config(config)  # validate runs here
        with pytest.raises(HFReasoningError, match="allowed"):
            t.parse_config("zhou2023-scratchpad")
    assert "t2t-plain" in get_task("copy").config_names() and "t2t-index_hints" not in get_task("copy").config_names()
    assert get_task("copy").presets["t2t"].ood_lengths == (400,)


def test_hub_folder_loads_every_config(tmp_path):
    import datasets

    from hf_reasoning.hub import card_metadata, write_repos

    out = tmp_path / "hub"
    write_repos(TASKS, out, scale="tiny")
    for task in TASKS:
        folder = out / task
        meta = card_metadata(folder)
        assert {c["config_name"] for c in meta["configs"]} == set(get_task(task).config_names())
        readme = (folder / "README.md").read_text()
        for doc in get_task(task).format_docs.values():
            assert doc in readme
        for config in get_task(task).config_names():
            ds = datasets.load_dataset(str(folder), config, cache_dir=str(tmp_path / "cache"))
            build = built(task, config)
            assert {s: ds[s].num_rows for s in ds} == build.rows
            assert ds["ood"][0] == build.tables["ood"].slice(0, 1).to_pylist()[0]
            assert ds["train"].column_names[:5] == ["prompt", "completion", "answer", "length", "group"]
