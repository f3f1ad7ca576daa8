"""addition with index hints and reversed output (the zhou2023 follow-up): 40 → 100 digits
at > 98% (2.5×) in the source.

Format ``reversed_index_hints``: both operands zero-padded to s + 1 digits, hint token
``hi`` before the i-th digit of every number, result least significant first:
``h1 0 h2 4 h3 5 + h1 0 h2 7 h3 8 = h3 3 h2 2 h1 1 .``

At CPU scale the lengths are reduced: preset ``cpu_hints`` (registered in this script's
process only, see ``experiments/common.py``) trains on s = 1..10 (P(s) ∝ s) and tests
s = 11, 12, 13, 15, 17, 20, 25. Two runs:

* ``package`` — the dataset as the package builds it: hints always start at ``h1``, so a
  test of s digits uses ``h(s+1)``, a token the training data (s ≤ 10) never contains
  (``h12`` … ``h26`` here; ``h42`` … ``h101`` in the zhou2023 preset). A model with learned
  token embeddings cannot use a hint it never saw.
* ``random_offset`` — the same rows with every *training* example's hints shifted by a
  random offset k (``hi`` → ``h(i+k)``, k uniform in 0..26 − (s+1), seeded), so every hint
  of the test lengths occurs in training while the test rows stay unchanged. As far as we
  know this is what the sources do (a random consecutive window of an ordered set of
  hints); the package does not offer it, hence this transform of the written parquet files.

CPU scale (the committed numbers; a smoke-scale run: ~0.3 steps/s on the loaded 2-core
machine, so 100 steps, far too few to learn 10-digit addition; ``--steps 3000`` is a
sensible CPU run on an idle machine)::

    python experiments/addition_index_hints.py --steps 100 --max_rows 70
    # per dataset D in runs/repro/hub (package), runs/repro/hub_offset (random_offset):
    #   hf-reasoning train --dataset D/addition --config cpu_hints-reversed_index_hints --model tiny \
    #       --max_steps 100 --learning_rate 2e-3 --min_learning_rate 2e-4 --per_device_train_batch_size 32 \
    #       --eval_every 100 --eval_max_examples 32 --eval_splits validation --out runs/repro/hints-RUN
    #   hf-reasoning evaluate --model runs/repro/hints-RUN --dataset D/addition \
    #       --config cpu_hints-reversed_index_hints --split validation --split ood --max-rows 70 ...

Sources' settings (GPU, not run here; preset zhou2023-reversed_index_hints, train 1..40,
test 45..100; note the hint caveat above applies to it too)::

    python experiments/addition_index_hints.py --paper [--gpus 8] [--execute]
"""

from __future__ import annotations

import argparse
import re
import shutil

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import common  # noqa: E402

CONFIG = "cpu_hints-reversed_index_hints"
OOD = (11, 12, 13, 15, 17, 20, 25)
HINT = re.compile(r"\bh(\d+)\b")


def cpu_presets():
    from hf_reasoning.tasks.addition import AdditionConfig

    return {"cpu_hints": AdditionConfig(train_lengths=tuple(range(1, 11)), ood_lengths=OOD,
                                        formats=("reversed_index_hints",))}


def shift_training_hints(repo, out, top: int, seed: int = 0):
    """Copy the repo folder and rename the hints of its train split by a random offset per row."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if out.exists():
        shutil.rmtree(out)
    shutil.rmtree(common.datasets_cache(out), ignore_errors=True)
    shutil.copytree(repo, out)
    rng = np.random.default_rng(seed)
    for path in sorted((out / CONFIG).glob("train-*.parquet")):
        table = pq.read_table(path)
        lengths = table.column("length").to_numpy()
        offsets = rng.integers(0, top - lengths)  # hints h1..h(s+1) → h(1+k)..h(s+1+k) ≤ h(top)
        columns = {}
        for name in ("prompt", "completion"):
            texts = table.column(name).to_pylist()
            columns[name] = pa.array([HINT.sub(lambda m, k=int(k): f"h{int(m.group(1)) + k}", t)
                                      for t, k in zip(texts, offsets)], pa.string())
        for name, array in columns.items():
            table = table.set_column(table.schema.get_field_index(name), name, array)
        pq.write_table(table, path, compression="zstd")
    return out


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
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--max_rows", type=int, default=70)
    parser.add_argument("--runs", nargs="+", default=["package", "random_offset"], choices=["package", "random_offset"])
    args = parser.parse_args()
    if args.paper:
        paper(args)
        return

    work = common.REPO / args.work
    repo = common.build_with_presets("addition", cpu_presets(), [CONFIG], work / "hub_hints")
    datasets_by_run = {"package": repo}
    if "random_offset" in args.runs:
        top = max(OOD) + 1
        datasets_by_run["random_offset"] = shift_training_hints(repo, work / "hub_hints_offset" / "addition", top)
        print(f"wrote {datasets_by_run['random_offset']} (train hints shifted at random, up to h{top})")
    results = []
    for name in args.runs:
        dataset = datasets_by_run[name]
        run_dir = work / f"hints-{name}"
        train_s, metrics = common.train(dataset, CONFIG, run_dir, args.steps, eval_every=args.steps, eval_max_examples=32)
        eval_s, ev = common.evaluate(run_dir, dataset, CONFIG, ["validation", "ood"], work / f"hints-{name}-eval",
                                     max_rows=args.max_rows)
        r = ev["results"]
        results.append({"run": name, "steps": args.steps, "train_wall_s": train_s, "eval_wall_s": eval_s, "final_train_loss": common.final_loss(metrics),
                        "lengths": common.length_rows(ev), "train_max_length": r["train_max_length"],
                        "generalization_length": r["generalization_length"],
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
    table = common.markdown_table(["digits s", *[r["run"] for r in results]], rows)
    summary = common.markdown_table(
        ["run", "train ≤", "steps × 32", "train wall s", "final train loss", "gen. length (≥ 0.9)", "ratio"],
        [[r["run"], r["train_max_length"], r["steps"], f"{r['train_wall_s']:.0f}", r["final_train_loss"], r["generalization_length"],
          r["generalization_ratio"]] for r in results])
    markdown = (f"### addition, reversed + index hints (zhou2023 follow-up), train s ≤ 10 → test to 25, tiny model\n\n"
                f"Machine: {common.machine()}. Fixed training split of 10k rows, 32 a step; accuracy per operand "
                f"length s on validation (s ≤ 10) and ood (s ≥ 11), at most {args.max_rows} rows per split. "
                f"Source: 40 → 100 digits at > 98% (2.5×).\n\n{table}\n\n{summary}\n")
    fig, ax = plt.subplots(figsize=(6, 3.8))
    for res, marker in zip(results, ("o", "s")):
        ax.plot([x for x, _, _ in res["lengths"]], [a for _, a, _ in res["lengths"]], marker=marker, label=res["run"])
    ax.axvspan(0.5, 10.5, color="grey", alpha=0.15, label="training lengths")
    ax.axhline(0.9, color="grey", ls=":", lw=1)
    ax.set(xlabel="operand digits s", ylabel="accuracy", ylim=(-0.02, 1.02),
           title="addition, reversed + index hints, tiny model (CPU)")
    ax.legend(fontsize=8)
    payload = {"row": "addition_index_hints", "config": CONFIG, "model": "tiny", "machine": common.machine(),
               "presets": {k: repr(v) for k, v in cpu_presets().items()}, "runs": results}
    common.save("addition_index_hints", payload, markdown, fig)


if __name__ == "__main__":
    main()
