"""Build and publish the `mode` Hub dataset repo (Parquet + dataset card).

    python dataset_scripts/publish_mode.py --repo-id ORG/mode [--scale paper] [--seed 0] [--private] [--dry-run]
"""

from hf_reasoning.hub import dataset_script_main

if __name__ == "__main__":
    dataset_script_main("mode")
