"""count, mode, copy, reverse, sort: every row checked against the spec (TASKS.md §3), written
here in plain Python from the structured columns and again from the parsed text."""

from __future__ import annotations

import collections
import functools
import math

import numpy as np
import pytest

from hf_reasoning.errors import HFReasoningError
from hf_reasoning.splits import SPLITS, build_config
from hf_reasoning.tasks import SCALES, Group, Instances, get_task
from hf_reasoning.tasks.algorithmic import (SequenceConfig, bounded_integers, distinct_sequences, with_last_char,
                                           without_end)

TASKS = ("count", "mode", "copy", "reverse", "sort")
CONFIGS = [(t, c) for t in TASKS for c in get_task(t).config_names()]
SPECIAL = {":", "#", ".", "_", "$"}
TINY = SCALES["tiny"]


@pytest.fixture(autouse=True)
def _offline(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))


@functools.lru_cache(maxsize=None)
def built(task: str, config: str):
    return build_config(task, config, "tiny", seed=0)


@functools.lru_cache(maxsize=None)
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


def parse_prompt(task: str, fmt: str, prompt: str) -> list[int]:
    tokens = prompt.split()
    assert tokens[-1] == "=" and "=" not in tokens[:-1]
    tokens = tokens[:-1]
    if fmt == "index_hints":
        assert tokens[0::2] == [f"h{i}" for i in range(1, len(tokens) // 2 + 1)]
        tokens = tokens[1::2]
    assert all(t.isdigit() and str(int(t)) == t for t in tokens), prompt
    return [int(t) for t in tokens]


def check_row(task: str, fmt: str, cfg: SequenceConfig, row: dict) -> None:
    if task == "count":
        a, b = row["start"], row["end"]
        assert 0 <= a <= b < cfg.numbers
        assert row["length"] == b - a + 1
        out = list(range(a, b + 1))
        assert row["prompt"] == f"{a} {b} ="
        assert row["completion"] == words(out) + " ."
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
        assert row["prompt"] == hinted(seq, range(1, n + 1)) + " ="
        source = list(range(1, n + 1)) if task == "copy" else list(range(n, 0, -1))
        assert row["completion"] == hinted(out, source) + " ."
    else:
        assert row["prompt"] == words(seq) + " ="
    if fmt == "plain":
        assert row["completion"] == words(out) + " ."
    if fmt == "inductive":
        expected_states, state = [], sort_next_state(seq, None)
        while state is not None:
            expected_states.append(state)
            state = sort_next_state(seq, state)
        assert row["completion"] == ": " + " # ".join(f"{v} , {c}" for v, c in expected_states) + " ."
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
    for split, split_rows in rows.items():
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
    _, cfg, fmt = get_task(task).parse_config(config)
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
    for name, cfg in t.presets.items():
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


def test_distinct_sequences_are_uniform_ordered_subsets():
    draws = distinct_sequences(np.random.default_rng(5), 24_000, 4, 2)
    counts = collections.Counter(map(tuple, draws.tolist()))
    assert set(counts) == {(a, b) for a in range(4) for b in range(4) if a != b}
    expected = 24_000 / 12
    chi2 = sum((c - expected) ** 2 / expected for c in counts.values())
    assert chi2 < 40  # 11 degrees of freedom: p < 1e-4 above this
    full = distinct_sequences(np.random.default_rng(6), 50, 30, 30)
    assert all(sorted(r) == list(range(30)) for r in full.tolist())


@pytest.mark.parametrize("high", [[100, 99, 98, 97], [2, 3], [2**32 - 1], [2**31 + 1, 7]])
def test_bounded_integers_match_numpy_and_leave_the_same_state(high):
    # 2**31 + 1 rejects about half of the 32-bit words: that exercises the rewind to numpy
    high = np.array(high)
    for seed in range(10):
        numpy_rng, ours = np.random.default_rng(seed), np.random.default_rng(seed)
        expected = numpy_rng.integers(0, high, size=(64, high.size))
        drawn = bounded_integers(ours, high, 64)
        assert drawn.dtype == np.int64 and (drawn == expected).all()
        assert ours.integers(0, 2**62) == numpy_rng.integers(0, 2**62)  # same generator state after


def test_distinct_sequences_are_a_seeded_fisher_yates_prefix():
    """The first k swaps of a Fisher–Yates shuffle, each partner drawn by numpy in row-major
    order (the stream the published datasets were built with), written here row by row."""
    for numbers, k in [(100, 7), (10, 10), (1, 1), (3, 2)]:
        drawn = distinct_sequences(np.random.default_rng(11), 20, numbers, k)
        rng = np.random.default_rng(11)
        partner = rng.integers(0, numbers - np.arange(k), size=(20, k)) + np.arange(k)
        for row, swaps in enumerate(partner.tolist()):
            perm = list(range(numbers))
            for i, j in enumerate(swaps):
                perm[i], perm[j] = perm[j], perm[i]
            assert drawn[row].tolist() == perm[:k]


def test_text_helpers_respect_array_offsets():
    import pyarrow as pa

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
    for task, config in (("sort", "zhou2023-inductive"), ("copy", "zhou2023-index_hints"), ("count", "zhou2023-plain")):
        again = build_config(task, config, "tiny", seed=0)
        for split, table in built(task, config).tables.items():
            assert table.equals(again.tables[split])
    a, b = built("sort", "zhou2023-plain"), built("sort", "zhou2023-inductive")
    for split in SPLITS:
        assert a.tables[split].column("sequence").equals(b.tables[split].column("sequence"))
    other_seed = build_config("sort", "zhou2023-plain", "tiny", seed=1)
    assert not other_seed.tables["train"].column("sequence").equals(a.tables["train"].column("sequence"))


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
    render_one("copy", "zhou2023-index_hints", {"sequence": seq})
    render_one("reverse", "zhou2023-plain", {"sequence": seq})
    render_one("reverse", "zhou2023-index_hints", {"sequence": seq})
    render_one("sort", "zhou2023_repeat-plain", {"sequence": np.array([[7, 2, 9, 2]], np.int16)})
    render_one("sort", "zhou2023_repeat-inductive", {"sequence": np.array([[7, 2, 9, 2]], np.int16)})


def test_parse_answer_rejects_malformed_completions():
    assert get_task("copy").parse_answer("plain", "1 2 3") is None  # no end token
    assert get_task("copy").parse_answer("plain", "1 . 2 .") is None
    assert get_task("copy").parse_answer("index_hints", "h1 4 5 .") is None
    assert get_task("copy").parse_answer("index_hints", "h1 4 h2 5 .") == "4 5"
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
