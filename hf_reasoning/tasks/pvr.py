"""pvr: vector pointer value retrieval (zhang2021).

11 digits: a pointer ``p`` then values ``x0..x9``. Complexity m: the window is
``x[p..p+m]`` (m + 1 values) and ``p`` is uniform in ``0..9-m``. The answer aggregates the
window: ``sum`` (mod 10), ``min``, ``max``, ``median`` (the lower median: the ``m//2``-th smallest,
0-based) or ``majority`` (the most frequent value, ties to the smallest).

Holdout level h (0..9): for pointer ``p`` the values ``H_p = {(p + j) mod 10 : j < h}`` of the
first window value ``x_p`` are held out. Training (and the in-distribution validation / test,
group ``seen``) never shows ``x_p`` in ``H_p`` when the pointer is ``p``; the complementary test
(``ood`` split, group ``heldout``) shows only such combinations. Each value is held out at h of
the 10 - m pointer positions, so every value still appears as x_p in training at other positions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ..errors import HFReasoningError, check_choice
from ..text import Vocab, list_array, render
from . import register
from .base import Group, Instances, Task, answer_column, split_completion

VOCAB = Vocab([str(d) for d in range(10)] + ["=", "."])
DIGIT = VOCAB.ids(str(d) for d in range(10))
T = VOCAB.id
AGGS = ("sum", "min", "max", "median", "majority")
VALUES = 10


@dataclass(frozen=True)
class PVRConfig:
    """Complexity ``m`` (window m + 1), aggregation ``agg``, holdout level ``holdout``."""

    m: int = 0
    agg: str = "sum"
    holdout: int = 0
    formats: tuple[str, ...] = ("plain",)


PRESETS = {
    **{f"m{m}_sum": PVRConfig(m=m) for m in range(6)},
    **{f"m2_{agg}": PVRConfig(m=2, agg=agg) for agg in AGGS if agg != "sum"},
    **{f"m{m}_sum_h{h}": PVRConfig(m=m, holdout=h) for m in (0, 2) for h in (1, 3, 5)},
}


def held_out(pointer: np.ndarray, value: np.ndarray, h: int) -> np.ndarray:
    """Whether ``x_p = value`` is a held-out combination for pointer ``p`` at level h."""
    return (value - pointer) % VALUES < h


def aggregate(window: np.ndarray, agg: str) -> np.ndarray:
    """``agg`` over the rows of ``window`` (rows, m + 1) of digits."""
    if agg == "sum":
        return window.sum(axis=1) % 10
    if agg == "min":
        return window.min(axis=1)
    if agg == "max":
        return window.max(axis=1)
    if agg == "median":
        return np.sort(window, axis=1)[:, (window.shape[1] - 1) // 2]
    counts = (window[:, :, None] == np.arange(VALUES)[None, None, :]).sum(axis=1)
    return counts.argmax(axis=1)  # argmax takes the first (smallest) value on ties


@register
class PVR(Task):
    name = "pvr"
    title = "Pointer value retrieval (vector)"
    sources = ("zhang2021",)
    formats = ("plain",)
    vocab = VOCAB
    presets = PRESETS
    description = (
        "Vector PVR: 11 digits, a pointer `p` then values `x0 … x9`, all uniform except that `p` is uniform in "
        "`0..9-m` (complexity m, presets `m{m}_{agg}`). The answer aggregates the window `x[p..p+m]`: `sum` mod 10, "
        "`min`, `max`, `median` (lower median: the (m//2)-th smallest, 0-based) or `majority` (most frequent value, "
        "ties to the smallest). Holdout level h (presets `*_h{h}`): for pointer p the values "
        "`{(p + j) mod 10 : j < h}` of the first window value `x_p` are held out; the `train`, `validation` and "
        "`test` splits (group `seen`) never show them, the `ood` split (group `heldout`, the complementary test) "
        "shows only them. Columns: `pointer`, `values` (x0..x9), `window` (x[p..p+m]); `length` is the window "
        "size m + 1."
    )
    format_docs = {"plain": "prompt `p x0 x1 … x9 =`, completion `y .` (the answer digit)."}

    def validate(self, cfg, fmt):
        check_choice("PVR aggregation", cfg.agg, AGGS)
        if not 0 <= cfg.m <= 9:
            raise HFReasoningError(f"PVR complexity m={cfg.m}; allowed: 0..9 (window m+1 of 10 values)")
        if not 0 <= cfg.holdout <= 9:
            raise HFReasoningError(f"PVR holdout level h={cfg.holdout}; allowed: 0..9 held-out values per position")

    def train_groups(self, cfg):
        return [(Group("seen", cfg.m + 1, "seen"), 1.0)]

    def ood_groups(self, cfg):
        return [Group("heldout", cfg.m + 1, "heldout")] if cfg.holdout else []

    def space_log2(self, cfg, fmt, group):
        first = cfg.holdout if group.params == "heldout" else VALUES - cfg.holdout
        return math.log2(VALUES - cfg.m) + math.log2(first) + 9 * math.log2(VALUES)

    def sample(self, cfg, fmt, group, n, rng, layout_rng):
        pointer = rng.integers(0, VALUES - cfg.m, size=n, dtype=np.int8)
        values = rng.integers(0, VALUES, size=(n, VALUES), dtype=np.int8)
        h = cfg.holdout
        # the first window value: uniform over the allowed (seen) or held-out values of that pointer
        if group.params == "heldout":
            first = (pointer + rng.integers(0, h, size=n)) % VALUES
        else:
            first = (pointer + h + rng.integers(0, VALUES - h, size=n)) % VALUES
        values[np.arange(n), pointer] = first
        key = np.concatenate([pointer[:, None], values], axis=1).astype(np.int64)
        return Instances({"pointer": pointer, "values": values}, key)

    def to_columns(self, cfg, fmt, inst):
        pointer, values = inst["pointer"], inst["values"]
        rows = pointer.shape[0]
        window = np.take_along_axis(values, pointer.astype(np.int64)[:, None] + np.arange(cfg.m + 1)[None, :], axis=1)
        answer = aggregate(window, cfg.agg)
        prompt = np.concatenate([DIGIT[pointer][:, None], DIGIT[values], np.full((rows, 1), T["="], dtype=np.int32)], axis=1)
        completion = np.stack([DIGIT[answer], np.full(rows, T["."], dtype=np.int32)], axis=1)
        return {
            "prompt": render(prompt, VOCAB),
            "completion": render(completion, VOCAB),
            "answer": answer_column(answer),
            "pointer": pa.array(pointer, type=pa.int8()),
            "values": list_array(values, pa.int8()),
            "window": list_array(window, pa.int8()),
        }

    def parse_answer(self, fmt, completion):
        tokens = split_completion(completion)
        if not tokens or len(tokens) != 1 or tokens[0] not in [str(d) for d in range(10)]:
            return None
        return tokens[0]
