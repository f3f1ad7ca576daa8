"""addition (abbe2024, zhou2023, t2t): two s-digit operands, the answer is their sum.

The sum is always written with s + 1 digits (a leading 0 when there is no final carry), in
every format, so the answer length is fixed by s; the `answer` column holds those s + 1
digits, most significant first, without spaces (e.g. ``"025"`` for 12 + 13).

Shift format at a fixed width (abbe2024's code, ``create_sample_shift``): every operand of a
preset is left-padded with random fillers to W = the preset's longest length of any split (the
source pads to 30 digits, its longest test length), and the register holds ``$`` and W + 1
fillers, so a state has the same number of tokens and the same layout at every s (train and
OOD alike); only its content changes, which is what lets the format length-generalise. Where
the source differs and it does not decide the result, we follow docs/formats.md: the source's
register has W fillers (ours W + 1, so the last state also drops one) and its fillers are drawn
from ``a``-``z``, ``0``-``9`` and ``$`` (ours are letters only, so the answer, the digits
before ``$`` in the last state, is unambiguous). The fillers come from the layout stream: they
are not part of the instance, so they stay out of the key that keeps the splits disjoint.

Index hints (zhou2023 follow-up, Zhou et al. 2024, "Transformers can achieve length
generalization but not robustly"). Our reading of the source: the hints of one example are a
random run of *consecutive* hints taken from an ordered set larger than any test length, so
that every hint token a test length uses is also seen in training (with hints always starting
at ``h1``, a model trained on s ≤ 40 would meet ``h42`` … ``h101`` only at test time). Here the
ordered set is ``h1 … hH`` with H = the preset's longest length (of any split) + 1; an example
of s digits takes s + 1 hints ``h(o+1) … h(o+s+1)``, the offset o uniform in 0..H − s − 1 (so
the run fits). The offset is drawn from the layout stream, like the fillers: it is not part of
the instance (the same question whatever its hints), so it stays out of the key that keeps the
splits disjoint. The same rule holds in every split, evaluation included (an OOD example at the
longest length necessarily has o = 0).
"""

from __future__ import annotations

import math
import re
import string
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ..errors import HFReasoningError
from ..text import Vocab, digit_strings, list_array, render
from .registry import register
from .base import Instances, Task, length_groups, positive_lengths, random_subsets, split_completion

LETTERS = list(string.ascii_lowercase)
MAX_HINT = 401
VOCAB = Vocab(
    [str(d) for d in range(10)]
    + ["+", "=", ":", "#", ".", "_", "$", "[", "]", "-", "|", ";"]
    + LETTERS  # random fillers; `c` and `r` also label the carry and the register
    + [f"h{i}" for i in range(1, MAX_HINT + 1)]
)
DIGIT = VOCAB.ids(str(d) for d in range(10))
LETTER = VOCAB.ids(LETTERS)
HINT = VOCAB.ids(f"h{i}" for i in range(1, MAX_HINT + 1))
T = VOCAB.id
ZHOU_FORMATS = ("plain", "reversed", "index_hints", "reversed_index_hints")
HINT_FORMATS = ("index_hints", "reversed_index_hints")
HINT_TOKEN = re.compile(r"h[1-9][0-9]*")


@dataclass(frozen=True)
class AdditionConfig:
    """Operand digit counts s: training lengths with P(s) ∝ s, OOD test lengths, and the
    slots per operand L of the random-space inductive format (a + b over 2L + 1 slots). The
    shift format's width W is the longest of all these lengths (``shift_width``)."""

    train_lengths: tuple[int, ...] = tuple(range(1, 11))
    ood_lengths: tuple[int, ...] = tuple(range(12, 31, 2))
    slots_per_operand: int = 30
    formats: tuple[str, ...] = ("plain", "reversed", "index_hints", "reversed_index_hints", "scratchpad", "inductive")


