"""cycles and implications, checked independently of the generator (docs/formats.md).

Every row of every config of the tiny repos: the prompt is parsed back into the edge list and
query and compared with the structured columns; the graph structure (cycle decomposition, or
reachability by an independent breadth-first search) is recomputed from the edge list and
gives the label, the distance and the cycle sizes; the walk / BFS scratchpads and inductive
states are re-derived from the question (and the previous state) and compared token by token.
"""

from __future__ import annotations

import re
from collections import Counter, deque

import pytest

from hf_reasoning.tasks import get_task

CYCLE_NS = range(2, 11)
OOD_TRAIN = (6, 18, 6)  # two cycles (6, 18) vs one of 24, query distance 6
OOD_TEST = (12, 12, 12)
# abbe2024's valid_OOD_2 (train.py, mode "ER"): the cycle family fixes the label. Group name →
# (cycle sizes, label, query distance along the first cycle; -1: to another cycle)
IMPLICATION_OOD = {"cycles_2_2_10_10": ((2, 2, 10, 10), 0, -1), "cycles_4_10_10_d2": ((4, 10, 10), 1, 2)}


def fmt_of(config: str) -> str:
    return config.rpartition("-")[2]


def name(v: int) -> str:
    assert 0 <= v <= 999
    return f"v{v:03d}"


def parse_prompt(prompt: str):
    """``u > v ; … src ? dst ;`` → (edges as name pairs, src, dst)."""
    tokens = prompt.split(" ")
    assert len(tokens) % 4 == 0, prompt
    quads = [tokens[i: i + 4] for i in range(0, len(tokens), 4)]
    edges = []
    for u, arrow, v, semi in quads[:-1]:
        assert arrow == ">" and semi == ";", (u, arrow, v, semi)
        edges.append((u, v))
    src, q, dst, semi = quads[-1]
    assert q == "?" and semi == ";"
    for t in [x for e in edges for x in e] + [src, dst]:
        assert re.fullmatch(r"v\d{3}", t), t
    return edges, src, dst


def check_prompt_matches_columns(row: dict):
    assert row["prompt"] == " ".join(row["prompt"].split())
    edges, src, dst = parse_prompt(row["prompt"])
    assert edges == [(name(u), name(v)) for u, v in row["edges"]]
    assert src == name(row["src"]) and dst == name(row["dst"])
    return edges, src, dst


def completion_parts(completion: str, fmt: str):
    """→ (list of state/step token lists, label token); ``None`` parts for plain."""
    # one space then the tokens (generator >= 0.6.0: prompt + completion is the training text)
    assert completion[:1] == " ", repr(completion)
    tokens = completion[1:].split(" ")
    assert tokens[-1] == "."
    if fmt == "plain":
        assert len(tokens) == 2
        return None, tokens[0]
    assert tokens[-3] == ";", completion
    body = tokens[:-3]
    if fmt == "inductive":
        assert body[0] == ":"
        body, sep = body[1:], "#"
    else:
        assert ":" not in body and "#" not in body
        sep = ">"
    parts, cur = [], []
    for t in body:
        if t == sep:
            parts.append(cur)
            cur = []
        else:
            cur.append(t)
    parts.append(cur)
    assert all(parts), completion
    return parts, tokens[-2]


# -- cycles ---------------------------------------------------------------------------------------

def cycle_structure(edges):
    """Successor map and the cycle (list of vertices in order) through each vertex."""
    succ = {}
    indeg = Counter(v for _, v in edges)
    for u, v in edges:
        assert u not in succ, f"{u} has two out-edges"
        succ[u] = v
    assert set(succ) == set(indeg) and all(c == 1 for c in indeg.values()), "not a union of cycles"
    cycle_of = {}
    for start in succ:
        if start in cycle_of:
            continue
        cyc, v = [start], succ[start]
        while v != start:
            cyc.append(v)
            v = succ[v]
        for x in cyc:
            cycle_of[x] = cyc
    return succ, cycle_of


def expected_walk(succ, src, dst):
    """Follow edges from src until reaching dst or coming back to src."""
    walk, v = [src], succ[src]
    while True:
        walk.append(v)
        if v in (dst, src):
            return walk
        v = succ[v]


def cycles_shape(config: str, split: str):
    """(first, second, distance) that docs/formats.md states for a config's split."""
    preset = config.rpartition("-")[0]
    if preset == "ood":
        return OOD_TEST if split == "ood" else OOD_TRAIN
    n = int(preset[1:])
    return (n, n, n)


