"""hf_reasoning: reasoning and out-of-distribution generalisation benchmarks for Transformers."""

__version__ = "0.3.0"

from .errors import HFReasoningError  # noqa: E402
from .splits import build_config, build_dataset, list_tasks, stream_train  # noqa: E402

__all__ = ["HFReasoningError", "build_config", "build_dataset", "list_tasks", "stream_train", "write_repo", "__version__"]


def write_repo(*args, **kwargs):
    """Write a task's Hub dataset repo folder (see :func:`hf_reasoning.hub.write_repo`)."""
    from .hub import write_repo as _write_repo

    return _write_repo(*args, **kwargs)
