"""Model cards, Hub-ready run folders and distributed evaluation.

* A model card round trip on hand-made results with known accuracies (``ModelCard.load``
  reads back every ``EvalResult``).
* A tiny run trained by ``python -m hf_reasoning.train`` (parity, plain, 20 steps) is
  evaluated end to end from its folder with the CLI (JSON, plot, card), reloaded with
  ``AutoModelForCausalLM.from_pretrained`` and re-decoded row by row: the predictions and the
  accuracy (recomputed from the instance's bits, not with the package's scorer) match the card.
* ``evaluate_run`` on 2 CPU processes (Accelerate, gloo) gives the results of 1 process.
* ``publish --dry-run`` of a run folder, a dataset folder, and a folder that is neither.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from huggingface_hub import ModelCard

from hf_reasoning.cards import build_model_card, model_card_template, write_model_card
from hf_reasoning.errors import HFReasoningError
from hf_reasoning.evaluation import merge_shards, plan_batches, score

REPO_ROOT = Path(__file__).resolve().parents[1]
CONFIG = "laptop-plain"


# -- a run folder without training: hand-made results --------------------------------------------


def fake_run(folder: Path, config: str = "laptop-inductive") -> Path:
    """An untrained tiny model saved like a finished run (config, weights, tokenizer, arguments);
    also used by test_cli_failures."""
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig

    from hf_reasoning.tasks import get_task
    from hf_reasoning.tokenization import build_tokenizer

    tokenizer = build_tokenizer(get_task("parity").vocab.tokens)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(LlamaConfig(
        hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2,
        vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id, bos_token_id=None, eos_token_id=None))
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    (folder / "training_args.json").write_text(json.dumps(
        {"config": config, "dataset": "my-org/parity", "model": "tiny", "max_steps": 7, "learning_rate": 0.002,
         "per_device_train_batch_size": 8, "gradient_accumulation_steps": 1, "seed": 0}))
    return folder


def hand_made_evaluation(config: str, right: dict[str, tuple[int, int]]) -> dict:
    """An evaluate_run-shaped result: per split, ``right[split] = (correct, total)`` rows, lengths 2 and 12."""
    predictions, references, splits, lengths = [], [], [], []
    for split, (k, n) in right.items():
        for i in range(n):
            predictions.append("1 ." if i < k else "0 .")
            references.append("1")
            splits.append(split)
            lengths.append(2 if split != "ood" else 12)
    results = score(predictions, references, task="parity", fmt="plain", lengths=lengths, splits=splits)
    return {"model": "run", "dataset": "my-org/parity", "config": config, "format": "plain", "task": "parity",
            "splits": list(right), "method": "cached", "train_lengths": [1, 2], "results": results, "predictions": []}


def test_model_card_round_trip(tmp_path):
    run = fake_run(tmp_path / "run")
    evaluations = [hand_made_evaluation("laptop-inductive", {"test": (3, 4), "ood": (1, 4)}),
                   hand_made_evaluation("abbe2024-inductive", {"test": (5, 5), "ood": (0, 5)})]
    path = write_model_card(run, evaluations, repo_id="my-org/parity-tiny")
    assert path == run / "README.md"
    card = ModelCard.load(path)
    got = {(r.dataset_config, r.dataset_split): (r.metric_type, r.metric_value, r.dataset_name, r.dataset_type)
           for r in card.data.eval_results}
    assert got == {
        ("laptop-inductive", "test"): ("accuracy", 0.75, "my-org/parity", "my-org/parity"),
        ("laptop-inductive", "ood"): ("accuracy", 0.25, "my-org/parity", "my-org/parity"),
        ("abbe2024-inductive", "test"): ("accuracy", 1.0, "my-org/parity", "my-org/parity"),
        ("abbe2024-inductive", "ood"): ("accuracy", 0.0, "my-org/parity", "my-org/parity"),
    }
    assert len(card.data.eval_results) == 4 and card.data.model_name == "parity-tiny"
    assert card.data.datasets == ["my-org/parity"] and card.data.library_name == "transformers"
    per_length = {e["config"]: e["accuracy_per_length"] for e in card.data.to_dict()["hf_reasoning"]["evaluations"]}
    assert per_length == {"laptop-inductive": {"2": 0.75, "12": 0.25}, "abbe2024-inductive": {"2": 1.0, "12": 0.0}}
    text = card.text
    # the body: results per split and per length with Wilson intervals, the plot, loading, hyper-parameters
    assert "| test | 0.750 | [0.301, 0.954] | — |  | 4 |" in text  # Wilson(3, 4); no exact match without completions
    assert "| 12 | 0.250 | [0.046, 0.699] | — |  | 4 |" in text
    assert "![accuracy vs length](accuracy_vs_length.png)" in text
    assert (run / "accuracy_vs_length.png").read_bytes()[:4] == b"\x89PNG"
    assert 'AutoModelForCausalLM.from_pretrained("my-org/parity-tiny")' in text
    assert '"inductive"' in text and "| `learning_rate` | `0.002` |" in text
    assert "## Limitations" in text and "abbe2024far" in text
    # deterministic: the same inputs write the same bytes
    first = path.read_bytes()
    write_model_card(run, evaluations, repo_id="my-org/parity-tiny")
    assert path.read_bytes() == first


def test_card_without_results_and_bad_folders(tmp_path):
    run = fake_run(tmp_path / "run")
    card = build_model_card(run)
    assert card.data.eval_results is None and "Not evaluated yet" in card.text
    with pytest.raises(HFReasoningError, match="not a finished run folder.*training_args.json"):
        (run / "training_args.json").unlink()
        build_model_card(run)
    with pytest.raises(HFReasoningError, match="is not a folder"):
        build_model_card(tmp_path / "missing")
    with pytest.raises(HFReasoningError, match="not an evaluation result"):
        write_model_card(fake_run(tmp_path / "run2"), {"accuracy": 1.0})
    assert not (tmp_path / "run2" / "README.md").exists()


def test_template_is_shipped_with_the_package():
    """The repo's model_cards/ template and the packaged copy (found when installed) are the same file."""
    packaged = model_card_template()
    assert packaged.is_file() and packaged.parent.parent.name == "hf_reasoning"
    assert packaged.read_bytes() == (REPO_ROOT / "model_cards" / "model_card.md").read_bytes()
    pyproject = (REPO_ROOT / "pyproject.toml").read_text()
    assert '"model_cards/*.md"' in pyproject


