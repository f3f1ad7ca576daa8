"""The classic algorithmic suite (zhou2023, t2t, vinyals2015): count, mode, copy, reverse, sort.

Every task works on *numbers as tokens*: the number ``k`` is the single token ``"k"``
(``0`` … ``999``), and a preset's ``numbers`` field fixes its vocabulary, the tokens
``0 … numbers-1`` (the vocabulary knob of the small- and large-vocabulary presets).

* ``count``: prompt ``a b =``, completion ``a a+1 … b .``; ``length`` = b - a + 1.
* ``mode``: the most frequent number of a sequence, ties broken by the smallest.
* ``copy``: the sequence itself; *unique tokens* (``unique=True``, numbers drawn without
  replacement) and *repeated tokens* (``unique=False``, drawn with replacement) are two
  distributions, hence presets (``zhou2023`` / ``zhou2023_repeat``), not formats.
* ``reverse``: the sequence backwards.
* ``sort``: the sequence in ascending order (``zhou2023``: unique numbers; ``t2t``: with
  repetitions).

Every prompt ends in ``=`` (TASKS.md §1: the question ends in its separator). ``length`` is
the number of elements of the sequence (for count: of the answer).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import HFReasoningError
from ..text import Vocab, list_array, render
from . import register
from .base import Instances, Task, length_groups, positive_lengths, split_completion

MAX_NUMBER = 1000  # number tokens 0..999
MAX_HINT = 400  # index hints h1..h400
VOCAB = Vocab([str(i) for i in range(MAX_NUMBER)] + ["=", ":", "#", ".", ","]
              + [f"h{i}" for i in range(1, MAX_HINT + 1)])
NUM = VOCAB.ids(str(i) for i in range(MAX_NUMBER))
HINT = VOCAB.ids(f"h{i}" for i in range(1, MAX_HINT + 1))
T = VOCAB.id

ZHOU_TRAIN = tuple(range(1, 41))
ZHOU_OOD = tuple(range(41, 61))
T2T_OOD = (400,)


@dataclass(frozen=True)
class SequenceConfig:
    """Sequence lengths: training lengths (uniform), OOD test lengths; ``numbers``: the
    vocabulary is the number tokens ``0 … numbers-1``; ``unique``: draw the numbers of a
    sequence without replacement (copy and sort with unique tokens)."""

    train_lengths: tuple[int, ...] = ZHOU_TRAIN
    ood_lengths: tuple[int, ...] = ZHOU_OOD
    numbers: int = 100
    unique: bool = False
    formats: tuple[str, ...] = ("plain",)


def _col(rows: int, token: str) -> np.ndarray:
    return np.full((rows, 1), T[token], dtype=np.int32)


def _hinted(values: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """``h(p+1) value`` pairs: (rows, n) numbers and their 0-based source positions."""
    rows, n = values.shape
    hints = np.broadcast_to(HINT[positions], (rows, n))
    return np.stack([hints, NUM[values]], axis=-1).reshape(rows, -1)


def _strip_hints(tokens: list[str]) -> list[str] | None:
    """Values of ``h_i v_i`` pairs (None unless every even token is a hint)."""
    if len(tokens) % 2 or not all(t.startswith("h") for t in tokens[0::2]):
        return None
    return tokens[1::2]


def _numbers(tokens: list[str] | None) -> str | None:
    if not tokens or not all(t.isdigit() for t in tokens):
        return None
    return " ".join(tokens)


def bounded_integers(rng: np.random.Generator, high: np.ndarray, rows: int) -> np.ndarray:
    """``rng.integers(0, high, size=(rows, len(high)))`` for bounds ``2 ≤ high < 2**32``: the same
    numbers, and the same generator state after, at about half the cost.

    numpy draws an integer below such a bound by Lemire's method on the generator's 32-bit
    words: a word times ``high``, whose high half is the number, unless its low half falls
    below ``(2**32 - high) % high`` (then that word is rejected and the next one tried). Here
    one block of words is drawn and scaled at once; in the rare case (probability below
    ``high / 2**32`` per number) that a word would be rejected, the generator is rewound and
    numpy draws element by element."""
    high = np.asarray(high, dtype=np.uint64)
    saved = rng.bit_generator.state
    scaled = rng.integers(0, 2**32, size=(rows, high.size), dtype=np.uint32) * high  # < 2**64: no overflow
    if ((scaled & 0xFFFFFFFF) < (2**32 - high) % high).any():
        rng.bit_generator.state = saved
        return rng.integers(0, high.astype(np.int64), size=(rows, high.size))
    return (scaled >> 32).astype(np.int64)


def distinct_sequences(rng: np.random.Generator, rows: int, numbers: int, k: int) -> np.ndarray:
    """``k`` distinct numbers of ``0 … numbers-1`` per row in uniformly random order: the first
    ``k`` steps of a Fisher–Yates shuffle, vectorised over rows (a loop over the k positions)."""
    perm = np.tile(np.arange(numbers, dtype=np.int16), (rows, 1))
    if k == 0 or rows == 0:
        return perm[:, :k]
    # the swap partner of position i is uniform in i..numbers-1; with one position left
    # (i = numbers - 1) there is no choice and nothing is drawn
    drawn = min(k, numbers - 1)
    partner = np.arange(k) + np.pad(bounded_integers(rng, numbers - np.arange(drawn), rows), ((0, 0), (0, k - drawn)))
    there = np.arange(rows)[:, None] * numbers + partner  # flat position of each partner
    flat = perm.reshape(-1)
    for i in range(k):  # swap position i of every row with its partner
        held = perm[:, i].copy()
        perm[:, i] = flat[there[:, i]]
        flat[there[:, i]] = held
    return perm[:, :k]


def without_end(completion: pa.Array) -> pa.Array:
    """``"x1 … xm ."`` → ``"x1 … xm"``: the answer of a plain completion, without rendering it again."""
    return pc.utf8_slice_codeunits(completion, 0, -2)


def with_last_char(text: pa.Array, char: str) -> pa.Array:
    """The same strings with their last (ASCII) character replaced, e.g. a copy prompt's ``=``
    by the completion's ``.`` (one copy of the bytes instead of a second rendering)."""
    offsets_type = np.int64 if pa.types.is_large_string(text.type) else np.int32
    _, offsets_buf, data_buf = text.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=offsets_type)[text.offset: text.offset + len(text) + 1]
    data = np.frombuffer(data_buf, dtype=np.uint8)[offsets[0]: offsets[-1]].copy()
    data[offsets[1:] - offsets[0] - 1] = ord(char)
    return type(text).from_buffers(len(text), pa.py_buffer(offsets - offsets[0]), pa.py_buffer(data))


