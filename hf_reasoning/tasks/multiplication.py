"""multiplication (t2t, zhou2023-style variants, and an inductive format): s-digit × s-digit.

Both operands have s digits (leading digit non-zero). The product is always written with 2s
digits (leading zeros when shorter) in every format, so the answer length is fixed by s; the
`answer` column holds those 2s digits, most significant first, without spaces (e.g.
``"0408"`` for 12 × 34).

Index hints follow addition's reading of Zhou et al. 2024 (see addition.py): the hints of one
example are a random run of consecutive hints from an ordered set h1 … hH large enough for every
split, so every hint a test length uses also occurs in training. Here each number is written over
2s digits (the product's width), so an example of s digits takes 2s hints ``h(o+1) … h(o+2s)``
and H = 2 × the preset's longest length (of any split); the offset o is uniform in 0..H − 2s,
drawn from the layout stream (not part of the instance key), the same rule in every split
(an OOD example at the longest length has o = 0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ..errors import HFReasoningError
from ..text import Vocab, digit_strings, render
from .registry import register
from .addition import HINT_FORMATS, HINT_TOKEN, TwoOperandTask
from .base import Instances, split_completion

MAX_HINT = 400
VOCAB = Vocab([str(d) for d in range(10)] + ["*", "=", ":", "#", ".", "[", "]", "r"]
              + [f"h{i}" for i in range(1, MAX_HINT + 1)])
DIGIT = VOCAB.ids(str(d) for d in range(10))
HINT = VOCAB.ids(f"h{i}" for i in range(1, MAX_HINT + 1))
T = VOCAB.id
ZHOU_FORMATS = ("plain", "reversed", "index_hints", "reversed_index_hints")


@dataclass(frozen=True)
class MultiplicationConfig:
    """Operand digit counts s: training lengths with P(s) ∝ s (as addition), OOD test lengths."""

    train_lengths: tuple[int, ...] = tuple(range(1, 41))
    ood_lengths: tuple[int, ...] = tuple(range(41, 61))
    formats: tuple[str, ...] = ZHOU_FORMATS


PRESETS = {
    # the zhou2023 length split (train up to 40 digits, test at every length 41..60) with the
    # zhou2023 format variants (no source multiplies here; the nearest protocol)
    "zhou2023": MultiplicationConfig(),
    # tensor2tensor algorithmic_multiplication_decimal40: train 1..40 digits, eval 400 (plain: long texts)
    "t2t": MultiplicationConfig(ood_lengths=(400,), formats=("plain",)),
    # short operands, for the inductive format (one state per digit of b, register of 2s digits):
    # train 1..10 digits, test at every length 11..20
    "short": MultiplicationConfig(train_lengths=tuple(range(1, 11)), ood_lengths=tuple(range(11, 21)),
                                  formats=("plain", "reversed", "inductive")),
}


def hint_set_size(cfg: MultiplicationConfig) -> int:
    """H: the index hints of a preset are h1..hH, enough for the longest length of any split
    (s digits take 2s hints: every number is written over the product's 2s digits)."""
    return 2 * max(cfg.train_lengths + cfg.ood_lengths)


def partial_products(a: np.ndarray, b: np.ndarray, steps: bool) -> np.ndarray:
    """Digits (most significant first, 2s of them) of a × (b mod 10^k).

    With ``steps`` returns (rows, s, 2s): one register per digit k = 1..s of b consumed from
    its least significant end; else (rows, 2s): the full product. Schoolbook: column sums
    first, then one carry pass over the 2s columns (vectorised over rows and steps)."""
    rows, s = a.shape
    a_rev = a[:, ::-1].astype(np.int32)
    b_rev = b[:, ::-1].astype(np.int32)
    if steps:
        raw = np.zeros((rows, s, 2 * s), dtype=np.int32)
        for k in range(s):  # contribution of the k-th least significant digit of b
            raw[:, k, k: k + s] = a_rev * b_rev[:, k: k + 1]
        raw = np.cumsum(raw, axis=1, dtype=np.int32)
    else:
        raw = np.zeros((rows, 2 * s), dtype=np.int32)
        for k in range(s):
            raw[:, k: k + s] += a_rev * b_rev[:, k: k + 1]
    digits = np.empty(raw.shape, dtype=np.int8)
    carry = np.zeros(raw.shape[:-1], dtype=np.int32)
    for col in range(2 * s):  # least significant column first
        value = raw[..., col] + carry
        digits[..., col] = value % 10
        carry = value // 10
    return digits[..., ::-1]


@register
class Multiplication(TwoOperandTask):
    name = "multiplication"
    title = "Multi-digit multiplication"
    sources = ("t2t", "zhou2023")
    formats = ("plain", "reversed", "index_hints", "reversed_index_hints", "inductive")
    vocab = VOCAB
    presets = PRESETS
    description = (
        "Two operands of s digits each (leading digit non-zero); the answer is their product, written with 2s "
        "digits (leading zeros when shorter). Training digit counts are drawn with P(s) ∝ s. `length` is s. "
        "Presets: `zhou2023` (train 1..40, test 41..60, with the zhou2023 `reversed` / `index_hints` variants), "
        "`t2t` (train 1..40, test 400, plain), `short` (train 1..10, test 11..20, with the inductive format). "
        "In the index-hint formats each row's hints are a random run of consecutive hints (offset in "
        "`hint_offset`) from h1..hH, H = 2 × the preset's longest length, in every split, so every hint of a "
        "test length also occurs in training."
    )
    format_docs = {
        "plain": "`a1 … as * b1 … bs =` → `c1 … c2s .` Example: `1 2 * 3 4 =` → `0 4 0 8 .`",
        "reversed": "as plain, the product digits least significant first. Example: `1 2 * 3 4 =` → `8 0 4 0 .`",
        "index_hints": "both operands zero-padded to 2s digits (the product's width), hint token `h(o+i)` before "
        "the i-th digit of every number (i from the left), so a hint marks one significance in all three numbers. "
        "The offset o (column `hint_offset`) is drawn per row, uniform in 0..H - 2s with H = 2 × the preset's "
        "longest length, in every split (training and evaluation alike), so the hints are a random run of "
        "consecutive hints from h1..hH and every hint a test length uses also occurs in training. Example "
        "(o = 2): `h3 0 h4 0 h5 1 h6 2 * h3 0 h4 0 h5 3 h6 4 =` → `h3 0 h4 4 h5 0 h6 8 .` The answer is the "
        "digits after the hints, whatever the hint indices.",
        "reversed_index_hints": "index hints (random offset o, as index_hints) with the product least significant "
        "first: `… =` → `h6 8 h5 0 h4 4 h3 0 .`",
        "inductive": "one state per digit of the second operand, from its least significant: "
        "`[ p p ] d r R1 … R2s` — the 2-digit index p (0-based, from the left) of the digit of b just used, that "
        "digit d, and the register R: the partial product a × (the digits of b from p to the end) accumulated "
        "into 2s digits, most significant first. Each state follows from the question and the previous state "
        "(index p - 1, register + a × d × 10^(s-1-p)); the first state uses the last digit of b. The answer is the "
        "register of the last state. Example: `1 2 * 3 4 =` → `: [ 0 1 ] 4 r 0 0 4 8 # [ 0 0 ] 3 r 0 4 0 8 .`",
    }

    def validate(self, cfg, fmt):
        longest = self.check_lengths(cfg)
        if fmt == "inductive" and longest > 99:
            raise HFReasoningError(
                f"inductive multiplication writes 2-digit indices; allowed: at most 99 digits, got {longest}")
        if fmt in HINT_FORMATS and hint_set_size(cfg) > MAX_HINT:
            raise HFReasoningError(
                f"index hints go up to h{MAX_HINT} (2s hints per number); allowed: at most {MAX_HINT // 2} digits, "
                f"got {longest}")

    def space_log2(self, cfg, fmt, group):
        s = group.length
        return 2 * (math.log2(9) + (s - 1) * math.log2(10))

    def sample(self, cfg, fmt, group, n, rng, layout_rng):
        s = group.length
        a, b = self.operands(rng, n, s)
        arrays = {"a": a, "b": b}
        if fmt in HINT_FORMATS:  # hints h(o+1)..h(o+2s) with o + 2s ≤ H
            arrays["hint_offset"] = layout_rng.integers(0, hint_set_size(cfg) - 2 * s + 1, size=n, dtype=np.int16)
        # the hint offset is not part of the instance (the same question whatever hints mark it),
        # so it stays out of the key that keeps splits disjoint
        return Instances(arrays, np.concatenate([a, b], axis=1).astype(np.int64))

    def to_columns(self, cfg, fmt, inst):
        a, b = inst["a"], inst["b"]
        rows, s = a.shape
        col = lambda tok: np.full((rows, 1), T[tok], dtype=np.int32)  # noqa: E731
        if fmt == "inductive":
            registers = partial_products(a, b, steps=True)  # (rows, s, 2s)
            product = registers[:, -1]
        else:
            product = partial_products(a, b, steps=False)
        if fmt in HINT_FORMATS:
            hints = HINT[inst["hint_offset"][:, None].astype(np.int64) + np.arange(2 * s)]
            pad = np.zeros((rows, s), np.int8)
            hinted = lambda digits: np.stack([hints, DIGIT[digits]], axis=-1)  # noqa: E731
            prompt = np.concatenate([hinted(np.concatenate([pad, a], 1)).reshape(rows, -1), col("*"),
                                     hinted(np.concatenate([pad, b], 1)).reshape(rows, -1), col("=")], axis=1)
            result = hinted(product)
            if fmt == "reversed_index_hints":
                result = result[:, ::-1]
            completion = np.concatenate([result.reshape(rows, -1), col(".")], axis=1)
        else:
            prompt = np.concatenate([DIGIT[a], col("*"), DIGIT[b], col("=")], axis=1)
            if fmt == "inductive":
                width = 6 + 2 * s + 1
                states = np.empty((rows, s, width), dtype=np.int32)
                index = np.arange(s - 1, -1, -1)  # index of the digit of b used at each step
                states[:, :, 0] = T["["]
                states[:, :, 1] = DIGIT[index // 10]
                states[:, :, 2] = DIGIT[index % 10]
                states[:, :, 3] = T["]"]
                states[:, :, 4] = DIGIT[b[:, ::-1]]
                states[:, :, 5] = T["r"]
                states[:, :, 6:-1] = DIGIT[registers]
                states[:, :, -1] = T["#"]
                states[:, -1, -1] = T["."]
                completion = np.concatenate([col(":"), states.reshape(rows, -1)], axis=1)
            else:
                result = product[:, ::-1] if fmt == "reversed" else product
                completion = np.concatenate([DIGIT[result], col(".")], axis=1)
        columns = {
            "prompt": render(prompt, VOCAB),
            "completion": render(completion, VOCAB),
            "answer": digit_strings(product),
            "a": digit_strings(a),
            "b": digit_strings(b),
        }
        if fmt in HINT_FORMATS:
            columns["hint_offset"] = pa.array(inst["hint_offset"], pa.int16())
        return columns

    def parse_answer(self, fmt, completion):
        tokens = split_completion(completion)
        if not tokens:
            return None
        if fmt == "inductive":
            if tokens[0] != ":":
                return None
            last = " ".join(tokens[1:]).split(" # ")[-1].split()
            digits = last[6:] if len(last) > 6 and last[5] == "r" else None
        elif fmt in HINT_FORMATS:
            # (hint, digit) pairs; the digits are the answer whatever the hint indices
            if len(tokens) % 2 or not all(HINT_TOKEN.fullmatch(t) for t in tokens[0::2]):
                return None
            digits = tokens[1::2]
            if fmt == "reversed_index_hints":
                digits = digits[::-1]
        else:
            digits = tokens[::-1] if fmt == "reversed" else tokens
        if not digits or not all(len(d) == 1 and d.isdigit() for d in digits):
            return None
        return "".join(digits)
