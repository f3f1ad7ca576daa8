"""The one Accelerate training loop of the package, run by ``train`` (causal LMs) and ``train-head`` (MLP and sequence-classification heads).

The loop is the one of transformers' ``run_clm_no_trainer.py``: per optimizer step,
``gradient_accumulation_steps`` micro-batches under ``accelerator.accumulate``, backward,
clipping, optimizer step, then one step of the LR schedule. The caller builds what differs
(:class:`Pieces`: the prepared model, optimizer and schedule, the micro-batches of each epoch,
the loss, the evaluation, an end-of-epoch hook such as the degree curriculum) and
:func:`train_loop` runs it. What every run shares lives here:

* the run directory: ``training_args.json`` (what ``--resume`` compares), ``metrics.jsonl`` (one
  JSON line per logged row, cut back to the checkpoint on resume) and Accelerate's trackers
  (``--report_to``);
* checkpoints (``checkpoints/step-*``), holding only ``.safetensors`` and ``.json`` files, no
  pickle: the model, the optimizer state flattened to tensors (its param_groups in JSON), the LR
  schedule, each rank's RNG states and the loop's counters (see :func:`write_state`). Sharded
  runs (FSDP, DeepSpeed) are the exception: their states exist only as per-rank shards that
  ``accelerator.save_state`` gathers and writes, optimizer and RNG states as torch pickles.
  Either kind is written to a temporary folder and renamed when complete, so ``--resume``
  restarts from the last complete and sound one (a damaged one is skipped with a ``warning:``
  line); a resumed run reaches the same parameters as an uninterrupted one;
* the LR schedule (linear warm-up, then cosine decay to a floor, or constant) and the logging,
  evaluation and checkpoint schedule.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import random
import shutil
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import safetensors.torch
import torch
from accelerate import Accelerator
from accelerate.utils import DistributedType

from .errors import HFReasoningError, check_output_dir
from .modeling import safetensors_problem
from .outputs import bookkeeping, exclusive
from .progress import progress_bar

TRAINING_ARGS = "training_args.json"
CHECKPOINTS = "checkpoints"
METRICS = "metrics.jsonl"
# The non-sharded checkpoint: safetensors and JSON only (no pickle), one file per state.
#   model.safetensors        the unwrapped model (tied weights stored once, like save_pretrained)
#   optimizer.safetensors    optimizer tensors, ``state.<param index>.<key>``
#   optimizer.json           param_groups, and non-tensor per-parameter state (if any)
#   scheduler.json           LambdaLR.state_dict() (its lambdas are code, rebuilt from the args)
#   grad_scaler.json         fp16 loss scaler (only with --mixed_precision fp16)
#   rng_state_<rank>.safetensors / .json   torch CPU (+ CUDA) generators; numpy and python
#   trainer_state.json       counters; written last, so its presence marks a complete checkpoint
MODEL_FILE, OPTIMIZER_TENSORS, OPTIMIZER_JSON = "model.safetensors", "optimizer.safetensors", "optimizer.json"
SCHEDULER_JSON, SCALER_JSON, TRAINER_STATE = "scheduler.json", "grad_scaler.json", "trainer_state.json"


class RunDirError(HFReasoningError):
    """The run directory exists without --resume/--overwrite, or cannot be resumed."""


class ConfigChangedError(HFReasoningError):
    """--resume with arguments that differ from the interrupted run's."""


# -- the pieces a run plugs in, and where the loop stands ----------------------------------------


@dataclass
class LoopState:
    """Where the loop stands; every field is saved in a checkpoint's ``trainer_state.json``."""

    completed_steps: int = 0
    epoch: int = 0
    epoch_step: int = 0  # optimizer steps done in this epoch
    epoch_loss: float = 0.0  # their summed loss (the end-of-epoch hook gets the mean)
    running_loss: float = 0.0  # summed since the last logged row
    stopped: bool = False  # set by the end-of-epoch hook (early stopping)


def model_loss(model, batch: dict) -> torch.Tensor:
    """The loss a Hugging Face model (or the MLP, which answers alike) computes from ``labels``."""
    return model(**batch).loss


