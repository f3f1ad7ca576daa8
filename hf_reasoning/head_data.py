"""The data of train-head: target and input specs, Arrow splits as tensors, the Boolean cube.

A :class:`HeadSpec` says what the head predicts (the target column and, for classification, its
label values); a :class:`FeatureSpec` how the MLP reads a row (a ±1 vector or one-hot digits).
:func:`load_tables` picks the training split (or every seen point of the cube) and the
evaluation splits; :func:`encode` turns one of them into tensors (:class:`Encoded`).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import torch

from .errors import HFReasoningError

MAX_CUBE_D = 20  # the whole cube (2**d rows) is a split up to this d


@dataclass
class HeadSpec:
    """What the head predicts: the target column and, for classification, the label values."""

    head: str
    target_column: str
    labels: list[str] = field(default_factory=list)  # class id -> label text
    label_values: list[float] | None = None  # class id -> number (numeric labels only)

    def to_json(self) -> dict:
        return {"head": self.head, "target_column": self.target_column, "labels": self.labels,
                "label_values": self.label_values}


@dataclass
class FeatureSpec:
    """How the MLP reads a row: ``vector`` (a number or list of numbers) or ``one_hot`` digits."""

    kind: str  # "vector" | "one_hot"
    columns: list[str]
    num_values: int = 10
    input_dim: int = 0

    def to_json(self) -> dict:
        return {"kind": self.kind, "columns": self.columns, "num_values": self.num_values, "input_dim": self.input_dim}


def load_data(args: argparse.Namespace):
    """The dataset config and the repo's hf_reasoning metadata (task, scale, seed; may be empty)."""
    from .dataset_repo import load_config, repo_metadata

    data = load_config(args.dataset, args.config)
    try:
        metadata = repo_metadata(args.dataset)
    except Exception:  # noqa: BLE001  (a plain dataset without our card is fine)
        metadata = {}
    return data, metadata


def load_tables(args: argparse.Namespace, data, task_name: str | None, is_mlp: bool) -> dict[str, pa.Table]:
    """``train`` (the --train_split, or ``seen_cube``: every seen point of the cube) and the
    evaluation splits as Arrow tables; ``cube`` is the whole Boolean cube (d <= 20)."""
    d = cube_dimension(args.config) if task_name == "boolean" else None
    tables: dict[str, pa.Table] = {}
    if args.train_split == "seen_cube":
        if d is None or d > MAX_CUBE_D:
            raise HFReasoningError(f"--train_split seen_cube needs a boolean config with d <= {MAX_CUBE_D}; "
                                   f"{args.config!r} of task {task_name!r} has none")
        cube = cube_table(args.config)
        tables["train"] = cube.filter(cube.column("seen"))
    elif args.train_split in data:
        tables["train"] = as_table(data[args.train_split])
    else:
        raise HFReasoningError(f"split {args.train_split!r} not in {args.dataset!r} config {args.config!r}; "
                               f"allowed: {', '.join(data)}, seen_cube")
    if args.max_train_samples is not None:
        tables["train"] = tables["train"].slice(0, args.max_train_samples)
    eval_names = ([s for s in data if s != "train"] if args.eval_splits == "auto"
                  else [s for s in args.eval_splits.split(",") if s])
    for name in eval_names:
        if name not in data and name != "cube":
            raise HFReasoningError(f"split {name!r} not in {args.dataset!r} config {args.config!r}; allowed: {', '.join(data)}, cube")
        if name != "cube":
            tables[name] = as_table(data[name])
    want_cube = "cube" in eval_names or (args.eval_cube == "yes") or (
        args.eval_cube == "auto" and args.eval_splits == "auto" and d is not None
        and d <= (MAX_CUBE_D if is_mlp else 16))
    if want_cube:
        if d is None or d > MAX_CUBE_D:
            raise HFReasoningError(f"the cube evaluation needs a boolean config with d <= {MAX_CUBE_D}; got {args.config!r}")
        tables["cube"] = cube_table(args.config)
    return tables


def as_table(split) -> pa.Table:
    """The rows of a ``datasets.Dataset`` (respecting a selection) or an Arrow table."""
    if isinstance(split, pa.Table):
        return split
    return split.with_format("arrow")[:]


def _is_numeric(arrow_type) -> bool:
    return pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type)


