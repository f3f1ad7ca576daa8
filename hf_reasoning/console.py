"""What the command line and the main job print about builds: progress over the configs and a
summary table of the repo folders (shared by ``cli`` and ``quickstart``, so neither imports
the other)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table


def build_with_progress(names: list[str], out: Path, *, scale: str, seed: int, configs: list[str] | None,
                        overwrite: bool, total: int | None = None) -> list[Path]:
    """``hub.write_repos`` with progress over the configs (on stderr)."""
    from .hub import check_build, write_repos

    if total is None:
        total = sum(len(c) for c in check_build(names, scale, seed, configs).values())
    if not sys.stderr.isatty():
        done, started = 0, time.perf_counter()

        def log_line(task_name: str, config_name: str) -> None:
            nonlocal done
            done += 1
            print(f"built {task_name}/{config_name} ({done}/{total}, {time.perf_counter() - started:.0f} s)",
                  file=sys.stderr, flush=True)

        return write_repos(names, out, scale=scale, seed=seed, configs=configs, overwrite=overwrite, on_config=log_line)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=False) as progress:
        bar = progress.add_task(f"building {len(names)} task(s) at scale {scale}", total=total)

        def advance(task_name: str, config_name: str) -> None:
            progress.update(bar, advance=1, description=f"{task_name}/{config_name}")

        return write_repos(names, out, scale=scale, seed=seed, configs=configs, overwrite=overwrite, on_config=advance)


def summary_table(paths: list[Path], seconds: float) -> Table:
    """Repo folders built: configs, rows and megabytes of each."""
    import pyarrow.parquet as pq

    table = Table(title=f"built in {seconds:.1f} s")
    for column, justify in (("repo folder", "left"), ("configs", "right"), ("rows", "right"), ("MB", "right")):
        table.add_column(column, justify=justify)
    for path in paths:
        files = sorted(path.rglob("*.parquet"))
        rows = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
        size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
        configs = len({f.parent.name for f in files})
        table.add_row(str(path), str(configs), f"{rows:,}", f"{size / 1e6:.1f}")
    return table