@dataclass
class Pieces:
    """What a run plugs into :func:`train_loop`.

    ``epoch_batches(state)`` returns the number of optimizer steps of the epoch ``state.epoch``
    (None: endless) and its per-process micro-batches from step ``state.epoch_step`` on.
    ``end_of_epoch(state, mean_loss)`` (optional) returns the row to log and may set
    ``state.stopped``; it has ``state_dict()`` / ``load_state_dict()`` for checkpoints.
    """

    model: torch.nn.Module  # prepared by accelerator.prepare
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler  # stepped once per optimizer step
    epoch_batches: Callable[[LoopState], tuple[int | None, Iterator[dict]]]
    evaluate: Callable[[int], dict]  # periodic evaluation (every --eval_every steps), given the step
    final_evaluate: Callable[[int], dict]  # at the end of the run
    loss: Callable[[torch.nn.Module, dict], torch.Tensor] = model_loss
    count_tokens: bool = False  # log target tokens/s (labels != -100) rather than steps/s
    end_of_epoch: Callable | None = None
    first_row: dict | None = None  # logged at step 0 of a run that starts afresh (the curriculum's level)


@dataclass
class LoopResult:
    state: LoopState
    metrics: dict = field(default_factory=dict)  # the last logged training row and scores
    final: dict = field(default_factory=dict)  # what final_evaluate returned
    interrupted: bool = False  # stopped by --stop_after_steps (as if killed)


# -- accelerator, run directory and schedule -----------------------------------------------------


def make_accelerator(args: argparse.Namespace) -> tuple[Accelerator, str]:
    """The Accelerator of a run and its mixed precision (auto: bf16 on a GPU that has it)."""
    mixed_precision = args.mixed_precision
    if mixed_precision == "auto":
        mixed_precision = "bf16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "no"
    report_to = None if args.report_to == "none" else args.report_to.split(",")
    # plain `torchrun` on a machine without an accelerator: data parallel over CPU processes
    # (gloo), which `accelerate launch --cpu` would otherwise have to request
    cpu = int(os.environ.get("WORLD_SIZE", "1")) > 1 and not torch.accelerator.is_available()
    accelerator = Accelerator(cpu=cpu, gradient_accumulation_steps=args.gradient_accumulation_steps,
                              mixed_precision=mixed_precision, log_with=report_to, project_dir=args.out)
    return accelerator, mixed_precision


def check_run_dir(args: argparse.Namespace, identity: dict, program: str) -> Path:
    """Read-only checks of the run directory: it must be new (or --overwrite), or, with
    --resume, hold a run whose ``training_args.json`` equals ``identity``."""
    run_dir = check_output_dir(args.out)
    saved = run_dir / TRAINING_ARGS
    if args.resume:
        if not saved.is_file():
            raise RunDirError(f"--resume: {str(run_dir)!r} holds no {TRAINING_ARGS}; allowed: a run directory of {program}")
        try:
            before = json.loads(saved.read_text())
        except ValueError:
            raise RunDirError(f"--resume: {str(saved)!r} is not readable JSON; allowed: the file {program} wrote") from None
        changed = sorted(k for k in set(before) | set(identity) if before.get(k) != identity.get(k))
        if changed:
            details = ", ".join(f"{k}: {before.get(k)!r} -> {identity.get(k)!r}" for k in changed)
            raise ConfigChangedError(f"--resume with changed arguments ({details}); allowed: the original arguments")
    elif run_dir.exists() and any(not bookkeeping(p.name) for p in run_dir.iterdir()) and not args.overwrite:
        raise RunDirError(f"run directory {str(run_dir)!r} exists; allowed: a new directory, --resume or --overwrite")
    return run_dir


def open_run_dir(args, accelerator: Accelerator, identity: dict, program: str, run_lock: contextlib.ExitStack) -> Path:
    """Take the run directory: one writer per folder (the main process holds the lock until the
    run ends), its checks again under the lock, then clear it (--overwrite) and write
    ``training_args.json``. Called once every input check has passed, so bad input never
    touches an existing run."""
    run_dir = check_output_dir(args.out)
    if accelerator.is_main_process:
        run_lock.enter_context(exclusive(run_dir, program))
        check_run_dir(args, identity, program)
    accelerator.wait_for_everyone()
    if accelerator.is_main_process and not args.resume:
        if args.overwrite and run_dir.exists():
            shutil.rmtree(run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / TRAINING_ARGS).write_text(json.dumps(identity, indent=2, sort_keys=True) + "\n")
    accelerator.wait_for_everyone()
    return run_dir


