"""Train a causal LM on a benchmark config, in the shape of transformers' ``run_clm_no_trainer.py``.

    python -m hf_reasoning.train --dataset hub/parity --config laptop-inductive \\
        --model tiny --out runs/parity-tiny --fresh --learning_rate 2e-3
    accelerate launch --config_file hf_reasoning/accelerate_configs/ddp.yaml \\
        -m hf_reasoning.train --dataset … --config … --model abbe2024-10m --out …
    torchrun --standalone --nproc_per_node 2 -m hf_reasoning.train …   # CPU processes, gloo

Ready Accelerate configs: ``hf_reasoning/accelerate_configs/`` (``ddp``, ``fsdp``,
``deepspeed_zero2``, ``deepspeed_zero3``, ``cpu_ddp``).

Inductive formats (``inductive``, ``shift``) are trained with the masked duplication of
:mod:`hf_reasoning.inductive`; the other formats as ordinary causal LMs with loss on the
completion. The run directory ends up a Hub model repo folder: ``config.json``,
``model.safetensors``, tokenizer files, ``generation_config.json`` and
``training_args.json``, beside ``metrics.jsonl`` and ``checkpoints/``.

``--random_position_offset K`` (``zhou2023``) moves each training sequence's position ids up
by an offset uniform in ``[0, K]``, drawn from a generator seeded by (seed, rank, micro-batch)
so resumption stays exact: plain and scratchpad sequences start at the offset, inductive ones
shift every position (the question and each restarting segment) by it. Evaluation uses 0.

Checkpoints (``checkpoints/step-*``) hold only ``.safetensors`` and ``.json`` files, no pickle:
the model, the optimizer state flattened to tensors (its param_groups in JSON), the LR
schedule, each rank's RNG states and the step counters (see :mod:`hf_reasoning.engine`, the loop
that ``train-head`` shares). Sharded runs (FSDP, DeepSpeed) are the exception: their states
exist only as per-rank shards that ``accelerator.save_state`` gathers and writes, optimizer and
RNG states as torch pickles.
Either kind is written to a temporary folder and renamed when complete, so ``--resume``
always restarts from the last complete one; a resumed run reaches the same parameters as an
uninterrupted one (same data order, RNG and schedule).
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import datasets
import numpy as np
import torch
from accelerate import Accelerator
from accelerate.utils import gather_object, set_seed
from datasets.distributed import split_dataset_by_node
from torch.utils.data import DataLoader

from .engine import (  # noqa: F401  (RunDirError, ConfigChangedError, TRAINING_ARGS: importable from here too)
    TRAINING_ARGS,
    ConfigChangedError,
    LoopResult,
    Pieces,
    RunDirError,
    check_run_dir,
    epoch_seed,
    is_sharded,
    lr_lambda,
    make_accelerator,
    open_run_dir,
    train_loop,
)
from .errors import (
    ArgumentParser,
    HFReasoningError,
    check_attention,
    check_dataset_source,
    check_number,
    check_output_dir,
    check_report_to,
    check_seed,
)
from .generation import complete
from .inductive import (
    collator_for,
    format_of_config,
    greedy_complete,
    is_inductive_format,
    offset_positions,
    position_offsets,
)
from .modeling import (
    MASKABLE_ATTENTION,
    UnsupportedAttentionError,
    build_model,
    check_inductive_support,
    check_positions,
    count_parameters,
    is_preset,
)
from .progress import quiet_library_bars
from .tokenization import build_tokenizer, build_tokenizer_from_texts, check_tokenizer, config_symbols, marker_id
from .finetune import add_lora_arguments, check_lora_args, save_adapter, with_lora

FORMATS = ("plain", "scratchpad", "inductive", "shift", "reversed", "index_hints", "reversed_index_hints")
# arguments that may change between a run and its resumption without changing the trained
# parameters (evaluation decodes greedily and draws no random numbers)
RESUMABLE_CHANGES = {"resume", "overwrite", "report_to", "num_workers", "stop_after_steps", "out", "eval_every",
                     "eval_splits", "eval_max_examples", "eval_batch_size", "logging_every", "checkpoint_every",
                     "checkpoints_to_keep", "allow_pickle"}
PROGRAM = "hf_reasoning.train"  # names the run folder's lock and its owner in messages


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = ArgumentParser(prog="hf-reasoning train", description="Train a causal LM on an hf_reasoning dataset config.")
    data = parser.add_argument_group("data")
    data.add_argument("--dataset", required=True, help="Dataset repo folder or Hub id (load_dataset(DATASET, CONFIG)).")
    data.add_argument("--config", required=True, help="Dataset config, <preset>-<format>, e.g. laptop-inductive.")
    data.add_argument("--fresh", action="store_true",
                      help="Train on fresh samples streamed from the generator (hf_reasoning.stream_train) "
                           "instead of the fixed train split.")
    data.add_argument("--loss_on_prompt", action="store_true", help="Also train on the prompt tokens.")
    data.add_argument("--random_position_offset", type=int, default=0, metavar="K",
                      help="zhou2023: shift each training sequence's position ids by an offset drawn uniformly "
                           "from [0, K], so every row of a learned position table is trained (0: off; "
                           "evaluation always starts at 0).")
    data.add_argument("--num_workers", type=int, default=0, help="DataLoader workers (collation in the background).")
    data.add_argument("--group_by_length", type=int, default=0, metavar="G",
                      help="Draw G micro-batches of rows at once, sort them by length, and train on the G "
                           "length-homogeneous micro-batches in a seeded random order: less padding "
                           "(transformers' group_by_length). 0 or 1: off.")
    model = parser.add_argument_group("model")
    model.add_argument("--model", default="tiny",
                       help="A preset (tiny, abbe2024-10m, abbe2024-10m-llama, … see hf_reasoning.modeling) "
                            "or a pretrained causal LM (local folder or Hub id) to fine-tune.")
    model.add_argument("--rope_theta", type=float, default=None,
                       help="RoPE base of a fresh llama preset (default: the preset's 10,000). The quickstart uses "
                            "100, measured better on parity laptop16 at equal steps "
                            "(docs/reproductions/parity_budget_trials.md).")
    model.add_argument("--attn_implementation", default="sdpa",
                       help="eager or sdpa (the inductive formats need a 4D float mask).")
    model.add_argument("--allow-pickle", "--allow_pickle", dest="allow_pickle", action="store_true",
                       help="Load a pretrained --model from pickle weights (*.bin, *.pt), which can run code: only "
                            "for files you trust (default: safetensors only).")
    run = parser.add_argument_group("run")
    run.add_argument("--out", "--run_dir", dest="out", required=True, help="Run directory (becomes a model repo folder).")
    run.add_argument("--resume", action="store_true", help="Resume from the last complete checkpoint in --out.")
    run.add_argument("--overwrite", action="store_true", help="Delete --out first if it exists.")
    run.add_argument("--seed", type=int, default=0)
    optim = parser.add_argument_group("optimisation (defaults of abbe2024)")
    optim.add_argument("--max_steps", type=int, default=10_000, help="Optimizer steps.")
    optim.add_argument("--per_device_train_batch_size", type=int, default=32, metavar="N")
    optim.add_argument("--gradient_accumulation_steps", type=int, default=1, metavar="N")
    optim.add_argument("--learning_rate", type=float, default=3e-4, help="Peak learning rate.")
    optim.add_argument("--min_learning_rate", type=float, default=3e-5, help="Floor of the cosine decay.")
    optim.add_argument("--warmup_steps", type=int, default=None, help="Linear warm-up (default: 2%% of max_steps).")
    optim.add_argument("--weight_decay", type=float, default=0.0)
    optim.add_argument("--adam_beta1", type=float, default=0.9)
    optim.add_argument("--adam_beta2", type=float, default=0.999)
    optim.add_argument("--max_grad_norm", type=float, default=1.0)
    optim.add_argument("--mixed_precision", default="auto", choices=("auto", "no", "bf16", "fp16"),
                       help="auto: bf16 on a GPU that has it, else full precision.")
    evaluation = parser.add_argument_group("evaluation and logging")
    evaluation.add_argument("--eval_every", type=int, default=500, help="Evaluate every N steps (and at the end).")
    evaluation.add_argument("--eval_splits", default="validation,ood", help="Comma-separated splits to evaluate.")
    evaluation.add_argument("--eval_max_examples", type=int, default=256, help="Examples per split (spread evenly).")
    evaluation.add_argument("--eval_batch_size", type=int, default=64)
    evaluation.add_argument("--logging_every", type=int, default=10)
    evaluation.add_argument("--checkpoint_every", type=int, default=500)
    evaluation.add_argument("--checkpoints_to_keep", type=int, default=2)
    evaluation.add_argument("--report_to", default="none",
                            help="Accelerate trackers: none, all, or a comma list (tensorboard, wandb, …).")
    # stops as if killed after N steps (tests of --resume); not part of the run's identity
    parser.add_argument("--stop_after_steps", type=int, default=None, help=argparse.SUPPRESS)
    add_lora_arguments(parser)  # --lora_r, --lora_alpha, --lora_target_modules (hf_reasoning.finetune)
    args = parser.parse_args(argv)
    check_args(args)
    check_lora_args(args)
    return args


def check_args(args: argparse.Namespace) -> None:
    fmt = format_of_config(args.config)
    if fmt not in FORMATS:
        raise HFReasoningError(f"unknown format {fmt!r} in config {args.config!r}; allowed: {', '.join(FORMATS)}")
    for name in ("max_steps", "per_device_train_batch_size", "gradient_accumulation_steps", "eval_every",
                 "checkpoint_every", "logging_every", "eval_batch_size", "checkpoints_to_keep"):
        if getattr(args, name) <= 0:
            raise HFReasoningError(f"--{name} must be a positive integer, got {getattr(args, name)}")
    if args.random_position_offset < 0:
        raise HFReasoningError(f"--random_position_offset must be >= 0 (0 = off), got {args.random_position_offset}")
    if args.group_by_length < 0:
        raise HFReasoningError(f"--group_by_length must be 0 (off) or a positive integer, got {args.group_by_length}")
    if not 0 <= args.min_learning_rate <= args.learning_rate:
        raise HFReasoningError(
            f"--min_learning_rate {args.min_learning_rate} must lie in [0, --learning_rate {args.learning_rate}]")
    if args.resume and args.overwrite:
        raise HFReasoningError("--resume and --overwrite exclude each other; allowed: one of them")
    if args.eval_max_examples <= 0:
        raise HFReasoningError(f"--eval_max_examples must be a positive integer, got {args.eval_max_examples}")
    for name in ("num_workers", "warmup_steps"):
        if getattr(args, name) is not None and getattr(args, name) < 0:
            raise HFReasoningError(f"--{name} must be >= 0, got {getattr(args, name)}")
    if args.stop_after_steps is not None and args.stop_after_steps <= 0:
        raise HFReasoningError(f"--stop_after_steps must be a positive integer, got {args.stop_after_steps}")
    check_number("--learning_rate", args.learning_rate, 0, low_open=True)
    check_number("--weight_decay", args.weight_decay, 0)
    check_number("--max_grad_norm", args.max_grad_norm, 0)
    check_number("--adam_beta1", args.adam_beta1, 0, 1, high_open=True)
    check_number("--adam_beta2", args.adam_beta2, 0, 1, high_open=True)
    if args.rope_theta is not None:
        check_number("--rope_theta", args.rope_theta, 0, low_open=True)
    check_seed("--seed", args.seed)
    check_attention(args.attn_implementation)
    check_report_to(args.report_to)
    check_dataset_source(args.dataset)
    check_output_dir(args.out)
    if args.warmup_steps is None:
        args.warmup_steps = max(1, args.max_steps // 50)


# -- run directory (hf_reasoning.engine keeps it and its checkpoints) ----------------------------


def run_identity(args: argparse.Namespace) -> dict:
    """The arguments that define the run (what --resume compares)."""
    return {k: v for k, v in sorted(vars(args).items()) if k not in RESUMABLE_CHANGES}


def check_train_size(args: argparse.Namespace, accelerator: Accelerator, train) -> None:
    """A fixed train split must hold one global batch (checked before the run folder exists)."""
    if isinstance(train, datasets.IterableDataset):
        return
    needed = args.per_device_train_batch_size * accelerator.num_processes * max(1, args.group_by_length)
    if len(train) < needed:
        raise HFReasoningError(
            f"train split has {len(train)} rows, fewer than one global batch of {needed} (--per_device_train_batch_size "
            f"{args.per_device_train_batch_size} x {accelerator.num_processes} process(es) x --group_by_length); "
            "allowed: a smaller --per_device_train_batch_size or --group_by_length")


# -- data ----------------------------------------------------------------------------------------


def load_data(args: argparse.Namespace) -> tuple[datasets.DatasetDict, dict]:
    """The dataset config and the repo's hf_reasoning metadata (task, scale, seed; may be empty)."""
    from .dataset_repo import load_config, repo_metadata

    data = load_config(args.dataset, args.config)
    try:
        metadata = repo_metadata(args.dataset)
    except Exception:  # noqa: BLE001  (a plain dataset without our card is fine unless --fresh)
        metadata = {}
    return data, metadata


