"""boolean (abbe2022, abbe2023): labels recomputed from the spec, seen sets, leaks, predictions, loading."""

from __future__ import annotations

import functools
import itertools
from collections import Counter

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


ENUMERATED_D = 16  # the card: test (and ood) splits are the whole cube (unseen part) for d <= 16


def spot_rows(split_rows, limit=1024):
    """All rows of a small split; an even stride of a whole-cube split (checked whole below)."""
    step = max(1, len(split_rows) // limit)
    return split_rows[::step]


@pytest.mark.parametrize("preset", list(PRESETS))
def test_rows_follow_the_spec(preset):
    cfg = PRESETS[preset]
    build, rows = rows_of(preset)
    assert set(rows) == ({"train", "validation", "test"} | (set() if cfg.seen == "all" else {"ood"}))
    for split, split_rows in rows.items():
        for row in spot_rows(split_rows):
            x = row["x"]
            assert len(x) == cfg.d == row["length"] and set(x) <= {-1, 1}
            # back from the prompt text: one token per coordinate, then "="
            tokens = row["prompt"].split()
            assert tokens[-1] == "=" and len(tokens) == cfg.d + 1
            parsed = [{"+": 1, "-": -1}[t] for t in tokens[:-1]]
            assert parsed == x
            y = spec_target(cfg, parsed)
            assert row["target"] == y
            assert float(row["answer"]) == y and row["completion"] == " " + row["answer"] + " ."
            assert float(TASK.parse_answer("plain", row["completion"])) == y
            assert row["seen"] == spec_seen(cfg, x)
            # the group says which part of the cube the row is in
            assert row["group"] == ("seen" if spec_seen(cfg, x) else "unseen")
            if split in ("train", "validation"):
                assert row["group"] == "seen"
            if split == "ood":
                assert row["group"] == "unseen"


def cube_in_order(d):
    """{-1,+1}^d in cube order (index bit j = 1 <-> x_j = -1), in plain Python."""
    return [tuple(-1 if index >> j & 1 else 1 for j in range(d)) for index in range(2**d)]


@pytest.mark.parametrize("preset", [p for p, c in PRESETS.items() if c.d <= ENUMERATED_D])
def test_test_split_is_the_whole_cube(preset):
    cfg = PRESETS[preset]
    build, rows = rows_of(preset)
    cube = cube_in_order(cfg.d)
    seen_part = [x for x in cube if spec_seen(cfg, x)]
    unseen_part = [x for x in cube if not spec_seen(cfg, x)]
    test = rows["test"]
    # every point exactly once: the seen part, then the unseen part, each in cube order
    assert [tuple(r["x"]) for r in test] == seen_part + unseen_part
    assert len({tuple(r["x"]) for r in test}) == 2**cfg.d == build.rows["test"]
    assert [r["group"] for r in test] == ["seen"] * len(seen_part) + ["unseen"] * len(unseen_part)
    if cfg.seen == "all":
        assert "ood" not in rows and not unseen_part
    else:
        assert [tuple(r["x"]) for r in rows["ood"]] == unseen_part
    # the targets of the whole cube from the definitions (every row for one config per target)
    if preset in FULL_TARGET_CHECK:
        assert [r["target"] for r in test] == [spec_target(cfg, list(x)) for x in seen_part + unseen_part]


FULL_TARGET_CHECK = ("pvr_p3_w3_majority", "f1_frozen5", "staircase_frozen7", "pvr_trunc_frozen7", "gotu_mixed",
                     "gotu_x0x1", "gotu_cyclic3", "gotu_sign3", "ball_k8")


@pytest.mark.parametrize("preset", [p for p, c in PRESETS.items() if c.d > ENUMERATED_D])
def test_test_split_samples_the_cube_above_the_cap(preset):
    cfg = PRESETS[preset]
    build, rows = rows_of(preset)
    assert build.rows["test"] == 64  # tiny scale
    groups = Counter(r["group"] for r in rows["test"])
    if cfg.seen == "all":
        assert set(groups) == {"seen"}
    else:  # a uniform sample of the cube: both parts, in proportion (binomial, far from 0 here)
        assert groups["seen"] > 10 and groups["unseen"] > 10
        assert {r["group"] for r in rows["ood"]} == {"unseen"} and build.rows["ood"] == 32
    # no training row is an evaluation row where the space allows it (not an overlap group)
    train = {tuple(r["x"]) for r in rows["train"]}
    if "seen" not in build.overlap_groups:
        assert not train & {tuple(r["x"]) for s in ("validation", "test") for r in rows[s]}


@pytest.mark.parametrize("preset", [p for p, c in PRESETS.items() if c.seen != "all"])
def test_unseen_never_leaks_into_training(preset):
    cfg = PRESETS[preset]
    _, rows = rows_of(preset)
    train_inputs = {tuple(r["x"]) for s in ("train", "validation") for r in rows[s]}
    unseen = {tuple(r["x"]) for s in ("test", "ood") for r in rows[s] if r["group"] == "unseen"}
    assert unseen and not train_inputs & unseen
    assert all(spec_seen(cfg, x) for x in train_inputs) and not any(spec_seen(cfg, x) for x in unseen)
    if cfg.seen == "frozen":
        assert all(x[cfg.frozen] == 1 for x in train_inputs)
        assert all(x[cfg.frozen] == -1 for x in unseen)
    assert {r["group"] for r in rows["ood"]} == {"unseen"}


@pytest.mark.parametrize("config", ["staircase_frozen7-plain", "gotu_x0x1_d40-plain"])
def test_fresh_training_stream_never_yields_unseen_points(config):
    from hf_reasoning.splits import fresh_tables

    cfg = PRESETS[config.rpartition("-")[0]]
    build, rows = rows_of(config.rpartition("-")[0])
    stream = fresh_tables("boolean", config, "tiny", 0, chunk_size=512)
    xs = [tuple(x) for _ in range(4) for x in next(stream).column("x").to_pylist()]
    assert all(spec_seen(cfg, x) for x in xs)
    if "seen" not in build.overlap_groups:
        assert not set(xs) & {tuple(r["x"]) for s in ("validation", "test") for r in rows[s]}


def test_overlap_rule_is_used_honestly():
    # d = 11 with a frozen coordinate: 1024 seen inputs < 100 x the rows drawn -> stated overlap
    # and the whole-cube test holds every training input: the build reports each such row as shared
    build, rows = rows_of("f1_frozen0")
    assert set(build.overlap_groups) == {"seen", "unseen"}
    test = {tuple(r["x"]) for r in rows["test"]}
    assert build.shared_rows == sum(tuple(r["x"]) in test for r in rows["train"]) == build.rows["train"]
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
        assert ds["train"].num_rows == 256 and ds["validation"].num_rows == 64
        assert ds["test"].num_rows == (2**cfg.d if cfg.d <= ENUMERATED_D else 64)
        assert ("ood" in ds) == (cfg.seen != "all")
        assert ds["train"].features["target"].dtype == "float64"
        assert ds["train"].features["x"].feature.dtype == "int8"
        assert ds["test"].features == ds["train"].features and ds["test"].features["seen"].dtype == "bool"


def test_rebuild_is_byte_identical(tmp_path):
    from hf_reasoning.hub import write_repos

    configs = ["staircase_frozen7-plain", "gotu_x0x1_d40-plain"]
    for name in ("a", "b"):
        write_repos(["boolean"], tmp_path / name, scale="tiny", configs=configs)
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.parquet"))
    assert len(files) == 8  # train, validation, test, ood of each
    assert all((tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files)