def lr_lambda(args: argparse.Namespace):
    """Linear warm-up to the peak, then cosine decay to the floor ``min_learning_rate`` (or,
    with ``lr_scheduler_type`` constant, the peak)."""
    floor = args.min_learning_rate / args.learning_rate if args.learning_rate else 0.0
    constant = getattr(args, "lr_scheduler_type", "cosine") == "constant"

    def factor(step: int) -> float:
        if step < args.warmup_steps:
            return (step + 1) / args.warmup_steps
        if constant:
            return 1.0
        progress = min(1.0, (step - args.warmup_steps) / max(1, args.max_steps - args.warmup_steps))
        return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))

    return factor


def epoch_seed(seed: int, epoch: int) -> int:
    """The seed of one epoch's permutation of the training rows."""
    return int(np.random.SeedSequence([seed, epoch]).generate_state(1)[0])


# -- the loop ------------------------------------------------------------------------------------


def train_loop(args: argparse.Namespace, accelerator: Accelerator, run_dir: Path, pieces: Pieces) -> LoopResult:
    """Resume (--resume), then train to ``args.max_steps`` (or the hook's early stop), logging,
    evaluating and checkpointing on the way; the final evaluation ends it."""
    state = resume(args, accelerator, run_dir, pieces)
    result = LoopResult(state)
    log = metrics_logger(accelerator, run_dir / METRICS, state)
    if args.report_to != "none":
        accelerator.init_trackers("hf_reasoning", config={k: v for k, v in vars(args).items()
                                                           if isinstance(v, (int, float, str, bool))})
    progress = progress_bar(args.max_steps, "train", initial=state.completed_steps,
                            disable=not accelerator.is_local_main_process)
    if state.completed_steps == 0 and pieces.first_row:
        log(pieces.first_row)
    pieces.model.train()
    batches, running_tokens, tick = None, 0, time.perf_counter()
    while state.completed_steps < args.max_steps and not state.stopped:
        if batches is None:
            steps_in_epoch, batches = pieces.epoch_batches(state)
        running_tokens += train_step(args, accelerator, pieces, batches, state)
        progress.update(1)
        if state.completed_steps % args.logging_every == 0:
            seconds = time.perf_counter() - tick
            rate = ({"train/target_tokens_per_s": running_tokens * accelerator.num_processes / seconds}
                    if pieces.count_tokens else {"train/steps_per_s": args.logging_every / seconds})
            result.metrics = {"train/loss": state.running_loss / args.logging_every,
                              "train/lr": pieces.scheduler.get_last_lr()[0], **rate}
            progress.set_postfix(loss=f"{result.metrics['train/loss']:.4g}")
            log(result.metrics)
            state.running_loss, running_tokens, tick = 0.0, 0, time.perf_counter()
        if state.completed_steps % args.eval_every == 0 and state.completed_steps < args.max_steps:
            scores = pieces.evaluate(state.completed_steps)
            result.metrics = {**result.metrics, **scores}
            log(scores)
            tick = time.perf_counter()
        if state.epoch_step == steps_in_epoch or state.completed_steps >= args.max_steps:
            end_epoch(accelerator, pieces, state, log)
            batches = None
        if args.checkpoint_every and state.completed_steps % args.checkpoint_every == 0 \
                and state.completed_steps < args.max_steps:
            save_checkpoint(accelerator, run_dir, args.checkpoints_to_keep, pieces, state,
                            micro_batch=state.completed_steps * args.gradient_accumulation_steps)
        if args.stop_after_steps is not None and state.completed_steps >= args.stop_after_steps:
            result.interrupted = True
            break
    progress.close()
    if not result.interrupted:
        result.final = pieces.final_evaluate(state.completed_steps)
        result.metrics = {**result.metrics, **result.final}
        log(result.final)
    return result


