"""Shared test set-up: offline Hugging Face libraries, and the tiny Hub repo folders.

* Every test runs offline (``HF_HUB_OFFLINE=1``, ``HF_DATASETS_OFFLINE=1``) with a temporary
  ``HF_HOME``: the variables are set for the whole session when pytest starts (the HF
  libraries read them at import time) and again, per test, by an autouse fixture (so a test
  that changes them cannot leak into the next one).
* ``hub_dir`` builds the Hub repo folders of the four foundation tasks (parity, addition,
  cycles, implications) once per session, at scale ``tiny`` and seed 0:
  ``hub_dir / <task> / README.md`` and ``hub_dir / <task> / <config> / <split>-*.parquet``.
* ``read_split`` reads one split of one config of ``hub_dir`` as a list of row dicts
  (cached), ``repo_configs`` lists the configs of a task's folder.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from functools import lru_cache
from pathlib import Path

import pytest

HUB_TASKS = ("parity", "addition", "cycles", "implications")
HUB_SCALE = "tiny"
HUB_SEED = 0

_OFFLINE_VARS = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
_saved_env: dict[str, str | None] = {}
_session_hf_home: str | None = None


def pytest_configure(config):
    """Offline and a throw-away HF_HOME before any test module imports datasets/transformers."""
    global _session_hf_home
    _session_hf_home = tempfile.mkdtemp(prefix="hf_reasoning_tests_hf_home_")
    for name, value in {**_OFFLINE_VARS, "HF_HOME": _session_hf_home}.items():
        _saved_env[name] = os.environ.get(name)
        os.environ[name] = value


def pytest_unconfigure(config):
    for name, value in _saved_env.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    if _session_hf_home:
        shutil.rmtree(_session_hf_home, ignore_errors=True)


@pytest.fixture(scope="session")
def hf_home(tmp_path_factory) -> Path:
    """A temporary HF_HOME shared by the tests of this session."""
    path = tmp_path_factory.getbasetemp() / "hf_home"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(autouse=True)
def _hf_offline(monkeypatch, hf_home):
    """Every test: HF libraries offline, HF_HOME (and the datasets cache) in a temporary folder."""
    for name, value in _OFFLINE_VARS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("HF_HOME", str(hf_home))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(hf_home / "datasets"))
    # the libraries read these at import time: patch the module constants when loaded
    constants = sys.modules.get("huggingface_hub.constants")
    if constants is not None:
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True, raising=False)
    ds_config = sys.modules.get("datasets.config")
    if ds_config is not None:
        monkeypatch.setattr(ds_config, "HF_HUB_OFFLINE", True, raising=False)
        monkeypatch.setattr(ds_config, "HF_DATASETS_OFFLINE", True, raising=False)
        monkeypatch.setattr(ds_config, "HF_DATASETS_CACHE", hf_home / "datasets", raising=False)
    yield


def build_hub(out: Path, seed: int = HUB_SEED, scale: str = HUB_SCALE, tasks=HUB_TASKS) -> Path:
    """Write the repo folders of ``tasks`` under ``out`` (``out/<task>``)."""
    from hf_reasoning.hub import write_repos

    with pytest.MonkeyPatch.context() as mp:
        for name, value in _OFFLINE_VARS.items():
            mp.setenv(name, value)
        write_repos(list(tasks), out, scale=scale, seed=seed)
    return out


@pytest.fixture(scope="session")
def hub_dir(tmp_path_factory) -> Path:
    """The tiny repo folders of parity, addition, cycles and implications (seed 0), built once."""
    return build_hub(tmp_path_factory.mktemp("hub") / "hub")


@pytest.fixture(scope="session")
def repo_configs(hub_dir):
    """``repo_configs(task)``: the config folders of a task's repo, sorted."""
    def configs(task: str) -> list[str]:
        return sorted(p.name for p in (hub_dir / task).iterdir() if p.is_dir())

    return configs


@pytest.fixture(scope="session")
def read_split(hub_dir):
    """``read_split(task, config, split)``: the rows of one split as a list of dicts (or [] if absent)."""
    import pyarrow.parquet as pq

    @lru_cache(maxsize=None)
    def read(task: str, config: str, split: str) -> tuple:
        files = sorted((hub_dir / task / config).glob(f"{split}-*.parquet"))
        rows = []
        for f in files:
            rows.extend(pq.read_table(f).to_pylist())
        return tuple(rows)

    def reader(task: str, config: str, split: str) -> list[dict]:
        return list(read(task, config, split))

    return reader


@pytest.fixture(scope="session")
def config_splits(hub_dir):
    """``config_splits(task, config)``: the split names present in a config folder."""
    def splits(task: str, config: str) -> list[str]:
        order = ["train", "validation", "test", "ood"]
        present = {p.name.split("-")[0] for p in (hub_dir / task / config).glob("*.parquet")}
        return [s for s in order if s in present] + sorted(present - set(order))

    return splits


@pytest.fixture(scope="session")
def hub_builder():
    """``hub_builder(out, seed=0, scale="tiny", tasks=…)``: write more repo folders (e.g. to compare builds)."""
    return build_hub


@pytest.fixture
def fresh_accelerator():
    """Reset Accelerate's process-wide state after a test that trains through Trainer/SFTTrainer or
    lm_eval (their Accelerator would otherwise leak its settings into the next test)."""
    yield
    from accelerate.state import AcceleratorState, GradientState

    AcceleratorState._reset_state(reset_partial_state=True)
    GradientState._reset_state()
