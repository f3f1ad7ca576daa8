"""The ``hf-reasoning`` command line (typer + rich).

Bad input ends with one line ``error: …`` on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import inspect
import signal
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from .errors import HFReasoningError, Interrupted, exit_on_error
from .console import build_with_progress, summary_table
from .progress import quiet_library_bars

app = typer.Typer(
    name="hf-reasoning",
    help="Reasoning and out-of-distribution generalisation benchmarks for Transformers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()


def command(name: str, **settings):
    """``app.command(name)`` with the docstring as help, each paragraph joined into one line: typer's
    rich help keeps a docstring's line breaks, which would break the rendered text mid-sentence."""

    def register(function):
        paragraphs = inspect.cleandoc(function.__doc__ or "").split("\n\n")
        return app.command(name, help="\n\n".join(" ".join(p.split()) for p in paragraphs), **settings)(function)

    return register


@command("tasks")
def tasks_command(configs: Annotated[bool, typer.Option("--configs", help="List every config name.")] = False):
    """List the tasks, their presets, formats and configs."""
    from .tasks import TASKS

    table = Table(title="hf_reasoning tasks")
    for column in ("task", "sources", "presets", "formats", "configs"):
        table.add_column(column, overflow="fold")
    for task in TASKS.values():
        names = task.config_names()
        table.add_row(task.name, ", ".join(task.sources), ", ".join(task.presets), ", ".join(task.formats),
                      "\n".join(names) if configs else str(len(names)))
    console.print(table)
    console.print("Config names are [bold]<preset>-<format>[/bold]; `hf-reasoning show TASK CONFIG` prints examples.")


