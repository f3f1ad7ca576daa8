"""Exact match beside answer accuracy (issue 12): completions whose scratchpad is wrong but whose
final answer is right must score answer-correct and exact-wrong; the random fillers of addition
are never an error, every other token is.

The rows are real (``build_dataset`` at scale ``tiny``); their reference answers are first
checked against the structured columns (bits, operands, label), so the tests do not compare the
scorer with the generator that shares its code.
"""

from __future__ import annotations

import random

import pytest

from hf_reasoning import build_dataset
from hf_reasoning.evaluation import answer_of, is_exact_match, score


def _rows(task: str, config: str, n: int = 16) -> list[dict]:
    ds = build_dataset(task, config, scale="tiny")
    rows = list(ds["train"].select(range(n)))
    if "ood" in ds:
        rows += list(ds["ood"].select(range(len(ds["ood"]) - 4, len(ds["ood"]))))
    for r in rows:  # the reference answer, recomputed from the structured instance
        if task == "parity":
            assert r["answer"] == str(sum(r["bits"]) % 2)
        elif task == "addition":
            assert int(r["answer"]) == int(r["a"]) + int(r["b"]) and len(r["answer"]) == len(r["a"]) + 1
        elif task == "cycles":
            assert r["answer"] == str(r["label"])
    return rows


def _check_answer_right_exact_wrong(task: str, fmt: str, rows: list[dict], corrupt) -> None:
    corrupted = [corrupt(r) for r in rows]
    assert all(c.split() != r["completion"].split() for c, r in zip(corrupted, rows))
    for c, r in zip(corrupted, rows):
        assert answer_of(c, task, fmt) == r["answer"], c  # the answer survives the corruption ...
        assert not is_exact_match(c, r["completion"], task, fmt), c  # ... the derivation does not
    result = score(corrupted, [r["answer"] for r in rows], task=task, fmt=fmt,
                   reference_completions=[r["completion"] for r in rows], lengths=[r["length"] for r in rows])
    assert result["answer_accuracy"]["accuracy"] == 1.0
    assert result["exact_match"]["accuracy"] == 0.0
    # scratchpad/inductive/shift formats: the headline and the generalisation length are exact match
    assert result["headline"] == "exact_match" and result["accuracy"] == 0.0
    assert result["generalization_length"] is None and result["answer_accuracy"]["generalization_length"] is not None
    # the references themselves are right by both scores
    reference = score([r["completion"] for r in rows], [r["answer"] for r in rows], task=task, fmt=fmt,
                      reference_completions=[r["completion"] for r in rows])
    assert reference["answer_accuracy"]["accuracy"] == reference["exact_match"]["accuracy"] == 1.0


def _states(completion: str) -> list[list[str]]:
    """The states of an inductive completion (after ``:``, between ``#``), ``.`` dropped."""
    tokens = completion.split()
    assert tokens[0] == ":" and tokens[-1] == "."
    return [s.split() for s in " ".join(tokens[1:-1]).split(" # ")]


def test_parity_scratchpad_all_zeros_then_the_answer():
    # `0 0 0 … 0 p .`: the running parities are wrong, the last one is the answer
    zeros = lambda r: " ".join(["0"] * (len(r["bits"]) - 1) + [r["answer"], "."])  # noqa: E731
    rows = [r for r in _rows("parity", "laptop16-scratchpad", 40) if zeros(r).split() != r["completion"].split()]
    assert len(rows) >= 10
    _check_answer_right_exact_wrong("parity", "scratchpad", rows, zeros)


def test_parity_inductive_garbage_states_then_the_last_state():
    rows = _rows("parity", "laptop16-inductive")
    # `: garbage # x x x x x , p .` and `: garbage # <true last state> .`
    _check_answer_right_exact_wrong("parity", "inductive", rows,
                                    lambda r: f": garbage # x x x x x , {r['answer']} .")
    _check_answer_right_exact_wrong("parity", "inductive", rows,
                                    lambda r: ": garbage # " + " ".join(_states(r["completion"])[-1]) + " .")


