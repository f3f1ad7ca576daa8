"""lm-evaluation-harness tasks (issue 13; extra ``.[lm_eval]``): ``hf-reasoning harness`` writes
one task per config and split, and ``lm_eval`` scores a tiny local model with them.

The scores lm_eval reports are recomputed here from the responses it logged, by reading each
response by hand (the answer is the token before the first ``.``), not with the project's
scorer; and they equal what ``hf-reasoning train`` measured on the same split. On a briefly
trained inductive model, lm_eval with the model ``hf-reasoning`` (Python API and
``hf-reasoning lm-eval``) logs, row for row, the predictions of ``hf-reasoning evaluate``, while
lm_eval's stock ``hf`` model (plain causal mask) decodes other texts.
"""

from __future__ import annotations


import pytest
import yaml

from hf_reasoning.harness import task_name, up_to_end, write_tasks


pytestmark = pytest.mark.usefixtures("fresh_accelerator")


@pytest.fixture(scope="module")
def parity_repo(tmp_path_factory):
    from hf_reasoning import write_repo

    folder = tmp_path_factory.mktemp("data") / "parity"
    write_repo("parity", folder, scale="tiny", seed=0, configs=["laptop-plain", "laptop-scratchpad", "laptop16-inductive"])
    return folder


class _Loader(yaml.SafeLoader):
    pass


_Loader.add_constructor("!function", lambda loader, node: ("function", loader.construct_scalar(node)))


def test_task_files_name_every_config_and_split(parity_repo, tmp_path):
    files = write_tasks(parity_repo, tmp_path / "tasks", ["laptop-plain", "laptop-scratchpad"])
    names = sorted(p.name for p in files)
    assert names == sorted([f"hf_reasoning_parity_{c}_{s}.yaml" for c in ("laptop-plain", "laptop-scratchpad")
                            for s in ("validation", "test", "ood")] + ["utils.py"])
    spec = yaml.load((tmp_path / "tasks" / "hf_reasoning_parity_laptop-plain_ood.yaml").read_text(), Loader=_Loader)
    assert spec["dataset_path"] == str(parity_repo.resolve()) and spec["dataset_name"] == "laptop-plain"
    assert spec["test_split"] == "ood" and "hf_reasoning_parity_laptop-plain" in spec["tag"]
    assert spec["process_results"] == ("function", "utils.parity__laptop_plain")
    assert spec["process_docs"] == ("function", "utils.parity__laptop_plain_docs")
    import datasets

    ood = datasets.load_dataset(str(parity_repo), "laptop-plain", split="ood")
    metrics = {m["metric"] for m in spec["metric_list"]}
    assert metrics == {"answer_accuracy", "exact_match"} | {f"{m}_length_{n}" for n in set(ood["length"])
                                                           for m in ("answer_accuracy", "exact_match")}
    utils = (tmp_path / "tasks" / "utils.py").read_text()
    assert "parity__laptop_scratchpad = process_results_for('parity', 'laptop-scratchpad')" in utils
    assert "parity__laptop_scratchpad_docs = process_docs_for('laptop-scratchpad')" in utils


def test_up_to_end_cuts_after_the_first_end_token():
    assert up_to_end("0 1 . 1 1 .") == "0 1 ."
    assert up_to_end("1, 0 _, 1. garbage") == "1, 0 _, 1."  # WordPiece's clean-up
    assert up_to_end("-1.25 . 3") == "-1.25 ."  # a decimal point is not the end token
    assert up_to_end("0 1 1") == "0 1 1"


def test_harness_command_checks_configs_before_writing(parity_repo, tmp_path):
    import subprocess
    import sys

    out = tmp_path / "tasks"
    done = subprocess.run([sys.executable, "-m", "hf_reasoning", "harness", str(parity_repo), "--out", str(out),
                           "--config", "nope"], capture_output=True, text=True)
    assert done.returncode == 2 and done.stderr.strip().count("\n") == 0 and "'nope'" in done.stderr
    assert not out.exists()


