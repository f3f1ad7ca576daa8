"""addition, reversed output + index hints (zhou2023 follow-up): 40 → 100 digits at > 98% (2.5×).

Format ``reversed_index_hints``: both operands zero-padded to s + 1 digits, a hint token
before every digit of every number, result least significant first. The hints of a row are a
random run of consecutive hints ``h(o+1) … h(o+s+1)`` out of ``h1 … hH`` (H = the preset's
longest length + 1; offset o in the column ``hint_offset``), in every split, so every hint a
test length uses also occurs in training. Example (s = 2, o = 2):
``h3 0 h4 4 h5 5 + h3 0 h4 7 h5 8 = h5 3 h4 2 h3 1 .``

At CPU scale the lengths are reduced: the package preset ``cpu_hints`` trains on s = 1..10
(P(s) ∝ s) and tests s = 11, 12, 13, 15, 17, 20, 25 (hints from h1..h26).

CPU scale (a smoke-scale run: ~0.3 steps/s on the loaded 2-core machine, so 100 steps, far
too few to learn 10-digit addition; ``--steps 3000`` is a sensible CPU run on an idle
machine)::

    python experiments/addition_index_hints.py --steps 100 --max_rows 70
    # = hf-reasoning build addition --config cpu_hints-reversed_index_hints --scale default \
    #       --out runs/repro/hub_hints
    #   hf-reasoning train --dataset runs/repro/hub_hints/addition --config cpu_hints-reversed_index_hints \
    #       --model tiny --fresh --max_steps 100 --learning_rate 2e-3 --min_learning_rate 2e-4 \
    #       --per_device_train_batch_size 32 --eval_every 100 --eval_max_examples 32 --eval_splits validation \
    #       --out runs/repro/addition-cpu_hints-reversed_index_hints
    #   hf-reasoning evaluate --model runs/repro/addition-cpu_hints-reversed_index_hints \
    #       --dataset runs/repro/hub_hints/addition --config cpu_hints-reversed_index_hints \
    #       --split validation --split ood --max-rows 70 --out runs/repro/addition-cpu_hints-reversed_index_hints-eval

Sources' settings (GPU, not run here; preset zhou2023-reversed_index_hints, train 1..40,
test 45..100, hints from h1..h101)::

    python experiments/addition_index_hints.py --paper [--gpus 8] [--execute]
"""

from __future__ import annotations

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import common  # noqa: E402

CONFIG = "cpu_hints-reversed_index_hints"


def paper(args) -> None:
    config = "zhou2023-reversed_index_hints"
    cmds = [["hf-reasoning", "build", "addition", "--config", config, "--scale", "paper", "--out", "hub"],
            common.paper_train("hub/addition", config, "runs/paper/addition-hints", 50_000, batch=512, accumulation=2,
                               gpus=args.gpus, eval_every=1000, extra=["--eval_splits", "validation,ood"]),
            ["hf-reasoning", "evaluate", "--model", "runs/paper/addition-hints", "--dataset", "hub/addition",
             "--config", config, "--split", "validation", "--split", "ood", "--out", "runs/paper/addition-hints-eval"]]
    common.paper_mode(cmds, args.execute)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common.common_args(parser, "runs/repro")
    parser.add_argument("--steps", type=int, default=100, help="Optimizer steps.")
    parser.add_argument("--max_rows", type=int, default=70, help="Rows per evaluated split (spread over lengths).")
    args = parser.parse_args()
    if args.paper:
        paper(args)
        return

    from hf_reasoning.tasks import get_task
    from hf_reasoning.tasks.addition import hint_set_size

    preset = get_task("addition").presets["cpu_hints"]
    work = common.REPO / args.work
    dataset = common.build("addition", [CONFIG], work / "hub_hints")
    run_dir = work / f"addition-{CONFIG}"
    train_s, metrics = common.train(dataset, CONFIG, run_dir, args.steps, fresh=True, eval_every=args.steps,
                                    eval_max_examples=32)
    eval_s, ev = common.evaluate(run_dir, dataset, CONFIG, ["validation", "ood"], work / f"addition-{CONFIG}-eval",
                                 max_rows=args.max_rows)
    r = ev["results"]
    result = {"config": CONFIG, "steps": args.steps, "train_wall_s": train_s, "eval_wall_s": eval_s,
              "final_train_loss": common.final_loss(metrics), "lengths": common.length_rows(ev),
              "train_max_length": r["train_max_length"], "generalization_length": r["generalization_length"],
              "generalization_ratio": r["generalization_ratio"],
              "in_distribution": r["in_distribution"]["accuracy"], "ood": r["ood"]["accuracy"]}

    table = common.markdown_table(["digits s", "accuracy", "n"], [[x, a, n] for x, a, n in result["lengths"]])
    summary = common.markdown_table(
        ["config", "train ≤", "steps × 32", "train wall s", "final train loss", "gen. length (≥ 0.9)", "ratio"],
        [[CONFIG, result["train_max_length"], result["steps"], f"{result['train_wall_s']:.0f}", result["final_train_loss"],
          result["generalization_length"], result["generalization_ratio"]]])
    markdown = (f"### addition, reversed + index hints (zhou2023 follow-up), train s ≤ 10 → test to 25, tiny model\n\n"
                f"Machine: {common.machine()}. Fresh samples from the generator (`--fresh`), 32 a step; hints a random "
                f"run of consecutive hints from h1..h{hint_set_size(preset)} in every split; accuracy per operand length s on validation "
                f"(s ≤ 10) and ood (s ≥ 11), at most {args.max_rows} rows per split. "
                f"Source: 40 → 100 digits at > 98% (2.5×).\n\n{table}\n\n{summary}\n")
    fig, ax = plt.subplots(figsize=(6, 3.8))
    ax.plot([x for x, _, _ in result["lengths"]], [a for _, a, _ in result["lengths"]], marker="o", label=CONFIG)
    ax.axvspan(0.5, 10.5, color="grey", alpha=0.15, label="training lengths")
    ax.axhline(0.9, color="grey", ls=":", lw=1)
    ax.set(xlabel="operand digits s", ylabel="accuracy", ylim=(-0.02, 1.02),
           title="addition, reversed + index hints, tiny model (CPU)")
    ax.legend(fontsize=8)
    payload = {"row": "addition_index_hints", "config": CONFIG, "model": "tiny", "machine": common.machine(),
               "presets": {"cpu_hints": repr(preset)}, "run": result}
    common.save("addition_index_hints", payload, markdown, fig)


if __name__ == "__main__":
    main()
