"""The main job: the point of the benchmark on a laptop, in at most fifteen minutes.

    hf-reasoning quickstart            # build, train plain + inductive parity, evaluate, plot, cards
    hf-reasoning quickstart --quick    # a first look in about three minutes (shorter training)

1. build every dataset at the default scale into ``--hub`` (Hub repo folders);
2. train the ``tiny`` model (0.8M parameters, Llama-style, RoPE base 100) from scratch on
   parity ``laptop16`` (1..6 bits in 16 slots) in the plain format and in the inductive
   scratchpad format, on fresh samples (AdamW, lr 1e-3 cosine to 1e-4, batch 16);
3. evaluate both on the in-distribution validation split and on the OOD split (7..12 bits),
   with the package's generation (cached inductive decoding for the inductive model);
4. print the per-length table (exact match and answer accuracy of each model), write it as
   ``results.md`` / ``results.json``, draw both models on ``accuracy_vs_length.png`` and write
   each run's model card.

Both models get the same number of optimizer steps (3,000; 600 with ``--quick``). The verdict
(generalisation length, accuracy at 1.5× the training length) is read from exact match: the
whole completion, so an inductive model that reaches the right parity through wrong states is
not counted (for the plain format exact match and answer accuracy coincide).

The expected picture (abbe2024): the plain model is near chance beyond its training length
(and usually within it: parity is a global task), the inductive one keeps ≥ 90% well beyond
it. Everything lands in a staging folder that is renamed to ``--out`` at the end, so an
interrupted job leaves no half-written results.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table


TASK = "parity"
PRESET = "laptop16"
FORMATS = ("plain", "inductive")
CHANCE = 0.5


@dataclass(frozen=True)
class Recipe:
    """Training and evaluation budget of one quickstart variant (both formats)."""

    plain_steps: int
    inductive_steps: int
    learning_rate: float = 1e-3  # measured: 2e-3 stalls at a loss 10-50× higher (docs/reproductions/parity_budget_trials.md)
    min_learning_rate: float = 1e-4
    warmup_steps: int = 50
    batch_size: int = 16  # measured: more, smaller steps learn faster per example here than 32
    rope_theta: float = 100.0  # RoPE base for short sequences (RoPE's usual 10,000 serves thousands of positions)
    group_by_length: int = 8  # micro-batches of similar lengths: ~30% fewer padded tokens
    eval_rows: int = 500  # at most this many rows per evaluated split, spread evenly over the lengths
    build_all_tasks: bool = True
    scale: str = "default"  # of the datasets built (the training samples are fresh either way)


RECIPES = {
    # sized for 15 minutes on an idle 2-core CPU, install included (~6 inductive steps/s);
    # measured: 100% in distribution, ≥ 90% up to 9 bits (docs/reproductions.md, parity row).
    # Plain gets the same step budget (a fair baseline); its steps are ~4x cheaper (no
    # scratchpad): 600 steps took 31 s of the 723 s job in docs/reproductions/parity_quickstart.json
    "full": Recipe(plain_steps=3000, inductive_steps=3000),
    "quick": Recipe(plain_steps=600, inductive_steps=600, eval_rows=140, build_all_tasks=False),
}


def train_argv(hub: Path, fmt: str, run_dir: Path, recipe: Recipe, seed: int) -> list[str]:
    """The ``hf-reasoning train`` arguments of one quickstart model (printed for the user)."""
    steps = recipe.inductive_steps if fmt == "inductive" else recipe.plain_steps
    return [
        "--dataset", str(hub / TASK), "--config", f"{PRESET}-{fmt}", "--model", "tiny",
        "--rope_theta", f"{recipe.rope_theta:g}", "--out", str(run_dir),
        "--fresh", "--seed", str(seed), "--max_steps", str(steps),
        "--per_device_train_batch_size", str(recipe.batch_size), "--group_by_length", str(recipe.group_by_length),
        "--learning_rate", str(recipe.learning_rate), "--min_learning_rate", str(recipe.min_learning_rate),
        "--warmup_steps", str(recipe.warmup_steps),
        # the thorough evaluation comes after training; keep the loop's own one small
        "--eval_splits", "validation", "--eval_max_examples", "32", "--eval_every", str(steps),
        "--checkpoint_every", str(steps), "--logging_every", "10",
    ]


SCORES = (("exact_match", "exact"), ("answer_accuracy", "answer"))


def _verdict_score(result: dict) -> dict:
    """The score the verdict reads: exact match (answer accuracy only where exact match was not
    measured, e.g. results written before it was)."""
    from .evaluation import metric_summary

    return metric_summary(result, "exact_match") or metric_summary(result, "answer_accuracy") or {}


def comparison_rows(results: dict[str, dict], train_max: int) -> list[dict]:
    """One row per length: exact match and answer accuracy (with Wilson intervals) of each format."""
    from .evaluation import metric_summary

    lengths = sorted({int(x) for r in results.values() for x in (r.get("lengths") or {})})
    rows = []
    for length in lengths:
        row = {"length": length, "in_training": length <= train_max}
        for fmt, result in results.items():
            cells = {}
            for metric, _ in SCORES:
                block = ((metric_summary(result, metric) or {}).get("lengths") or {}).get(str(length))
                cells[metric] = None if block is None else {"accuracy": block["accuracy"], "ci95": block["ci95"], "n": block["n"]}
            row[fmt] = cells if any(cells.values()) else None
        rows.append(row)
    return rows


def _cell(block: dict | None) -> str:
    if block is None:
        return "—"
    low, high = block["ci95"]
    return f"{block['accuracy']:.3f} [{low:.2f}, {high:.2f}]"


def _cells(row: dict, formats: tuple[str, ...]) -> list[str]:
    return [_cell((row[f] or {}).get(metric)) for f in formats for metric, _ in SCORES]


def _headers(formats: tuple[str, ...], steps: dict[str, int] | None) -> list[str]:
    return [f"{fmt}{f' ({steps[fmt]:,} steps)' if steps and fmt in steps else ''} {label}"
            for fmt in formats for _, label in SCORES]


def comparison_table(rows: list[dict], formats: tuple[str, ...], steps: dict[str, int] | None = None) -> Table:
    table = Table(title=f"{TASK} {PRESET}: exact match and answer accuracy per number of bits (95% Wilson interval)")
    table.add_column("bits", justify="right")
    table.add_column("", justify="left")
    for header in _headers(formats, steps):
        table.add_column(header, justify="right")
    for row in rows:
        table.add_row(str(row["length"]), "train" if row["in_training"] else "OOD", *_cells(row, formats))
    return table


def comparison_markdown(rows: list[dict], formats: tuple[str, ...], steps: dict[str, int] | None = None) -> str:
    headers = _headers(formats, steps)
    lines = ["| bits | | " + " | ".join(headers) + " |", "|---:|---|" + "---:|" * len(headers)]
    for row in rows:
        lines.append(f"| {row['length']} | {'train' if row['in_training'] else 'OOD'} | " + " | ".join(_cells(row, formats)) + " |")
    return "\n".join(lines)


def verdict(results: dict[str, dict], train_max: int, threshold: float = 0.9) -> dict:
    """The headline numbers, by exact match: how far each format generalises, and its accuracy
    at 1.5× the training length and beyond (answer accuracy beside them)."""
    from .evaluation import metric_summary

    summary = {}
    for fmt, full in results.items():
        result = _verdict_score(full)
        answer = metric_summary(full, "answer_accuracy") or {}
        blocks = {int(x): b for x, b in (result.get("lengths") or {}).items()}
        solved = [x for x, b in sorted(blocks.items()) if b["accuracy"] >= threshold]
        contiguous = None
        for x, b in sorted(blocks.items()):
            if b["accuracy"] < threshold:
                break
            contiguous = x
        ood = result.get("ood") or {}
        summary[fmt] = {
            "generalization_length": contiguous,
            "generalization_ratio": (contiguous / train_max) if contiguous else None,
            "largest_solved_length": max(solved) if solved else None,
            "in_distribution_accuracy": (result.get("in_distribution") or {}).get("accuracy"),
            "ood_accuracy": ood.get("accuracy"),
            "score": "exact_match" if metric_summary(full, "exact_match") else "answer_accuracy",
            "in_distribution_answer_accuracy": (answer.get("in_distribution") or {}).get("accuracy"),
            "ood_answer_accuracy": (answer.get("ood") or {}).get("accuracy"),
        }
    target = int(-(-3 * train_max // 2))  # 1.5 × the largest training length, rounded up
    for fmt, full in results.items():
        blocks = {int(x): b for x, b in (_verdict_score(full).get("lengths") or {}).items()}
        at_target = [b for x, b in blocks.items() if x >= target]
        summary[fmt]["accuracy_at_1.5x_and_beyond"] = (
            sum(b["correct"] for b in at_target) / sum(b["n"] for b in at_target) if at_target else None)
    summary["target_length"] = target
    return summary


def run(
    out: Path = Path("quickstart"),
    hub: Path = Path("hub"),
    *,
    quick: bool = False,
    seed: int = 0,
    overwrite: bool = False,
    recipe: Recipe | None = None,
    console: Console | None = None,
) -> dict:
    """Build, train both formats, evaluate, and write results, plot and model cards into ``out``."""
    from . import train
    from .cards import write_model_card
    from .evaluation import evaluate_run, plot_accuracy_vs_length
    from .console import build_with_progress, summary_table
    from .hub import check_out
    from .tasks import TASKS

    console = console or Console()
    recipe = recipe or RECIPES["quick" if quick else "full"]
    out, hub = Path(out), Path(hub)
    check_out(out, overwrite)
    check_out(hub, True)
    started = time.perf_counter()
    timings: dict[str, float] = {}

    # 1. datasets
    tick = time.perf_counter()
    names = list(TASKS) if recipe.build_all_tasks else [TASK]
    configs = None if recipe.build_all_tasks else [f"{PRESET}-{fmt}" for fmt in FORMATS]
    console.rule(f"1/4 building {len(names)} dataset repo(s) into {hub}/ (scale {recipe.scale})")
    paths = build_with_progress(names, hub, scale=recipe.scale, seed=seed, configs=configs, overwrite=True)
    timings["build_s"] = time.perf_counter() - tick
    console.print(summary_table(paths, timings["build_s"]))
    train_max = train_max_length()

    staging = out.parent / f".{out.name}.partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        results: dict[str, dict] = {}
        for step, fmt in enumerate(FORMATS, start=2):
            run_dir = staging / f"{TASK}-{PRESET}-{fmt}-tiny"
            argv = train_argv(hub, fmt, run_dir, recipe, seed)
            console.rule(f"{step}/4 training tiny on {TASK} {PRESET}-{fmt}")
            console.print("hf-reasoning train " + " ".join(argv).replace(str(staging), str(out)), style="dim", soft_wrap=True)
            tick = time.perf_counter()
            train.main(argv)
            timings[f"train_{fmt}_s"] = time.perf_counter() - tick
            tick = time.perf_counter()
            result = evaluate_run(run_dir, hub / TASK, f"{PRESET}-{fmt}", splits=["validation", "ood"],
                                  out_dir=run_dir, batch_size=64, max_rows=recipe.eval_rows, task=TASK)
            timings[f"evaluate_{fmt}_s"] = time.perf_counter() - tick
            results[fmt] = result["results"]

        console.rule("4/4 results")
        rows = comparison_rows(results, train_max)
        summary = verdict(results, train_max)
        plot = plot_accuracy_vs_length(
            {f"tiny, {fmt}": results[fmt] for fmt in FORMATS}, staging / "accuracy_vs_length.png",
            train_range=(1, train_max), title=f"{TASK} {PRESET} (train 1..{train_max} bits, {slots()} slots)")
        timings["total_s"] = time.perf_counter() - started
        report = {"task": TASK, "preset": PRESET, "model": "tiny", "seed": seed, "quick": quick,
                  "recipe": asdict(recipe), "steps": steps_of(recipe), "train_max_length": train_max, "summary": summary,
                  "per_length": rows, "timings_s": {k: round(v, 1) for k, v in timings.items()}}
        (staging / "results.json").write_text(json.dumps(report, indent=2) + "\n")
        (staging / "results.md").write_text(results_markdown(report) + "\n")
        if out.exists():
            shutil.rmtree(out)
        os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise

    # the cards name the final folders, so they are written once the results are in place
    for fmt in FORMATS:
        run_dir = out / f"{TASK}-{PRESET}-{fmt}-tiny"
        _repoint(run_dir / "eval_results.json", staging, out)
        write_model_card(run_dir)
    console.print(comparison_table(rows, FORMATS, steps_of(recipe)))
    console.print(headline(summary, train_max, steps_of(recipe)))
    console.print(f"wrote {out}/results.md, {out}/results.json, {out / plot.name} and the model cards "
                  f"{', '.join(str(out / f'{TASK}-{PRESET}-{fmt}-tiny' / 'README.md') for fmt in FORMATS)} "
                  f"in {timings['total_s'] / 60:.1f} min")
    return report


def steps_of(recipe: Recipe) -> dict[str, int]:
    """The optimizer steps each model trains for."""
    return {fmt: recipe.inductive_steps if fmt == "inductive" else recipe.plain_steps for fmt in FORMATS}


def train_max_length() -> int:
    """The largest number of bits of the preset's training split."""
    from .tasks import get_task

    task = get_task(TASK)
    return max(group.length for group, _weight in task.train_groups(task.presets[PRESET]))


