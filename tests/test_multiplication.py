"""multiplication: every row checked against the spec with Python integers, from the
structured columns and from the parsed text; inductive states re-derived one by one. The
index hints are a run of 2s consecutive hints at a random offset from h1..hH (H = 2 × the
preset's longest length): checked per row, for their spread, and on a small preset for every
OOD hint occurring in training."""

from __future__ import annotations

import collections
import functools
import math

import numpy as np
import pytest

from hf_reasoning.errors import HFReasoningError
from hf_reasoning.splits import SPLITS, build_config
from hf_reasoning.tasks import SCALES, Group, Instances, get_task
from hf_reasoning.tasks.multiplication import MultiplicationConfig

HINT_FORMATS = ("index_hints", "reversed_index_hints")

TASK = get_task("multiplication")
CONFIGS = TASK.config_names()
TINY = SCALES["tiny"]


@pytest.fixture(autouse=True)
def _offline(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))


@functools.lru_cache(maxsize=None)
def built(config: str):
    return build_config("multiplication", config, "tiny", seed=0)


@functools.lru_cache(maxsize=None)
def rows_of(config: str) -> dict[str, list[dict]]:
    return {split: table.to_pylist() for split, table in built(config).tables.items()}


def spaced(digits: str) -> str:
    return " ".join(digits)


def hinted(digits: str, hints) -> str:
    return " ".join(f"h{h} {d}" for h, d in zip(hints, digits))


def parse_hinted(tokens: list[str]) -> tuple[list[int], str]:
    """``h i d h j e …`` → ([i, j, …], "de…")."""
    assert len(tokens) % 2 == 0, tokens
    assert all(t[0] == "h" and t[1:].isdigit() for t in tokens[0::2]), tokens
    assert all(len(d) == 1 and d.isdigit() for d in tokens[1::2]), tokens
    return [int(t[1:]) for t in tokens[0::2]], "".join(tokens[1::2])


def hint_set(cfg) -> int:
    """H from the spec: a number of s digits is written over 2s digits, one hint each."""
    return 2 * max(cfg.train_lengths + cfg.ood_lengths)


def next_state(a: str, b: str, previous: tuple[int, str] | None) -> tuple[int, str] | None:
    """(index of the digit of b used, register) after the next step, from the question and the
    previous state only; None after the first digit of b."""
    s = len(b)
    index = s - 1 if previous is None else previous[0] - 1
    if index < 0:
        return None
    register = 0 if previous is None else int(previous[1])
    register += int(a) * int(b[index]) * 10 ** (s - 1 - index)
    return index, str(register).zfill(2 * s)


def parse_question(fmt: str, prompt: str) -> tuple[str, str, list[int] | None]:
    """(a, b, the hint indices of the prompt's numbers or None) from the prompt text."""
    tokens = prompt.split()
    assert tokens[-1] == "=" and tokens.count("*") == 1
    left, right = " ".join(tokens[:-1]).split(" * ")
    left, right = left.split(), right.split()
    hints = None
    if fmt in HINT_FORMATS:
        hints, left_digits = parse_hinted(left)
        right_hints, right_digits = parse_hinted(right)
        assert right_hints == hints  # one hint per significance, the same in both operands
        s = len(hints) // 2
        assert left_digits[:s] == right_digits[:s] == "0" * s  # zero-padded to 2s digits
        left, right = list(left_digits[s:]), list(right_digits[s:])
    assert all(len(d) == 1 and d.isdigit() for d in left + right)
    return "".join(left), "".join(right), hints