# -- sharding ---------------------------------------------------------------------------------------


def test_plan_and_merge():
    from hf_reasoning.evaluation import _deal

    budgets = [5, 9, 9, 1, 7, 3, 8]
    batches = plan_batches(budgets, 3)
    assert batches == [[1, 2, 6], [4, 0, 5], [3]]  # longest first, ties by row
    # split_between_processes gives contiguous chunks: dealt batches give round-robin shares
    from accelerate import PartialState

    dealt = _deal(batches, 2)
    assert dealt == [[1, 2, 6], [3], [4, 0, 5]]
    assert PartialState().num_processes == 1
    pairs = [(i, f"p{i}") for b in reversed(batches) for i in b]
    assert merge_shards(pairs, 7) == [f"p{i}" for i in range(7)]
    with pytest.raises(ValueError, match="twice"):
        merge_shards(pairs + [(3, "x")], 7)
    with pytest.raises(ValueError, match="missing"):
        merge_shards(pairs[1:], 7)


# -- a trained run ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A parity dataset folder and a run trained 20 steps on it by the training script."""
    from hf_reasoning import write_repo

    root = tmp_path_factory.mktemp("trained")
    dataset = write_repo("parity", root / "parity", scale="tiny", seed=0, configs=[CONFIG])
    run = root / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
           "HF_HOME": str(root / "hf_home")}
    command = [sys.executable, "-m", "hf_reasoning.train", "--dataset", str(dataset), "--config", CONFIG,
               "--model", "tiny", "--out", str(run), "--max_steps", "20", "--per_device_train_batch_size", "8",
               "--learning_rate", "2e-3", "--eval_every", "1000", "--eval_splits", "validation",
               "--eval_max_examples", "4", "--logging_every", "10"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return dataset, run


def evaluate_cli(*args: str) -> None:
    from hf_reasoning.cli import main

    try:
        main(list(args))
    except SystemExit as exit_:
        assert exit_.code in (0, None), exit_.code


def test_run_folder_end_to_end_and_from_pretrained(trained, tmp_path):
    import datasets
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from hf_reasoning.generation import complete

    dataset, pristine = trained
    run = tmp_path / "run"
    shutil.copytree(pristine, run)
    torch.set_num_threads(1)
    evaluate_cli("evaluate", "--model", str(run), "--dataset", str(dataset), "--config", CONFIG,
                 "--split", "test", "--split", "ood", "--max-rows", "12", "--batch-size", "5", "--out", str(run))
    saved = json.loads((run / "eval_results.json").read_text())
    assert (run / "accuracy_vs_length.png").read_bytes()[:4] == b"\x89PNG"
    card = ModelCard.load(run / "README.md")  # written by evaluate --out RUN_DIR
    from_card = {r.dataset_split: r.metric_value for r in card.data.eval_results}
    assert set(from_card) == {"test", "ood"} and all(r.dataset_config == CONFIG for r in card.data.eval_results)
    assert "![accuracy vs length](accuracy_vs_length.png)" in card.text

    # anyone's copy: from_pretrained + the package's generation, one row at a time, scored from the bits
    model = AutoModelForCausalLM.from_pretrained(run).eval()
    tokenizer = AutoTokenizer.from_pretrained(run)
    rows = {s: list(datasets.load_dataset(str(dataset), CONFIG, split=s)) for s in ("test", "ood")}
    by_prompt = {(s, r["prompt"]): r for s, split_rows in rows.items() for r in split_rows}
    correct: dict[str, list[bool]] = {"test": [], "ood": []}
    for p in saved["predictions"]:
        row = by_prompt[(p["split"], p["prompt"])]
        budget = len(row["completion"].split()) + len(row["completion"].split()) // 4 + 4
        with torch.no_grad():
            text = complete(model, tokenizer, [row["prompt"]], "plain", max_new_tokens=budget)[0]
        assert text == p["prediction"]
        tokens = text.split()
        correct[p["split"]].append(len(tokens) == 2 and tokens[1] == "." and tokens[0] == str(sum(row["bits"]) % 2))
    assert [len(c) for c in correct.values()] == [12, 12]
    for split, flags in correct.items():
        assert from_card[split] == pytest.approx(sum(flags) / len(flags))
        assert saved["results"]["per_split"][split]["accuracy"] == pytest.approx(sum(flags) / len(flags))
    assert 0 < sum(map(sum, correct.values())) < 24  # neither all wrong nor all right: the check can fail

    # `hf-reasoning card RUN_DIR` rewrites the same card from the folder's files
    before = (run / "README.md").read_bytes()
    (run / "README.md").unlink()
    evaluate_cli("card", str(run))
    assert (run / "README.md").read_bytes() == before


def _free_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return str(s.getsockname()[1])


def _evaluate_in_process(run, dataset, out):
    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state(reset_partial_state=True)  # forked from a single-process parent
    import torch

    from hf_reasoning.evaluation import evaluate_run

    torch.set_num_threads(1)
    evaluate_run(run, dataset, CONFIG, splits=["test", "ood"], out_dir=out, batch_size=4, max_rows=10)


def test_evaluate_run_on_two_processes_matches_one(trained, tmp_path):
    from accelerate import notebook_launcher
    from accelerate.state import AcceleratorState, PartialState

    from hf_reasoning.evaluation import evaluate_run

    dataset, run = trained
    one = evaluate_run(run, dataset, CONFIG, splits=["test", "ood"], out_dir=tmp_path / "one", batch_size=4, max_rows=10)
    AcceleratorState._reset_state(reset_partial_state=True)
    try:
        notebook_launcher(_evaluate_in_process, (run, dataset, tmp_path / "two"), num_processes=2, use_port=_free_port())
    finally:
        AcceleratorState._reset_state(reset_partial_state=True)
    assert PartialState().num_processes == 1
    two = json.loads((tmp_path / "two" / "eval_results.json").read_text())
    assert one["num_processes"] == 1 and two["num_processes"] == 2
    assert two["predictions"] == one["predictions"] and len(two["predictions"]) == 20
    assert two["results"] == json.loads(json.dumps(one["results"]))


# -- publishing ----------------------------------------------------------------------------------------


def test_publish_dry_run(tmp_path, trained, capsys):
    from hf_reasoning.cli import main
    from hf_reasoning.hub import publish

    dataset, pristine = trained
    run = tmp_path / "run"
    shutil.copytree(pristine, run)
    (run / "checkpoints" / "step-00000010").mkdir(parents=True)
    (run / "checkpoints" / "step-00000010" / "optimizer.bin").write_bytes(b"x")
    (run / ".README.md.tmp-1").write_text("partial")
    files = dict(publish(run, "my-org/parity-tiny", dry_run=True))
    assert {"config.json", "model.safetensors", "tokenizer.json", "generation_config.json", "training_args.json",
            "README.md"} <= set(files)
    assert not any(name.startswith(("checkpoints", ".")) or name.endswith(".bin") for name in files)
    assert not (run / "README.md").exists()  # a dry run writes nothing
    assert {"README.md", f"{CONFIG}/train-00000-of-00001.parquet"} <= set(dict(publish(dataset, "my-org/parity", dry_run=True)))
    (tmp_path / "neither").mkdir()
    (tmp_path / "neither" / "notes.txt").write_text("hello")
    with pytest.raises(SystemExit) as exit_:
        main(["publish", str(tmp_path / "neither"), "--repo-id", "my-org/x", "--dry-run"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and err.count("\n") == 1 and err.startswith("error: ") and "neither" in err
