"""hf_reasoning: reasoning and out-of-distribution generalisation benchmarks for Transformers."""

from .version import __version__  # noqa: F401

import os as _os

# OpenMP threads that spin while they wait make small-model CPU training 4-60x slower as soon
# as another process shares the cores (measured: a tiny-model step took 4.4 s instead of
# 0.9 s on a busy 2-core machine). Passive waiting removes that cliff; it only takes effect
# when torch is imported after this package, and a value the user set is kept.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

# the `evaluate` metric's folder, installed with the package: evaluate.load(OOD_ACCURACY) from any folder
OOD_ACCURACY = _os.path.join(_os.path.dirname(_os.path.abspath(__file__)), "metrics", "ood_accuracy")

from .errors import HFReasoningError  # noqa: E402
from .splits import build_config, build_dataset, list_tasks, stream_train  # noqa: E402

__all__ = ["OOD_ACCURACY", "HFReasoningError", "build_config", "build_dataset", "list_tasks", "stream_train", "write_repo", "__version__"]


def write_repo(*args, **kwargs):
    """Write a task's Hub dataset repo folder (see :func:`hf_reasoning.hub.write_repo`)."""
    from .hub import write_repo as _write_repo

    return _write_repo(*args, **kwargs)