class SequenceTask(Task):
    """Shared pieces of the tasks on a sequence of numbers."""

    allow_unique = True

    def validate(self, cfg, fmt):
        positive_lengths(f"{self.name} lengths", cfg.train_lengths + cfg.ood_lengths)
        if not 1 <= cfg.numbers <= MAX_NUMBER:
            raise HFReasoningError(f"{self.name} numbers={cfg.numbers} is out of range; allowed: 1..{MAX_NUMBER}")
        longest = max(cfg.train_lengths + cfg.ood_lengths)
        if cfg.unique and not self.allow_unique:
            raise HFReasoningError(
                f"{self.name} with unique=True makes every number a tie (the answer is just the minimum); "
                f"allowed: unique=False")
        if cfg.unique and longest > cfg.numbers:
            raise HFReasoningError(
                f"{self.name} with unique tokens of length {longest} needs at least {longest} numbers, got "
                f"numbers={cfg.numbers}; allowed: lengths up to {cfg.numbers}")
        if fmt == "inductive" and longest >= MAX_NUMBER:
            raise HFReasoningError(f"inductive {self.name} counts copies with number tokens; allowed: lengths up to "
                                   f"{MAX_NUMBER - 1}, got {longest}")
        if fmt == "index_hints" and longest > MAX_HINT:
            raise HFReasoningError(
                f"index hints go up to h{MAX_HINT}; allowed: lengths up to {MAX_HINT}, got {longest}")

    def train_groups(self, cfg):
        return length_groups(cfg.train_lengths)

    def ood_groups(self, cfg):
        return [g for g, _ in length_groups(cfg.ood_lengths)]

    def space_log2(self, cfg, fmt, group):
        n, N = group.length, cfg.numbers
        if cfg.unique:  # ordered n-subsets of N numbers: N! / (N - n)!
            return (math.lgamma(N + 1) - math.lgamma(N - n + 1)) / math.log(2)
        return n * math.log2(N)

    def sample(self, cfg, fmt, group, n, rng, layout_rng):
        length = group.length
        if cfg.unique:
            seq = distinct_sequences(rng, n, cfg.numbers, length)
        else:
            seq = rng.integers(0, cfg.numbers, size=(n, length))
        seq = seq.astype(np.int16)
        return Instances({"sequence": seq}, seq.astype(np.int64))

    def output(self, cfg, seq: np.ndarray) -> np.ndarray:
        """The answer sequence (rows, m) of numbers."""
        raise NotImplementedError

    def to_columns(self, cfg, fmt, inst):
        seq = inst["sequence"].astype(np.int64)
        rows, n = seq.shape
        out = self.output(cfg, seq)
        positions = np.arange(n)
        if fmt == "index_hints":
            prompt = render(np.concatenate([_hinted(seq, positions), _col(rows, "=")], axis=1), VOCAB)
            if self.name == "copy":  # the completion is the prompt, ending in `.`
                completion = with_last_char(prompt, ".")
            else:
                body = _hinted(out, self.output(cfg, positions[None, :])[0])
                completion = render(np.concatenate([body, _col(rows, ".")], axis=1), VOCAB)
            answer = render(NUM[out], VOCAB)
        else:
            prompt = render(np.concatenate([NUM[seq], _col(rows, "=")], axis=1), VOCAB)
            if fmt == "plain":
                completion = with_last_char(prompt, ".") if self.name == "copy" else render(
                    np.concatenate([NUM[out], _col(rows, ".")], axis=1), VOCAB)
                answer = without_end(completion)
            else:
                completion = render(self.completion(fmt, seq, out), VOCAB)
                answer = render(NUM[out], VOCAB)
        return {
            "prompt": prompt,
            "completion": completion,
            "answer": answer,
            "sequence": list_array(inst["sequence"], pa.int16()),
        }

    def completion(self, fmt, seq, out):
        """The token matrix of a completion in a task-specific format."""
        raise NotImplementedError

    def parse_answer(self, fmt, completion):
        tokens = split_completion(completion)
        if tokens and fmt == "index_hints":
            tokens = _strip_hints(tokens)
        return _numbers(tokens)