@pytest.mark.parametrize("config", ["n3-scratchpad", "n3-inductive"])
def test_cycles_label_without_the_walk(config):
    rows = _rows("cycles", config)
    _check_answer_right_exact_wrong("cycles", config.split("-")[1], rows, lambda r: f"; {r['answer']} .")


def test_addition_inductive_junk_states_then_the_last_register():
    rows = _rows("addition", "cpu_space-inductive")
    # `: junk # … <last state> .` (the issue's `: junk # … 1 1 3 4 $ .`): the last state holds the answer
    _check_answer_right_exact_wrong("addition", "inductive", rows,
                                    lambda r: ": junk # " + " ".join(_states(r["completion"])[-1]) + " .")


def test_addition_scratchpad_wrong_steps_right_result():
    rows = _rows("addition", "abbe2024-scratchpad")
    # every step `da db cin dout ;` replaced by `0 0 0 0 ;`, the result digits kept
    _check_answer_right_exact_wrong("addition", "scratchpad", rows,
                                    lambda r: "0 0 0 0 ; " * len(r["a"]) + " ".join(r["answer"]) + " .")


def _refill(completion: str, is_filler) -> str:
    """The completion with every filler position given another letter."""
    tokens = completion.split()
    out = []
    for i, t in enumerate(tokens):
        out.append(chr((ord(t) - ord("a") + 7) % 26 + ord("a")) if is_filler(i, t) else t)
    return " ".join(out)


def _filler_positions_inductive(completion: str) -> set[int]:
    """Independently of the scorer: the letters after `$` in each state's register."""
    positions, after_dollar = set(), False
    for i, t in enumerate(completion.split()):
        if t in (":", "#", "."):
            after_dollar = False
        elif t == "$":
            after_dollar = True
        elif after_dollar:
            assert t.isalpha() and len(t) == 1
            positions.add(i)
    return positions


def test_addition_fillers_are_masked_and_everything_else_counts():
    rng = random.Random(0)
    for config, fmt in (("cpu_space-inductive", "inductive"), ("cpu_shift-shift", "shift")):
        rows = _rows("addition", config)
        for r in rows:
            reference = r["completion"]
            tokens = reference.split()
            if fmt == "inductive":
                fillers = _filler_positions_inductive(reference)
            else:  # shift has no letter labels: every letter pads an operand or the register
                fillers = {i for i, t in enumerate(tokens) if t.isalpha()}
            assert fillers, reference
            refilled = _refill(reference, lambda i, t: i in fillers)
            assert refilled != reference
            assert is_exact_match(refilled, reference, "addition", fmt)
            assert answer_of(refilled, "addition", fmt) == r["answer"]
            # a filler replaced by a digit or by `$` is a structural error
            i = rng.choice(sorted(fillers))
            for wrong in ("7", "$"):
                assert not is_exact_match(" ".join(tokens[:i] + [wrong] + tokens[i + 1:]), reference, "addition", fmt)
            # any non-filler token changed, or a token dropped or added, is wrong
            others = [i for i in range(len(tokens) - 1) if i not in fillers]
            for i in rng.sample(others, 6):
                changed = tokens[:i] + [_other(tokens[i])] + tokens[i + 1:]
                assert not is_exact_match(" ".join(changed), reference, "addition", fmt), (i, tokens[i])
            assert not is_exact_match(" ".join(tokens[:-2] + tokens[-1:]), reference, "addition", fmt)
            assert not is_exact_match(" ".join(tokens[:-1] + ["a", "."]), reference, "addition", fmt)


def _other(token: str) -> str:
    if token.isdigit():
        return str((int(token) + 1) % 10)
    return {"c": "r", "r": "c", "[": "]", "]": "[", "#": ":", "$": "a", "+": "=", "=": "+", "|": "$",
            "-": "0", "_": "0"}.get(token, "$")


