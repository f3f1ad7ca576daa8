"""Plain ``datasets.load_dataset(folder, config)`` returns the rows of the folder's own Parquet
files after any rebuild, rescale or reseed, and for two folders of the same name.

``datasets`` keys its cache of a local folder by the folder's name, the config name and a hash
of the card's ``configs:``/``dataset_info`` entries, not of the data files; the dataset card
therefore carries each config's data fingerprint (see ``hf_reasoning.cards.config_entry``).
These tests load with ``datasets.load_dataset`` itself, in one ``HF_HOME``, and compare with the
Parquet files read directly by pyarrow.
"""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest
import yaml

CONFIG = "laptop-plain"


def rows_on_disk(repo, config=CONFIG, split="train") -> list[str]:
    files = sorted((repo / config).glob(f"{split}-*.parquet"))
    return [p for f in files for p in pq.read_table(f, columns=["prompt"])["prompt"].to_pylist()]


def rows_loaded(repo, config=CONFIG, split="train") -> list[str]:
    from datasets import load_dataset

    return load_dataset(str(repo), config, split=split)["prompt"]


def build(repo, *, seed=0, scale="tiny", overwrite=False):
    from hf_reasoning.hub import write_repo

    write_repo("parity", repo, scale=scale, seed=seed, configs=[CONFIG], overwrite=overwrite)
    return repo


def test_two_folders_of_the_same_name_each_load_their_own_rows(tmp_path):
    seed0 = build(tmp_path / "a" / "parity", seed=0)
    seed1 = build(tmp_path / "b" / "parity", seed=1)
    default = build(tmp_path / "c" / "parity", seed=0, scale="default")
    assert rows_on_disk(seed0) != rows_on_disk(seed1)
    assert len(rows_on_disk(default)) == 10_000 != len(rows_on_disk(seed0))
    for repo in (seed0, seed1, default, seed0, default):  # any order, each from one HF_HOME
        assert rows_loaded(repo) == rows_on_disk(repo)
        assert rows_loaded(repo, split="ood") == rows_on_disk(repo, split="ood")


def test_rebuild_in_place_loads_the_new_rows(tmp_path):
    repo = build(tmp_path / "parity", seed=0)
    first = rows_on_disk(repo)
    assert rows_loaded(repo) == first
    build(repo, seed=1, overwrite=True)  # reseed in place
    assert rows_on_disk(repo) != first
    assert rows_loaded(repo) == rows_on_disk(repo)
    build(repo, seed=1, scale="default", overwrite=True)  # rescale in place
    assert rows_loaded(repo) == rows_on_disk(repo)
    assert len(rows_loaded(repo)) == 10_000


def test_unchanged_rebuild_has_the_same_card(tmp_path):
    """Same task, config, scale and seed → the same fingerprint (the cache is reused, correctly)."""
    a = build(tmp_path / "a" / "parity", seed=3)
    b = build(tmp_path / "b" / "parity", seed=3)
    assert (a / "README.md").read_bytes() == (b / "README.md").read_bytes()


def card_yaml(repo) -> dict:
    return yaml.safe_load((repo / "README.md").read_text().split("---", 2)[1])


def test_card_fingerprint_is_the_sha256_of_the_files(tmp_path):
    import hashlib

    repo = build(tmp_path / "parity", seed=0)
    digest = hashlib.sha256()
    for split in ("train", "validation", "test", "ood"):
        for f in sorted((repo / CONFIG).glob(f"{split}-*.parquet")):
            digest.update(f"{CONFIG}/{f.name}\0".encode() + f.read_bytes())
    (entry,) = card_yaml(repo)["configs"]
    assert entry["description"].endswith(f"sha256 {digest.hexdigest()}")


@pytest.mark.parametrize("task,config", [("parity", "laptop-inductive"), ("pvr_visual", "block-pixels")])
def test_dataset_info_matches_the_files(tmp_path, task, config):
    """``dataset_info`` in the card: features as the files' own, one split entry per split with its rows."""
    from datasets import Features, load_dataset_builder
    from huggingface_hub import DatasetCard

    from hf_reasoning.hub import write_repo

    repo = write_repo(task, tmp_path / task, scale="tiny", seed=0, configs=[config])
    infos = DatasetCard.load(repo / "README.md").data.to_dict()["dataset_info"]
    info = next(i for i in (infos if isinstance(infos, list) else [infos]) if i.get("config_name", config) == config)
    on_disk = {split["name"]: sum(pq.read_metadata(f).num_rows for f in (repo / config).glob(f"{split['name']}-*.parquet"))
               for split in info["splits"]}
    assert {s["name"]: s["num_examples"] for s in info["splits"]} == on_disk
    schema = pq.read_schema(next((repo / config).glob("train-*.parquet")))
    builder = load_dataset_builder(str(repo), config)
    assert builder.info.features == Features.from_arrow_schema(schema)
    assert {k: v.num_examples for k, v in builder.info.splits.items()} == on_disk


def test_fingerprint_alone_separates_builds_of_equal_sizes(tmp_path):
    """Two builds whose ``dataset_info`` (sizes) happen to be equal still load their own rows:
    b's card is given a's ``dataset_info`` block, leaving only the fingerprint to tell them apart."""
    a = build(tmp_path / "a" / "parity", seed=0)
    b = build(tmp_path / "b" / "parity", seed=1)
    header_a, header_b = card_yaml(a), card_yaml(b)
    header_b["dataset_info"] = header_a["dataset_info"]
    body_b = (b / "README.md").read_text().split("---", 2)[2]
    (b / "README.md").write_text("---\n" + yaml.safe_dump(header_b, sort_keys=False) + "---" + body_b)
    assert rows_loaded(a) == rows_on_disk(a)
    assert rows_loaded(b) == rows_on_disk(b) != rows_on_disk(a)
