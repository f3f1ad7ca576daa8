"""``train-head`` runs are model repos too: a card written at the end of the run, with a
``model-index`` that ``huggingface_hub`` reads back, scores that the saved model reproduces,
and ``card`` / ``publish`` working on the folder."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest

CONFIG = "gotu_x0x1-plain"


@pytest.fixture(scope="module")
def head_run(tmp_path_factory):
    from hf_reasoning.classification import main
    from hf_reasoning.hub import write_repo

    root = tmp_path_factory.mktemp("head")
    repo = write_repo("boolean", root / "boolean", scale="tiny", seed=0, configs=[CONFIG])
    run = root / "runs" / "gotu-mlp"
    main(["--dataset", str(repo), "--config", CONFIG, "--model", "mlp", "--head", "regression",
          "--train_split", "seen_cube", "--out", str(run), "--max_steps", "30"])
    return repo, run


def test_the_run_ends_with_a_card_whose_model_index_is_the_eval_results(head_run):
    from huggingface_hub import ModelCard

    _, run = head_run
    card = ModelCard.load(run / "README.md")
    final = json.loads((run / "eval_results.json").read_text())
    read_back = {(r.dataset_split, r.metric_type): r.metric_value for r in card.data.eval_results}
    expected = {tuple(k.rsplit("/", 1)): v for k, v in final.items() if k.rsplit("/", 1)[-1] in ("mse", "sign_accuracy")}
    assert read_back == expected and len(expected) >= 6
    assert {r.dataset_config for r in card.data.eval_results} == {CONFIG}
    assert "/" not in str(card.data.eval_results[0].dataset_name)  # the folder's name, no local path
    assert str(run.parent) not in card.content


def test_the_saved_model_reproduces_the_card_scores(head_run):
    """The loading snippet's ``load`` + ``predict`` on the validation rows, scored here."""
    from huggingface_hub import ModelCard

    from hf_reasoning.classification import load

    repo, run = head_run
    rows = pq.read_table(sorted((repo / CONFIG).glob("validation-*.parquet"))[0])
    predictions = load(run).predict(rows)
    target = np.asarray(rows["target"].to_pylist())
    card = {(r.dataset_split, r.metric_type): r.metric_value for r in ModelCard.load(run / "README.md").data.eval_results}
    assert card["validation", "mse"] == pytest.approx(float(np.mean((predictions - target) ** 2)), rel=1e-4)
    assert card["validation", "sign_accuracy"] == pytest.approx(float(np.mean(np.sign(predictions) == np.sign(target))))


def test_card_and_publish_take_a_head_run(head_run, capsys):
    from hf_reasoning.cli import main

    _, run = head_run
    (run / "README.md").unlink()
    main(["card", str(run)])
    assert (run / "README.md").is_file()
    main(["publish", str(run), "--repo-id", "org/gotu-mlp", "--dry-run"])
    out = capsys.readouterr().out
    assert "README.md" in out and "model.safetensors" in out and "eval_results.json" in out