def check_row(cfg, fmt: str, row: dict) -> None:
    a, b = row["a"], row["b"]
    s = len(a)
    assert len(b) == s == row["length"] and row["group"] == str(s)
    assert a[0] != "0" and b[0] != "0"
    product = str(int(a) * int(b)).zfill(2 * s)
    assert len(product) == 2 * s
    assert row["answer"] == product
    # text from the structured instance
    if fmt in HINT_FORMATS:
        o = row["hint_offset"]
        assert 0 <= o <= hint_set(cfg) - 2 * s  # the run h(o+1)..h(o+2s) fits in h1..hH
        hints = range(o + 1, o + 2 * s + 1)
        assert row["prompt"] == f"{hinted('0' * s + a, hints)} * {hinted('0' * s + b, hints)} ="
        pairs = list(zip(hints, product))
        if fmt == "reversed_index_hints":
            pairs = pairs[::-1]
        assert row["completion"] == " " + " ".join(f"h{h} {d}" for h, d in pairs) + " ."
    else:
        assert "hint_offset" not in row
        assert row["prompt"] == f"{spaced(a)} * {spaced(b)} ="
    if fmt == "plain":
        assert row["completion"] == " " + spaced(product) + " ."
    if fmt == "reversed":
        assert row["completion"] == " " + spaced(product[::-1]) + " ."
    # back from the text
    qa, qb, question_hints = parse_question(fmt, row["prompt"])
    assert (qa, qb) == (a, b)
    tokens = row["completion"].split()
    assert tokens[-1] == "." and "." not in tokens[:-1]
    if fmt in HINT_FORMATS:
        # one run of 2s consecutive hints from h(o+1), the same in all three numbers
        answer_hints, answer_digits = parse_hinted(tokens[:-1])
        if fmt == "reversed_index_hints":
            answer_hints, answer_digits = answer_hints[::-1], answer_digits[::-1]
        first = question_hints[0]
        assert question_hints == answer_hints == list(range(first, first + 2 * s))
        assert first == row["hint_offset"] + 1 and first + 2 * s - 1 <= hint_set(cfg)
        assert answer_digits == str(int(qa) * int(qb)).zfill(2 * s)
    if fmt == "inductive":
        assert tokens[0] == ":"
        states = [st.split() for st in " ".join(tokens[1:-1]).split(" # ")]
        assert len(states) == s  # one state per digit of b
        previous = None
        for state in states:
            assert state[0] == "[" and state[3] == "]" and state[5] == "r" and len(state) == 6 + 2 * s
            current = (int(state[1] + state[2]), "".join(state[6:]))
            assert state[4] == qb[current[0]]
            assert current == next_state(qa, qb, previous)
            previous = current
        assert next_state(qa, qb, previous) is None
        assert previous[1] == str(int(qa) * int(qb)).zfill(2 * s)
    else:
        assert not {":", "#", "_", "$"} & set(tokens)
    assert TASK.parse_answer(fmt, row["completion"]) == str(int(qa) * int(qb)).zfill(2 * s)


@pytest.mark.parametrize("config", CONFIGS)
def test_rows_follow_the_spec(config):
    _, cfg, fmt = TASK.parse_config(config)
    for split_rows in rows_of(config).values():
        for row in split_rows:
            check_row(cfg, fmt, row)
            assert all(tok in TASK.vocab.id for tok in (row["prompt"] + " " + row["completion"]).split())


@pytest.mark.parametrize("config", CONFIGS)
def test_splits_lengths_and_disjointness(config):
    _, cfg, _ = TASK.parse_config(config)
    build, rows = built(config), rows_of(config)
    assert [s for s in SPLITS if s in rows] == list(SPLITS)
    for split in ("train", "validation", "test"):
        assert len(rows[split]) == getattr(TINY, split)
        assert {r["length"] for r in rows[split]} <= set(cfg.train_lengths)
    per_length = collections.Counter(r["length"] for r in rows["ood"])
    assert set(per_length) == set(cfg.ood_lengths) and set(per_length.values()) == {TINY.ood}
    overlap = set(build.overlap_groups)
    owner: dict[tuple, str] = {}
    for split in ("ood", "test", "validation", "train"):
        for r in rows[split]:
            key = (r["group"], r["a"], r["b"])
            if key in owner and owner[key] != split:
                assert r["group"] in overlap
            owner.setdefault(key, split)
    drawn = collections.Counter(r["group"] for split in rows.values() for r in split)
    for group, count in drawn.items():
        s = int(group)
        assert (group in overlap) == ((9 * 10 ** (s - 1)) ** 2 < 100 * count)