# -- count ---------------------------------------------------------------------------------

@register
class Count(SequenceTask):
    name = "count"
    title = "Count from a to b"
    sources = ("zhou2023",)
    formats = ("plain",)
    vocab = VOCAB
    presets = {
        # zhou2023: train on counts of 1..40 numbers, test at every length 41..60
        "zhou2023": SequenceConfig(numbers=150),
        "zhou2023_small_vocab": SequenceConfig(numbers=64),
        "zhou2023_large_vocab": SequenceConfig(numbers=1000),
    }
    description = (
        "Two numbers `a ≤ b` (single tokens from `0 … numbers-1`); the answer is every number from `a` to `b`. "
        "`length` is `b - a + 1`, the number of answer tokens; `a` is uniform over the starts that fit the "
        "vocabulary. The instance space of a length is tiny (`numbers - length + 1` starts), so its splits "
        "share instances (see Disjoint splits); the OOD lengths themselves are never seen in training. "
        "Presets: `zhou2023` (numbers 0..149), `zhou2023_small_vocab` (0..63), `zhou2023_large_vocab` (0..999). "
        "`answer` holds the answer numbers joined by single spaces; the structured instance is `start`, `end`."
    )
    format_docs = {
        "plain": "prompt `a b =`, completion `a a+1 … b .`; the answer is the completion without `.`. "
        "Example: `3 7 =` → `3 4 5 6 7 .`",
    }

    def validate(self, cfg, fmt):
        super().validate(cfg, fmt)
        longest = max(cfg.train_lengths + cfg.ood_lengths)
        if longest > cfg.numbers:
            raise HFReasoningError(
                f"count of length {longest} needs {longest} numbers, got numbers={cfg.numbers}; "
                f"allowed: lengths up to {cfg.numbers}")

    def space_log2(self, cfg, fmt, group):
        return math.log2(cfg.numbers - group.length + 1)

    def sample(self, cfg, fmt, group, n, rng, layout_rng):
        start = rng.integers(0, cfg.numbers - group.length + 1, size=n).astype(np.int16)
        end = (start + (group.length - 1)).astype(np.int16)
        return Instances({"start": start, "end": end}, start.astype(np.int64)[:, None])

    def to_columns(self, cfg, fmt, inst):
        start, end = inst["start"].astype(np.int64), inst["end"].astype(np.int64)
        rows = start.shape[0]
        n = int(end[0] - start[0] + 1) if rows else 0
        out = start[:, None] + np.arange(n)
        prompt = np.stack([NUM[start], NUM[end], np.full(rows, T["="], dtype=np.int32)], axis=1)
        completion = render(np.concatenate([NUM[out], _col(rows, ".")], axis=1), VOCAB)
        return {
            "prompt": render(prompt, VOCAB),
            "completion": completion,
            "answer": without_end(completion),
            "start": pa.array(inst["start"], pa.int16()),
            "end": pa.array(inst["end"], pa.int16()),
        }


