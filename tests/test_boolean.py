"""boolean (abbe2022, abbe2023): labels recomputed from the spec, seen sets, leaks, predictions, loading."""

from __future__ import annotations

import functools
import itertools

import pytest

from hf_reasoning.errors import HFReasoningError
from hf_reasoning.splits import build_config
from hf_reasoning.tasks import get_task
from hf_reasoning.tasks.boolean import PRESETS, BooleanConfig, analyze, cube_rows, predictions

TASK = get_task("boolean")


# -- the spec, in plain Python (independent of the numpy implementation) -------------------------

def prod(values):
    out = 1
    for v in values:
        out *= v
    return out


def sign(v):
    return (v > 0) - (v < 0)


def spec_target(cfg, x):
    d = len(x)
    t = cfg.target
    if t == "f1":
        return sum(k * x[k - 1] * x[k] for k in range(1, d))
    if t == "staircase":
        return sum(prod(x[: j + 1]) for j in range(d))
    if t == "x0x1":
        return x[0] * x[1]
    if t == "mixed":
        return x[0] * x[1] - 1.25 * x[1] * x[2] + 1.5 * x[0] * x[2]
    if t == "cyclic3":
        return sum(x[i] * x[(i + 1) % d] * x[(i + 2) % d] for i in range(d))
    if t == "sign3":
        return sign(x[0] + x[1] + x[2])
    if t == "two_monomials":
        return x[0] * x[1] * x[2] + x[0] * x[3] * x[4] * x[5]
    if t == "parity":
        return prod(x)
    assert t == "pvr"
    p, n = cfg.p, 2**cfg.p
    pointer = 0
    for bit in x[:p]:  # MSB first, -1 -> 0, +1 -> 1
        pointer = 2 * pointer + (1 if bit == 1 else 0)
    window = [pointer + t for t in range(cfg.w)]
    window = [j for j in window if j < n] if cfg.truncated else [j % n for j in window]
    values = [x[p + j] for j in window]
    return {"parity": prod(values), "majority": sign(sum(values)), "min": min(values), "max": max(values)}[cfg.agg]


def spec_seen(cfg, x):
    return {
        "all": lambda: True,
        "frozen": lambda: x[cfg.frozen] == 1,
        "x012_pos": lambda: x[0] * x[1] * x[2] == 1,
        "x0_or_x1": lambda: x[0] == 1 or x[1] == 1,
        "not_x012_neg": lambda: not (x[0] == x[1] == x[2] == -1),
        "x0_pos": lambda: x[0] == 1,
        "ball": lambda: sum(v == -1 for v in x) <= cfg.radius,
    }[cfg.seen]()


@functools.lru_cache(maxsize=None)
def rows_of(preset):
    build = build_config("boolean", f"{preset}-plain", "tiny", 0)
    return build, {split: table.to_pylist() for split, table in build.tables.items()}


@pytest.mark.parametrize("preset", list(PRESETS))
def test_rows_follow_the_spec(preset):
    cfg = PRESETS[preset]
    build, rows = rows_of(preset)
    assert set(rows) == ({"train", "validation", "test"} | (set() if cfg.seen == "all" else {"ood"}))
    for split, split_rows in rows.items():
        for row in split_rows:
            x = row["x"]
            assert len(x) == cfg.d == row["length"] and set(x) <= {-1, 1}
            # back from the prompt text: one token per coordinate, then "="
            tokens = row["prompt"].split()
            assert tokens[-1] == "=" and len(tokens) == cfg.d + 1
            parsed = [{"+": 1, "-": -1}[t] for t in tokens[:-1]]
            assert parsed == x
            y = spec_target(cfg, parsed)
            assert row["target"] == y
            assert float(row["answer"]) == y and row["completion"] == row["answer"] + " ."
            assert float(TASK.parse_answer("plain", row["completion"])) == y
            assert row["seen"] == spec_seen(cfg, x)
            if split != "ood":
                assert row["group"] == "seen" and spec_seen(cfg, x)
            else:
                assert row["group"] in ("cube", "unseen")
                if row["group"] == "unseen":
                    assert not spec_seen(cfg, x)


@pytest.mark.parametrize("preset", [p for p, c in PRESETS.items() if c.seen != "all"])
def test_unseen_never_leaks_into_training(preset):
    cfg = PRESETS[preset]
    _, rows = rows_of(preset)
    train_inputs = {tuple(r["x"]) for s in ("train", "validation", "test") for r in rows[s]}
    unseen = {tuple(r["x"]) for r in rows["ood"] if r["group"] == "unseen"}
    assert unseen and not train_inputs & unseen
    if cfg.seen == "frozen":
        assert all(x[cfg.frozen] == 1 for x in train_inputs)
        assert all(x[cfg.frozen] == -1 for x in unseen)
    groups = {r["group"] for r in rows["ood"]}
    assert groups == {"cube", "unseen"}


def test_overlap_rule_is_used_honestly():
    # d = 11 with a frozen coordinate: 1024 seen inputs < 100 x the rows drawn -> stated overlap
    build, _ = rows_of("f1_frozen0")
    assert build.overlap_groups == ["seen"] or "seen" in build.overlap_groups
    # d = 40: no overlap allowed, and none happens
    build, rows = rows_of("gotu_x0x1_d40")
    assert "seen" not in build.overlap_groups
    evals = {tuple(r["x"]) for s in ("validation", "test") for r in rows[s]}
    assert not evals & {tuple(r["x"]) for r in rows["train"]}