def test_lm_eval_scores_a_tiny_local_model_on_parity(parity_repo, tmp_path):
    pytest.importorskip("lm_eval")
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    from hf_reasoning.train import main

    run = tmp_path / "run"
    result = main(["--dataset", str(parity_repo), "--config", "laptop-plain", "--model", "tiny", "--out", str(run),
                   "--max_steps", "150", "--per_device_train_batch_size", "32", "--learning_rate", "3e-3",
                   "--eval_every", "150", "--eval_splits", "test", "--eval_max_examples", "64"])
    write_tasks(parity_repo, tmp_path / "tasks", ["laptop-plain"])
    out = simple_evaluate(model="hf", model_args=f"pretrained={run},dtype=float32", device="cpu", batch_size=16,
                          tasks=[task_name("parity", "laptop-plain")], log_samples=True,
                          task_manager=TaskManager(include_path=str(tmp_path / "tasks")))
    for split in ("validation", "test", "ood"):
        name = task_name("parity", "laptop-plain", split)
        samples = out["samples"][name]
        assert len(samples) == {"validation": 64, "test": 64, "ood": 224}[split]
        right, exact, by_length = [], [], {}
        for sample in samples:
            doc, response = sample["doc"], sample["resps"][0][0]
            words = response.split()
            answer = words[words.index(".") - 1] if "." in words[1:] else None
            right.append(answer == doc["answer"])
            exact.append(words[: words.index(".") + 1] == doc["completion"].split() if "." in words else False)
            by_length.setdefault(doc["length"], []).append(right[-1])
        reported = out["results"][name]
        assert reported["answer_accuracy,none"] == pytest.approx(sum(right) / len(right))
        assert reported["exact_match,none"] == pytest.approx(sum(exact) / len(exact))
        for length, flags in by_length.items():
            assert reported[f"answer_accuracy_length_{length},none"] == pytest.approx(sum(flags) / len(flags))
        if split == "test":  # the same rows and greedy decoding as the trainer's own evaluation
            assert reported["answer_accuracy,none"] == pytest.approx(result.metrics["test/answer_accuracy"])
    assert 0 < out["results"][task_name("parity", "laptop-plain", "test")]["answer_accuracy,none"] < 1


def _hand_scores(responses: list[str], docs: list[dict]) -> tuple[float, float]:
    """Answer accuracy and exact match read by hand: the answer is the token before the first ``.``."""
    right, exact = [], []
    for response, doc in zip(responses, docs):
        words = response.split()
        end = words.index(".") if "." in words else None
        right.append(end is not None and end > 0 and words[end - 1] == doc["answer"])
        exact.append(end is not None and words[: end + 1] == doc["completion"].split())
    return sum(right) / len(right), sum(exact) / len(exact)


@pytest.fixture(scope="module")
def inductive_run(parity_repo, tmp_path_factory):
    """A tiny model briefly trained on the inductive format: it writes states ``… #``, so decoding it
    with the inductive mask or with a plain causal mask gives different texts."""
    from hf_reasoning.train import main

    run = tmp_path_factory.mktemp("runs") / "inductive"
    main(["--dataset", str(parity_repo), "--config", "laptop16-inductive", "--model", "tiny", "--out", str(run),
          "--max_steps", "150", "--per_device_train_batch_size", "32", "--learning_rate", "3e-3",
          "--eval_every", "150", "--eval_splits", "test", "--eval_max_examples", "8"])
    return run