def train_step(args, accelerator: Accelerator, pieces: Pieces, batches: Iterator[dict], state: LoopState) -> int:
    """One optimizer step over ``gradient_accumulation_steps`` micro-batches; returns the
    number of target tokens (labels other than -100) it trained on."""
    tokens = 0
    for _ in range(args.gradient_accumulation_steps):
        batch = {k: v.to(accelerator.device) for k, v in next(batches).items()}
        with accelerator.accumulate(pieces.model):
            loss = pieces.loss(pieces.model, batch)
            accelerator.backward(loss)
            if accelerator.sync_gradients and args.max_grad_norm > 0:
                accelerator.clip_grad_norm_(pieces.model.parameters(), args.max_grad_norm)
            pieces.optimizer.step()
            pieces.optimizer.zero_grad()
        step_loss = loss.detach().float().item() / args.gradient_accumulation_steps
        state.running_loss += step_loss
        state.epoch_loss += step_loss
        if pieces.count_tokens:
            tokens += int((batch["labels"] != -100).sum())
    pieces.scheduler.step()
    state.completed_steps += 1
    state.epoch_step += 1
    return tokens


def end_epoch(accelerator: Accelerator, pieces: Pieces, state: LoopState, log) -> None:
    """An epoch is over (or the run): the hook gets the epoch's mean loss over every process,
    so all ranks take the same curriculum and early-stopping decisions."""
    if pieces.end_of_epoch is None:
        return
    mean = accelerator.reduce(torch.tensor(state.epoch_loss / max(1, state.epoch_step), device=accelerator.device), "mean")
    log(pieces.end_of_epoch(state, float(mean)))
    state.epoch, state.epoch_step, state.epoch_loss = state.epoch + 1, 0, 0.0


def metrics_logger(accelerator: Accelerator, metrics_file: Path, state: LoopState):
    """``log(row)``: to the trackers and one JSON line of ``metrics.jsonl``, at the current step."""

    def log(metrics: dict) -> None:
        accelerator.log(metrics, step=state.completed_steps)
        if accelerator.is_main_process:
            with metrics_file.open("a") as f:
                f.write(json.dumps({"step": state.completed_steps, **metrics}) + "\n")

    return log


def resume(args, accelerator: Accelerator, run_dir: Path, pieces: Pieces) -> LoopState:
    """The state of the last sound checkpoint (--resume), or a fresh one; ``metrics.jsonl`` keeps
    only the rows up to it (what a killed run logged after it is logged again), none without."""
    state = LoopState()
    checkpoint = last_checkpoint(run_dir, warn=accelerator.print) if args.resume else None
    if checkpoint is not None:
        state = load_checkpoint(accelerator, checkpoint, pieces)
        accelerator.print(f"resumed from {checkpoint} at step {state.completed_steps}")
    metrics_file = run_dir / METRICS
    if accelerator.is_main_process:
        kept = [line for line in (metrics_file.read_text().splitlines() if metrics_file.exists() else [])
                if checkpoint is not None and json.loads(line)["step"] <= state.completed_steps]
        metrics_file.write_text("".join(line + "\n" for line in kept))
    return state


# -- checkpoints ---------------------------------------------------------------------------------


def checkpoint_problem(checkpoint: Path) -> str | None:
    """What makes a checkpoint unusable (unreadable trainer state, a missing or truncated
    state file), or None. Reads the JSON files and the safetensors headers only."""
    try:
        state = json.loads((checkpoint / TRAINER_STATE).read_text())
        int(state["completed_steps"])
    except (OSError, ValueError, KeyError, TypeError):
        return f"{TRAINER_STATE} is missing, empty or unreadable"
    if state.get("layout", "accelerate") == "safetensors":
        required = [MODEL_FILE, OPTIMIZER_TENSORS, OPTIMIZER_JSON, SCHEDULER_JSON]
        required += [f"rng_state_{rank}.{ext}" for rank in range(int(state.get("num_processes", 1)))
                     for ext in ("safetensors", "json")]
        missing = [name for name in required if not (checkpoint / name).is_file()]
        if missing:
            return f"no {missing[0]}"
    for path in sorted(checkpoint.glob("*.safetensors")):
        problem = safetensors_problem(path)
        if problem:
            return f"{path.name}: {problem}"
    for path in sorted(checkpoint.glob("*.json")):
        try:
            json.loads(path.read_text())
        except (OSError, ValueError):
            return f"{path.name} is not readable JSON"
    return None


