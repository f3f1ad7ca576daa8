"""Graph tasks of abbe2024: cycles and implications (syllogism composition).

Vertices are named ``v000`` … ``v999`` (drawn without replacement per example); an edge is
written ``u > v ;``, the edges are shuffled, then the query ``src ? dst ;``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ..errors import HFReasoningError
from ..text import Vocab, ragged_list_array, string_array, render, render_ragged
from .registry import register
from .base import Group, Instances, Scale, Task, answer_column, distinct_draws, random_permutations, split_completion

NAMES = 1000
VOCAB = Vocab(["0", "1", ">", ";", "?", ":", "#", "."] + [f"v{i:03d}" for i in range(NAMES)])
VERTEX = VOCAB.ids(f"v{i:03d}" for i in range(NAMES))
DIGIT = VOCAB.ids(["0", "1"])
T = VOCAB.id
GRAPH_FORMATS = ("plain", "scratchpad", "inductive")
# the 4 bytes of each vertex name, as one uint32 word (written into the prompt records below)
NAME_WORD = np.array([f"v{i:03d}".encode() for i in range(NAMES)], dtype="S4").view(np.uint32)
# the bytes of `u > v ; ` (an edge) and `src ? dst ;` (the query, the last 13 bytes of a prompt)
EDGE_RECORD = np.dtype({"names": ["tail", "arrow", "head", "semi"], "formats": ["S4", "S3", "S4", "S3"],
                        "offsets": [0, 4, 7, 11], "itemsize": 14})
QUERY_RECORD = np.dtype({"names": ["tail", "arrow", "head", "semi"], "formats": ["S4", "S3", "S4", "S2"],
                         "offsets": [0, 4, 7, 11], "itemsize": 13})


def random_names(rng: np.random.Generator, rows: int, k: int) -> np.ndarray:
    """``k`` distinct vertex names per row, in uniformly random order."""
    return distinct_draws(rng, rows, k, NAMES)


def pairs_array(edges: np.ndarray) -> pa.Array:
    """(rows, E, 2) → ``list<fixed_size_list<int16, 2>>``."""
    rows, count, _ = edges.shape
    pairs = pa.FixedSizeListArray.from_arrays(pa.array(edges.reshape(-1), type=pa.int16()), 2)
    return pa.ListArray.from_arrays(pa.array(np.arange(rows + 1, dtype=np.int32) * count), pairs)


def edge_list_text(edges: np.ndarray, src: np.ndarray, dst: np.ndarray) -> pa.StringArray:
    """The prompts ``u > v ; … src ? dst ;`` of (rows, E, 2) edges of vertex names.

    Every prompt of a batch has the same byte layout (names are 4 bytes), so a prompt is one
    numpy record of E edge records and a query record: the separators are written once per
    field and the names as uint32 words, and the records' memory is the Arrow text buffer."""
    rows, count, _ = edges.shape
    record = np.empty(rows, dtype=np.dtype([("edge", EDGE_RECORD, (count,)), ("query", QUERY_RECORD)]))
    edge, query = record["edge"], record["query"]
    edge["arrow"], edge["semi"], query["arrow"], query["semi"] = b" > ", b" ; ", b" ? ", b" ;"
    edge["tail"].view(np.uint32)[...] = NAME_WORD[edges[:, :, 0]]
    edge["head"].view(np.uint32)[...] = NAME_WORD[edges[:, :, 1]]
    query["tail"].view(np.uint32)[...] = NAME_WORD[src]
    query["head"].view(np.uint32)[...] = NAME_WORD[dst]
    offsets = np.arange(rows + 1, dtype=np.int64) * record.dtype.itemsize
    return string_array(rows, offsets, record.view(np.uint8))


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
            "prompt": edge_list_text(inst["edges"], inst["src"], inst["dst"]),
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
class CycleFamily:
    """An OOD family of implications: disjoint directed cycles of the given sizes, the query
    from the first vertex of the first cycle. ``distance`` ≥ 1: to the vertex that far along
    the first cycle (label 1); −1: to the first vertex of the second cycle (label 0). The
    family fixes the label, as in abbe2024's ``valid_OOD_*`` sets (their ``create_sample``)."""

    sizes: tuple[int, ...]
    distance: int

    @property
    def label(self) -> int:
        return int(self.distance > 0)

    @property
    def name(self) -> str:
        return "cycles_" + "_".join(map(str, self.sizes)) + (f"_d{self.distance}" if self.distance > 0 else "")


