"""Splits: determinism, disjointness, length / OOD groups, and the fresh training stream.

The instances are identified here by their structured columns, hashed by this file (Python
tuples), never with the library's own key or hash:

* parity: the bits (and, in the random-space format, the slot positions);
* addition: the operands (and, in the random-space format, the slot positions). The random
  filler letters of the inductive / shift formats are *not* part of the instance: they are
  noise a model cannot predict and that never changes the answer (docs/formats.md), so two rows
  with the same operands and other fillers pose the same question;
* cycles / implications: the edge set and the query.

Groups the dataset card lists as overlapping are exempt from disjointness, but the listing
itself is checked against the rule of docs/formats.md (instance space under 100 × the rows drawn).
"""

from __future__ import annotations

import filecmp
import itertools
import math
import re
from collections import Counter, defaultdict

import pytest

TASKS = ("parity", "addition", "cycles", "implications")
EVAL_SPLITS = ("validation", "test", "ood")
OVERLAP_FACTOR = 100


def fmt_of(config: str) -> str:
    return config.rpartition("-")[2]


def preset_of(config: str) -> str:
    return config.rpartition("-")[0]


def instance_key(task: str, config: str, row: dict):
    fmt = fmt_of(config)
    if task == "parity":
        return (tuple(row["bits"]), tuple(row["positions"]) if fmt == "inductive" else ())
    if task == "addition":
        if fmt == "inductive":
            return (row["a"], row["b"], tuple(row["positions_a"]), tuple(row["positions_b"]))
        return (row["a"], row["b"])
    return (frozenset(map(tuple, row["edges"])), row["src"], row["dst"])


def space_size(task: str, config: str, row: dict) -> float:
    """The number of distinct instances of a row's group (the instance space of docs/formats.md)."""
    fmt = fmt_of(config)
    if task == "parity":
        n = row["length"]
        size = 2 ** len(row["bits"])
        if fmt == "inductive":
            size *= math.comb(len(row["prompt"].split()) - 1, n)
        return size
    if task == "addition":
        s = row["length"]
        size = (9 * 10 ** (s - 1)) ** 2
        if fmt == "inductive":
            L = (row["prompt"].split().index("=") - 1) // 2
            size *= math.comb(L, s) ** 2
        return size
    return math.inf  # graphs: at least (1000 choose 4) names


def card_text(hub_dir, task: str) -> str:
    return (hub_dir / task / "README.md").read_text()


def card_overlaps(hub_dir, task: str) -> dict[str, tuple[set[str], int]]:
    """The card's "Disjoint splits" section: config -> (overlapping groups, shared training rows)."""
    text = card_text(hub_dir, task)
    section = text.split("## Disjoint splits", 1)[1].split("\n## ", 1)[0]
    out = {}
    for m in re.finditer(r"^- `([^`]+)`: groups (.+?) may overlap; (\d+) training rows", section, re.M):
        out[m.group(1)] = ({g.strip() for g in m.group(2).split(",")}, int(m.group(3)))
    listed = [line for line in section.splitlines() if line.startswith("- ")]
    assert len(out) == len(listed) or listed == ["- none in this repo."], listed
    return out


def all_configs(repo_configs):
    return [(task, config) for task in TASKS for config in repo_configs(task)]


# -- determinism ------------------------------------------------------------------------------------