def test_whole_cube_in_cube_order():
    table = cube_rows("staircase_frozen7-plain").to_pylist()
    assert len(table) == 2**14
    for index in (0, 1, 5, 2**13, 2**14 - 1):
        x = table[index]["x"]
        assert x == [-1 if index >> j & 1 else 1 for j in range(14)]
        assert table[index]["target"] == spec_target(PRESETS["staircase_frozen7"], x)
    assert sum(r["seen"] for r in table) == 2**13
    with pytest.raises(HFReasoningError):
        cube_rows("gotu_x0x1_d40-plain")


# -- predictions: the reference values of issue 6 ---------------------------------------------

def test_staircase_influences():
    full = analyze("boolean", "staircase_frozen0-plain")
    assert full["influences"] == pytest.approx([14 - i for i in range(14)])
    for i in (0, 7, 13):
        p = predictions(f"staircase_frozen{i}")
        assert p["influence"] == pytest.approx(14 - i)
        assert p["predicted_generalisation_error"] == pytest.approx(14 - i)
        assert p["predicted_mse_whole"] == pytest.approx(2 * (14 - i))


def test_staircase_influence_by_brute_force():
    # Inf_i = E[(f(x^{i->+1}) - f(x^{i->-1}))^2] / 4, plain Python over the cube (d = 14)
    cfg = PRESETS["staircase_frozen0"]
    for i in (0, 13):
        total = 0
        for x in itertools.product((1, -1), repeat=13):
            plus = list(x[:i]) + [1] + list(x[i:])
            minus = list(x[:i]) + [-1] + list(x[i:])
            total += (spec_target(cfg, plus) - spec_target(cfg, minus)) ** 2 / 4
        assert total / 2**13 == 14 - i


def test_pvr_truncated_influence():
    assert predictions("pvr_trunc_frozen7-plain")["influence"] == pytest.approx(0.1875)
    cfg = PRESETS["pvr_trunc_frozen7"]
    total = sum((spec_target(cfg, list(x[:7]) + [1] + list(x[7:])) - spec_target(cfg, list(x[:7]) + [-1] + list(x[7:]))) ** 2 / 4
                for x in itertools.product((1, -1), repeat=10))
    assert total / 2**10 == 0.1875


@pytest.mark.parametrize("preset, unseen, whole", [
    ("gotu_x0x1", 16, 4), ("gotu_x0x1_d40", 16, 4), ("gotu_cyclic3", 64, 8), ("gotu_sign3", 4, 1)])
def test_gotu_reference_values(preset, unseen, whole):
    p = predictions(preset)
    assert p["predicted_mse_unseen"] == pytest.approx(unseen)
    assert p["predicted_mse_whole"] == pytest.approx(whole)


def test_gotu_x0x1_interpolator():
    p = predictions("gotu_x0x1-plain")
    assert p["interpolator_degree"] == 1
    coef = {k: v for k, v in p["min_degree_interpolator"].items() if abs(v) > 1e-9}
    assert coef == pytest.approx({"x0": 1.0, "x1": 1.0, "1": -1.0})


def test_analyze_is_json_and_covers_every_preset():
    import json

    for preset, cfg in PRESETS.items():
        if cfg.d > 15 and cfg.target not in ("x0x1", "two_monomials"):
            continue  # the d = 20 boolean PVR takes seconds; covered by the CLI
        out = analyze("boolean", f"{preset}-plain")
        json.dumps(out)
        assert out["d"] == cfg.d and "predictions" in out


def test_card_description_has_predictions():
    text = TASK.description
    assert "staircase_frozen0" in text and "gotu_cyclic3" in text


# -- bad input ------------------------------------------------------------------------------------

@pytest.mark.parametrize("cfg", [
    BooleanConfig(target="pvr", p=6, d=70, w=3),
    BooleanConfig(target="pvr", p=3, d=12, w=3),
    BooleanConfig(target="pvr", p=3, d=11, w=9),
    BooleanConfig(target="staircase", d=14, seen="frozen", frozen=14),
    BooleanConfig(target="staircase", d=14, seen="frozen", frozen=-1),
    BooleanConfig(target="parity", d=15, seen="ball", radius=15),
    BooleanConfig(target="nope", d=5),
    BooleanConfig(target="pvr", p=3, d=11, agg="mean"),
])
def test_bad_configs_are_one_line_errors(cfg):
    with pytest.raises(HFReasoningError) as err:
        TASK.validate(cfg, "plain")
    assert "\n" not in str(err.value)


def test_analysis_too_large_is_an_error():
    with pytest.raises(HFReasoningError) as err:
        predictions(BooleanConfig(target="parity", d=40, seen="ball", radius=5))
    assert "\n" not in str(err.value) and "40" in str(err.value)
    with pytest.raises(HFReasoningError):
        analyze("boolean", "nope-plain")


# -- every config builds and loads --------------------------------------------------------------

def test_every_config_loads(tmp_path):
    import datasets

    from hf_reasoning.hub import write_repos

    write_repos(["boolean"], tmp_path, scale="tiny")
    for config in TASK.config_names():
        ds = datasets.load_dataset(str(tmp_path / "boolean"), config)
        cfg = PRESETS[config.rpartition("-")[0]]
        assert ds["train"].num_rows == 256 and ds["test"].num_rows == 64
        assert ("ood" in ds) == (cfg.seen != "all")
        assert ds["train"].features["target"].dtype == "float64"
        assert ds["train"].features["x"].feature.dtype == "int8"
