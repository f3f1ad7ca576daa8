"""addition, checked independently of the generator (docs/formats.md, addition).

Every row of every addition config of the tiny repo: the sum is recomputed from ``a`` and
``b`` with Python integers, every text is rebuilt token by token from the structured columns,
and the prompt is parsed back into the instance. The index hints are a run of consecutive
hints at a random offset from h1..hH (H = the preset's longest length + 1, from docs/formats.md's
lengths): checked per row, and on a default-scale ``cpu_hints`` build for their spread and
for every OOD hint occurring in training. The scratchpad steps, the random-space
inductive states (pointers, digits, carries, result register with fillers) and the shift
states are re-derived from the question and the previous state only, by a reference written
from docs/formats.md; the reference is first checked against the spec's own examples.
"""

from __future__ import annotations

import string
from collections import Counter, defaultdict

import pytest

from hf_reasoning.errors import HFReasoningError
from hf_reasoning.tasks import get_task

TASK = "addition"
LETTERS = set(string.ascii_lowercase)
ALL_FORMATS = ("plain", "reversed", "index_hints", "reversed_index_hints", "scratchpad", "inductive", "shift")
HINT_FORMATS = ("index_hints", "reversed_index_hints")
CPU_OOD = {5, 6, 7, 8, 10, 12}
CPU_HINTS_OOD = {11, 12, 13, 15, 17, 20, 25}
# the ordered hint set h1..hH of each preset with hint formats: H = its longest length + 1
HINT_SET = {"abbe2024": 31, "zhou2023": 101, "cpu_hints": 26}


def fmt_of(config: str) -> str:
    return config.rpartition("-")[2]


def preset_of(config: str) -> str:
    return config.rpartition("-")[0]


def expected_answer(a: str, b: str) -> str:
    s = len(a)
    return str(int(a) + int(b)).zfill(s + 1)


def hinted(digits: str, offset: int = 0) -> list[str]:
    out = []
    for i, d in enumerate(digits, start=offset + 1):
        out += [f"h{i}", d]
    return out


def parse_hinted(tokens: list[str]) -> tuple[list[int], str]:
    """``h i d h j e …`` → ([i, j, …], "de…")."""
    assert len(tokens) % 2 == 0, tokens
    assert all(t.startswith("h") and t[1:].isdigit() for t in tokens[0::2]), tokens
    assert all(len(d) == 1 and d.isdigit() for d in tokens[1::2]), tokens
    return [int(t[1:]) for t in tokens[0::2]], "".join(tokens[1::2])