@dataclass(frozen=True)
class ImplicationsConfig:
    """Random directed graph G(vertices, edges); query distances 1..max_distance when
    connected, half of the queries unconnected. OOD: graphs made of directed cycles, one
    family per label (abbe2024's ``valid_OOD_2``): every vertex has in- and out-degree 1, and
    the source sits on a short cycle in both families, so degrees, and whether the source
    is on a cycle, no longer give the answer away."""

    vertices: int = 24
    edges: int = 24
    max_distance: int = 4
    ood_families: tuple[CycleFamily, ...] = (CycleFamily((2, 2, 10, 10), -1), CycleFamily((4, 10, 10), 2))
    formats: tuple[str, ...] = GRAPH_FORMATS


ATTEMPT_BATCH = 4096  # the fewest graphs drawn per round of the rejection loop of implications
MAX_VERTICES = 64  # the breadth-first search keeps a vertex set in one uint64 bit mask


def mask_dtype(vertices: int):
    return np.uint32 if vertices <= 32 else np.uint64


def bfs_layers(tail: np.ndarray, head: np.ndarray, src: np.ndarray, limit: np.ndarray,
               vertices: int) -> tuple[np.ndarray, np.ndarray]:
    """Breadth-first search from ``src`` in a batch of graphs given by their edge lists
    ``tail``, ``head`` (E, rows) (edge-major: the OR over the edges runs over whole rows of
    memory), one step for all graphs at a time, vertex sets as bit masks.

    Returns ``layers`` (rows, V): the mask of the vertices first reached after k steps, for
    k up to ``limit`` (or until a layer is empty; zero after), and ``reached``: the union of
    those layers (every vertex reachable from ``src`` where the search was not cut short)."""
    rows = src.shape[0]
    dtype = mask_dtype(vertices)
    bit = dtype(1) << np.arange(vertices, dtype=dtype)
    tail_shift, head_bit = tail.astype(dtype), bit[head]
    layers = np.zeros((vertices, rows), dtype=dtype)
    layers[0] = reached = bit[src]
    graph = np.arange(rows)
    leaving = tail == src  # the edges out of the frontier (1 or 0); at first, out of src alone
    for step in range(1, vertices):
        frontier = np.bitwise_or.reduce(leaving * (head_bit if step == 1 else head_bit[:, graph]), axis=0)
        frontier &= ~reached[graph]
        reached[graph] |= frontier
        layers[step, graph] = frontier
        going = (frontier != 0) & (limit[graph] > step)
        frontier, graph = frontier[going], graph[going]
        if not graph.size:
            break
        leaving = (frontier >> tail_shift[:, graph]) & dtype(1)
    return layers.T, reached


def distinct_edges(code: np.ndarray, codes: int) -> np.ndarray:
    """Whether the edges (E, rows) of each graph, as numbers below ``codes``, are distinct.

    Each edge writes its position into its graph's slot for its number, and reads the slot
    back: every edge reads its own position only when no two edges share a slot (of two
    that do, one reads the other's). No sort, and the slots need no initialising."""
    count, rows = code.shape
    slot = (np.arange(rows) * codes + code).T  # (rows, E)
    scratch = np.empty(rows * codes, dtype=np.int8)
    scratch[slot] = np.arange(count, dtype=np.int8)
    return (scratch[slot] == np.arange(count, dtype=np.int8)).all(axis=1)


def random_member(masks: np.ndarray, uniform: np.ndarray) -> np.ndarray:
    """A uniformly random set bit of each (non-zero) mask, given one uniform [0, 1) per row."""
    members = np.unpackbits(masks.view(np.uint8).reshape(-1, masks.dtype.itemsize), axis=1, bitorder="little")
    rank = (uniform * members.sum(axis=1)).astype(np.uint8)  # which member: 0 … count - 1
    return (np.cumsum(members, axis=1, dtype=np.uint8) > rank[:, None]).argmax(axis=1)