@command("build")
def build_command(
    tasks: Annotated[list[str] | None, typer.Argument(help="Tasks to build (default: all).", show_default=False)] = None,
    out: Annotated[Path, typer.Option("--out", help="Folder that receives one repo folder per task.")] = Path("hub"),
    scale: Annotated[str, typer.Option(help="tiny, default or paper.")] = "default",
    seed: Annotated[int, typer.Option(help="Root seed.")] = 0,
    config: Annotated[list[str] | None, typer.Option("--config", help="Only these configs (repeatable).")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace the task folders already in --out.")] = False,
):
    """Build Hub dataset repo folders (Parquet + dataset card) for TASKS into --out."""
    from .hub import check_build, check_out
    from .tasks import TASKS

    names = list(tasks) if tasks else list(TASKS)
    total = sum(len(c) for c in check_build(names, scale, seed, config).values())
    check_out(out, overwrite)
    started = time.perf_counter()
    paths = build_with_progress(names, out, scale=scale, seed=seed, configs=config, overwrite=overwrite, total=total)
    console.print(summary_table(paths, time.perf_counter() - started))


SHOW_MAX = 1000


@command("show")
def show_command(
    task: Annotated[str, typer.Argument(help="Task name.")],
    config: Annotated[str, typer.Argument(help="Config name (<preset>-<format>).")],
    n: Annotated[int, typer.Option("--n", help="Examples to show.")] = 3,
    split: Annotated[str, typer.Option(help="train, validation, test or ood.")] = "train",
    seed: Annotated[int, typer.Option(help="Root seed.")] = 0,
):
    """Print a few examples of a config."""
    from rich.panel import Panel

    from .errors import check_choice, check_positive
    from .splits import build_config

    check_positive("--n", n)
    if n > SHOW_MAX:
        raise HFReasoningError(f"--n {n} is too many examples to print; allowed: 1 .. {SHOW_MAX}")
    build = build_config(task, config, "tiny", seed)
    check_choice(f"split of {task}/{config}", split, build.tables)
    for row in build.tables[split].slice(0, n).to_pylist():
        body = [f"[bold]prompt[/bold]      {row.pop('prompt')}", f"[bold]completion[/bold]  {row.pop('completion')}",
                f"[bold]answer[/bold]      {row.pop('answer')}"]
        body += [f"[dim]{k}[/dim]  {v}" for k, v in row.items()]
        console.print(Panel("\n".join(body), title=f"{task} / {config} / {split}", expand=False))


@command("card")
def card_command(
    run_dir: Annotated[Path, typer.Argument(help="A finished run folder (hf_reasoning.train --out).")],
    results: Annotated[Path | None, typer.Option("--results", help="An eval_results.json (default: RUN_DIR's own).")] = None,
    plot: Annotated[Path | None, typer.Option("--plot", help="A PNG to show (default: RUN_DIR/accuracy_vs_length.png).")] = None,
    repo_id: Annotated[str | None, typer.Option("--repo-id", help="The Hub id the card's loading snippet uses.")] = None,
    dataset_id: Annotated[str | None, typer.Option("--dataset-id", help="Hub id of the evaluated dataset.")] = None,
):
    """(Re)write RUN_DIR/README.md, the model card (model-index with one result per config and split)."""
    import json

    from .cards import write_model_card

    loaded = None
    if results is not None:
        try:
            loaded = json.loads(results.read_text())
        except (OSError, ValueError) as error:
            raise HFReasoningError(f"--results {str(results)!r} is not readable JSON ({error}); "
                                   "allowed: an eval_results.json written by hf-reasoning evaluate") from None
    path = write_model_card(run_dir, loaded, plot, repo_id=repo_id, dataset_id=dataset_id)
    console.print(f"wrote {path}")


@command("publish")
def publish_command(
    folder: Annotated[Path, typer.Argument(help="A dataset repo folder, or a finished run folder (model repo).")],
    repo_id: Annotated[str, typer.Option("--repo-id", help="ORG/NAME on the Hub.")],
    private: Annotated[bool, typer.Option(help="Create the repo private.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List what would be uploaded.")] = False,
    include: Annotated[list[str] | None, typer.Option("--include", help="Also upload files matching this pattern "
                                                      "(fnmatch on the relative path; repeatable).")] = None,
):
    """Upload a repo folder to the Hub (create_repo + upload_folder): a dataset repo, or a run
    folder as a model repo (its card rewritten to name REPO_ID first; checkpoints are not uploaded)."""
    from .hub import publish

    def listing(files, title):
        table = Table(title=f"{title} to {repo_id}")
        table.add_column("file")
        table.add_column("bytes", justify="right")
        for name, size in files:
            table.add_row(name, f"{size:,}")
        return table

    planned = publish(folder, repo_id, private=private, dry_run=True, include=include or ())
    console.print(listing(planned, "would upload" if dry_run else "uploading"))
    if not dry_run:
        files = publish(folder, repo_id, private=private, include=include or ())
        console.print(f"uploaded {len(files)} file(s) to {repo_id}")


@command("train", context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
             add_help_option=False)
def train_command(ctx: typer.Context):
    """Train a causal LM on a dataset config; `hf-reasoning train --help` lists the options (several
    GPUs: `accelerate launch -m hf_reasoning.train …` with the same options)."""
    from .train import main as train_main

    train_main(list(ctx.args))


@command("train-head", context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
             add_help_option=False)
def train_head_command(ctx: typer.Context):
    """Train a classification / regression baseline (an MLP or a Hugging Face sequence-classification
    model) on a task with numeric targets; `hf-reasoning train-head --help` lists the options."""
    from .classification import main as classification_main

    classification_main(list(ctx.args))


@command("quickstart")
def quickstart_command(
    out: Annotated[Path, typer.Option("--out", help="Folder for the runs, results table and plot.")] = Path("quickstart"),
    hub: Annotated[Path, typer.Option("--hub", help="Folder that receives the dataset repo folders (their task folders are rebuilt).")] = Path("hub"),
    quick: Annotated[bool, typer.Option("--quick", help="A first look in about 3 minutes (shorter training).")] = False,
    seed: Annotated[int, typer.Option(help="Seed of the datasets and the training runs.")] = 0,
    overwrite: Annotated[bool, typer.Option(help="Replace --out if it exists.")] = False,
):
    """The main job: build the datasets, train the tiny model on parity in the plain and the
    inductive format, evaluate both per length, write the table, plot and model cards."""
    from .errors import check_output_dir, check_seed
    from .quickstart import run

    check_seed("--seed", seed)
    check_output_dir(out)
    check_output_dir(hub, flag="--hub")
    run(out, hub, quick=quick, seed=seed, overwrite=overwrite, console=console)


@command("evaluate")
def evaluate_command(
    model: Annotated[Path, typer.Option("--model", help="A finished run folder (model repo).")],
    dataset: Annotated[str, typer.Option("--dataset", help="Dataset repo folder or Hub id.")],
    config: Annotated[str, typer.Option("--config", help="Config name (<preset>-<format>).")],
    split: Annotated[list[str] | None, typer.Option("--split", help="Splits to evaluate (repeatable).")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Where to write eval_results.json and the plot.")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size")] = 32,
    max_rows: Annotated[int | None, typer.Option("--max-rows", help="At most this many rows per split.")] = None,
    threshold: Annotated[float, typer.Option(help="Accuracy that counts as solved.")] = 0.9,
    allow_pickle: Annotated[bool, typer.Option("--allow-pickle", help="Load pickle weights (*.bin, *.pt): they can "
                                               "run code; only for files you trust.")] = False,
):
    """Generate on the chosen splits, score accuracy per length/shift, write JSON and a plot."""
    from .evaluation import evaluate_run, print_results

    from .errors import check_dataset_source, check_number, check_output_dir, check_positive
    from .modeling import check_model_folder

    check_positive("--batch-size", batch_size)
    if max_rows is not None:
        check_positive("--max-rows", max_rows)
    check_number("--threshold", threshold, 0, 1)
    check_dataset_source(dataset)
    if model.exists() or str(model).startswith((".", "/", "~")) or str(model).count("/") != 1:
        check_model_folder(model, allow_pickle=allow_pickle)
    if out is not None:
        check_output_dir(out)
    result = evaluate_run(model, dataset, config, splits=split, out_dir=out, batch_size=batch_size,
                          max_rows=max_rows, threshold=threshold)
    from accelerate import PartialState

    if not PartialState().is_main_process:
        return
    print_results(result["results"], title=config, console=console)
    if out is not None:
        from .cards import is_run_dir, write_model_card

        console.print(f"wrote {out / 'eval_results.json'}")
        # evaluating a run into its own folder: its model card shows the new results
        if is_run_dir(out) and (out / "training_args.json").is_file() and out.resolve() == model.resolve():
            console.print(f"wrote {write_model_card(out)}")


