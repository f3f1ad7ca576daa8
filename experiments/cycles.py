"""cycles (abbe2024): iterations to 95% accuracy vs n, without scratchpad (plain) and with
the inductive scratchpad; plus the OOD preset (inductive vs the walk scratchpad).

Label 0: two directed n-cycles; label 1: one 2n-cycle. abbe2024 report that without a
scratchpad the iterations to learn grow about exponentially in n (globality ≥ n), while the
inductive scratchpad (one vertex per state) is learned fast up to n = 10 and generalises OOD
(train 6+18 vs 24 at query distance 6, test 12+12 vs 24 at distance 12), where the walk
scratchpad does not.

"Iterations to 95%" = the first optimizer step at which greedy decoding on the validation
split (``--eval_max_examples`` rows, in-training evaluation every ``--eval_every`` steps) is
right at ≥ 95% at two consecutive evaluations — the whole completion (exact match) for the
inductive format, the answer for plain (one token: the same thing); the run is stopped there.
Runs that never get there within their cap are reported as "> cap". The OOD runs train a fixed
number of steps and are then scored by ``hf-reasoning evaluate`` on validation and ood.

CPU scale (the committed numbers; the parity recipe of ``common.CPU_OPTIM``: tiny Llama, RoPE
base 100, lr 1e-3 cosine to 1e-4, ``--group_by_length 8``, 32 fresh examples a step; one seed,
which is all a ~45-minute budget on the shared 2-core machine holds)::

    python experiments/cycles.py --ood --work /tmp/cycrepro
    # plain n = 2 (cap 4000; the committed run was stopped by hand at step 1510, CPU budget, its
    # loss flat at chance), inductive n = 2 (cap 2000) and n = 4 (cap 1000), OOD 300 steps each.
    # Each run = hf-reasoning train --dataset WORK/hub/cycles --config n{n}-{plain,inductive} --model tiny \
    #     --fresh --max_steps CAP --rope_theta 100 --learning_rate 1e-3 --min_learning_rate 1e-4 \
    #     --group_by_length 8 --per_device_train_batch_size 32 --eval_every 50 --eval_max_examples 128 \
    #     --eval_splits validation
    # OOD: --config ood-{inductive,scratchpad} --max_steps 300 --eval_every 100 --eval_max_examples 64
    #     --eval_splits validation,ood, then hf-reasoning evaluate --split validation --split ood --max-rows 200
    # a run that reached its cap is then evaluated (hf-reasoning evaluate --split validation --max-rows 200)
    # and its predictions are compared with the references vertex by vertex (which state fails first)

Two invocations can share the work: ``--formats plain`` and ``--formats inductive --ood
--no_build`` run side by side (one core each) with ``--no_table``; a last invocation with the
same settings reuses their finished runs and writes the table.

Sources' settings (GPU, not run here; prints the commands, ``--execute`` runs them)::

    python experiments/cycles.py --paper [--gpus 8] [--execute]
"""

from __future__ import annotations

import argparse
import json
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import common  # noqa: E402

FORMATS = ("plain", "inductive")
NAMES = 1000  # vertex names v000..v999, one token each


def walk_of(completion: str) -> list[str]:
    """The vertices of a walk / inductive completion, in order (`: a # b ; y .` or `a > b ; y .`)."""
    return [t for t in completion.split() if t.startswith("v")]


def state_errors(eval_dir, dataset, config: str, split: str) -> dict:
    """Per position k of the walk (state k of the inductive format): the share of rows whose
    predicted vertex k is the reference's, and where the first wrong vertex is — recomputed
    from the predictions `hf-reasoning evaluate` wrote and the split's reference completions."""
    import pyarrow.parquet as pq

    table = pq.read_table(dataset / config / f"{split}-00000-of-00001.parquet").to_pydict()
    reference = dict(zip(table["prompt"], table["completion"]))
    predictions = [p for p in json.loads((eval_dir / "eval_results.json").read_text())["predictions"] if p["split"] == split]
    right, total, first_wrong, second_in_graph = {}, {}, {}, 0
    for p in predictions:
        want, got = walk_of(reference[p["prompt"]]), walk_of(p["prediction"] or "")
        # is the predicted vertex 1 a vertex of the graph at all (copied from the edge list)?
        second_in_graph += len(got) > 1 and got[1] in set(walk_of(p["prompt"].rpartition("?")[0]))
        wrong = next((k for k, v in enumerate(want) if k >= len(got) or got[k] != v), None)
        first_wrong[str(wrong)] = first_wrong.get(str(wrong), 0) + 1
        for k, v in enumerate(want):
            total[k] = total.get(k, 0) + 1
            right[k] = right.get(k, 0) + (k < len(got) and got[k] == v)
    return {"rows": len(predictions), "vertex_right": {k: right[k] / total[k] for k in sorted(total)},
            "first_wrong_vertex": first_wrong, "vertex1_in_graph": second_in_graph / max(len(predictions), 1),
            "example": predictions[0]["prediction"] if predictions else None}


