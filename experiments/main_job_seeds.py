"""The main job over several seeds: mean and range of exact match (and answer accuracy) per
number of bits, plain vs inductive, from the ``results.json`` of ``hf-reasoning quickstart`` runs.

    hf-reasoning quickstart --seed 0 --out quickstart --overwrite           # one run per seed
    hf-reasoning quickstart --seed 1 --out quickstart-seed1 --hub hub-seed1 --overwrite
    hf-reasoning quickstart --seed 2 --out quickstart-seed2 --hub hub-seed2 --overwrite
    python experiments/main_job_seeds.py quickstart quickstart-seed1 quickstart-seed2 \\
        --json docs/reproductions/parity_quickstart_seeds.json

A seed changes the datasets (evaluation rows included), the model's initialisation and the
fresh training samples.
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
    args = parser.parse_args()
    summary = summarise(load(args.folders))
    print(markdown(summary))
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
