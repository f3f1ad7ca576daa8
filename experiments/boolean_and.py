"""boolean_and (zhou2023): a Transformer learns the AND of 20 bits from data whose last 5 bits
are always 1, and is then tested where those bits vary.

The min-degree interpolator of the training data is the AND of the first 15 bits (checked
here with ``hf_reasoning.analysis`` on the 10-bit analogue, where the exact solver fits): it
is wrong on every label-0 ``unseen_hard`` input (first 15 bits 1, last 5 not all 1), and
right on the label-1 half of that group (the all-ones input, which is also a training input).
zhou2023 report that a Transformer nevertheless reaches 100% there. This script trains the
plain format and reports in-distribution (``seen``) vs OOD (``unseen``, ``unseen_hard``)
accuracy, for the model and for the interpolator, over all rows and over the label-0 rows.

CPU scale (the committed numbers; ~2 min wall on a loaded 2-core machine)::

    python experiments/boolean_and.py
    # = hf-reasoning build boolean_and --config zhou2023-plain --scale default --out runs/repro/hub
    #   hf-reasoning train --dataset runs/repro/hub/boolean_and --config zhou2023-plain --model tiny --fresh \
    #       --max_steps 300 --rope_theta 100 --learning_rate 1e-3 --min_learning_rate 1e-4 --group_by_length 8 \
    #       --per_device_train_batch_size 32 \
    #       --eval_every 25 --eval_max_examples 200 --eval_splits validation,ood --out runs/repro/boolean_and
    #   hf-reasoning evaluate --model runs/repro/boolean_and --dataset runs/repro/hub/boolean_and \
    #       --config zhou2023-plain --split validation --split test --split ood --out runs/repro/boolean_and-eval

Sources' settings (GPU, not run here; prints the commands, ``--execute`` runs them)::

    python experiments/boolean_and.py --paper [--gpus 8] [--execute]
"""

from __future__ import annotations

import argparse

import json

import matplotlib
import numpy as np
import pyarrow.parquet as pq

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import common  # noqa: E402

CONFIG = "zhou2023-plain"
BITS, FROZEN = 20, 5


def interpolator_is_and_of_free_bits(bits: int = 10, frozen: int = 5) -> bool:
    """The exact min-degree interpolator of AND on the seen set (last ``frozen`` bits 1) equals
    the AND of the free bits, on an analogue small enough for the exact solver."""
    from hf_reasoning import analysis

    points = analysis.cube_points(bits)  # +1 = bit 1, -1 = bit 0
    ones = points == 1
    values = ones.all(axis=1).astype(float)
    seen = ones[:, bits - frozen:].all(axis=1)
    interpolator = analysis.min_degree_interpolator(values, seen)
    predicted = analysis.values_from_coefficients(interpolator.dense_coefficients())
    return bool(np.allclose(predicted, ones[:, : bits - frozen].all(axis=1)))


def interpolator_table(dataset, eval_file) -> tuple[list[dict], bool]:
    """Per group: rows, label-1 share, and the accuracy of the interpolator (AND of the first
    15 bits) and of the model, over all rows and over the label-0 rows (recomputed from the
    built parquet files and the predictions `hf-reasoning evaluate` wrote)."""
    predictions = {p["prompt"]: p["prediction"] for p in json.loads(eval_file.read_text())["predictions"]}
    out = []
    for split in ("validation", "test", "ood"):
        table = pq.read_table(dataset / CONFIG / f"{split}-00000-of-00001.parquet").to_pydict()
        for group in sorted(set(table["group"])):
            rows = [i for i, g in enumerate(table["group"]) if g == group]
            bits = np.array([table["bits"][i] for i in rows])
            label = bits.min(axis=1)
            interpolator = bits[:, : BITS - FROZEN].min(axis=1)
            model = np.array([predictions[table["prompt"][i]].split()[:1] == [str(y)] for i, y in zip(rows, label)])
            zero = label == 0
            out.append({"split": split, "group": group, "n": len(rows), "label1_share": float(label.mean()),
                        "interpolator": float((interpolator == label).mean()),
                        "interpolator_label0": float((interpolator[zero] == 0).mean()),
                        "model": float(model.mean()), "model_label0": float(model[zero].mean()), "n_label0": int(zero.sum())})
    return out, interpolator_is_and_of_free_bits()


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
    interpolator_rows, checked = interpolator_table(dataset, work / "boolean_and-eval" / "eval_results.json")
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
        f"Half of every group is label 1, and those rows are all the all-ones input (a training input too); the "
        f"label-0 rows are where the groups differ.\n\n"
        f"{table}\n\n"
        f"Model vs the min-degree interpolator of the training data (the AND of the first {BITS - FROZEN} bits; the "
        f"exact solver of `hf_reasoning.analysis` gives the AND of the free bits on the 10-bit analogue: "
        f"{'confirmed' if checked else 'NOT confirmed'}), recomputed from the parquet files and the predictions:\n\n"
        + common.markdown_table(
            ["split", "group", "n", "label-1 share", "interpolator", "interpolator on label 0", "model", "model on label 0", "label-0 rows"],
            [[r["split"], r["group"], r["n"], r["label1_share"], r["interpolator"], r["interpolator_label0"], r["model"],
              r["model_label0"], r["n_label0"]] for r in interpolator_rows]) + "\n\n"
        "In-training curve (first step with every split ≥ 0.95): "
        f"{next((s for s, v, u, h in curve if min(v, u, h) >= 0.95), 'never')}\n\n"
        f"Command: `python experiments/boolean_and.py` (training recipe `{' '.join(common.CPU_OPTIM)}`)\n")
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
               "optim": common.CPU_OPTIM, "interpolator": interpolator_rows, "interpolator_is_and_of_free_bits": checked,
               "curve": [dict(zip(("step", "seen", "unseen", "unseen_hard"), c)) for c in curve]}
    common.save("boolean_and", payload, markdown, fig)


if __name__ == "__main__":
    main()
