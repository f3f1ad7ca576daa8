"""addition (abbe2024): length generalisation of the two inductive scratchpads.

* **shift** — train on 1..4 digits; abbe2024 report correct sums up to 26 digits (≈6.5×).
* **random-space** — train on 1..10 digits scattered over 30 slots per operand; abbe2024
  report generalisation to 18 digits (1.8×).

At CPU scale both use the package's *reduced* presets:

===============  ===========  =====================  ======================
preset           train s      test s (ood)           slots per operand
===============  ===========  =====================  ======================
``cpu_shift``    1..4         5, 6, 7, 8, 10, 12     —
``cpu_space``    1..4         5, 6, 7, 8, 10, 12     12 (fill ≤ 1/3, as the paper's 10/30)
===============  ===========  =====================  ======================

The generalisation length is the largest tested length with accuracy ≥ 0.9 (the package's
``generalization_length``); the ratio divides it by the largest training length.

CPU scale (a smoke-scale run: on the loaded 2-core machine the inductive formats trained at
~0.15–0.25 steps/s, so the default is 48 and 32 steps, far too few to learn addition;
``--steps 3000 2000`` is a sensible CPU run on an idle machine)::

    python experiments/addition_lengths.py
    # = hf-reasoning build addition --config cpu_shift-shift --config cpu_space-inductive \
    #       --scale default --out runs/repro/hub
    #   per config C in cpu_shift-shift, cpu_space-inductive (fresh samples from the generator):
    #   hf-reasoning train --dataset runs/repro/hub/addition --config C --model tiny --fresh --max_steps STEPS \
    #       --learning_rate 2e-3 --min_learning_rate 2e-4 --per_device_train_batch_size 32 \
    #       --eval_every STEPS --eval_max_examples 32 --eval_splits validation --out runs/repro/addition-C
    #   hf-reasoning evaluate --model runs/repro/addition-C --dataset runs/repro/hub/addition --config C \
    #       --split validation --split ood --max-rows 60 --out runs/repro/addition-C-eval

Sources' settings (GPU, not run here; the full presets abbe2024_shift-shift and
abbe2024-inductive; batch 512 as 256 × 2 accumulation, as abbe2024 do for addition)::

    python experiments/addition_lengths.py --paper [--gpus 8] [--execute]
"""

from __future__ import annotations

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import common  # noqa: E402

ROWS = [  # (label, config, the sources' preset config)
    ("inductive shift", "cpu_shift-shift", "abbe2024_shift-shift"),
    ("inductive random-space", "cpu_space-inductive", "abbe2024-inductive"),
]


def paper(args) -> None:
    cmds = [["hf-reasoning", "build", "addition", "--config", "abbe2024_shift-shift", "--config", "abbe2024-inductive",
             "--scale", "paper", "--out", "hub"]]
    for _, _, config in ROWS:
        run_dir = f"runs/paper/addition-{config}"
        cmds.append(common.paper_train("hub/addition", config, run_dir, 50_000, batch=512, accumulation=2,
                                       gpus=args.gpus, eval_every=1000, extra=["--eval_splits", "validation,ood"]))
        cmds.append(["hf-reasoning", "evaluate", "--model", run_dir, "--dataset", "hub/addition", "--config", config,
                     "--split", "validation", "--split", "ood", "--out", f"{run_dir}-eval"])
    common.paper_mode(cmds, args.execute)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common.common_args(parser, "runs/repro")
    parser.add_argument("--steps", type=int, nargs=2, default=[48, 32], metavar=("SHIFT", "SPACE"),
                        help="Optimizer steps of the shift and the random-space run.")
    parser.add_argument("--max_rows", type=int, default=60, help="Rows per evaluated split (spread over lengths).")
    args = parser.parse_args()
    if args.paper:
        paper(args)
        return

    work = common.REPO / args.work
    dataset = common.build("addition", [c for _, c, _ in ROWS], work / "hub")
    results = []
    for (label, config, source_config), steps in zip(ROWS, args.steps):
        run_dir = work / f"addition-{config}"
        train_s, metrics = common.train(dataset, config, run_dir, steps, fresh=True, eval_every=steps,
                                         eval_max_examples=32)
        eval_s, ev = common.evaluate(run_dir, dataset, config, ["validation", "ood"], work / f"addition-{config}-eval",
                                     max_rows=args.max_rows)
        r = ev["results"]
        results.append({"label": label, "config": config, "source_config": source_config, "steps": steps,
                        "train_wall_s": train_s, "eval_wall_s": eval_s, "final_train_loss": common.final_loss(metrics), "lengths": common.length_rows(ev),
                        "train_max_length": r["train_max_length"], "generalization_length": r["generalization_length"],
                        "generalization_ratio": r["generalization_ratio"],
                        "in_distribution": r["in_distribution"]["accuracy"], "ood": r["ood"]["accuracy"]})

    lengths = sorted({x for res in results for x, _, _ in res["lengths"]})
    rows = []
    for x in lengths:
        row = [x]
        for res in results:
            hit = next(((a, n) for y, a, n in res["lengths"] if y == x), None)
            row.append(f"{hit[0]:.2f} (n={hit[1]})" if hit else None)
        rows.append(row)
    table = common.markdown_table(["digits s", *[f"{r['label']} ({r['config']})" for r in results]], rows)
    summary = common.markdown_table(
        ["format", "train ≤", "steps × 32", "train wall s", "final train loss", "gen. length (≥ 0.9)", "ratio", "source"],
        [[r["label"], r["train_max_length"], r["steps"], f"{r['train_wall_s']:.0f}", r["final_train_loss"], r["generalization_length"],
          r["generalization_ratio"], "26 / 4 = 6.5×" if "shift" in r["label"] else "18 / 10 = 1.8×"] for r in results])
    markdown = (f"### addition (abbe2024): inductive shift and random-space at reduced lengths, tiny model\n\n"
                f"Machine: {common.machine()}. Fresh samples from the generator (`--fresh`), 32 a step; accuracy per operand "
                f"length s on validation (s ≤ 4) and ood (s > 4), at most {args.max_rows} rows per split.\n\n"
                f"{table}\n\n{summary}\n")
    fig, ax = plt.subplots(figsize=(6, 3.8))
    for res, marker in zip(results, ("o", "s")):
        ax.plot([x for x, _, _ in res["lengths"]], [a for _, a, _ in res["lengths"]], marker=marker, label=res["label"])
    ax.axvspan(0.5, 4.5, color="grey", alpha=0.15, label="training lengths")
    ax.axhline(0.9, color="grey", ls=":", lw=1)
    ax.set(xlabel="operand digits s", ylabel="accuracy", ylim=(-0.02, 1.02),
           title="addition: inductive formats, tiny model (CPU)")
    ax.legend(fontsize=8)
    from hf_reasoning.tasks import get_task

    presets = get_task("addition").presets
    payload = {"row": "addition_lengths", "model": "tiny", "machine": common.machine(),
               "presets": {name: repr(presets[name]) for name in ("cpu_shift", "cpu_space")}, "runs": results}
    common.save("addition_lengths", payload, markdown, fig)


if __name__ == "__main__":
    main()
