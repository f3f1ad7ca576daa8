"""parity and half parity, checked independently of the generator (docs/formats.md#parity).

Every row of every parity config of the tiny repo is checked twice:

* from the structured columns (``bits``, ``positions``): the answer and every scratchpad /
  inductive state are recomputed in plain Python and the texts rebuilt token by token;
* from the text alone: the prompt is parsed back into the instance, the inductive states are
  re-derived from the prompt and the previous state only (the next state is a function of the
  question and the previous state), and the answer is read from the last state.
"""

from __future__ import annotations

import pytest

from hf_reasoning.tasks import get_task

TASK = "parity"
HALF_NS = (40, 80, 120, 160, 200)
ABBE_TRAIN = set(range(1, 31))
ABBE_OOD = {31, 35, 40, 45, 50, 55, 60}
ABBE_SLOTS = 60


# -- an independent reference, written from docs/formats.md ----------------------------------

def fmt_of(config: str) -> str:
    return config.rpartition("-")[2]


def is_half(config: str) -> bool:
    return config.startswith("half_n")


def running_parities(bits):
    out, r = [], 0
    for b in bits:
        r = (r + b) % 2
        out.append(r)
    return out


def two_digit(i: int) -> list[str]:
    assert 0 <= i <= 99
    return [str(i // 10), str(i % 10)]


def inductive_states_from_prompt(prompt_tokens: list[str]) -> list[list[str]]:
    """The random-space states, each computed from the question and the previous state only.

    State: ``[ t u ] b , r``: the slot of the next bit after the previous pointer, that bit and
    the running parity; once no bit is left, the pointer is D (past the end), the bit ``_`` and
    the parity is repeated (the last state)."""
    assert prompt_tokens[-1] == "=", prompt_tokens
    slots = prompt_tokens[:-1]
    D = len(slots)
    states = []
    pointer, parity = -1, 0
    while True:
        nxt = next((j for j in range(pointer + 1, D) if slots[j] != "_"), D)
        if nxt == D:
            states.append(["[", *two_digit(D), "]", "_", ",", str(parity)])
            return states
        bit = int(slots[nxt])
        parity = (parity + bit) % 2
        states.append(["[", *two_digit(nxt), "]", str(bit), ",", str(parity)])
        pointer = nxt


def split_states(completion: str) -> list[list[str]]:
    """``: s1 # s2 # … # sk .`` → the states' tokens."""
    tokens = completion.split(" ")
    assert tokens[0] == ":" and tokens[-1] == ".", completion
    body = tokens[1:-1]
    states, cur = [], []
    for t in body:
        if t == "#":
            states.append(cur)
            cur = []
        else:
            cur.append(t)
    states.append(cur)
    return states


def check_row(row: dict, config: str, slots: int | None = None) -> str:
    """Assert that one parity row is right; return the recomputed answer."""
    fmt, half = fmt_of(config), is_half(config)
    bits = list(row["bits"])
    n = row["length"]
    assert all(b in (0, 1) for b in bits)
    assert len(bits) == (2 * n if half else n), (len(bits), n)
    assert row["group"] == str(n)
    parities = running_parities(bits[:n])
    answer = str(parities[-1])
    assert row["answer"] == answer
    # the completion is one space then its tokens (generator >= 0.6.0: prompt + completion is the training text)
    assert row["completion"][:1] == " ", repr(row["completion"])
    completion = row["completion"][1:]
    for text in (row["prompt"], completion):
        assert text == " ".join(text.split()), repr(text)  # single spaces, no padding
    if fmt == "plain":
        assert row["prompt"] == " ".join(map(str, bits)) + " ="
        assert completion == f"{answer} ."
    elif fmt == "scratchpad":
        assert row["prompt"] == " ".join(map(str, bits)) + " ="
        assert completion == " ".join(map(str, parities)) + " ."
        assert completion.split()[-2] == answer
    elif fmt == "inductive":
        assert not half
        positions = list(row["positions"])
        assert len(positions) == n and positions == sorted(set(positions))
        # structured → text
        D = slots if slots is not None else len(row["prompt"].split()) - 1
        expected_slots = ["_"] * D
        for p, b in zip(positions, bits):
            assert 0 <= p < D
            expected_slots[p] = str(b)
        assert row["prompt"] == " ".join(expected_slots) + " ="
        expected_states = [["[", *two_digit(p), "]", str(b), ",", str(r)] for p, b, r in zip(positions, bits, parities)]
        expected_states.append(["[", *two_digit(D), "]", "_", ",", answer])
        assert split_states(completion) == expected_states
        # text → instance → states: each state from the question and the previous state
        prompt_tokens = row["prompt"].split()
        assert ":" not in prompt_tokens
        parsed_positions = [j for j, t in enumerate(prompt_tokens[:-1]) if t != "_"]
        assert parsed_positions == positions
        assert [int(prompt_tokens[j]) for j in parsed_positions] == bits
        states = split_states(completion)
        assert states == inductive_states_from_prompt(prompt_tokens)
        assert states[-1][-1] == answer and states[-1][4] == "_"
    else:
        raise AssertionError(f"unknown parity format {fmt!r}")
    return answer


# -- the spec's own example validates the reference --------------------------------------------

SPEC_PROMPT = "_ 0 0 _ 1 _ 0 1 1 _ 1 1 ="
SPEC_HEAD = ": [ 0 1 ] 0 , 0 # [ 0 2 ] 0 , 0 # [ 0 4 ] 1 , 1 #"
SPEC_TAIL = "# [ 1 1 ] 1 , 1 # [ 1 2 ] _ , 1 ."


def render_states(states):
    return ": " + " # ".join(" ".join(s) for s in states) + " ."


def test_reference_reproduces_spec_example():
    completion = render_states(inductive_states_from_prompt(SPEC_PROMPT.split()))
    assert completion.startswith(SPEC_HEAD) and completion.endswith(SPEC_TAIL)
    assert get_task(TASK).parse_answer("inductive", completion) == "1"


def test_reference_rejects_corrupted_rows(read_split):
    row = read_split(TASK, "abbe2024-inductive", "ood")[0]
    check_row(row, "abbe2024-inductive", ABBE_SLOTS)
    # flip the running parity of the second state: the checker must notice
    tokens = row["completion"].split(" ")
    second_r = [i for i, t in enumerate(tokens) if t == "#"][1] - 1
    tokens[second_r] = "1" if tokens[second_r] == "0" else "0"
    with pytest.raises(AssertionError):
        check_row({**row, "completion": " ".join(tokens)}, "abbe2024-inductive", ABBE_SLOTS)
    with pytest.raises(AssertionError):
        check_row({**row, "answer": "1" if row["answer"] == "0" else "0"}, "abbe2024-inductive", ABBE_SLOTS)
    plain = read_split(TASK, "abbe2024-plain", "train")[0]
    with pytest.raises(AssertionError):
        check_row({**plain, "bits": [1 - plain["bits"][0], *plain["bits"][1:]]}, "abbe2024-plain")


# -- the repo's configs ------------------------------------------------------------------------

def test_spec_configs_present(repo_configs):
    configs = set(repo_configs(TASK))
    required = {f"abbe2024-{f}" for f in ("plain", "scratchpad", "inductive")}
    required |= {f"half_n{n}-{f}" for n in HALF_NS for f in ("plain", "scratchpad")}
    assert required <= configs, required - configs


def test_every_row_of_every_config(repo_configs, config_splits, read_split):
    checked = 0
    for config in repo_configs(TASK):
        slots = ABBE_SLOTS if config.startswith("abbe2024") else None
        for split in config_splits(TASK, config):
            rows = read_split(TASK, config, split)
            assert rows, (config, split)
            for row in rows:
                check_row(row, config, slots)
                checked += 1
    assert checked > 5000


def test_abbe2024_lengths(read_split):
    for fmt in ("plain", "scratchpad", "inductive"):
        config = f"abbe2024-{fmt}"
        train = [r["length"] for r in read_split(TASK, config, "train")]
        for split in ("train", "validation", "test"):
            assert {r["length"] for r in read_split(TASK, config, split)} <= ABBE_TRAIN
        assert {r["length"] for r in read_split(TASK, config, "ood")} == ABBE_OOD
        # uniform over 1..30: mean 15.5, sd 8.66 (256 rows: standard error 0.54)
        assert abs(sum(train) / len(train) - 15.5) < 2.7
        assert len(set(train)) >= 25
    prompt = read_split(TASK, "abbe2024-inductive", "train")[0]["prompt"].split()
    assert len(prompt) == ABBE_SLOTS + 1  # D = 60 slots, then "="


def test_half_parity(read_split, config_splits):
    for n in HALF_NS:
        for fmt in ("plain", "scratchpad"):
            config = f"half_n{n}-{fmt}"
            assert "ood" not in config_splits(TASK, config)
            for split in config_splits(TASK, config):
                rows = read_split(TASK, config, split)
                assert {r["length"] for r in rows} == {n}
                assert all(len(r["bits"]) == 2 * n for r in rows)
                # the answer is the parity of the first n bits, not of all 2n (not always equal)
            rows = read_split(TASK, config, "train")
            assert any(sum(r["bits"]) % 2 != sum(r["bits"][:n]) % 2 for r in rows)
            if fmt == "scratchpad":
                assert all(len(r["completion"].split()) == n + 1 for r in rows)


def test_labels_balanced(read_split):
    answers = [r["answer"] for r in read_split(TASK, "abbe2024-plain", "train")]
    assert 0.35 < answers.count("1") / len(answers) < 0.65


def test_formats_of_a_preset_share_instances(read_split):
    plain = read_split(TASK, "abbe2024-plain", "train")
    scratch = read_split(TASK, "abbe2024-scratchpad", "train")
    assert [r["bits"] for r in plain] == [r["bits"] for r in scratch]


# -- parse_answer against the recomputed answer --------------------------------------------------

def test_parse_answer_of_every_row(repo_configs, read_split):
    task = get_task(TASK)
    for config in repo_configs(TASK):
        fmt = fmt_of(config)
        for row in read_split(TASK, config, "train") + read_split(TASK, config, "ood"):
            expected = str(sum(row["bits"][: row["length"]]) % 2)
            assert task.parse_answer(fmt, row["completion"]) == expected


@pytest.mark.parametrize("fmt,completion", [
    ("plain", ""),
    ("plain", "1"),            # no end token
    ("plain", "1 . 1 ."),      # end token twice
    ("plain", "2 ."),          # not a bit
    ("plain", "x ."),
    ("plain", "0 1 ."),        # the plain format is the answer alone
    ("scratchpad", "0 1 1"),
    ("scratchpad", "0 1 2 ."),
    ("scratchpad", "."),
    ("inductive", ": [ 0 1 ] 1 , 1 # [ 0 3 ] _ , 1"),           # no end token
    ("inductive", ": [ 0 1 ] 1 , 1 # [ 0 3 ] _ 1 ."),           # last state malformed
    ("inductive", ": [ 0 1 ] 1 , 1 # [ 0 3 ] _ , 7 ."),         # not a bit
    ("inductive", ": [ 0 1 ] 1 , 1 # ."),                       # empty last state
    ("inductive", ""),
])
def test_parse_answer_rejects_malformed(fmt, completion):
    assert get_task(TASK).parse_answer(fmt, completion) is None


@pytest.mark.parametrize("fmt,completion,answer", [
    ("plain", "1 .", "1"),
    ("plain", "0 .", "0"),
    ("scratchpad", "1 1 0 .", "0"),
    ("inductive", ": [ 0 0 ] 1 , 1 # [ 0 3 ] _ , 1 .", "1"),
    ("inductive", ": [ 0 2 ] 1 , 1 # [ 0 3 ] 1 , 0 # [ 0 5 ] _ , 0 .", "0"),
])
def test_parse_answer_well_formed(fmt, completion, answer):
    assert get_task(TASK).parse_answer(fmt, completion) == answer