# -- mode ----------------------------------------------------------------------------------

def mode_of(seq: np.ndarray, numbers: int) -> np.ndarray:
    """Most frequent number per row, ties broken by the smallest (vectorised bincount)."""
    rows = seq.shape[0]
    flat = (np.arange(rows)[:, None] * numbers + seq).reshape(-1)
    counts = np.bincount(flat, minlength=rows * numbers).reshape(rows, numbers)
    return counts.argmax(axis=1)  # argmax returns the first (smallest) of the tied numbers


@register
class Mode(SequenceTask):
    name = "mode"
    title = "Mode of a sequence"
    sources = ("zhou2023",)
    formats = ("plain",)
    vocab = VOCAB
    presets = {
        "zhou2023": SequenceConfig(numbers=10),
        "zhou2023_small_vocab": SequenceConfig(numbers=4),
        "zhou2023_large_vocab": SequenceConfig(numbers=100),
    }
    allow_unique = False
    description = (
        "A sequence of numbers drawn uniformly with replacement from `0 … numbers-1`; the answer is its most "
        "frequent number, ties broken by the smallest. `length` is the sequence length. Presets: `zhou2023` "
        "(numbers 0..9), `zhou2023_small_vocab` (0..3), `zhou2023_large_vocab` (0..99; ties are frequent there, "
        "and the tie rule then decides the answer)."
    )
    format_docs = {
        "plain": "prompt `x1 … xn =`, completion `m .`. Example: `3 1 3 1 2 =` → `1 .` (1 and 3 tie; 1 is smaller)",
    }

    def output(self, cfg, seq):
        return mode_of(seq, cfg.numbers)[:, None]


# -- copy and reverse ------------------------------------------------------------------------

COPY_FORMATS = ("plain", "index_hints")