PRESETS = {
    # abbe2024: random-space inductive, train 1..10 digits, tests 12..30 (paper: up to 18)
    "abbe2024": AdditionConfig(),
    # abbe2024 shift format: train 1..4 digits, tests 12..30 (paper: up to 26)
    "abbe2024_shift": AdditionConfig(train_lengths=tuple(range(1, 5)), formats=("shift", "plain")),
    # zhou2023 follow-up: index hints + reversed output, train up to 40, test up to 100
    "zhou2023": AdditionConfig(train_lengths=tuple(range(1, 41)), ood_lengths=tuple(range(45, 101, 5)), formats=ZHOU_FORMATS),
    # tensor2tensor algorithmic addition: train on up to 40 digits, evaluate at 400
    "t2t": AdditionConfig(train_lengths=tuple(range(1, 41)), ood_lengths=(400,), formats=("plain", "reversed")),
    # reduced lengths for CPU experiments (small models, short texts):
    # the shift format (as abbe2024_shift), train 1..4 digits, tests 5..12
    "cpu_shift": AdditionConfig(train_lengths=tuple(range(1, 5)), ood_lengths=(5, 6, 7, 8, 10, 12),
                                formats=("shift", "plain")),
    # random-space inductive, train 1..4 digits, tests 5..12 over 12 slots per operand (as abbe2024:
    # as many slots as the longest test length)
    "cpu_space": AdditionConfig(train_lengths=tuple(range(1, 5)), ood_lengths=(5, 6, 7, 8, 10, 12),
                                slots_per_operand=12, formats=("inductive",)),
    # the zhou2023 formats, train 1..10 digits, tests 11..25 (hints from h1..h26)
    "cpu_hints": AdditionConfig(train_lengths=tuple(range(1, 11)), ood_lengths=(11, 12, 13, 15, 17, 20, 25),
                                formats=ZHOU_FORMATS),
}


def shift_width(cfg: AdditionConfig) -> int:
    """W: the shift format pads every operand of a preset to its longest length (of any split),
    so that every state of every split has the same tokens and layout (abbe2024 use W = 30)."""
    return max(cfg.train_lengths + cfg.ood_lengths)


def hint_set_size(cfg: AdditionConfig) -> int:
    """H: the index hints of a preset are h1..hH, enough for the longest length of any split
    (s digits take s + 1 hints)."""
    return max(cfg.train_lengths + cfg.ood_lengths) + 1


class TwoOperandTask(Task):
    """What addition and multiplication share: two s-digit operands (leading digit non-zero),
    the lengths s of a config (training lengths drawn with P(s) ∝ s, OOD test lengths) and
    their checks."""

    def check_lengths(self, cfg) -> int:
        """Raise for a non-positive length; the longest length of the config."""
        positive_lengths(f"{self.name} lengths", cfg.train_lengths + cfg.ood_lengths)
        return max(cfg.train_lengths + cfg.ood_lengths)

    def train_groups(self, cfg):
        return length_groups(cfg.train_lengths, weights=cfg.train_lengths)

    def ood_groups(self, cfg):
        return [g for g, _ in length_groups(cfg.ood_lengths)]

    def operands(self, rng: np.random.Generator, n: int, s: int) -> tuple[np.ndarray, np.ndarray]:
        """``n`` pairs of s-digit operands as digit matrices (most significant first)."""
        operands = rng.integers(0, 10, size=(n, 2, s), dtype=np.int8)
        operands[:, :, 0] = rng.integers(1, 10, size=(n, 2), dtype=np.int8)
        return operands[:, 0], operands[:, 1]


