"""cycles (abbe2024): iterations to 95% accuracy vs n, without scratchpad (plain) and with
the inductive scratchpad; plus the OOD preset (inductive vs the walk scratchpad).

Label 0: two directed n-cycles; label 1: one 2n-cycle. abbe2024 report that without a
scratchpad the iterations to learn grow about exponentially in n (globality ≥ n), while the
inductive scratchpad (one vertex per state) is learned fast up to n = 10 and generalises OOD
(train 6+18 vs 24 at query distance 6, test 12+12 vs 24 at distance 12), where the walk
scratchpad does not.

"Iterations to 95%" = the first optimizer step at which greedy accuracy on the validation
split (``--eval_max_examples`` rows, in-training evaluation every ``--eval_every`` steps)
is ≥ 0.95 at two consecutive evaluations; the run is stopped there. Runs that never get
there within ``--max_steps`` are reported as "> cap".

CPU scale (the committed numbers)::

    python experiments/cycles.py --n 2 --max_steps 500 --max_steps_inductive 1000 --time_limit 330
    # each run = hf-reasoning train --dataset runs/repro/hub/cycles --config n2-{plain,inductive} \
    #     --model tiny --fresh --max_steps CAP --learning_rate 2e-3 --min_learning_rate 2e-4 \
    #     --per_device_train_batch_size 32 --eval_every 25 --eval_max_examples 128 --eval_splits validation
    # stopped early once validation accuracy ≥ 0.95 twice in a row, or (inductive) after 330 s wall

On the loaded 2-core machine the runs trained at ~0.5–1.7 steps/s, so only n = 2 fit the
budget; ``--n 2 3 4 5 --max_steps 5000 --time_limit 0 --ood`` is the intended CPU sweep on
an idle machine (not run).

Sources' settings (GPU, not run here; prints the commands, ``--execute`` runs them)::

    python experiments/cycles.py --paper [--gpus 8] [--execute]
"""

from __future__ import annotations

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import common  # noqa: E402

FORMATS = ("plain", "inductive")


