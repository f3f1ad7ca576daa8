"""Progress off a terminal is plain lines: no carriage-return redraws in a log, a bounded number
of lines, and the numbers in them are the work done."""

from __future__ import annotations

import io
import os
import subprocess
import sys

from hf_reasoning.progress import LineProgress, progress_bar


def test_line_progress_prints_one_line_per_tenth():
    out = io.StringIO()
    bar = LineProgress(1000, "train", file=out, min_seconds=1e9)
    for step in range(1000):
        bar.update(1)
        bar.set_postfix(loss=f"{1 / (step + 1):.4f}")
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue()
    assert len(lines) == 10
    assert lines[0].startswith("train 100/1000 (10%)") and lines[-1].startswith("train 1000/1000 (100%)")
    assert lines[-1].endswith("loss=0.0010")


def test_line_progress_resumes_from_initial_and_can_be_disabled():
    out = io.StringIO()
    bar = LineProgress(100, "train", initial=50, file=out, min_seconds=1e9)
    for _ in range(50):
        bar.update(1)
    assert [line.split()[1] for line in out.getvalue().splitlines()] == ["60/100", "70/100", "80/100", "90/100", "100/100"]
    quiet = io.StringIO()
    bar = LineProgress(10, "train", file=quiet, disable=True)
    for _ in range(10):
        bar.update(1)
    assert quiet.getvalue() == ""


def test_progress_bar_off_a_terminal_is_line_based():
    assert isinstance(progress_bar(10, "x"), LineProgress)  # pytest captures stderr: not a terminal


def test_train_log_has_no_carriage_returns(tmp_path):
    """A short training run with its output sent to a file (as in CI or `> log`)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    hub = tmp_path / "hub"
    subprocess.run([sys.executable, "-m", "hf_reasoning", "build", "parity", "--config", "laptop16-plain",
                    "--out", str(hub), "--scale", "tiny"], check=True, env=env, capture_output=True)
    run = subprocess.run([sys.executable, "-m", "hf_reasoning", "train", "--dataset", str(hub / "parity"),
                          "--config", "laptop16-plain", "--model", "tiny", "--out", str(tmp_path / "run"),
                          "--max_steps", "20", "--eval_every", "20", "--checkpoint_every", "20"],
                         env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    log = run.stdout + run.stderr
    assert "\r" not in log
    assert "train 20/20 (100%)" in log