def test_hf_reasoning_model_decodes_an_inductive_run_as_evaluate(parity_repo, inductive_run, tmp_path):
    """lm_eval with the model ``hf-reasoning`` gives, row for row, the predictions and scores of
    ``hf-reasoning evaluate`` on an inductive config; the stock ``hf`` model (plain causal mask) does not."""
    pytest.importorskip("lm_eval")
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    from hf_reasoning.evaluation import evaluate_run
    from hf_reasoning.harness import register_model

    evaluated = evaluate_run(inductive_run, parity_repo, "laptop16-inductive", splits=["test"], batch_size=16)
    expected = [(p["prompt"], p["prediction"]) for p in evaluated["predictions"]]  # in row order
    assert len(expected) == 64
    # the model writes several states (the inductive mask matters) and is neither always right nor always wrong
    assert sum(prediction.count(" # ") >= 2 for _, prediction in expected) >= 32
    assert 0 < evaluated["results"]["answer_accuracy"]["accuracy"] < 1

    write_tasks(parity_repo, tmp_path / "tasks", ["laptop16-inductive"])
    name = task_name("parity", "laptop16-inductive", "test")
    register_model()
    outputs = {}
    for model in ("hf-reasoning", "hf"):
        outputs[model] = simple_evaluate(model=model, model_args=f"pretrained={inductive_run},dtype=float32",
                                         device="cpu", batch_size=16, tasks=[name], log_samples=True,
                                         task_manager=TaskManager(include_path=str(tmp_path / "tasks")))
    samples = sorted(outputs["hf-reasoning"]["samples"][name], key=lambda s: s["doc_id"])
    assert [(s["doc"]["prompt"], s["resps"][0][0]) for s in samples] == expected
    docs = [s["doc"] for s in samples]
    accuracy, exact = _hand_scores([s["resps"][0][0] for s in samples], docs)
    reported = outputs["hf-reasoning"]["results"][name]
    assert reported["answer_accuracy,none"] == pytest.approx(accuracy)
    assert reported["exact_match,none"] == pytest.approx(exact)
    assert accuracy == pytest.approx(evaluated["results"]["answer_accuracy"]["accuracy"])
    # lm_eval's own hf model decodes with a plain causal mask: other texts
    plain = sorted(outputs["hf"]["samples"][name], key=lambda s: s["doc_id"])
    assert sum(up_to_end(s["resps"][0][0]) != prediction for s, (_, prediction) in zip(plain, expected)) >= 8


def test_lm_eval_command_line_with_the_hf_reasoning_model(parity_repo, inductive_run, tmp_path):
    """``hf-reasoning lm-eval`` is lm_eval's command line with ``--model hf-reasoning`` known; the stock
    ``lm_eval`` command does not know it."""
    pytest.importorskip("lm_eval")
    import json
    import subprocess
    import sys

    from hf_reasoning.evaluation import evaluate_run

    write_tasks(parity_repo, tmp_path / "tasks", ["laptop16-inductive"])
    name = task_name("parity", "laptop16-inductive", "ood")
    args = ["--model", "hf-reasoning", "--model_args", f"pretrained={inductive_run},dtype=float32", "--device", "cpu",
            "--batch_size", "16", "--include_path", str(tmp_path / "tasks"), "--tasks", name, "--limit", "16",
            "--log_samples", "--output_path", str(tmp_path / "out")]
    done = subprocess.run([sys.executable, "-m", "hf_reasoning", "lm-eval", *args], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    [samples_file] = (tmp_path / "out").rglob(f"samples_{name}_*.jsonl")
    samples = [json.loads(line) for line in samples_file.read_text().splitlines()]
    evaluated = evaluate_run(inductive_run, parity_repo, "laptop16-inductive", splits=["ood"], batch_size=16)
    expected = [(p["prompt"], p["prediction"]) for p in evaluated["predictions"]][:16]  # --limit: the first rows
    assert [(s["doc"]["prompt"], s["resps"][0][0]) for s in sorted(samples, key=lambda s: s["doc_id"])] == expected

    stock = subprocess.run([sys.executable, "-m", "lm_eval", *args], capture_output=True, text=True)
    assert stock.returncode != 0 and "hf-reasoning" in stock.stderr