def _label_text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def head_spec(args, tables: dict[str, pa.Table]) -> HeadSpec:
    train = tables["train"]
    column = args.target_column
    if column == "auto":
        column = "target" if "target" in train.column_names else "answer"
    if column not in train.column_names:
        raise HFReasoningError(f"target column {column!r} not in the dataset; allowed: {', '.join(train.column_names)}")
    kind = train.schema.field(column).type
    if args.head == "regression":
        if not _is_numeric(kind):
            raise HFReasoningError(
                f"--head regression needs a numeric target column; {column!r} holds {kind}; allowed: --head "
                "classification, or --target_column naming a numeric column")
        return HeadSpec("regression", column)
    if not (_is_numeric(kind) or pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        raise HFReasoningError(f"--head classification needs a number or text target column; {column!r} holds {kind}")
    # the label set is the union over every split: it names the classes, it is no training signal
    values = sorted({v for t in tables.values() if column in t.column_names for v in t.column(column).to_pylist()},
                    key=lambda v: (_numeric(v) is None, _numeric(v) if _numeric(v) is not None else 0.0, str(v)))
    # class values count as numbers (for MSE and sign accuracy) only in a numeric column: pvr's
    # answer digits are categories
    numeric = [float(v) for v in values] if _is_numeric(kind) else None
    return HeadSpec("classification", column, [_label_text(v) for v in values], numeric)


def _numeric(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def target_arrays(spec: HeadSpec, table: pa.Table) -> tuple[np.ndarray, np.ndarray | None]:
    """(training labels, numeric target values or None) of the rows of ``table``."""
    column = table.column(spec.target_column).to_numpy(zero_copy_only=False)
    if spec.head == "regression":
        values = column.astype(np.float64)
        return values.astype(np.float32), values
    index = {label: i for i, label in enumerate(spec.labels)}
    texts = [_label_text(v) for v in column.tolist()]
    missing = sorted(set(texts) - set(index))
    if missing:
        raise HFReasoningError(f"target values {missing[:5]} are not among the labels {spec.labels[:20]}")
    labels = np.array([index[t] for t in texts], dtype=np.int64)
    values = None if spec.label_values is None else np.asarray(spec.label_values, dtype=np.float64)[labels]
    return labels, values


def list_matrix(table: pa.Table, column: str) -> np.ndarray:
    """A list column of equal-length rows as a 2-D numpy array (vectorised, no Python lists)."""
    array = table.column(column).combine_chunks()
    if not (pa.types.is_list(array.type) or pa.types.is_large_list(array.type) or pa.types.is_fixed_size_list(array.type)):
        return array.to_numpy(zero_copy_only=False)[:, None]
    rows = len(array)
    flat = array.flatten().to_numpy(zero_copy_only=False)
    if rows == 0:
        return flat.reshape(0, 0)
    if flat.shape[0] % rows:
        raise HFReasoningError(f"column {column!r} holds lists of different lengths; allowed: equal-length vectors")
    return flat.reshape(rows, -1)


def feature_spec(args, task_name: str | None, train: pa.Table) -> FeatureSpec:
    names = train.column_names
    if args.input_column == "auto":
        if "x" in names:
            spec = FeatureSpec("vector", ["x"])
        elif task_name == "pvr" or {"pointer", "values"} <= set(names):
            spec = FeatureSpec("one_hot", ["pointer", "values"], num_values=10)
        else:
            raise HFReasoningError(
                f"no input vector column for the MLP in {', '.join(names)}; allowed: --input_column NAME "
                "(a number or list-of-numbers column), or a boolean / pvr dataset")
    else:
        if args.input_column not in names:
            raise HFReasoningError(f"--input_column {args.input_column!r} not in the dataset; allowed: {', '.join(names)}")
        kind = train.schema.field(args.input_column).type
        inner = kind.value_type if hasattr(kind, "value_type") else kind
        if not _is_numeric(inner):
            raise HFReasoningError(f"--input_column {args.input_column!r} holds {kind}; allowed: a number or list-of-numbers column")
        spec = FeatureSpec("vector", [args.input_column])
    spec.input_dim = features(spec, train.slice(0, 1)).shape[1]
    return spec


def features(spec: FeatureSpec, table: pa.Table) -> np.ndarray:
    parts = [list_matrix(table, c) for c in spec.columns]
    matrix = np.concatenate(parts, axis=1) if parts else np.zeros((table.num_rows, 0))
    if spec.kind == "vector":
        return matrix.astype(np.float32)
    digits = matrix.astype(np.int64)
    if digits.size and (digits.min() < 0 or digits.max() >= spec.num_values):
        raise HFReasoningError(f"one-hot input columns {spec.columns} hold values outside 0..{spec.num_values - 1}")
    return np.eye(spec.num_values, dtype=np.float32)[digits].reshape(table.num_rows, -1)


@dataclass
class Encoded:
    """One split as tensors: model inputs and ``labels``, plus what scoring and the curriculum need."""

    inputs: dict[str, torch.Tensor]
    values: np.ndarray | None  # numeric targets (MSE), None for non-numeric labels
    groups: np.ndarray  # group tag per row (for breakdowns)
    x: np.ndarray | None  # the ±1 input vectors, where the dataset has them

    def __len__(self) -> int:
        return self.inputs["labels"].shape[0]

    def rows(self, index) -> dict[str, torch.Tensor]:
        return {k: v[index] for k, v in self.inputs.items()}


def encode(table: pa.Table, spec: HeadSpec, feats: FeatureSpec | None, tokenizer, group_by_seen: bool = False) -> Encoded:
    labels, values = target_arrays(spec, table)
    inputs: dict[str, torch.Tensor] = {"labels": torch.from_numpy(labels)}
    if feats is not None:
        inputs["inputs"] = torch.from_numpy(features(feats, table))
    else:
        batch = tokenizer(table.column("prompt").to_pylist(), padding="longest", return_tensors="pt")
        inputs["input_ids"], inputs["attention_mask"] = batch["input_ids"], batch["attention_mask"]
    if group_by_seen and "seen" in table.column_names:
        groups = np.where(table.column("seen").to_numpy(zero_copy_only=False), "seen", "unseen")
    elif "group" in table.column_names:
        groups = np.asarray(table.column("group").to_pylist(), dtype=object)
    else:
        groups = np.full(table.num_rows, "", dtype=object)
    x = list_matrix(table, "x").astype(np.int8) if "x" in table.column_names else None
    return Encoded(inputs, values, groups, x)


def spread(n: int, limit: int) -> np.ndarray:
    """At most ``limit`` indices spread evenly over ``range(n)`` (the cube is in cube order)."""
    return np.unique(np.linspace(0, n - 1, num=min(limit, n)).round().astype(np.int64)) if n else np.zeros(0, np.int64)


def cube_table(config: str) -> pa.Table:
    from .tasks.boolean import cube_rows

    return cube_rows(config)


def cube_dimension(config: str) -> int | None:
    """d of a boolean config (None if the name is not one)."""
    from .tasks import get_task

    try:
        _, cfg, _ = get_task("boolean").parse_config(config)
    except HFReasoningError:
        return None
    return cfg.d