@pytest.mark.parametrize("fmt", HINT_FORMATS)
def test_hint_offsets_spread_over_rows_in_every_split(fmt):
    rows = rows_of(f"zhou2023-{fmt}")
    H = hint_set(MultiplicationConfig())
    assert H == 120
    for split, split_rows in rows.items():
        offsets = [r["hint_offset"] for r in split_rows]
        assert len(set(offsets)) > 5, split  # drawn per row, not one offset per split
        at_40 = [r["hint_offset"] for r in split_rows if r["length"] == 40]
        assert len(set(at_40)) > 1 or len(at_40) < 2, split  # and per row within a length
    assert {r["hint_offset"] for r in rows["ood"] if r["length"] == 60} == {0}  # h1..h120 exactly
    assert len({r["hint_offset"] for r in rows["ood"] if r["length"] == 41}) > 5  # o in 0..38
    assert max(r["hint_offset"] + 2 * r["length"] for r in rows["train"]) > 80  # beyond 2 × 40


def test_every_ood_hint_occurs_in_training(monkeypatch):
    small = MultiplicationConfig(train_lengths=(1, 2, 3, 4), ood_lengths=(5, 6), formats=HINT_FORMATS)
    monkeypatch.setitem(TASK.presets, "small_hints", small)
    for fmt in HINT_FORMATS:
        tables = build_config("multiplication", f"small_hints-{fmt}", "tiny", seed=0).tables
        used = {}
        for split, table in tables.items():
            used[split] = set()
            for row in table.to_pylist():
                check_row(small, fmt, row)
                used[split] |= set(parse_question(fmt, row["prompt"])[2])
        # the OOD lengths need h1..h12; with hints always from h1 training would stop at h8
        assert used["ood"] == set(range(1, hint_set(small) + 1))
        assert used["ood"] <= used["train"]


def test_hint_offset_is_layout_not_instance():
    cfg, group = MultiplicationConfig(), Group("3", 3, 3)
    one = TASK.sample(cfg, "index_hints", group, 3000, np.random.default_rng(5), np.random.default_rng(6))
    two = TASK.sample(cfg, "index_hints", group, 3000, np.random.default_rng(5), np.random.default_rng(7))
    plain = TASK.sample(cfg, "plain", group, 3000, np.random.default_rng(5), np.random.default_rng(6))
    assert np.array_equal(one.key, two.key) and np.array_equal(one.key, plain.key)
    assert not np.array_equal(one["hint_offset"], two["hint_offset"])
    assert one["hint_offset"].min() == 0 and one["hint_offset"].max() == 120 - 6  # o uniform in 0..H - 2s
    assert "hint_offset" not in plain.arrays


def test_training_lengths_favour_long_operands():
    counts = collections.Counter(r["length"] for r in rows_of("short-plain")["train"])
    assert sum(counts[s] for s in range(6, 11)) > 2 * sum(counts[s] for s in range(1, 6))  # P(s) ∝ s: 40/15


def test_space_log2_and_a_census():
    for s in (1, 2, 7, 40, 400):
        assert TASK.space_log2(MultiplicationConfig(), "plain", Group(str(s), s, s)) == pytest.approx(
            math.log2((9 * 10 ** (s - 1)) ** 2))
    inst = TASK.sample(MultiplicationConfig(), "plain", Group("1", 1, 1), 3000, np.random.default_rng(3),
                       np.random.default_rng(4))
    assert len({tuple(k) for k in inst.key.tolist()}) == 81


def test_long_products_are_exact():
    rng = np.random.default_rng(11)
    a = rng.integers(0, 10, size=(3, 400), dtype=np.int8)
    b = rng.integers(0, 10, size=(3, 400), dtype=np.int8)
    a[:, 0] = b[:, 0] = 9
    a[0], b[0] = 9, 9  # 10^400 - 1 squared: the longest carry chains
    columns = TASK.to_columns(MultiplicationConfig(), "plain", Instances({"a": a, "b": b}, np.zeros((3, 1), np.int64)))
    for i in range(3):
        x, y = int("".join(map(str, a[i]))), int("".join(map(str, b[i])))
        assert columns["answer"][i].as_py() == str(x * y).zfill(800)