def task_of(metadata: dict):
    """The hf_reasoning task of the dataset, or None (then accuracy is exact completion match)."""
    try:
        from .tasks import get_task

        return get_task(metadata["task"]) if metadata.get("task") else None
    except HFReasoningError:
        return None


def make_tokenizer(args, task, data: datasets.DatasetDict):
    """Presets get a word-level tokenizer over the task's vocabulary (or the dataset's words)."""
    if not is_preset(args.model):
        return None  # the pretrained model's own tokenizer
    if task is not None:
        return build_tokenizer(task.vocab.tokens)
    texts = (text for split in data.values() for row in split.select_columns(["prompt", "completion"])
             for text in (row["prompt"], row["completion"]))
    return build_tokenizer_from_texts(texts)


def micro_batches(args, accelerator: Accelerator, train, collate, start_micro_batch: int):
    """Endless per-process micro-batches, starting after ``start_micro_batch`` of them.

    Fixed data: every epoch is a fresh seeded permutation, cut to a whole number of global
    batches and dealt round-robin to the processes, so every rank gets the same number of
    batches. Fresh data: each process keeps every world_size-th streamed row. With
    ``--group_by_length G`` the rows come G micro-batches at a time (see :func:`by_length`).
    """
    rank, world, size = accelerator.process_index, accelerator.num_processes, args.per_device_train_batch_size
    group = max(1, args.group_by_length)
    # the loader yields whole groups of rows; by_length cuts them into micro-batches
    loader = dict(batch_size=size * group, collate_fn=list, num_workers=args.num_workers, drop_last=True)
    if isinstance(train, datasets.IterableDataset):
        first_group, skip = divmod(start_micro_batch, group)
        stream = split_dataset_by_node(train, rank=rank, world_size=world).skip(first_group * group * size)
        for number, rows in enumerate(DataLoader(stream, **loader), start=first_group):
            yield from by_length(rows, size, collate, args.seed, number, skip)
            skip = 0
        raise HFReasoningError("the fresh training stream ended; allowed: an endless stream")
    per_epoch = len(train) // (size * world * group) * group  # whole groups only
    if per_epoch == 0:
        raise HFReasoningError(
            f"train split has {len(train)} rows, fewer than {group} global batch(es) of {size * world}; "
            "allowed: a smaller --per_device_train_batch_size or --group_by_length")
    epoch, skip = divmod(start_micro_batch, per_epoch)
    while True:
        order = np.random.default_rng(epoch_seed(args.seed, epoch)).permutation(len(train))[: per_epoch * size * world]
        first_group, skip = divmod(skip, group)
        mine = order[rank::world][first_group * group * size :]
        for number, rows in enumerate(DataLoader(train.select(mine), **loader), start=first_group):
            yield from by_length(rows, size, collate, epoch_seed(args.seed, epoch), number, skip)
            skip = 0
        epoch = epoch + 1


