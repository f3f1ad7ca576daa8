"""Scoring on hand-made cases with known answers, the evaluate metric module offline, the
plot and table, and evaluate_run on a saved (untrained) model folder."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from hf_reasoning.evaluation import answer_of, plot_accuracy_vs_length, results_table, score, wilson_interval

METRIC_DIR = Path(__file__).resolve().parents[1] / "hf_reasoning" / "metrics" / "ood_accuracy"

# addition, shift format: 45 + 78 = 123 (docs/formats.md#addition). The last state's register holds the
# answer digits before '$' and then a random filler 'a' that must never be scored.
SHIFT_OK = "# 5 m $ 4 + 8 l $ 7 = 3 $ a q | 1 # 4 5 m $ + 7 8 l $ = 2 3 $ a | 1 # 1 2 3 $ a ."
SHIFT_WRONG_LAST = "# 5 m $ 4 + 8 l $ 7 = 3 $ a q | 1 # 4 5 m $ + 7 8 l $ = 2 3 $ a | 1 # 1 2 4 $ a ."
SHIFT_OTHER_FILLER = "# 5 m $ 4 + 8 l $ 7 = 3 $ z z | 1 # 4 5 m $ + 7 8 l $ = 2 3 $ z | 1 # 1 2 3 $ z ."
SHIFT_TRUNCATED = "# 5 m $ 4 + 8 l $ 7 = 3 $ a q | 1 # 4 5 m $ + 7 8 l $ = 2 3 $ a | 1 # 1 2 3"
# the right answer through a wrong middle state (its digit 2 written as 9, its carry as 0)
SHIFT_WRONG_MIDDLE = "# 5 m $ 4 + 8 l $ 7 = 3 $ a q | 1 # 4 5 m $ + 7 8 l $ = 9 3 $ a | 0 # 1 2 3 $ a ."


def test_wilson_interval_known_values():
    # textbook values: 8/10 → [0.4902, 0.9433]; 0/10 → [0, 0.2775]; 10/10 → [0.7225, 1]
    low, high = wilson_interval(8, 10)
    assert math.isclose(low, 0.4902, abs_tol=1e-4) and math.isclose(high, 0.9433, abs_tol=1e-4)
    low, high = wilson_interval(0, 10)
    assert low == 0.0 and math.isclose(high, 0.2775, abs_tol=1e-4)
    low, high = wilson_interval(10, 10)
    assert math.isclose(low, 0.7225, abs_tol=1e-4) and math.isclose(high, 1.0, abs_tol=1e-12)
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_answer_rule_of_shift_addition_ignores_fillers():
    assert answer_of(SHIFT_OK, "addition", "shift") == "123"
    assert answer_of(SHIFT_OTHER_FILLER, "addition", "shift") == "123"  # fillers differ: same answer
    assert answer_of(SHIFT_WRONG_LAST, "addition", "shift") == "124"
    for malformed in (None, "", "   ", SHIFT_TRUNCATED, "garbage words here .", "# # # .", ". . .", "$ $ $", 42):
        assert answer_of(malformed, "addition", "shift") is None


def test_score_hand_made_cases():
    predictions = [
        SHIFT_OK,              # right, exact
        SHIFT_OTHER_FILLER,    # right, exact: only the random fillers differ (never an error)
        SHIFT_WRONG_LAST,      # wrong digit in the last state
        SHIFT_TRUNCATED,       # no end token
        "",                    # empty
        "zzz qqq",             # garbage
        None,                  # nothing generated
        SHIFT_OK,              # right (OOD row)
        SHIFT_WRONG_MIDDLE,    # right answer, wrong derivation (OOD row)
    ]
    references = ["123"] * 9
    lengths = [2, 2, 2, 3, 3, 3, 12, 12, 12]
    splits = ["test"] * 6 + ["ood"] * 3
    completions = [SHIFT_OK] * 9
    r = score(predictions, references, task="addition", fmt="shift", lengths=lengths, splits=splits,
              reference_completions=completions)
    assert r["n"] == 9 and r["headline"] == "exact_match"
    answer, exact = r["answer_accuracy"], r["exact_match"]
    assert answer["correct"] == 4 and answer["accuracy"] == pytest.approx(4 / 9)
    assert exact["correct"] == 3 and exact["accuracy"] == pytest.approx(3 / 9)
    assert r["accuracy"] == exact["accuracy"] and r["correct"] == 3  # shift: the headline is exact match
    assert exact["in_distribution"]["accuracy"] == pytest.approx(2 / 6) and exact["in_distribution"]["n"] == 6
    assert exact["ood"]["accuracy"] == pytest.approx(1 / 3) and answer["ood"]["accuracy"] == pytest.approx(2 / 3)
    assert r["groups"]["2"]["accuracy"] == pytest.approx(2 / 3)
    assert r["groups"]["3"]["accuracy"] == 0.0
    assert r["groups"]["12"]["correct"] == 1 and answer["groups"]["12"]["correct"] == 2
    assert list(r["groups"]) == ["2", "3", "12"]  # numeric order, not text order
    low, high = wilson_interval(2, 3)
    assert r["groups"]["2"]["ci95"] == pytest.approx([low, high])
    assert answer["lengths"]["12"]["ci95"] == pytest.approx(list(wilson_interval(2, 3)))
    assert r["per_split"]["ood"]["n"] == 3
    assert r["train_max_length"] == 3  # largest in-distribution length
    # no length reaches 0.9 → no generalisation length
    assert r["generalization_length"] is None and r["generalization_ratio"] is None
    json.dumps(r)  # serialisable


def test_generalization_length_and_ratio():
    # accuracy per length: 1 → 1.0, 2 → 1.0, 4 → 0.95 (19/20), 6 → 0.5, 8 → 0.9 (9/10), 10 → 0.0
    table = {1: (10, 10), 2: (10, 10), 4: (19, 20), 6: (5, 10), 8: (9, 10), 10: (0, 10)}
    predictions, references, lengths = [], [], []
    for length, (right, total) in table.items():
        for i in range(total):
            predictions.append("1 ." if i < right else "0 .")
            references.append("1")
            lengths.append(length)
    r = score(predictions, references, task="parity", fmt="plain", lengths=lengths, train_max_length=2)
    assert r["lengths"]["8"]["accuracy"] == pytest.approx(0.9)
    assert r["generalization_length"] == 8  # largest tested length with accuracy ≥ 0.9
    assert r["generalization_length_contiguous"] == 4  # 6 fails
    assert r["generalization_ratio"] == pytest.approx(4.0)
    assert r["ood"]["n"] == 50 and r["in_distribution"]["n"] == 20  # lengths > 2 are OOD
    strict = score(predictions, references, task="parity", fmt="plain", lengths=lengths, train_max_length=2,
                   threshold=0.96)
    assert strict["generalization_length"] == 2 and strict["generalization_ratio"] == pytest.approx(1.0)


def test_inductive_answer_from_last_state_and_end_token():
    good = ": [ 0 1 ] 1 , 1 # [ 0 3 ] 0 , 1 # [ 0 4 ] _ , 1 ."
    no_end = ": [ 0 1 ] 1 , 1 # [ 0 3 ] 0 , 1 # [ 0 4 ] _ , 1"
    r = score([good, no_end, good], ["1", "1", "0"], task="parity", fmt="inductive")
    assert r["accuracy"] == pytest.approx(1 / 3)
    # without reference completions there is no exact match: the headline is answer accuracy
    assert r["exact_match"] is None and r["headline"] == "answer_accuracy"
    assert r["groups"] is None and r["ood"] is None
    # without a task: whole-text match, whitespace-normalised
    r = score(["1  2 .", "1 2", None], ["1 2 .", "1 2 .", "1 2 ."])
    assert r["accuracy"] == pytest.approx(1 / 3) and r["exact_match"]["accuracy"] == pytest.approx(1 / 3)


def test_score_rejects_mismatched_lengths():
    with pytest.raises(ValueError):
        score(["1 ."], ["1", "0"])
    with pytest.raises(ValueError):
        score(["1 ."], ["1"], lengths=[1, 2])


def test_plot_and_table(tmp_path):
    a = score(["1 ."] * 4 + ["0 ."] * 4, ["1"] * 8, task="parity", fmt="plain", lengths=[1, 1, 2, 2, 3, 3, 4, 4],
              train_max_length=2)
    b = score(["1 ."] * 8, ["1"] * 8, task="parity", fmt="plain", lengths=[1, 1, 2, 2, 3, 3, 4, 4], train_max_length=2)
    path = plot_accuracy_vs_length({"plain": a, "inductive": b}, tmp_path / "plot.png")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    from rich.console import Console

    console = Console(record=True, width=120)
    console.print(results_table(b))
    text = console.export_text()
    assert "generalisation length" in text and "overall" in text and "1.000" in text
    # both scores, the headline first and marked
    completions = ["0 1 .", "1 1 .", "0 0 1 .", "1 0 1 ."]
    lucky = score(["1 1 .", "1 1 .", "1 1 1 .", "1 0 1 ."], ["1"] * 4, task="parity", fmt="scratchpad",
                  lengths=[2, 2, 3, 3], reference_completions=completions, train_max_length=2)
    assert lucky["exact_match"]["accuracy"] == 0.5 and lucky["answer_accuracy"]["accuracy"] == 1.0
    console = Console(record=True, width=160)
    console.print(results_table(lucky))
    text = console.export_text()
    assert text.index("exact match *") < text.index("answer accuracy")
    overall = next(line for line in text.splitlines() if "overall" in line)
    assert "0.500" in overall and "1.000" in overall
    path = plot_accuracy_vs_length({"scratchpad": lucky}, tmp_path / "lucky.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # results written before exact match was reported (one `accuracy`) still draw and print
    old = {k: v for k, v in a.items() if k not in ("answer_accuracy", "exact_match", "headline")}
    plot_accuracy_vs_length({"old": old}, tmp_path / "old.png")
    Console(record=True).print(results_table(old))


def test_evaluate_load_offline():
    import evaluate

    metric = evaluate.load(str(METRIC_DIR))
    out = metric.compute(predictions=[SHIFT_OK, SHIFT_TRUNCATED, SHIFT_WRONG_LAST, SHIFT_OTHER_FILLER],
                         references=["123"] * 4, task="addition", format="shift", lengths=[2, 2, 12, 12],
                         splits=["test", "test", "ood", "ood"])
    assert out["accuracy"] == pytest.approx(0.5) and out["headline"] == "answer_accuracy"
    assert out["in_distribution"]["accuracy"] == pytest.approx(0.5) and out["ood"]["accuracy"] == pytest.approx(0.5)
    assert out["groups"]["12"]["n"] == 2
    # the file itself loads too, and batches added incrementally give the same result
    metric = evaluate.load(str(METRIC_DIR / "ood_accuracy.py"))
    metric.add_batch(predictions=["1 .", "0 ."], references=["1", "1"])
    metric.add(prediction="x", reference="1")
    out = metric.compute(task="parity", format="plain", lengths=[1, 2, 3], train_max_length=1)
    assert out["accuracy"] == pytest.approx(1 / 3) and out["generalization_length"] == 1
    assert out["ood"]["n"] == 2
    # with the reference completions, shift's headline is exact match
    metric = evaluate.load(str(METRIC_DIR))
    out = metric.compute(predictions=[SHIFT_OK, SHIFT_WRONG_MIDDLE], references=["123"] * 2, task="addition",
                         format="shift", reference_completions=[SHIFT_OK] * 2)
    assert out["headline"] == "exact_match" and out["accuracy"] == 0.5
    assert out["answer_accuracy"]["accuracy"] == 1.0 and out["exact_match"]["accuracy"] == 0.5


def test_metric_loads_from_any_folder(tmp_path):
    """``evaluate.load(hf_reasoning.OOD_ACCURACY)`` from ``/`` (the README's relative path only
    worked from the repo root)."""
    import os
    import subprocess
    import sys

    import hf_reasoning

    assert Path(hf_reasoning.OOD_ACCURACY) == METRIC_DIR and Path(hf_reasoning.OOD_ACCURACY).is_absolute()
    code = ("import evaluate, hf_reasoning; m = evaluate.load(hf_reasoning.OOD_ACCURACY); "
            "print(m.compute(predictions=['1 .', '0 .'], references=['1', '1'], task='parity', format='plain')['accuracy'])")
    env = {**os.environ, "HF_HOME": str(tmp_path / "hf_home"), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
           "HF_EVALUATE_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-c", code], cwd="/", env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "0.5"


def test_evaluate_run_on_a_saved_model(tmp_path, hub_builder):
    """End to end on an untrained tiny model folder: generation, scoring, JSON and PNG."""
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig

    from hf_reasoning.evaluation import evaluate_run
    from hf_reasoning.tasks import get_task
    from hf_reasoning.tokenization import build_tokenizer

    hub = hub_builder(tmp_path / "hub", tasks=("parity",))
    tokenizer = build_tokenizer(get_task("parity").vocab.tokens)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(LlamaConfig(
        hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2,
        vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id, bos_token_id=None, eos_token_id=None))
    run = tmp_path / "run"
    model.save_pretrained(run)
    tokenizer.save_pretrained(run)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        out = evaluate_run(run, hub / "parity", "laptop-inductive", splits=["test", "ood"], out_dir=tmp_path / "eval",
                           batch_size=16, max_rows=12)
    finally:
        torch.set_num_threads(threads)
    results = out["results"]
    assert out["task"] == "parity" and out["format"] == "inductive"
    assert results["n"] == len(out["predictions"]) == 24
    assert results["train_max_length"] == 10 and results["ood"]["n"] == 12
    assert 0.0 <= results["accuracy"] <= 1.0
    saved = json.loads((tmp_path / "eval" / "eval_results.json").read_text())
    assert saved["results"] == json.loads(json.dumps(results))
    assert (tmp_path / "eval" / "accuracy_vs_length.png").read_bytes()[:4] == b"\x89PNG"
