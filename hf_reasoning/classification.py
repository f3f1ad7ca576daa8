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

The loop is :mod:`hf_reasoning.engine`'s, as for ``train``: ``--checkpoint_every N`` writes
checkpoints (safetensors and JSON, off by default) and ``--resume`` continues a killed run from
the last sound one, reaching the same weights and metrics as an uninterrupted run.

The run directory: ``config.json`` + ``model.safetensors`` (``save_pretrained`` for Hugging Face
models; for the MLP its hyper-parameters and :func:`load` to rebuild it), the tokenizer files
(encoders), ``training_args.json``, ``metrics.jsonl``, ``train_results.json``,
``eval_results.json`` and the model card ``README.md``. No pickle anywhere. The pieces live in
:mod:`hf_reasoning.heads` (models), :mod:`hf_reasoning.head_data` (data) and
:mod:`hf_reasoning.curriculum` (the degree curriculum); this module is the entry point.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from accelerate import Accelerator
from accelerate.utils import set_seed

from .curriculum import DegreeCurriculum, EpochEnd, curriculum_mask, epoch_order, hamming_weights  # noqa: F401
from .engine import (
    LoopResult,
    Pieces,
    check_run_dir,
    is_sharded,
    lr_lambda,
    make_accelerator,
    open_run_dir,
    train_loop,
)
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
from .head_data import (  # noqa: F401  (the data API, importable from here as before)
    MAX_CUBE_D,
    Encoded,
    FeatureSpec,
    HeadSpec,
    encode,
    feature_spec,
    features,
    head_spec,
    load_data,
    load_tables,
)
from .heads import (  # noqa: F401  (the models' API, importable from here as before)
    ENCODER_PRESETS,
    MLP,
    MLP_MODEL_TYPE,
    MODEL_CHOICES,
    SOURCE_MLP_HIDDEN,
    LoadedRun,
    MLPModel,
    build_encoder,
    count_parameters,
    evaluate,
    load,
    save_run,
)

HEADS = ("regression", "classification")
CURRICULA = ("none", "degree")
OPTIMIZERS = ("adamw", "sgd")
SCHEDULES = ("cosine", "constant")
PROGRAM = "hf_reasoning.classification"  # names the run folder's lock and its owner in messages
# run controls that may change between a run and its resumption (not in training_args.json)
RESUMABLE_CHANGES = {"overwrite", "out", "report_to", "resume", "checkpoint_every", "checkpoints_to_keep",
                     "stop_after_steps"}


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
    run.add_argument("--out", "--run_dir", dest="out", required=True, help="Run directory (becomes a model repo folder).")
    run.add_argument("--resume", action="store_true", help="Resume from the last complete checkpoint in --out.")
    run.add_argument("--overwrite", action="store_true", help="Replace --out if it exists.")
    run.add_argument("--seed", type=int, default=0)
    optim = parser.add_argument_group("optimisation")
    optim.add_argument("--max_steps", type=int, default=2000, help="Optimizer steps (an upper bound with early stopping).")
    optim.add_argument("--num_train_epochs", type=int, default=None,
                       help="If set, max_steps = epochs × (steps in one pass over the training rows).")
    optim.add_argument("--per_device_train_batch_size", type=int, default=64, metavar="N")
    optim.add_argument("--gradient_accumulation_steps", type=int, default=1, metavar="N")
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
    evaluation.add_argument("--checkpoint_every", type=int, default=None,
                            help="Write a checkpoint every N steps, for --resume (default: none).")
    evaluation.add_argument("--checkpoints_to_keep", type=int, default=2)
    evaluation.add_argument("--report_to", default="none", help="Accelerate trackers: none, all, or a comma list.")
    # stops as if killed after N steps (tests of --resume); not part of the run's identity
    parser.add_argument("--stop_after_steps", type=int, default=None, help=argparse.SUPPRESS)
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
    for name in ("num_train_epochs", "max_train_samples", "mlp_width", "mlp_depth", "checkpoint_every",
                 "checkpoints_to_keep", "stop_after_steps"):
        if getattr(args, name) is not None and getattr(args, name) <= 0:
            raise HFReasoningError(f"--{name} must be a positive integer, got {getattr(args, name)}")
    if (args.mlp_width is None) != (args.mlp_depth is None):
        raise HFReasoningError("--mlp_width and --mlp_depth go together; allowed: both or neither")
    args.mlp_hidden = ([args.mlp_width] * args.mlp_depth if args.mlp_width
                       else parse_hidden_sizes(args.mlp_hidden_sizes))
    if args.resume and args.overwrite:
        raise HFReasoningError("--resume and --overwrite exclude each other; allowed: one of them")
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