@command("analyze")
def analyze_command(
    task: Annotated[str, typer.Argument(help="Task name (boolean).")],
    config: Annotated[str, typer.Argument(help="Config name (<preset>-<format>).")],
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the full analysis as JSON.")] = None,
):
    """Print the predictions the sources reason with: Fourier weights, Boolean influence and the
    canonical-holdout error, the min-degree interpolator and its error on the unseen part."""
    import json
    import os

    from .errors import check_choice, check_output_file
    from .tasks import get_task

    if json_out:
        check_output_file(json_out, "--json")
    get_task(task)
    check_choice("task for analyze", task, ["boolean"])
    from .tasks.boolean import analyze

    result = analyze(task, config)
    table = Table(title=f"{task} / {config}: predictions")
    table.add_column("quantity")
    table.add_column("value", overflow="fold")
    for key, value in result.get("predictions", result).items():
        table.add_row(str(key), json.dumps(value) if isinstance(value, (dict, list)) else str(value))
    console.print(table)
    if json_out:
        tmp = json_out.parent / f".{json_out.name}.tmp-{os.getpid()}"
        try:
            tmp.write_text(json.dumps(result, indent=2))
            os.replace(tmp, json_out)
        finally:
            tmp.unlink(missing_ok=True)
        console.print(f"wrote {json_out}")


@command("harness")
def harness_command(
    dataset: Annotated[str, typer.Argument(help="Dataset repo folder or Hub id.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the task files (lm_eval --include_path).")],
    config: Annotated[list[str] | None, typer.Option("--config", help="Only these configs (repeatable).")] = None,
):
    """Write lm-evaluation-harness tasks (one per config and evaluation split, scored by
    hf_reasoning.evaluation) for `lm_eval --include_path OUT --tasks hf_reasoning_<task>_<config>`.

    lm_eval's `hf` model decodes every format with a plain causal mask; runs trained on the inductive or
    shift format are scored as they were trained by `hf-reasoning lm-eval --model hf-reasoning …`."""
    from .errors import check_dataset_source, check_output_dir
    from .harness import write_tasks

    check_dataset_source(dataset)
    check_output_dir(out)
    files = write_tasks(dataset, out, config)
    console.print(f"wrote {len(files) - 1} task(s) and {files[-1].name} to {out}")


@command("lm-eval", context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
             add_help_option=False)
def lm_eval_command(ctx: typer.Context):
    """Run lm-evaluation-harness (lm_eval's own arguments) with the model `hf-reasoning` registered: it
    decodes each hf_reasoning task as `hf-reasoning evaluate` does, inductive decoding included."""
    from .harness import run_lm_eval

    run_lm_eval(list(ctx.args))


def _run_app(argv: list[str] | None) -> None:
    """The typer app, its usage errors (unknown option, bad integer …) as one-line errors."""
    from typer._click import exceptions as click  # typer's own copy of click's exceptions

    try:
        code = app(args=argv, prog_name="hf-reasoning", standalone_mode=False)
    except click.NoArgsIsHelpError:
        sys.exit(0)  # the help was printed
    except click.ClickException as error:
        command = f" {error.ctx.info_name}" if getattr(error, "ctx", None) and error.ctx.parent else ""
        message = " ".join(error.format_message().split())
        raise HFReasoningError(f"{message}; allowed: the options `hf-reasoning{command} --help` lists") from None
    except typer.Abort:
        raise Interrupted("aborted") from None
    if isinstance(code, int) and code:
        sys.exit(code)


def _interrupt(signum, frame):
    raise Interrupted(signal.Signals(signum).name)


def main(argv: list[str] | None = None) -> None:
    """Entry point: bad input, unusable paths and failed reads or writes become one line
    ``error: …`` on stderr and exit status 2; SIGTERM or Ctrl-C one line and status 130."""
    handlers = {}
    try:
        for signum in (signal.SIGTERM, signal.SIGINT):
            handlers[signum] = signal.signal(signum, _interrupt)
    except ValueError:  # not the main thread: keep the default handlers
        pass
    quiet_library_bars()
    try:
        # usage errors are click's (status 2)
        exit_on_error(lambda: _run_app(argv),
                      interrupted="partial outputs were removed (a training run continues with --resume)")
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)


if __name__ == "__main__":
    main()
