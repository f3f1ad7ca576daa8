"""Build and publish the `addition` Hub dataset repo (Parquet + dataset card).

    python dataset_scripts/publish_addition.py --repo-id ORG/addition [--scale paper] [--seed 0] [--private] [--dry-run]
"""

from hf_reasoning.hub import dataset_script_main

if __name__ == "__main__":
    dataset_script_main("addition")
