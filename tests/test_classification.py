"""hf_reasoning.classification: MLP and encoder heads on numeric targets, the degree curriculum,
saved runs (safetensors + JSON only) and one-line errors.

Targets and Hamming weights are recomputed from the prompt text (``+`` / ``-`` per coordinate),
never taken from the code under test.
"""

from __future__ import annotations

import json

import datasets
import numpy as np
import pytest
import torch

from hf_reasoning.classification import DegreeCurriculum, curriculum_mask, epoch_order, load, main
from hf_reasoning.errors import HFReasoningError

CONFIGS = ["gotu_x0x1-plain", "ball_k6-plain", "m0_sum-plain", "m0_sum_h3-plain"]
FAST = ["--eval_cube", "no", "--logging_every", "10", "--eval_every", "1000"]


@pytest.fixture(scope="module")
def repos(tmp_path_factory):
    from hf_reasoning.hub import write_repos

    out = tmp_path_factory.mktemp("classification") / "hub"
    write_repos(["boolean", "pvr"], out, scale="tiny", configs=CONFIGS)
    return out


def text_x(prompt: str) -> np.ndarray:
    """The ±1 input of a boolean prompt, parsed from its text."""
    tokens = prompt.split()
    assert tokens[-1] == "="
    return np.array([{"+": 1, "-": -1}[t] for t in tokens[:-1]], dtype=np.int64)


def rows(repos, task, config, split):
    return datasets.load_dataset(str(repos / task), config)[split]


def run(repos, task, config, out, *extra):
    return main(["--dataset", str(repos / task), "--config", config, "--out", str(out), *FAST, *extra])


def test_mlp_fits_a_degree_one_target_and_reloads(repos, tmp_path):
    # on the seen set of gotu_x0x1 (x0 = 1 or x1 = 1) the target x0·x1 equals x0 + x1 - 1: degree 1
    torch.set_num_threads(1)
    result = run(repos, "boolean", "gotu_x0x1-plain", tmp_path / "mlp", "--model", "mlp", "--mlp_width", "64",
                 "--mlp_depth", "2", "--max_steps", "300", "--learning_rate", "3e-3", "--seed", "1")
    validation = rows(repos, "boolean", "gotu_x0x1-plain", "validation")
    x = np.stack([text_x(p) for p in validation["prompt"]])
    truth = x[:, 0] * x[:, 1]
    assert ((x[:, 0] == 1) | (x[:, 1] == 1)).all()
    predicted = load(tmp_path / "mlp").predict(validation)
    mse = float(((predicted - truth) ** 2).mean())
    assert mse < 0.05
    saved = json.loads((tmp_path / "mlp" / "eval_results.json").read_text())
    assert saved["validation/mse"] == pytest.approx(mse, rel=1e-5)
    assert saved["validation/half_mse"] == pytest.approx(mse / 2, rel=1e-5)
    signs = np.where(predicted >= 0, 1, -1)
    assert saved["validation/sign_accuracy"] == pytest.approx(float((signs == truth).mean()))
    assert result.completed_steps == 300
    # only safetensors / JSON in the run, and the reloaded model predicts as the trained one
    assert {p.suffix for p in (tmp_path / "mlp").iterdir()} <= {".json", ".jsonl", ".safetensors", ".md"}  # .md: the model card
    with torch.no_grad():
        direct = result.model(torch.tensor(x, dtype=torch.float32)).logits[:, 0].numpy()
    np.testing.assert_allclose(predicted, direct, rtol=1e-6, atol=1e-6)
    config = json.loads((tmp_path / "mlp" / "config.json").read_text())
    assert config["hidden_sizes"] == [64, 64] and config["input_dim"] == 15


