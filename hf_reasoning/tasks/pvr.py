"""pvr: pointer value retrieval (zhang2021), vector (task ``pvr``) and visual (task ``pvr_visual``).

11 digits: a pointer ``p`` then values ``x0..x9``. Complexity m: the window is
``x[p..p+m]`` (m + 1 values) and ``p`` is uniform in ``0..9-m``. The answer aggregates the
window: ``sum`` (mod 10), ``min``, ``max``, ``median`` (the lower median: the ``m//2``-th smallest,
0-based) or ``majority`` (the most frequent value, ties to the smallest).

Holdout level h (0..9): for pointer ``p`` the values ``H_p = {(p + j) mod 10 : j < h}`` of the
first window value ``x_p`` are held out. Training (and the in-distribution validation / test,
group ``seen``) never shows ``x_p`` in ``H_p`` when the pointer is ``p``; the complementary test
(``ood`` split, group ``heldout``) shows only such combinations. Each value is held out at h of
the 10 - m pointer positions, so every value still appears as x_p in training at other positions.

Visual (``pvr_visual``, the "block" task): a 2×2 grid of 8×8 digit images from scikit-learn's
bundled digits (``sklearn.datasets.load_digits``, 1,797 images, offline). The top-left digit is
the pointer: 0–3 → top-right, 4–6 → bottom-left, 7–9 → bottom-right; the answer is the pointed
digit. Holdout (preset ``block_holdout``): training never shows {1,2,3} top-right, {4,5,6}
bottom-left, {7,8,9,0} bottom-right, in any grid (pointed at or not); the complementary test
(``ood``, group ``heldout``) points every grid at a cell holding one of its held-out digits, its
other cells as in training. Evaluation grids use only the evaluation fifth of the images (every
fifth image of each digit, in dataset order), training grids only the other four fifths.
"""

from __future__ import annotations

import functools
import math
import zlib
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ..errors import HFReasoningError, check_choice
from ..text import Vocab, list_array, render
from .registry import register
from .base import Group, Instances, Scale, Task, answer_column, split_completion

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


# -- visual PVR -------------------------------------------------------------------------------

CELLS = ("top_left", "top_right", "bottom_left", "bottom_right")  # reading order
POINTED_CELL = np.array([1, 1, 1, 1, 2, 2, 2, 3, 3, 3])  # pointer digit -> cell
HELD_OUT = {1: (1, 2, 3), 2: (4, 5, 6), 3: (7, 8, 9, 0)}  # cell -> digits training never shows there
DIGIT_SIDE = 8
GRID_SIDE = 2 * DIGIT_SIDE
INK_LEVELS = 17  # sklearn digits: ink 0..16 per pixel
EVAL_EVERY = 5  # every fifth image of each digit is an evaluation image
VISUAL_VOCAB = Vocab([str(v) for v in range(INK_LEVELS)] + ["=", "."])
INK = VISUAL_VOCAB.ids(str(v) for v in range(INK_LEVELS))
VT = VISUAL_VOCAB.id


@dataclass(frozen=True)
class VisualPVRConfig:
    """``holdout``: hold out the digits of HELD_OUT at their cells in training."""

    holdout: bool = False
    formats: tuple[str, ...] = ("labels", "pixels")


VISUAL_PRESETS = {"block": VisualPVRConfig(), "block_holdout": VisualPVRConfig(holdout=True)}


