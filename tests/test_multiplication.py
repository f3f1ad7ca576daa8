"""multiplication: every row checked against the spec with Python integers, from the
structured columns and from the parsed text; inductive states re-derived one by one."""

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


def parse_question(fmt: str, prompt: str) -> tuple[str, str]:
    tokens = prompt.split()
    assert tokens[-1] == "=" and tokens.count("*") == 1
    left, right = " ".join(tokens[:-1]).split(" * ")
    left, right = left.split(), right.split()
    if "index_hints" in fmt:
        assert left[0::2] == right[0::2] == [f"h{i}" for i in range(1, len(left) // 2 + 1)]
        left, right = left[1::2], right[1::2]
        s = len(left) // 2
        assert left[:s] == right[:s] == ["0"] * s  # zero-padded to 2s digits
        left, right = left[s:], right[s:]
    assert all(len(d) == 1 and d.isdigit() for d in left + right)
    return "".join(left), "".join(right)


def check_row(fmt: str, row: dict) -> None:
    a, b = row["a"], row["b"]
    s = len(a)
    assert len(b) == s == row["length"] and row["group"] == str(s)
    assert a[0] != "0" and b[0] != "0"
    product = str(int(a) * int(b)).zfill(2 * s)
    assert len(product) == 2 * s
    assert row["answer"] == product
    # text from the structured instance
    if "index_hints" in fmt:
        hints = range(1, 2 * s + 1)
        assert row["prompt"] == f"{hinted('0' * s + a, hints)} * {hinted('0' * s + b, hints)} ="
        pairs = list(zip(hints, product))
        if fmt == "reversed_index_hints":
            pairs = pairs[::-1]
        assert row["completion"] == " ".join(f"h{h} {d}" for h, d in pairs) + " ."
    else:
        assert row["prompt"] == f"{spaced(a)} * {spaced(b)} ="
    if fmt == "plain":
        assert row["completion"] == spaced(product) + " ."
    if fmt == "reversed":
        assert row["completion"] == spaced(product[::-1]) + " ."
    # back from the text
    qa, qb = parse_question(fmt, row["prompt"])
    assert (qa, qb) == (a, b)
    tokens = row["completion"].split()
    assert tokens[-1] == "." and "." not in tokens[:-1]
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
            check_row(fmt, row)
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
    for config in ("zhou2023-plain", "zhou2023-reversed", "zhou2023-index_hints", "short-inductive"):
        _, cfg, fmt = TASK.parse_config(config)
        columns = TASK.to_columns(cfg, fmt, Instances({"a": a, "b": b}, np.zeros((1, 1), np.int64)))
        text = f"`{columns['prompt'][0].as_py()}` → `{columns['completion'][0].as_py()}`"
        assert text in TASK.format_docs[fmt], (text, TASK.format_docs[fmt])
    columns = TASK.to_columns(cfg, "reversed_index_hints", Instances({"a": a, "b": b}, np.zeros((1, 1), np.int64)))
    assert f"`{columns['completion'][0].as_py()}`" in TASK.format_docs["reversed_index_hints"]


def test_parse_answer_rejects_malformed_completions():
    assert TASK.parse_answer("inductive", ": [ 0 0 ] 3 r 0 9 .") == "09"
    assert TASK.parse_answer("inductive", "[ 0 0 ] 3 r 0 9 .") is None
    assert TASK.parse_answer("inductive", ": [ 0 0 ] 3 0 9 .") is None
    assert TASK.parse_answer("index_hints", "h1 0 9 .") is None
    assert TASK.parse_answer("reversed_index_hints", "h2 9 h1 0 .") == "09"
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