def check_cycles_row(row: dict, config: str, split: str) -> str:
    fmt = fmt_of(config)
    first, second, distance = cycles_shape(config, split)
    edges, src, dst = check_prompt_matches_columns(row)
    vertices = {x for e in edges for x in e}
    assert len(edges) == len(vertices) == first + second  # distinct names, every vertex on a cycle
    succ, cycle_of = cycle_structure(edges)
    sizes = sorted({id(c): len(c) for c in cycle_of.values()}.values())
    label = 1 if len(sizes) == 1 else 0
    assert str(label) == row["answer"] and row["label"] == label
    assert src in vertices and dst in vertices and src != dst
    if label == 1:
        assert sizes == [first + second]
        cyc = cycle_of[src]
        along = (cyc.index(dst) - cyc.index(src)) % len(cyc)
        assert along == distance == row["distance"]
        assert list(row["cycle_sizes"]) == [first + second]
    else:
        assert sorted(sizes) == sorted([first, second])
        assert len(cycle_of[src]) == first  # src on the first cycle
        assert cycle_of[src] is not cycle_of[dst]  # dst on the other one
        assert row["distance"] == -1
        assert list(row["cycle_sizes"]) == [len(cycle_of[src]), len(cycle_of[dst])]
    assert row["length"] == distance
    steps, y = completion_parts(row["completion"], fmt)
    assert y == str(label)
    if steps is not None:
        walk = [s[0] for s in steps]
        assert all(len(s) == 1 for s in steps)
        assert walk == expected_walk(succ, src, dst)
        assert walk[-1] == (dst if label == 1 else src)
        assert all((u, v) in set(edges) for u, v in zip(walk, walk[1:]))  # the walk follows edges
        assert len(walk) - 1 == (distance if label == 1 else first)
    return str(label)


# -- implications ---------------------------------------------------------------------------------

def bfs_layers(edges, src):
    """Breadth-first layers from src (layer 0 = [src]), each sorted by name."""
    out = {}
    for u, v in edges:
        out.setdefault(u, []).append(v)
    dist = {src: 0}
    queue = deque([src])
    while queue:
        u = queue.popleft()
        for v in out.get(u, []):
            if v not in dist:
                dist[v] = dist[u] + 1
                queue.append(v)
    layers = [sorted(v for v, d in dist.items() if d == k) for k in range(max(dist.values()) + 1)]
    return layers, dist


def expected_bfs_states(edges, src, dst, fmt):
    layers, dist = bfs_layers(edges, src)
    last = dist[dst] if dst in dist else len(layers) - 1
    layers = layers[: last + 1]
    if fmt == "scratchpad":
        return layers
    states, acc = [], []
    for layer in layers:
        acc = sorted(acc + layer)
        states.append(acc)
    return states


def check_implications_row(row: dict, config: str, split: str) -> str:
    fmt = fmt_of(config)
    edges, src, dst = check_prompt_matches_columns(row)
    assert len(edges) == 24 and len(set(edges)) == 24  # G(n, m): m = 24 distinct edges
    assert all(u != v for u, v in edges)  # no self-loops
    vertices = {x for e in edges for x in e} | {src, dst}
    assert len(vertices) <= 24 and src != dst
    assert row["length"] == 24
    layers, dist = bfs_layers(edges, src)
    label = 1 if dst in dist else 0
    assert row["answer"] == str(label) and row["label"] == label
    if label:
        assert row["distance"] == dist[dst] and 1 <= dist[dst] <= 4
    else:
        assert row["distance"] == -1
    if split == "ood":
        assert row["group"] in IMPLICATION_OOD, row["group"]
        sizes, family_label, family_distance = IMPLICATION_OOD[row["group"]]
        assert len(vertices) == sum(sizes) == 24
        succ, cycle_of = cycle_structure(edges)
        assert sorted({id(c): len(c) for c in cycle_of.values()}.values()) == sorted(sizes)
        # the family fixes the label (recomputed above by BFS from the edge list), and the query
        # is the source's: from a vertex of the first (shortest) cycle ...
        assert label == family_label
        assert len(cycle_of[src]) == sizes[0]
        if family_label == 1:  # ... to the vertex `distance` steps along it
            assert dist[dst] == family_distance
            v = src
            for _ in range(family_distance):
                v = succ[v]
            assert v == dst
        else:  # ... to a vertex of another cycle of the same size
            assert cycle_of[dst] is not cycle_of[src] and len(cycle_of[dst]) == sizes[1]
    steps, y = completion_parts(row["completion"], fmt)
    assert y == str(label)
    if steps is not None:
        assert steps == expected_bfs_states(edges, src, dst, fmt)
        if fmt == "inductive":
            # each state is a function of the question and the previous state only: one BFS step
            succ = {}
            for u, v in edges:
                succ.setdefault(u, set()).add(v)
            assert steps[0] == [src]
            for prev, cur in zip(steps, steps[1:]):
                assert dst not in prev
                grown = set(prev) | {v for u in prev for v in succ.get(u, ())}
                assert cur == sorted(grown) and len(cur) > len(prev)
            final = set(steps[-1])
            assert (dst in final) == bool(label)
            if not label:  # stopped because the set no longer grows
                assert {v for u in final for v in succ.get(u, ())} <= final
    return str(label)