@functools.lru_cache(maxsize=1)
def digit_images() -> tuple[np.ndarray, np.ndarray]:
    """sklearn's digits: (1797, 8, 8) uint8 ink levels 0..16 and (1797,) int8 labels."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    return digits.images.astype(np.uint8), digits.target.astype(np.int8)


@functools.lru_cache(maxsize=2)
def image_pool(pool: str) -> tuple[np.ndarray, np.ndarray]:
    """The image indices of each digit in the ``train`` or ``eval`` pool: a (10, width) matrix
    padded with -1, and the number of images per digit."""
    _, labels = digit_images()
    rank = np.zeros(labels.size, dtype=np.int64)  # position of each image among those of its digit
    for digit in range(VALUES):
        mine = np.flatnonzero(labels == digit)
        rank[mine] = np.arange(mine.size)
    in_pool = (rank % EVAL_EVERY == EVAL_EVERY - 1) == (pool == "eval")
    members = [np.flatnonzero(in_pool & (labels == digit)) for digit in range(VALUES)]
    sizes = np.array([m.size for m in members])
    matrix = np.full((VALUES, sizes.max()), -1, dtype=np.int64)
    for digit, m in enumerate(members):
        matrix[digit, : m.size] = m
    return matrix, sizes


def allowed_digits(cell: int, holdout: bool) -> np.ndarray:
    return np.array([v for v in range(VALUES) if not (holdout and v in HELD_OUT.get(cell, ()))])


def pick(rng: np.random.Generator, table: np.ndarray, sizes: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """A uniform entry of row ``rows[i]`` of a padded ``table`` (``sizes`` entries per row), per i."""
    return table[rows, (rng.random(rows.shape) * sizes[rows]).astype(np.int64)]


def grid_pixels(image_indices: np.ndarray) -> np.ndarray:
    """(rows, 4) image indices in reading order → (rows, 16, 16) ink levels of the 2×2 grid."""
    images, _ = digit_images()
    cells = images[image_indices]  # (rows, 4, 8, 8)
    rows = cells.shape[0]
    return cells.reshape(rows, 2, 2, DIGIT_SIDE, DIGIT_SIDE).transpose(0, 1, 3, 2, 4).reshape(rows, GRID_SIDE, GRID_SIDE)


def gray_levels(ink: np.ndarray) -> np.ndarray:
    """Ink 0..16 → 8-bit gray 0..255 (round half up): white digits on black, as MNIST."""
    return ((ink.astype(np.int32) * 255 + 8) // 16).astype(np.uint8)


def _chunk(kind: bytes, data: np.ndarray) -> np.ndarray:
    """PNG chunks, one per row of ``data`` (rows, length) uint8: length, type, data, CRC-32."""
    rows, length = data.shape
    body = np.concatenate([np.tile(np.frombuffer(kind, np.uint8), (rows, 1)), data], axis=1)
    crc = np.fromiter((zlib.crc32(row) for row in body), dtype=np.uint32, count=rows)
    head = np.tile(np.frombuffer(length.to_bytes(4, "big"), np.uint8), (rows, 1))
    return np.concatenate([head, body, crc.astype(">u4").view(np.uint8).reshape(rows, 4)], axis=1)


def png_bytes(gray: np.ndarray) -> np.ndarray:
    """8-bit grayscale PNG files of (rows, height, width) images, as a (rows, bytes) uint8 matrix.

    Written by hand so the bytes never depend on the zlib build (Pillow's zlib-ng compresses
    differently): the image data is one *stored* (uncompressed) deflate block, so every file is a
    fixed layout of the pixels and two checksums; Parquet's zstd compresses the column anyway."""
    rows, height, width = gray.shape
    raw = np.concatenate([np.zeros((rows, height, 1), np.uint8), gray], axis=2).reshape(rows, -1)  # filter 0 per line
    n = raw.shape[1]
    if n > 0xFFFF:
        raise HFReasoningError(f"image of {height}x{width} pixels is too large for one stored block; allowed: up to 65535 bytes")
    # Adler-32 of the raw bytes (mod 65521 sums, exact in int64 at this size)
    raw64 = raw.astype(np.int64)
    a = (1 + raw64.sum(axis=1)) % 65521
    b = (n + raw64 @ np.arange(n, 0, -1, dtype=np.int64)) % 65521
    adler = ((b << 16) | a).astype(">u4").view(np.uint8).reshape(rows, 4)
    stored = np.frombuffer(bytes([0x78, 0x01, 0x01]) + n.to_bytes(2, "little") + (n ^ 0xFFFF).to_bytes(2, "little"), np.uint8)
    idat = np.concatenate([np.tile(stored, (rows, 1)), raw, adler], axis=1)
    ihdr = np.frombuffer(width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 0, 0, 0, 0]), np.uint8)
    signature = np.frombuffer(b"\x89PNG\r\n\x1a\n", np.uint8)
    return np.concatenate([np.tile(signature, (rows, 1)), _chunk(b"IHDR", np.tile(ihdr, (rows, 1))),
                           _chunk(b"IDAT", idat), _chunk(b"IEND", np.zeros((rows, 0), np.uint8))], axis=1)


