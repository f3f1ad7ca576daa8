"""boolean_and (zhou2023): a Transformer learns the AND of 20 bits from data whose last 5 bits
are always 1, and is then tested where those bits vary.

The min-degree interpolator of the training data is the AND of the first 15 bits: it is
wrong on every ``unseen_hard`` input (first 15 bits 1, last 5 not all 1). zhou2023 report
that a Transformer nevertheless reaches 100% there. This script trains the plain format and
reports in-distribution (``seen``) vs OOD (``unseen``, ``unseen_hard``) accuracy.

CPU scale (the committed numbers; ~2 min wall on a loaded 2-core machine)::

    python experiments/boolean_and.py
    # = hf-reasoning build boolean_and --config zhou2023-plain --scale default --out runs/repro/hub
    #   hf-reasoning train --dataset runs/repro/hub/boolean_and --config zhou2023-plain --model tiny --fresh \
    #       --max_steps 300 --learning_rate 2e-3 --min_learning_rate 2e-4 --per_device_train_batch_size 32 \
    #       --eval_every 25 --eval_max_examples 200 --eval_splits validation,ood --out runs/repro/boolean_and
    #   hf-reasoning evaluate --model runs/repro/boolean_and --dataset runs/repro/hub/boolean_and \
    #       --config zhou2023-plain --split validation --split test --split ood --out runs/repro/boolean_and-eval

Sources' settings (GPU, not run here; prints the commands, ``--execute`` runs them)::

    python experiments/boolean_and.py --paper [--gpus 8] [--execute]
"""

from __future__ import annotations

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import common  # noqa: E402

CONFIG = "zhou2023-plain"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common.common_args(parser, "runs/repro")
    parser.add_argument("--steps", type=int, default=300)
    args = parser.parse_args()
    if args.paper:
        common.paper_mode([
            ["hf-reasoning", "build", "boolean_and", "--config", CONFIG, "--scale", "paper", "--out", "hub"],
            common.paper_train("hub/boolean_and", CONFIG, "runs/paper/boolean_and", 5000, gpus=args.gpus,
                               eval_every=250, extra=["--eval_splits", "validation,ood"]),
            ["hf-reasoning", "evaluate", "--model", "runs/paper/boolean_and", "--dataset", "hub/boolean_and",
             "--config", CONFIG, "--split", "test", "--split", "ood", "--out", "runs/paper/boolean_and-eval"],
        ], args.execute)
        return

    work = common.REPO / args.work
    dataset = common.build("boolean_and", [CONFIG], work / "hub")
    run_dir = work / "boolean_and"
    train_s, metrics = common.train(dataset, CONFIG, run_dir, args.steps, fresh=True, eval_every=25,
                                    eval_max_examples=200, eval_splits="validation,ood")
    eval_s, results = common.evaluate(run_dir, dataset, CONFIG, ["validation", "test", "ood"], work / "boolean_and-eval")
    groups = results["results"]["groups"]
    per_split = results["results"]["per_split"]
    rows = [[g, groups[g]["accuracy"], f"[{groups[g]['ci95'][0]:.3f}, {groups[g]['ci95'][1]:.3f}]", groups[g]["n"]]
            for g in ("seen", "unseen", "unseen_hard")]
    table = common.markdown_table(["group", "accuracy", "95% CI", "n"], rows)
    curve = [(m["step"], m.get("validation/accuracy"), m.get("ood/accuracy/unseen"), m.get("ood/accuracy/unseen_hard"))
             for m in metrics if "validation/accuracy" in m]
    markdown = (
        f"### boolean_and (zhou2023), plain, tiny model, {args.steps} steps × 32 fresh examples\n\n"
        f"Machine: {common.machine()}. Training {train_s:.0f} s wall, evaluation {eval_s:.0f} s wall.\n"
        f"`seen` = validation + test (last 5 bits 1, as in training); `unseen`/`unseen_hard` = the `ood` split. "
        f"The min-degree interpolator (AND of the first 15 bits) scores 0% on `unseen_hard` by construction.\n\n"
        f"{table}\n\n"
        "In-training curve (first step with every split ≥ 0.95): "
        f"{next((s for s, v, u, h in curve if min(v, u, h) >= 0.95), 'never')}\n")
    fig, ax = plt.subplots(figsize=(5.5, 3.5))
    steps = [c[0] for c in curve]
    for i, label in enumerate(["seen (validation)", "unseen (ood)", "unseen_hard (ood)"], start=1):
        ax.plot(steps, [c[i] for c in curve], marker="o", ms=3, label=label)
    ax.axhline(0.0, color="grey", ls=":", lw=1)
    ax.set(xlabel="optimizer step", ylabel="accuracy", ylim=(-0.02, 1.02),
           title="boolean_and (zhou2023): tiny model, plain format")
    ax.legend(loc="lower right")
    payload = {"row": "boolean_and", "config": CONFIG, "model": "tiny", "steps": args.steps, "machine": common.machine(),
               "train_wall_s": train_s, "eval_wall_s": eval_s, "groups": groups, "per_split": per_split,
               "curve": [dict(zip(("step", "seen", "unseen", "unseen_hard"), c)) for c in curve]}
    common.save("boolean_and", payload, markdown, fig)


if __name__ == "__main__":
    main()