def pointer_tokens(p: int) -> list[str]:
    return ["-", "1"] if p == -1 else [str(p // 10), str(p % 10)]


def split_on(tokens: list[str], sep: str) -> list[list[str]]:
    parts, cur = [], []
    for t in tokens:
        if t == sep:
            parts.append(cur)
            cur = []
        else:
            cur.append(t)
    parts.append(cur)
    return parts


# -- reference state machines (from the question and the previous state only) -----------------

def random_space_states(prompt_tokens: list[str]) -> list[list[str]]:
    """States ``[ p p ] da [ p p ] db c carry r <register>`` of the random-space format.

    a sits in slots 0..L-1, ``+`` in slot L, b in L+1..2L; the register (``$`` + L+1 fillers)
    follows ``=``. Each state moves each pointer to the next digit leftwards in its field (a:
    ``- 1`` once used up; b: the ``+`` slot once used up, as in the spec's example), adds the
    two digits (``_`` = 0) and the carry, and shifts the new digit into the register's front,
    dropping its last token. It stops after the state in which both numbers are used up."""
    eq = prompt_tokens.index("=")
    slots = prompt_tokens[:eq]
    assert len(slots) % 2 == 1
    L = (len(slots) - 1) // 2
    assert slots[L] == "+"
    register = prompt_tokens[eq + 1:]
    assert register[0] == "$" and len(register) == L + 2
    pa, pb, carry = L, 2 * L + 1, 0
    states = []
    while True:
        pa = next((j for j in range(pa - 1, -1, -1) if slots[j] != "_"), -1)
        pb = next((j for j in range(pb - 1, L, -1) if slots[j] != "_"), L)
        da = slots[pa] if pa >= 0 else "_"
        db = slots[pb] if pb > L else "_"
        column = (int(da) if da != "_" else 0) + (int(db) if db != "_" else 0) + carry
        digit, carry = column % 10, column // 10
        register = [str(digit)] + register[:-1]
        states.append(["[", *pointer_tokens(pa), "]", da, "[", *pointer_tokens(pb), "]", db, "c", str(carry), "r",
                       *register])
        if pa == -1 and pb == L:
            return states


def shift_states(prompt_tokens: list[str]) -> list[list[str]]:
    """All states of the shift format, the prompt (first state) included.

    ``fillers $ a… + fillers $ b… = $ fillers… | carry``: each next state rotates each operand
    block right by one (its last digit to the front), adds the two digits now in front and the
    carry, writes the digit at the register's front (dropping its last token) and the new
    carry. After s steps the last state is the register with the final carry shifted in the
    same way."""
    plus, eq, bar = prompt_tokens.index("+"), prompt_tokens.index("="), prompt_tokens.index("|")
    block_a, block_b = prompt_tokens[:plus], prompt_tokens[plus + 1: eq]
    register, carry = prompt_tokens[eq + 1: bar], int(prompt_tokens[bar + 1])
    assert len(prompt_tokens) == bar + 2
    s = len(block_a) - block_a.index("$") - 1  # the digits after `$`
    states = [list(prompt_tokens)]
    for _ in range(s):
        block_a = [block_a[-1]] + block_a[:-1]
        block_b = [block_b[-1]] + block_b[:-1]
        column = int(block_a[0]) + int(block_b[0]) + carry
        digit, carry = column % 10, column // 10
        register = [str(digit)] + register[:-1]
        states.append([*block_a, "+", *block_b, "=", *register, "|", str(carry)])
    states.append([str(carry)] + register[:-1])
    return states


def shift_text_reference(a: str, b: str, fillers: str, W: int) -> tuple[str, str]:
    """Prompt and completion of the shift format written directly from the structured columns
    (Python integers, string slicing; no state-to-state recursion): after t steps an operand
    block is its last t digits, its W - s fillers, `$`, its first s - t digits; the register is
    the t lowest digits of the sum (highest first), `$`, the first W + 1 - t of its fillers."""
    s = len(a)
    fa, fb, fr = fillers[: W - s], fillers[W - s: 2 * (W - s)], fillers[2 * (W - s):]
    assert len(fr) == W + 1
    total = str(int(a) + int(b)).zfill(s + 1)

    def block(x: str, f: str, t: int) -> list[str]:
        return [*x[s - t:], *f, "$", *x[: s - t]]

    def register(t: int) -> list[str]:
        return [*total[s + 1 - t:], "$", *fr[: W + 1 - t]]

    def carry(t: int) -> str:  # carry out of the t lowest columns
        return str((int(a[s - t:] or "0") + int(b[s - t:] or "0")) // 10 ** t)

    states = [[*block(a, fa, t), "+", *block(b, fb, t), "=", *register(t), "|", carry(t)] for t in range(s + 1)]
    states.append(register(s + 1))
    return " ".join(states[0]), "# " + " # ".join(" ".join(st) for st in states[1:]) + " ."


# docs/formats.md's widths: W = the preset's longest operand of any split
SHIFT_WIDTH = {"abbe2024_shift": 30, "cpu_shift": 12}


def digits_before_dollar(state: list[str]) -> str:
    i = state.index("$")
    assert all(t.isdigit() and len(t) == 1 for t in state[:i]), state
    return "".join(state[:i])


# -- the row checker --------------------------------------------------------------------------

def check_row(row: dict, config: str) -> str:
    fmt = fmt_of(config)
    a, b = row["a"], row["b"]
    s = row["length"]
    assert len(a) == len(b) == s and a.isdigit() and b.isdigit()
    assert a[0] != "0" and b[0] != "0", (a, b)
    assert row["group"] == str(s)
    answer = expected_answer(a, b)
    assert row["answer"] == answer
    # the completion is one space then its tokens (generator >= 0.6.0: prompt + completion is the training text)
    assert row["completion"][:1] == " ", repr(row["completion"])
    prompt, completion = row["prompt"], row["completion"][1:]
    for text in (prompt, completion):
        assert text == " ".join(text.split()), repr(text)
    ptoks, ctoks = prompt.split(" "), completion.split(" ")
    assert ctoks[-1] == "."
    if fmt in ("plain", "reversed", "scratchpad"):
        assert ptoks == [*a, "+", *b, "="]
        if fmt == "plain":
            assert ctoks == [*answer, "."]
        elif fmt == "reversed":
            assert ctoks == [*answer[::-1], "."]
        else:
            expected, carry = [], 0
            for da, db in zip(reversed(a), reversed(b)):
                column = int(da) + int(db) + carry
                expected += [da, db, str(carry), str(column % 10), ";"]
                carry = column // 10
            assert ctoks == [*expected, *answer, "."]
    elif fmt in HINT_FORMATS:
        H, o = HINT_SET[preset_of(config)], row["hint_offset"]
        assert 0 <= o and o + s + 1 <= H, (o, s, H)
        # structured → text
        assert ptoks == [*hinted("0" + a, o), "+", *hinted("0" + b, o), "="]
        pairs = [[f"h{i}", d] for i, d in enumerate(answer, start=o + 1)]
        if fmt == "reversed_index_hints":
            pairs = pairs[::-1]
        assert ctoks == [t for p in pairs for t in p] + ["."]
        # text → instance: one run of consecutive hints from h(o+1), the same in all three numbers
        plus, eq = ptoks.index("+"), ptoks.index("=")
        hints_a, digits_a = parse_hinted(ptoks[:plus])
        hints_b, digits_b = parse_hinted(ptoks[plus + 1: eq])
        hints_c, digits_c = parse_hinted(ctoks[:-1])
        if fmt == "reversed_index_hints":
            hints_c, digits_c = hints_c[::-1], digits_c[::-1]
        assert hints_a == hints_b == hints_c == list(range(o + 1, o + s + 2))
        assert digits_a == "0" + a and digits_b == "0" + b
        assert digits_c == expected_answer(digits_a[1:], digits_b[1:])
    elif fmt == "inductive":
        pos_a, pos_b, fillers = list(row["positions_a"]), list(row["positions_b"]), row["fillers"]
        eq = ptoks.index("=")
        L = (eq - 1) // 2
        assert ":" not in ptoks and ctoks[0] == ":"
        # structured → prompt
        assert pos_a == sorted(set(pos_a)) and pos_b == sorted(set(pos_b))
        assert len(pos_a) == len(pos_b) == s
        assert all(0 <= p < L for p in pos_a) and all(L < p <= 2 * L for p in pos_b)
        slots = ["_"] * (2 * L + 1)
        slots[L] = "+"
        for p, d in zip(pos_a, a):
            slots[p] = d
        for p, d in zip(pos_b, b):
            slots[p] = d
        assert len(fillers) == L + 1 and set(fillers) <= LETTERS
        assert ptoks == [*slots, "=", "$", *fillers]
        # prompt → instance
        assert "".join(t for t in ptoks[:L] if t != "_") == a
        assert "".join(t for t in ptoks[L + 1: eq] if t != "_") == b
        # completion → states, each from the question and the previous state
        states = split_on(ctoks[1:-1], "#")
        assert states == random_space_states(ptoks)
        assert len(states) == s + 1
        for t, state in enumerate(states):
            register = state[13:]
            assert len(register) == L + 2
            k = register.index("$")
            assert k == t + 1  # t + 1 result digits so far, newest (most significant) first
            assert register[k + 1:] == list(fillers[: L + 1 - k])  # the prompt's fillers, the right number dropped
        # the fillers are never needed for the answer: the digits before `$` are the sum
        assert digits_before_dollar(states[-1][13:]) == answer
    elif fmt == "shift":
        fillers, W = row["fillers"], SHIFT_WIDTH[preset_of(config)]
        assert len(fillers) == 3 * W - 2 * s + 1 and set(fillers) <= LETTERS
        fa, fb, fr = fillers[: W - s], fillers[W - s: 2 * (W - s)], fillers[2 * (W - s):]
        # structured → text, two ways: written directly, and state by state from the prompt
        assert (prompt, completion) == shift_text_reference(a, b, fillers, W)
        assert ptoks == [*fa, "$", *a, "+", *fb, "$", *b, "=", "$", *fr, "|", "0"]
        assert ctoks[0] == "#" and ":" not in ctoks
        states = [ptoks] + split_on(ctoks[1:-1], "#")
        assert states == shift_states(ptoks)
        assert len(states) == s + 2
        # text → instance: every state has the fixed layout; undo the rotations, read the carries
        # and the register's digits, and check them against Python integers
        assert all(len(state) == 3 * W + 8 for state in states[:-1])
        assert len(states[-1]) == W + 2
        total = int(a) + int(b)
        for t, state in enumerate(states[:-1]):
            block_a, block_b = state[: W + 1], state[W + 2: 2 * W + 3]
            assert state[W + 1] == "+" and state[2 * W + 3] == "=" and state[-2] == "|"
            assert "".join(block_a[t:] + block_a[:t]) == fa + "$" + a  # rotated t times
            assert "".join(block_b[t:] + block_b[:t]) == fb + "$" + b
            register = state[2 * W + 4: -2]
            assert len(register) == W + 2 and register.index("$") == t
            assert "".join(register[:t]) == (str(total % 10 ** t).zfill(t) if t else "")
            assert register[t + 1:] == list(fr[: W + 1 - t])
            assert int(state[-1]) == (int(a[s - t:] or "0") + int(b[s - t:] or "0")) // 10 ** t
        assert states[-1][s + 1:] == ["$", *fr[: W - s]]
        assert digits_before_dollar(states[-1]) == answer
    else:
        raise AssertionError(f"unknown addition format {fmt!r}")
    return answer


# -- the spec's examples validate the references ----------------------------------------------

SPEC_RS_PROMPT = "3 4 _ 5 _ + 7 _ 8 9 _ = $ j h w b a r"
SPEC_RS_FIRST = "[ 0 3 ] 5 [ 0 9 ] 9 c 1 r 4 $ j h w b a"
SPEC_RS_LAST = "[ - 1 ] _ [ 0 5 ] _ c 0 r 1 1 3 4 $ j h"
# docs/formats.md's example: 45 + 78 with W = 4
SPEC_SHIFT_PROMPT = "m k $ 4 5 + l p $ 7 8 = $ a q b x y | 0"
SPEC_SHIFT_COMPLETION = ("# 5 m k $ 4 + 8 l p $ 7 = 3 $ a q b x | 1 # 4 5 m k $ + 7 8 l p $ = 2 3 $ a q b | 1 "
                         "# 1 2 3 $ a q .")


def test_references_reproduce_spec_examples():
    states = random_space_states(SPEC_RS_PROMPT.split())
    assert " ".join(states[0]) == SPEC_RS_FIRST
    assert " ".join(states[-1]) == SPEC_RS_LAST
    assert len(states) == 4
    completion = ": " + " # ".join(" ".join(st) for st in states) + " ."
    assert get_task(TASK).parse_answer("inductive", completion) == "1134"
    shift = shift_states(SPEC_SHIFT_PROMPT.split())
    assert "# " + " # ".join(" ".join(st) for st in shift[1:]) + " ." == SPEC_SHIFT_COMPLETION
    assert get_task(TASK).parse_answer("shift", SPEC_SHIFT_COMPLETION) == "123"
    assert shift_text_reference("45", "78", "mklpaqbxy", 4) == (SPEC_SHIFT_PROMPT, SPEC_SHIFT_COMPLETION)


def test_generator_reproduces_spec_shift_example():
    """The generator on a hand-made instance (45 + 78, fillers m k / l p / a q b x y, W = 4)
    writes the spec's example token for token."""
    import numpy as np

    from hf_reasoning.tasks.addition import AdditionConfig
    from hf_reasoning.tasks.base import Instances

    cfg = AdditionConfig(train_lengths=(1, 2), ood_lengths=(4,), formats=("shift",))  # W = 4
    fillers = np.array([[ord(c) - ord("a") for c in "mklpaqbxy"]], dtype=np.int8)
    inst = Instances({"a": np.array([[4, 5]], np.int8), "b": np.array([[7, 8]], np.int8), "fillers": fillers}, None)
    columns = get_task(TASK).to_columns(cfg, "shift", inst)
    assert columns["prompt"].to_pylist() == [SPEC_SHIFT_PROMPT]
    assert columns["completion"].to_pylist() == [SPEC_SHIFT_COMPLETION]
    assert columns["fillers"].to_pylist() == ["mklpaqbxy"] and columns["answer"].to_pylist() == ["123"]


def test_reference_rejects_corrupted_rows(read_split):
    for config in ("abbe2024-inductive", "abbe2024_shift-shift", "abbe2024-scratchpad", "abbe2024-plain",
                   "cpu_hints-reversed_index_hints"):
        row = read_split(TASK, config, "ood")[0]
        check_row(row, config)
        tokens = row["completion"].split(" ")
        i = next(i for i in range(len(tokens) // 2, len(tokens)) if tokens[i].isdigit())
        tokens[i] = str((int(tokens[i]) + 1) % 10)
        with pytest.raises(AssertionError):
            check_row({**row, "completion": " ".join(tokens)}, config)
        with pytest.raises(AssertionError):
            check_row({**row, "a": row["a"][:-1] + str((int(row["a"][-1]) + 1) % 10)}, config)
    for config in ("abbe2024-index_hints", "cpu_hints-reversed_index_hints"):
        row = read_split(TASK, config, "train")[0]
        tokens = row["completion"].split()
        tokens[0] = f"h{int(tokens[0][1:]) + 1}"  # a hint out of the run
        with pytest.raises(AssertionError):
            check_row({**row, "completion": " " + " ".join(tokens)}, config)
        with pytest.raises(AssertionError):  # the prompt's hints must start at the recorded offset
            check_row({**row, "hint_offset": row["hint_offset"] + 1}, config)
    row = read_split(TASK, "abbe2024-inductive", "train")[0]
    fillers = row["fillers"]
    with pytest.raises(AssertionError):  # the register must carry the prompt's fillers
        check_row({**row, "fillers": fillers[1:] + fillers[0]}, "abbe2024-inductive")


# -- the repo's configs --------------------------------------------------------------------------

def test_spec_configs_present(repo_configs):
    configs = set(repo_configs(TASK))
    required = {f"abbe2024-{f}" for f in ("plain", "reversed", "index_hints", "reversed_index_hints",
                                          "scratchpad", "inductive")}
    required |= {"abbe2024_shift-shift", "cpu_shift-shift", "cpu_shift-plain", "cpu_space-inductive"}
    required |= {f"cpu_hints-{f}" for f in ("plain", "reversed", "index_hints", "reversed_index_hints")}
    assert required <= configs, required - configs
    assert {fmt_of(c) for c in configs} == set(ALL_FORMATS)


def test_every_row_of_every_config(repo_configs, config_splits, read_split):
    checked = 0
    for config in repo_configs(TASK):
        for split in config_splits(TASK, config):
            rows = read_split(TASK, config, split)
            assert rows, (config, split)
            for row in rows:
                check_row(row, config)
                checked += 1
    assert checked > 8000


def test_sum_has_carries_and_no_final_carry(read_split):
    """The data exercises both cases: a final carry (leading 1) and none (leading 0)."""
    answers = [r["answer"] for r in read_split(TASK, "abbe2024-plain", "train")]
    assert any(x[0] == "1" for x in answers) and any(x[0] == "0" for x in answers)


@pytest.mark.parametrize("preset,train,ood", [
    ("abbe2024", range(1, 11), range(12, 31, 2)),
    ("abbe2024_shift", range(1, 5), range(12, 31, 2)),
    ("cpu_shift", range(1, 5), CPU_OOD),
    ("cpu_space", range(1, 5), CPU_OOD),
    ("cpu_hints", range(1, 11), CPU_HINTS_OOD),
])
def test_preset_lengths(read_split, repo_configs, preset, train, ood):
    configs = [c for c in repo_configs(TASK) if c.startswith(preset + "-")]
    assert configs, preset
    for config in configs:
        for split in ("train", "validation", "test"):
            assert {r["length"] for r in read_split(TASK, config, split)} <= set(train)
        assert {r["length"] for r in read_split(TASK, config, "ood")} == set(ood)
        # training lengths with P(s) ∝ s
        lengths = [r["length"] for r in read_split(TASK, config, "train")]
        weights = {s: s / sum(train) for s in train}
        mean = sum(s * w for s, w in weights.items())
        sd = (sum(s * s * w for s, w in weights.items()) - mean ** 2) ** 0.5
        assert abs(sum(lengths) / len(lengths) - mean) < 5 * sd / len(lengths) ** 0.5, config
        counts = {s: lengths.count(s) for s in train}
        assert counts[max(train)] > counts[min(train)]


@pytest.mark.parametrize("config", ["abbe2024_shift-shift", "cpu_shift-shift"])
def test_shift_states_have_one_length_per_config(config_splits, read_split, config):
    """The point of the fixed width: every state of every split (training lengths and OOD
    alike) has the same number of tokens, 3W + 8, and the same layout (`+`, `=`, `|` at fixed
    places); the last state, the register, has W + 2 tokens."""
    W = SHIFT_WIDTH[preset_of(config)]
    lengths, last_lengths, layouts, digit_counts = set(), set(), set(), set()
    for split in config_splits(TASK, config):
        for row in read_split(TASK, config, split):
            states = split_on(f"{row['prompt']} {row['completion']}".split()[:-1], "#")
            lengths |= {len(state) for state in states[:-1]}
            last_lengths.add(len(states[-1]))
            layouts |= {(state.index("+"), state.index("="), state.index("|")) for state in states[:-1]}
            digit_counts.add(row["length"])
    assert digit_counts >= {1, 4} and max(digit_counts) == W  # short and longest operands both seen
    assert lengths == {3 * W + 8}
    assert last_lengths == {W + 2}
    assert layouts == {(W + 1, 2 * W + 3, 3 * W + 6)}


def test_shift_build_is_byte_identical(tmp_path):
    """`hf-reasoning build` twice with the same seed writes the same bytes (the fillers come
    from the seeded layout stream); another seed changes the fillers, not the questions."""
    from hf_reasoning import build_config
    from hf_reasoning.cli import main

    config = "cpu_shift-shift"
    for out in ("one", "two"):
        try:
            main(["build", TASK, "--config", config, "--out", str(tmp_path / out), "--scale", "tiny"])
        except SystemExit as exit_:
            assert exit_.code in (0, None), exit_.code
    files = sorted(p.relative_to(tmp_path / "one") for p in (tmp_path / "one").rglob("*") if p.is_file())
    assert any(str(f).endswith(".parquet") for f in files)
    for f in files:
        assert (tmp_path / "one" / f).read_bytes() == (tmp_path / "two" / f).read_bytes(), f
    first, other = build_config(TASK, config, "tiny", 0), build_config(TASK, config, "tiny", 1)
    assert first.tables["train"]["fillers"].to_pylist() != other.tables["train"]["fillers"].to_pylist()
    plain = build_config(TASK, "cpu_shift-plain", "tiny", 0)
    for split, table in first.tables.items():
        assert table["a"].equals(plain.tables[split]["a"]) and table["b"].equals(plain.tables[split]["b"]), split


def test_zhou2023_and_t2t_lengths(read_split, repo_configs):
    for config in repo_configs(TASK):
        if config.startswith("zhou2023-"):
            train = {r["length"] for s in ("train", "validation", "test") for r in read_split(TASK, config, s)}
            ood = {r["length"] for r in read_split(TASK, config, "ood")}
            assert train <= set(range(1, 41)) and 40 in train
            assert ood <= set(range(41, 101)) and 100 in ood
        if config.startswith("t2t-"):
            train = {r["length"] for s in ("train", "validation", "test") for r in read_split(TASK, config, s)}
            assert train <= set(range(1, 41))
            assert {r["length"] for r in read_split(TASK, config, "ood")} == {400}


def test_formats_of_a_preset_share_instances(read_split, repo_configs):
    by_format = {fmt_of(c): read_split(TASK, c, "train") for c in repo_configs(TASK) if c.startswith("abbe2024-")}
    first = [(r["a"], r["b"]) for r in by_format["plain"]]
    for rows in by_format.values():
        assert [(r["a"], r["b"]) for r in rows] == first


# -- parse_answer against the recomputed answer --------------------------------------------------

def test_parse_answer_of_every_row(repo_configs, read_split):
    task = get_task(TASK)
    for config in repo_configs(TASK):
        fmt = fmt_of(config)
        for row in read_split(TASK, config, "train") + read_split(TASK, config, "ood"):
            assert task.parse_answer(fmt, row["completion"]) == expected_answer(row["a"], row["b"])


@pytest.mark.parametrize("fmt,completion", [
    ("plain", ""),
    ("plain", "1 2 3"),                     # no end token
    ("plain", "1 2 . 3 ."),
    ("plain", "1 x 3 ."),
    ("plain", "."),
    ("reversed", "3 2 a ."),
    ("index_hints", "h1 1 h2 x ."),
    ("reversed_index_hints", "h2 ."),
    ("index_hints", "h1 1 h2 ."),           # a hint without its digit
    ("index_hints", "h1 1 2 ."),
    ("index_hints", "1 h1 2 h2 ."),          # digit before hint
    ("reversed_index_hints", "h3 5 x 2 h1 0 ."),
    ("index_hints", "h0 1 h1 2 ."),          # no hint h0
    ("index_hints", "h3 0 h4 12 ."),
    ("scratchpad", "4 5 0 9 ; 0 9 x ."),
    ("inductive", ": [ - 1 ] _ [ 0 5 ] _ c 0 r 1 1 3 4 j h ."),  # register without `$`
    ("inductive", ": [ - 1 ] _ [ 0 5 ] _ c 0 r 1 q 3 4 $ j h ."),  # a filler before `$`
    ("inductive", ": [ - 1 ] _ [ 0 5 ] _ c 0 r 1 1 3 4 $ j h"),  # no end token
    ("shift", "# 9 h $ 7 + 4 q $ 1 = 3 $ c p | 1 # 0 9 1 3 c ."),  # last state without `$`
    ("shift", "# 0 9 1 3 $ c"),
    ("shift", "# c 9 1 3 $ c ."),
])
def test_parse_answer_rejects_malformed(fmt, completion):
    assert get_task(TASK).parse_answer(fmt, completion) is None


@pytest.mark.parametrize("fmt,completion,answer", [
    ("plain", "0 2 5 .", "025"),
    ("reversed", "5 2 0 .", "025"),
    ("index_hints", "h1 0 h2 2 h3 5 .", "025"),
    ("reversed_index_hints", "h3 5 h2 2 h1 0 .", "025"),
    ("index_hints", "h3 0 h4 2 h5 5 .", "025"),          # hints at an offset
    ("reversed_index_hints", "h26 5 h25 2 h24 0 .", "025"),
    ("index_hints", "h7 0 h2 2 h40 5 .", "025"),         # the digits, whatever the hint indices
    ("scratchpad", "2 3 0 5 ; 1 1 0 2 ; 0 2 5 .", "025"),
    ("shift", "# 9 $ + 1 $ = 0 $ x | 1 # 1 0 $ x .", "10"),
])
def test_parse_answer_well_formed(fmt, completion, answer):
    assert get_task(TASK).parse_answer(fmt, completion) == answer


# -- index hints at a random offset ---------------------------------------------------------------

@pytest.fixture(scope="module")
def cpu_hints_default():
    """cpu_hints-reversed_index_hints at scale default (about 1 s of CPU), as the lead builds it."""
    from hf_reasoning import build_config

    return build_config(TASK, "cpu_hints-reversed_index_hints", "default", 0)


def test_hint_offsets_default_scale(cpu_hints_default):
    """Every row is right; offsets are uniform over 0..H-s-1 per length; every hint an OOD
    row uses occurs in the training split (the point of the random offset)."""
    config, H = "cpu_hints-reversed_index_hints", HINT_SET["cpu_hints"]
    tables = {s: t.to_pylist() for s, t in cpu_hints_default.tables.items()}
    assert set(tables) == {"train", "validation", "test", "ood"}
    for rows in tables.values():
        for row in rows:
            check_row(row, config)
            assert get_task(TASK).parse_answer(fmt_of(config), row["completion"]) == expected_answer(row["a"], row["b"])
    by_length = defaultdict(Counter)
    for row in tables["train"]:
        by_length[row["length"]][row["hint_offset"]] += 1
    assert set(by_length) == set(range(1, 11))
    for s, counts in by_length.items():
        assert set(counts) == set(range(H - s)), s  # every offset the run allows, none beyond
        n = sum(counts.values())
        expected = n / (H - s)
        assert max(abs(c - expected) for c in counts.values()) < 5 * expected ** 0.5 + 2, (s, counts)

    def hints_of(rows):
        return {int(t[1:]) for r in rows for t in (r["prompt"] + " " + r["completion"]).split() if t.startswith("h")}

    ood_hints = hints_of(tables["ood"])
    assert ood_hints == set(range(1, H + 1))  # the longest OOD length (25) uses every hint h1..h26
    assert ood_hints <= hints_of(tables["train"])
    assert len({r["hint_offset"] for r in tables["ood"] if r["length"] == 11}) > 10  # offsets in evaluation too
    assert {r["hint_offset"] for r in tables["ood"] if r["length"] == 25} == {0}  # the run fills the set


def test_hint_offsets_vary_in_every_hint_config(repo_configs, read_split):
    configs = [c for c in repo_configs(TASK) if fmt_of(c) in HINT_FORMATS]
    assert {preset_of(c) for c in configs} == set(HINT_SET)
    for config in configs:
        for split in ("train", "ood"):
            offsets = [r["hint_offset"] for r in read_split(TASK, config, split)]
            assert len(set(offsets)) > 5, (config, split)


def test_vocabulary_holds_every_hint():
    task = get_task(TASK)
    for preset, cfg in task.presets.items():
        if set(cfg.formats) & set(HINT_FORMATS):
            assert max(cfg.train_lengths + cfg.ood_lengths) + 1 == HINT_SET[preset]
            assert {f"h{i}" for i in range(1, HINT_SET[preset] + 1)} <= set(task.vocab.tokens)
    assert "h401" in task.vocab.tokens and "h402" not in task.vocab.tokens


def test_hint_set_beyond_vocabulary_is_refused():
    from hf_reasoning.tasks.addition import AdditionConfig

    task = get_task(TASK)
    task.validate(AdditionConfig(train_lengths=(1, 2), ood_lengths=(400,)), "index_hints")  # h1..h401: fits
    with pytest.raises(HFReasoningError, match="401"):
        task.validate(AdditionConfig(train_lengths=(1, 2), ood_lengths=(401,)), "reversed_index_hints")


def test_hint_offsets_are_deterministic():
    from hf_reasoning import build_config

    config = "cpu_hints-index_hints"
    first, again = build_config(TASK, config, "tiny", 0), build_config(TASK, config, "tiny", 0)
    for split, table in first.tables.items():
        assert table.equals(again.tables[split]), split
    other = build_config(TASK, config, "tiny", 1)
    assert other.tables["train"]["hint_offset"].to_pylist() != first.tables["train"]["hint_offset"].to_pylist()
    # the offset is layout: the plain config of the preset holds the very same questions
    plain = build_config(TASK, "cpu_hints-plain", "tiny", 0)
    for split, table in first.tables.items():
        assert table["a"].equals(plain.tables[split]["a"]) and table["b"].equals(plain.tables[split]["b"]), split


def test_cpu_presets_build_load_and_stream(tmp_path):
    """`hf-reasoning build addition --config … --scale tiny`, load_dataset of the folder, and
    the fresh stream of the hint preset."""
    import itertools

    import datasets

    from hf_reasoning import stream_train
    from hf_reasoning.cli import main

    configs = ["cpu_shift-shift", "cpu_space-inductive", "cpu_hints-reversed_index_hints"]
    argv = ["build", TASK, "--out", str(tmp_path / "hub"), "--scale", "tiny"]
    try:
        main(argv + [a for c in configs for a in ("--config", c)])
    except SystemExit as exit_:
        assert exit_.code in (0, None), exit_.code
    for config in configs:
        ds = datasets.load_dataset(str(tmp_path / "hub" / TASK), config, cache_dir=str(tmp_path / "cache"))
        assert set(ds) == {"train", "validation", "test", "ood"}, config
        for split in ds:
            for row in ds[split]:
                check_row(row, config)
        if config == "cpu_space-inductive":  # 12 slots per operand: a + b over 25 slots
            assert all(r["prompt"].split().index("=") == 25 for r in ds["ood"])
    rows = list(itertools.islice(iter(stream_train(TASK, "cpu_hints-index_hints", scale="tiny", seed=0,
                                                   chunk_size=64)), 200))
    for row in rows:
        check_row(row, "cpu_hints-index_hints")
    assert 1 <= min(r["length"] for r in rows) and max(r["length"] for r in rows) <= 10
    assert len({r["hint_offset"] for r in rows}) > 5
