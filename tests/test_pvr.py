"""pvr (zhang2021), vector and visual: labels recomputed from the spec, the text and the decoded
images, holdout never leaks, disjoint image pools, exact features through the Hub folder."""

from __future__ import annotations

import functools
import itertools
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
            assert row["answer"] == str(y) and row["completion"] == f" {y} ."
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


# -- visual PVR: a 2x2 grid of sklearn digits ------------------------------------------------------

VISUAL = get_task("pvr_visual")
# docs/formats.md#pvr_visual: top-left is the pointer; 0-3 -> top-right, 4-6 -> bottom-left, 7-9 -> bottom-right
SPEC_CELL = {**{t: 1 for t in (0, 1, 2, 3)}, **{t: 2 for t in (4, 5, 6)}, **{t: 3 for t in (7, 8, 9)}}
SPEC_HELD_OUT = {1: {1, 2, 3}, 2: {4, 5, 6}, 3: {7, 8, 9, 0}}


@functools.lru_cache(maxsize=None)
def sklearn_digits():
    from sklearn.datasets import load_digits

    digits = load_digits()
    return digits.images, digits.target


def spec_gray(ink):
    """8-bit gray of an ink level 0..16, rounded half up (the card's rule), in plain Python."""
    return int(ink * 255 / 16 + 0.5)


@functools.lru_cache(maxsize=None)
def digit_by_pixels():
    """Gray 8x8 cell bytes -> the labels of the sklearn images that look exactly like that."""
    images, labels = sklearn_digits()
    out = {}
    for image, label in zip(images, labels):
        key = bytes(spec_gray(v) for v in image.reshape(-1))
        out.setdefault(key, set()).add(int(label))
    return out


@functools.lru_cache(maxsize=None)
def visual_rows(config, scale="tiny"):
    build = build_config("pvr_visual", config, scale, 0)
    return build, {split: table.to_pylist() for split, table in build.tables.items()}


def decode(png: bytes):
    import io

    from PIL import Image

    Image.open(io.BytesIO(png)).verify()  # chunk CRCs and structure
    image = Image.open(io.BytesIO(png))
    assert image.mode == "L" and image.size == (16, 16)
    return [[image.getpixel((c, r)) for c in range(16)] for r in range(16)]