def by_length(rows: list[dict], size: int, collate, seed: int, number: int, skip: int = 0):
    """Collated micro-batches of ``size`` rows out of one group of rows: with one micro-batch
    per group, the rows as they come; with several, the rows sorted by text length (stable)
    and the micro-batches in an order seeded by ``(seed, number)``, after skipping ``skip``."""
    if len(rows) == size:
        if not skip:
            yield collate(rows)
        return
    rows = sorted(rows, key=lambda row: len(row["prompt"]) + len(row["completion"]))
    chunks = [rows[start : start + size] for start in range(0, len(rows), size)]
    for index in np.random.default_rng([seed, number]).permutation(len(chunks))[skip:]:
        yield collate(chunks[index])


def eval_rows(split: datasets.Dataset, limit: int) -> list[dict]:
    """At most ``limit`` rows spread evenly over the split (OOD splits are sorted by group)."""
    index = np.unique(np.linspace(0, len(split) - 1, num=min(limit, len(split))).round().astype(int))
    return list(split.select(index))


def max_position(collate, rows: list[dict]) -> int:
    """The largest position id the collator produces for ``rows``."""
    if hasattr(collate, "layouts"):
        top = 0
        for start in range(0, len(rows), 1024):
            chunk = rows[start : start + 1024]
            for layout in collate.layouts([r["prompt"] for r in chunk], [r["completion"] for r in chunk]):
                top = max(top, max(layout.position_ids))
        return top
    batch = collate(rows)
    return int(batch["attention_mask"].sum(-1).max()) - 1


