"""parity and half parity (abbe2024, zhou2023, abbe2023).

Bits ``b1..bn`` uniform; the answer is their sum mod 2. Half parity draws 2n bits and
asks for the parity of the first n (a task of high globality, abbe2024).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ..errors import HFReasoningError
from ..text import Vocab, list_array, render
from .registry import register
from .base import Instances, Scale, Task, answer_column, length_groups, positive_lengths, random_subsets, split_completion

VOCAB = Vocab([str(d) for d in range(10)] + ["=", ":", "#", ".", "_", "[", "]", ","])
DIGIT = VOCAB.ids(str(d) for d in range(10))
T = VOCAB.id


@dataclass(frozen=True)
class ParityConfig:
    """Bits per example: training lengths (uniform), OOD test lengths, slots of the
    random-space inductive format (D), and half parity (2n bits, parity of the first n)."""

    train_lengths: tuple[int, ...] = tuple(range(1, 31))
    ood_lengths: tuple[int, ...] = (31, 35, 40, 45, 50, 55, 60)
    slots: int = 60
    half: bool = False
    formats: tuple[str, ...] = ("plain", "scratchpad", "inductive")


PRESETS = {
    # abbe2024 §6: train on 1..30 bits in 60 slots, test beyond (inductive: up to ~55 bits)
    "abbe2024": ParityConfig(),
    # a laptop-sized version (issue 7): 32 slots, train 1..10 bits; the test fills at most
    # 20 of 32 slots, since the fill rate, not only the length, is out of distribution
    "laptop": ParityConfig(train_lengths=tuple(range(1, 11)), ood_lengths=(11, 12, 13, 14, 16, 18, 20), slots=32),
    # smaller still, for the quickstart's CPU budget: 24 slots, train 1..8 bits, test to 16;
    # 16 slots, train 1..6 bits, test to 12
    "laptop24": ParityConfig(train_lengths=tuple(range(1, 9)), ood_lengths=(9, 10, 11, 12, 13, 14, 16), slots=24),
    "laptop16": ParityConfig(train_lengths=tuple(range(1, 7)), ood_lengths=(7, 8, 9, 10, 11, 12), slots=16),
    **{
        f"half_n{n}": ParityConfig(train_lengths=(n,), ood_lengths=(), half=True, formats=("plain", "scratchpad"))
        for n in (40, 80, 120, 160, 200)
    },
}


@register
class Parity(Task):
    name = "parity"
    title = "Parity and half parity"
    sources = ("abbe2024", "zhou2023", "abbe2023")
    formats = ("plain", "scratchpad", "inductive")
    vocab = VOCAB
    presets = PRESETS
    paper_scale = Scale(train=1_500_000, validation=10_000, test=10_000, ood=1_000)  # abbe2024: 1.5M rows
    description = (
        "Bits `b1 … bn` drawn uniformly; the answer is `(b1 + … + bn) mod 2`. Half parity "
        "(`half_n*` presets) draws 2n bits and asks for the parity of the first n. `length` is n."
    )
    format_docs = {
        "plain": "prompt `b1 … bn =`, completion `p .` (the answer alone).",
        "scratchpad": "completion `c1 c2 … cn .` where `ci` is the parity of `b1..bi`; the answer is `cn` "
        "(for half parity the running parity of the first n bits).",
        "inductive": "random-space: the n bits sit at random sorted positions among D slots, every other slot "
        "`_`; prompt `slot_0 … slot_{D-1} =`. Completion `: [ p p ] b , r # … # [ D D ] _ , r .`: state i gives "
        "the 2-digit slot index of the i-th bit, that bit and the running parity; the last state points past "
        "the end (slot D, blank) and repeats the final parity, the answer.",
    }

    def validate(self, cfg: ParityConfig, fmt: str) -> None:
        positive_lengths("parity lengths", cfg.train_lengths + cfg.ood_lengths)
        if fmt == "inductive":
            longest = max(cfg.train_lengths + cfg.ood_lengths)
            if longest > cfg.slots:
                raise HFReasoningError(f"parity with {longest} bits does not fit in {cfg.slots} slots; allowed: at most {cfg.slots} bits")
            if not 1 <= cfg.slots <= 99:
                raise HFReasoningError(f"slots={cfg.slots} needs 2-digit indices; allowed: 1..99")

    def train_groups(self, cfg):
        return length_groups(cfg.train_lengths)

    def ood_groups(self, cfg):
        return [g for g, _ in length_groups(cfg.ood_lengths)]

    def space_log2(self, cfg, fmt, group):
        n = group.length
        bits = 2 * n if cfg.half else n
        if fmt == "inductive":
            return bits + math.log2(math.comb(cfg.slots, n))
        return bits

    def sample(self, cfg, fmt, group, n, rng, layout_rng):
        length = group.length
        width = 2 * length if cfg.half else length
        # 8 uniform bits per random byte: far fewer draws than one integer per bit
        packed = np.frombuffer(rng.bytes(n * (-(-width // 8))), dtype=np.uint8).reshape(n, -1)
        bits = np.unpackbits(packed, axis=1, count=width).astype(np.int8)
        arrays = {"bits": bits}
        key = bits.astype(np.int64)
        if fmt == "inductive":
            positions = random_subsets(layout_rng, n, cfg.slots, length).astype(np.int16)
            arrays["positions"] = positions
            key = np.concatenate([key, positions], axis=1)
        return Instances(arrays, key)

    def to_columns(self, cfg, fmt, inst):
        bits = inst["bits"]
        rows, width = bits.shape
        n = width // 2 if cfg.half else width
        # running parity; accumulating along the contiguous axis is much faster than along rows
        running = np.bitwise_xor.accumulate(np.ascontiguousarray(bits[:, :n].T), axis=0).T
        answer = running[:, -1]
        if fmt == "inductive":
            prompt = np.full((rows, cfg.slots + 1), T["_"], dtype=np.int32)
            np.put_along_axis(prompt, inst["positions"].astype(np.int64), DIGIT[bits], axis=1)
            prompt[:, -1] = T["="]
            # (rows, n + 1 states, 8 tokens): "[ t u ] b , r" then "#" (or "." after the last)
            states = np.empty((rows, n + 1, 8), dtype=np.int32)
            slot = np.concatenate([inst["positions"], np.full((rows, 1), cfg.slots)], axis=1).astype(np.int64)
            states[:, :, 0] = T["["]
            states[:, :, 1] = DIGIT[slot // 10]
            states[:, :, 2] = DIGIT[slot % 10]
            states[:, :, 3] = T["]"]
            states[:, :n, 4] = DIGIT[bits]
            states[:, n, 4] = T["_"]
            states[:, :, 5] = T[","]
            states[:, :n, 6] = DIGIT[running]
            states[:, n, 6] = DIGIT[answer]
            states[:, :, 7] = T["#"]
            states[:, n, 7] = T["."]
            completion = np.concatenate([np.full((rows, 1), T[":"], dtype=np.int32), states.reshape(rows, -1)], axis=1)
        else:
            prompt = np.concatenate([DIGIT[bits], np.full((rows, 1), T["="], dtype=np.int32)], axis=1)
            body = DIGIT[running] if fmt == "scratchpad" else DIGIT[answer][:, None]
            completion = np.concatenate([body, np.full((rows, 1), T["."], dtype=np.int32)], axis=1)
        columns = {
            "prompt": render(prompt, VOCAB),
            "completion": render(completion, VOCAB),
            "answer": answer_column(answer),
            "bits": list_array(bits, pa.int8()),
        }
        if fmt == "inductive":
            columns["positions"] = list_array(inst["positions"], pa.int16())
        return columns

    def parse_answer(self, fmt, completion):
        tokens = split_completion(completion)
        if not tokens:
            return None
        if fmt == "inductive":
            # the answer is the running parity of the last state: "[ D D ] _ , r"
            last = " ".join(tokens).split(" # ")[-1].split()
            answer = last[-1] if len(last) == 7 and last[5] == "," else None
        else:
            # plain is `p .`; scratchpad ends with the running parity of all n bits
            answer = tokens[-1] if fmt == "scratchpad" or len(tokens) == 1 else None
        return answer if answer in ("0", "1") else None
