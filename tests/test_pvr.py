"""pvr (zhang2021, vector): labels recomputed from the spec and the text, holdout never leaks, loading."""

from __future__ import annotations

import functools
from collections import Counter

import pytest

from hf_reasoning.errors import HFReasoningError
from hf_reasoning.splits import build_config
from hf_reasoning.tasks import get_task
from hf_reasoning.tasks.pvr import PRESETS, PVRConfig

TASK = get_task("pvr")


def spec_answer(agg, window):
    if agg == "sum":
        return sum(window) % 10
    if agg == "min":
        return min(window)
    if agg == "max":
        return max(window)
    if agg == "median":  # lower median
        return sorted(window)[(len(window) - 1) // 2]
    counts = Counter(window)
    best = max(counts.values())
    return min(v for v, c in counts.items() if c == best)


def held_out(h, pointer, value):
    return value in {(pointer + j) % 10 for j in range(h)}


@functools.lru_cache(maxsize=None)
def rows_of(preset):
    build = build_config("pvr", f"{preset}-plain", "tiny", 0)
    return {split: table.to_pylist() for split, table in build.tables.items()}


@pytest.mark.parametrize("preset", list(PRESETS))
def test_rows_follow_the_spec(preset):
    cfg = PRESETS[preset]
    rows = rows_of(preset)
    assert set(rows) == {"train", "validation", "test"} | ({"ood"} if cfg.holdout else set())
    for split, split_rows in rows.items():
        for row in split_rows:
            tokens = row["prompt"].split()
            assert len(tokens) == 12 and tokens[-1] == "="
            p, values = int(tokens[0]), [int(t) for t in tokens[1:11]]
            assert p == row["pointer"] and values == row["values"]
            assert 0 <= p <= 9 - cfg.m
            window = values[p: p + cfg.m + 1]
            assert row["window"] == window and row["length"] == cfg.m + 1
            y = spec_answer(cfg.agg, window)
            assert row["answer"] == str(y) and row["completion"] == f"{y} ."
            assert TASK.parse_answer("plain", row["completion"]) == str(y)
            if split == "ood":
                assert row["group"] == "heldout" and held_out(cfg.holdout, p, values[p])
            else:
                assert row["group"] == "seen" and not held_out(cfg.holdout, p, values[p])


def test_aggregations_by_hand():
    assert spec_answer("majority", [3, 1, 3, 1]) == 1
    cfg = PVRConfig(m=3, agg="majority")
    from hf_reasoning.tasks.base import Instances
    import numpy as np

    inst = Instances({"pointer": np.array([0, 6], dtype=np.int8),
                      "values": np.array([[3, 1, 3, 1, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 9, 7, 7, 9]], dtype=np.int8)},
                     np.zeros((2, 1), dtype=np.int64))
    assert TASK.to_columns(cfg, "plain", inst)["answer"].to_pylist() == ["1", "7"]
    cfg = PVRConfig(m=3, agg="median")
    assert TASK.to_columns(cfg, "plain", inst)["answer"].to_pylist() == ["1", "7"]


@pytest.mark.parametrize("preset", [p for p, c in PRESETS.items() if c.holdout])
def test_holdout_never_leaks_and_covers_every_position(preset):
    cfg = PRESETS[preset]
    rows = rows_of(preset)
    train_pairs = {(r["pointer"], r["values"][r["pointer"]]) for s in ("train", "validation", "test") for r in rows[s]}
    ood_pairs = {(r["pointer"], r["values"][r["pointer"]]) for r in rows["ood"]}
    assert not train_pairs & ood_pairs
    # held-out values of each position are seen at other positions in training
    assert {v for _, v in train_pairs} == set(range(10))


def test_bad_configs_are_one_line_errors():
    for cfg in (PVRConfig(m=10), PVRConfig(holdout=10), PVRConfig(agg="mean"), PVRConfig(m=-1)):
        with pytest.raises(HFReasoningError) as err:
            TASK.validate(cfg, "plain")
        assert "\n" not in str(err.value)
    with pytest.raises(HFReasoningError):
        TASK.parse_config("m9_sum-plain")


def test_every_config_loads(tmp_path):
    import datasets

    from hf_reasoning.hub import write_repos

    write_repos(["pvr"], tmp_path, scale="tiny")
    for config in TASK.config_names():
        ds = datasets.load_dataset(str(tmp_path / "pvr"), config)
        cfg = PRESETS[config.rpartition("-")[0]]
        assert ds["train"].num_rows == 256
        assert ("ood" in ds) == bool(cfg.holdout)
        assert ds["train"][0]["prompt"].split()[0] == str(ds["train"][0]["pointer"])