def test_inductive_labels_pointers_and_carries_count():
    rows = _rows("addition", "cpu_space-inductive", 8)
    for r in rows:
        reference = r["completion"]
        states = _states(reference)
        # in state t: `[ p p ] da [ p p ] db c carry r <register>`
        for position, name in ((1, "pointer"), (2, "pointer"), (4, "digit"), (10, "c label"), (11, "carry"), (12, "r label")):
            tokens = reference.split()
            index = 1 + position  # the first state starts after `:`
            tokens[index] = _other(tokens[index])
            assert not is_exact_match(" ".join(tokens), reference, "addition", "inductive"), name
        assert states[0][10] == "c" and states[0][12] == "r"


def test_answer_only_formats_have_answer_accuracy_as_headline_and_the_scores_agree():
    rows = _rows("parity", "laptop16-plain")
    predictions = [r["completion"] if i % 3 else f"{1 - int(r['answer'])} ." for i, r in enumerate(rows)]
    result = score(predictions, [r["answer"] for r in rows], task="parity", fmt="plain",
                   reference_completions=[r["completion"] for r in rows])
    assert result["headline"] == "answer_accuracy"
    assert result["answer_accuracy"]["accuracy"] == result["exact_match"]["accuracy"] == result["accuracy"]
    assert result["accuracy"] == pytest.approx(sum(1 for i in range(len(rows)) if i % 3) / len(rows))


def test_exact_match_blocks_per_split_group_and_length_with_wilson_intervals():
    from hf_reasoning.evaluation import wilson_interval

    rows = _rows("parity", "laptop16-scratchpad", 40)
    assert len(rows) == 44
    # odd rows: the right answer through a wrong scratchpad (where that differs from the reference)
    predictions = []
    for i, r in enumerate(rows):
        lucky = " ".join(["0"] * (len(r["bits"]) - 1) + [r["answer"], "."])
        predictions.append(lucky if i % 2 else r["completion"])
    exact = [p.split() == r["completion"].split() for p, r in zip(predictions, rows)]  # (references start with a space)
    splits = ["validation"] * 40 + ["ood"] * (len(rows) - 40)
    result = score(predictions, [r["answer"] for r in rows], task="parity", fmt="scratchpad",
                   reference_completions=[r["completion"] for r in rows], lengths=[r["length"] for r in rows],
                   splits=splits)
    em = result["exact_match"]
    assert em["accuracy"] == pytest.approx(sum(exact) / len(rows))
    assert result["answer_accuracy"]["accuracy"] == 1.0
    assert em["ood"]["correct"] == sum(e for e, s in zip(exact, splits) if s == "ood")
    assert em["in_distribution"]["correct"] == sum(e for e, s in zip(exact, splits) if s != "ood")
    for length, block in em["lengths"].items():
        flags = [e for e, r in zip(exact, rows) if str(r["length"]) == length]
        assert block["correct"] == sum(flags) and block["ci95"] == pytest.approx(list(wilson_interval(sum(flags), len(flags))))
    assert em["groups"].keys() == em["lengths"].keys() and em["per_split"]["ood"]["n"] == len(rows) - 40
    assert result["lengths"] == em["lengths"]  # the headline of a scratchpad format


def test_training_loop_scores_both():
    """train.evaluate logs ``answer_accuracy``, ``exact_match`` and the headline ``accuracy``
    from ``train.is_correct``, which follows the scorer's rules."""
    from hf_reasoning.tasks import get_task
    from hf_reasoning.train import is_correct

    task = get_task("cycles")
    row = _rows("cycles", "n3-scratchpad", 1)[0]
    assert is_correct(task, "scratchpad", row["completion"], row) == (True, True)
    assert is_correct(task, "scratchpad", f"; {row['answer']} .", row) == (True, False)
    assert is_correct(task, "scratchpad", row["completion"].replace(" .", "."), row) == (True, True)  # decoder spacing
    assert is_correct(None, "scratchpad", f"; {row['answer']} .", row) == (False, False)
