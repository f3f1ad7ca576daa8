"""Generalisation on the unseen (abbe2023): trained models land on the min-degree interpolator.

Training shows only the seen part of the cube (the whole of it, as the source's experiments);
the test is the unseen part and the whole cube. Prediction: the learned function on the unseen
part is the min-degree interpolator (MDI) of the seen data, computed exactly by
``hf_reasoning.analysis`` (``hf-reasoning analyze boolean CONFIG``). Reported per config: the
predicted and measured MSE against the true target (unseen part, whole cube) and the distance of
the trained model from the MDI on the unseen part (0 = exactly the MDI).

CPU scale (default; ~5 min wall on a loaded 2-core machine, one torch thread)::

    python experiments/gotu.py
    # gotu_x0x1, gotu_mixed, gotu_cyclic3, gotu_sign3 (d = 15), MLP 256-256-64, AdamW lr 1e-3 cosine,
    # batch 64, 1500 steps on the whole seen set; plus the tiny encoder (3×4×128) on gotu_x0x1

Sources' settings (abbe2023's script: MLP 512-1024-512-64, SGD lr 3e-3 without momentum, batch
64, 50 / 40 / 100 / 40 epochs on the whole seen set, 10 seeds; a GPU helps)::

    python experiments/gotu.py --paper

Each run is ``python -m hf_reasoning.classification --dataset WORK/boolean --config CONFIG
--train_split seen_cube --model mlp --head regression …`` (printed before it runs).
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

NAME = "gotu"
CONFIGS = ["gotu_x0x1-plain", "gotu_mixed-plain", "gotu_cyclic3-plain", "gotu_sign3-plain"]
PAPER_EPOCHS = {"gotu_x0x1-plain": 50, "gotu_mixed-plain": 40, "gotu_cyclic3-plain": 100, "gotu_sign3-plain": 40}


def interpolator_table(config: str) -> tuple[np.ndarray, np.ndarray]:
    """(MDI values, seen mask) on the whole cube in cube order, solved afresh by
    ``hf_reasoning.analysis`` (the listing in ``predictions(config)`` is truncated to a few
    monomials, too few for cyclic3)."""
    from hf_reasoning import analysis
    from hf_reasoning.tasks.boolean import _config_of, seen_mask, target_values

    cfg = _config_of(config)
    x = analysis.cube_points(cfg.d)
    seen = seen_mask(cfg, x)
    return analysis.min_degree_interpolator(target_values(cfg, x), seen).values(), seen


def run_config(dataset: Path, config: str, model: str, out: Path, settings: dict, seed: int) -> dict:
    from hf_reasoning.classification import load, main
    from hf_reasoning.tasks.boolean import cube_rows, predictions

    argv = ["--dataset", str(dataset), "--config", config, "--out", str(out), "--overwrite", "--model", model,
            "--head", "regression", "--train_split", "seen_cube", "--optimizer", settings["optimizer"],
            "--learning_rate", str(settings["lr"]), "--lr_scheduler_type", settings["schedule"],
            "--max_grad_norm", str(settings["clip"]), "--per_device_train_batch_size", "64",
            "--eval_splits", "cube", "--eval_every", "100000", "--logging_every", "100", "--seed", str(seed)]
    if model == "mlp":
        argv += ["--mlp_hidden_sizes", settings["hidden"]]
    argv += (["--num_train_epochs", str(PAPER_EPOCHS[config])] if settings["paper"]
             else ["--max_steps", str(settings["steps"][model])])
    if settings["schedule"] == "constant":
        argv += ["--warmup_steps", "0"]
    print("$ python -m hf_reasoning.classification " + shlex.join(argv), flush=True)
    start, cpu = time.perf_counter(), time.process_time()
    result = main(argv)
    predicted = predictions(config)
    cube = cube_rows(config)  # cube order, as the interpolator table
    mdi, seen = interpolator_table(config)
    assert (cube.column("seen").to_numpy(zero_copy_only=False) == seen).all()
    unseen = ~seen
    learned = load(out).predict(cube)
    row = {"config": config, "model": model, "seed": seed,
           "predicted_mse_unseen": predicted["predicted_mse_unseen"], "measured_mse_unseen": result.metrics["cube/unseen/mse"],
           "predicted_mse_whole": predicted["predicted_mse_whole"], "measured_mse_whole": result.metrics["cube/mse"],
           "distance_to_mdi_unseen": float(((learned - mdi)[unseen] ** 2).mean()),
           "fit_mse_seen": result.metrics["cube/seen/mse"], "interpolator": predicted["min_degree_interpolator"],
           "steps": result.completed_steps, "wall_s": time.perf_counter() - start, "cpu_s": time.process_time() - cpu}
    print(f"  MSE unseen: predicted {row['predicted_mse_unseen']:.3g}, measured {row['measured_mse_unseen']:.3g}; "
          f"distance to the MDI on the unseen part {row['distance_to_mdi_unseen']:.3g}; {row['wall_s']:.0f} s wall",
          flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paper", action="store_true", help="The sources' settings (GPU advised).")
    parser.add_argument("--configs", default=None, help="Comma-separated configs (default: four abbe2023 functions).")
    parser.add_argument("--no_encoder", action="store_true", help="Skip the tiny-encoder run.")
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--work", default=None, help="Scratch folder (default: a temporary one).")
    args = parser.parse_args()
    if args.paper:
        settings = dict(paper=True, hidden="512,1024,512,64", optimizer="sgd", lr=3e-3, schedule="constant", clip=0,
                        seeds=10)
    else:
        import torch

        torch.set_num_threads(1)  # one thread is several times faster on the shared 2-core machine
        settings = dict(paper=False, hidden="256,256,64", optimizer="adamw", lr=1e-3, schedule="cosine", clip=1.0,
                        seeds=3, steps={"mlp": 1500, "tiny-encoder": 600})
    if args.seeds is not None:
        settings["seeds"] = args.seeds
    configs = args.configs.split(",") if args.configs else CONFIGS
    work = Path(args.work or tempfile.mkdtemp(prefix="gotu_"))
    start = time.perf_counter()
    from hf_reasoning.hub import write_repos

    print(f"$ hf-reasoning build boolean --scale tiny --out {work} " + " ".join(f"--config {c}" for c in configs))
    write_repos(["boolean"], work, scale="tiny", configs=configs, overwrite=True)  # training uses the seen cube
    jobs = [(c, "mlp") for c in configs]
    if not args.no_encoder and not args.paper and "gotu_x0x1-plain" in configs:
        jobs.append(("gotu_x0x1-plain", "tiny-encoder"))
    rows = [run_config(work / "boolean", c, m, work / "runs" / f"{c}-{m}-s{s}", settings, s)
            for c, m in jobs for s in range(1, settings["seeds"] + 1)]
    table = []
    for config, model in jobs:
        runs = [r for r in rows if r["config"] == config and r["model"] == model]

        def mean(key):
            return float(np.mean([r[key] for r in runs]))

        share = [r["measured_mse_unseen"] / r["predicted_mse_unseen"] for r in runs]

        terms = [f"{c:+.3g}·{m}" if m != "1" else f"{c:+.3g}" for m, c in runs[0]["interpolator"].items()]
        mdi = " ".join(terms[:5]) + (" …" if len(terms) > 5 else "")
        table.append([config.removesuffix("-plain"), model, mdi, runs[0]["predicted_mse_unseen"], mean("measured_mse_unseen"),
                      float(np.mean(share)), f"[{min(share):.3g}, {max(share):.3g}]",
                      runs[0]["predicted_mse_whole"], mean("measured_mse_whole"), mean("distance_to_mdi_unseen"),
                      f"[{min(r['distance_to_mdi_unseen'] for r in runs):.3g}, {max(r['distance_to_mdi_unseen'] for r in runs):.3g}]",
                      mean("fit_mse_seen")])
    wall = time.perf_counter() - start
    header = ["config", "model", "min-degree interpolator", "predicted MSE unseen", "measured MSE unseen",
              "measured / predicted (unseen)", "[min, max] over seeds", "predicted MSE cube", "measured MSE cube",
              "MSE(model − MDI) on unseen", "[min, max] over seeds", "MSE on seen (fit)"]
    describe = (f"MLP {settings['hidden']}, SGD lr 3e-3 (constant), batch 64, the source's epochs" if args.paper else
                f"MLP {settings['hidden']}: AdamW lr {settings['lr']} cosine, batch 64, {settings['steps']['mlp']} steps; "
                f"tiny-encoder (BERT-style 3×4×128, <bos> pooled): {settings['steps']['tiny-encoder']} steps")
    markdown = "\n".join([
        "# Generalisation on the unseen (abbe2023): measured vs min-degree interpolator", "",
        "Training set: every seen point of the cube (d = 15); test: the unseen part and the whole cube. The "
        "prediction is the min-degree interpolator (MDI) of the seen data (exact, `hf_reasoning.analysis`). "
        f"{describe}; seeds 1..{settings['seeds']} (means).", "",
        common.markdown_table(header, table), "",
        (f"Wall time {wall:.0f} s on {common.machine()}." if not args.paper else f"Wall time {wall:.0f} s."), "",
        "Command: `python experiments/gotu.py" + (" --paper" if args.paper else "") + "`",
    ])
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 4))
    labels = [f"{r[0].removeprefix('gotu_')}\n{r[1]}" for r in table]
    at = np.arange(len(table))
    axis.bar(at - 0.2, [r[3] for r in table], 0.4, label="predicted (MDI) MSE on unseen")
    axis.bar(at + 0.2, [r[4] for r in table], 0.4, label="measured MSE on unseen (mean over seeds)")
    axis.set_xticks(at, labels, fontsize=8)
    axis.set_ylabel("MSE against the true target on the unseen part")
    axis.set_title("GOTU (abbe2023): trained model vs min-degree interpolator")
    axis.legend(fontsize=8)
    payload = {"settings": settings, "rows": rows, "table": table, "wall_s": wall,
               "machine": None if args.paper else common.machine()}
    common.save(NAME + ("_paper" if args.paper else ""), payload, markdown, figure)


if __name__ == "__main__":
    main()