@register
class Copy(SequenceTask):
    name = "copy"
    title = "Copy a sequence (unique or repeated tokens)"
    sources = ("zhou2023", "t2t")
    formats = COPY_FORMATS
    vocab = VOCAB
    presets = {
        # unique tokens: numbers drawn without replacement
        "zhou2023": SequenceConfig(numbers=100, unique=True, formats=COPY_FORMATS),
        "zhou2023_small_vocab": SequenceConfig(numbers=64, unique=True, formats=COPY_FORMATS),
        "zhou2023_large_vocab": SequenceConfig(numbers=1000, unique=True, formats=COPY_FORMATS),
        # repeated tokens: numbers drawn with replacement
        "zhou2023_repeat": SequenceConfig(numbers=10, formats=COPY_FORMATS),
        "zhou2023_repeat_small_vocab": SequenceConfig(numbers=2, formats=COPY_FORMATS),
        # tensor2tensor algorithmic_identity_decimal40: 10 symbols, train 1..40, eval 400
        "t2t": SequenceConfig(ood_lengths=T2T_OOD, numbers=10),
    }
    description = (
        "A sequence of numbers from `0 … numbers-1`; the answer is the sequence itself. Unique tokens (drawn "
        "without replacement, presets `zhou2023`, `zhou2023_small_vocab`, `zhou2023_large_vocab` with 100, 64, "
        "1000 numbers) and repeated tokens (drawn with replacement: `zhou2023_repeat` with 10 numbers, "
        "`zhou2023_repeat_small_vocab` with 2, `t2t` with 10) are different distributions, so they are presets. "
        "`length` is the sequence length; `answer` holds the answer numbers joined by single spaces."
    )
    format_docs = {
        "plain": "prompt `x1 … xn =`, completion `x1 … xn .`. Example: `7 2 9 =` → `7 2 9 .`",
        "index_hints": "zhou2023 index hints: hint token `hi` before the i-th element, in the prompt and in the "
        "completion; the answer is the completion without its hints. "
        "Example: `h1 7 h2 2 h3 9 =` → `h1 7 h2 2 h3 9 .`",
    }

    def output(self, cfg, seq):
        return seq


@register
class Reverse(SequenceTask):
    name = "reverse"
    title = "Reverse a sequence"
    sources = ("zhou2023", "t2t")
    formats = COPY_FORMATS
    vocab = VOCAB
    presets = {
        "zhou2023": SequenceConfig(numbers=10, formats=COPY_FORMATS),
        "zhou2023_small_vocab": SequenceConfig(numbers=2, formats=COPY_FORMATS),
        "zhou2023_large_vocab": SequenceConfig(numbers=1000, formats=COPY_FORMATS),
        # tensor2tensor algorithmic_reverse_decimal40: 10 symbols, train 1..40, eval 400
        "t2t": SequenceConfig(ood_lengths=T2T_OOD, numbers=10),
    }
    description = (
        "A sequence of numbers drawn with replacement from `0 … numbers-1`; the answer is the sequence "
        "backwards. `length` is the sequence length. Presets: `zhou2023` (numbers 0..9), `zhou2023_small_vocab` "
        "(0..1), `zhou2023_large_vocab` (0..999), `t2t` (0..9, train 1..40, test 400). `answer` holds the answer "
        "numbers joined by single spaces."
    )
    format_docs = {
        "plain": "prompt `x1 … xn =`, completion `xn … x1 .`. Example: `7 2 9 =` → `9 2 7 .`",
        "index_hints": "zhou2023 index hints: hint token `hi` before the i-th element of the prompt; each "
        "element of the completion keeps the hint of its source position, so the completion's hints count "
        "down. The answer is the completion without its hints. Example: `h1 7 h2 2 h3 9 =` → `h3 9 h2 2 h1 7 .`",
    }

    def output(self, cfg, seq):
        return seq[:, ::-1]


