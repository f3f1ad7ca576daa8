"""The main job (``hf-reasoning quickstart``): its headline arithmetic on hand-made results,
and the whole pipeline end to end with a few training steps."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hf_reasoning import quickstart
from hf_reasoning.errors import HFReasoningError
from hf_reasoning.evaluation import score


def _results(accuracy_by_length: dict[int, float], n: int = 20) -> dict:
    """A score() result where length x has round(accuracy * n) correct predictions of n."""
    predictions, references, lengths, splits = [], [], [], []
    for length, accuracy in accuracy_by_length.items():
        k = round(accuracy * n)
        predictions += ["1 ."] * k + ["0 ."] * (n - k)  # completions end with '.'
        references += ["1 ."] * n
        lengths += [length] * n
        splits += ["validation" if length <= 10 else "ood"] * n
    return score(predictions, references, lengths=lengths, splits=splits)


def test_verdict_reads_generalisation_from_the_per_length_blocks():
    inductive = _results({**{x: 1.0 for x in range(1, 11)}, 11: 1.0, 12: 0.95, 13: 0.9, 14: 0.95, 16: 0.9, 18: 0.5, 20: 0.1})
    plain = _results({**{x: 0.5 for x in range(1, 11)}, 11: 0.5, 12: 0.45, 13: 0.5, 14: 0.55, 16: 0.5, 18: 0.5, 20: 0.5})
    summary = quickstart.verdict({"plain": plain, "inductive": inductive}, train_max=10)
    assert summary["target_length"] == 15
    assert summary["inductive"]["generalization_length"] == 16  # contiguous run of lengths ≥ 90%
    assert summary["inductive"]["generalization_ratio"] == pytest.approx(1.6)
    # lengths 16, 18, 20: (18 + 10 + 2) / 60
    assert summary["inductive"]["accuracy_at_1.5x_and_beyond"] == pytest.approx(30 / 60)
    assert summary["plain"]["generalization_length"] is None
    assert summary["plain"]["accuracy_at_1.5x_and_beyond"] == pytest.approx(0.5)
    assert summary["plain"]["in_distribution_accuracy"] == pytest.approx(0.5)


def test_comparison_rows_mark_the_training_range_and_missing_lengths():
    plain = _results({1: 1.0, 2: 0.5, 12: 0.0})
    inductive = _results({1: 1.0, 12: 1.0})
    rows = quickstart.comparison_rows({"plain": plain, "inductive": inductive}, train_max=10)
    assert [r["length"] for r in rows] == [1, 2, 12]
    assert [r["in_training"] for r in rows] == [True, True, False]
    assert rows[1]["inductive"] is None and rows[1]["plain"]["exact_match"]["accuracy"] == 0.5
    assert rows[1]["plain"]["answer_accuracy"]["accuracy"] == 0.5
    markdown = quickstart.comparison_markdown(rows, ("plain", "inductive"), {"plain": 3000, "inductive": 3000})
    assert markdown.splitlines()[0] == ("| bits | | plain (3,000 steps) exact | plain (3,000 steps) answer | "
                                        "inductive (3,000 steps) exact | inductive (3,000 steps) answer |")
    assert markdown.splitlines()[3].startswith("| 2 | train | 0.500") and markdown.splitlines()[3].endswith("| — | — |")


def test_verdict_reads_exact_match_not_lucky_answers():
    """An inductive model whose last state is right but whose earlier states are garbage answers
    every row right and is exactly right on none: the verdict says it generalises nowhere."""
    from hf_reasoning import build_dataset

    ds = build_dataset("parity", f"{quickstart.PRESET}-inductive", scale="tiny")
    rows = list(ds["validation"]) + list(ds["ood"])
    for r in rows:  # the reference answer, from the bits
        assert r["answer"] == str(sum(r["bits"]) % 2)
    lucky = [": garbage # " + r["completion"].split(" # ")[-1] if " # " in r["completion"] else
             r["completion"].replace(": [", ": x [") for r in rows]
    result = score(lucky, [r["answer"] for r in rows], task="parity", fmt="inductive",
                   lengths=[r["length"] for r in rows], splits=["validation"] * len(ds["validation"]) + ["ood"] * len(ds["ood"]),
                   reference_completions=[r["completion"] for r in rows])
    assert result["answer_accuracy"]["accuracy"] == 1.0 and result["exact_match"]["accuracy"] == 0.0
    summary = quickstart.verdict({"inductive": result}, train_max=quickstart.train_max_length())
    assert summary["inductive"]["score"] == "exact_match"
    assert summary["inductive"]["generalization_length"] is None
    assert summary["inductive"]["in_distribution_accuracy"] == 0.0
    assert summary["inductive"]["in_distribution_answer_accuracy"] == 1.0
    assert summary["inductive"]["accuracy_at_1.5x_and_beyond"] == 0.0


def test_both_models_get_the_same_step_budget():
    for recipe in quickstart.RECIPES.values():
        assert recipe.plain_steps == recipe.inductive_steps
    assert quickstart.RECIPES["full"].inductive_steps == 3000


def test_quickstart_end_to_end_with_a_few_steps(tmp_path: Path):
    recipe = quickstart.Recipe(plain_steps=3, inductive_steps=3, warmup_steps=1, batch_size=8, eval_rows=14,
                               build_all_tasks=False, scale="tiny")
    out, hub = tmp_path / "qs", tmp_path / "hub"
    report = quickstart.run(out, hub, recipe=recipe)
    assert not list(tmp_path.glob(".qs.partial-*"))
    assert json.loads((out / "results.json").read_text())["summary"] == json.loads(json.dumps(report["summary"]))
    assert (out / "accuracy_vs_length.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| bits |" in (out / "results.md").read_text() and "exact" in (out / "results.md").read_text()
    assert report["steps"] == {"plain": 3, "inductive": 3}
    for row in report["per_length"]:
        for fmt in quickstart.FORMATS:
            assert set(row[fmt]) == {"exact_match", "answer_accuracy"}
    # the per-length table spans the training lengths and the OOD ones of the preset
    from hf_reasoning.tasks import get_task

    config = get_task("parity").presets[quickstart.PRESET]
    lengths = [row["length"] for row in report["per_length"]]
    top = max(config.train_lengths)
    assert {1, top}.issubset(lengths) and {min(config.ood_lengths), max(config.ood_lengths)}.issubset(lengths)
    assert all(row["in_training"] == (row["length"] <= top) for row in report["per_length"])
    from huggingface_hub import ModelCard

    for fmt in quickstart.FORMATS:
        run_dir = out / f"parity-{quickstart.PRESET}-{fmt}-tiny"
        assert (run_dir / "model.safetensors").is_file()
        card = ModelCard.load(run_dir / "README.md")
        assert card.data.eval_results, "the model card has no model-index results"
        assert str(tmp_path / ".qs.partial") not in (run_dir / "eval_results.json").read_text()
    with pytest.raises(HFReasoningError, match="exists"):
        quickstart.run(out, hub, recipe=recipe)
