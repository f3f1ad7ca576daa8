"""Build and publish the `sort` Hub dataset repo (Parquet + dataset card).

    python dataset_scripts/publish_sort.py --repo-id ORG/sort [--scale paper] [--seed 0] [--private] [--dry-run]
"""

from hf_reasoning.hub import dataset_script_main

if __name__ == "__main__":
    dataset_script_main("sort")