# -- sort ------------------------------------------------------------------------------------

SORT_FORMATS = ("plain", "inductive")


def sort_states(seq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The sorted numbers and, for each, how many copies of it are emitted so far (1, 2, …)."""
    out = np.sort(seq, axis=1)
    rows, n = out.shape
    index = np.broadcast_to(np.arange(n), (rows, n))
    run_start = np.ones((rows, n), dtype=bool)
    run_start[:, 1:] = out[:, 1:] != out[:, :-1]
    first = np.maximum.accumulate(np.where(run_start, index, 0), axis=1)
    return out, index - first + 1


@register
class Sort(SequenceTask):
    name = "sort"
    title = "Sort a sequence of numbers"
    sources = ("zhou2023", "vinyals2015", "t2t")
    formats = SORT_FORMATS
    vocab = VOCAB
    presets = {
        # unique numbers (zhou2023 sort)
        "zhou2023": SequenceConfig(numbers=100, unique=True, formats=SORT_FORMATS),
        "zhou2023_small_vocab": SequenceConfig(numbers=64, unique=True, formats=SORT_FORMATS),
        "zhou2023_large_vocab": SequenceConfig(numbers=1000, unique=True, formats=SORT_FORMATS),
        # with repetitions
        "zhou2023_repeat": SequenceConfig(numbers=10, formats=SORT_FORMATS),
        # tensor2tensor sort: train 1..40, eval 400 (numbers with repetitions, plain only: long texts)
        "t2t": SequenceConfig(ood_lengths=T2T_OOD, numbers=1000),
    }
    description = (
        "A sequence of numbers from `0 … numbers-1`; the answer is the sequence in ascending order. Presets "
        "`zhou2023`, `zhou2023_small_vocab`, `zhou2023_large_vocab` draw unique numbers (100, 64, 1000 numbers); "
        "`zhou2023_repeat` (10 numbers) and `t2t` (1000 numbers, train 1..40, test 400) draw with replacement. "
        "`length` is the sequence length; `answer` holds the sorted numbers joined by single spaces."
    )
    format_docs = {
        "plain": "prompt `x1 … xn =`, completion `y1 … yn .` (ascending). Example: `7 2 9 2 =` → `2 2 7 9 .`",
        "inductive": "one state per emitted element: `: v , c # v , c # … # v , c .` where `v` is the next "
        "number of the sorted output and `c` counts the copies of `v` emitted so far (1 for the first). Each "
        "state is a function of the question and the previous state `(v, c)`: if the question holds more than "
        "`c` copies of `v`, the next state is `(v, c + 1)`, else `(v', 1)` with `v'` the smallest number of the "
        "question above `v`; after the largest number's last copy comes `.`. The answer is the `v` of the states "
        "in order (the last state holds the maximum). Example: `7 2 9 2 =` → `: 2 , 1 # 2 , 2 # 7 , 1 # 9 , 1 .`",
    }

    def output(self, cfg, seq):
        return np.sort(seq, axis=1)

    def completion(self, fmt, seq, out):
        rows, n = seq.shape
        values, copies = sort_states(seq)
        states = np.empty((rows, n, 4), dtype=np.int32)
        states[:, :, 0] = NUM[values]
        states[:, :, 1] = T[","]
        states[:, :, 2] = NUM[copies]
        states[:, :, 3] = T["#"]
        states[:, -1, 3] = T["."]
        return np.concatenate([_col(rows, ":"), states.reshape(rows, -1)], axis=1)

    def parse_answer(self, fmt, completion):
        if fmt != "inductive":
            return super().parse_answer(fmt, completion)
        tokens = split_completion(completion)
        if not tokens or tokens[0] != ":":
            return None
        states = " ".join(tokens[1:]).split(" # ")
        values = []
        for state in states:
            parts = state.split()
            if len(parts) != 3 or parts[1] != ",":
                return None
            values.append(parts[0])
        return _numbers(values)