def test_same_seed_same_files(repos, tmp_path):
    args = ["--model", "mlp", "--mlp_hidden_sizes", "16", "--max_steps", "20", "--seed", "3"]
    run(repos, "boolean", "gotu_x0x1-plain", tmp_path / "a", *args)
    run(repos, "boolean", "gotu_x0x1-plain", tmp_path / "b", *args)
    for name in ("model.safetensors", "eval_results.json", "config.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_cube_evaluation_is_the_whole_cube(repos, tmp_path):
    main(["--dataset", str(repos / "boolean"), "--config", "gotu_x0x1-plain", "--out", str(tmp_path / "c"),
          "--model", "mlp", "--mlp_hidden_sizes", "8", "--max_steps", "5", "--eval_splits", "cube"])
    scores = json.loads((tmp_path / "c" / "eval_results.json").read_text())
    assert scores["cube/rows"] == 2**15
    assert scores["cube/unseen/rows"] == 2**13  # x0 = x1 = -1
    model = load(tmp_path / "c")
    from hf_reasoning.analysis import cube_points

    x = cube_points(15).astype(np.int64)
    truth = x[:, 0] * x[:, 1]
    with torch.no_grad():
        predicted = model.model(torch.tensor(x, dtype=torch.float32)).logits[:, 0].double().numpy()
    unseen = (x[:, 0] == -1) & (x[:, 1] == -1)
    assert scores["cube/mse"] == pytest.approx(((predicted - truth) ** 2).mean(), rel=1e-5)
    assert scores["cube/unseen/mse"] == pytest.approx(((predicted - truth)[unseen] ** 2).mean(), rel=1e-5)


def test_encoder_regression_and_classification_heads(repos, tmp_path):
    torch.set_num_threads(1)
    run(repos, "boolean", "gotu_x0x1-plain", tmp_path / "reg", "--model", "tiny-encoder", "--head", "regression",
        "--max_steps", "4", "--per_device_train_batch_size", "16", "--eval_splits", "validation")
    config = json.loads((tmp_path / "reg" / "config.json").read_text())
    from transformers import AutoConfig

    assert config["problem_type"] == "regression" and AutoConfig.from_pretrained(tmp_path / "reg").num_labels == 1
    assert config["num_hidden_layers"] == 3 and config["num_attention_heads"] == 4 and config["hidden_size"] == 128
    assert {p.suffix for p in (tmp_path / "reg").iterdir()} <= {".json", ".jsonl", ".safetensors", ".md"}  # .md: the model card
    validation = rows(repos, "boolean", "gotu_x0x1-plain", "validation")
    loaded = load(tmp_path / "reg")
    ids = loaded.tokenizer(validation["prompt"][:2])["input_ids"]
    assert ids[0][0] == loaded.tokenizer.bos_token_id and len(ids[0]) == 15 + 2  # <bos>, 15 signs, '='
    scores = json.loads((tmp_path / "reg" / "eval_results.json").read_text())
    truth = np.array([text_x(p)[0] * text_x(p)[1] for p in validation["prompt"]])
    assert scores["validation/mse"] == pytest.approx(((loaded.predict(validation) - truth) ** 2).mean(), rel=1e-4)

    result = run(repos, "pvr", "m0_sum-plain", tmp_path / "cls", "--model", "tiny-encoder", "--head", "classification",
                 "--max_steps", "4", "--per_device_train_batch_size", "16")
    config = json.loads((tmp_path / "cls" / "config.json").read_text())
    assert config["problem_type"] == "single_label_classification"
    assert [config["id2label"][str(i)] for i in range(10)] == [str(i) for i in range(10)]
    test = rows(repos, "pvr", "m0_sum-plain", "test")
    # m = 0: the answer is the value the pointer points at (recomputed from the text)
    answers = [p.split()[1 + int(p.split()[0])] for p in test["prompt"]]
    assert answers == test["answer"]
    predicted = load(tmp_path / "cls").predict(test)
    accuracy = float(np.mean([str(int(p)) == a for p, a in zip(predicted, answers)]))
    assert result.metrics["test/accuracy"] == pytest.approx(accuracy)
    assert "test/mse" not in result.metrics  # digits are categories, not numbers

    # fine-tune the saved encoder (a local folder laid out like a Hub model repo) with a new head
    tuned = run(repos, "pvr", "m0_sum_h3-plain", tmp_path / "tuned", "--model", str(tmp_path / "cls"),
                "--head", "classification", "--max_steps", "2", "--per_device_train_batch_size", "16")
    assert "ood/accuracy" in tuned.metrics


def test_mlp_on_pvr_reads_one_hot_digits(repos, tmp_path):
    run(repos, "pvr", "m0_sum_h3-plain", tmp_path / "p", "--model", "mlp", "--mlp_hidden_sizes", "16",
        "--head", "classification", "--max_steps", "3")
    config = json.loads((tmp_path / "p" / "config.json").read_text())
    assert config["input_dim"] == 11 * 10 and config["num_outputs"] == 10
    assert config["features"]["kind"] == "one_hot"


# -- degree curriculum ---------------------------------------------------------------------------


def test_curriculum_mask_counts_minus_signs_in_the_text(repos):
    train = rows(repos, "boolean", "ball_k6-plain", "train")
    x = np.array(train["x"], dtype=np.int8)
    minus = np.array([p.split().count("-") for p in train["prompt"]])
    assert minus.max() <= 6  # ball_k6: at most 6 entries equal to -1
    for level in range(0, 8):
        np.testing.assert_array_equal(curriculum_mask(x, level), minus <= level)


def test_degree_curriculum_levels():
    x = np.array([[1, 1, 1, 1, 1, 1], [-1, -1, -1, -1, -1, 1]], dtype=np.int8)
    curriculum = DegreeCurriculum(d=6, leap=2, eps=0.1)
    curriculum.start(x)
    assert curriculum.level == 2 and curriculum.allowed(x).tolist() == [True, False]
    assert not curriculum.update(0.5) and curriculum.level == 2  # loss above eps: stay
    assert curriculum.update(0.05) and curriculum.level == 4
    assert curriculum.update(0.05) and curriculum.level == 6 and curriculum.complete
    assert curriculum.allowed(x).tolist() == [True, True]
    assert not curriculum.update(0.0)
    # a first level with no row is skipped (abbe2023: the first non-empty Hamming ball)
    late = DegreeCurriculum(d=6, leap=2, eps=0.1)
    late.start(x[1:])
    assert late.level == 6


def test_epoch_order_is_a_permutation_of_the_allowed_rows():
    allowed = np.array([3, 5, 8, 13, 21, 34, 55, 89, 144, 233])
    order = epoch_order(allowed, seed=0, epoch=0, global_batch=4)
    assert order.shape == (2, 4) and len(set(order.ravel())) == 8 and set(order.ravel()) <= set(allowed)
    few = epoch_order(allowed[:3], seed=0, epoch=1, global_batch=8)
    assert few.shape == (1, 8) and set(few.ravel()) == set(allowed[:3])


def test_curriculum_training_raises_the_level_on_low_loss(repos, tmp_path):
    # eps far above any loss: every epoch ends a stage, so the levels are 2, 4, 6, ... up to d = 15
    result = run(repos, "boolean", "ball_k6-plain", tmp_path / "cur", "--model", "mlp", "--mlp_hidden_sizes", "8",
                 "--curriculum", "degree", "--leap", "2", "--eps", "100", "--max_steps", "80",
                 "--per_device_train_batch_size", "32")
    train = rows(repos, "boolean", "ball_k6-plain", "train")
    minus = np.array([p.split().count("-") for p in train["prompt"]])
    logged = [json.loads(line) for line in (tmp_path / "cur" / "metrics.jsonl").read_text().splitlines()]
    stages = [(r["curriculum/level"], r["curriculum/rows"]) for r in logged if "curriculum/level" in r]
    assert [level for level, _ in stages] == [2, 4, 6, 8, 10, 12, 14, 16]
    for level, count in stages:
        assert count == (len(train) if level >= 15 else int((minus <= level).sum()))
    assert result.train_results["curriculum_complete"]
    levels = result.train_results["curriculum_levels"]
    assert levels[0] == {"step": 0, "level": 2}
    # one epoch per stage: ceil-free whole batches of the rows allowed at that level
    for (a, b), (_, rows_at_a) in zip(zip(levels, levels[1:]), stages):
        assert b["step"] - a["step"] == max(1, rows_at_a // 32)


def test_early_stop_after_the_curriculum(repos, tmp_path):
    result = run(repos, "boolean", "ball_k6-plain", tmp_path / "stop", "--model", "mlp", "--mlp_hidden_sizes", "8",
                 "--curriculum", "degree", "--leap", "8", "--eps", "100", "--early_stop_loss", "100",
                 "--max_steps", "1000", "--per_device_train_batch_size", "64")
    # stages 8 and 16 take one epoch each, then the first whole-set epoch stops training
    assert result.train_results["early_stopped_at"] == result.completed_steps < 1000
    assert [s["level"] for s in result.train_results["curriculum_levels"]] == [8, 16]


# -- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize("extra, words", [
    (["--head", "ranking"], ["ranking", "regression, classification"]),
    (["--model", "resnet"], ["resnet", "mlp, tiny-encoder"]),
    (["--curriculum", "length"], ["length", "none, degree"]),
    (["--mlp_width", "8"], ["--mlp_width", "--mlp_depth"]),
    (["--mlp_hidden_sizes", "8,x"], ["8,x"]),
    (["--max_steps", "0"], ["--max_steps", "0"]),
])
def test_bad_arguments_are_one_line_errors(repos, tmp_path, extra, words):
    with pytest.raises(HFReasoningError) as error:
        run(repos, "boolean", "gotu_x0x1-plain", tmp_path / "bad", *extra)
    message = str(error.value)
    assert "\n" not in message and all(w in message for w in words)
    assert not (tmp_path / "bad").exists()


