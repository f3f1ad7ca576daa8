"""Parity, inductive scratchpad (random-space): length generalisation (docs/reproductions.md, row 1).

Source (abbe2024): trained on ≤ 30 bits in 60 slots, the inductive scratchpad generalises
to ~55 bits; the plain format does not leave its training range.

CPU scale (default; what `docs/reproductions.md` reports): the main job itself,
``hf-reasoning quickstart`` — the ``tiny`` model (0.8M parameters) on the ``laptop16`` preset
(1..6 bits in 16 slots, OOD 7..12), plain vs inductive; its table, JSON and plot are copied
to ``docs/reproductions/parity_quickstart*``::

    python experiments/parity_length.py              # ≈ 10 min on 2 cores
    python experiments/parity_length.py --quick      # ≈ 3 min, a first look

Paper scale (``--paper``; GPUs): the ``abbe2024`` preset (train 1..30 bits in 60 slots, OOD
31..60) at the paper scale (1.5M training rows), the source's 10M GPT-2-style model and
optimiser (AdamW, lr 3e-4 cosine to 3e-5, batch 512), data parallel with Accelerate. It
prints the commands; ``--run`` also runs them::

    python experiments/parity_length.py --paper [--run] [--num-processes 8]
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs" / "reproductions"


def paper_commands(num_processes: int, out: Path) -> list[list[str]]:
    hub, runs = out / "hub", out / "runs"
    config = [str(REPO / "hf_reasoning" / "accelerate_configs" / "ddp.yaml")]
    commands = [["hf-reasoning", "build", "parity", "--config", "abbe2024-inductive", "--config", "abbe2024-plain",
                 "--scale", "paper", "--out", str(hub), "--overwrite"]]
    for fmt in ("inductive", "plain"):
        run = runs / f"parity-abbe2024-{fmt}-10m"
        commands.append([
            "accelerate", "launch", "--config_file", *config, "--num_processes", str(num_processes),
            "-m", "hf_reasoning.train", "--dataset", str(hub / "parity"), "--config", f"abbe2024-{fmt}",
            "--model", "abbe2024-10m", "--out", str(run), "--overwrite", "--fresh",
            # the source's batch of 512, split over the processes
            "--per_device_train_batch_size", str(512 // num_processes), "--max_steps", "100000",
            "--learning_rate", "3e-4", "--min_learning_rate", "3e-5", "--eval_every", "5000",
            "--checkpoint_every", "5000", "--eval_splits", "validation,ood",
        ])
        commands.append(["hf-reasoning", "evaluate", "--model", str(run), "--dataset", str(hub / "parity"),
                         "--config", f"abbe2024-{fmt}", "--split", "validation", "--split", "ood", "--out", str(run)])
    return commands


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paper", action="store_true", help="The source's settings (GPUs): print the commands.")
    parser.add_argument("--run", action="store_true", help="With --paper: also run them.")
    parser.add_argument("--num-processes", type=int, default=8, help="GPUs for --paper.")
    parser.add_argument("--quick", action="store_true", help="CPU scale: the quickstart's --quick recipe.")
    parser.add_argument("--out", type=Path, default=Path("experiments_out/parity"))
    args = parser.parse_args()

    if args.paper:
        for command in paper_commands(args.num_processes, args.out):
            print(shlex.join(command))
            if args.run:
                subprocess.run(command, check=True)
        return

    from hf_reasoning import quickstart

    results = args.out / "quickstart"
    quickstart.run(results, args.out / "hub", quick=args.quick, overwrite=True)
    DOCS.mkdir(parents=True, exist_ok=True)
    suffix = "_quick" if args.quick else ""
    for name, target in (("results.md", f"parity_quickstart{suffix}.md"), ("results.json", f"parity_quickstart{suffix}.json"),
                         ("accuracy_vs_length.png", f"parity_quickstart{suffix}.png")):
        shutil.copyfile(results / name, DOCS / target)
    text = (DOCS / f"parity_quickstart{suffix}.md").read_text()
    (DOCS / f"parity_quickstart{suffix}.md").write_text(text.replace("accuracy_vs_length.png", f"parity_quickstart{suffix}.png"))
    print(f"copied the results to {DOCS}", file=sys.stderr)


if __name__ == "__main__":
    main()