def run_identity(args: argparse.Namespace) -> dict:
    """The arguments that define the run (training_args.json, what --resume compares)."""
    return {k: v for k, v in sorted(vars(args).items()) if k not in RESUMABLE_CHANGES}


# -- main ----------------------------------------------------------------------------------------


@dataclass
class HeadTrainResult:
    run_dir: Path
    completed_steps: int
    metrics: dict = field(default_factory=dict)  # final evaluation (eval_results.json)
    train_results: dict = field(default_factory=dict)
    model: torch.nn.Module | None = None


@dataclass
class HeadInputs:
    """What a train-head run trains and evaluates, every input check passed."""

    spec: HeadSpec
    feats: FeatureSpec | None  # how the MLP reads a row (None: an encoder reads the prompt)
    model: torch.nn.Module
    tokenizer: object | None
    train: Encoded
    eval_sets: dict[str, Encoded]
    curriculum: DegreeCurriculum | None


def main(argv: list[str] | None = None) -> HeadTrainResult:
    args = parse_args(argv)
    with contextlib.ExitStack() as run_lock:  # held by the main process until the run ends
        return train_head(args, run_lock)


def train_head(args: argparse.Namespace, run_lock: contextlib.ExitStack) -> HeadTrainResult:
    accelerator, _ = make_accelerator(args)
    set_seed(args.seed)
    inputs = load_inputs(args)  # data, head and model: every check runs before the first write
    set_steps(args, accelerator, len(inputs.train))
    check_run_dir(args, run_identity(args), PROGRAM)
    run_dir = open_run_dir(args, accelerator, run_identity(args), PROGRAM, run_lock)
    pieces = head_pieces(args, accelerator, inputs)
    accelerator.print(f"model {args.model} ({inputs.spec.head}): {count_parameters(accelerator.unwrap_model(pieces.model)) / 1e6:.3f}M "
                      f"parameters, {len(inputs.train)} training rows, {accelerator.num_processes} process(es)")
    result = train_loop(args, accelerator, run_dir, pieces)
    unwrapped = accelerator.unwrap_model(pieces.model)
    if result.interrupted:  # --stop_after_steps: as if killed after its last checkpoint
        accelerator.end_training()
        return HeadTrainResult(run_dir, result.state.completed_steps, result.metrics, {}, unwrapped)
    train_results = save_head_run(args, accelerator, inputs, unwrapped, run_dir, result, pieces.end_of_epoch)
    return HeadTrainResult(run_dir, result.state.completed_steps, result.final, train_results, unwrapped)


def load_inputs(args: argparse.Namespace) -> HeadInputs:
    """The splits as tensors, the head's target and input specs, the model (and tokenizer)."""
    data, metadata = load_data(args)
    task_name = metadata.get("task")
    task = None
    if task_name:
        from .tasks import get_task

        task = get_task(task_name)
    tables = load_tables(args, data, task_name, is_mlp=args.model == MLP)
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
    return HeadInputs(spec, feats, model, tokenizer, train, encoded, degree_curriculum(args, train))


def degree_curriculum(args: argparse.Namespace, train: Encoded) -> DegreeCurriculum | None:
    """--curriculum degree: abbe2023's curriculum over the ±1 inputs, at its first level."""
    if args.curriculum != "degree":
        return None
    if train.x is None or not np.isin(train.x, (-1, 1)).all():
        raise HFReasoningError(f"--curriculum degree needs a ±1 input column 'x' (boolean datasets); "
                               f"{args.config!r} has none")
    curriculum = DegreeCurriculum(d=train.x.shape[1], leap=args.leap, eps=args.eps)
    curriculum.start(train.x)
    return curriculum


