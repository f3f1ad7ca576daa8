"""``train-head`` resumes exactly after ``kill -9``: a run killed mid-way (SIGKILL, no cleanup)
and continued with ``--resume`` ends with the same weights, scores, curriculum levels and logged
losses as an uninterrupted run, as ``train`` does (tests/test_train.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
CONFIG = "ball_k6-plain"


@pytest.fixture(scope="module")
def boolean_repo(tmp_path_factory) -> Path:
    from hf_reasoning.hub import write_repo

    return write_repo("boolean", tmp_path_factory.mktemp("data") / "boolean", scale="tiny", seed=0, configs=[CONFIG])


def head_command(repo: Path, out: Path, *extra: str) -> list[str]:
    # the degree curriculum, every epoch ending a stage (eps 100): levels 5, 10, 15 with epochs of
    # 29, 64 and 64 steps of 4 rows; checkpoints every 7 steps fall mid-epoch; the logging period
    # is not a multiple of the checkpoint period (the running loss is part of the state too)
    return [sys.executable, "-m", "hf_reasoning.classification", "--dataset", str(repo), "--config", CONFIG,
            "--out", str(out), "--model", "mlp", "--mlp_hidden_sizes", "32,16", "--curriculum", "degree",
            "--leap", "5", "--eps", "100", "--max_steps", "1500", "--per_device_train_batch_size", "4",
            "--logging_every", "5", "--eval_every", "300", "--eval_cube", "no", "--checkpoint_every", "7",
            "--checkpoints_to_keep", "2", *extra]


def run_env(tmp_path: Path) -> dict:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO_ROOT), "HF_HUB_OFFLINE": "1",
            "HF_HOME": str(tmp_path / "hf_home"), "HF_DATASETS_CACHE": str(tmp_path / "datasets_cache")}


def logged(run_dir: Path) -> list[dict]:
    """metrics.jsonl without the wall-clock rates (steps/s differ between any two runs)."""
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in row.items() if not k.endswith("_per_s")} for row in rows]


def test_train_head_resumes_exactly_after_kill_9(boolean_repo, tmp_path):
    env = run_env(tmp_path)
    straight = subprocess.run(head_command(boolean_repo, tmp_path / "straight"), env=env, capture_output=True,
                              text=True, timeout=600)
    assert straight.returncode == 0, straight.stderr[-3000:]

    killed_dir = tmp_path / "killed"
    run = subprocess.Popen(head_command(boolean_repo, killed_dir), env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:  # kill -9 once the checkpoint of step 35 exists (level 10, step 6 of its epoch): mid-run
        deadline = time.time() + 300
        while not (killed_dir / "checkpoints" / "step-00000035" / "trainer_state.json").is_file():
            assert run.poll() is None and time.time() < deadline, "the run ended before the checkpoint of step 35"
            time.sleep(0.005)
        run.send_signal(signal.SIGKILL)
    finally:
        run.kill()
        run.wait()
    assert run.returncode == -signal.SIGKILL
    assert not (killed_dir / "eval_results.json").exists() and not (killed_dir / "model.safetensors").exists()
    checkpoints = sorted(p.name for p in (killed_dir / "checkpoints").glob("step-*"))
    assert checkpoints and checkpoints[-1] < "step-00001500"
    cut = [row["step"] for row in logged(killed_dir)]
    assert cut and max(cut) < 1500  # it stopped mid-run

    resumed = subprocess.run(head_command(boolean_repo, killed_dir, "--resume"), env=env, capture_output=True,
                             text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resumed from" in resumed.stdout and checkpoints[-1] in resumed.stdout

    a, b = tmp_path / "straight", killed_dir
    assert (b / "model.safetensors").read_bytes() == (a / "model.safetensors").read_bytes()
    for name in ("eval_results.json", "train_results.json", "training_args.json", "config.json"):
        assert json.loads((b / name).read_text()) == json.loads((a / name).read_text()), name
    train_results = json.loads((a / "train_results.json").read_text())
    assert [s["level"] for s in train_results["curriculum_levels"]] == [5, 10, 15]
    assert [s["step"] for s in train_results["curriculum_levels"]] == [0, 29, 93]  # 118 rows of weight <= 5, then 256
    # every row once, in order: what the killed run logged after its checkpoint was dropped
    assert logged(b) == logged(a)


def test_train_head_resume_falls_back_past_a_damaged_checkpoint_and_refuses_changed_arguments(
        boolean_repo, tmp_path, capsys, fresh_accelerator):
    from accelerate.state import AcceleratorState, GradientState

    from hf_reasoning.classification import main
    from hf_reasoning.engine import ConfigChangedError

    def reset():  # each main() builds an Accelerator: the next one starts from a clean state
        AcceleratorState._reset_state(reset_partial_state=True)
        GradientState._reset_state()

    args = ["--dataset", str(boolean_repo), "--config", CONFIG, "--model", "mlp", "--mlp_hidden_sizes", "8",
            "--max_steps", "12", "--per_device_train_batch_size", "16", "--eval_cube", "no", "--logging_every", "1",
            "--checkpoint_every", "4", "--checkpoints_to_keep", "3"]
    whole = main([*args, "--out", str(tmp_path / "whole")])
    reset()
    stopped = main([*args, "--out", str(tmp_path / "cut"), "--stop_after_steps", "9"])
    assert stopped.completed_steps == 9 and not (tmp_path / "cut" / "model.safetensors").exists()
    reset()
    with pytest.raises(ConfigChangedError, match="learning_rate") as error:
        main([*args, "--out", str(tmp_path / "cut"), "--resume", "--learning_rate", "0.5"])
    assert "\n" not in str(error.value)
    reset()
    newest = tmp_path / "cut" / "checkpoints" / "step-00000008" / "model.safetensors"
    newest.write_bytes(newest.read_bytes()[:100])  # truncated
    capsys.readouterr()
    resumed = main([*args, "--out", str(tmp_path / "cut"), "--resume"])
    out = capsys.readouterr().out
    assert "warning: checkpoint" in out and "step-00000008" in out and "resumed from" in out and "step-00000004" in out
    assert (tmp_path / "cut" / "model.safetensors").read_bytes() == (tmp_path / "whole" / "model.safetensors").read_bytes()
    assert resumed.metrics == whole.metrics
    assert [row["step"] for row in logged(tmp_path / "cut") if "train/loss" in row] == list(range(1, 13))