def test_documented_examples_are_what_the_generator_writes():
    a, b = np.array([[1, 2]], np.int8), np.array([[3, 4]], np.int8)
    arrays = {"a": a, "b": b, "hint_offset": np.array([2], np.int16)}  # the docs' example offset
    for config in ("zhou2023-plain", "zhou2023-reversed", "zhou2023-index_hints", "short-inductive"):
        _, cfg, fmt = TASK.parse_config(config)
        columns = TASK.to_columns(cfg, fmt, Instances(dict(arrays), np.zeros((1, 1), np.int64)))
        text = f"`{columns['prompt'][0].as_py()}` → `{columns['completion'][0].as_py()}`"
        assert text in TASK.format_docs[fmt], (text, TASK.format_docs[fmt])
    columns = TASK.to_columns(cfg, "reversed_index_hints", Instances(arrays, np.zeros((1, 1), np.int64)))
    assert f"`{columns['completion'][0].as_py()}`" in TASK.format_docs["reversed_index_hints"]


def test_parse_answer_rejects_malformed_completions():
    assert TASK.parse_answer("inductive", ": [ 0 0 ] 3 r 0 9 .") == "09"
    assert TASK.parse_answer("inductive", "[ 0 0 ] 3 r 0 9 .") is None
    assert TASK.parse_answer("inductive", ": [ 0 0 ] 3 0 9 .") is None
    assert TASK.parse_answer("index_hints", "h1 0 9 .") is None
    assert TASK.parse_answer("reversed_index_hints", "h2 9 h1 0 .") == "09"
    assert TASK.parse_answer("index_hints", "h7 0 h8 9 .") == "09"  # hints at an offset
    assert TASK.parse_answer("reversed_index_hints", "h120 9 h119 0 .") == "09"
    for malformed in ("h1 0 h2 .", "0 h1 9 h2 .", "h0 0 h1 9 .", "hx 0 h1 9 .", "h1 0 h2 12 .", "h1 0 h2 9",
                      "h1 0 9 h2 ."):
        assert TASK.parse_answer("index_hints", malformed) is None, malformed
    assert TASK.parse_answer("plain", "0 9") is None


@pytest.mark.parametrize("cfg,fmt,needle", [
    (MultiplicationConfig(ood_lengths=(120,)), "inductive", "120"),
    (MultiplicationConfig(ood_lengths=(201,)), "index_hints", "201"),
    (MultiplicationConfig(train_lengths=(0, 1)), "plain", "0"),
])
def test_impossible_settings_fail_in_one_line(cfg, fmt, needle):
    with pytest.raises(HFReasoningError) as err:
        TASK.validate(cfg, fmt)
    message = str(err.value)
    assert "\n" not in message and needle in message
    assert "allowed" in message or "must be positive" in message


def test_hub_folder_loads_every_config_and_rebuilds_byte_for_byte(tmp_path):
    import datasets

    from hf_reasoning.hub import write_repos

    configs = ["short-inductive", "zhou2023-index_hints"]
    first = write_repos(["multiplication"], tmp_path / "one", scale="tiny")[0]
    second = write_repos(["multiplication"], tmp_path / "two", scale="tiny", configs=configs)[0]
    for config in CONFIGS:
        ds = datasets.load_dataset(str(first), config, cache_dir=str(tmp_path / "cache"))
        assert {s: ds[s].num_rows for s in ds} == built(config).rows
        assert ds["train"][0] == built(config).tables["train"].slice(0, 1).to_pylist()[0]
    for config in configs:
        for path in sorted((first / config).iterdir()):
            assert path.read_bytes() == (second / config / path.name).read_bytes()