# -- evaluation ----------------------------------------------------------------------------------


def is_correct(task, fmt: str, prediction: str, row: dict) -> tuple[bool, bool]:
    """(answer right, whole completion right) by the scorer's rules (hf_reasoning.evaluation:
    the format's answer rule, exact match with addition's fillers masked, canonical tokens)."""
    from .evaluation import answer_of, is_exact_match

    exact = is_exact_match(prediction, row["completion"], task, fmt if task is not None else None)
    if task is None:  # no answer rule: the whole completion is the answer
        return exact, exact
    answer = answer_of(prediction, task, fmt)
    return answer is not None and answer == row["answer"], exact


@torch.no_grad()
def evaluate(args, accelerator, model, tokenizer, task, fmt, splits: dict[str, list[dict]], bos_token_id) -> dict:
    """Greedy accuracy per split and per group, each process decoding its share of the rows:
    ``split/answer_accuracy``, ``split/exact_match`` and ``split/accuracy`` (overall and per
    group), the format's headline of the two (hf_reasoning.evaluation.headline_metric)."""
    from .evaluation import generation_budgets, headline_metric

    sharded = is_sharded(accelerator)
    # replicated parameters: decode with the bare model and a KV cache; sharded ones need the
    # wrapper, whose forward is a collective, so every rank must run the same number of
    # forward passes (the uncached lockstep decoder of hf_reasoning.inductive)
    decoder = model if sharded else accelerator.unwrap_model(model)
    was_training = decoder.training
    decoder.eval()
    metrics: dict[str, float] = {}
    for name, rows in splits.items():
        # a prediction much longer than its reference cannot be right: stop decoding it there
        budgets = generation_budgets(tokenizer, [r["completion"] for r in rows])
        mine = rows[accelerator.process_index :: accelerator.num_processes]
        my_budgets = budgets[accelerator.process_index :: accelerator.num_processes]
        if sharded:  # equal shares (padded with repeats, whose results are dropped) and the same
            # number of forward passes on every rank
            share = -(-len(rows) // accelerator.num_processes)
            mine = mine + [rows[0]] * (share - len(mine))
            my_budgets = [max(budgets)] * len(mine)
        results = []
        for start in range(0, len(mine), args.eval_batch_size):
            chunk = mine[start : start + args.eval_batch_size]
            chunk_budgets = my_budgets[start : start + args.eval_batch_size]
            prompts = [r["prompt"] for r in chunk]
            if sharded:
                predictions = greedy_complete(decoder, tokenizer, prompts, fmt, max_new_tokens=chunk_budgets, lockstep=True,
                                              bos_token_id=bos_token_id)
            else:  # KV-cached: cached_inductive for inductive formats, model.generate for the others
                predictions = complete(decoder, tokenizer, prompts, fmt, max_new_tokens=chunk_budgets,
                                       bos_token_id=bos_token_id)
            results.extend((r["group"], *is_correct(task, fmt, p, r)) for r, p in zip(chunk, predictions))
        if sharded:
            results = results[: len(rows[accelerator.process_index :: accelerator.num_processes])]
        results = gather_object(results)
        # `accuracy` is the format's headline score (exact match for scratchpad/inductive formats)
        headline = 2 if headline_metric(task, fmt if task is not None else None) == "exact_match" else 1
        by_group = defaultdict(list)
        for result in results:
            by_group[result[0]].append(result[headline])
        metrics[f"{name}/accuracy"] = float(np.mean([r[headline] for r in results]))
        metrics[f"{name}/answer_accuracy"] = float(np.mean([r[1] for r in results]))
        metrics[f"{name}/exact_match"] = float(np.mean([r[2] for r in results]))
        for group, flags in sorted(by_group.items(), key=lambda kv: _group_order(kv[0])):
            metrics[f"{name}/accuracy/{group}"] = float(np.mean(flags))
    decoder.train(was_training)
    return metrics


def _group_order(group: str):
    return (0, int(group), "") if group.lstrip("-").isdigit() else (1, 0, group)


# -- main ----------------------------------------------------------------------------------------


@dataclass
class TrainResult:
    run_dir: Path
    completed_steps: int
    metrics: dict = field(default_factory=dict)
    model: torch.nn.Module | None = None  # the unwrapped model (for callers in the same process)


def main(argv: list[str] | None = None) -> TrainResult:
    args = parse_args(argv)
    quiet_library_bars()
    with contextlib.ExitStack() as run_lock:  # held by the main process until the run ends
        return train(args, run_lock)


def train(args: argparse.Namespace, run_lock: contextlib.ExitStack) -> TrainResult:
    accelerator, mixed_precision = make_accelerator(args)
    check_run_dir(args, run_identity(args), PROGRAM)
    set_seed(args.seed)
    inputs = load_inputs(args)  # data, tokenizer and model: every check runs before the first write
    check_train_size(args, accelerator, inputs.train)
    run_dir = open_run_dir(args, accelerator, run_identity(args), PROGRAM, run_lock)
    pieces = causal_lm_pieces(args, accelerator, inputs)
    accelerator.print(f"model {args.model}: {count_parameters(accelerator.unwrap_model(pieces.model)) / 1e6:.2f}M parameters, "
                      f"format {inputs.fmt}, {accelerator.num_processes} process(es) ({accelerator.distributed_type.value}), "
                      f"mixed precision {mixed_precision}")
    result = train_loop(args, accelerator, run_dir, pieces)
    if result.interrupted:  # --stop_after_steps: as if killed after its last checkpoint
        accelerator.end_training()
        return TrainResult(run_dir, result.state.completed_steps, result.metrics, accelerator.unwrap_model(pieces.model))
    unwrapped = save_model_repo(args, accelerator, inputs, pieces.model, run_dir, result)
    return TrainResult(run_dir, result.state.completed_steps, result.metrics, unwrapped)


@dataclass
class CausalLMInputs:
    """What a causal-LM run trains on and evaluates, every input check passed."""

    fmt: str
    task: object  # the hf_reasoning task, or None (then accuracy is exact completion match)
    tokenizer: object
    model: torch.nn.Module
    lora_model: object  # the PEFT model with --lora_r, else None
    bos_token_id: int | None
    collate: object
    train: datasets.Dataset | datasets.IterableDataset
    splits: dict[str, list[dict]]  # the evaluation rows per split


def load_inputs(args: argparse.Namespace) -> CausalLMInputs:
    """The dataset config, tokenizer, model and collator, checked against each other."""
    fmt = format_of_config(args.config)
    data, metadata = load_data(args)
    task = task_of(metadata)
    eval_names = [s for s in args.eval_splits.split(",") if s]
    for name in ["train", *eval_names]:
        if name not in data:
            raise HFReasoningError(f"split {name!r} not in {args.dataset!r} config {args.config!r}; allowed: {', '.join(data)}")
    tokenizer = make_tokenizer(args, task, data)
    if is_inductive_format(fmt) and args.attn_implementation not in MASKABLE_ATTENTION:
        raise UnsupportedAttentionError(
            f"--attn_implementation {args.attn_implementation!r} cannot take the inductive 4D float mask; "
            f"allowed: {', '.join(MASKABLE_ATTENTION)}")
    model, tokenizer = build_model(args.model, tokenizer, attn_implementation=args.attn_implementation,
                                   rope_theta=args.rope_theta, allow_pickle=args.allow_pickle)
    check_tokenizer(tokenizer, config_symbols(task, data.values()), f"{args.dataset} {args.config}")  # before any write
    model, lora_model = with_lora(model, args)  # (model, None) without --lora_r
    model.config.use_cache = False
    # pretrained LMs that start texts with a BOS token keep it; our word-level ones do not use it
    bos_token_id = None if is_preset(args.model) else tokenizer.bos_token_id
    collate = collator_for(fmt, tokenizer, loss_on_prompt=args.loss_on_prompt, dtype=model.dtype, bos_token_id=bos_token_id)
    train = training_rows(args, data, metadata)
    splits = {name: eval_rows(data[name], args.eval_max_examples) for name in eval_names}
    if is_inductive_format(fmt):
        check_inductive_support(model)
    check_lengths(args, model, collate, train, splits)
    return CausalLMInputs(fmt, task, tokenizer, model, lora_model, bos_token_id, collate, train, splits)


def training_rows(args: argparse.Namespace, data: datasets.DatasetDict, metadata: dict):
    """The fixed train split, or with --fresh an endless stream from the task's generator."""
    if not args.fresh:
        return data["train"]
    if not metadata.get("task"):
        raise HFReasoningError(f"--fresh needs an hf_reasoning dataset repo (its card names the task); {args.dataset!r} has none")
    from . import stream_train

    return stream_train(metadata["task"], args.config, scale=metadata.get("scale", "default"), seed=int(metadata.get("seed", 0)))


def check_lengths(args: argparse.Namespace, model, collate, train, splits: dict[str, list[dict]]) -> None:
    """Every position id the collator makes (plus --random_position_offset) fits the model."""
    sample = list(train.take(1024)) if args.fresh else list(train)
    for name, rows in [("train", sample), *splits.items()]:
        check_positions(model, max_position(collate, rows), where=f"split {name!r}")
    if args.random_position_offset:
        if "position_ids" not in inspect.signature(model.forward).parameters:
            raise HFReasoningError(f"--random_position_offset needs a model that takes position_ids; "
                                   f"model type {model.config.model_type!r} does not")
        check_positions(model, max_position(collate, sample) + args.random_position_offset,
                        where=f"split 'train' with --random_position_offset {args.random_position_offset}")


def causal_lm_pieces(args: argparse.Namespace, accelerator: Accelerator, inputs: CausalLMInputs) -> Pieces:
    """AdamW (no decay on biases and norms), the warm-up + cosine schedule, the micro-batches
    (with their random position offsets) and the greedy evaluation, for the engine's loop."""
    no_decay = ("bias", "norm", "ln_")
    named = list(inputs.model.named_parameters())
    groups = [
        {"params": [p for n, p in named if not any(k in n.lower() for k in no_decay)], "weight_decay": args.weight_decay},
        {"params": [p for n, p in named if any(k in n.lower() for k in no_decay)], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=args.learning_rate, betas=(args.adam_beta1, args.adam_beta2))
    # stepped by hand once per optimizer step (a prepared scheduler steps once per process)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda(args))
    model, optimizer = accelerator.prepare(inputs.model, optimizer)
    if is_sharded(accelerator):  # accelerator.save_state checkpoints it (see engine.save_checkpoint)
        accelerator.register_for_checkpointing(scheduler)

    def epoch_batches(state):  # one endless epoch: micro_batches deals the data's own epochs
        start = state.completed_steps * args.gradient_accumulation_steps  # per-process micro-batches consumed
        batches = micro_batches(args, accelerator, inputs.train, inputs.collate, start)
        if args.random_position_offset:
            batches = (offset_positions(batch, position_offsets(args.seed, number, accelerator.process_index,
                                                                len(batch["input_ids"]), args.random_position_offset))
                       for number, batch in enumerate(batches, start))
        return None, batches

    def evaluate_now(step: int) -> dict:
        scores = evaluate(args, accelerator, model, inputs.tokenizer, inputs.task, inputs.fmt, inputs.splits,
                          inputs.bos_token_id)
        accelerator.print(f"step {step}: " + ", ".join(f"{k} {v:.3f}" for k, v in scores.items() if k.count("/") == 1))
        return scores

    return Pieces(model, optimizer, scheduler, epoch_batches, evaluate=evaluate_now, final_evaluate=evaluate_now,
                  count_tokens=True)


def save_model_repo(args, accelerator: Accelerator, inputs: CausalLMInputs, model, run_dir: Path,
                    result: LoopResult) -> torch.nn.Module:
    """The run directory becomes a model repo folder: weights (or the LoRA adapter), generation
    config, tokenizer and ``train_results.json``. Returns the unwrapped model."""
    accelerator.wait_for_everyone()
    unwrapped = accelerator.unwrap_model(model)
    dot = marker_id(inputs.tokenizer, ".")
    if dot is not None:
        unwrapped.generation_config.eos_token_id = dot  # completions end with '.'
        unwrapped.generation_config.pad_token_id = inputs.tokenizer.pad_token_id
    unwrapped.config.use_cache = True
    if inputs.lora_model is not None:  # PEFT's format: adapter_config.json + adapter_model.safetensors
        save_adapter(inputs.lora_model, run_dir, is_main_process=accelerator.is_main_process)
    else:
        unwrapped.save_pretrained(run_dir, is_main_process=accelerator.is_main_process, save_function=accelerator.save,
                                  state_dict=accelerator.get_state_dict(model), safe_serialization=True)
    if accelerator.is_main_process:
        inputs.tokenizer.save_pretrained(run_dir)
        results = {"completed_steps": result.state.completed_steps, **result.metrics}
        (run_dir / "train_results.json").write_text(json.dumps(results, indent=2) + "\n")
    accelerator.wait_for_everyone()
    accelerator.end_training()
    return unwrapped


if __name__ == "__main__":
    from .errors import exit_on_error

    exit_on_error(main, interrupted="the run continues from its last checkpoint with --resume")