# -- the reference rejects corrupted rows ----------------------------------------------------------

def test_references_reject_corrupted_rows(read_split):
    row = next(r for r in read_split("cycles", "n5-scratchpad", "train") if r["label"] == 1)
    check_cycles_row(row, "n5-scratchpad", "train")
    tokens = row["completion"].split()
    tokens[2], tokens[4] = tokens[4], tokens[2]  # swap two walk vertices
    with pytest.raises(AssertionError):
        check_cycles_row({**row, "completion": " " + " ".join(tokens)}, "n5-scratchpad", "train")
    with pytest.raises(AssertionError):
        check_cycles_row({**row, "answer": "0", "label": 0}, "n5-scratchpad", "train")
    row = next(r for r in read_split("implications", "abbe2024-inductive", "train")
               if r["label"] == 1 and r["distance"] >= 2)
    check_implications_row(row, "abbe2024-inductive", "train")
    tokens = row["completion"].split()
    cut = tokens.index("#")
    with pytest.raises(AssertionError):  # drop the first state
        check_implications_row({**row, "completion": " " + " ".join([":"] + tokens[cut + 1:])}, "abbe2024-inductive", "train")
    with pytest.raises(AssertionError):
        check_implications_row({**row, "distance": row["distance"] + 1}, "abbe2024-inductive", "train")


def test_bfs_reference_on_a_small_graph():
    edges = [("v001", "v002"), ("v002", "v003"), ("v001", "v004"), ("v004", "v003"), ("v003", "v005"), ("v006", "v001")]
    assert bfs_layers(edges, "v001")[0] == [["v001"], ["v002", "v004"], ["v003"], ["v005"]]
    assert expected_bfs_states(edges, "v001", "v003", "inductive") == [
        ["v001"], ["v001", "v002", "v004"], ["v001", "v002", "v003", "v004"]]
    assert expected_bfs_states(edges, "v002", "v006", "scratchpad") == [["v002"], ["v003"], ["v005"]]


# -- cycles configs ----------------------------------------------------------------------------------

def test_cycles_spec_configs_present(repo_configs, config_splits):
    configs = set(repo_configs("cycles"))
    formats = ("plain", "scratchpad", "inductive")
    required = {f"n{n}-{f}" for n in CYCLE_NS for f in formats} | {f"ood-{f}" for f in formats}
    assert required <= configs, required - configs
    for n in CYCLE_NS:
        assert "ood" not in config_splits("cycles", f"n{n}-plain")
    assert "ood" in config_splits("cycles", "ood-plain")


def test_cycles_every_row(repo_configs, config_splits, read_split):
    checked = 0
    for config in repo_configs("cycles"):
        for split in config_splits("cycles", config):
            rows = read_split("cycles", config, split)
            assert rows
            for row in rows:
                check_cycles_row(row, config, split)
                checked += 1
    assert checked > 10000


def test_cycles_labels_balanced_and_edges_shuffled(repo_configs, read_split):
    labels, starts_at_src, rows_seen = [], 0, 0
    for config in repo_configs("cycles"):
        if fmt_of(config) != "plain":
            continue
        rows = read_split("cycles", config, "train")
        labels += [r["label"] for r in rows]
        for r in rows:
            rows_seen += 1
            starts_at_src += r["edges"][0][0] == r["src"]
    assert abs(sum(labels) / len(labels) - 0.5) < 0.05, sum(labels) / len(labels)
    # with shuffled edges, the first edge leaves src in about 1 / (2n) of the rows
    assert starts_at_src / rows_seen < 0.3
    ood = read_split("cycles", "ood-plain", "ood")
    assert 0.3 < sum(r["label"] for r in ood) / len(ood) < 0.7


