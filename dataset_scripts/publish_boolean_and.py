"""Build and publish the `boolean_and` Hub dataset repo (Parquet + dataset card).

    python dataset_scripts/publish_boolean_and.py --repo-id ORG/boolean_and [--scale paper] [--seed 0] [--private] [--dry-run]
"""

from hf_reasoning.hub import dataset_script_main

if __name__ == "__main__":
    dataset_script_main("boolean_and")
