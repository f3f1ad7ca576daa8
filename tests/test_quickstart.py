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
    assert rows[1]["inductive"] is None and rows[1]["plain"]["accuracy"] == 0.5
    markdown = quickstart.comparison_markdown(rows, ("plain", "inductive"))
    assert markdown.splitlines()[3].startswith("| 2 | train | 0.500") and markdown.splitlines()[3].endswith("| — |")


def test_quickstart_end_to_end_with_a_few_steps(tmp_path: Path):
    recipe = quickstart.Recipe(plain_steps=3, inductive_steps=3, warmup_steps=1, batch_size=8, eval_rows=14,
                               build_all_tasks=False, scale="tiny")
    out, hub = tmp_path / "qs", tmp_path / "hub"
    report = quickstart.run(out, hub, recipe=recipe)
    assert not list(tmp_path.glob(".qs.partial-*"))
    assert json.loads((out / "results.json").read_text())["summary"] == json.loads(json.dumps(report["summary"]))
    assert (out / "accuracy_vs_length.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| bits |" in (out / "results.md").read_text()
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
