"""Build and publish the `pvr` Hub dataset repo (Parquet + dataset card).

    python dataset_scripts/publish_pvr.py --repo-id ORG/pvr [--scale paper] [--seed 0] [--private] [--dry-run]
"""

from hf_reasoning.hub import dataset_script_main

if __name__ == "__main__":
    dataset_script_main("pvr")