def add_digits(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Schoolbook addition of digit matrices (most significant first).

    Returns the sum's s + 1 digits (most significant first) and the carry out of each of the
    s steps, least significant step first."""
    rows, s = a.shape
    total = np.empty((rows, s + 1), dtype=np.int8)
    carries = np.empty((rows, s), dtype=np.int8)
    carry = np.zeros(rows, dtype=np.int8)
    for step in range(s):
        col = s - 1 - step
        column = a[:, col] + b[:, col] + carry
        total[:, col + 1] = column % 10
        carry = column // 10
        carries[:, step] = carry
    total[:, 0] = carry
    return total, carries


def registers(produced: np.ndarray, fillers: np.ndarray, width: int, steps: np.ndarray) -> np.ndarray:
    """Result registers after each of ``steps``: the digits produced so far (newest first),
    then ``$``, then the fillers, cut to ``width`` tokens (fillers drop off the end)."""
    j = np.arange(width)[None, :]
    t = np.asarray(steps)[:, None]
    digit_index = t - j  # ≥ 0: a produced digit
    filler_index = j - t - 2  # ≥ 0: a filler
    out = np.full((produced.shape[0], len(steps), width), T["$"], dtype=np.int32)
    is_digit = np.broadcast_to(digit_index >= 0, out.shape[1:])
    is_filler = np.broadcast_to(filler_index >= 0, out.shape[1:])
    out[:, is_digit] = DIGIT[produced[:, np.broadcast_to(digit_index, is_digit.shape)[is_digit]]]
    out[:, is_filler] = fillers[:, np.broadcast_to(filler_index, is_filler.shape)[is_filler]]
    return out


def _two_digit(slot: np.ndarray) -> np.ndarray:
    return np.stack([DIGIT[slot // 10], DIGIT[slot % 10]], axis=-1)


@register
class Addition(TwoOperandTask):
    """Addition in every format of the sources; the shift format at one width W per preset
    (see the module docstring and ``format_docs["shift"]``)."""

    name = "addition"
    title = "Multi-digit addition"
    sources = ("abbe2024", "zhou2023", "t2t")
    formats = ("plain", "reversed", "index_hints", "reversed_index_hints", "scratchpad", "inductive", "shift")
    vocab = VOCAB
    presets = PRESETS
    description = (
        "Two operands of s digits each (leading digit non-zero); the answer is their sum, written with "
        "s + 1 digits. Training digit counts are drawn with P(s) ∝ s. `length` is s. In the index-hint formats "
        "each row's hints are a random run of consecutive hints (offset in `hint_offset`) from h1..hH, H = the "
        "preset's longest length + 1, in every split, so every hint of a test length also occurs in training. "
        "The shift format pads every operand and its register to one width per preset (its longest length), so its "
        "states have one length and layout in every split. "
        "Presets: `abbe2024` (train 1..10, test 12..30), `abbe2024_shift` (train 1..4, test 12..30), `zhou2023` "
        "(train 1..40, test 45..100), `t2t` (train 1..40, test 400), and reduced ones for CPU experiments: "
        "`cpu_shift` and `cpu_space` (train 1..4, test 5..12; random-space over 12 slots per operand), "
        "`cpu_hints` (train 1..10, test 11..25)."
    )
    format_docs = {
        "plain": "`a1 … as + b1 … bs =` → `c1 … c(s+1) .`",
        "reversed": "as plain, the result digits least significant first.",
        "index_hints": "both operands zero-padded to s + 1 digits, hint token `h(o+i)` before the i-th digit of every "
        "number (i from the left): `h(o+1) a1 … h(o+s+1) a(s+1) + h(o+1) b1 … =` → `h(o+1) c1 … h(o+s+1) c(s+1) .` "
        "The offset o (column `hint_offset`) is drawn per row, uniform in 0..H - s - 1 with H = the preset's "
        "longest length + 1, in every split (training and evaluation alike), so the hints are a random run of "
        "consecutive hints from h1..hH and every hint a test length uses also occurs in training. Example "
        "(o = 2): `h3 0 h4 1 h5 2 + h3 0 h4 1 h5 3 =` → `h3 0 h4 2 h5 5 .` The answer is the digits after the "
        "hints, whatever the hint indices.",
        "reversed_index_hints": "index hints (random offset o, as index_hints) with the result least significant "
        "first: `… = h(o+s+1) c(s+1) … h(o+1) c1 .`",
        "scratchpad": "one step per digit from the least significant: `da db cin dout ;` (the two digits, the carry "
        "in, the digit out), then the s + 1 result digits and `.`; the answer is what follows the last `;`.",
        "inductive": "random-space: `a + b` scattered over 2L + 1 slots (a in slots 0..L-1, `+` in slot L, b in "
        "L+1..2L), then `=`, then a result register `$` and L + 1 random filler letters. Each state "
        "`[ p p ] da [ p p ] db c carry r <register>` gives the slot and digit of the next digit of a and of b, "
        "the carry out, and the register with the new result digit shifted in at its front (its length stays "
        "L + 2, fillers drop off the end). A final state (s + 1 states in all) writes the final carry; there "
        "both numbers are used up and point to the slot just before their field, `- 1` for a and the `+` "
        "slot for b, with digit `_`. The answer is the digits before `$` in the last state.",
        "shift": "no `:`; every example of a preset is padded to one width W, the preset's longest operand (of any "
        "split; abbe2024 use W = 30), so every state of every split has the same 3W + 8 tokens and layout and only "
        "its content changes with s. The prompt is the first state: each operand left-padded with W - s random "
        "filler letters and `$` (W + 1 tokens), `+` between them, `=`, a register of `$` and W + 1 fillers, `| 0`. "
        "Each next state (after `#`) rotates each operand block right by one (its last digit to the front), writes "
        "the new result digit at the front of the register (its last filler drops off) and the new carry after `|`. "
        "The last state (W + 2 tokens) is the register with the final carry shifted in. Example, 45 + 78 with W = 4: "
        "`m k $ 4 5 + l p $ 7 8 = $ a q b x y | 0` → `# 5 m k $ 4 + 8 l p $ 7 = 3 $ a q b x | 1 # 4 5 m k $ + "
        "7 8 l p $ = 2 3 $ a q b | 1 # 1 2 3 $ a q .` The `fillers` column lists them in order: a's, b's, the "
        "register's. The answer is the digits before `$` in the last state.",
    }

    def validate(self, cfg, fmt):
        longest = self.check_lengths(cfg)
        if fmt == "inductive" and longest > cfg.slots_per_operand:
            raise HFReasoningError(
                f"addition with {longest} digits does not fit in {cfg.slots_per_operand} slots per operand; "
                f"allowed: at most {cfg.slots_per_operand} digits")
        if fmt == "inductive" and not 1 <= cfg.slots_per_operand <= 49:
            raise HFReasoningError(f"slots_per_operand={cfg.slots_per_operand} needs 2-digit slot indices; allowed: 1..49")
        if fmt in HINT_FORMATS and hint_set_size(cfg) > MAX_HINT:
            raise HFReasoningError(f"index hints go up to h{MAX_HINT}; allowed: at most {MAX_HINT - 1} digits, got {longest}")

    def space_log2(self, cfg, fmt, group):
        s = group.length
        bits = 2 * (math.log2(9) + (s - 1) * math.log2(10))
        if fmt == "inductive":  # the slot positions shape the question; the fillers are noise
            bits += 2 * math.log2(math.comb(cfg.slots_per_operand, s))
        return bits

    def sample(self, cfg, fmt, group, n, rng, layout_rng):
        s = group.length
        a, b = self.operands(rng, n, s)
        arrays = {"a": a, "b": b}
        parts = [a, b]
        if fmt == "inductive":
            L = cfg.slots_per_operand
            arrays["positions_a"] = random_subsets(layout_rng, n, L, s).astype(np.int16)
            arrays["positions_b"] = (L + 1 + random_subsets(layout_rng, n, L, s)).astype(np.int16)
            arrays["fillers"] = layout_rng.integers(0, 26, size=(n, L + 1), dtype=np.int8)
            parts += [arrays["positions_a"], arrays["positions_b"]]
        elif fmt == "shift":  # fillers in order of appearance: W - s for a, W - s for b, W + 1 for the register
            W = shift_width(cfg)
            arrays["fillers"] = layout_rng.integers(0, 26, size=(n, 3 * W - 2 * s + 1), dtype=np.int8)
        elif fmt in HINT_FORMATS:  # hints h(o+1)..h(o+s+1) with o + s + 1 ≤ H
            arrays["hint_offset"] = layout_rng.integers(0, hint_set_size(cfg) - s, size=n, dtype=np.int16)
        # the random fillers and hint offsets are not part of the instance: a question is the
        # same question whatever letters pad it or hints mark it, so they stay out of the key
        # that keeps splits disjoint
        return Instances(arrays, np.concatenate([p.astype(np.int64) for p in parts], axis=1))

    def to_columns(self, cfg, fmt, inst):
        a, b = inst["a"], inst["b"]
        rows, s = a.shape
        total, carries = add_digits(a, b)
        col = lambda tok: np.full((rows, 1), T[tok], dtype=np.int32)  # noqa: E731
        if fmt in ("plain", "reversed", "scratchpad"):
            prompt = np.concatenate([DIGIT[a], col("+"), DIGIT[b], col("=")], axis=1)
            if fmt == "scratchpad":
                # step t (least significant first): da db cin dout ;
                cin = np.concatenate([np.zeros((rows, 1), np.int8), carries[:, :-1]], axis=1)
                steps = np.stack([DIGIT[a[:, ::-1]], DIGIT[b[:, ::-1]], DIGIT[cin], DIGIT[total[:, :0:-1]],
                                  np.full((rows, s), T[";"], dtype=np.int32)], axis=-1)
                completion = np.concatenate([steps.reshape(rows, -1), DIGIT[total], col(".")], axis=1)
            else:
                result = total[:, ::-1] if fmt == "reversed" else total
                completion = np.concatenate([DIGIT[result], col(".")], axis=1)
        elif fmt in HINT_FORMATS:
            hints = HINT[inst["hint_offset"][:, None].astype(np.int64) + np.arange(s + 1)]
            pad = np.zeros((rows, 1), np.int8)
            hinted = lambda digits: np.stack([hints, DIGIT[digits]], axis=-1).reshape(rows, -1)  # noqa: E731
            prompt = np.concatenate([hinted(np.concatenate([pad, a], 1)), col("+"), hinted(np.concatenate([pad, b], 1)), col("=")], 1)
            result = np.stack([hints, DIGIT[total]], axis=-1)
            if fmt == "reversed_index_hints":
                result = result[:, ::-1]
            completion = np.concatenate([result.reshape(rows, -1), col(".")], axis=1)
        elif fmt == "inductive":
            prompt, completion = self._random_space(cfg, inst, total, carries)
        else:
            prompt, completion = self._shift(cfg, inst, total, carries)
        columns = {
            "prompt": render(prompt, VOCAB),
            "completion": render(completion, VOCAB),
            "answer": digit_strings(total),
            "a": digit_strings(a),
            "b": digit_strings(b),
        }
        if fmt == "inductive":
            columns["positions_a"] = list_array(inst["positions_a"], pa.int16())
            columns["positions_b"] = list_array(inst["positions_b"], pa.int16())
        if fmt in HINT_FORMATS:
            columns["hint_offset"] = pa.array(inst["hint_offset"], pa.int16())
        if fmt in ("inductive", "shift"):
            columns["fillers"] = digit_strings(inst["fillers"].astype(np.int16) + (ord("a") - ord("0")))
        return columns

    def _random_space(self, cfg, inst, total, carries):
        a, b = inst["a"], inst["b"]
        rows, s = a.shape
        L = cfg.slots_per_operand
        pos_a, pos_b = inst["positions_a"].astype(np.int64), inst["positions_b"].astype(np.int64)
        fillers = LETTER[inst["fillers"]]
        slots = np.full((rows, 2 * L + 1), T["_"], dtype=np.int32)
        np.put_along_axis(slots, pos_a, DIGIT[a], axis=1)
        np.put_along_axis(slots, pos_b, DIGIT[b], axis=1)
        slots[:, L] = T["+"]
        prompt = np.concatenate([slots, np.full((rows, 1), T["="]), np.full((rows, 1), T["$"]), fillers], axis=1)

        width = 13 + (L + 2) + 1  # pointers, digits, carry, register, separator
        states = np.empty((rows, s + 1, width), dtype=np.int32)
        states[:, :, [0, 5]] = T["["]
        states[:, :, [3, 8]] = T["]"]
        states[:, :s, 1:3] = _two_digit(pos_a[:, ::-1])
        states[:, :s, 6:8] = _two_digit(pos_b[:, ::-1])
        states[:, s, 1:3] = [T["-"], T["1"]]
        states[:, s, 6:8] = _two_digit(np.array(L))
        states[:, :s, 4] = DIGIT[a[:, ::-1]]
        states[:, :s, 9] = DIGIT[b[:, ::-1]]
        states[:, s, [4, 9]] = T["_"]
        states[:, :, 10] = T["c"]
        states[:, :s, 11] = DIGIT[carries]
        states[:, s, 11] = DIGIT[0]
        states[:, :, 12] = T["r"]
        states[:, :, 13:-1] = registers(total[:, ::-1], fillers, L + 2, np.arange(s + 1))
        states[:, :, -1] = T["#"]
        states[:, s, -1] = T["."]
        completion = np.concatenate([np.full((rows, 1), T[":"]), states.reshape(rows, -1)], axis=1)
        return prompt, completion

    def _shift(self, cfg, inst, total, carries):
        a, b = inst["a"], inst["b"]
        rows, s = a.shape
        W = shift_width(cfg)
        letters = LETTER[inst["fillers"]]
        fill_a, fill_b, fill_register = letters[:, : W - s], letters[:, W - s: 2 * (W - s)], letters[:, 2 * (W - s):]
        produced = total[:, ::-1]
        block = W + 1  # an operand: W - s fillers, `$`, s digits
        register_width = W + 2  # `$` and W + 1 fillers, digits shifted in at the front

        def operand_blocks(digits, fillers):
            tokens = np.concatenate([fillers, np.full((rows, 1), T["$"]), DIGIT[digits]], axis=1)
            t = np.arange(s + 1)[:, None]
            return tokens[:, (np.arange(block)[None, :] - t) % block]  # (rows, s + 1, W + 1): rotated t times

        # states 0..s (state 0 is the prompt): the operands rotated t times, the register after
        # t steps, the carry out of step t; every one has 3W + 8 tokens whatever s is
        state_width = 2 * block + register_width + 4
        states = np.empty((rows, s + 1, state_width), dtype=np.int32)
        states[:, :, :block] = operand_blocks(a, fill_a)
        states[:, :, block] = T["+"]
        states[:, :, block + 1: 2 * block + 1] = operand_blocks(b, fill_b)
        states[:, :, 2 * block + 1] = T["="]
        states[:, :, 2 * block + 2: 2 * block + 2 + register_width] = registers(produced, fill_register, register_width, np.arange(-1, s))
        states[:, :, -2] = T["|"]
        states[:, :, -1] = DIGIT[np.concatenate([np.zeros((rows, 1), np.int8), carries], axis=1)]
        prompt = states[:, 0]
        steps = np.concatenate([np.full((rows, s, 1), T["#"]), states[:, 1:]], axis=2).reshape(rows, -1)
        # the last state: the register with the final carry shifted in (W + 2 tokens)
        final = registers(produced, fill_register, register_width, np.array([s]))[:, 0]
        completion = np.concatenate([steps, np.full((rows, 1), T["#"]), final, np.full((rows, 1), T["."])], axis=1)
        return prompt, completion

    def parse_answer(self, fmt, completion):
        tokens = split_completion(completion)
        if not tokens:
            return None
        if fmt in ("inductive", "shift"):
            last = " ".join(tokens).split(" # ")[-1].split()
            register_ = last[13:] if fmt == "inductive" else last
            if "$" not in register_:
                return None
            digits = register_[: register_.index("$")]
        elif fmt == "scratchpad":
            digits = tokens[len(tokens) - tokens[::-1].index(";"):] if ";" in tokens else tokens
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

    def exact_match(self, fmt, prediction, reference):
        """Whole-completion match with the random filler letters masked out (``inductive``: the
        letters of a state's register, from its 14th token on; ``shift``: every letter, the
        operands' padding and the register's): a filler position takes any letter, every other
        token (digits, pointers, carries, the ``c``/``r`` labels, separators) must be equal, and
        so must the number of tokens."""
        predicted, expected = prediction.split(), reference.split()
        letters = frozenset(LETTERS)
        if fmt not in ("inductive", "shift"):
            return predicted == expected
        if len(predicted) != len(expected):
            return False
        position = 0  # within the state (inductive: the `c`/`r` labels sit at 10 and 12)
        for got, want in zip(predicted, expected):
            filler = want in letters and (fmt == "shift" or position >= 13)
            if (got not in letters) if filler else (got != want):
                return False
            position = 0 if want in (":", "#") else position + 1
        return True