def tree(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_same_seed_is_byte_identical(hub_dir, hub_builder, tmp_path):
    again = hub_builder(tmp_path / "hub")
    assert tree(again) == tree(hub_dir)
    files = [p for p in tree(hub_dir) if (hub_dir / p).is_file()]
    assert any(f.endswith(".parquet") for f in files) and any(f.endswith("README.md") for f in files)
    for rel in files:
        assert (hub_dir / rel).read_bytes() == (again / rel).read_bytes(), rel


def test_different_seed_differs(hub_dir, hub_builder, repo_configs, tmp_path):
    other = hub_builder(tmp_path / "hub", seed=1)
    assert tree(other) == tree(hub_dir)
    for task, config in all_configs(repo_configs):
        a = hub_dir / task / config / "train-00000-of-00001.parquet"
        b = other / task / config / "train-00000-of-00001.parquet"
        assert not filecmp.cmp(a, b, shallow=False), (task, config)
    for task in TASKS:
        assert card_text(hub_dir, task) != (other / task / "README.md").read_text()


def test_build_config_is_deterministic():
    from hf_reasoning.splits import build_config

    one = build_config("cycles", "n3-scratchpad", "tiny", 5)
    two = build_config("cycles", "n3-scratchpad", "tiny", 5)
    three = build_config("cycles", "n3-scratchpad", "tiny", 6)
    assert set(one.tables) == set(two.tables)
    for split in one.tables:
        assert one.tables[split].equals(two.tables[split])
        assert not one.tables[split].equals(three.tables[split])


# -- disjoint splits ----------------------------------------------------------------------------------

def shared_instances(task: str, config: str, rows_by_split: dict[str, list[dict]], exempt: set[str]) -> Counter:
    """(group, splits) -> instances held by more than one split, outside the exempt groups."""
    where = defaultdict(set)
    for split, rows in rows_by_split.items():
        for row in rows:
            if row["group"] not in exempt:
                where[(row["group"], instance_key(task, config, row))].add(split)
    return Counter((g, tuple(sorted(s))) for (g, _), s in where.items() if len(s) > 1)


@pytest.mark.parametrize("task", TASKS)
def test_splits_share_no_instance(hub_dir, repo_configs, config_splits, read_split, task):
    """No instance in two splits of a config, outside the groups the card lists as overlapping."""
    problems = []
    overlaps = card_overlaps(hub_dir, task)
    for config in repo_configs(task):
        exempt = overlaps.get(config, (set(), 0))[0]
        rows = {split: read_split(task, config, split) for split in config_splits(task, config)}
        shared = shared_instances(task, config, rows, exempt)
        if shared:
            problems.append(f"{config}: {dict(shared)} (card exempts {sorted(exempt) or 'nothing'})")
    assert not problems, f"{task}: instances shared between splits, (group, splits): count: " + "; ".join(problems)


def test_shared_instances_detects_a_planted_copy(read_split):
    rows = {s: read_split("cycles", "n4-plain", s) for s in ("train", "validation", "test")}
    assert not shared_instances("cycles", "n4-plain", rows, set())
    planted = dict(rows, train=rows["train"] + [rows["test"][3]])
    group = rows["test"][3]["group"]
    assert shared_instances("cycles", "n4-plain", planted, set()) == Counter({(group, ("test", "train")): 1})
    assert not shared_instances("cycles", "n4-plain", planted, {group})
    shift = {s: read_split("addition", "abbe2024_shift-shift", s) for s in ("train", "test")}
    copy = dict(shift["test"][0], fillers="zzzzzzzzzzzzzzzzz"[: len(shift["test"][0]["fillers"])])
    assert shared_instances("addition", "abbe2024_shift-shift", {"train": [copy], "test": [shift["test"][0]]}, set())


def test_overlap_groups_are_small_spaces(hub_dir, repo_configs, config_splits, read_split):
    """A group may be listed as overlapping only if its space is under 100 × the rows drawn."""
    for task in TASKS:
        overlaps = card_overlaps(hub_dir, task)
        assert set(overlaps) <= set(repo_configs(task))
        for config, (groups, _) in overlaps.items():
            rows = [r for s in config_splits(task, config) for r in read_split(task, config, s)]
            for group in groups:
                members = [r for r in rows if r["group"] == group]
                assert members, (task, config, group)
                assert space_size(task, config, members[0]) < OVERLAP_FACTOR * len(members), (task, config, group)


def test_overlap_rows_reported_in_card(hub_dir, repo_configs, config_splits, read_split):
    """The card's count of training rows also in an evaluation split is right."""
    for task in TASKS:
        for config, (groups, shared) in card_overlaps(hub_dir, task).items():
            evaluation = {(r["group"], instance_key(task, config, r))
                          for s in EVAL_SPLITS for r in read_split(task, config, s)}
            count = sum((r["group"], instance_key(task, config, r)) in evaluation
                        for r in read_split(task, config, "train") if r["group"] in groups)
            assert count == shared, (task, config, count, shared)


def test_card_overlaps_match_build(hub_dir):
    from hf_reasoning.splits import build_config

    build = build_config("parity", "abbe2024-plain", "tiny", 0)
    # at tiny scale the short parities are far below 100 × their rows, 30 bits far above
    assert "1" in build.overlap_groups and "30" not in build.overlap_groups
    assert card_overlaps(hub_dir, "parity")["abbe2024-plain"][0] == set(build.overlap_groups)


# -- lengths and OOD groups -----------------------------------------------------------------------------

# (training lengths, OOD lengths) of every preset, from docs/formats.md (laptop: issue 7's preset)
SPEC_LENGTHS = {
    ("parity", "abbe2024"): (set(range(1, 31)), {31, 35, 40, 45, 50, 55, 60}),
    ("parity", "laptop"): (set(range(1, 11)), {11, 12, 13, 14, 16, 18, 20}),
    ("parity", "laptop24"): (set(range(1, 9)), {9, 10, 11, 12, 13, 14, 16}),
    ("parity", "laptop16"): (set(range(1, 7)), {7, 8, 9, 10, 11, 12}),
    **{("parity", f"half_n{n}"): ({n}, set()) for n in (40, 80, 120, 160, 200)},
    ("addition", "abbe2024"): (set(range(1, 11)), set(range(12, 31, 2))),
    ("addition", "abbe2024_shift"): (set(range(1, 5)), set(range(12, 31, 2))),
    ("addition", "zhou2023"): (set(range(1, 41)), None),  # "40 → 100": checked below
    ("addition", "t2t"): (set(range(1, 41)), {400}),
    ("addition", "cpu_shift"): (set(range(1, 5)), {5, 6, 7, 8, 10, 12}),
    ("addition", "cpu_space"): (set(range(1, 5)), {5, 6, 7, 8, 10, 12}),
    ("addition", "cpu_hints"): (set(range(1, 11)), {11, 12, 13, 15, 17, 20, 25}),
    **{("cycles", f"n{n}"): ({n}, set()) for n in range(2, 11)},
    ("cycles", "ood"): ({6}, {12}),
    ("implications", "abbe2024"): ({24}, {24}),
}


def test_every_preset_has_spec_lengths(repo_configs):
    presets = {(task, preset_of(c)) for task in TASKS for c in repo_configs(task)}
    assert presets <= set(SPEC_LENGTHS), presets - set(SPEC_LENGTHS)
    assert set(SPEC_LENGTHS) <= presets, set(SPEC_LENGTHS) - presets


def test_splits_hold_only_their_lengths(repo_configs, config_splits, read_split):
    for task, config in all_configs(repo_configs):
        train_lengths, ood_lengths = SPEC_LENGTHS[(task, preset_of(config))]
        splits = config_splits(task, config)
        assert splits[:3] == ["train", "validation", "test"], (task, config, splits)
        for split in ("train", "validation", "test"):
            rows = read_split(task, config, split)
            assert rows and {r["length"] for r in rows} <= train_lengths, (task, config, split)
        if ood_lengths == set():
            assert "ood" not in splits, (task, config)
            continue
        ood = read_split(task, config, "ood")
        lengths = {r["length"] for r in ood}
        if ood_lengths is None:  # zhou2023: train up to 40, test up to 100 digits
            assert lengths <= set(range(41, 101)) and 100 in lengths, (task, config, lengths)
        else:
            assert lengths == ood_lengths, (task, config, lengths)
        per_group = Counter(r["group"] for r in ood)
        assert len(set(per_group.values())) == 1, (task, config, per_group)  # same rows per OOD group
        id_groups = {r["group"] for s in ("train", "validation", "test") for r in read_split(task, config, s)}
        if task in ("parity", "addition") or (task, preset_of(config)) == ("cycles", "ood"):
            assert not id_groups & set(per_group), (task, config)  # OOD groups are not training groups


def test_group_tags(repo_configs, config_splits, read_split):
    for task, config in all_configs(repo_configs):
        for split in config_splits(task, config):
            rows = read_split(task, config, split)
            if task in ("parity", "addition"):
                assert all(r["group"] == str(r["length"]) for r in rows), (task, config, split)
            else:  # one group name per (length, shift), never empty
                assert all(r["group"] for r in rows)
                by_group = defaultdict(set)
                for r in rows:
                    by_group[r["group"]].add(r["length"])
                assert all(len(v) == 1 for v in by_group.values()), (task, config, split)
    implications_ood = {r["group"] for r in read_split("implications", "abbe2024-plain", "ood")}
    assert implications_ood == {"cycles_2_2_10_10", "cycles_4_10_10_d2"}


# -- the fresh training stream --------------------------------------------------------------------------

def take(stream, n):
    return list(itertools.islice(iter(stream), n))


def test_stream_shipped_config(hub_dir, read_split):
    """parity abbe2024-plain: valid rows, in distribution, never an evaluation instance."""
    from hf_reasoning import stream_train

    task, config = "parity", "abbe2024-plain"
    rows = take(stream_train(task, config, scale="tiny", seed=0, chunk_size=512), 3000)
    assert len(rows) == 3000
    exempt = card_overlaps(hub_dir, task).get(config, (set(), 0))[0]
    evaluation = {instance_key(task, config, r) for s in EVAL_SPLITS for r in read_split(task, config, s)}
    for r in rows:
        assert {"prompt", "completion", "answer", "length", "group"} <= set(r)
        bits = list(r["bits"])
        assert len(bits) == r["length"] and 1 <= r["length"] <= 30 and r["group"] == str(r["length"])
        answer = str(sum(bits) % 2)
        assert r["answer"] == answer
        assert r["prompt"] == " ".join(map(str, bits)) + " =" and r["completion"] == f" {answer} ."
        if r["group"] not in exempt:
            assert instance_key(task, config, r) not in evaluation, r
    # fresh: not a replay of the training split, and chunks differ
    train = {instance_key(task, config, r) for r in read_split(task, config, "train")}
    long_rows = [r for r in rows if r["length"] >= 16]
    assert sum(instance_key(task, config, r) in train for r in long_rows) < 0.05 * len(long_rows)
    assert [r["bits"] for r in rows[:512]] != [r["bits"] for r in rows[512:1024]]


def test_stream_never_yields_evaluation_instances(monkeypatch):
    """A config whose space is small but not exempt (16 bits: 65,536 instances ≥ 100 × 384
    rows): without the filter, ~16 of 8,192 streamed rows would be evaluation instances."""
    from hf_reasoning import stream_train
    from hf_reasoning.splits import build_config
    from hf_reasoning.tasks import get_task
    from hf_reasoning.tasks.parity import ParityConfig

    task = get_task("parity")
    monkeypatch.setitem(task.presets, "probe16", ParityConfig(train_lengths=(16,), ood_lengths=(), formats=("plain",)))
    build = build_config("parity", "probe16-plain", "tiny", 0)
    drawn = sum(t.num_rows for t in build.tables.values())
    assert 2 ** 16 >= OVERLAP_FACTOR * drawn  # not exempt by the overlap rule
    evaluation = {tuple(r["bits"]) for s in ("validation", "test") for r in build.tables[s].to_pylist()}
    n = 8192
    expected_hits = n * len(evaluation) / 2 ** 16
    assert expected_hits >= 10  # the check has power
    rows = take(stream_train("parity", "probe16-plain", scale="tiny", seed=0, chunk_size=1024), n)
    assert len(rows) == n
    hits = [r for r in rows if tuple(r["bits"]) in evaluation]
    assert not hits, f"{len(hits)} streamed rows are evaluation instances (≈{expected_hits:.0f} expected unfiltered)"
    assert all(r["answer"] == str(sum(r["bits"]) % 2) and len(r["bits"]) == 16 for r in rows)


def test_stream_never_yields_evaluation_questions_shift(hub_dir, read_split):
    """abbe2024_shift-shift: a streamed a + b is never an evaluation question (fillers aside)."""
    from hf_reasoning import stream_train

    task, config = "addition", "abbe2024_shift-shift"
    exempt = card_overlaps(hub_dir, task).get(config, (set(), 0))[0]
    evaluation = {instance_key(task, config, r) for s in EVAL_SPLITS for r in read_split(task, config, s)
                  if r["group"] not in exempt}
    rows = take(stream_train(task, config, scale="tiny", seed=0, chunk_size=1024), 4096)
    hits = Counter(r["group"] for r in rows if r["group"] not in exempt and instance_key(task, config, r) in evaluation)
    assert not hits, f"streamed rows repeating an evaluation a + b, per group: {dict(hits)}"
    for r in rows:
        assert 1 <= r["length"] <= 4
        assert r["answer"] == str(int(r["a"]) + int(r["b"])).zfill(r["length"] + 1)


# -- exhaustive evaluation splits (Task.exhaustive_split) ------------------------------------------

def test_exhaustive_split_hook(monkeypatch):
    """A task that enumerates its test split: the split is the enumeration as given (no sampling,
    no shuffle), its group becomes an overlap group, train is still sampled and its shared rows
    are counted, and the fresh stream's filter knows every enumerated instance."""
    import numpy as np

    from hf_reasoning.splits import build_config, eval_hashes
    from hf_reasoning.tasks import get_task
    from hf_reasoning.tasks.base import Instances
    from hf_reasoning.tasks.parity import ParityConfig

    task = get_task("parity")
    monkeypatch.setitem(task.presets, "probe16", ParityConfig(train_lengths=(16,), ood_lengths=(), formats=("plain",)))
    order = np.random.default_rng(7).permutation(2**16)  # any fixed order: the split must keep it
    every = [[(int(i) >> j) & 1 for j in range(16)] for i in order]
    asked = []

    def exhaustive_split(cfg, fmt, split):
        asked.append(split)
        if split != "test":
            return None
        bits = np.array(every, dtype=np.int8)
        return [(task.train_groups(cfg)[0][0], Instances({"bits": bits}, bits.astype(np.int64)))]

    monkeypatch.setattr(task, "exhaustive_split", exhaustive_split)
    build = build_config("parity", "probe16-plain", "tiny", 0)
    assert "train" not in asked and "test" in asked
    test = build.tables["test"].to_pylist()
    assert [r["bits"] for r in test] == every
    assert all(r["answer"] == str(sum(r["bits"]) % 2) for r in test[:2000])
    assert build.rows == {"train": 256, "validation": 64, "test": 2**16}
    assert build.overlap_groups == ["16"]  # without the hook it is not one (see above)
    assert build.shared_rows == 256  # every training input is in the enumerated test split
    hashes, overlap = eval_hashes(task, task.presets["probe16"], "plain", "probe16", "tiny", 0)
    assert overlap == ["16"] and len(set(hashes["16"].tolist())) >= 2**16
    # the builder's RNG streams are unchanged: validation is the same as without an exhaustive test
    monkeypatch.undo()
    monkeypatch.setitem(task.presets, "probe16", ParityConfig(train_lengths=(16,), ood_lengths=(), formats=("plain",)))
    plain = build_config("parity", "probe16-plain", "tiny", 0)
    assert plain.tables["validation"].column("bits").to_pylist() == build.tables["validation"].column("bits").to_pylist()


def test_tables_carry_their_features():
    """Every split table holds its datasets features (schema metadata key ``huggingface``), and
    they describe the table's Arrow schema exactly; the fresh stream uses the same ones."""
    import json

    import datasets

    from hf_reasoning import stream_train
    from hf_reasoning.splits import build_config

    build = build_config("pvr_visual", "block_holdout-labels", "tiny", 0)
    for table in build.tables.values():
        features = datasets.Features.from_dict(json.loads(table.schema.metadata[b"huggingface"])["info"]["features"])
        assert features.arrow_schema.equals(table.schema.remove_metadata())
        assert isinstance(features["image"], datasets.Image)
    stream = stream_train("pvr_visual", "block_holdout-labels", scale="tiny", seed=0, chunk_size=16)
    assert stream.features == features
    row = next(iter(stream))
    assert row["image"].size == (16, 16) and row["group"] == "seen"