def slots() -> int:
    from .tasks import get_task

    return get_task(TASK).presets[PRESET].slots


def _repoint(path: Path, old: Path, new: Path) -> None:
    """Replace the staging folder's name by the final one in a JSON file written during the job."""
    if path.is_file():
        path.write_text(path.read_text().replace(str(old), str(new)))


def headline(summary: dict, train_max: int, steps: dict[str, int] | None = None) -> str:
    target = summary["target_length"]
    parts = []
    for fmt in FORMATS:
        s = summary[fmt]
        reach = s["generalization_length"]
        at = s["accuracy_at_1.5x_and_beyond"]
        name = "exact match" if s.get("score", "exact_match") == "exact_match" else "answer accuracy"
        answer = s.get("in_distribution_answer_accuracy")
        parts.append(
            f"{fmt}{f' ({steps[fmt]:,} steps)' if steps and fmt in steps else ''}: {name} in distribution "
            f"{s['in_distribution_accuracy']:.1%}" + (f" (answer accuracy {answer:.1%})" if answer is not None else "")
            + f", ≥ 90% up to {reach if reach else 'no'} bits" + (f" (×{reach / train_max:.1f} the training length)" if reach else "")
            + (f", {at:.1%} at {target}+ bits (chance {CHANCE:.0%})" if at is not None else ""))
    return "\n".join(parts)


def results_markdown(report: dict) -> str:
    formats = tuple(FORMATS)
    train_max = report["train_max_length"]
    lines = [
        f"# Quickstart: tiny model on {TASK} `{PRESET}` (train 1..{train_max} bits in {slots()} slots)", "",
        headline(report["summary"], train_max, report.get("steps")).replace("\n", "  \n"), "",
        comparison_markdown(report["per_length"], formats, report.get("steps")), "",
        "Exact match: the whole completion (every inductive state) is right; answer accuracy: the final "
        "parity is. The verdict above reads exact match.", "",
        "![accuracy vs length](accuracy_vs_length.png)", "",
        "Timings (s): " + ", ".join(f"{k} {v}" for k, v in report["timings_s"].items()),
    ]
    return "\n".join(lines)
