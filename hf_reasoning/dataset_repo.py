"""Reading a dataset repo, local folder or Hub id: its card's metadata and its configs.

The low layer every reader of built data uses (training, evaluation, cards); it imports no
cards and no writers, so the data flows one way: writing (``hub``) → reading (here).
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from .errors import HFReasoningError


def card_metadata(folder: str | os.PathLike) -> dict:
    """The YAML header of a repo folder's README.md."""
    readme = Path(folder) / "README.md"
    if not readme.is_file():
        raise HFReasoningError(f"{str(folder)!r} has no README.md; allowed: a repo folder written by hf-reasoning")
    text = readme.read_text()
    if not text.startswith("---"):
        return {}
    try:
        meta = yaml.safe_load(text.split("---", 2)[1]) or {}
    except yaml.YAMLError as error:
        where = getattr(error, "problem_mark", None)
        raise HFReasoningError(f"{str(readme)!r} has a malformed YAML header ({getattr(error, 'problem', None) or 'unparsable'}"
                               f"{f' at line {where.line + 1}' if where else ''}); allowed: the card hf-reasoning wrote") from None
    if not isinstance(meta, dict):
        raise HFReasoningError(f"{str(readme)!r} has a YAML header that is not a mapping; allowed: the card hf-reasoning wrote")
    return meta


def load_config(dataset: str | os.PathLike, config: str, **kwargs):
    """``datasets.load_dataset(dataset, config)`` with a one-line error, and a correct cache for
    local folders.

    datasets caches a local folder's config under the folder's *name* and a hash that ignores
    the Parquet files (docs/datasets_local_cache.md). Folders written by hf_reasoning ≥ 0.5.0
    carry each config's data fingerprint in the card, which makes plain ``load_dataset`` right;
    this loader is right also for older folders and folders edited by hand: a local folder gets
    its own cache directory keyed by its path and the size and mtime of every file. Hub repos
    keep the normal cache, whose key has the revision.
    """
    import hashlib

    import datasets

    folder = Path(dataset)
    if folder.is_dir() and "cache_dir" not in kwargs:
        fingerprint = hashlib.sha256(str(folder.resolve()).encode())
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            stat = path.stat()
            fingerprint.update(f"{path.relative_to(folder)}:{stat.st_size}:{stat.st_mtime_ns};".encode())
        kwargs["cache_dir"] = str(Path(datasets.config.HF_DATASETS_CACHE) / "hf_reasoning_local" / fingerprint.hexdigest()[:16])
    try:
        return datasets.load_dataset(str(dataset), config, **kwargs)
    except (FileNotFoundError, ValueError, datasets.exceptions.DatasetNotFoundError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise HFReasoningError(f"cannot load dataset {str(dataset)!r} config {config!r}: {first_line[:300]}") from None


def repo_metadata(folder_or_repo: str | os.PathLike) -> dict:
    """``{"task", "scale", "seed", "generator_version"}`` of a dataset repo (folder or Hub id)."""
    path = Path(folder_or_repo)
    if not path.is_dir():
        from huggingface_hub import hf_hub_download

        path = Path(hf_hub_download(str(folder_or_repo), "README.md", repo_type="dataset")).parent
    return dict(card_metadata(path).get("hf_reasoning", {}))