def sorted_names(rng: np.random.Generator, rows: int, k: int) -> np.ndarray:
    """``k`` distinct vertex names per row, ascending: a uniform k-subset (i.i.d. draws, sorted,
    redrawn where two coincide)."""
    names = np.sort(rng.integers(0, NAMES, size=(rows, k), dtype=np.int16), axis=1)
    todo = np.flatnonzero((names[:, 1:] == names[:, :-1]).any(axis=1))
    while todo.size:
        names[todo] = np.sort(rng.integers(0, NAMES, size=(todo.size, k), dtype=np.int16), axis=1)
        todo = todo[(names[todo, 1:] == names[todo, :-1]).any(axis=1)]
    return names


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
        "distance 1..4 (uniform), half are not. The OOD split uses graphs made of directed cycles, where local "
        "statistics such as degrees no longer give the answer away, and the cycle family fixes the label as in "
        "abbe2024: group `cycles_2_2_10_10` (label 0: from a vertex of one 2-cycle to a vertex of the other "
        "2-cycle) and group `cycles_4_10_10_d2` (label 1: from a vertex of the 4-cycle to the vertex 2 steps "
        "along it), half of the OOD rows each. `length` is the number of vertices; the `distance` column is "
        "the query distance (−1 when unconnected)."
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
        if not 2 <= V <= MAX_VERTICES:
            raise HFReasoningError(f"vertices={V}; allowed: 2..{MAX_VERTICES}")
        if not 1 <= cfg.edges <= V * (V - 1):
            raise HFReasoningError(f"edges={cfg.edges}; allowed: 1..{V * (V - 1)} for {V} vertices")
        for family in cfg.ood_families:
            sizes = family.sizes
            if sum(sizes) > MAX_VERTICES or min(sizes) < 2:
                raise HFReasoningError(
                    f"OOD cycle sizes {sizes}: allowed: each at least 2, at most {MAX_VERTICES} vertices in all")
            if family.distance == -1 and len(sizes) < 2:
                raise HFReasoningError(f"OOD family {sizes} with distance -1 needs a second cycle; allowed: 2+ cycles")
            if family.distance != -1 and not 1 <= family.distance < sizes[0]:
                raise HFReasoningError(
                    f"OOD query distance {family.distance} on a first cycle of {sizes[0]}; allowed: -1 or 1..{sizes[0] - 1}")

    def train_groups(self, cfg):
        return [(Group("random_graph", cfg.vertices, None), 1.0)]

    def ood_groups(self, cfg):
        return [Group(family.name, sum(family.sizes), family) for family in cfg.ood_families]

    def sample(self, cfg, fmt, group, n, rng, layout_rng):
        # the label and the wanted distance are drawn first and kept: a row whose graph has
        # no such query is redrawn with the same wish, so labels stay 50/50 and connected
        # distances uniform (dropping such rows would favour unconnected, short queries)
        if group.params is None:
            label = rng.integers(0, 2, size=n, dtype=np.int8)
            want = np.where(label == 1, rng.integers(1, cfg.max_distance + 1, size=n), -1).astype(np.int16)
        else:  # a cycle family: one label, one query (every draw succeeds)
            label = np.full(n, group.params.label, dtype=np.int8)
            want = np.full(n, group.params.distance, dtype=np.int16)
        V = group.length
        todo, found, drawn = np.arange(n), [], []
        while todo.size:
            # once few wishes are left, try several times per wish in one batch and keep the
            # first success of each (the same as trying one after the other, in fewer rounds)
            tries = max(1, min(64, ATTEMPT_BATCH // todo.size))
            index, tail, head, layers, src, dst = self._draw(cfg, group, np.repeat(want[todo], tries), rng)
            wish, first = np.unique(index // tries, return_index=True)
            found.append(todo[wish])
            drawn.append((tail[:, first], head[:, first], layers[first], src[first], dst[first]))
            success = np.zeros(todo.size, dtype=bool)
            success[wish] = True
            todo = todo[~success]
        # the accepted draws, back in the order of the wishes
        order = np.empty(n, dtype=np.int64)
        order[np.concatenate(found)] = np.arange(n)
        tail, head = (np.concatenate([d[i] for d in drawn], axis=1)[:, order] for i in (0, 1))
        layers, src, dst = (np.concatenate([d[i] for d in drawn])[order] for i in (2, 3, 4))
        # vertex i gets the i-th smallest name: the graph, source and destination are drawn
        # invariantly under relabelling the vertices, so this is a uniformly random naming,
        # and the states' vertex sets come out sorted by name for free
        names = sorted_names(rng, n, V)
        rows = np.arange(n)
        named_edges = np.stack([names.reshape(-1)[rows * V + tail].T, names.reshape(-1)[rows * V + head].T], axis=-1)
        out = {"edges": named_edges, "names": names, "layers": layers,
               "src": names[rows, src], "dst": names[rows, dst], "label": label, "distance": want}
        key = np.concatenate([named_edges.reshape(n, -1), out["src"][:, None], out["dst"][:, None]], axis=1).astype(np.int64)
        return Instances(out, key)

    def _draw(self, cfg, group, want, rng):
        """One try per wished distance (−1 = unreachable): a graph (edges in random order)
        and a source; it succeeds when the source has a vertex at that distance (and, in
        G(n, m), no edge repeats). Returns the successful tries: their index, edges (E, k),
        the breadth-first layers from the source up to the destination's (all of them when
        unreachable), the source and a uniform destination at the wished distance. In a cycle
        family (``group.params``) every try succeeds: the family fixes the query."""
        V, m = group.length, want.shape[0]
        if group.params is None:
            src = rng.integers(0, V, size=m).astype(np.int16)
            uniform = rng.random(m)
            # i.i.d. edges without self-loops, kept where distinct: a uniform G(n, m) in uniform
            # order. The checks are independent of each other, so the cheap ones come first: a
            # connected query needs an edge out of src, known before the heads are drawn.
            tail = rng.integers(0, V, size=(cfg.edges, m), dtype=np.int16)  # edge-major, see bfs_layers
            index = np.flatnonzero((want < 0) | (tail == src).any(axis=0))
            tail = tail[:, index]
            head = rng.integers(0, V - 1, size=tail.shape, dtype=np.int16)
            head += head >= tail
            distinct = distinct_edges(tail * V + head, V * V)
            index, tail, head = index[distinct], tail[:, distinct], head[:, distinct]
        else:
            # the cycles, with randomly relabelled vertices, in random edge order; the query as
            # in abbe2024: from the first vertex of the first cycle (local vertex 0) to the
            # vertex `distance` along it, or to the first vertex of the second cycle
            family: CycleFamily = group.params
            relabel = random_permutations(rng, m, V).astype(np.int16)
            local = cycle_graph(family.sizes)[random_permutations(rng, m, V)]  # (m, V, 2)
            rows = np.arange(m)[:, None]
            tail, head = relabel[rows, local[:, :, 0]].T, relabel[rows, local[:, :, 1]].T
            src = relabel[:, 0]
            dst = relabel[:, family.distance if family.distance > 0 else family.sizes[0]]
            layers, _ = bfs_layers(tail, head, src, np.where(want > 0, want, V), V)
            return np.arange(m), tail, head, layers, src, dst
        want, src = want[index], src[index]
        layers, reached = bfs_layers(tail, head, src, np.where(want > 0, want, V), V)
        everything = mask_dtype(V)((1 << V) - 1)
        candidates = np.where(want > 0, layers[np.arange(index.size), np.maximum(want, 0)], everything & ~reached)
        found = candidates != 0
        dst = random_member(candidates[found], uniform[index[found]])
        return index[found], tail[:, found], head[:, found], layers[found], src[found], dst

    def to_columns(self, cfg, fmt, inst):
        label, names = inst["label"], inst["names"]
        rows, V = names.shape
        if fmt == "plain":
            completion = render(label_completion(None, label, False), VOCAB)
        else:
            completion = self._states_text(fmt, inst)
        return {
            "prompt": edge_list_text(inst["edges"], inst["src"], inst["dst"]),
            "completion": completion,
            "answer": answer_column(label),
            "edges": pairs_array(inst["edges"]),
            "src": pa.array(inst["src"], pa.int16()),
            "dst": pa.array(inst["dst"], pa.int16()),
            "label": pa.array(label, pa.int8()),
            "distance": pa.array(inst["distance"], pa.int16()),
        }

    def _states_text(self, fmt, inst):
        """``[:] S0 sep S1 sep … Sk ; y .``: one row of tokens per state, kept where present."""
        label, names, layers = inst["label"], inst["names"], inst["layers"]
        rows, V = names.shape
        # the layers reach as far as the completion goes: the layer of dst, or the last that grows
        count = (layers != 0).sum(axis=1)
        sets = np.bitwise_or.accumulate(layers, axis=1) if fmt == "inductive" else layers
        in_text = np.arange(V)[None, :] < count[:, None]
        state_row = np.nonzero(in_text)[0]  # row of each state, states in text order
        state_set = sets[in_text]
        first = np.zeros(state_row.size, dtype=bool)
        first[np.cumsum(count) - count] = True
        last = np.zeros(state_row.size, dtype=bool)
        last[np.cumsum(count) - 1] = True
        # one cell per possible token of a state: [`:`], the V vertices in name order, the
        # separator, [the label, `.`]; the cells present, in text order, are the completion
        width = V + 4
        present = np.empty((state_row.size, width), dtype=bool)
        present[:, 0] = first & (fmt == "inductive")
        present[:, 1: V + 1] = np.unpackbits(state_set.view(np.uint8).reshape(-1, state_set.dtype.itemsize),
                                             axis=1, count=V, bitorder="little")
        present[:, V + 1] = True
        present[:, V + 2:] = last[:, None]
        state, column = np.divmod(np.flatnonzero(present), width)
        row = state_row[state]
        tokens = VERTEX[names.reshape(-1)[row * V + np.clip(column - 1, 0, V - 1)]]
        special = np.flatnonzero((column == 0) | (column > V))
        separator = np.where(last, T[";"], T["#"] if fmt == "inductive" else T[">"])
        tokens[special] = np.select(
            [column[special] == 0, column[special] == V + 1, column[special] == V + 2],
            [T[":"], separator[state[special]], DIGIT[label[row[special]]]], T["."])
        per_row = np.bincount(row, minlength=rows)
        return render_ragged(tokens, per_row, VOCAB)

    def parse_answer(self, fmt, completion):
        return parse_label(fmt, completion)