def last_checkpoint(run_dir: Path, warn=print) -> Path | None:
    """The newest *complete and sound* checkpoint: only renamed folders count, never
    ``.tmp-*`` ones; a damaged one (truncated file, empty state) is skipped with a warning
    line for the one before. None if there is no checkpoint; an error if none is sound."""
    folder = run_dir / CHECKPOINTS
    candidates = sorted(folder.glob("step-*")) if folder.is_dir() else []
    for checkpoint in reversed(candidates):
        problem = checkpoint_problem(checkpoint)
        if problem is None:
            return checkpoint
        warn(f"warning: checkpoint {str(checkpoint)!r} is damaged ({problem}); trying the one before")
    if candidates:
        raise RunDirError(f"--resume: none of the {len(candidates)} checkpoint(s) in {str(folder)!r} is sound; "
                          "allowed: --overwrite to start the run again")
    return None


def is_sharded(accelerator: Accelerator) -> bool:
    """Parameters or optimizer state split over the ranks (FSDP, DeepSpeed ZeRO, Megatron)."""
    return accelerator.distributed_type in (DistributedType.FSDP, DistributedType.DEEPSPEED, DistributedType.MEGATRON_LM)


def save_checkpoint(accelerator: Accelerator, run_dir: Path, keep: int, pieces: Pieces, state: LoopState,
                    micro_batch: int) -> None:
    """Write the training state into a temporary folder, then rename it: a kill mid-save
    leaves only an ignored ``.tmp-*`` folder and the previous checkpoint intact."""
    step = state.completed_steps
    folder = run_dir / CHECKPOINTS
    final, tmp = folder / f"step-{step:08d}", folder / f".tmp-step-{step:08d}"
    if accelerator.is_main_process:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
    accelerator.wait_for_everyone()
    if is_sharded(accelerator):
        # sharded states exist only as per-rank pieces gathered by the FSDP/DeepSpeed state-dict
        # machinery, which Accelerate drives; its optimizer/RNG files are torch pickles
        accelerator.save_state(str(tmp))
    else:
        write_state(accelerator, tmp, pieces.model, pieces.optimizer, pieces.scheduler)
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        trainer_state = {"completed_steps": step, "micro_batches": micro_batch, "num_processes": accelerator.num_processes,
                         "layout": "accelerate" if is_sharded(accelerator) else "safetensors", "loop": asdict(state)}
        if pieces.end_of_epoch is not None:
            trainer_state["end_of_epoch"] = pieces.end_of_epoch.state_dict()
        (tmp / TRAINER_STATE).write_text(json.dumps(trainer_state, indent=2) + "\n")  # last: marks it complete
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)
        for old in sorted(folder.glob("step-*"))[:-keep]:
            shutil.rmtree(old, ignore_errors=True)
    accelerator.wait_for_everyone()


def load_checkpoint(accelerator: Accelerator, checkpoint: Path, pieces: Pieces) -> LoopState:
    """Restore a checkpoint written by :func:`save_checkpoint`; returns the loop's state."""
    trainer_state = json.loads((checkpoint / TRAINER_STATE).read_text())
    layout, expected = trainer_state.get("layout", "accelerate"), "accelerate" if is_sharded(accelerator) else "safetensors"
    if layout != expected:
        raise RunDirError(f"--resume: checkpoint {str(checkpoint)!r} has the {layout!r} layout, a "
                          f"{accelerator.distributed_type.value} run reads {expected!r}; allowed: the Accelerate config "
                          "the run started with")
    if layout == "accelerate":
        accelerator.load_state(str(checkpoint))
    else:
        saved = trainer_state["num_processes"]
        if saved != accelerator.num_processes:
            raise RunDirError(f"--resume: checkpoint {str(checkpoint)!r} holds the RNG states of {saved} process(es), "
                              f"this run has {accelerator.num_processes}; allowed: {saved} process(es)")
        read_state(accelerator, checkpoint, pieces.model, pieces.optimizer, pieces.scheduler)
    if pieces.end_of_epoch is not None and "end_of_epoch" in trainer_state:
        pieces.end_of_epoch.load_state_dict(trainer_state["end_of_epoch"])
    loop = trainer_state.get("loop", {})  # checkpoints of older versions hold the step count only
    known = {f.name for f in fields(LoopState)}
    return LoopState(**{**{k: v for k, v in loop.items() if k in known},
                        "completed_steps": int(trainer_state["completed_steps"])})