def image_column(files: np.ndarray) -> pa.StructArray:
    """The Arrow storage of a ``datasets.Image`` column: ``{bytes: PNG file, path: null}``."""
    rows, size = files.shape
    offsets = pa.py_buffer((np.arange(rows + 1, dtype=np.int32) * size).tobytes())
    data = pa.Array.from_buffers(pa.binary(), rows, [None, offsets, pa.py_buffer(np.ascontiguousarray(files).tobytes())])
    return pa.StructArray.from_arrays([data, pa.nulls(rows, pa.string())], names=["bytes", "path"])


@register
class VisualPVR(Task):
    name = "pvr_visual"
    title = "Pointer value retrieval (visual, 2×2 grid of digit images)"
    sources = ("zhang2021",)
    formats = ("labels", "pixels")
    vocab = VISUAL_VOCAB
    presets = VISUAL_PRESETS
    paper_scale = Scale(train=100_000, validation=10_000, test=10_000, ood=10_000)
    description = (
        "Visual PVR (the 'block' task): a 2×2 grid of 8×8 digit images from scikit-learn's bundled digits "
        "(`sklearn.datasets.load_digits`, 1,797 images; the grid is a 16×16 8-bit grayscale PNG, gray = "
        "round(ink · 255 / 16), white digits on black, written as one stored deflate block so the bytes are the same on "
        "every machine; resize it for image models). The top-left digit is the pointer: 0–3 point to the "
        "top-right cell, 4–6 to the bottom-left, 7–9 to the bottom-right; the label is the pointed digit. The "
        "pointer is uniform on 0..9 and every other cell uniform on the digits it may show, each digit drawn as a "
        "uniform image of that digit. Images: evaluation grids (`validation`, `test`, `ood`) are built only from "
        "the evaluation fifth of the images (every fifth image of each digit in dataset order, 355 images), "
        "training grids only from the other 1,442, so no evaluation image is ever seen in training. Holdout "
        "(preset `block_holdout`): training, validation and test (group `seen`) never show {1,2,3} in the "
        "top-right cell, {4,5,6} bottom-left or {7,8,9,0} bottom-right, in any grid; the complementary test "
        "(`ood`, group `heldout`) points every grid at a cell that holds one of its held-out digits (its other "
        "cells as in training). Columns: `image` (`datasets.Image`), `label` (`ClassLabel` 0..9), `digits` (the "
        "4 digit labels in reading order: top-left, top-right, bottom-left, bottom-right), `image_indices` (their "
        "indices into `load_digits()`), `pointed_cell` (1 = top-right, 2 = bottom-left, 3 = bottom-right); "
        "`length` is 4 (cells)."
    )
    format_docs = {
        "labels": "prompt: the 4 digit labels in reading order (top-left = pointer, top-right, bottom-left, "
        "bottom-right) then `=`; completion `y .` with y the pointed digit. The symbolic task beside the image.",
        "pixels": "prompt: the 256 ink levels (0..16, one token each) of the 16×16 grid, row by row, then `=`; "
        "completion `y .` with y the pointed digit. A language model has to read the digits from the pixels.",
    }

    def validate(self, cfg, fmt):
        if not isinstance(cfg.holdout, bool):
            raise HFReasoningError(f"visual PVR holdout={cfg.holdout!r}; allowed: True or False")

    def train_groups(self, cfg):
        return [(Group("seen", len(CELLS), ("seen", "train")), 1.0)]

    def split_groups(self, cfg, split):
        return [(Group("seen", len(CELLS), ("seen", "eval")), 1.0)]

    def ood_groups(self, cfg):
        return [Group("heldout", len(CELLS), ("heldout", "eval"))] if cfg.holdout else []

    def features(self, cfg, fmt):
        import datasets

        return {"image": datasets.Image(), "label": datasets.ClassLabel(names=[str(v) for v in range(VALUES)])}

    def space_log2(self, cfg, fmt, group):
        part, pool = group.params
        _, sizes = image_pool(pool)
        images_of = lambda digits: float(sizes[list(digits)].sum())  # noqa: E731
        allowed = {c: images_of(allowed_digits(c, cfg.holdout)) for c in (1, 2, 3)}
        if part == "seen":
            total = images_of(range(VALUES)) * allowed[1] * allowed[2] * allowed[3]
        else:  # the pointed cell holds a held-out digit, the other two cells as in training
            total = sum(sizes[t] * images_of(HELD_OUT[POINTED_CELL[t]]) * math.prod(
                allowed[c] for c in (1, 2, 3) if c != POINTED_CELL[t]) for t in range(VALUES))
        return math.log2(total)

    def sample(self, cfg, fmt, group, n, rng, layout_rng):
        part, pool = group.params
        digits = np.empty((n, len(CELLS)), dtype=np.int8)
        digits[:, 0] = rng.integers(0, VALUES, size=n)
        for cell in (1, 2, 3):
            allowed = allowed_digits(cell, cfg.holdout)
            digits[:, cell] = allowed[rng.integers(0, allowed.size, size=n)]
        if part == "heldout":
            held = np.full((len(CELLS), 4), -1, dtype=np.int8)
            for cell, values in HELD_OUT.items():
                held[cell, : len(values)] = values
            sizes = np.array([0] + [len(HELD_OUT[c]) for c in (1, 2, 3)])
            cell = POINTED_CELL[digits[:, 0]]
            digits[np.arange(n), cell] = pick(rng, held, sizes, cell)
        table, sizes = image_pool(pool)
        indices = pick(rng, table, sizes, digits.astype(np.int64)).astype(np.int32)
        return Instances({"digits": digits, "image_indices": indices}, indices.astype(np.int64))

    def to_columns(self, cfg, fmt, inst):
        digits, indices = inst["digits"], inst["image_indices"]
        rows = digits.shape[0]
        cell = POINTED_CELL[digits[:, 0]]
        label = digits[np.arange(rows), cell]
        ink = grid_pixels(indices)
        if fmt == "labels":
            prompt = np.concatenate([INK[digits], np.full((rows, 1), VT["="], np.int32)], axis=1)
        else:
            prompt = np.concatenate([INK[ink.reshape(rows, -1)], np.full((rows, 1), VT["="], np.int32)], axis=1)
        completion = np.stack([INK[label], np.full(rows, VT["."], np.int32)], axis=1)
        return {
            "prompt": render(prompt, VISUAL_VOCAB),
            "completion": render(completion, VISUAL_VOCAB),
            "answer": answer_column(label),
            "image": image_column(png_bytes(gray_levels(ink))),
            "label": pa.array(label.astype(np.int64), type=pa.int64()),
            "digits": list_array(digits, pa.int8()),
            "image_indices": list_array(indices, pa.int32()),
            "pointed_cell": pa.array(cell.astype(np.int8), type=pa.int8()),
        }

    def parse_answer(self, fmt, completion):
        tokens = split_completion(completion)
        if not tokens or len(tokens) != 1 or tokens[0] not in [str(d) for d in range(10)]:
            return None
        return tokens[0]
