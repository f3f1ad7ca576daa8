"""addition (abbe2024): length generalisation of the two inductive scratchpads.

* **shift** — train on 1..4 digits; abbe2024 report correct sums up to 26 digits (≈6.5×).
  Every example of a preset is padded to one width W (the source: 30), so a state has the
  same tokens and layout at every length.
* **random-space** — train on 1..10 digits scattered over 30 slots per operand; abbe2024
  report generalisation to 18 digits (1.8×).

At CPU scale both use the package's *reduced* presets:

===============  ===========  =====================  ==========================================
preset           train s      test s (ood)           width
===============  ===========  =====================  ==========================================
``cpu_shift``    1..4         5, 6, 7, 8, 10, 12     W = 12: states of 3W + 8 = 44 tokens
``cpu_space``    1..4         5, 6, 7, 8, 10, 12     12 slots per operand (fill ≤ 1/3, as 10/30)
===============  ===========  =====================  ==========================================

The generalisation length is the largest tested length with accuracy ≥ 0.9 (the package's
``generalization_length``); the ratio divides it by the largest training length.

CPU scale: the committed runs (docs/reproductions/addition_lengths.md, shift, 1,000 steps × 16;
docs/reproductions/addition_random_space.md, random-space and plain, 2,400 steps × 32) were made
with the CLI commands written there; this script runs the same recipe (``common.CPU_OPTIM``)::

    python experiments/addition_lengths.py --steps 1000 2400
    # = hf-reasoning build addition --config cpu_shift-shift --config cpu_space-inductive \
    #       --scale default --out runs/repro/hub
    #   per config C in cpu_shift-shift, cpu_space-inductive (fresh samples from the generator):
    #   hf-reasoning train --dataset runs/repro/hub/addition --config C --model tiny --fresh --max_steps STEPS \
    #       --rope_theta 100 --learning_rate 1e-3 --min_learning_rate 1e-4 --group_by_length 8 \
    #       --per_device_train_batch_size 32 --eval_every STEPS --eval_max_examples 32 --eval_splits validation \
    #       --out runs/repro/addition-C
    #   hf-reasoning evaluate --model runs/repro/addition-C --dataset runs/repro/hub/addition --config C \
    #       --split validation --split ood --max-rows 60 --out runs/repro/addition-C-eval

Diagnosis of the random-space format: the first wrong state and field (slot index, digit, carry,
result digit, register copy, fillers) per operand length of an evaluation::

    python experiments/addition_lengths.py --space_errors EVAL_DIR --probe_hub HUB

Diagnosis of the shift format (docs/reproductions/addition_lengths.md): teacher-forced
accuracy of a trained run per token role (rotated digits, copies, carry, the new result digit,
the last state), and a diagnostic variant that writes the carry before the register::

    python experiments/addition_lengths.py --probe RUN_DIR --probe_hub HUB [--probe_layout carry_first]
    python experiments/addition_lengths.py --carry_first_hub HUB HUB_CF   # variant texts, evaluation splits
    python experiments/addition_lengths.py --carry_first_train --dataset HUB_CF/addition \
        --config cpu_shift-shift --fresh … (any `hf-reasoning train` arguments)

Sources' settings (GPU, not run here; the full presets abbe2024_shift-shift and
abbe2024-inductive; batch 512 as 256 × 2 accumulation, as abbe2024 do for addition)::

    python experiments/addition_lengths.py --paper [--gpus 8] [--execute]
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pyarrow as pa  # noqa: E402

import common  # noqa: E402

ROWS = [  # (label, config, the sources' preset config)
    ("inductive shift", "cpu_shift-shift", "abbe2024_shift-shift"),
    ("inductive random-space", "cpu_space-inductive", "abbe2024-inductive"),
]


# -- diagnosis of the shift format: teacher-forced accuracy per token role -----------------------

# roles of the tokens of a shift state of width W (3W + 8 tokens, then `#`), in the order the
# model writes them; "carry_first" is a diagnostic variant (not the sources' layout) that writes
# the carry right after `=`, before the register: `A + B = carry | R`
ROLE_ORDER = ("a rotated in", "a shifted", "+", "b rotated in", "b shifted", "=", "NEW RESULT DIGIT",
              "register copy", "|", "carry", "#", "final carry digit", "final copy: result digit",
              "final copy: $", "final copy: fillers", ".")


def state_roles(W: int, layout: str = "source") -> list[str]:
    """The role of each token of a (non-final) shift state, its `#` included."""
    operand = lambda name: [f"{name} rotated in"] + [f"{name} shifted"] * W  # noqa: E731
    register = ["NEW RESULT DIGIT"] + ["register copy"] * (W + 1)
    tail = register + ["|", "carry"] if layout == "source" else ["carry", "|"] + register
    return operand("a") + ["+"] + operand("b") + ["="] + tail + ["#"]


def carry_first(text: str, W: int) -> str:
    """A shift prompt or completion with every full state reordered to `A + B = carry | R`."""
    width = 3 * W + 8
    out = []
    for piece in text.split(" # "):
        tokens = piece.split()
        marker = [t for t in tokens if t in ("#",)]
        body = [t for t in tokens if t != "#"]
        if len(body) == width:
            body = body[: 2 * W + 4] + [body[-1], "|"] + body[2 * W + 4: 3 * W + 6]
        out.append(" ".join(marker + body))
    return " # ".join(out)


def write_carry_first_hub(source: Path, dest: Path, config: str) -> None:
    """Copy a built hub folder with the shift texts of ``config`` reordered (diagnostic only)."""
    import pyarrow.parquet as pq

    shutil.copytree(source, dest, dirs_exist_ok=True)
    for path in sorted((dest / config).glob("*.parquet")):
        table = pq.read_table(path)
        W = (len(table["prompt"][0].as_py().split()) - 8) // 3
        for name in ("prompt", "completion"):
            column = [carry_first(t, W) for t in table[name].to_pylist()]
            table = table.set_column(table.schema.get_field_index(name), name, pa.array(column, pa.string()))
        pq.write_table(table, path)


def train_carry_first(train_argv: list[str]) -> None:
    """`hf-reasoning train TRAIN_ARGV` with the generator's shift texts reordered by
    :func:`carry_first` in this process, so that ``--fresh`` streams the variant (diagnostic
    only; pair it with a hub written by ``--carry_first_hub`` for the evaluation splits)."""
    from hf_reasoning.cli import main as cli_main
    from hf_reasoning.tasks.addition import Addition, shift_width

    to_columns = Addition.to_columns

    def reordered(self, cfg, fmt, inst):
        columns = to_columns(self, cfg, fmt, inst)
        if fmt == "shift":
            W = shift_width(cfg)
            for name in ("prompt", "completion"):
                columns[name] = pa.array([carry_first(t, W) for t in columns[name].to_pylist()], pa.string())
        return columns

    Addition.to_columns = reordered
    cli_main(["train", *train_argv])


def probe(run_dir: Path, hub: Path, config: str, split: str, rows: int, layout: str, length: int | None = None) -> dict:
    """Teacher-forced accuracy of a trained shift model per token role, on ``rows`` rows of
    ``split`` (of operand length ``length`` if given), and what it predicts where the new
    result digit goes."""
    import numpy as np
    import torch
    from datasets import load_dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from hf_reasoning.inductive import InductiveCollator

    data = load_dataset(str(hub / "addition"), config, split=split)
    if length is not None:
        data = data.filter(lambda row: row["length"] == length)
    data = data.select(np.linspace(0, len(data) - 1, min(rows, len(data))).astype(int).tolist())
    tokenizer = AutoTokenizer.from_pretrained(str(run_dir))
    model = AutoModelForCausalLM.from_pretrained(str(run_dir), attn_implementation="eager").eval()
    collator = InductiveCollator(tokenizer)
    hits: dict[str, list[int]] = {}
    guesses = {"(a+b+c_in) % 10 (right)": 0, "(a+b) % 10": 0, "a": 0, "b": 0, "previous result digit": 0}
    n_digits = 0
    for row in data:
        W = (len(row["prompt"].split()) - 8) // 3
        roles = state_roles(W, layout)
        layout_ = collator.layout(row["prompt"], row["completion"])
        batch = collator([row])
        with torch.no_grad():
            logits = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"],
                           attention_mask=batch["attention_mask"]).logits[0]
        predicted = logits.argmax(-1)
        targets = [i for i, t in enumerate(layout_.targets) if t]
        # targets in order: `#` of the prompt state, then states 1..s (3W + 9 each, `#` included), then the final state
        s = len(row["a"])
        target_roles = (["#"] + roles * s + ["final carry digit"] + ["final copy: result digit"] * s
                        + ["final copy: $"] + ["final copy: fillers"] * (W - s) + ["."])
        assert len(target_roles) == len(targets), (len(target_roles), len(targets))
        a, b = [int(x) for x in row["a"]][::-1], [int(x) for x in row["b"]][::-1]
        carry, previous = 0, None
        for i, role in zip(targets, target_roles):
            ok = int(predicted[i - 1] == layout_.input_ids[i])
            hits.setdefault(role, []).append(ok)
        digit_at = [i for i, r in zip(targets, target_roles) if r == "NEW RESULT DIGIT"]
        for t, i in enumerate(digit_at):
            guess = tokenizer.decode([int(predicted[i - 1])]).strip()
            total = a[t] + b[t] + carry
            for name, value in (("(a+b+c_in) % 10 (right)", total % 10), ("(a+b) % 10", (a[t] + b[t]) % 10),
                                ("a", a[t]), ("b", b[t]), ("previous result digit", previous)):
                guesses[name] += guess == str(value)
            previous, carry, n_digits = total % 10, total // 10, n_digits + 1
    accuracy = {role: (sum(h) / len(h), len(h)) for role, h in hits.items()}
    return {"rows": len(data), "accuracy": {r: accuracy[r] for r in ROLE_ORDER if r in accuracy},
            "digit_guess_equals": {k: (v / max(n_digits, 1), n_digits) for k, v in guesses.items()}}


# -- diagnosis of the random-space format: the first wrong field of the first wrong state ---------

SPACE_FIELDS = ["a slot index"] * 4 + ["a digit"] + ["b slot index"] * 4 + ["b digit", "c", "carry", "r",
                                                                           "new result digit"]


def space_field(position: int, state: list[str]) -> str:
    """The role of token ``position`` of a random-space state ``[ i i ] a [ j j ] b c k r R… $ fillers``."""
    if position < len(SPACE_FIELDS):
        return SPACE_FIELDS[position]
    return "register copy" if position < state.index("$") else "$ and fillers"


def space_errors(eval_dir: Path, hub: Path, config: str = "cpu_space-inductive") -> dict:
    """Per operand length: rows, wrong rows, and (state number, field) of the first wrong token of
    each wrong row, comparing an ``hf-reasoning evaluate`` folder's predictions with the built
    references (matched by prompt)."""
    import pyarrow.parquet as pq

    reference = {}
    for path in sorted((hub / "addition" / config).glob("*.parquet")):
        table = pq.read_table(path, columns=["prompt", "completion", "length"])
        reference.update(zip(table["prompt"].to_pylist(), zip(table["completion"].to_pylist(), table["length"].to_pylist())))
    out: dict[int, dict] = {}
    for row in json.loads((eval_dir / "eval_results.json").read_text())["predictions"]:
        completion, length = reference[row["prompt"]]
        entry = out.setdefault(length, {"rows": 0, "wrong": 0, "first wrong": {}})
        entry["rows"] += 1
        want = [s.split() for s in completion.split("#")]
        got = [s.split() for s in row["prediction"].split("#")]
        for k, state in enumerate(want):
            other = got[k] if k < len(got) else []
            if other != state:
                position = next((i for i, (x, y) in enumerate(zip(state, other)) if x != y), min(len(state), len(other)))
                if not other:
                    where = "missing state"
                elif k == 0 and other[0] != ":":
                    where = "no `:` (not a scratchpad)"
                else:
                    where = space_field(position - (k == 0), state[k == 0:])
                key = f"state {k}: {where}"
                entry["wrong"] += 1
                entry["first wrong"][key] = entry["first wrong"].get(key, 0) + 1
                break
        else:
            if len(got) != len(want):
                entry["wrong"] += 1
                entry["first wrong"]["extra state"] = entry["first wrong"].get("extra state", 0) + 1
    return dict(sorted(out.items()))


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
    parser.add_argument("--steps", type=int, nargs=2, default=[1000, 2400], metavar=("SHIFT", "SPACE"),
                        help="Optimizer steps of the shift and the random-space run.")
    parser.add_argument("--max_rows", type=int, default=60, help="Rows per evaluated split (spread over lengths).")
    parser.add_argument("--probe", type=Path, metavar="RUN_DIR",
                        help="Diagnosis only: teacher-forced accuracy per token role of a trained shift run "
                        "(with --probe_hub, --probe_config, --probe_split, --probe_rows, --probe_layout).")
    parser.add_argument("--probe_hub", type=Path, default=Path("runs/repro/hub"))
    parser.add_argument("--probe_config", default="cpu_shift-shift")
    parser.add_argument("--probe_split", default="validation")
    parser.add_argument("--probe_rows", type=int, default=64)
    parser.add_argument("--probe_length", type=int, help="Only rows with this many digits per operand.")
    parser.add_argument("--probe_layout", choices=("source", "carry_first"), default="source")
    parser.add_argument("--carry_first_hub", type=Path, nargs=2, metavar=("SOURCE_HUB", "DEST_HUB"),
                        help="Diagnosis only: copy a built hub with the cpu_shift-shift states reordered "
                        "to `A + B = carry | R` (not the sources' layout).")
    parser.add_argument("--carry_first_train", action="store_true",
                        help="Diagnosis only: run `hf-reasoning train` with the remaining arguments on the "
                        "`A + B = carry | R` variant (--fresh streams it).")
    parser.add_argument("--space_errors", type=Path, metavar="EVAL_DIR",
                        help="Diagnosis only: the first wrong state and field per operand length of the predictions "
                        "of a cpu_space-inductive `hf-reasoning evaluate` folder (references from --probe_hub).")
    args, rest = parser.parse_known_args()
    if args.carry_first_train:
        train_carry_first(rest)
        return
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if args.carry_first_hub:
        write_carry_first_hub(args.carry_first_hub[0] / "addition", args.carry_first_hub[1] / "addition", "cpu_shift-shift")
        return
    if args.space_errors:
        print(json.dumps(space_errors(args.space_errors, args.probe_hub), indent=1))
        return
    if args.probe:
        print(json.dumps(probe(args.probe, args.probe_hub, args.probe_config, args.probe_split, args.probe_rows,
                               args.probe_layout, args.probe_length), indent=1))
        return
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
