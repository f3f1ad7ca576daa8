"""Baselines for numeric targets (Boolean functions, PVR): an MLP on the input vector, or a
Hugging Face sequence classification / regression head on the token prompt.

    python -m hf_reasoning.classification --dataset hub/boolean --config gotu_x0x1-plain \\
        --model mlp --head regression --out runs/gotu-mlp
    python -m hf_reasoning.classification --dataset hub/pvr --config m0_sum-plain \\
        --model tiny-encoder --head classification --out runs/pvr-enc
    accelerate launch -m hf_reasoning.classification …          # same arguments, data parallel

Models (``--model``):

* ``mlp``: the ReLU MLP of abbe2022/abbe2023 (hidden sizes 512, 1024, 512, 64 by default;
  ``--mlp_hidden_sizes`` or ``--mlp_width``/``--mlp_depth``) on the input vector: the ±1
  column ``x`` of the boolean task, or the one-hot digits (pointer, values) of pvr.
* ``tiny-encoder``: a BERT-style encoder (3 layers × 4 heads × 128, no dropout) built from
  scratch with ``AutoModelForSequenceClassification``, a word-level tokenizer over the task
  vocabulary and a ``<bos>`` token in front of every prompt (the pooled position).
* any other name: a pretrained encoder (local folder or Hub id), fine-tuned with its own
  tokenizer and a new head.

Heads (``--head``): ``regression`` (``problem_type="regression"``, one output, MSE loss) for
real targets (the boolean ``target`` column); ``classification`` (single label, cross-entropy)
over the values of the target column (pvr's answer digit, or the ±1 values of a boolean target).

Degree curriculum (abbe2023, ``--curriculum degree --leap L --eps E``): train first on the rows
whose input has at most r = L entries equal to -1, raise r by L each time the epoch-average
training loss falls below E, until r >= d (the whole training set). An *epoch* is one pass over
the rows allowed at the current level. ``--early_stop_loss E`` ends training at the first epoch
(over the whole set, i.e. after the curriculum) whose average loss is below E: the sources'
"iterations to learn" criterion.

Evaluation: MSE, ½·MSE (the generalisation error of abbe2022) and, for ±1 targets, sign
accuracy (regression); accuracy (classification); per split and per group. For boolean configs
with d <= 20 the split ``cube`` is the whole cube (the sources' test), broken down into its
``seen`` and ``unseen`` parts. The final scores are written to ``eval_results.json``.

The run directory: ``config.json`` + ``model.safetensors`` (``save_pretrained`` for Hugging Face
models; for the MLP its hyper-parameters and :func:`load` to rebuild it), the tokenizer files
(encoders), ``training_args.json``, ``metrics.jsonl``, ``train_results.json`` and
``eval_results.json``. It is written into a temporary folder and renamed when complete. No
pickle anywhere.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import torch
from accelerate import Accelerator
from accelerate.utils import set_seed
from safetensors.torch import load_file, save_file
from transformers.modeling_outputs import SequenceClassifierOutput

from .errors import (
    ArgumentParser,
    HFReasoningError,
    check_choice,
    check_dataset_source,
    check_number,
    check_output_dir,
    check_report_to,
    check_seed,
)
from .outputs import bookkeeping, exclusive
from .progress import progress_bar
from .train import TRAINING_ARGS, RunDirError, epoch_seed, load_data, lr_lambda

HEADS = ("regression", "classification")
CURRICULA = ("none", "degree")
OPTIMIZERS = ("adamw", "sgd")
SCHEDULES = ("cosine", "constant")
MLP = "mlp"
SOURCE_MLP_HIDDEN = (512, 1024, 512, 64)  # models.MLP of abbe2022 / abbe2023
MLP_MODEL_TYPE = "hf_reasoning_mlp"
MAX_CUBE_D = 20


@dataclass(frozen=True)
class EncoderSize:
    layers: int
    heads: int
    hidden: int


ENCODER_PRESETS = {"tiny-encoder": EncoderSize(layers=3, heads=4, hidden=128)}
MODEL_CHOICES = (MLP, *ENCODER_PRESETS)


# -- arguments -----------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="hf-reasoning train-head",
        description="Train an MLP or a sequence classification/regression head on a numeric-target config.")
    data = parser.add_argument_group("data")
    data.add_argument("--dataset", required=True, help="Dataset repo folder or Hub id (load_dataset(DATASET, CONFIG)).")
    data.add_argument("--config", required=True, help="Dataset config, e.g. gotu_x0x1-plain or m0_sum-plain.")
    data.add_argument("--train_split", default="train",
                      help="Split to train on, or 'seen_cube': every seen point of the whole cube (boolean "
                           "configs with d <= 20; the training set of abbe2023's experiments).")
    data.add_argument("--max_train_samples", type=int, default=None, help="Keep the first N training rows.")
    data.add_argument("--input_column", default="auto",
                      help="MLP input: auto (boolean: the ±1 column x; pvr: one-hot pointer and values) or a "
                           "column holding a number or a list of numbers.")
    data.add_argument("--target_column", default="auto", help="auto: 'target' if present, else 'answer'.")
    model = parser.add_argument_group("model")
    model.add_argument("--model", default=MLP,
                       help=f"{MLP}, {', '.join(ENCODER_PRESETS)} (from scratch), or a pretrained encoder "
                            "(local folder or Hub id).")
    model.add_argument("--head", default="regression", help=f"One of {', '.join(HEADS)}.")
    model.add_argument("--mlp_hidden_sizes", default=",".join(map(str, SOURCE_MLP_HIDDEN)),
                       help="Comma-separated hidden widths of the MLP (default: the sources' 512,1024,512,64).")
    model.add_argument("--mlp_width", type=int, default=None, help="With --mlp_depth: that many hidden layers of this width.")
    model.add_argument("--mlp_depth", type=int, default=None, help="Number of hidden layers (with --mlp_width).")
    run = parser.add_argument_group("run")
    run.add_argument("--out", "--run_dir", dest="out", required=True, help="Run directory (written atomically).")
    run.add_argument("--overwrite", action="store_true", help="Replace --out if it exists.")
    run.add_argument("--seed", type=int, default=0)
    optim = parser.add_argument_group("optimisation")
    optim.add_argument("--max_steps", type=int, default=2000, help="Optimizer steps (an upper bound with early stopping).")
    optim.add_argument("--num_train_epochs", type=int, default=None,
                       help="If set, max_steps = epochs × (steps in one pass over the training rows).")
    optim.add_argument("--per_device_train_batch_size", type=int, default=64)
    optim.add_argument("--gradient_accumulation_steps", type=int, default=1)
    optim.add_argument("--optimizer", default="adamw", help=f"One of {', '.join(OPTIMIZERS)}.")
    optim.add_argument("--learning_rate", type=float, default=1e-3, help="Peak learning rate.")
    optim.add_argument("--min_learning_rate", type=float, default=0.0, help="Floor of the cosine decay.")
    optim.add_argument("--lr_scheduler_type", default="cosine", help=f"One of {', '.join(SCHEDULES)} (after the warm-up).")
    optim.add_argument("--warmup_steps", type=int, default=None, help="Linear warm-up (default: 2%% of max_steps).")
    optim.add_argument("--weight_decay", type=float, default=0.0)
    optim.add_argument("--momentum", type=float, default=0.0, help="SGD momentum.")
    optim.add_argument("--max_grad_norm", type=float, default=1.0, help="Gradient clipping (0: off).")
    optim.add_argument("--mixed_precision", default="auto", choices=("auto", "no", "bf16", "fp16"))
    curriculum = parser.add_argument_group("degree curriculum (abbe2023)")
    curriculum.add_argument("--curriculum", default="none", help=f"One of {', '.join(CURRICULA)}.")
    curriculum.add_argument("--leap", type=int, default=4, help="Raise of the allowed number of -1 entries per stage.")
    curriculum.add_argument("--eps", type=float, default=1e-3, help="Epoch-average training loss that ends a stage.")
    curriculum.add_argument("--early_stop_loss", type=float, default=None,
                            help="Stop at the first epoch on the whole training set with average loss below this.")
    evaluation = parser.add_argument_group("evaluation and logging")
    evaluation.add_argument("--eval_splits", default="auto",
                            help="Comma-separated splits; auto: every split but train, plus cube where it exists.")
    evaluation.add_argument("--eval_cube", default="auto", choices=("auto", "yes", "no"),
                            help="Evaluate on the whole cube (boolean, d <= 20); auto: MLP up to d = 20, "
                                 "encoders up to d = 16.")
    evaluation.add_argument("--eval_every", type=int, default=500, help="Evaluate every N steps (and at the end).")
    evaluation.add_argument("--eval_max_examples", type=int, default=4096,
                            help="Rows per split in the periodic evaluations (spread evenly); the final one uses all.")
    evaluation.add_argument("--eval_batch_size", type=int, default=1024)
    evaluation.add_argument("--logging_every", type=int, default=50)
    evaluation.add_argument("--report_to", default="none", help="Accelerate trackers: none, all, or a comma list.")
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    args = build_parser().parse_args(argv)
    check_args(args)
    return args


def check_args(args: argparse.Namespace) -> None:
    check_choice("head", args.head, HEADS)
    check_choice("curriculum", args.curriculum, CURRICULA)
    check_choice("optimizer", args.optimizer, OPTIMIZERS)
    check_choice("lr scheduler", args.lr_scheduler_type, SCHEDULES)
    for name in ("max_steps", "per_device_train_batch_size", "gradient_accumulation_steps", "eval_every",
                 "eval_batch_size", "eval_max_examples", "logging_every", "leap"):
        if getattr(args, name) <= 0:
            raise HFReasoningError(f"--{name} must be a positive integer, got {getattr(args, name)}")
    for name in ("num_train_epochs", "max_train_samples", "mlp_width", "mlp_depth"):
        if getattr(args, name) is not None and getattr(args, name) <= 0:
            raise HFReasoningError(f"--{name} must be a positive integer, got {getattr(args, name)}")
    if (args.mlp_width is None) != (args.mlp_depth is None):
        raise HFReasoningError("--mlp_width and --mlp_depth go together; allowed: both or neither")
    args.mlp_hidden = ([args.mlp_width] * args.mlp_depth if args.mlp_width
                       else parse_hidden_sizes(args.mlp_hidden_sizes))
    if args.eps <= 0 or (args.early_stop_loss is not None and args.early_stop_loss <= 0):
        raise HFReasoningError(f"--eps {args.eps} and --early_stop_loss {args.early_stop_loss} must be positive")
    if not 0 <= args.min_learning_rate <= args.learning_rate:
        raise HFReasoningError(
            f"--min_learning_rate {args.min_learning_rate} must lie in [0, --learning_rate {args.learning_rate}]")
    if args.warmup_steps is not None and args.warmup_steps < 0:
        raise HFReasoningError(f"--warmup_steps must be >= 0, got {args.warmup_steps}")
    check_number("--learning_rate", args.learning_rate, 0, low_open=True)
    check_number("--weight_decay", args.weight_decay, 0)
    check_number("--momentum", args.momentum, 0, 1, high_open=True)
    check_number("--max_grad_norm", args.max_grad_norm, 0)
    check_number("--eps", args.eps, 0, low_open=True)
    check_seed("--seed", args.seed)
    check_report_to(args.report_to)
    check_dataset_source(args.dataset)
    check_output_dir(args.out)
    if args.model != MLP and args.model not in ENCODER_PRESETS and not is_pretrained_name(args.model):
        raise HFReasoningError(f"unknown model {args.model!r}; allowed: {', '.join(MODEL_CHOICES)}, a local model "
                               "folder, or a Hub id owner/name")


def parse_hidden_sizes(text: str) -> list[int]:
    try:
        sizes = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        sizes = []
    if not sizes or min(sizes) <= 0:
        raise HFReasoningError(f"--mlp_hidden_sizes {text!r}; allowed: comma-separated positive widths, e.g. 512,1024,512,64")
    return sizes


def is_pretrained_name(name: str) -> bool:
    return os.path.isdir(name) or ("/" in name and not name.startswith((".", "/")))


# -- the MLP -------------------------------------------------------------------------------------


class MLPModel(torch.nn.Module):
    """ReLU MLP ``input -> hidden... -> outputs`` (PyTorch's default initialisation, as the sources).

    ``forward(inputs, labels=None)`` returns a ``SequenceClassifierOutput`` like a Hugging Face
    head: MSE loss for ``regression`` (one output), cross-entropy for ``classification``.
    """

    def __init__(self, input_dim: int, hidden_sizes, num_outputs: int, problem_type: str):
        super().__init__()
        self.input_dim, self.hidden_sizes = int(input_dim), [int(h) for h in hidden_sizes]
        self.num_outputs, self.problem_type = int(num_outputs), problem_type
        layers, width = [], self.input_dim
        for hidden in self.hidden_sizes:
            layers += [torch.nn.Linear(width, hidden), torch.nn.ReLU()]
            width = hidden
        layers.append(torch.nn.Linear(width, self.num_outputs))
        self.seq = torch.nn.Sequential(*layers)

    @property
    def dtype(self) -> torch.dtype:
        return next(self.parameters()).dtype

    def forward(self, inputs: torch.Tensor, labels: torch.Tensor | None = None) -> SequenceClassifierOutput:
        logits = self.seq(inputs)
        loss = None
        if labels is not None:
            loss = head_loss(self.problem_type, logits, labels)
        return SequenceClassifierOutput(loss=loss, logits=logits)


def head_loss(problem_type: str, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    if problem_type == "regression":
        return torch.nn.functional.mse_loss(logits[:, 0].float(), labels.float())
    return torch.nn.functional.cross_entropy(logits.float(), labels)


def count_parameters(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# -- targets and inputs ----------------------------------------------------------------------------


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


# -- tokenizer and encoder -----------------------------------------------------------------------


def encoder_tokenizer(task):
    """Word-level tokenizer over the task vocabulary that puts ``<bos>`` in front of every text
    (the position BERT's pooler reads), saved with the run so a reload encodes the same way."""
    from tokenizers import processors

    from .tokenization import build_tokenizer

    tokenizer = build_tokenizer(task.vocab.tokens)
    bos = tokenizer.bos_token
    tokenizer.backend_tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A", pair=f"{bos} $A $B", special_tokens=[(bos, tokenizer.bos_token_id)])
    tokenizer.cls_token = bos
    return tokenizer


def build_encoder(args, task, spec: HeadSpec):
    """(model, tokenizer) of a from-scratch preset or a pretrained encoder with a new head."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, BertConfig

    num_labels = 1 if spec.head == "regression" else len(spec.labels)
    problem_type = "regression" if spec.head == "regression" else "single_label_classification"
    labels = {"id2label": {i: l for i, l in enumerate(spec.labels)}, "label2id": {l: i for i, l in enumerate(spec.labels)}} \
        if spec.head == "classification" else {}
    if args.model in ENCODER_PRESETS:
        if task is None:
            raise HFReasoningError(f"--model {args.model} needs an hf_reasoning dataset repo (its card names the task "
                                   "and so the vocabulary); allowed: a folder written by hf-reasoning build")
        size = ENCODER_PRESETS[args.model]
        tokenizer = encoder_tokenizer(task)
        config = BertConfig(
            vocab_size=len(tokenizer), hidden_size=size.hidden, num_hidden_layers=size.layers,
            num_attention_heads=size.heads, intermediate_size=4 * size.hidden, max_position_embeddings=128,
            hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, classifier_dropout=0.0,
            pad_token_id=tokenizer.pad_token_id, num_labels=num_labels, problem_type=problem_type, **labels)
        return AutoModelForSequenceClassification.from_config(config), tokenizer
    try:
        tokenizer = AutoTokenizer.from_pretrained(args.model)
        model = AutoModelForSequenceClassification.from_pretrained(
            args.model, num_labels=num_labels, problem_type=problem_type, ignore_mismatched_sizes=True, **labels)
    except (OSError, ValueError) as error:
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise HFReasoningError(f"cannot load encoder {args.model!r}: {first[:300]}") from None
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
        model.config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer


# -- encoded splits ------------------------------------------------------------------------------


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


# -- degree curriculum ---------------------------------------------------------------------------


def hamming_weights(x: np.ndarray) -> np.ndarray:
    """Number of -1 entries of each row of a ±1 matrix."""
    return (np.asarray(x) < 0).sum(axis=1)


def curriculum_mask(x: np.ndarray, level: int) -> np.ndarray:
    """Rows allowed at curriculum level r: at most r entries equal to -1."""
    return hamming_weights(x) <= level


@dataclass
class DegreeCurriculum:
    """abbe2023's Degree-Curriculum: level r starts at ``leap`` (raised further while no row is
    allowed) and grows by ``leap`` whenever an epoch's average loss is below ``eps``; complete
    once r >= d, when every row is allowed."""

    d: int
    leap: int
    eps: float
    level: int = 0

    def start(self, x: np.ndarray) -> None:
        self.level = self.leap
        while not curriculum_mask(x, self.level).any() and not self.complete:
            self.level += self.leap

    @property
    def complete(self) -> bool:
        return self.level >= self.d

    def allowed(self, x: np.ndarray) -> np.ndarray:
        return np.ones(x.shape[0], dtype=bool) if self.complete else curriculum_mask(x, self.level)

    def update(self, epoch_loss: float) -> bool:
        """Raise the level after an epoch with loss below eps; True if it was raised."""
        if self.complete or not epoch_loss < self.eps:
            return False
        self.level += self.leap
        return True


def epoch_order(allowed: np.ndarray, seed: int, epoch: int, global_batch: int) -> np.ndarray:
    """One epoch over the ``allowed`` row indices: a seeded permutation cut to whole global
    batches (at least one; rows repeat when fewer than a batch are allowed)."""
    order = np.random.default_rng(epoch_seed(seed, epoch)).permutation(allowed)
    steps = max(1, len(order) // global_batch)
    if len(order) < global_batch:
        order = np.resize(order, global_batch)
    return order[: steps * global_batch].reshape(steps, global_batch)


# -- evaluation ----------------------------------------------------------------------------------


@torch.no_grad()
def predict_logits(model, encoded: Encoded, batch_size: int, index: np.ndarray | None = None) -> np.ndarray:
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    index = np.arange(len(encoded)) if index is None else index
    outputs = []
    for start in range(0, len(index), batch_size):
        batch = {k: v.to(device) for k, v in encoded.rows(index[start : start + batch_size]).items() if k != "labels"}
        outputs.append(model(**batch).logits.float().cpu().numpy())
    model.train(was_training)
    return np.concatenate(outputs) if outputs else np.zeros((0, 1), np.float32)


def predicted_values(spec: HeadSpec, logits: np.ndarray) -> np.ndarray | None:
    """Regression: the output; classification: the value of the arg-max label (numeric labels)."""
    if spec.head == "regression":
        return logits[:, 0].astype(np.float64)
    if spec.label_values is None:
        return None
    return np.asarray(spec.label_values, dtype=np.float64)[logits.argmax(axis=1)]


def scores(spec: HeadSpec, logits: np.ndarray, labels: np.ndarray, values: np.ndarray | None) -> dict[str, float]:
    """MSE, ½·MSE and sign accuracy (±1 targets) of numeric predictions; accuracy of classes."""
    out: dict[str, float] = {}
    if spec.head == "classification":
        out["accuracy"] = float((logits.argmax(axis=1) == labels).mean())
    predicted = predicted_values(spec, logits)
    if predicted is not None and values is not None:
        mse = float(((predicted - values) ** 2).mean())
        out["mse"], out["half_mse"] = mse, mse / 2
        if np.isin(values, (-1.0, 1.0)).all():
            out["sign_accuracy"] = float((np.where(predicted >= 0, 1.0, -1.0) == values).mean())
    return out


def evaluate(model, spec: HeadSpec, eval_sets: dict[str, Encoded], batch_size: int, limit: int | None) -> dict[str, float]:
    """Scores per split and per group (``split/metric`` and ``split/group/metric``)."""
    metrics: dict[str, float] = {}
    for name, encoded in eval_sets.items():
        index = spread(len(encoded), limit) if limit else np.arange(len(encoded))
        logits = predict_logits(model, encoded, batch_size, index)
        labels = encoded.inputs["labels"].numpy()[index]
        values = None if encoded.values is None else encoded.values[index]
        groups = encoded.groups[index]
        metrics.update({f"{name}/{k}": v for k, v in scores(spec, logits, labels, values).items()})
        metrics[f"{name}/rows"] = int(len(index))
        names = sorted(set(groups.tolist()) - {""})
        if len(names) > 1:
            for group in names:
                sel = groups == group
                part = scores(spec, logits[sel], labels[sel], None if values is None else values[sel])
                metrics.update({f"{name}/{group}/{k}": v for k, v in part.items()})
                metrics[f"{name}/{group}/rows"] = int(sel.sum())
    return metrics


# -- saving and loading --------------------------------------------------------------------------


def save_run(folder: Path, model, tokenizer, spec: HeadSpec, feats: FeatureSpec | None, args) -> None:
    """``config.json`` + ``model.safetensors`` (+ tokenizer files for encoders)."""
    info = {"head": spec.to_json(), "model": args.model, "config": args.config}
    if isinstance(model, MLPModel):
        state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
        save_file(state, str(folder / "model.safetensors"), metadata={"format": "pt"})
        config = {"model_type": MLP_MODEL_TYPE, "input_dim": model.input_dim, "hidden_sizes": model.hidden_sizes,
                  "num_outputs": model.num_outputs, "problem_type": model.problem_type,
                  "features": feats.to_json(), "hf_reasoning": info}
        (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n")
        return
    model.config.hf_reasoning = info
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)


@dataclass
class LoadedRun:
    """A saved baseline: ``predict(rows)`` gives numeric predictions (or class ids for text labels)."""

    model: torch.nn.Module
    tokenizer: object | None
    spec: HeadSpec
    features: FeatureSpec | None

    def logits(self, rows, batch_size: int = 1024) -> np.ndarray:
        table = as_table(rows)
        if self.features is not None:
            inputs = {"inputs": torch.from_numpy(features(self.features, table))}
        else:
            batch = self.tokenizer(table.column("prompt").to_pylist(), padding="longest", return_tensors="pt")
            inputs = {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}
        n = table.num_rows
        encoded = Encoded({**inputs, "labels": torch.zeros(n)}, None, np.full(n, "", object), None)
        return predict_logits(self.model, encoded, batch_size)

    def predict(self, rows, batch_size: int = 1024) -> np.ndarray:
        logits = self.logits(rows, batch_size)
        values = predicted_values(self.spec, logits)
        return logits.argmax(axis=1) if values is None else values


def load(path: str | os.PathLike) -> LoadedRun:
    """Rebuild a run saved by :func:`main` (safetensors + JSON only)."""
    folder = Path(path)
    config_file = folder / "config.json"
    if not config_file.is_file():
        raise HFReasoningError(f"{str(folder)!r} holds no config.json; allowed: a run directory of hf_reasoning.classification")
    config = json.loads(config_file.read_text())
    info = config.get("hf_reasoning") or {}
    if "head" not in info:
        raise HFReasoningError(f"{str(folder)!r} is not a run of hf_reasoning.classification (config.json has no head)")
    spec = HeadSpec(**info["head"])
    if config.get("model_type") == MLP_MODEL_TYPE:
        model = MLPModel(config["input_dim"], config["hidden_sizes"], config["num_outputs"], config["problem_type"])
        model.load_state_dict(load_file(str(folder / "model.safetensors")))
        model.eval()
        return LoadedRun(model, None, spec, FeatureSpec(**config["features"]))
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(folder)
    model.eval()
    return LoadedRun(model, AutoTokenizer.from_pretrained(folder), spec, None)


# -- main ----------------------------------------------------------------------------------------


@dataclass
class HeadTrainResult:
    run_dir: Path
    completed_steps: int
    metrics: dict = field(default_factory=dict)  # final evaluation (eval_results.json)
    train_results: dict = field(default_factory=dict)
    model: torch.nn.Module | None = None


def schedule(args):
    if args.lr_scheduler_type == "cosine":
        return lr_lambda(args)
    return lambda step: (step + 1) / args.warmup_steps if step < args.warmup_steps else 1.0


def _temporary_dir(run_dir: Path) -> Path:
    return run_dir.parent / f".{run_dir.name}.tmp-{os.getpid()}"


def check_run_dir(args: argparse.Namespace) -> Path:
    """Read-only: --out is a writable new or empty folder (or --overwrite)."""
    run_dir = check_output_dir(args.out)
    if run_dir.is_dir() and any(not bookkeeping(p.name) for p in run_dir.iterdir()) and not args.overwrite:
        raise RunDirError(f"run directory {str(run_dir)!r} exists; allowed: a new or empty directory, or --overwrite")
    return run_dir


def main(argv: list[str] | None = None) -> HeadTrainResult:
    args = parse_args(argv)
    mixed_precision = args.mixed_precision
    if mixed_precision == "auto":
        mixed_precision = "bf16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "no"
    report_to = None if args.report_to == "none" else args.report_to.split(",")
    cpu = int(os.environ.get("WORLD_SIZE", "1")) > 1 and not torch.accelerator.is_available()
    accelerator = Accelerator(cpu=cpu, gradient_accumulation_steps=args.gradient_accumulation_steps,
                              mixed_precision=mixed_precision, log_with=report_to)
    run_dir = check_run_dir(args)
    set_seed(args.seed)

    # data, head and model: every check runs before the first step
    data, metadata = load_data(args)
    task_name = metadata.get("task")
    task = None
    if task_name:
        from .tasks import get_task

        task = get_task(task_name)
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
        and d <= (MAX_CUBE_D if args.model == MLP else 16))
    if want_cube:
        if d is None or d > MAX_CUBE_D:
            raise HFReasoningError(f"the cube evaluation needs a boolean config with d <= {MAX_CUBE_D}; got {args.config!r}")
        tables["cube"] = cube_table(args.config)
    spec = head_spec(args, tables)
    feats = feature_spec(args, task_name, tables["train"]) if args.model == MLP else None
    num_outputs = 1 if spec.head == "regression" else len(spec.labels)
    if args.model == MLP:
        model, tokenizer = MLPModel(feats.input_dim, args.mlp_hidden, num_outputs, spec.head), None
    else:
        model, tokenizer = build_encoder(args, task, spec)
    encoded = {name: encode(t, spec, feats, tokenizer, group_by_seen=name == "cube") for name, t in tables.items()}
    if feats is None:
        longest = max(e.inputs["input_ids"].shape[1] for e in encoded.values())
        limit = getattr(model.config, "max_position_embeddings", None)
        if limit is not None and longest > limit:
            raise HFReasoningError(f"prompts of {longest} tokens exceed the model's {limit} positions; allowed: a model "
                                   "with more positions")
    train = encoded.pop("train")
    if len(train) == 0:
        raise HFReasoningError(f"the training split of {args.config!r} has no rows")
    curriculum = None
    if args.curriculum == "degree":
        if train.x is None or not np.isin(train.x, (-1, 1)).all():
            raise HFReasoningError(f"--curriculum degree needs a ±1 input column 'x' (boolean datasets); "
                                   f"{args.config!r} has none")
        curriculum = DegreeCurriculum(d=train.x.shape[1], leap=args.leap, eps=args.eps)
        curriculum.start(train.x)

    world = accelerator.num_processes
    global_batch = args.per_device_train_batch_size * args.gradient_accumulation_steps * world
    if args.num_train_epochs is not None:
        args.max_steps = args.num_train_epochs * max(1, len(train) // global_batch)
    if args.warmup_steps is None:
        args.warmup_steps = max(1, args.max_steps // 50)

    # the run is written into a temporary folder, renamed when complete; one writer per run
    # folder, whose checks run again under the lock
    run_lock = contextlib.ExitStack()
    if accelerator.is_main_process:
        run_lock.enter_context(exclusive(run_dir, "hf_reasoning.classification"))
        check_run_dir(args)
    tmp_dir = _temporary_dir(run_dir)
    if accelerator.is_main_process:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        tmp_dir.mkdir(parents=True)
        identity = {k: v for k, v in sorted(vars(args).items()) if k not in ("overwrite", "out", "report_to")}
        (tmp_dir / TRAINING_ARGS).write_text(json.dumps(identity, indent=2, sort_keys=True) + "\n")
    accelerator.wait_for_everyone()

    try:
        if args.optimizer == "adamw":
            optimizer = torch.optim.AdamW(model.parameters(), lr=args.learning_rate, weight_decay=args.weight_decay)
        else:
            optimizer = torch.optim.SGD(model.parameters(), lr=args.learning_rate, momentum=args.momentum,
                                        weight_decay=args.weight_decay)
        # stepped by hand once per optimizer step (a prepared scheduler steps once per process)
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule(args))
        model, optimizer = accelerator.prepare(model, optimizer)
        if report_to:
            accelerator.init_trackers("hf_reasoning", config={k: v for k, v in vars(args).items() if isinstance(v, (int, float, str, bool))})
        metrics_file = tmp_dir / "metrics.jsonl"

        completed_steps = 0

        def log(metrics: dict) -> None:
            accelerator.log(metrics, step=completed_steps)
            if accelerator.is_main_process:
                with metrics_file.open("a") as f:
                    f.write(json.dumps({"step": completed_steps, **metrics}) + "\n")

        accelerator.print(f"model {args.model} ({spec.head}): {count_parameters(accelerator.unwrap_model(model)) / 1e6:.3f}M "
                          f"parameters, {len(train)} training rows, {world} process(es)")
        progress = progress_bar(args.max_steps, "train", disable=not accelerator.is_local_main_process)
        levels = []
        if curriculum is not None:
            levels.append({"step": 0, "level": curriculum.level})
            log({"curriculum/level": curriculum.level, "curriculum/rows": int(curriculum.allowed(train.x).sum())})
        model.train()
        epoch, running_loss, stopped_early, last_epoch_loss = 0, 0.0, None, None
        rank, per_device = accelerator.process_index, args.per_device_train_batch_size
        tick = time.perf_counter()
        while completed_steps < args.max_steps and stopped_early is None:
            allowed = np.flatnonzero(curriculum.allowed(train.x)) if curriculum else np.arange(len(train))
            order = epoch_order(allowed, args.seed, epoch, global_batch)
            epoch_loss, epoch_steps = 0.0, 0
            for step_rows in order:
                micro = step_rows.reshape(args.gradient_accumulation_steps, world, per_device)[:, rank]
                step_loss = 0.0
                for index in micro:
                    batch = {k: v.to(accelerator.device) for k, v in train.rows(index).items()}
                    with accelerator.accumulate(model):
                        loss = model(**batch).loss
                        accelerator.backward(loss)
                        if accelerator.sync_gradients and args.max_grad_norm > 0:
                            accelerator.clip_grad_norm_(model.parameters(), args.max_grad_norm)
                        optimizer.step()
                        optimizer.zero_grad()
                    step_loss += loss.detach().float().item() / args.gradient_accumulation_steps
                scheduler.step()
                completed_steps += 1
                epoch_loss, epoch_steps, running_loss = epoch_loss + step_loss, epoch_steps + 1, running_loss + step_loss
                progress.update(1)
                if completed_steps % args.logging_every == 0:
                    seconds = time.perf_counter() - tick
                    row = {"train/loss": running_loss / args.logging_every, "train/lr": scheduler.get_last_lr()[0],
                           "train/steps_per_s": args.logging_every / seconds}
                    progress.set_postfix(loss=f"{row['train/loss']:.4g}")
                    log(row)
                    running_loss, tick = 0.0, time.perf_counter()
                if completed_steps % args.eval_every == 0 and completed_steps < args.max_steps:
                    scores_now = evaluate(accelerator.unwrap_model(model), spec, encoded, args.eval_batch_size, args.eval_max_examples)
                    log(scores_now)
                    tick = time.perf_counter()
                if completed_steps >= args.max_steps:
                    break
            # the epoch average over every process: all ranks take the same curriculum decisions
            mean = accelerator.reduce(torch.tensor(epoch_loss / max(1, epoch_steps), device=accelerator.device), "mean")
            last_epoch_loss = float(mean)
            row = {"train/epoch": epoch, "train/epoch_loss": last_epoch_loss}
            if curriculum is not None and curriculum.update(last_epoch_loss):
                levels.append({"step": completed_steps, "level": curriculum.level})
                row.update({"curriculum/level": curriculum.level, "curriculum/rows": int(curriculum.allowed(train.x).sum())})
            elif args.early_stop_loss is not None and last_epoch_loss < args.early_stop_loss and (
                    curriculum is None or curriculum.complete):
                stopped_early = completed_steps
            log(row)
            epoch += 1
        progress.close()

        accelerator.wait_for_everyone()
        unwrapped = accelerator.unwrap_model(model)
        final = evaluate(unwrapped, spec, encoded, args.eval_batch_size, None)
        log(final)
        train_results = {"completed_steps": completed_steps, "epochs": epoch, "last_epoch_loss": last_epoch_loss,
                         "early_stopped_at": stopped_early, "train_rows": len(train),
                         "parameters": count_parameters(unwrapped)}
        if curriculum is not None:
            train_results.update(curriculum_levels=levels, curriculum_complete=curriculum.complete)
        if accelerator.is_main_process:
            save_run(tmp_dir, unwrapped, tokenizer, spec, feats, args)
            (tmp_dir / "train_results.json").write_text(json.dumps(train_results, indent=2) + "\n")
            (tmp_dir / "eval_results.json").write_text(json.dumps(final, indent=2) + "\n")
            if run_dir.is_dir():
                shutil.rmtree(run_dir)  # --overwrite (an existing run was refused above otherwise)
            os.replace(tmp_dir, run_dir)
            from .cards import write_model_card

            write_model_card(run_dir)  # the run folder is a model repo: README.md with the model-index
            accelerator.print("final: " + ", ".join(f"{k} {v:.4g}" for k, v in final.items()
                                                    if k.endswith(("mse", "accuracy")) and k.count("/") <= 2))
    finally:  # a failed or interrupted run leaves nothing half-written
        if accelerator.is_main_process:
            shutil.rmtree(tmp_dir, ignore_errors=True)
        run_lock.close()
    accelerator.wait_for_everyone()
    accelerator.end_training()
    return HeadTrainResult(run_dir, completed_steps, final, train_results, unwrapped)


if __name__ == "__main__":
    from .errors import exit_on_error

    exit_on_error(main)