def set_steps(args: argparse.Namespace, accelerator: Accelerator, train_rows: int) -> None:
    """--num_train_epochs sets max_steps (whole global batches per pass); warm-up: 2% of it."""
    global_batch = args.per_device_train_batch_size * args.gradient_accumulation_steps * accelerator.num_processes
    if args.num_train_epochs is not None:
        args.max_steps = args.num_train_epochs * max(1, train_rows // global_batch)
    if args.warmup_steps is None:
        args.warmup_steps = max(1, args.max_steps // 50)


def head_pieces(args: argparse.Namespace, accelerator: Accelerator, inputs: HeadInputs) -> Pieces:
    """AdamW or SGD, the schedule, epochs over the rows the curriculum allows (dealt to the
    processes) and the evaluations, for the engine's loop."""
    if args.optimizer == "adamw":
        optimizer = torch.optim.AdamW(inputs.model.parameters(), lr=args.learning_rate, weight_decay=args.weight_decay)
    else:
        optimizer = torch.optim.SGD(inputs.model.parameters(), lr=args.learning_rate, momentum=args.momentum,
                                    weight_decay=args.weight_decay)
    # stepped by hand once per optimizer step (a prepared scheduler steps once per process)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda(args))
    model, optimizer = accelerator.prepare(inputs.model, optimizer)
    if is_sharded(accelerator):  # accelerator.save_state checkpoints it (see engine.save_checkpoint)
        accelerator.register_for_checkpointing(scheduler)
    curriculum, train = inputs.curriculum, inputs.train
    epoch_end = EpochEnd(curriculum, args.early_stop_loss, train.x,
                         levels=[{"step": 0, "level": curriculum.level}] if curriculum else [])
    world, rank, per_device = accelerator.num_processes, accelerator.process_index, args.per_device_train_batch_size
    global_batch = per_device * args.gradient_accumulation_steps * world

    def epoch_batches(state):  # this process's micro-batches of the epoch, from state.epoch_step on
        order = epoch_order(epoch_end.allowed_rows(len(train)), args.seed, state.epoch, global_batch)
        mine = (index for step_rows in order[state.epoch_step:]
                for index in step_rows.reshape(args.gradient_accumulation_steps, world, per_device)[:, rank])
        return len(order), (train.rows(index) for index in mine)

    def evaluate_now(step: int) -> dict:  # --eval_max_examples rows per split
        return evaluate(accelerator.unwrap_model(model), inputs.spec, inputs.eval_sets, args.eval_batch_size,
                        args.eval_max_examples)

    def evaluate_all(step: int) -> dict:  # the final scores: every row
        accelerator.wait_for_everyone()
        return evaluate(accelerator.unwrap_model(model), inputs.spec, inputs.eval_sets, args.eval_batch_size, None)

    first_row = ({"curriculum/level": curriculum.level, "curriculum/rows": int(curriculum.allowed(train.x).sum())}
                 if curriculum else None)
    return Pieces(model, optimizer, scheduler, epoch_batches, evaluate=evaluate_now, final_evaluate=evaluate_all,
                  end_of_epoch=epoch_end, first_row=first_row)


def save_head_run(args, accelerator: Accelerator, inputs: HeadInputs, model, run_dir: Path, result: LoopResult,
                  epoch_end: EpochEnd) -> dict:
    """The run folder becomes a model repo: weights and config, ``train_results.json``,
    ``eval_results.json`` and the model card. Returns the training results."""
    train_results = {"completed_steps": result.state.completed_steps, "epochs": result.state.epoch,
                     "last_epoch_loss": epoch_end.last_epoch_loss, "early_stopped_at": epoch_end.stopped_early,
                     "train_rows": len(inputs.train), "parameters": count_parameters(model)}
    if inputs.curriculum is not None:
        train_results.update(curriculum_levels=epoch_end.levels, curriculum_complete=inputs.curriculum.complete)
    if accelerator.is_main_process:
        save_run(run_dir, model, inputs.tokenizer, inputs.spec, inputs.feats, args)
        (run_dir / "train_results.json").write_text(json.dumps(train_results, indent=2) + "\n")
        (run_dir / "eval_results.json").write_text(json.dumps(result.final, indent=2) + "\n")
        from .cards import write_model_card

        write_model_card(run_dir)  # the run folder is a model repo: README.md with the model-index
        accelerator.print("final: " + ", ".join(f"{k} {v:.4g}" for k, v in result.final.items()
                                                if k.endswith(("mse", "accuracy")) and k.count("/") <= 2))
    accelerator.wait_for_everyone()
    accelerator.end_training()
    return train_results


if __name__ == "__main__":
    from .errors import exit_on_error

    exit_on_error(main, interrupted="the run continues from its last checkpoint with --resume (if it wrote one)")
