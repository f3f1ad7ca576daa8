"""Build and publish the `cycles` Hub dataset repo.

    python dataset_scripts/cycles.py --repo-id ORG/cycles [--scale paper] [--seed 0] [--dry-run]
"""

from __future__ import annotations

import argparse
import tempfile

from hf_reasoning.hub import publish, write_repo

TASK = "cycles"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repo-id", required=True, help="ORG/NAME of the dataset repo")
    parser.add_argument("--scale", default="paper", help="tiny, default or paper")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--private", action="store_true")
    parser.add_argument("--dry-run", action="store_true", help="build, then list what would be uploaded")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_repo(TASK, f"{tmp}/{TASK}", scale=args.scale, seed=args.seed)
        for name, size in publish(folder, args.repo_id, private=args.private, dry_run=args.dry_run):
            print(f"{size:>12,}  {name}")


if __name__ == "__main__":
    main()
