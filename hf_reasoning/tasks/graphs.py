"""Graph tasks of abbe2024: cycles and implications (syllogism composition).

Vertices are named ``v000`` … ``v999`` (drawn without replacement per example); an edge is
written ``u > v ;``, the edges are shuffled, then the query ``src ? dst ;``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ..errors import HFReasoningError
from ..text import Vocab, ragged_list_array, render
from . import register
from .base import Group, Instances, Scale, Task, answer_column, distinct_draws, random_permutations, split_completion

NAMES = 1000
VOCAB = Vocab(["0", "1", ">", ";", "?", ":", "#", "."] + [f"v{i:03d}" for i in range(NAMES)])
VERTEX = VOCAB.ids(f"v{i:03d}" for i in range(NAMES))
DIGIT = VOCAB.ids(["0", "1"])
T = VOCAB.id
GRAPH_FORMATS = ("plain", "scratchpad", "inductive")


def random_names(rng: np.random.Generator, rows: int, k: int) -> np.ndarray:
    """``k`` distinct vertex names per row, in uniformly random order."""
    return distinct_draws(rng, rows, k, NAMES)


def pairs_array(edges: np.ndarray) -> pa.Array:
    """(rows, E, 2) → ``list<fixed_size_list<int16, 2>>``."""
    rows, count, _ = edges.shape
    pairs = pa.FixedSizeListArray.from_arrays(pa.array(edges.reshape(-1), type=pa.int16()), 2)
    return pa.ListArray.from_arrays(pa.array(np.arange(rows + 1, dtype=np.int32) * count), pairs)


def edge_list_tokens(edges: np.ndarray, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """``u > v ;`` per edge, then ``src ? dst ;``."""
    rows, count, _ = edges.shape
    text = np.empty((rows, count + 1, 4), dtype=np.int32)
    text[:, :count, 0] = VERTEX[edges[:, :, 0]]
    text[:, :count, 1] = T[">"]
    text[:, :count, 2] = VERTEX[edges[:, :, 1]]
    text[:, count, 0] = VERTEX[src]
    text[:, count, 1] = T["?"]
    text[:, count, 2] = VERTEX[dst]
    text[:, :, 3] = T[";"]
    return text.reshape(rows, -1)


def label_completion(states: np.ndarray | None, label: np.ndarray, inductive: bool) -> np.ndarray:
    """``[:] states… y .`` — ``states`` already ends with ``;`` where it is not None."""
    rows = label.shape[0]
    parts = [np.full((rows, 1), T[":"], dtype=np.int32)] if inductive else []
    if states is not None:
        parts.append(states.reshape(rows, -1))
    parts += [DIGIT[label][:, None], np.full((rows, 1), T["."], dtype=np.int32)]
    return np.concatenate(parts, axis=1)


def parse_label(fmt: str, completion: str) -> str | None:
    tokens = split_completion(completion)
    if not tokens or tokens[-1] not in ("0", "1"):
        return None
    if fmt != "plain" and (len(tokens) < 2 or tokens[-2] != ";"):
        return None
    if fmt == "plain" and len(tokens) != 1:
        return None
    return tokens[-1]


# -- cycles ------------------------------------------------------------------------------

@dataclass(frozen=True)
class CycleShape:
    """Label 0: two cycles of sizes (first, second); label 1: one cycle of first + second
    vertices with ``dst`` at ``distance`` from ``src``. ``src`` is on the first cycle."""

    first: int
    second: int
    distance: int

    @property
    def name(self) -> str:
        return f"cycles_{self.first}_{self.second}_d{self.distance}"


@dataclass(frozen=True)
class CyclesConfig:
    train: CycleShape
    ood: CycleShape | None = None
    formats: tuple[str, ...] = GRAPH_FORMATS


CYCLES_PRESETS = {
    **{f"n{n}": CyclesConfig(CycleShape(n, n, n)) for n in range(2, 11)},
    # abbe2024 OOD: train on 6 + 18 vs 24 (distance 6), test on 12 + 12 vs 24 (distance 12)
    "ood": CyclesConfig(CycleShape(6, 18, 6), ood=CycleShape(12, 12, 12)),
}


@register
class Cycles(Task):
    name = "cycles"
    title = "Cycles: one cycle or two?"
    sources = ("abbe2024",)
    formats = GRAPH_FORMATS
    vocab = VOCAB
    presets = CYCLES_PRESETS
    # 30 configs: the sources train on fresh samples (stream_train); the files stay moderate
    paper_scale = Scale(train=200_000, validation=10_000, test=10_000, ood=1_000)
    description = (
        "Label 0: two directed cycles; label 1: one directed cycle through all the vertices; 50/50. Edges "
        "`u > v ;` are shuffled, then the query `src ? dst ;` with `src` on the first cycle; for label 0 `dst` "
        "is on the other cycle, for label 1 it is at the query distance from `src` along the cycle. `length` "
        "is the query distance (= n in the `n*` presets). The globality of the task grows with n."
    )
    format_docs = {
        "plain": "completion `y .` (y = 1 for one cycle).",
        "scratchpad": "a walk: `src > x > y > … ; y .` following the edges from `src` until reaching `dst` "
        "(label 1) or coming back to `src` (label 0).",
        "inductive": "`: src # x # … # last ; y .` — each state is the current vertex of the walk.",
    }

    def validate(self, cfg, fmt):
        for shape in (cfg.train, cfg.ood):
            if shape is None:
                continue
            if min(shape.first, shape.second) < 2:
                raise HFReasoningError(f"cycle sizes must be at least 2, got {shape.first} and {shape.second}")
            if shape.first + shape.second > NAMES:
                raise HFReasoningError(
                    f"{shape.first + shape.second} cycle vertices but only {NAMES} vertex names; allowed: at most {NAMES}")
            if not 1 <= shape.distance < shape.first + shape.second:
                raise HFReasoningError(f"query distance {shape.distance} outside 1..{shape.first + shape.second - 1}")

    def train_groups(self, cfg):
        return [(Group(cfg.train.name, cfg.train.distance, cfg.train), 1.0)]

    def ood_groups(self, cfg):
        return [] if cfg.ood is None else [Group(cfg.ood.name, cfg.ood.distance, cfg.ood)]

    def sample(self, cfg, fmt, group, n, rng, layout_rng):
        shape: CycleShape = group.params
        first, second, total = shape.first, shape.second, shape.first + shape.second
        names = random_names(rng, n, total)
        label = rng.integers(0, 2, size=n, dtype=np.int8)
        other = first + rng.integers(0, second, size=n)
        i = np.arange(total)
        one_cycle = (i + 1) % total
        two_cycles = np.where(i < first, (i + 1) % first, first + (i - first + 1) % second)
        successor = np.where(label[:, None] == 1, one_cycle[None, :], two_cycles[None, :])
        order = random_permutations(rng, n, total)  # the shuffled edge order
        tail = np.take_along_axis(np.broadcast_to(i, (n, total)), order, axis=1)
        head = np.take_along_axis(successor, tail, axis=1)
        rows = np.arange(n)[:, None]
        edges = np.stack([names[rows, tail], names[rows, head]], axis=-1)
        src = names[:, 0]
        dst = np.where(label == 1, names[:, shape.distance], names[np.arange(n), other])
        # the walk: vertices 0..distance (one cycle), or around the first cycle back to src
        steps = np.where(label == 1, shape.distance, first)
        k = np.arange(max(shape.distance, first) + 1)
        walk_index = np.where(label[:, None] == 1, k[None, :] % total, k[None, :] % first)
        walk = np.where(k[None, :] <= steps[:, None], names[rows, walk_index], -1).astype(np.int16)
        arrays = {"edges": edges, "src": src, "dst": dst, "label": label, "walk": walk,
                  "distance": np.where(label == 1, shape.distance, -1).astype(np.int16),
                  "first": np.full(n, first, np.int16), "second": np.full(n, second, np.int16)}
        key = np.concatenate([edges.reshape(n, -1), src[:, None], dst[:, None]], axis=1).astype(np.int64)
        return Instances(arrays, key)

    def to_columns(self, cfg, fmt, inst):
        label, walk = inst["label"], inst["walk"]
        rows, width = walk.shape
        states = None
        if fmt != "plain":
            states = np.full((rows, width, 2), -1, dtype=np.int32)
            valid = walk >= 0
            states[:, :, 0] = np.where(valid, VERTEX[np.maximum(walk, 0)], -1)
            states[:, :, 1] = np.where(valid, T["#"] if fmt == "inductive" else T[">"], -1)
            last = valid.sum(axis=1) - 1
            states[np.arange(rows), last, 1] = T[";"]
        sizes = np.where(label[:, None] == 1, np.stack([inst["first"] + inst["second"], -np.ones(rows, np.int16)], 1),
                         np.stack([inst["first"], inst["second"]], 1))
        return {
            "prompt": render(edge_list_tokens(inst["edges"], inst["src"], inst["dst"]), VOCAB),
            "completion": render(label_completion(states, label, fmt == "inductive"), VOCAB),
            "answer": answer_column(label),
            "edges": pairs_array(inst["edges"]),
            "src": pa.array(inst["src"], pa.int16()),
            "dst": pa.array(inst["dst"], pa.int16()),
            "label": pa.array(label, pa.int8()),
            "distance": pa.array(inst["distance"], pa.int16()),
            "cycle_sizes": ragged_list_array(sizes, pa.int16()),
        }

    def parse_answer(self, fmt, completion):
        return parse_label(fmt, completion)


# -- implications ------------------------------------------------------------------------

@dataclass(frozen=True)
class ImplicationsConfig:
    """Random directed graph G(vertices, edges); query distances 1..max_distance when
    connected, half of the queries unconnected. OOD: graphs made of directed cycles."""

    vertices: int = 24
    edges: int = 24
    max_distance: int = 4
    ood_cycle_sizes: tuple[tuple[int, ...], ...] = ((2, 2, 10, 10), (4, 10, 10))
    formats: tuple[str, ...] = GRAPH_FORMATS


def distances_from(edges: np.ndarray, src: np.ndarray, vertices: int) -> np.ndarray:
    """Directed distances from ``src`` to every vertex (−1 = unreachable), breadth first,
    for a batch of graphs given as edge lists (rows, E, 2) of local vertex indices."""
    rows = src.shape[0]
    dist = np.full((rows, vertices), -1, dtype=np.int16)
    dist[np.arange(rows), src] = 0
    if vertices <= 64:
        # bit-parallel: one uint64 of out-neighbours per vertex, one of reached vertices per row
        bit = np.uint64(1) << np.arange(vertices, dtype=np.uint64)
        out = np.zeros((rows, vertices), dtype=np.uint64)
        for e in range(edges.shape[1]):
            out[np.arange(rows), edges[:, e, 0]] |= bit[edges[:, e, 1]]
        reached = frontier = bit[src]
        for step in range(1, vertices):
            in_frontier = (frontier[:, None] & bit[None, :]) != 0
            nxt = np.bitwise_or.reduce(np.where(in_frontier, out, np.uint64(0)), axis=1)
            frontier = nxt & ~reached
            if not frontier.any():
                break
            reached |= frontier
            dist[(frontier[:, None] & bit[None, :]) != 0] = step
        return dist
    row = np.broadcast_to(np.arange(rows)[:, None], edges.shape[:2])
    tail, head = edges[..., 0], edges[..., 1]
    frontier = dist == 0
    for step in range(1, vertices):
        leaving = frontier[row, tail]  # edges out of the frontier
        reached = np.zeros_like(frontier)
        reached[row[leaving], head[leaving]] = True
        reached &= dist < 0
        if not reached.any():
            break
        dist[reached] = step
        frontier = reached
    return dist


def cycle_graph(sizes: tuple[int, ...]) -> np.ndarray:
    """Edges (local vertex indices) of disjoint directed cycles of the given sizes."""
    start = np.repeat(np.cumsum((0,) + tuple(sizes[:-1])), sizes)
    size = np.repeat(sizes, sizes)
    vertex = np.arange(sum(sizes))
    return np.stack([vertex, start + (vertex - start + 1) % size], axis=1)


@register
class Implications(Task):
    name = "implications"
    title = "Implications: syllogism composition"
    sources = ("abbe2024",)
    formats = GRAPH_FORMATS
    vocab = VOCAB
    presets = {"abbe2024": ImplicationsConfig()}
    paper_scale = Scale(train=200_000, validation=10_000, test=10_000, ood=1_000)
    description = (
        "A random directed graph G(n, m) (24 vertices, 24 edges); an edge `a > b` reads \"a implies b\". The "
        "query `a ? b ;` asks whether a directed path leads from a to b. Half of the queries are connected, at "
        "distance 1..4 (uniform), half are not. The OOD split uses graphs made of directed cycles (sizes 2, 2, "
        "10, 10 or 4, 10, 10), where local statistics such as degrees no longer give the answer away. `length` "
        "is the number of vertices; the `distance` column is the query distance (−1 when unconnected)."
    )
    format_docs = {
        "plain": "completion `y .` (y = 1 when a path exists).",
        "scratchpad": "breadth-first layers: `a > L1 > L2 > … ; y .` where `Lk` lists (sorted by name) the "
        "vertices first reached after k steps; it stops at the layer holding b, or when nothing new is reached.",
        "inductive": "`: S0 # S1 # … # Sk ; y .` where state `Sk` is the set of vertices reachable from a in at "
        "most k steps (sorted by name), a function of the question and the previous state only; it stops once "
        "b is in the set (y = 1) or the set no longer grows (y = 0).",
    }

    def validate(self, cfg, fmt):
        V = cfg.vertices
        if not 2 <= V <= NAMES:
            raise HFReasoningError(f"vertices={V}; allowed: 2..{NAMES}")
        if not 1 <= cfg.edges <= V * (V - 1):
            raise HFReasoningError(f"edges={cfg.edges}; allowed: 1..{V * (V - 1)} for {V} vertices")
        for sizes in cfg.ood_cycle_sizes:
            if sum(sizes) > NAMES or min(sizes) < 2:
                raise HFReasoningError(f"OOD cycle sizes {sizes}: each at least 2, at most {NAMES} vertices in all")

    def train_groups(self, cfg):
        return [(Group("random_graph", cfg.vertices, None), 1.0)]

    def ood_groups(self, cfg):
        return [Group("cycles_" + "_".join(map(str, s)), sum(s), tuple(s)) for s in cfg.ood_cycle_sizes]

    def sample(self, cfg, fmt, group, n, rng, layout_rng):
        # the label and the wanted distance are drawn first and kept: a row whose graph has
        # no such query is redrawn with the same wish, so labels stay 50/50 and connected
        # distances uniform (dropping such rows would favour unconnected, short queries)
        label = rng.integers(0, 2, size=n, dtype=np.int8)
        want = np.where(label == 1, rng.integers(1, cfg.max_distance + 1, size=n), -1).astype(np.int16)
        V = cfg.vertices
        edges = np.zeros((n, cfg.edges if group.params is None else V, 2), dtype=np.int64)
        dist = np.zeros((n, V), dtype=np.int16)
        src = np.zeros(n, dtype=np.int64)
        dst = np.zeros(n, dtype=np.int64)
        todo = np.arange(n)
        while todo.size:
            e, d, s_, t_, ok = self._draw(cfg, group, want[todo], rng)
            done = todo[ok]
            edges[done], dist[done], src[done], dst[done] = e[ok], d[ok], s_[ok], t_[ok]
            todo = todo[~ok]
        names = random_names(rng, n, V)
        rows = np.arange(n)[:, None]
        order = random_permutations(rng, n, edges.shape[1])
        local_edges = np.take_along_axis(edges, order[:, :, None], axis=1)
        named_edges = names[rows[:, :, None], local_edges]
        out = {"edges": named_edges, "names": names, "dist_from_src": dist,
               "src": names[np.arange(n), src], "dst": names[np.arange(n), dst], "label": label, "distance": want}
        key = np.concatenate([named_edges.reshape(n, -1), out["src"][:, None], out["dst"][:, None]], axis=1).astype(np.int64)
        return Instances(out, key)

    def _draw(self, cfg, group, want, rng):
        """One graph and source per wished distance (−1 = unreachable) and a destination at
        that distance; ``ok`` is False where the source has none."""
        V, m = cfg.vertices, want.shape[0]
        if group.params is None:
            pairs = distinct_draws(rng, m, cfg.edges, V * (V - 1)).astype(np.int64)
            tail, rest = pairs // (V - 1), pairs % (V - 1)
            edges = np.stack([tail, rest + (rest >= tail)], axis=-1)  # no self-loops
        else:
            local = cycle_graph(group.params)
            edges = np.broadcast_to(local, (m,) + local.shape)
        src = rng.integers(0, V, size=m)
        dist = distances_from(edges, src, V)
        scores = np.where(dist == want[:, None], rng.random((m, V)), -1.0)
        dst = scores.argmax(axis=1)
        ok = scores[np.arange(m), dst] >= 0
        return edges, dist, src, dst, ok

    def to_columns(self, cfg, fmt, inst):
        label, names, dist = inst["label"], inst["names"], inst["dist_from_src"]
        rows, V = names.shape
        states = None
        if fmt != "plain":
            # the last state: the layer/set that holds dst, or the last one that grows
            last = np.where(label == 1, inst["distance"], dist.max(axis=1))
            by_name = np.argsort(names, axis=1)
            d = np.take_along_axis(dist, by_name, axis=1)  # (rows, V) in name order
            k = np.arange(int(last.max()) + 1)[None, :, None]
            member = (d[:, None, :] >= 0) & ((d[:, None, :] <= k) if fmt == "inductive" else (d[:, None, :] == k))
            member &= k <= last[:, None, None]
            states = np.full((rows, k.shape[1], V + 1), -1, dtype=np.int32)
            vertex_tokens = VERTEX[np.take_along_axis(names, by_name, axis=1)]
            states[:, :, :V] = np.where(member, vertex_tokens[:, None, :], -1)
            kk = k[0, :, 0][None, :]
            states[:, :, V] = np.where(kk < last[:, None], T["#"] if fmt == "inductive" else T[">"], -1)
            states[np.arange(rows), last, V] = T[";"]
        return {
            "prompt": render(edge_list_tokens(inst["edges"], inst["src"], inst["dst"]), VOCAB),
            "completion": render(label_completion(states, label, fmt == "inductive"), VOCAB),
            "answer": answer_column(label),
            "edges": pairs_array(inst["edges"]),
            "src": pa.array(inst["src"], pa.int16()),
            "dst": pa.array(inst["dst"], pa.int16()),
            "label": pa.array(label, pa.int8()),
            "distance": pa.array(inst["distance"], pa.int16()),
        }

    def parse_answer(self, fmt, completion):
        return parse_label(fmt, completion)
