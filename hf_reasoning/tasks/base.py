"""What every task provides, and the small value types the split builder works with.

A task (reasoning-gym style) is a config dataclass, a registry of named presets of that
config, and three functions:

* ``sample(config, fmt, group, n, rng, layout_rng)`` draws ``n`` structured instances of
  one generation group (a length, or a named distribution shift) as numpy arrays. The
  instance itself comes from ``rng``; format-only randomness (slot positions, filler
  letters) comes from ``layout_rng``, so every format of one preset shares its instances.
* ``key(instances)`` is an integer matrix that identifies an instance (used to keep the
  splits of a config disjoint: it hashes the structured instance, never the text).
* ``to_columns(config, fmt, instances)`` renders the text (``prompt``/``completion``) and
  the structured columns as Arrow arrays. :func:`group_table` then writes each completion
  after one space (``" 1 0 ."``), so that ``prompt + completion`` is the training text.

The data flows one way: instance → format → split → dataset.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa

from ..errors import HFReasoningError, check_choice
from ..text import Vocab, constant_strings, digit_strings, with_leading_space


# formats whose completion is the answer alone and the end token (exact match = answer accuracy)
ANSWER_ONLY_FORMATS = ("plain", "reversed", "labels", "pixels")


@dataclass(frozen=True)
class Group:
    """One unit of generation: a length (``params`` = the length) or a named shift."""

    name: str
    length: int
    params: Any = None


@dataclass(frozen=True)
class Scale:
    """Rows per split: ``train``/``validation``/``test`` in total, ``ood`` per OOD group."""

    train: int
    validation: int
    test: int
    ood: int


SCALES: dict[str, Scale] = {
    "tiny": Scale(train=256, validation=64, test=64, ood=32),
    "default": Scale(train=10_000, validation=500, test=500, ood=200),
}


@dataclass
class Instances:
    """Structured instances of one group: named numpy arrays with a leading row axis."""

    arrays: dict[str, np.ndarray]
    key: np.ndarray  # (rows, K) int64, identifies the instance

    def __len__(self) -> int:
        return self.key.shape[0]

    def __getitem__(self, name: str) -> np.ndarray:
        return self.arrays[name]

    def take(self, index: np.ndarray) -> "Instances":
        return Instances({k: v[index] for k, v in self.arrays.items()}, self.key[index])


class Task:
    """Base class of a task: subclasses set the class attributes and implement the hooks."""

    name: ClassVar[str]
    title: ClassVar[str]
    sources: ClassVar[tuple[str, ...]]
    formats: ClassVar[tuple[str, ...]]
    vocab: ClassVar[Vocab]
    presets: ClassVar[dict[str, Any]]
    # rows of the `paper` scale (the sources' sizes)
    paper_scale: ClassVar[Scale] = Scale(train=1_000_000, validation=10_000, test=10_000, ood=1_000)
    description: ClassVar[str] = ""
    format_docs: ClassVar[dict[str, str]] = {}

    # -- configs -------------------------------------------------------------------------
    def config_names(self) -> list[str]:
        return [f"{p}-{f}" for p, cfg in self.presets.items() for f in cfg.formats]

    def parse_config(self, config_name: str) -> tuple[str, Any, str]:
        """``"abbe2024-inductive"`` → (preset name, preset config, format)."""
        preset, sep, fmt = config_name.rpartition("-")
        if not sep or preset not in self.presets or fmt not in self.presets[preset].formats:
            check_choice(f"config of task {self.name!r}", config_name, self.config_names())
        cfg = self.presets[preset]
        self.validate(cfg, fmt)
        return preset, cfg, fmt

    def validate(self, cfg, fmt: str) -> None:
        """Raise :class:`HFReasoningError` for impossible settings (checked before any work)."""

    # -- groups --------------------------------------------------------------------------
    def train_groups(self, cfg) -> list[tuple[Group, float]]:
        raise NotImplementedError

    def ood_groups(self, cfg) -> list[Group]:
        return []

    def split_groups(self, cfg, split: str) -> list[tuple[Group, float]]:
        """The groups (with weights) a ``validation`` or ``test`` split samples: the training
        groups unless the task evaluates elsewhere (the whole Boolean cube, held-out images)."""
        return self.train_groups(cfg)

    def exhaustive_split(self, cfg, fmt: str, split: str) -> list[tuple[Group, Instances]] | None:
        """Every instance of the split's groups, each exactly once, for an evaluation split the
        task enumerates instead of sampling (the whole cube of a small Boolean config); None:
        sample it. Never used for ``train``."""
        return None

    def features(self, cfg, fmt: str) -> dict[str, Any]:
        """``datasets`` feature types of the columns whose Arrow type does not say what they
        are (an ``Image`` is a struct of PNG bytes and a path); the others follow their Arrow type."""
        return {}

    def space_log2(self, cfg, fmt: str, group: Group) -> float:
        """log2 of the number of distinct instances of a group (for the overlap rule)."""
        return math.inf

    # -- instances -------------------------------------------------------------------------
    def sample(self, cfg, fmt: str, group: Group, n: int, rng: np.random.Generator,
               layout_rng: np.random.Generator) -> Instances:
        raise NotImplementedError

    def to_columns(self, cfg, fmt: str, inst: Instances) -> dict[str, pa.Array]:
        """``prompt``, ``completion``, ``answer`` and the structured columns."""
        raise NotImplementedError

    def parse_answer(self, fmt: str, completion: str) -> str | None:
        """The answer a completion gives, by the format's documented rule (None if malformed)."""
        raise NotImplementedError

    # -- scoring (hf_reasoning.evaluation) ------------------------------------------------------
    def exact_match(self, fmt: str, prediction: str, reference: str) -> bool:
        """Whether a prediction is the whole reference completion, scratchpad included. Both are
        canonical token texts (``evaluation.canonical_tokens`` joined by spaces). Default: token
        equality; a format with unpredictable filler tokens overrides it to mask them out."""
        return prediction.split() == reference.split()

    def headline_metric(self, fmt: str) -> str:
        """Which score is a format's headline ``accuracy`` and drives its generalisation length:
        ``"exact_match"`` where the completion is more than the answer (scratchpads, inductive
        states, index hints), so that a wrong derivation with a lucky answer is not counted;
        ``"answer_accuracy"`` for answer-only formats, where the two coincide."""
        return "answer_accuracy" if fmt in ANSWER_ONLY_FORMATS else "exact_match"


