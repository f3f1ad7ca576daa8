"""Generation speed per task × format, and peak memory of a `paper`-scale build.

    python benchmarks/bench_generate.py [--rows 100000] [--tasks implications,copy] [--paper parity:abbe2024-inductive]

Times (CPU seconds of this one process) the whole path from instance to Arrow text (sampling, rendering prompt and
completion, structured columns) for the training distribution of one config per format,
on one core (the numpy calls are single-threaded). Targets (issue 2): parity plain n = 30
≥ 1,000,000 rows/s; every task and format ≥ 50 MB/s of text.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402

from hf_reasoning.splits import group_table  # noqa: E402
from hf_reasoning.tasks import TASKS, Group  # noqa: E402


def generate(task, cfg, fmt, groups, rows, seed=0):
    rng, layout = np.random.default_rng(seed), np.random.default_rng(seed + 1)
    weights = np.array([w for _, w in groups])
    counts = rng.multinomial(rows, weights / weights.sum())
    tables = [group_table(task, cfg, fmt, g, task.sample(cfg, fmt, g, c, rng, layout))
              for (g, _), c in zip(groups, counts) if c]
    return pa.concat_tables(tables)


def measure(task, config, rows, groups=None, repeats=2):
    preset, cfg, fmt = task.parse_config(config)
    groups = groups or task.train_groups(cfg)
    best = float("inf")
    for r in range(repeats):
        start = time.process_time()  # CPU time of this process: robust to a busy shared machine
        table = generate(task, cfg, fmt, groups, rows, seed=r)
        best = min(best, time.process_time() - start)
    text = sum(pa.compute.sum(pa.compute.binary_length(table[c])).as_py() for c in ("prompt", "completion"))
    return rows / best, text / best / 1e6, text / rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000, help="rows per measurement")
    parser.add_argument("--tasks", default="", help="comma-separated tasks to measure (default: all)")
    parser.add_argument("--paper", default="parity:abbe2024-inductive", help="TASK:CONFIG built at paper scale for peak memory ('' to skip)")
    parser.add_argument("--_paper_child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._paper_child:
        from hf_reasoning.splits import build_config

        task, config = args._paper_child.split(":")
        build = build_config(task, config, "paper", 0)
        print(sum(build.rows.values()))
        return

    chosen = [t for t in args.tasks.split(",") if t] or list(TASKS)
    unknown = sorted(set(chosen) - set(TASKS))
    if unknown:
        parser.error(f"unknown task(s) {', '.join(unknown)}; allowed: {', '.join(TASKS)}")
    print(f"{'task':<15}{'config':<34}{'rows/s':>12}{'MB/s':>9}{'bytes/row':>11}")
    if "parity" in chosen:
        parity = TASKS["parity"]
        rps, mbs, bpr = measure(parity, "abbe2024-plain", 1_000_000, groups=[(Group("30", 30, 30), 1.0)])
        print(f"{'parity':<15}{'abbe2024-plain (n = 30)':<34}{rps:>12,.0f}{mbs:>9.0f}{bpr:>11.0f}")
    for task in (TASKS[t] for t in chosen):
        seen = set()
        for config in task.config_names():
            fmt = config.rpartition("-")[2]
            if fmt in seen:
                continue
            seen.add(fmt)
            rps, mbs, bpr = measure(task, config, args.rows)
            flag = "" if mbs >= 50 else "  < 50 MB/s"
            print(f"{task.name:<15}{config:<34}{rps:>12,.0f}{mbs:>9.0f}{bpr:>11.0f}{flag}")
    if args.paper:
        start = time.perf_counter()
        out = subprocess.run([sys.executable, __file__, "--_paper_child", args.paper], capture_output=True, text=True, check=True)
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"\npaper-scale build of {args.paper}: {int(out.stdout.split()[-1]):,} rows in "
              f"{time.perf_counter() - start:.1f} s, peak RSS {peak:,.0f} MiB")


if __name__ == "__main__":
    main()