def uniform_name_loss(dataset, config: str) -> float:
    """Mean loss per completion token of a model that gets every structural token right, the
    label at chance (ln 2) and every vertex name uniform over the 1000 names: the plateau of
    a model that has not learned to copy a name from the prompt."""
    import pyarrow.parquet as pq

    completions = pq.read_table(dataset / config / "validation-00000-of-00001.parquet").column("completion").to_pylist()
    tokens = sum(len(c.split()) for c in completions)
    names = sum(len(walk_of(c)) for c in completions)
    return (names * math.log(NAMES) + len(completions) * math.log(2)) / tokens


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
    parser.add_argument("--n", type=int, nargs="+", default=[2], help="n of the plain runs.")
    parser.add_argument("--n_inductive", type=int, nargs="*", default=[2, 4], help="n of the inductive runs.")
    parser.add_argument("--formats", nargs="+", default=list(FORMATS), choices=FORMATS,
                        help="Formats of the n sweep (two invocations with different formats can run at once: "
                             "a finished run is reused by the next invocation with the same settings).")
    parser.add_argument("--max_steps", type=int, nargs="+", default=[4000],
                        help="Step cap of each plain run: one per --n, or one for all.")
    parser.add_argument("--max_steps_inductive", type=int, nargs="+", default=[2000, 1000],
                        help="Step cap of each inductive run: one per --n_inductive, or one for all.")
    parser.add_argument("--time_limit", type=float, default=0,
                        help="Wall seconds after which an inductive run is stopped (CPU budget); 0: none.")
    parser.add_argument("--eval_every", type=int, default=50)
    parser.add_argument("--eval_max_examples", type=int, default=128)
    parser.add_argument("--ood", action="store_true", help="Also train ood-inductive and ood-scratchpad.")
    parser.add_argument("--ood_formats", nargs="+", default=["inductive", "scratchpad"], choices=["inductive", "scratchpad"])
    parser.add_argument("--ood_steps", type=int, default=300)
    parser.add_argument("--ood_eval_examples", type=int, default=64, help="In-training evaluation rows per split (OOD runs).")
    parser.add_argument("--eval_rows", type=int, default=200, help="Rows per split of the final `evaluate` (OOD runs).")
    parser.add_argument("--no_build", action="store_true",
                        help="Use the dataset folder an earlier invocation built (one training from it may be running).")
    parser.add_argument("--no_table", action="store_true", help="Train only; do not write docs/reproductions/cycles.*.")
    args = parser.parse_args()
    if args.paper:
        paper(args)
        return

    if len(args.max_steps) not in (1, len(args.n)):
        raise SystemExit(f"error: --max_steps takes one value or one per --n ({len(args.n)}), got {len(args.max_steps)}")
    plain_cap = dict(zip(args.n, args.max_steps * len(args.n) if len(args.max_steps) == 1 else args.max_steps))
    if len(args.max_steps_inductive) not in (1, len(args.n_inductive)):
        raise SystemExit(f"error: --max_steps_inductive takes one value or one per --n_inductive ({len(args.n_inductive)})")
    inductive_cap = dict(zip(args.n_inductive, args.max_steps_inductive * len(args.n_inductive)
                             if len(args.max_steps_inductive) == 1 else args.max_steps_inductive))
    work = common.REPO / args.work
    sweep = [(n, "plain") for n in args.n] + [(n, "inductive") for n in args.n_inductive]
    sweep = [(n, f) for n, f in sweep if f in args.formats]
    configs = sorted({f"n{n}-{f}" for n in set(args.n) | set(args.n_inductive) for f in FORMATS})  # one dataset folder
    ood_configs = [f"ood-{f}" for f in args.ood_formats] if args.ood else []
    # the OOD configs are always built (seconds), so invocations with and without --ood share the folder
    if args.no_build:
        dataset = work / "hub" / "cycles"
    else:
        dataset = common.build("cycles", configs + ["ood-inductive", "ood-scratchpad"], work / "hub")
    runs = []
    for n, fmt in sweep:
        config = f"n{n}-{fmt}"
        cap = inductive_cap[n] if fmt == "inductive" else plain_cap[n]
        # "learned" = the whole completion right (exact match): for plain that is the answer
        key = "validation/exact_match" if fmt == "inductive" else "validation/accuracy"
        seconds, metrics = common.train(
            dataset, config, work / f"cycles-{config}", cap, fresh=True, eval_every=args.eval_every,
            eval_max_examples=args.eval_max_examples, stop_at=(key, 0.95, 2),
            time_limit=(args.time_limit or None) if fmt == "inductive" else None)
        curve = [(m["step"], m[key]) for m in metrics if key in m]
        # answer accuracy (the metric's name before exact match was logged beside it: accuracy)
        answer_curve = [(m["step"], m.get("validation/answer_accuracy", m.get("validation/accuracy")))
                        for m in metrics if "validation/accuracy" in m]
        reached = next((curve[i - 1][0] for i in range(1, len(curve)) if min(curve[i - 1][1], curve[i][1]) >= 0.95), None)
        losses = [(m["step"], m["train/loss"]) for m in metrics if "train/loss" in m]
        diagnosis = None
        if fmt == "inductive" and (work / f"cycles-{config}" / "model.safetensors").exists():
            # ran to its cap (an early stop leaves no model): which walk vertex fails first
            _, ev = common.evaluate(work / f"cycles-{config}", dataset, config, ["validation"],
                                    work / f"cycles-{config}-eval", max_rows=args.eval_rows)
            diagnosis = {"evaluate": ev, "validation": state_errors(work / f"cycles-{config}-eval", dataset, config, "validation"),
                         "uniform_name_loss": uniform_name_loss(dataset, config)}
        runs.append({"diagnosis": diagnosis,"n": n, "format": fmt, "config": config, "steps_to_95": reached, "cap": cap, "criterion": key,
                     "answer_curve": answer_curve,
                     "loss_curve": losses[::5] + losses[-1:],
                     "last_step": curve[-1][0] if curve else 0, "best_accuracy": max((a for _, a in curve), default=None),
                     "wall_s": seconds, "curve": curve})
    ood_runs = []
    for config in ood_configs:
        seconds, metrics = common.train(dataset, config, work / f"cycles-{config}", args.ood_steps, fresh=True,
                                        eval_every=100, eval_max_examples=args.ood_eval_examples,
                                        eval_splits="validation,ood")
        last = [m for m in metrics if "validation/accuracy" in m][-1]
        # the final model scored by `hf-reasoning evaluate` on whole splits (answer accuracy and,
        # where the package reports it, exact match of the whole completion)
        eval_s, ev = common.evaluate(work / f"cycles-{config}", dataset, config, ["validation", "ood"],
                                     work / f"cycles-{config}-eval", max_rows=args.eval_rows)
        losses = [(m["step"], m["train/loss"]) for m in metrics if "train/loss" in m]
        ood_runs.append({"uniform_name_loss": uniform_name_loss(dataset, config),
                         "states": {split: state_errors(work / f"cycles-{config}-eval", dataset, config, split)
                                    for split in ("validation", "ood")},"config": config, "steps": args.ood_steps, "wall_s": seconds,
                         "validation": last["validation/accuracy"], "ood": last["ood/accuracy"],
                         "validation_exact_match": last.get("validation/exact_match"),
                         "ood_exact_match": last.get("ood/exact_match"),
                         "evaluate": ev, "loss_curve": losses[::5] + losses[-1:],
                         "curve": [(m["step"], m["validation/accuracy"], m["ood/accuracy"]) for m in metrics
                                   if "validation/accuracy" in m]})
    if args.no_table:
        return

    def steps_cell(r):
        if r["steps_to_95"] is not None:
            return r["steps_to_95"]
        why = "cap" if r["last_step"] >= r["cap"] else "stopped early: CPU budget"
        return f"> {r['last_step']} ({why}; best {r['best_accuracy']:.2f})"

    def run_of(n, fmt):
        return next((r for r in runs if r["n"] == n and r["format"] == fmt), None)

    rows = [[n, *[steps_cell(run_of(n, f)) if run_of(n, f) else "not run" for f in FORMATS],
             *[f"{run_of(n, f)['wall_s']:.0f}" if run_of(n, f) else "—" for f in FORMATS]]
            for n in sorted(set(args.n) | set(args.n_inductive))]
    table = common.markdown_table(["n", "plain: steps to 95%", "inductive: steps to 95%", "plain wall s", "inductive wall s"], rows)
    markdown = (f"### cycles (abbe2024): optimizer steps to 95% on validation, tiny model, 32 fresh examples a step\n\n"
                f"Recipe: `{' '.join(common.CPU_OPTIM)}`. Criterion: exact match of the whole completion (inductive), "
                f"the answer (plain).\n\n"
                f"Machine: {common.machine()}. Caps {dict(plain_cap)} steps (plain, by n), {dict(inductive_cap)} (inductive, by n); evaluation every {args.eval_every} steps on "
                f"{args.eval_max_examples} validation rows; 95% must hold at two consecutive evaluations.\n\n{table}\n")
    if ood_runs:
        def scored(r, split, metric):
            res = r["evaluate"]["results"]
            summary = res.get(metric) if isinstance(res.get(metric), dict) else (res if metric == "answer_accuracy" else None)
            block = (summary or {}).get("per_split") or {}
            return block[split]["accuracy"] if split in block else None

        ood_table = common.markdown_table(
            ["config", "steps", "validation answer acc. (6+18 vs 24, d=6)", "validation exact match",
             "ood answer acc. (12+12 vs 24, d=12)", "ood exact match", "final train loss", "wall s"],
            [[r["config"], r["steps"], scored(r, "validation", "answer_accuracy"), scored(r, "validation", "exact_match"),
              scored(r, "ood", "answer_accuracy"), scored(r, "ood", "exact_match"),
              r["loss_curve"][-1][1] if r["loss_curve"] else None, f"{r['wall_s']:.0f}"] for r in ood_runs])
        markdown += (f"\nOOD preset, {args.ood_steps} steps each, then `hf-reasoning evaluate --split validation "
                     f"--split ood --max-rows {args.eval_rows}`:\n\n{ood_table}\n")
    def vertices_line(errors):
        return (", ".join(f"{k}: {v:.2f}" for k, v in errors["vertex_right"].items())
                + f"; first wrong vertex (None = all right): {dict(sorted(errors['first_wrong_vertex'].items()))}"
                + f"; predicted vertex 1 is a vertex of the graph in {errors['vertex1_in_graph']:.2f} of the rows")

    for r in runs:
        if r["diagnosis"]:
            d = r["diagnosis"]
            markdown += (f"\n{r['config']} after {r['last_step']} steps, `hf-reasoning evaluate --split validation "
                         f"--max-rows {args.eval_rows}`: share of rows with walk vertex k right — {vertices_line(d['validation'])}. "
                         f"Final training loss {r['loss_curve'][-1][1]:.3f} per target token vs {d['uniform_name_loss']:.3f} for a "
                         f"model that gets the structure right and every vertex name uniform over the {NAMES} names. "
                         f"Example completion: `{d['validation']['example']}`\n")
    for r in ood_runs:
        for split in ("validation", "ood"):
            markdown += f"\n{r['config']} {split}: walk vertex k right — {vertices_line(r['states'][split])}\n"
        markdown += (f"\n{r['config']}: final training loss {r['loss_curve'][-1][1]:.3f} vs {r['uniform_name_loss']:.3f} "
                     f"(structure right, names uniform). Example completion (validation): `{r['states']['validation']['example']}`\n")
    markdown += ("\nFinal training loss (mean per target token over the last logging window) of each n run: "
                 + ", ".join(f"n={r['n']} {r['format']} {r['loss_curve'][-1][1]:.3f}" for r in runs if r["loss_curve"])
                 + ". One seed: the budget (~45 min of the shared 2-core CPU for the whole row) holds no more.\n")

    # panels: the validation curves (always), steps to 95% vs n (once some run got there), OOD
    show_steps = any(r["steps_to_95"] is not None for r in runs)
    panels = 2 + show_steps + bool(ood_runs)
    fig, axes = plt.subplots(1, panels, figsize=(5.5 * panels, 3.8), squeeze=False)
    ax = axes[0][0]
    for r in runs:
        ax.plot([c[0] for c in r["curve"]], [c[1] for c in r["curve"]], ls="-" if r["format"] == "inductive" else "--",
                label=f"n={r['n']} {r['format']}")
    ax.axhline(0.95, color="grey", ls=":", lw=1)
    ax.set(xlabel="optimizer step", ylabel="validation exact match (plain: = answer accuracy)", ylim=(0, 1.02),
           title="cycles: validation while training (tiny, CPU)")
    ax.legend(fontsize=8)
    ax = axes[0][1]  # the loss curves, with the plateau of a model that copies no name (dotted)
    for r in runs + ood_runs:
        name = r["config"]
        line, = ax.plot([c[0] for c in r["loss_curve"]], [c[1] for c in r["loss_curve"]], label=name)
        baseline = (r.get("diagnosis") or {}).get("uniform_name_loss") or r.get("uniform_name_loss")
        if baseline:
            ax.axhline(baseline, color=line.get_color(), ls=":", lw=1)
    ax.set(xlabel="optimizer step", ylabel="training loss per target token", yscale="log",
           title="loss (dotted: names uniform, structure right)")
    ax.legend(fontsize=7)
    if show_steps:
        ax = axes[0][2]
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
    payload = {"row": "cycles", "model": "tiny", "machine": common.machine(), "cap_plain": plain_cap, "cap_inductive": inductive_cap, "optim": common.CPU_OPTIM,
               "eval_every": args.eval_every, "eval_max_examples": args.eval_max_examples, "runs": runs, "ood_runs": ood_runs}
    common.save("cycles", payload, markdown, fig)


if __name__ == "__main__":
    main()
