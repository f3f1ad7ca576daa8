"""boolean_and (zhou2023): labels, frozen bits, balance, groups, disjointness, loading."""

from __future__ import annotations

import collections
import functools
import math

import numpy as np
import pytest

from hf_reasoning.errors import HFReasoningError
from hf_reasoning.splits import SPLITS, build_config
from hf_reasoning.tasks import SCALES, Group, get_task
from hf_reasoning.tasks.boolean_and import BooleanAndConfig

TASK = get_task("boolean_and")
TINY = SCALES["tiny"]


@pytest.fixture(autouse=True)
def _offline(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))


@functools.lru_cache(maxsize=None)
def built(scale: str = "tiny", seed: int = 0):
    return build_config("boolean_and", "zhou2023-plain", scale, seed)


@functools.lru_cache(maxsize=None)
def rows_of(scale: str = "tiny") -> dict[str, list[dict]]:
    return {split: table.to_pylist() for split, table in built(scale).tables.items()}


def test_config_names():
    assert TASK.config_names() == ["zhou2023-plain"]


@pytest.mark.parametrize("scale", ["tiny", "default"])
def test_rows_follow_the_spec(scale):
    rows = rows_of(scale)
    assert [s for s in SPLITS if s in rows] == list(SPLITS)
    for split, split_rows in rows.items():
        for row in split_rows:
            bits = row["bits"]
            assert len(bits) == 20 == row["length"] and set(bits) <= {0, 1}
            label = int(all(bits))
            assert row["answer"] == str(label)
            assert row["prompt"] == " ".join(map(str, bits)) + " ="
            assert row["completion"] == f" {label} ."
            # back from the text
            tokens = row["prompt"].split()
            assert tokens[-1] == "=" and len(tokens) == 21
            assert TASK.parse_answer("plain", row["completion"]) == str(int(all(t == "1" for t in tokens[:-1])))
            first, last = bits[:15], bits[15:]
            if split != "ood":
                assert row["group"] == "seen" and all(last)  # the last 5 bits are frozen to 1
            elif row["group"] == "unseen":
                assert label == 1 or not all(last)
            else:
                assert row["group"] == "unseen_hard"
                assert all(first) and (label == 1 or not all(last))
                # so the min-degree interpolator of the training data (AND of the first 15 bits) answers 1
                # on every row here, and is wrong on the label-0 half


@pytest.mark.parametrize("scale", ["tiny", "default"])
def test_labels_are_balanced_in_every_split_and_group(scale):
    rows = rows_of(scale)
    for split, split_rows in rows.items():
        per_group = collections.defaultdict(collections.Counter)
        for row in split_rows:
            per_group[row["group"]][row["answer"]] += 1
        expected = {"seen"} if split != "ood" else {"unseen", "unseen_hard"}
        assert set(per_group) == expected
        for counts in per_group.values():
            assert abs(counts["1"] - counts["0"]) <= 1, (split, counts)
    # the OOD label-0 rows really vary the last bits (not just one pattern)
    hard = {tuple(r["bits"][15:]) for r in rows["ood"] if r["group"] == "unseen_hard" and r["answer"] == "0"}
    assert len(hard) >= (10 if scale == "tiny" else 25)


def test_label_zero_rows_are_spread_over_the_free_bits():
    seen = [r["bits"] for r in rows_of("default")["train"] if r["answer"] == "0"]
    ones_per_position = np.mean(np.array(seen)[:, :15], axis=0)
    assert np.all(np.abs(ones_per_position - 0.5) < 0.05)  # uniform over the non-all-ones patterns


def test_splits_share_no_instance_outside_overlap_groups():
    build, rows = built(), rows_of()
    # one label-1 input repeated everywhere: `seen` must be an overlap group (2^15 inputs < 100 × 384 rows)
    assert build.overlap_groups == ["seen", "unseen_hard"]
    owner: dict[tuple, str] = {}
    for split in ("ood", "test", "validation", "train"):
        for r in rows[split]:
            key = (r["group"], tuple(r["bits"]))
            if key in owner and owner[key] != split:
                assert r["group"] in build.overlap_groups
            owner.setdefault(key, split)


def test_space_log2_matches_a_census():
    cfg = BooleanAndConfig(bits=8, frozen=3)
    for name, expected in (("seen", 2**5), ("unseen", 2**5 * 7 + 1), ("unseen_hard", 2**3)):
        group = Group(name, 8, name)
        inst = TASK.sample(cfg, "plain", group, 20_000, np.random.default_rng(7), np.random.default_rng(8))
        assert len({tuple(k) for k in inst.key.tolist()}) == expected
        assert int(inst["bits"].all(axis=1).sum()) == 10_000  # exactly half are the all-ones input
        assert TASK.space_log2(cfg, "plain", group) == pytest.approx(math.log2(expected))
    full = BooleanAndConfig()
    assert TASK.space_log2(full, "plain", Group("seen", 20, "seen")) == pytest.approx(15)
    assert TASK.space_log2(full, "plain", Group("unseen_hard", 20, "unseen_hard")) == pytest.approx(5)


def test_rebuild_is_identical_and_seed_matters():
    again = build_config("boolean_and", "zhou2023-plain", "tiny", 0)
    for split, table in built().tables.items():
        assert table.equals(again.tables[split])
    other = build_config("boolean_and", "zhou2023-plain", "tiny", 1)
    assert not other.tables["train"].equals(built().tables["train"])


@pytest.mark.parametrize("cfg,needle", [
    (BooleanAndConfig(bits=20, frozen=20), "frozen=20"),
    (BooleanAndConfig(bits=20, frozen=0), "frozen=0"),
    (BooleanAndConfig(bits=80, frozen=5), "bits=80"),
])
def test_impossible_settings_fail_in_one_line(cfg, needle):
    with pytest.raises(HFReasoningError) as err:
        TASK.validate(cfg, "plain")
    assert "\n" not in str(err.value) and needle in str(err.value) and "allowed" in str(err.value)


def test_hub_folder_loads(tmp_path):
    import datasets

    from hf_reasoning.hub import write_repos

    first = write_repos(["boolean_and"], tmp_path / "one", scale="tiny")[0]
    second = write_repos(["boolean_and"], tmp_path / "two", scale="tiny")[0]
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files and all((first / f).read_bytes() == (second / f).read_bytes() for f in files)
    ds = datasets.load_dataset(str(first), "zhou2023-plain", cache_dir=str(tmp_path / "cache"))
    assert {s: ds[s].num_rows for s in ds} == built().rows
    assert set(ds["ood"]["group"]) == {"unseen", "unseen_hard"}
    assert "min-degree" in (first / "README.md").read_text()
