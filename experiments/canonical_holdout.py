"""Canonical holdout (abbe2022): train with coordinate i frozen to +1, test on the whole cube.

Prediction: the model learns f(x with x_i = +1), so half its MSE on the cube (the
generalisation error of abbe2022) equals the Boolean influence Inf_i(f) = Σ_{S∋i} f̂(S)²,
computed exactly by ``hf_reasoning.analysis`` (``hf-reasoning analyze boolean CONFIG``).

CPU scale (default; ~5 min wall on a loaded 2-core machine, one torch thread)::

    python experiments/canonical_holdout.py
    # f1 (d = 11) frozen 0/5/10, staircase (d = 14) frozen 0/7/13, PVR p=3 w=3 majority truncated
    # (d = 11) frozen 0/3/7/10; MLP 256-256-64, AdamW lr 1e-3 cosine, batch 64, 1500 steps, N = 1900
    # training rows for d = 11 and 10000 for d = 14 (the source's sizes), 3 seeds

Sources' settings (abbe2022's script: MLP 512-1024-512-64, Adam lr 5e-5 constant, batch 64,
N = 1900 (d = 11) / 10000 (d = 14), 100 epochs (f1, PVR) / 150 (staircase), 40 seeds; a GPU
helps)::

    python experiments/canonical_holdout.py --paper

Each run is ``python -m hf_reasoning.classification --dataset WORK/boolean --config
<target>_frozen<i>-plain --model mlp --head regression --max_train_samples N …`` (printed
before it runs); the whole-cube score is the ``cube`` split of its ``eval_results.json``.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

NAME = "canonical_holdout"
CONFIGS = [f"f1_frozen{i}-plain" for i in (0, 5, 10)] + [f"staircase_frozen{i}-plain" for i in (0, 7, 13)] \
    + [f"pvr_trunc_frozen{i}-plain" for i in (0, 3, 7, 10)]


def train_size(config: str) -> int:
    return 10_000 if config.startswith("staircase") else 1900  # abbe2022: 1900 for d = 11, 10000 for d = 14


def run_config(dataset: Path, config: str, out: Path, settings: dict, seed: int) -> dict:
    from hf_reasoning.classification import main
    from hf_reasoning.tasks.boolean import predictions

    epochs = settings["epochs"](config)
    argv = ["--dataset", str(dataset), "--config", config, "--out", str(out), "--overwrite", "--model", "mlp",
            "--head", "regression", "--mlp_hidden_sizes", settings["hidden"], "--max_train_samples",
            str(train_size(config)), "--learning_rate", str(settings["lr"]), "--lr_scheduler_type",
            settings["schedule"], "--max_grad_norm", str(settings["clip"]), "--per_device_train_batch_size", "64",
            "--eval_splits", "validation,cube", "--eval_every", "100000", "--logging_every", "100",
            "--seed", str(seed)]
    argv += ["--num_train_epochs", str(epochs)] if epochs else ["--max_steps", str(settings["max_steps"])]
    if settings["schedule"] == "constant":
        argv += ["--warmup_steps", "0"]
    print("$ python -m hf_reasoning.classification " + shlex.join(argv), flush=True)
    start, cpu = time.perf_counter(), time.process_time()
    result = main(argv)
    predicted = predictions(config)
    row = {"config": config, "frozen": predicted["frozen"], "seed": seed, "influence": predicted["influence"],
           "measured_half_mse_cube": result.metrics["cube/half_mse"],
           "measured_mse_unseen_half": result.metrics["cube/unseen/mse"],
           "predicted_mse_unseen_half": predicted["predicted_mse_unseen"],
           "fit_mse_seen_half": result.metrics["cube/seen/mse"], "validation_mse": result.metrics["validation/mse"],
           "steps": result.completed_steps, "wall_s": time.perf_counter() - start, "cpu_s": time.process_time() - cpu}
    print(f"  Inf_{row['frozen']} = {row['influence']:.4g}, measured ½·MSE(cube) = {row['measured_half_mse_cube']:.4g} "
          f"(fit on the seen half: MSE {row['fit_mse_seen_half']:.3g}), {row['wall_s']:.0f} s wall", flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paper", action="store_true", help="The sources' settings (GPU advised).")
    parser.add_argument("--configs", default=None, help="Comma-separated configs (default: all ten).")
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--work", default=None, help="Scratch folder (default: a temporary one).")
    args = parser.parse_args()
    if args.paper:
        settings = dict(hidden="512,1024,512,64", lr=5e-5, schedule="constant", clip=0, seeds=40, max_steps=None,
                        epochs=lambda c: 150 if c.startswith("staircase") else 100)
    else:
        import torch

        torch.set_num_threads(1)  # one thread is several times faster on the shared 2-core machine
        settings = dict(hidden="256,256,64", lr=1e-3, schedule="cosine", clip=1.0, seeds=3, max_steps=1500,
                        epochs=lambda c: None)
    if args.seeds is not None:
        settings["seeds"] = args.seeds
    configs = args.configs.split(",") if args.configs else CONFIGS
    work = Path(args.work or tempfile.mkdtemp(prefix="canonical_holdout_"))
    start = time.perf_counter()
    from hf_reasoning.hub import write_repos

    print(f"$ hf-reasoning build boolean --scale default --out {work} " + " ".join(f"--config {c}" for c in configs))
    write_repos(["boolean"], work, scale="default", configs=configs, overwrite=True)
    rows = [run_config(work / "boolean", c, work / "runs" / f"{c}-s{s}", settings, s)
            for c in configs for s in range(1, settings["seeds"] + 1)]
    table = []
    for config in configs:
        runs = [r for r in rows if r["config"] == config]
        measured = [r["measured_half_mse_cube"] for r in runs]
        influence = runs[0]["influence"]
        ratios = [m / influence for m in measured] if influence else None
        table.append([config.removesuffix("-plain"), runs[0]["frozen"], influence, float(np.mean(measured)),
                      f"[{min(measured):.3g}, {max(measured):.3g}]",
                      float(np.mean(ratios)) if ratios else None,
                      f"[{min(ratios):.3g}, {max(ratios):.3g}]" if ratios else None,
                      float(np.mean([r["fit_mse_seen_half"] for r in runs]))])
    wall = time.perf_counter() - start
    header = ["config", "frozen i", "predicted Inf_i", "measured ½·MSE (cube), mean", "[min, max] over seeds",
              "measured / predicted, mean", "[min, max] over seeds", "MSE on the seen half (fit), mean"]
    describe = (f"MLP {settings['hidden']}, {'Adam' if args.paper else 'AdamW'} lr {settings['lr']} ({settings['schedule']}), "
                f"batch 64, " + ("100 epochs (staircase 150)" if args.paper else f"{settings['max_steps']} steps")
                + f", N = 1900 training rows (d = 11) / 10000 (d = 14), seeds 1..{settings['seeds']}.")
    markdown = "\n".join([
        "# Canonical holdout (abbe2022): generalisation error vs Boolean influence", "",
        "Coordinate i is +1 in every training input; the test is the whole cube (2^d inputs). Predicted "
        "generalisation error ½·MSE = Inf_i(f) (exact, `hf_reasoning.analysis`). " + describe, "",
        common.markdown_table(header, table), "",
        (f"Wall time {wall:.0f} s on {common.machine()}." if not args.paper else f"Wall time {wall:.0f} s."), "",
        "Command: `python experiments/canonical_holdout.py" + (" --paper" if args.paper else "") + "`",
    ])
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(5.5, 5))
    for family, marker in (("f1", "o"), ("staircase", "s"), ("pvr_trunc", "^")):
        pts = [(r["influence"], r["measured_half_mse_cube"]) for r in rows if r["config"].startswith(family + "_")]
        if pts:
            axis.scatter(*zip(*pts), marker=marker, label=family)
    top = max(max(r["influence"], r["measured_half_mse_cube"]) for r in rows) * 1.5
    low = min(min(r["influence"], r["measured_half_mse_cube"]) for r in rows if r["influence"] > 0) / 1.5
    axis.plot([low, top], [low, top], "k--", linewidth=0.8, label="measured = predicted")
    axis.set_xscale("log")
    axis.set_yscale("log")
    axis.set_xlabel("predicted: Boolean influence Inf_i(f)")
    axis.set_ylabel("measured: ½·MSE on the whole cube")
    axis.set_title("canonical holdout (abbe2022)")
    axis.legend(fontsize=8)
    payload = {"settings": {k: v for k, v in settings.items() if not callable(v)}, "rows": rows, "table": table,
               "wall_s": wall, "machine": None if args.paper else common.machine()}
    common.save(NAME + ("_paper" if args.paper else ""), payload, markdown, figure)


if __name__ == "__main__":
    main()
