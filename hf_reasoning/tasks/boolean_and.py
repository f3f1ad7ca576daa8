"""boolean_and (zhou2023): the counterexample to the min-degree interpolator.

n bits (20), label the AND of all of them. In training the last ``frozen`` bits (5) are
always 1; at test they vary. Labels are balanced in every group: half of the rows (rounded
up) are the all-ones input (label 1), the others a uniform draw among the group's label-0
inputs:

* ``seen`` (train / validation / test): the last ``frozen`` bits are 1, the first
  ``n - frozen`` bits uniform among the patterns that are not all ones;
* ``unseen`` (ood): the last ``frozen`` bits uniform among the patterns that are not all
  ones, the first bits uniform;
* ``unseen_hard`` (ood): the first ``n - frozen`` bits all 1, the last ``frozen`` bits not
  all ones. These are exactly the inputs where the min-degree interpolator of the training
  data (the AND of the first ``n - frozen`` bits) is wrong, while a Transformer reaches 100%.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ..errors import HFReasoningError
from ..text import Vocab, list_array, render
from .registry import register
from .base import Group, Instances, Task, answer_column, split_completion

VOCAB = Vocab(["0", "1", "=", "."])
T = VOCAB.id
GROUPS = ("seen", "unseen", "unseen_hard")


@dataclass(frozen=True)
class BooleanAndConfig:
    """``bits`` inputs, the last ``frozen`` of them always 1 in training."""

    bits: int = 20
    frozen: int = 5
    formats: tuple[str, ...] = ("plain",)


def _binary(values: np.ndarray, width: int) -> np.ndarray:
    """(rows,) integers → (rows, width) bits, least significant bit first."""
    return ((values[:, None] >> np.arange(width, dtype=np.int64)) & 1).astype(np.int8)


@register
class BooleanAnd(Task):
    name = "boolean_and"
    title = "Boolean AND with frozen training bits"
    sources = ("zhou2023",)
    formats = ("plain",)
    vocab = VOCAB
    presets = {"zhou2023": BooleanAndConfig()}
    description = (
        "20 bits; the label is their AND. In training (`seen`: train, validation and test splits) the last 5 "
        "bits are always 1; the `ood` split varies them: group `unseen` (last 5 bits not all 1, the first 15 "
        "uniform) and group `unseen_hard` (first 15 bits all 1, last 5 not all 1: where the min-degree "
        "interpolator of the training data, the AND of the first 15 bits, answers 1 and is wrong). Labels are "
        "balanced in every group: half of the rows (rounded up) are the all-ones input (label 1), the others a "
        "uniform label-0 input of the group. There is a single label-1 input, so every split repeats it. "
        "`length` is the number of bits (20); `group` is `seen`, `unseen` or `unseen_hard`."
    )
    format_docs = {
        "plain": "prompt `b1 … b20 =`, completion `y .` with y the AND of the bits. "
        "Example: `1 1 0 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 =` → `0 .`",
    }

    def validate(self, cfg, fmt):
        if not 2 <= cfg.bits <= 62:
            raise HFReasoningError(f"boolean_and bits={cfg.bits} is out of range; allowed: 2..62")
        if not 1 <= cfg.frozen < cfg.bits:
            raise HFReasoningError(f"boolean_and frozen={cfg.frozen} is out of range; allowed: 1..{cfg.bits - 1}")

    def train_groups(self, cfg):
        return [(Group("seen", cfg.bits, "seen"), 1.0)]

    def ood_groups(self, cfg):
        return [Group("unseen", cfg.bits, "unseen"), Group("unseen_hard", cfg.bits, "unseen_hard")]

    def space_log2(self, cfg, fmt, group):
        free, frozen = cfg.bits - cfg.frozen, cfg.frozen
        label0 = {"seen": 2**free - 1, "unseen": 2**free * (2**frozen - 1), "unseen_hard": 2**frozen - 1}[group.params]
        return math.log2(label0 + 1)

    def sample(self, cfg, fmt, group, n, rng, layout_rng):
        free, frozen = cfg.bits - cfg.frozen, cfg.frozen
        ones = rng.permutation(n) % 2 == 0  # label-1 rows: ceil(n / 2) of them
        # label-0 inputs: integers below 2^w - 1 are exactly the w-bit patterns that are not all ones
        if group.params == "seen":
            first = _binary(rng.integers(0, 2**free - 1, size=n), free)
            last = np.ones((n, frozen), np.int8)
        elif group.params == "unseen":
            first = _binary(rng.integers(0, 2**free, size=n), free)
            last = _binary(rng.integers(0, 2**frozen - 1, size=n), frozen)
        else:
            first = np.ones((n, free), np.int8)
            last = _binary(rng.integers(0, 2**frozen - 1, size=n), frozen)
        bits = np.concatenate([first, last], axis=1)
        bits[ones] = 1
        return Instances({"bits": bits}, bits.astype(np.int64))

    def to_columns(self, cfg, fmt, inst):
        bits = inst["bits"]
        rows = bits.shape[0]
        label = bits.min(axis=1).astype(np.int8) if bits.shape[1] else np.ones(rows, np.int8)
        prompt = np.concatenate([bits.astype(np.int32), np.full((rows, 1), T["="], np.int32)], axis=1)
        completion = np.stack([label.astype(np.int32), np.full(rows, T["."], np.int32)], axis=1)
        return {
            "prompt": render(prompt, VOCAB),
            "completion": render(completion, VOCAB),
            "answer": answer_column(label),
            "bits": list_array(bits, pa.int8()),
        }

    def parse_answer(self, fmt, completion):
        tokens = split_completion(completion)
        return tokens[0] if tokens and len(tokens) == 1 and tokens[0] in ("0", "1") else None
