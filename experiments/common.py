"""Shared helpers of the reproduction scripts in ``experiments/`` (docs/reproductions.md).

Every script drives the package through its command line only (``hf-reasoning build``,
``hf-reasoning train``, ``hf-reasoning evaluate``), so what it measures is what a user of the
CLI gets; reduced-length settings for CPU runs are presets of the package (e.g. addition's
``cpu_shift``), so ``--fresh`` training works for them too. One thing is not reachable from
the CLI and is set here:

* **CPU threads**: on a shared 2-core machine one PyTorch thread per run is several times
  faster than the default two (measured: ~3.8 vs ~0.5 steps/s on boolean_and), so every
  subprocess gets ``OMP_NUM_THREADS=1`` and ``nice -n 10``.

Outputs of a script land in ``docs/reproductions/<name>.{json,md,png}``.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs" / "reproductions"
DDP_CONFIG = "hf_reasoning/accelerate_configs/ddp.yaml"

# abbe2024's optimisation: AdamW, lr 3e-4 cosine to 3e-5, batch 512
PAPER_OPTIM = ["--learning_rate", "3e-4", "--min_learning_rate", "3e-5", "--weight_decay", "0.0"]
# the CPU recipe that worked on parity (docs/reproductions/parity_budget_trials.md): the tiny
# Llama with RoPE base 100, lr 1e-3 cosine to 1e-4 (the loss stalls at 2e-3), length-homogeneous
# micro-batches; 32 a step. Used by every script that trains through `train` below (addition
# lengths, index hints, cycles, boolean_and); rows measured before this change say so.
CPU_OPTIM = ["--rope_theta", "100", "--learning_rate", "1e-3", "--min_learning_rate", "1e-4",
             "--group_by_length", "8", "--per_device_train_batch_size", "32"]


def datasets_cache(dataset: Path) -> Path:
    """A `datasets` cache folder private to one repo folder.

    ``load_dataset(folder, config)`` caches the Arrow tables under
    ``~/.cache/huggingface/datasets/<folder name>/<config>/<hash>``, and that hash does not
    change with the parquet contents (measured with datasets 5.2): a folder rewritten with
    other rows under the same card (e.g. after a change of a generator) would load the old
    rows. A cache per repo folder, cleared whenever the folder is (re)written, rules that out."""
    return Path(dataset).parent / f".datasets_cache-{Path(dataset).name}"


def cpu_env(dataset: Path | None = None) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", HF_HUB_OFFLINE="1",
               HF_DATASETS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    if dataset is not None:
        env["HF_DATASETS_CACHE"] = str(datasets_cache(dataset))
    return env


def run(cmd: list[str], log: Path | None = None, stop_when=None, dataset: Path | None = None) -> float:
    """Run a CLI command under ``nice -n 10`` with one thread; return its wall seconds.

    The command's output goes to ``log`` (the progress bars would flood the terminal);
    a failure prints the log's tail and exits. ``stop_when``: a function polled every
    2 s; when it returns True the command is stopped (SIGTERM) and counts as done (used to
    end a run once it has reached the accuracy whose step count is being measured)."""
    print("$ " + shlex.join(cmd), flush=True)
    start = time.perf_counter()
    stopped = False
    with open(log or os.devnull, "w") as out:
        process = subprocess.Popen(["nice", "-n", "10", *cmd], env=cpu_env(dataset), stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
        while process.poll() is None:
            try:
                process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                if stop_when is not None and stop_when():
                    process.terminate()
                    process.wait()
                    stopped = True
    seconds = time.perf_counter() - start
    if stopped:
        print(f"  (stopped early: target accuracy reached or time limit, {seconds:.0f} s wall)", flush=True)
        return seconds
    if process.returncode != 0:
        if log is not None:
            print("".join(Path(log).read_text().replace("\r", "\n").splitlines(keepends=True)[-20:]), file=sys.stderr)
        raise SystemExit(f"command failed with exit status {process.returncode}: {shlex.join(cmd)}")
    print(f"  ({seconds:.0f} s wall)", flush=True)
    return seconds


def build(task: str, configs: list[str], out: Path, scale: str = "default") -> Path:
    """``hf-reasoning build`` of some configs of a task into ``out/<task>``."""
    cmd = ["hf-reasoning", "build", task, "--out", str(out), "--scale", scale, "--overwrite"]
    for c in configs:
        cmd += ["--config", c]
    run(cmd)
    shutil.rmtree(datasets_cache(out / task), ignore_errors=True)
    return out / task


def train(dataset: Path, config: str, out: Path, steps: int, *, model: str = "tiny", fresh: bool = False,
          eval_every: int = 100, eval_max_examples: int = 64, eval_splits: str = "validation",
          extra: list[str] | None = None, stop_at: tuple[str, float, int] | None = None,
          time_limit: float | None = None) -> tuple[float, list[dict]]:
    """``hf-reasoning train`` on CPU; returns (wall seconds, the rows of metrics.jsonl).

    ``stop_at=(key, threshold, times)``: stop the run once ``key`` has been ≥ ``threshold``
    at ``times`` consecutive evaluations (the run folder then holds no final model).
    ``time_limit``: stop the run after that many wall seconds (a CPU-scale budget; the
    metrics logged so far are what it reports)."""
    cmd = ["hf-reasoning", "train", "--dataset", str(dataset), "--config", config, "--model", model,
           "--out", str(out), "--overwrite", "--max_steps", str(steps), *CPU_OPTIM,
           "--eval_every", str(eval_every), "--eval_max_examples", str(eval_max_examples),
           "--eval_splits", eval_splits, "--checkpoint_every", str(10 * steps), "--logging_every", "10"]
    if fresh:
        cmd.append("--fresh")
    cmd += extra or []
    out.parent.mkdir(parents=True, exist_ok=True)
    metrics_file = out / "metrics.jsonl"

    def read_metrics() -> list[dict]:
        if not metrics_file.exists():
            return []
        lines = metrics_file.read_text().splitlines()
        return [json.loads(line) for line in lines if line.endswith("}")]

    def reached() -> bool:
        if time_limit is not None and time.perf_counter() - started > time_limit:
            return True
        if stop_at is None:
            return False
        key, threshold, times = stop_at
        values = [m[key] for m in read_metrics() if key in m]
        return len(values) >= times and all(v >= threshold for v in values[-times:])

    # a finished run (early stop included) leaves its wall time beside it: rerunning a script
    # with the same settings reuses it instead of training again
    done_file = out.parent / f"{out.name}.done.json"
    identity = {"cmd": cmd, "stop_at": list(stop_at) if stop_at else None}
    if time_limit is not None:
        identity["time_limit"] = time_limit
    if done_file.exists() and json.loads(done_file.read_text())["identity"] == identity and metrics_file.exists():
        seconds = json.loads(done_file.read_text())["wall_s"]
        print(f"(reusing {out}: trained before in {seconds:.0f} s wall)", flush=True)
        return seconds, read_metrics()
    done_file.unlink(missing_ok=True)
    started = time.perf_counter()
    seconds = run(cmd, log=out.parent / f"{out.name}.log", stop_when=reached if (stop_at or time_limit) else None,
                  dataset=dataset)
    done_file.write_text(json.dumps({"identity": identity, "wall_s": seconds}) + "\n")
    return seconds, read_metrics()


def evaluate(run_dir: Path, dataset: Path, config: str, splits: list[str], out: Path,
             max_rows: int | None = None) -> tuple[float, dict]:
    """``hf-reasoning evaluate``; returns (wall seconds, eval_results.json without predictions)."""
    cmd = ["hf-reasoning", "evaluate", "--model", str(run_dir), "--dataset", str(dataset), "--config", config,
           "--out", str(out)]
    for s in splits:
        cmd += ["--split", s]
    if max_rows is not None:
        cmd += ["--max-rows", str(max_rows)]
    done_file = out.parent / f"{out.name}.done.json"
    model_file = run_dir / "model.safetensors"
    if (done_file.exists() and json.loads(done_file.read_text())["identity"] == {"cmd": cmd}
            and done_file.stat().st_mtime > model_file.stat().st_mtime):
        seconds = json.loads(done_file.read_text())["wall_s"]
        print(f"(reusing {out}: evaluated before in {seconds:.0f} s wall)", flush=True)
    else:
        seconds = run(cmd, log=out.parent / f"{out.name}.eval.log", dataset=dataset)
        done_file.write_text(json.dumps({"identity": {"cmd": cmd}, "wall_s": seconds}) + "\n")
    results = json.loads((out / "eval_results.json").read_text())
    results.pop("predictions", None)
    return seconds, results


def final_loss(metrics: list[dict]) -> float | None:
    """The last logged training loss (mean over the last logging window)."""
    losses = [m["train/loss"] for m in metrics if "train/loss" in m]
    return losses[-1] if losses else None


def length_rows(results: dict) -> list[tuple[int, float, int]]:
    """(length, accuracy, n) per length of an evaluate result, shortest first."""
    return [(int(k), v["accuracy"], v["n"]) for k, v in results["results"]["lengths"].items()]


def markdown_table(header: list[str], rows: list[list]) -> str:
    def cell(x):
        if isinstance(x, float):
            return f"{x:.3f}"
        return "—" if x is None else str(x)

    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(x) for x in row) + " |" for row in rows]
    return "\n".join(lines)


def save(name: str, payload: dict, markdown: str, figure) -> None:
    """Write docs/reproductions/<name>.json, .md and .png, and print the table."""
    DOCS.mkdir(parents=True, exist_ok=True)
    (DOCS / f"{name}.json").write_text(json.dumps(payload, indent=2) + "\n")
    (DOCS / f"{name}.md").write_text(markdown.rstrip() + "\n")
    figure.savefig(DOCS / f"{name}.png", dpi=120, bbox_inches="tight")
    print(markdown)
    print(f"wrote {DOCS / name}.json, .md, .png")


def machine() -> str:
    import platform

    return f"{platform.machine()} CPU, {os.cpu_count()} cores (shared, loaded), 1 torch thread per run, nice 10"


def paper_train(dataset: str, config: str, out: str, steps: int, *, batch: int = 512, accumulation: int = 1,
                gpus: int = 8, fresh: bool = True, eval_every: int = 1000, extra: list[str] | None = None) -> list[str]:
    """The sources' settings as an ``accelerate launch`` command (model abbe2024-10m, GPT-2 with
    learned positions, AdamW lr 3e-4 cosine to 3e-5, global batch ``batch``)."""
    per_device = batch // (gpus * accumulation)
    if per_device * gpus * accumulation != batch:
        raise SystemExit(f"batch {batch} does not split over {gpus} GPUs × {accumulation} accumulation steps")
    cmd = ["accelerate", "launch", "--config_file", DDP_CONFIG, "--num_processes", str(gpus), "-m", "hf_reasoning.train",
           "--dataset", dataset, "--config", config, "--model", "abbe2024-10m", "--out", out,
           "--max_steps", str(steps), "--per_device_train_batch_size", str(per_device),
           "--gradient_accumulation_steps", str(accumulation), *PAPER_OPTIM,
           "--eval_every", str(eval_every), "--eval_max_examples", "1000"]
    if fresh:
        cmd.append("--fresh")
    return cmd + (extra or [])


def paper_mode(commands: list[list[str]], execute: bool) -> None:
    """Print (or, with ``execute``, run one after the other) the GPU commands of a script."""
    for cmd in commands:
        print(shlex.join(cmd))
    if execute:
        for cmd in commands:
            done = subprocess.run(cmd, cwd=REPO)
            if done.returncode:
                raise SystemExit(done.returncode)


def common_args(parser, work_default: str) -> None:
    parser.add_argument("--paper", action="store_true",
                        help="Print the sources' settings (GPU commands, accelerate launch) instead of the CPU run.")
    parser.add_argument("--execute", action="store_true", help="With --paper: run those commands (needs GPUs).")
    parser.add_argument("--gpus", type=int, default=8, help="With --paper: GPUs of the DDP launch.")
    parser.add_argument("--work", default=work_default, help="Scratch folder for datasets and runs.")
