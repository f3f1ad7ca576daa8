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

Every prompt ends in ``=`` (docs/formats.md: the question ends in its separator). ``length`` is
the number of elements of the sequence (for count: of the answer).

Index hints (copy, reverse; zhou2023 and its follow-up, Zhou et al. 2024). As for addition
(see ``addition.py``): the hints of one example are a random run of *consecutive* hints out of
``h1 … hH``, H = the preset's longest length of any split, so that every hint a test length
needs also occurs in training (hints always starting at ``h1`` would show a model trained on
n ≤ 40 the hints ``h41 … h60`` only at test time). A sequence of n elements takes the hints
``h(o+1) … h(o+n)``, the offset o uniform in 0..H − n, drawn from the layout stream in every
split; it is not part of the instance (the same question whatever its hints), so it stays out
of the key that keeps the splits disjoint. An OOD example at the longest length has o = 0.

Speed (``benchmarks/bench_generate.py``). A text column is one Arrow ``take`` from a table of
text *pieces* (a token and the space after it, a row's last token bare, two numbers below 100
at once, or a whole sort state ``v , 1 #``): every row here has a fixed width, so a matrix of
piece ids is the whole column (:func:`render_pieces`), and a take costs per piece. Rows of single
digits are written as bytes directly (:func:`number_text`). Unique sequences come from a
Fisher–Yates shuffle vectorised over the rows (:func:`distinct_sequences`).
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import HFReasoningError
from ..text import Vocab, list_array, string_array
from .registry import register
from .base import Instances, Task, length_groups, positive_lengths, split_completion

MAX_NUMBER = 1000  # number tokens 0..999
MAX_HINT = 400  # index hints h1..h400
ONE_CHAR = 10  # numbers below this are written with one character (see number_text)
PAIRED = 100  # numbers below this are also written two to a text piece (see number_text)
VOCAB = Vocab([str(i) for i in range(MAX_NUMBER)] + ["=", ":", "#", ".", ","]
              + [f"h{i}" for i in range(1, MAX_HINT + 1)])
HINT_TOKEN = re.compile(r"h[1-9][0-9]*")

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


# -- text pieces -----------------------------------------------------------------------------

class Pieces:
    """Ids of the text pieces (:data:`PIECES`) the rows of this module are made of."""

    NUMBER = 0  # "v " (v = 0 … 999): a number and the space after it
    LAST_NUMBER = NUMBER + MAX_NUMBER  # "v": a row's last number
    HINT = LAST_NUMBER + MAX_NUMBER  # "hi " (i = 1 … MAX_HINT) at HINT + i - 1
    EQUALS = HINT + MAX_HINT  # "=": the end of every prompt
    END = EQUALS + 1  # ".": the end of every completion
    COLON = END + 1  # ": ": the start of an inductive completion
    STATE_VALUE = COLON + 1  # "v , ": the value of a sort state
    STATE_COPIES = STATE_VALUE + MAX_NUMBER  # "c # ": the copy count of a sort state, then the next state
    LAST_COPIES = STATE_COPIES + MAX_NUMBER  # "c .": the copy count of the last sort state, then the end
    FIRST_COPY = LAST_COPIES + MAX_NUMBER  # "v , 1 # ": a whole sort state of a first copy
    LAST_FIRST_COPY = FIRST_COPY + MAX_NUMBER  # "v , 1 .": the same as the last state
    # two numbers a, b < PAIRED in one piece "a b " at PAIR + a + 256 b (the bytes a, b read as one
    # little-endian uint16); b = ALONE gives "a " alone (the odd one out); other ids are empty
    PAIR = LAST_FIRST_COPY + MAX_NUMBER
    ALONE = 255
    TOTAL = PAIR + 256 * 256


def _pair_pieces() -> list[str]:
    pieces = [""] * (256 * 256)
    for a in range(PAIRED):
        for b in range(PAIRED):
            pieces[a + 256 * b] = f"{a} {b} "
        pieces[a + 256 * Pieces.ALONE] = f"{a} "
    return pieces


PIECES = ([f"{v} " for v in range(MAX_NUMBER)] + [str(v) for v in range(MAX_NUMBER)]
          + [f"h{i} " for i in range(1, MAX_HINT + 1)] + ["=", ".", ": "]
          + [f"{v} , " for v in range(MAX_NUMBER)] + [f"{c} # " for c in range(MAX_NUMBER)]
          + [f"{c} ." for c in range(MAX_NUMBER)]
          + [f"{v} , 1 # " for v in range(MAX_NUMBER)] + [f"{v} , 1 ." for v in range(MAX_NUMBER)]
          + _pair_pieces())
assert len(PIECES) == Pieces.TOTAL
PIECE_STRINGS = pa.array(PIECES, pa.string())
MAX_PIECE_BYTES = max(len(piece) for piece in PIECES)


@functools.cache
def _large_piece_strings() -> pa.Array:
    """The pieces with 64-bit offsets, for a column of more than 2 GiB of text."""
    return PIECE_STRINGS.cast(pa.large_string())


def render_pieces(ids: np.ndarray) -> pa.Array:
    """The text of each row of a (rows, width) matrix of piece ids: its pieces back to back.

    One Arrow ``take`` writes the pieces of all rows into one buffer, which is the column's text;
    a row ends where its last piece ends (every ``width``-th piece offset). This is
    :func:`hf_reasoning.text.render` for rows of a known width whose spaces are in the pieces
    (so a piece may hold several tokens), without render's scans of the ids."""
    rows, width = ids.shape
    large = ids.size * MAX_PIECE_BYTES >= 2**31  # int32 offsets hold at most 2 GiB of text
    table = _large_piece_strings() if large else PIECE_STRINGS
    text = table.take(pa.array(ids.reshape(-1)))
    _, piece_offsets, data = text.buffers()
    ends = np.frombuffer(piece_offsets, dtype=np.int64 if large else np.int32, count=ids.size + 1)[::width]
    return string_array(rows, ends, data)


def number_text(values: np.ndarray, numbers: int, end: str | None) -> pa.Array:
    """Each row of ``values`` (numbers below ``numbers``) joined by spaces, then `` end`` unless None.

    Single digits are written byte by byte (every row has the same layout ``d d … d end``, which
    is cheaper than any take); numbers below PAIRED two to a piece (a take costs per piece, and
    the id of a pair is free: the two numbers as bytes, read as one uint16); others one piece each."""
    rows, n = values.shape
    if numbers <= ONE_CHAR:
        stride = 2 * n + 1 if end else 2 * n - 1
        data = np.full((rows, stride), ord(" "), dtype=np.uint8)
        np.add(values, ord("0"), out=data[:, 0:2 * n:2], casting="unsafe")  # the digit characters
        if end:
            data[:, -1] = ord(end)
        return string_array(rows, np.arange(rows + 1, dtype=np.int64) * stride, data.reshape(-1))
    if numbers <= PAIRED and end is not None:
        pairs = (n + 1) // 2
        halves = np.empty((rows, 2 * pairs), dtype=np.uint8)
        halves[:, :n] = values
        halves[:, n:] = Pieces.ALONE
        ids = np.empty((rows, pairs + 1), dtype=np.int32)
        np.add(halves.view("<u2"), Pieces.PAIR, out=ids[:, :pairs], dtype=np.int32)
        ids[:, pairs] = {"=": Pieces.EQUALS, ".": Pieces.END}[end]
        return render_pieces(ids)
    ids = np.empty((rows, n + (end is not None)), dtype=np.int32)
    ids[:, :n] = values  # Pieces.NUMBER is 0
    if end is None:
        ids[:, n - 1] += Pieces.LAST_NUMBER
    else:
        ids[:, n] = {"=": Pieces.EQUALS, ".": Pieces.END}[end]
    return render_pieces(ids)


def hinted_rows(values: np.ndarray, hints: np.ndarray, last: int) -> np.ndarray:
    """Piece ids of ``hi v`` pairs (hint numbers i ≥ 1, one per value), then the end piece ``last``."""
    rows, n = values.shape
    ids = np.empty((rows, 2 * n + 1), dtype=np.int32)
    ids[:, 0:2 * n:2] = hints
    ids[:, 0:2 * n:2] += Pieces.HINT - 1
    ids[:, 1:2 * n:2] = values
    ids[:, 2 * n] = last
    return ids


def _strip_hints(tokens: list[str]) -> list[str] | None:
    """Values of ``h_i v_i`` pairs (None unless every even token is a hint)."""
    if len(tokens) % 2 or not all(HINT_TOKEN.fullmatch(t) for t in tokens[0::2]):
        return None
    return tokens[1::2]


def _numbers(tokens: list[str] | None) -> str | None:
    if not tokens or not all(t.isdigit() for t in tokens):
        return None
    return " ".join(tokens)


# -- sampling ------------------------------------------------------------------------------

def random_words16(rng: np.random.Generator, count: int) -> np.ndarray:
    """``count`` uniform 16-bit words: the generator's 64-bit outputs cut in four (little-endian
    on every machine), about twice as fast as ``rng.integers(0, 2**16, dtype=np.uint16)``."""
    words = rng.integers(0, 2**64, size=-(-count // 4), dtype=np.uint64)
    return words.astype("<u8", copy=False).view("<u2")[:count]


def lemire16(words: np.ndarray, high) -> tuple[np.ndarray, np.ndarray]:
    """Lemire's method on 16-bit words: ``(word * high) >> 16`` is a number in ``0 … high-1``,
    exactly uniform over the *accepted* words, those whose low 16 bits are at least
    ``(2**16 - high) % high`` (then every value has the same number of accepted words).
    Returns (values as uint32, accepted); ``1 ≤ high ≤ 2**16``."""
    high = np.asarray(high, dtype=np.uint32)
    scaled = np.multiply(words, high, dtype=np.uint32)  # < 2**32: no overflow
    accepted = (scaled & 0xFFFF) >= (2**16 - high) % high
    scaled >>= 16
    return scaled, accepted


def uniform_below(rng: np.random.Generator, high: np.ndarray, rows: int) -> np.ndarray:
    """A (len(high), rows) uint32 array whose row i is uniform in ``0 … high[i]-1`` (``1 ≤ high ≤ 2**16``).

    The law of ``rng.integers(0, high[:, None], size=(len(high), rows))`` at a fraction of its
    cost (numpy handles an array of bounds element by element): one block of 16-bit words through
    :func:`lemire16`; the rejected words (probability below ``high / 2**16`` each) are drawn again."""
    high = np.asarray(high, dtype=np.uint32)[:, None]
    values, accepted = lemire16(random_words16(rng, high.size * rows).reshape(high.size, rows), high)
    redo = np.flatnonzero(~accepted)
    while redo.size:
        again, accepted = lemire16(random_words16(rng, redo.size), high[redo // rows, 0])
        values.reshape(-1)[redo] = again
        redo = redo[~accepted]
    return values


def distinct_sequences(rng: np.random.Generator, rows: int, numbers: int, k: int) -> np.ndarray:
    """``k`` distinct numbers of ``0 … numbers-1`` per row, uniform over the ordered k-subsets
    (int16): the first ``k`` steps of a Fisher–Yates shuffle of ``0 … numbers-1``, all rows at once.

    Step i swaps position i with a position drawn uniformly in ``i … numbers-1``. The shuffles
    are stored position-major (``perm[j, r]``: position j of row r), so a step reads and writes
    the contiguous ``perm[i]`` and gathers/scatters one number per row: a loop of k cheap steps.
    (Vectorised alternatives cost more at the presets' sizes, e.g. 100 numbers, k ≤ 60: random
    keys sort ``numbers`` keys per row, and redrawing rows with a repeat almost never succeeds
    at k = 40, where P(no repeat) ≈ 7e-5.)"""
    perm = np.empty((numbers, rows), dtype=np.int16)
    perm[:] = np.arange(numbers, dtype=np.int16)[:, None]
    steps = min(k, numbers - 1)  # the last position has no choice: nothing is drawn for it
    # the partner of position i is i + (uniform in 0..numbers-i-1); `there` is its flat index in perm
    there = np.multiply(uniform_below(rng, numbers - np.arange(steps), rows), rows, dtype=np.int64)
    there += np.arange(steps)[:, None] * rows
    there += np.arange(rows)
    flat = perm.reshape(-1)
    for i in range(steps):
        partner = there[i]
        taken = flat[partner]
        flat[partner] = perm[i]
        perm[i] = taken
    return np.ascontiguousarray(perm[:k].T)


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


def hint_set_size(cfg: SequenceConfig) -> int:
    """H: the index hints of a preset are h1..hH, one per element at the longest length of any split."""
    return max(cfg.train_lengths + cfg.ood_lengths)


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
        if fmt == "index_hints" and hint_set_size(cfg) > MAX_HINT:
            raise HFReasoningError(
                f"index hints go up to h{MAX_HINT}; allowed: lengths up to {MAX_HINT}, got {hint_set_size(cfg)}")

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
            seq = rng.integers(0, cfg.numbers, size=(n, length), dtype=np.int16)
        arrays = {"sequence": seq}
        if fmt == "index_hints":  # hints h(o+1)..h(o+length) with o + length ≤ H
            arrays["hint_offset"] = layout_rng.integers(0, hint_set_size(cfg) - length + 1, size=n, dtype=np.int16)
        # the key is the sequence alone: the hint offset is not part of the question
        return Instances(arrays, seq)

    def output(self, cfg, seq: np.ndarray) -> np.ndarray:
        """The answer sequence (rows, m) of numbers."""
        raise NotImplementedError

    def output_positions(self, n: int) -> np.ndarray:
        """The source position (0-based) of each answer element (the hint it keeps)."""
        raise NotImplementedError

    def to_columns(self, cfg, fmt, inst):
        seq = inst["sequence"]
        n = seq.shape[1]
        out = self.output(cfg, seq)
        columns = {}
        if fmt == "index_hints":
            hints = inst["hint_offset"][:, None].astype(np.int32) + np.arange(1, n + 1, dtype=np.int32)
            prompt = render_pieces(hinted_rows(seq, hints, Pieces.EQUALS))
            if self.name == "copy":  # the completion is the prompt, ending in `.`
                completion = with_last_char(prompt, ".")
            else:
                completion = render_pieces(hinted_rows(out, hints[:, self.output_positions(n)], Pieces.END))
            answer = number_text(out, cfg.numbers, None)
            columns["hint_offset"] = pa.array(inst["hint_offset"], pa.int16())
        else:
            prompt = number_text(seq, cfg.numbers, "=")
            if fmt == "plain":
                # copy: the prompt with `.` for `=`; single digits: a fresh text is cheaper than cutting one
                completion = (with_last_char(prompt, ".") if self.name == "copy"
                              else number_text(out, cfg.numbers, "."))
                answer = number_text(out, cfg.numbers, None) if cfg.numbers <= ONE_CHAR else without_end(completion)
            else:
                completion = render_pieces(self.completion_pieces(cfg, fmt, seq, out))
                answer = number_text(out, cfg.numbers, None)
        return {"prompt": prompt, "completion": completion, "answer": answer,
                "sequence": list_array(seq, pa.int16()), **columns}

    def completion_pieces(self, cfg, fmt, seq, out):
        """The piece ids of a completion in a task-specific format."""
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
        completion = number_text(start[:, None] + np.arange(n), cfg.numbers, ".")
        return {
            "prompt": number_text(np.stack([start, end], axis=1), cfg.numbers, "="),
            "completion": completion,
            "answer": without_end(completion),
            "start": pa.array(inst["start"], pa.int16()),
            "end": pa.array(inst["end"], pa.int16()),
        }


# -- mode ----------------------------------------------------------------------------------

def mode_of(seq: np.ndarray, numbers: int) -> np.ndarray:
    """Most frequent number per row, ties broken by the smallest (one bincount over all rows)."""
    rows = seq.shape[0]
    flat = (np.arange(rows)[:, None] * numbers + seq).reshape(-1)  # row r's number x counts in bin r·numbers + x
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
HINTS_DOC = (
    "In the `index_hints` format each row's hints are a random run of consecutive hints (offset in "
    "`hint_offset`) from h1..hH, H = the preset's longest length, in every split, so every hint of a test "
    "length also occurs in training.")
HINT_OFFSET_DOC = (
    "The offset o (column `hint_offset`) is drawn per row, uniform in 0..H - n with H = the preset's longest "
    "length (of any split), in every split (training and evaluation alike), so the hints are a random run of "
    "consecutive hints from h1..hH and every hint a test length uses also occurs in training (an OOD row at "
    "the longest length has o = 0).")


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
        "`length` is the sequence length; `answer` holds the answer numbers joined by single spaces. " + HINTS_DOC
    )
    format_docs = {
        "plain": "prompt `x1 … xn =`, completion `x1 … xn .`. Example: `7 2 9 =` → `7 2 9 .`",
        "index_hints": "zhou2023 index hints: hint token `h(o+i)` before the i-th element, in the prompt and in the "
        "completion. " + HINT_OFFSET_DOC + " The answer is the completion without its hints, whatever the hint "
        "indices. Example (o = 2): `h3 7 h4 2 h5 9 =` → `h3 7 h4 2 h5 9 .`",
    }

    def output(self, cfg, seq):
        return seq

    def output_positions(self, n):
        return np.arange(n)


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
        "numbers joined by single spaces. " + HINTS_DOC
    )
    format_docs = {
        "plain": "prompt `x1 … xn =`, completion `xn … x1 .`. Example: `7 2 9 =` → `9 2 7 .`",
        "index_hints": "zhou2023 index hints: hint token `h(o+i)` before the i-th element of the prompt; each "
        "element of the completion keeps the hint of its source position, so the completion's hints count "
        "down. " + HINT_OFFSET_DOC + " The answer is the completion without its hints, whatever the hint indices. "
        "Example (o = 2): `h3 7 h4 2 h5 9 =` → `h5 9 h4 2 h3 7 .`",
    }

    def output(self, cfg, seq):
        return seq[:, ::-1]

    def output_positions(self, n):
        return np.arange(n)[::-1]


# -- sort ------------------------------------------------------------------------------------

SORT_FORMATS = ("plain", "inductive")


def copy_counts(out: np.ndarray) -> np.ndarray:
    """For each number of the sorted rows ``out``, how many copies of it are emitted so far (1, 2, …)."""
    rows, n = out.shape
    index = np.arange(n, dtype=np.int32)
    run_start = np.ones((rows, n), dtype=bool)
    run_start[:, 1:] = out[:, 1:] != out[:, :-1]
    first = np.maximum.accumulate(np.where(run_start, index, 0), axis=1)
    return index - first + 1


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
        return np.sort(seq.astype(np.int32), axis=1)  # numpy sorts int32 rows much faster than int16 ones

    def completion_pieces(self, cfg, fmt, seq, out):
        # `: ` then per state the pieces `v , ` and `c # ` (the last state: `c .`)
        rows, n = out.shape
        if cfg.unique:  # every state is a first copy: one piece `v , 1 # ` per state
            ids = np.empty((rows, n + 1), dtype=np.int32)
            ids[:, 0] = Pieces.COLON
            ids[:, 1:] = out
            ids[:, 1:] += Pieces.FIRST_COPY
            ids[:, -1] += Pieces.LAST_FIRST_COPY - Pieces.FIRST_COPY
            return ids
        ids = np.empty((rows, 2 * n + 1), dtype=np.int32)
        ids[:, 0] = Pieces.COLON
        ids[:, 1::2] = out
        ids[:, 1::2] += Pieces.STATE_VALUE
        ids[:, 2::2] = copy_counts(out)
        ids[:, 2::2] += Pieces.STATE_COPIES
        ids[:, -1] += Pieces.LAST_COPIES - Pieces.STATE_COPIES
        return ids

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