def length_groups(lengths, weights=None) -> list[tuple[Group, float]]:
    lengths = list(lengths)
    weights = [1.0] * len(lengths) if weights is None else list(weights)
    total = float(sum(weights))
    return [(Group(str(n), n, n), w / total) for n, w in zip(lengths, weights)]


def positive_lengths(name: str, lengths) -> None:
    for n in lengths:
        if n <= 0:
            raise HFReasoningError(f"{name} must be positive, got {n}")


def random_subsets(rng: np.random.Generator, rows: int, universe: int, k: int) -> np.ndarray:
    """``k`` distinct sorted elements of ``range(universe)`` per row, vectorised."""
    if k == 0:
        return np.zeros((rows, 0), dtype=np.int64)
    scores = rng.random((rows, universe))
    chosen = np.argpartition(scores, k - 1, axis=1)[:, :k] if k < universe else np.argsort(scores, axis=1)
    return np.sort(chosen, axis=1)


def distinct_draws(rng: np.random.Generator, rows: int, k: int, universe: int) -> np.ndarray:
    """``k`` distinct elements of ``range(universe)`` per row, in uniformly random order.

    Draws with replacement and redraws the rows that repeat an element: conditioned on
    being distinct, i.i.d. draws are a uniform ordered k-subset, at O(k) per row instead of
    O(universe) (meant for k well below sqrt(universe) · a few)."""
    dtype = np.int16 if universe <= np.iinfo(np.int16).max else np.int64
    out = rng.integers(0, universe, size=(rows, k), dtype=dtype)
    todo = np.arange(rows)
    while todo.size:
        ordered = np.sort(out[todo], axis=1)
        todo = todo[(ordered[:, 1:] == ordered[:, :-1]).any(axis=1)]
        out[todo] = rng.integers(0, universe, size=(todo.size, k), dtype=dtype)
    return out


def random_permutations(rng: np.random.Generator, rows: int, k: int) -> np.ndarray:
    return np.argsort(rng.random((rows, k)), axis=1)


def answer_column(values: np.ndarray) -> pa.Array:
    """Single-digit answers (labels, parities) as a string column."""
    return digit_strings(values)


def split_completion(completion: str) -> list[str] | None:
    """The tokens of a well-formed completion without its end token ``.`` (else None)."""
    tokens = completion.split()
    if not tokens or tokens[-1] != "." or "." in tokens[:-1]:
        return None
    return tokens[:-1]


def group_table(task: Task, cfg, fmt: str, group: Group, inst: Instances) -> pa.Table:
    """The rows of one group: ``prompt``, ``completion``, ``answer``, ``length``, ``group``, then the
    task's structured columns.

    The completion starts with one space (generator ≥ 0.6.0; docs/formats.md): ``prompt +
    completion`` is then the text the project trains on, and TRL's ``SFTTrainer``, which joins
    prompt-completion rows with nothing between them, tokenizes it the same way. Rows of
    generator ≤ 0.5.0 have no leading space; every consumer joins both alike
    (:func:`hf_reasoning.tokenization.training_text`)."""
    columns = task.to_columns(cfg, fmt, inst)
    rows = len(inst)
    head = {
        "prompt": columns.pop("prompt"),
        "completion": with_leading_space(columns.pop("completion")),
        "answer": columns.pop("answer"),
        "length": pa.array(np.full(rows, group.length, dtype=np.int32)),
        "group": constant_strings(group.name, rows),
    }
    return pa.table({**head, **columns})