def test_cycles_parse_answer(repo_configs, read_split):
    task = get_task("cycles")
    for config in repo_configs("cycles"):
        for row in read_split("cycles", config, "train"):
            assert task.parse_answer(fmt_of(config), row["completion"]) == str(row["label"])


# -- implications configs ------------------------------------------------------------------------------

def test_implications_spec_configs_present(repo_configs, config_splits):
    assert {f"abbe2024-{f}" for f in ("plain", "scratchpad", "inductive")} <= set(repo_configs("implications"))
    for config in repo_configs("implications"):
        assert config_splits("implications", config) == ["train", "validation", "test", "ood"]


def test_implications_every_row(repo_configs, config_splits, read_split):
    checked = 0
    for config in repo_configs("implications"):
        for split in config_splits("implications", config):
            rows = read_split("implications", config, split)
            assert rows
            for row in rows:
                check_implications_row(row, config, split)
                checked += 1
    assert checked > 1000


def test_implications_balance_and_distances(read_split):
    rows = read_split("implications", "abbe2024-plain", "train")
    share = sum(r["label"] for r in rows) / len(rows)
    assert 0.4 < share < 0.6, share  # 256 rows: sd 0.031
    distances = Counter(r["distance"] for r in rows if r["label"] == 1)
    assert set(distances) == {1, 2, 3, 4}
    ood = read_split("implications", "abbe2024-plain", "ood")
    assert {r["group"] for r in ood} == set(IMPLICATION_OOD)
    for group, (_, family_label, family_distance) in IMPLICATION_OOD.items():
        rows_of_group = [r for r in ood if r["group"] == group]
        assert {(r["label"], r["distance"]) for r in rows_of_group} == {(family_label, family_distance)}
    assert sum(r["label"] for r in ood) * 2 == len(ood)  # one family per label, as many rows each
    for split in ("train", "validation", "test"):
        assert {r["group"] for r in read_split("implications", "abbe2024-plain", split)} == {"random_graph"}


def test_implications_balance_and_distances_large_sample():
    """10,000 training rows (scale `default`): half the queries connected, distances 1..4 uniform."""
    from hf_reasoning.splits import build_config

    train = build_config("implications", "abbe2024-plain", "default", 0).tables["train"].to_pydict()
    labels, distances = train["label"], train["distance"]
    share = sum(labels) / len(labels)
    assert abs(share - 0.5) < 0.03, f"share of connected queries {share:.3f} (sd 0.005 if 50/50)"
    connected = Counter(d for d, y in zip(distances, labels) if y == 1)
    shares = {d: round(c / sum(connected.values()), 3) for d, c in sorted(connected.items())}
    assert set(shares) == {1, 2, 3, 4} and all(abs(v - 0.25) < 0.03 for v in shares.values()), shares


def test_implications_parse_answer(repo_configs, read_split):
    task = get_task("implications")
    for config in repo_configs("implications"):
        for row in read_split("implications", config, "train") + read_split("implications", config, "ood"):
            assert task.parse_answer(fmt_of(config), row["completion"]) == str(row["label"])


@pytest.mark.parametrize("task_name", ["cycles", "implications"])
@pytest.mark.parametrize("fmt,completion", [
    ("plain", ""),
    ("plain", "1"),
    ("plain", "2 ."),
    ("plain", "0 1 ."),
    ("plain", "v001 ; 1 ."),
    ("scratchpad", "v001 > v002 1 ."),      # no `;` before the label
    ("scratchpad", "v001 > v002 ; 1"),      # no end token
    ("scratchpad", "v001 > v002 ; 3 ."),
    ("inductive", ": v001 # v002 ; ."),
    ("inductive", ": v001 # v002 1 ."),
])
def test_graph_parse_answer_rejects_malformed(task_name, fmt, completion):
    assert get_task(task_name).parse_answer(fmt, completion) is None


@pytest.mark.parametrize("task_name", ["cycles", "implications"])
@pytest.mark.parametrize("fmt,completion,answer", [
    ("plain", "1 .", "1"),
    ("scratchpad", "v001 > v002 > v001 ; 0 .", "0"),
    ("inductive", ": v001 # v002 ; 1 .", "1"),
])
def test_graph_parse_answer_well_formed(task_name, fmt, completion, answer):
    assert get_task(task_name).parse_answer(fmt, completion) == answer