@pytest.mark.parametrize("task, config, extra, words", [
    ("pvr", "m0_sum-plain", ["--head", "regression"], ["'answer'", "numeric", "--head classification"]),
    ("pvr", "m0_sum-plain", ["--head", "classification", "--curriculum", "degree"], ["--curriculum degree", "'x'"]),
    ("pvr", "m0_sum-plain", ["--head", "classification", "--train_split", "seen_cube"], ["seen_cube", "boolean"]),
    ("boolean", "gotu_x0x1-plain", ["--train_split", "nope"], ["'nope'", "seen_cube"]),
    ("boolean", "gotu_x0x1-plain", ["--target_column", "nope"], ["'nope'", "target"]),
])
def test_bad_data_choices_are_one_line_errors(repos, tmp_path, task, config, extra, words):
    with pytest.raises(HFReasoningError) as error:
        run(repos, task, config, tmp_path / "bad", "--max_steps", "2", *extra)
    message = str(error.value)
    assert "\n" not in message and all(w in message for w in words)
    assert not (tmp_path / "bad").exists() and not list(tmp_path.glob(".bad*"))


def test_existing_run_dir_is_refused_and_kept(repos, tmp_path):
    out = tmp_path / "taken"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(HFReasoningError, match="exists"):
        run(repos, "boolean", "gotu_x0x1-plain", out, "--max_steps", "2", "--mlp_hidden_sizes", "4")
    assert (out / "keep.txt").read_text() == "mine"
    run(repos, "boolean", "gotu_x0x1-plain", out, "--max_steps", "2", "--mlp_hidden_sizes", "4", "--overwrite")
    assert not (out / "keep.txt").exists() and (out / "model.safetensors").is_file()


@pytest.mark.filterwarnings("ignore:.*found in sys.modules")  # the test module imported it already
def test_module_entry_point_exits_2_with_one_line(repos, tmp_path, monkeypatch, capsys):
    import runpy
    import sys

    monkeypatch.setattr(sys, "argv", ["classification", "--dataset", str(repos / "pvr"), "--config", "m0_sum-plain",
                                      "--out", str(tmp_path / "x"), "--head", "regression"])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_module("hf_reasoning.classification", run_name="__main__", alter_sys=False)
    assert exit_info.value.code == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error")]
    assert len(errors) == 1 and errors[0].startswith("error: --head regression needs a numeric target column")
