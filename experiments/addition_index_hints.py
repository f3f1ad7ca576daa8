"""addition, reversed output + index hints (zhou2023 follow-up): 40 → 100 digits at > 98% (2.5×).

Format ``reversed_index_hints``: both operands zero-padded to s + 1 digits, a hint token
before every digit of every number, result least significant first. The hints of a row are a
random run of consecutive hints ``h(o+1) … h(o+s+1)`` out of ``h1 … hH`` (H = the preset's
longest length + 1; offset o in the column ``hint_offset``), in every split, so every hint a
test length uses also occurs in training. Example (s = 2, o = 2):
``h3 0 h4 4 h5 5 + h3 0 h4 7 h5 8 = h5 3 h4 2 h3 1 .``

At CPU scale the lengths are reduced: the package preset ``cpu_hints`` trains on s = 1..10
(P(s) ∝ s) and tests s = 11, 12, 13, 15, 17, 20, 25 (hints from h1..h26).

CPU scale (docs/reproductions/addition_index_hints.md: 6,000 steps, 38 min wall on the shared 2-core
machine, one torch thread; the parity recipe of ``common.CPU_OPTIM``)::

    python experiments/addition_index_hints.py --steps 6000 --max_rows 140
    # = hf-reasoning build addition --config cpu_hints-reversed_index_hints --scale default \
    #       --out runs/repro/hub_hints
    #   hf-reasoning train --dataset runs/repro/hub_hints/addition --config cpu_hints-reversed_index_hints \
    #       --model tiny --fresh --max_steps 6000 --rope_theta 100 --learning_rate 1e-3 --min_learning_rate 1e-4 \
    #       --group_by_length 8 --per_device_train_batch_size 32 --eval_every 6000 --eval_max_examples 32 \
    #       --eval_splits validation --out runs/repro/addition-cpu_hints-reversed_index_hints
    #   hf-reasoning evaluate --model runs/repro/addition-cpu_hints-reversed_index_hints \
    #       --dataset runs/repro/hub_hints/addition --config cpu_hints-reversed_index_hints \
    #       --split validation --split ood --max-rows 140 --out runs/repro/addition-cpu_hints-reversed_index_hints-eval

Diagnosis: the first wrong (hint, digit) pair of each prediction, recomputed from the prompt::

    python experiments/addition_index_hints.py --errors EVAL_DIR

Sources' settings (GPU, not run here; preset zhou2023-reversed_index_hints, train 1..40,
test 45..100, hints from h1..h101)::

    python experiments/addition_index_hints.py --paper [--gpus 8] [--execute]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import common  # noqa: E402

CONFIG = "cpu_hints-reversed_index_hints"


# -- diagnosis: the first wrong (hint, digit) pair of each prediction -----------------------------

ERROR_KINDS = ("hint", "digit: carry missed or extra", "digit: other", "end")


def reference_pairs(prompt: str) -> tuple[list[tuple[str, str]], list[int], list[int]]:
    """The reference output of a ``reversed_index_hints`` prompt, recomputed from its operands:
    (hint, digit) pairs least significant first, and the operands' digits least significant first."""
    left, right = prompt.split("=")[0].split("+")
    a_tokens, b_tokens = left.split(), right.split()
    hints, a = a_tokens[0::2], [int(d) for d in a_tokens[1::2]]
    b = [int(d) for d in b_tokens[1::2]]
    total = str(int("".join(map(str, a))) + int("".join(map(str, b)))).zfill(len(a))
    return list(zip(hints[::-1], total[::-1])), a[::-1], b[::-1]


def first_pair_error(prompt: str, prediction: str) -> tuple[int, str] | None:
    """(output position, kind) of the first wrong (hint, digit) pair, None if the prediction is exact."""
    pairs, a, b = reference_pairs(prompt)
    tokens = prediction.split()
    ended = tokens[-1:] == ["."]
    body = tokens[:-1] if ended else tokens
    predicted = list(zip(body[0::2], body[1::2]))
    carry = 0
    for k, (hint, digit) in enumerate(pairs):
        if k >= len(predicted):
            return k, "end"
        if predicted[k][0] != hint:
            return k, "hint"
        if predicted[k][1] != digit:
            without = str((a[k] + b[k] + 1 - carry) % 10)  # the carry-in flipped
            return k, "digit: carry missed or extra" if predicted[k][1] == without else "digit: other"
        carry = (a[k] + b[k] + carry) // 10
    return None if ended and len(body) == 2 * len(pairs) else (len(pairs), "end")


def pair_errors(eval_dir: Path) -> dict:
    """Per operand length: rows, wrong rows, the kind of the first wrong pair and its mean position
    (0 = least significant digit), from an ``hf-reasoning evaluate`` folder's predictions."""
    out: dict[int, dict] = {}
    for row in json.loads((Path(eval_dir) / "eval_results.json").read_text())["predictions"]:
        s = len(reference_pairs(row["prompt"])[0]) - 1
        entry = out.setdefault(s, {"rows": 0, "wrong": 0, **dict.fromkeys(ERROR_KINDS, 0), "positions": []})
        entry["rows"] += 1
        error = first_pair_error(row["prompt"], row["prediction"])
        if error is not None:
            entry["wrong"] += 1
            entry[error[1]] += 1
            entry["positions"].append(error[0])
    return dict(sorted(out.items()))


def pair_errors_markdown(errors: dict) -> str:
    lines = ["| digits s | rows | wrong | first wrong pair: " + " | ".join(ERROR_KINDS) + " | its position (mean) |",
             "|---:|---:|---:|" + "---:|" * (len(ERROR_KINDS) + 1)]
    for s, e in errors.items():
        where = f"{sum(e['positions']) / len(e['positions']):.1f}" if e["positions"] else "—"
        lines.append(f"| {s} | {e['rows']} | {e['wrong']} | " + " | ".join(str(e[k]) for k in ERROR_KINDS) + f" | {where} |")
    return "\n".join(lines)


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
    parser.add_argument("--steps", type=int, default=6000, help="Optimizer steps.")
    parser.add_argument("--max_rows", type=int, default=140, help="Rows per evaluated split (spread over lengths).")
    parser.add_argument("--errors", type=Path, metavar="EVAL_DIR",
                        help="Diagnosis only: the first wrong (hint, digit) pair per operand length of the predictions "
                        "in an `hf-reasoning evaluate` folder, recomputed from each prompt.")
    args = parser.parse_args()
    if args.errors:
        print(pair_errors_markdown(pair_errors(args.errors)))
        return
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