def paper(args) -> None:
    n_values = range(2, 11)
    configs = [f"n{n}-{f}" for n in n_values for f in FORMATS] + ["ood-inductive", "ood-scratchpad"]
    cmds = [["hf-reasoning", "build", "cycles", *sum((["--config", c] for c in configs), []), "--scale", "paper", "--out", "hub"]]
    for n in n_values:
        for fmt in FORMATS:
            # iterations to 95%: read validation/accuracy in metrics.jsonl; the cap is our choice
            cmds.append(common.paper_train("hub/cycles", f"n{n}-{fmt}", f"runs/paper/cycles-n{n}-{fmt}", 100_000,
                                           gpus=args.gpus, eval_every=500, extra=["--eval_splits", "validation"]))
    for fmt in ("inductive", "scratchpad"):
        cmds.append(common.paper_train("hub/cycles", f"ood-{fmt}", f"runs/paper/cycles-ood-{fmt}", 50_000,
                                       gpus=args.gpus, eval_every=1000, extra=["--eval_splits", "validation,ood"]))
    common.paper_mode(cmds, args.execute)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common.common_args(parser, "runs/repro")
    parser.add_argument("--n", type=int, nargs="+", default=[2])
    parser.add_argument("--max_steps", type=int, default=500, help="Step cap of each plain run.")
    parser.add_argument("--max_steps_inductive", type=int, default=1000, help="Step cap of each inductive run.")
    parser.add_argument("--time_limit", type=float, default=330,
                        help="Wall seconds after which an inductive run is stopped (CPU budget); 0: none.")
    parser.add_argument("--eval_every", type=int, default=25)
    parser.add_argument("--eval_max_examples", type=int, default=128)
    parser.add_argument("--ood", action="store_true", help="Also train ood-inductive and ood-scratchpad.")
    parser.add_argument("--ood_steps", type=int, default=800)
    args = parser.parse_args()
    if args.paper:
        paper(args)
        return

    work = common.REPO / args.work
    configs = [f"n{n}-{f}" for n in args.n for f in FORMATS]
    ood_configs = ["ood-inductive", "ood-scratchpad"] if args.ood else []
    dataset = common.build("cycles", configs + ood_configs, work / "hub")
    runs = []
    for n in args.n:
        for fmt in FORMATS:
            config = f"n{n}-{fmt}"
            cap = args.max_steps_inductive if fmt == "inductive" else args.max_steps
            seconds, metrics = common.train(
                dataset, config, work / f"cycles-{config}", cap, fresh=True, eval_every=args.eval_every,
                eval_max_examples=args.eval_max_examples, stop_at=("validation/accuracy", 0.95, 2),
                time_limit=(args.time_limit or None) if fmt == "inductive" else None)
            curve = [(m["step"], m["validation/accuracy"]) for m in metrics if "validation/accuracy" in m]
            reached = next((curve[i - 1][0] for i in range(1, len(curve)) if min(curve[i - 1][1], curve[i][1]) >= 0.95), None)
            runs.append({"n": n, "format": fmt, "config": config, "steps_to_95": reached, "cap": cap,
                         "last_step": curve[-1][0] if curve else 0, "best_accuracy": max((a for _, a in curve), default=None),
                         "wall_s": seconds, "curve": curve})
    ood_runs = []
    for config in ood_configs:
        seconds, metrics = common.train(dataset, config, work / f"cycles-{config}", args.ood_steps, fresh=True,
                                        eval_every=100, eval_max_examples=args.eval_max_examples,
                                        eval_splits="validation,ood")
        last = [m for m in metrics if "validation/accuracy" in m][-1]
        ood_runs.append({"config": config, "steps": args.ood_steps, "wall_s": seconds,
                         "validation": last["validation/accuracy"], "ood": last["ood/accuracy"],
                         "curve": [(m["step"], m["validation/accuracy"], m["ood/accuracy"]) for m in metrics
                                   if "validation/accuracy" in m]})

    def steps_cell(r):
        if r["steps_to_95"] is not None:
            return r["steps_to_95"]
        why = "cap" if r["last_step"] >= r["cap"] else "time limit"
        return f"> {r['last_step']} ({why}; best {r['best_accuracy']:.2f})"

    rows = [[n, *[steps_cell(next(r for r in runs if r["n"] == n and r["format"] == f)) for f in FORMATS],
             *[f"{next(r for r in runs if r['n'] == n and r['format'] == f)['wall_s']:.0f}" for f in FORMATS]]
            for n in args.n]
    table = common.markdown_table(["n", "plain: steps to 95%", "inductive: steps to 95%", "plain wall s", "inductive wall s"], rows)
    markdown = (f"### cycles (abbe2024): optimizer steps to 95% validation accuracy, tiny model, 32 fresh examples a step\n\n"
                f"Machine: {common.machine()}. Cap {args.max_steps} steps (plain), {args.max_steps_inductive} (inductive); evaluation every {args.eval_every} steps on "
                f"{args.eval_max_examples} validation rows; 95% must hold at two consecutive evaluations.\n\n{table}\n")
    if ood_runs:
        ood_table = common.markdown_table(
            ["config", "steps", "validation (6+18 vs 24, d=6)", "ood (12+12 vs 24, d=12)", "wall s"],
            [[r["config"], r["steps"], r["validation"], r["ood"], f"{r['wall_s']:.0f}"] for r in ood_runs])
        markdown += f"\nOOD preset, {args.ood_steps} steps each:\n\n{ood_table}\n"

    # panels: the validation curves (always), steps to 95% vs n (once some run got there), OOD
    show_steps = any(r["steps_to_95"] is not None for r in runs)
    panels = 1 + show_steps + bool(ood_runs)
    fig, axes = plt.subplots(1, panels, figsize=(5.5 * panels, 3.8), squeeze=False)
    ax = axes[0][0]
    for r in runs:
        ax.plot([c[0] for c in r["curve"]], [c[1] for c in r["curve"]], ls="-" if r["format"] == "inductive" else "--",
                label=f"n={r['n']} {r['format']}")
    ax.axhline(0.95, color="grey", ls=":", lw=1)
    ax.set(xlabel="optimizer step", ylabel="validation accuracy", ylim=(0, 1.02),
           title="cycles: validation accuracy while training (tiny, CPU)")
    ax.legend(fontsize=8)
    if show_steps:
        ax = axes[0][1]
        for fmt, marker in zip(FORMATS, ("o", "s")):
            done = [r for r in runs if r["format"] == fmt and r["steps_to_95"] is not None]
            ax.plot([r["n"] for r in done], [r["steps_to_95"] for r in done], marker=marker, label=fmt)
        ax.set(xlabel="n (two n-cycles vs one 2n-cycle)", ylabel="optimizer steps to 95%", yscale="log",
               title="steps to 95% (runs that got there)")
        ax.set_xticks(args.n)
        ax.legend()
    if ood_runs:
        ax = axes[0][-1]
        for r in ood_runs:
            steps = [c[0] for c in r["curve"]]
            ax.plot(steps, [c[1] for c in r["curve"]], ls="--", label=f"{r['config']} validation")
            ax.plot(steps, [c[2] for c in r["curve"]], label=f"{r['config']} ood")
        ax.set(xlabel="optimizer step", ylabel="accuracy", ylim=(0, 1.02), title="cycles OOD preset")
        ax.legend(fontsize=8)
    payload = {"row": "cycles", "model": "tiny", "machine": common.machine(), "cap_plain": args.max_steps, "cap_inductive": args.max_steps_inductive,
               "eval_every": args.eval_every, "eval_max_examples": args.eval_max_examples, "runs": runs, "ood_runs": ood_runs}
    common.save("cycles", payload, markdown, fig)


if __name__ == "__main__":
    main()