def write_state(accelerator: Accelerator, folder: Path, model, optimizer, scheduler) -> None:
    """Replicated states (model, optimizer, scheduler) from the main process, RNG from each rank."""
    if accelerator.is_main_process:
        # save_model drops the duplicate names of shared tensors (tied embeddings)
        safetensors.torch.save_model(accelerator.unwrap_model(model), str(folder / MODEL_FILE), metadata={"format": "pt"})
        tensors, scalars = {}, {}
        state = optimizer.state_dict()
        for index, per_param in state["state"].items():
            for key, value in per_param.items():
                if isinstance(value, torch.Tensor):
                    tensors[f"state.{index}.{key}"] = value.detach().cpu().contiguous()
                else:
                    scalars[f"state.{index}.{key}"] = value
        safetensors.torch.save_file(tensors, str(folder / OPTIMIZER_TENSORS), metadata={"format": "pt"})
        write_json(folder / OPTIMIZER_JSON, {"param_groups": state["param_groups"], "scalars": scalars})
        write_json(folder / SCHEDULER_JSON, scheduler.state_dict())
        if accelerator.scaler is not None:
            write_json(folder / SCALER_JSON, accelerator.scaler.state_dict())
    rank = accelerator.process_index
    generators = {"torch_cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        generators |= {f"cuda.{device}": state for device, state in enumerate(torch.cuda.get_rng_state_all())}
    safetensors.torch.save_file(generators, str(folder / f"rng_state_{rank}.safetensors"))
    kind, keys, position, has_gauss, cached_gaussian = np.random.get_state()
    version, python_state, gauss = random.getstate()
    write_json(folder / f"rng_state_{rank}.json", {
        "numpy": {"kind": kind, "keys": keys.tolist(), "pos": position, "has_gauss": has_gauss,
                  "cached_gaussian": cached_gaussian},
        "python": {"version": version, "state": list(python_state), "gauss": gauss},
    })


def read_state(accelerator: Accelerator, folder: Path, model, optimizer, scheduler) -> None:
    """The inverse of :func:`write_state`, on every rank."""
    safetensors.torch.load_model(accelerator.unwrap_model(model), str(folder / MODEL_FILE), strict=True,
                                 device=str(accelerator.device))
    tensors = safetensors.torch.load_file(str(folder / OPTIMIZER_TENSORS))
    saved = json.loads((folder / OPTIMIZER_JSON).read_text())
    per_param: dict[int, dict] = defaultdict(dict)
    for name, value in [*tensors.items(), *saved["scalars"].items()]:
        _, index, key = name.split(".", 2)
        per_param[int(index)][key] = value
    # tuples (betas) come back from JSON as lists, which torch's optimizers take alike
    optimizer.load_state_dict({"state": dict(per_param), "param_groups": saved["param_groups"]})
    scheduler.load_state_dict(json.loads((folder / SCHEDULER_JSON).read_text()))
    if accelerator.scaler is not None and (folder / SCALER_JSON).is_file():
        accelerator.scaler.load_state_dict(json.loads((folder / SCALER_JSON).read_text()))
    rank = accelerator.process_index
    generators = safetensors.torch.load_file(str(folder / f"rng_state_{rank}.safetensors"))
    torch.set_rng_state(generators["torch_cpu"])
    cuda = [generators[f"cuda.{d}"] for d in range(torch.cuda.device_count()) if f"cuda.{d}" in generators]
    if cuda and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)
    rng = json.loads((folder / f"rng_state_{rank}.json").read_text())
    numpy_state = rng["numpy"]
    np.random.set_state((numpy_state["kind"], np.array(numpy_state["keys"], dtype=np.uint32), numpy_state["pos"],
                         numpy_state["has_gauss"], numpy_state["cached_gaussian"]))
    random.setstate((rng["python"]["version"], tuple(rng["python"]["state"]), rng["python"]["gauss"]))


def write_json(path: Path, value) -> None:
    path.write_text(json.dumps(value, indent=1) + "\n")
