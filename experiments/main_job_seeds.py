"""The main job over several seeds: mean and range of exact match (and answer accuracy) per
number of bits, plain vs inductive, from the ``results.json`` of ``hf-reasoning quickstart`` runs.

    hf-reasoning quickstart --seed 0 --out quickstart --overwrite           # one run per seed
    hf-reasoning quickstart --seed 1 --out quickstart-seed1 --hub hub-seed1 --overwrite
    hf-reasoning quickstart --seed 2 --out quickstart-seed2 --hub hub-seed2 --overwrite
    python experiments/main_job_seeds.py quickstart quickstart-seed1 quickstart-seed2 \\
        --json docs/reproductions/parity_quickstart_seeds.json

A seed changes the datasets (evaluation rows included), the model's initialisation and the
fresh training samples.

Per-state errors of the inductive model (the evidence behind the seed spread): for every
evaluated row, the reference states are recomputed from the prompt alone (the slot index of
each bit, the bit, the running parity, then the end state ``[ S S ] _ , r``), and the first
state where the prediction differs is classified: ``format`` (not ``[ i i ] b , r``), a wrong
``index``, a wrong ``bit`` read at the right index, a wrong running ``parity``, or ``end`` (a
state missing, one too many, or no end token)::

    python experiments/main_job_seeds.py quickstart quickstart-seed1 quickstart-seed2 --state_errors
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

FORMATS = ("plain", "inductive")


def load(folders: list[str]) -> list[dict]:
    reports = [json.loads((Path(f) / "results.json").read_text()) for f in folders]
    seeds = [r["seed"] for r in reports]
    if len(set(seeds)) != len(seeds):
        raise SystemExit(f"error: two folders have the same seed ({seeds}); allowed: one run per seed")
    return reports


def spread(values: list[float]) -> dict:
    return {"mean": statistics.fmean(values), "min": min(values), "max": max(values), "values": values}


def summarise(reports: list[dict]) -> dict:
    lengths = [row["length"] for row in reports[0]["per_length"]]
    table = []
    for i, length in enumerate(lengths):
        row = {"length": length, "in_training": reports[0]["per_length"][i]["in_training"]}
        for fmt in FORMATS:
            for metric in ("exact_match", "answer_accuracy"):
                row[f"{fmt}/{metric}"] = spread([r["per_length"][i][fmt][metric]["accuracy"] for r in reports])
        table.append(row)
    headline = {fmt: {key: spread([r["summary"][fmt][key] for r in reports])
                      for key in ("in_distribution_accuracy", "ood_accuracy", "accuracy_at_1.5x_and_beyond",
                                  "generalization_length")}
                for fmt in FORMATS}
    return {"seeds": [r["seed"] for r in reports], "steps": reports[0].get("steps"),
            "train_max_length": reports[0]["train_max_length"], "per_length": table, "headline": headline,
            "timings_s": {str(r["seed"]): r["timings_s"] for r in reports}}


ERROR_KINDS = ("format", "index", "bit", "parity", "end")


def reference_states(prompt: str) -> list[list[str]]:
    """The inductive parity states of a random-space prompt ``b_1 … b_S =`` (``_`` = blank slot):
    ``[ i i ] b , r`` for every bit (its slot index, two digits), then ``[ S S ] _ , r``."""
    slots = prompt.split()[:-1]
    states, parity = [], 0
    for i, bit in enumerate(slots):
        if bit != "_":
            parity ^= int(bit)
            states.append(["[", *f"{i:02d}", "]", bit, ",", str(parity)])
    return states + [["[", *f"{len(slots):02d}", "]", "_", ",", str(parity)]]


def first_state_error(prompt: str, prediction: str) -> tuple[int, str] | None:
    """(state number, kind) of the first wrong state of a prediction, None if it is exact.
    Kinds: ``format`` (not ``[ i i ] b , r``), ``index``, ``bit`` (right index), ``parity``
    (right index and bit), ``end`` (a state missing, one too many, or no end token ``.``)."""
    tokens = prediction.split()
    ended = tokens[-1:] == ["."]
    body = tokens[1:] if tokens[:1] == [":"] else ["?", *tokens]  # no `:` makes state 0 malformed
    predicted = [piece.split() for piece in " ".join(body[:-1] if ended else body).split("#")]
    reference = reference_states(prompt)
    for k, want in enumerate(reference):
        if k >= len(predicted):
            return k, "end"
        got = predicted[k]
        if got == want:
            continue
        if len(got) != 7 or [got[0], got[3], got[5]] != ["[", "]", ","]:
            return k, "format"
        return k, "index" if got[:4] != want[:4] else "bit" if got[4] != want[4] else "parity"
    return None if ended and len(predicted) == len(reference) else (len(reference), "end")


def state_errors(folders: list[str]) -> dict:
    """Per seed and number of bits: rows, rows with a wrong state, and the kind of the first one."""
    out = {}
    for folder, report in zip(folders, load(folders)):
        run = next(Path(folder).glob("*-inductive-*"))
        per_length: dict[int, dict] = {}
        for row in json.loads((run / "eval_results.json").read_text())["predictions"]:
            bits = sum(t != "_" for t in row["prompt"].split()[:-1])
            entry = per_length.setdefault(bits, dict.fromkeys(("rows", "wrong", *ERROR_KINDS), 0))
            entry["rows"] += 1
            error = first_state_error(row["prompt"], row["prediction"])
            if error is not None:
                entry["wrong"] += 1
                entry[error[1]] += 1
        out[str(report["seed"])] = dict(sorted(per_length.items()))
    return out


def state_errors_markdown(errors: dict) -> str:
    lines = ["| seed | bits | rows | wrong | first wrong state: " + " | ".join(ERROR_KINDS) + " |",
             "|---|---:|---:|---:|" + "---:|" * len(ERROR_KINDS)]
    for seed, per_length in errors.items():
        for bits, e in per_length.items():
            if e["wrong"]:
                lines.append(f"| {seed} | {bits} | {e['rows']} | {e['wrong']} | " + " | ".join(str(e[k]) for k in ERROR_KINDS) + " |")
    return "\n".join(lines)


def cell(s: dict) -> str:
    return f"{s['mean']:.3f} [{s['min']:.3f}, {s['max']:.3f}]"


def markdown(summary: dict) -> str:
    steps = summary["steps"] or {}
    lines = [f"Seeds {', '.join(map(str, summary['seeds']))}: mean [min, max] over the seeds. "
             f"Exact match (the whole completion) first, answer accuracy second; steps: "
             + ", ".join(f"{fmt} {steps.get(fmt, '?')}" for fmt in FORMATS) + ".",
             "",
             "| bits | | plain exact | plain answer | inductive exact | inductive answer |",
             "|---:|---|---:|---:|---:|---:|"]
    for row in summary["per_length"]:
        lines.append(f"| {row['length']} | {'train' if row['in_training'] else 'OOD'} | "
                     + " | ".join(cell(row[f"{fmt}/{m}"]) for fmt in FORMATS for m in ("exact_match", "answer_accuracy"))
                     + " |")
    gl = {fmt: summary["headline"][fmt]["generalization_length"] for fmt in FORMATS}
    lines += ["", "Generalisation length by exact match (largest number of bits at ≥ 90%), per seed: "
              + "; ".join(f"{fmt} {gl[fmt]['values']}" for fmt in FORMATS) + "."]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", help="quickstart --out folders, one per seed")
    parser.add_argument("--json", help="also write the summary here")
    parser.add_argument("--state_errors", action="store_true",
                        help="Print the inductive model's first wrong state per seed and number of bits instead.")
    args = parser.parse_args()
    if args.state_errors:
        errors = state_errors(args.folders)
        print(state_errors_markdown(errors))
        if args.json:
            Path(args.json).write_text(json.dumps(errors, indent=2) + "\n")
        return
    summary = summarise(load(args.folders))
    print(markdown(summary))
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