def cells_of(pixels):
    """The four 8x8 cells in reading order (top-left, top-right, bottom-left, bottom-right)."""
    return [[pixels[8 * (i // 2) + r][8 * (i % 2) + c] for r in range(8) for c in range(8)] for i in range(4)]


@pytest.mark.parametrize("config", VISUAL.config_names())
def test_visual_rows_follow_the_spec(config):
    images, labels = sklearn_digits()
    holdout = config.startswith("block_holdout")
    fmt = config.rpartition("-")[2]
    _, rows = visual_rows(config)
    assert set(rows) == {"train", "validation", "test"} | ({"ood"} if holdout else set())
    for split, split_rows in rows.items():
        for row in split_rows:
            pixels = decode(row["image"]["bytes"])
            # the pixels are the sklearn images of the row's indices, recomputed here
            for i, (cell, index) in enumerate(zip(cells_of(pixels), row["image_indices"])):
                assert cell == [spec_gray(v) for v in images[index].reshape(-1)]
                assert row["digits"][i] == labels[index]
            # the digits read back from the decoded pixels alone, then the pointer rule
            read = [digit_by_pixels()[bytes(cell)] for cell in cells_of(pixels)]
            assert all(len(r) == 1 for r in read)
            digits = [min(r) for r in read]
            assert digits == row["digits"]
            cell = SPEC_CELL[digits[0]]
            y = digits[cell]
            assert row["label"] == y and row["answer"] == str(y) and row["pointed_cell"] == cell
            assert row["completion"] == f" {y} ." and VISUAL.parse_answer(fmt, row["completion"]) == str(y)
            tokens = row["prompt"].split()
            assert tokens[-1] == "="
            if fmt == "labels":
                assert [int(t) for t in tokens[:-1]] == digits
            else:  # 256 ink levels, row by row over the 16x16 grid
                ink = [int(t) for t in tokens[:-1]]
                assert len(ink) == 256 and [spec_gray(v) for v in ink] == [p for line in pixels for p in line]
                assert all(0 <= v <= 16 for v in ink)
            assert row["length"] == 4
            held = [digits[c] in SPEC_HELD_OUT[c] for c in (1, 2, 3)]
            if split == "ood":
                assert row["group"] == "heldout" and digits[cell] in SPEC_HELD_OUT[cell]
                assert not any(h for c, h in zip((1, 2, 3), held) if c != cell)
            else:
                assert row["group"] == "seen"
                assert not (holdout and any(held))


def test_visual_image_pools_are_disjoint():
    images, labels = sklearn_digits()
    # every fifth image of each digit (dataset order) is an evaluation image, recomputed here
    rank, seen_of = {}, Counter()
    for index, label in enumerate(labels):
        rank[index] = seen_of[label]
        seen_of[label] += 1
    evaluation = {i for i, r in rank.items() if r % 5 == 4}
    for config in VISUAL.config_names():
        _, rows = visual_rows(config)
        train = {i for r in rows["train"] for i in r["image_indices"]}
        other = {i for s, split_rows in rows.items() if s != "train" for r in split_rows for i in r["image_indices"]}
        assert train and other and not train & evaluation and other <= evaluation
        grids = {s: {tuple(r["image_indices"]) for r in split_rows} for s, split_rows in rows.items()}
        for a, b in itertools.combinations(grids, 2):
            assert not grids[a] & grids[b], (config, a, b)


def test_visual_holdout_at_default_scale_covers_every_held_out_combination():
    _, rows = visual_rows("block_holdout-labels", "default")
    ood = {(r["pointed_cell"], r["digits"][r["pointed_cell"]]) for r in rows["ood"]}
    assert ood == {(c, v) for c, values in SPEC_HELD_OUT.items() for v in values}
    shown = {(c, r["digits"][c]) for s in ("train", "validation", "test") for r in rows[s] for c in (1, 2, 3)}
    assert not shown & ood
    # every digit is still an answer in training (held-out digits come from the other cells)
    assert {r["label"] for r in rows["train"]} == set(range(10))
    _, rows = visual_rows("block-labels", "default")
    assert {(c, r["digits"][c]) for r in rows["train"] for c in (1, 2, 3)} == {(c, v) for c in (1, 2, 3) for v in range(10)}


def test_visual_formats_share_instances_and_png_is_fixed():
    _, labels_rows = visual_rows("block-labels")
    _, pixel_rows = visual_rows("block-pixels")
    for split in labels_rows:
        assert [r["image"] for r in labels_rows[split]] == [r["image"] for r in pixel_rows[split]]
    png = labels_rows["train"][0]["image"]["bytes"]
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and labels_rows["train"][0]["image"]["path"] is None


def test_visual_every_config_round_trips_through_the_hub_folder(tmp_path):
    import datasets
    import pyarrow.parquet as pq
    from PIL import Image

    from hf_reasoning.hub import write_repos

    datasets.disable_progress_bars()
    write_repos(["pvr_visual"], tmp_path / "a", scale="tiny")
    write_repos(["pvr_visual"], tmp_path / "b", scale="tiny")
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert files and all((tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files)
    for config in VISUAL.config_names():
        ds = datasets.load_dataset(str(tmp_path / "a" / "pvr_visual"), config)
        build, rows = visual_rows(config)
        assert set(ds) == set(rows)
        for split, d in ds.items():
            assert isinstance(d.features["image"], datasets.Image)
            assert d.features["label"] == datasets.ClassLabel(names=[str(v) for v in range(10)])
            assert d.features["digits"] == datasets.List(datasets.Value("int8"))
            assert d.features["image_indices"] == datasets.List(datasets.Value("int32"))
            assert d.features["pointed_cell"] == datasets.Value("int8")
            # the Parquet schema is exactly the features' Arrow schema
            name = next((tmp_path / "a" / "pvr_visual" / config).glob(f"{split}-*.parquet"))
            assert pq.read_schema(name).remove_metadata().equals(d.features.arrow_schema)
            first = d[0]
            assert isinstance(first["image"], Image.Image)
            assert [list(first["image"].tobytes())[16 * r: 16 * r + 16] for r in range(16)] == decode(rows[split][0]["image"]["bytes"])
            assert first["label"] == rows[split][0]["label"] and d.num_rows == len(rows[split])


def test_visual_bad_config_is_one_line():
    from hf_reasoning.tasks.pvr import VisualPVRConfig

    with pytest.raises(HFReasoningError) as err:
        VISUAL.validate(VisualPVRConfig(holdout="yes"), "labels")
    assert "\n" not in str(err.value)
    with pytest.raises(HFReasoningError):
        VISUAL.parse_config("block-plain")
