"""Degree curriculum vs plain training on full parity (abbe2023, Figure 4; docs/reproductions.md).

Full parity x0·x1·…·x_{d-1} of d bits, a fixed training set of N uniform inputs, an MLP trained
with Adam, batch 64, MSE loss. *Plain*: the whole training set from the start. *Degree
curriculum* (leap ℓ, threshold ε): first the inputs with at most ℓ entries −1, then 2ℓ, …,
raising the level whenever the epoch-average training loss drops below ε. Both stop at the first
epoch on the whole training set whose average loss is below ε; the measure is the number of
optimizer steps until then (the sources' ``iter_counter``), plus the sign accuracy on the whole
cube at the end (does the model generalise, or only fit its N points?).

CPU scale (default; ~5 min wall on a loaded 2-core machine, one torch thread)::

    python experiments/degree_curriculum.py
    # d = 12 bits (not 16: CPU-bound), N = 1000 and 2500, MLP 256-256-64, AdamW lr 1e-3 constant,
    # eps 1e-3, leap 4 vs plain, 3 seeds, at most 4000 steps per run

Sources' settings (abbe2023's script: d = 16, N = 3000…11000, MLP 512-1024-512-64, Adam lr 1e-4
with weight decay 1e-3, batch 64, eps 1e-3, leap 4 vs 16, up to 2000 epochs, 10 seeds; runs on a
GPU when one is visible)::

    python experiments/degree_curriculum.py --paper

Each run is ``python -m hf_reasoning.classification --dataset WORK/parity --config parity{d}_n{N}-plain
--model mlp --head regression --optimizer adamw --lr_scheduler_type constant --warmup_steps 0
[--curriculum degree --leap 4 --eps 1e-3] --early_stop_loss 1e-3 …`` (printed before it runs).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

NAME = "degree_curriculum"


def write_parity_repo(folder: Path, d: int, sizes: list[int], seed: int) -> list[str]:
    """A dataset repo folder with one config per training size: ``train`` = N uniform inputs of
    full parity on d bits (repeats allowed, as the source), ``test`` = the whole cube. Rows are
    rendered by the boolean task (columns x, target, prompt, …)."""
    import pyarrow.parquet as pq

    from hf_reasoning.analysis import cube_points
    from hf_reasoning.splits import group_table
    from hf_reasoning.tasks import Group, Instances, get_task
    from hf_reasoning.tasks.boolean import BooleanConfig, uniform_points

    task = get_task("boolean")
    cfg = BooleanConfig(target="parity", d=d, seen="all")
    cube = cube_points(d)
    test = group_table(task, cfg, "plain", Group("cube", d, "cube"), Instances({"x": cube}, (cube < 0).astype(np.int64)))
    configs, yaml = [], ["---", "configs:"]
    for n in sizes:
        x = uniform_points(np.random.default_rng(np.random.SeedSequence([seed, d, n])), n, d)
        train = group_table(task, cfg, "plain", Group("seen", d, "seen"), Instances({"x": x}, (x < 0).astype(np.int64)))
        name = f"parity{d}_n{n}-plain"
        (folder / name).mkdir(parents=True, exist_ok=True)
        pq.write_table(train, folder / name / "train-00000-of-00001.parquet")
        pq.write_table(test, folder / name / "test-00000-of-00001.parquet")
        yaml += [f"- config_name: {name}", "  data_files:", "  - split: train", f"    path: {name}/train-*.parquet",
                 "  - split: test", f"    path: {name}/test-*.parquet"]
        configs.append(name)
    (folder / "README.md").write_text("\n".join(yaml + ["---", f"Full parity of {d} bits (experiments/{NAME}.py)."]) + "\n")
    return configs


def train_once(dataset: Path, config: str, out: Path, settings: dict, curriculum: bool, seed: int) -> dict:
    from hf_reasoning.classification import main

    argv = ["--dataset", str(dataset), "--config", config, "--out", str(out), "--overwrite", "--model", "mlp",
            "--head", "regression", "--mlp_hidden_sizes", settings["hidden"], "--optimizer", "adamw",
            "--learning_rate", str(settings["lr"]), "--weight_decay", str(settings["weight_decay"]),
            "--lr_scheduler_type", "constant", "--warmup_steps", "0", "--max_grad_norm", "0",
            "--per_device_train_batch_size", "64", "--max_steps", str(settings["max_steps"]),
            "--early_stop_loss", str(settings["eps"]), "--eval_splits", "test", "--eval_every",
            str(settings["eval_every"]), "--eval_max_examples", "4096", "--logging_every", "100", "--seed", str(seed)]
    if curriculum:
        argv += ["--curriculum", "degree", "--leap", str(settings["leap"]), "--eps", str(settings["eps"])]
    print("$ python -m hf_reasoning.classification " + shlex.join(argv), flush=True)
    start, cpu = time.perf_counter(), time.process_time()
    result = main(argv)
    metrics = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    accuracy_curve = [(m["step"], m["test/sign_accuracy"]) for m in metrics if "test/sign_accuracy" in m]
    row = {"config": config, "curriculum": curriculum, "seed": seed, "steps": result.completed_steps,
           "steps_to_loss_eps": result.train_results["early_stopped_at"],
           "test_sign_accuracy": result.metrics["test/sign_accuracy"], "test_mse": result.metrics["test/mse"],
           "steps_to_test_acc_0.95": next((s for s, a in accuracy_curve if a >= 0.95), None),
           "levels": result.train_results.get("curriculum_levels"), "accuracy_curve": accuracy_curve,
           "wall_s": time.perf_counter() - start, "cpu_s": time.process_time() - cpu}
    print(f"  steps to loss < eps: {row['steps_to_loss_eps']}, cube sign accuracy {row['test_sign_accuracy']:.3f}, "
          f"{row['wall_s']:.0f} s wall", flush=True)
    return row


def summarise(rows: list[dict], settings: dict) -> tuple[str, list[list]]:
    table = []
    for n in settings["sizes"]:
        line = [n]
        for curriculum in (False, True):
            runs = [r for r in rows if r["config"].endswith(f"_n{n}-plain") and r["curriculum"] == curriculum]
            reached = [r["steps_to_loss_eps"] for r in runs if r["steps_to_loss_eps"] is not None]
            mean = float(np.mean(reached)) if len(reached) == len(runs) and runs else None
            line += [" / ".join(str(r["steps_to_loss_eps"] or f">{r['steps']}") for r in runs), mean,
                     float(np.mean([r["test_sign_accuracy"] for r in runs]))]
        table.append(line)
    header = ["N", "plain: steps to loss<ε (per seed)", "plain: mean", "plain: cube acc",
              f"curriculum ℓ={settings['leap']}: steps (per seed)", "curriculum: mean", "curriculum: cube acc"]
    return common.markdown_table(header, table), table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paper", action="store_true", help="The sources' settings (d = 16; GPU advised).")
    parser.add_argument("--d", type=int, default=None)
    parser.add_argument("--sizes", default=None, help="Comma-separated training-set sizes N.")
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--max_steps", type=int, default=None)
    parser.add_argument("--work", default=None, help="Scratch folder (default: a temporary one).")
    args = parser.parse_args()
    if args.paper:
        settings = dict(d=16, sizes=[3000, 5000, 7000, 9000, 11000], seeds=10, hidden="512,1024,512,64", lr=1e-4,
                        weight_decay=1e-3, leap=4, eps=1e-3, max_steps=2000 * (11000 // 64), eval_every=1000)
    else:
        import torch

        torch.set_num_threads(1)  # one thread is several times faster on the shared 2-core machine
        settings = dict(d=12, sizes=[1000, 2500], seeds=3, hidden="256,256,64", lr=1e-3, weight_decay=0.0,
                        leap=4, eps=1e-3, max_steps=4000, eval_every=250)
    for key in ("d", "seeds", "max_steps"):
        if getattr(args, key) is not None:
            settings[key] = getattr(args, key)
    if args.sizes:
        settings["sizes"] = [int(s) for s in args.sizes.split(",")]
    work = Path(args.work or tempfile.mkdtemp(prefix="degree_curriculum_"))
    start = time.perf_counter()
    configs = write_parity_repo(work / "parity", settings["d"], settings["sizes"], seed=0)
    rows = []
    for config in configs:
        for seed in range(1, settings["seeds"] + 1):
            for curriculum in (False, True):
                out = work / "runs" / f"{config}-{'curriculum' if curriculum else 'plain'}-s{seed}"
                rows.append(train_once(work / "parity", config, out, settings, curriculum, seed))
    markdown_table, table = summarise(rows, settings)
    wall = time.perf_counter() - start
    markdown = "\n".join([
        f"# Degree curriculum vs plain training (abbe2023), full parity of d = {settings['d']} bits",
        "",
        f"MLP {settings['hidden']}, AdamW lr {settings['lr']} (constant), weight decay {settings['weight_decay']}, "
        f"batch 64, ε = {settings['eps']}, leap ℓ = {settings['leap']}, at most {settings['max_steps']} steps, "
        f"seeds 1..{settings['seeds']}. Steps: optimizer steps until the first epoch on the whole training set "
        "with average loss < ε (`>S`: not reached in S steps). Cube acc: sign accuracy on all "
        f"2^{settings['d']} inputs at the end (mean over seeds).",
        "",
        markdown_table,
        "",
        f"Wall time {wall:.0f} s on {common.machine()}." if not args.paper else f"Wall time {wall:.0f} s.",
        "",
        "Command: `python experiments/degree_curriculum.py" + (" --paper" if args.paper else "") + "`",
    ])
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 4))
    for r in rows:
        steps, accuracy = zip(*r["accuracy_curve"]) if r["accuracy_curve"] else ((), ())
        style = "-" if r["curriculum"] else "--"
        label = f"{r['config'].split('-')[0]} {'curriculum' if r['curriculum'] else 'plain'} s{r['seed']}"
        axis.plot(steps, accuracy, style, label=label)
    axis.set_xlabel("optimizer step")
    axis.set_ylabel("sign accuracy on the whole cube")
    axis.set_title(f"full parity, d = {settings['d']}: degree curriculum (solid) vs plain (dashed)")
    axis.legend(fontsize=6, ncol=2)
    payload = {"settings": settings, "rows": rows, "table": table, "wall_s": wall,
               "machine": None if args.paper else common.machine()}
    common.save(NAME + ("_paper" if args.paper else ""), payload, markdown, figure)


if __name__ == "__main__":
    main()
