"""Fine-tuning with the libraries people use: ``transformers.Trainer``, TRL's ``SFTTrainer``, PEFT.

The rows of every config have ``prompt`` and ``completion`` columns; the completion starts with
one space (generator ≥ 0.6.0), so ``prompt + completion`` is the training text. The project's own
trainer (:mod:`hf_reasoning.train`) feeds a causal LM the ids of ``prompt`` then those of the
completion after one space (:func:`hf_reasoning.tokenization.training_text`, which reads rows of
generator ≤ 0.5.0, without the space, alike), with loss on the completion only. Inductive formats are
trained with the duplication trick and a 4D mask (:class:`hf_reasoning.inductive.InductiveCollator`).

**transformers.Trainer** — pass the project's collator as ``data_collator``; it takes rows
with ``prompt``/``completion`` and returns ``input_ids``, ``labels``, ``attention_mask``
(4D additive float mask for inductive formats) and ``position_ids`` (inductive)::

    from transformers import Trainer, TrainingArguments
    from hf_reasoning.finetune import data_collator
    collate = data_collator("laptop-inductive", tokenizer, model)
    trainer = Trainer(model=model, train_dataset=ds["train"], data_collator=collate,
                      args=TrainingArguments("out", remove_unused_columns=False, max_steps=1000))

``remove_unused_columns=False`` keeps the text columns the collator reads.

**TRL SFTTrainer** — two ways:

* prompt-completion rows *out of the box*: SFTTrainer joins ``prompt + completion`` with nothing
  between them, and every completion starts with its space, so SFTTrainer trains on the very
  token ids of the project's trainer, plus the ``eos_token`` it appends to every completion.
  No inductive masking: use it for the plain, scratchpad and answer-only formats::

      from trl import SFTConfig, SFTTrainer
      trainer = SFTTrainer(model=model, processing_class=tokenizer, train_dataset=ds["train"],
                           args=SFTConfig("out", max_steps=1000))

  Rows built by generator ≤ 0.5.0 (no leading space; the card's ``generator_version``) need
  :func:`sft_dataset` first: without the space, ``=`` and ``0`` become ``=0``, one different
  token or an unknown one.

* the project's collator (every format, inductive masking included, exactly the project's
  batches): :func:`sft_config_kwargs` are the ``SFTConfig`` options that hand the raw rows to it::

      trainer = SFTTrainer(model=model, processing_class=tokenizer, train_dataset=ds["train"],
                           data_collator=data_collator("laptop-inductive", tokenizer, model),
                           args=SFTConfig("out", max_steps=1000, **sft_config_kwargs()))

  (SFTTrainer's logged ``num_tokens`` sums the attention mask, which is an additive float
  mask for inductive formats: ignore that one figure.)

**PEFT / LoRA** — ``hf-reasoning train --model FOLDER_OR_HUB_ID --lora_r 8 [--lora_alpha 16
--lora_target_modules q_proj,v_proj]`` trains a LoRA adapter on a pretrained causal LM
(:func:`with_lora`) and saves it in PEFT's own format (``adapter_config.json`` +
``adapter_model.safetensors``, :func:`save_adapter`) in the run folder, beside the base
model's ``config.json``, ``generation_config.json`` and the tokenizer. :func:`load_causal_lm`
loads a run folder, adapter or not (the base model from the adapter's
``base_model_name_or_path``), for ``hf-reasoning evaluate`` and
``hf_reasoning.generation.complete``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .errors import HFReasoningError
from .inductive import collator_for, format_of_config, is_inductive_format
from .tokenization import completion_text

ADAPTER_CONFIG = "adapter_config.json"
DEFAULT_TARGET_MODULES = "all-linear"


# -- Trainer and SFTTrainer -----------------------------------------------------------------------


def data_collator(config: str, tokenizer, model=None, *, loss_on_prompt: bool = False):
    """The project's collator of a config (``<preset>-<format>``) as a ``data_collator`` for
    ``transformers.Trainer`` or ``SFTTrainer``: :class:`~hf_reasoning.inductive.InductiveCollator`
    for inductive formats, :class:`~hf_reasoning.inductive.CausalCollator` otherwise (reused, not
    rewritten). With a ``model``, the 4D mask takes its dtype, and a pretrained model whose
    tokenizer has a BOS token gets it before the prompt, as in ``hf-reasoning train``."""
    fmt = format_of_config(config)
    kwargs: dict = {"loss_on_prompt": loss_on_prompt}
    if model is not None:
        kwargs["dtype"] = model.dtype
        if not _is_word_level(tokenizer):
            kwargs["bos_token_id"] = tokenizer.bos_token_id
    if not is_inductive_format(fmt):
        kwargs.pop("dtype", None)
    return collator_for(fmt, tokenizer, **kwargs)


def _is_word_level(tokenizer) -> bool:
    """The project's own word-level tokenizers: trained without BOS (hf_reasoning.train)."""
    backend = getattr(tokenizer, "backend_tokenizer", None) or getattr(tokenizer, "_tokenizer", None)
    try:
        return json.loads(backend.to_str())["model"]["type"] == "WordLevel"
    except (AttributeError, KeyError, TypeError, ValueError):
        return False


def sft_dataset(dataset):
    """Rows built by generator ≤ 0.5.0 as SFTTrainer's prompt-completion format reads them:
    ``completion`` with its leading space (:func:`hf_reasoning.tokenization.completion_text`), so
    that ``prompt + completion`` is the project's training text. Rows of generator ≥ 0.6.0
    already are (this leaves them unchanged). Other columns are kept."""
    return dataset.map(lambda row: {"completion": completion_text(row["completion"])})


def sft_config_kwargs() -> dict:
    """``SFTConfig`` options under which SFTTrainer hands the raw rows to the project's collator
    (:func:`data_collator`) instead of tokenizing them itself."""
    return {"dataset_kwargs": {"skip_prepare_dataset": True}, "remove_unused_columns": False}


# -- PEFT -----------------------------------------------------------------------------------------


def add_lora_arguments(parser) -> None:
    """``--lora_r``, ``--lora_alpha``, ``--lora_target_modules`` (hf_reasoning.train)."""
    lora = parser.add_argument_group("LoRA (PEFT; needs pip install 'hf_reasoning[peft]')")
    lora.add_argument("--lora_r", type=int, default=None, metavar="R",
                      help="Train a LoRA adapter of rank R on a pretrained --model instead of every weight; the run "
                           "folder gets PEFT's adapter_config.json + adapter_model.safetensors.")
    lora.add_argument("--lora_alpha", type=float, default=None, help="LoRA scaling alpha (default: 2 R).")
    lora.add_argument("--lora_target_modules", default=None,
                      help=f"Comma-separated module names to adapt (default: {DEFAULT_TARGET_MODULES}, every linear "
                           "layer but the output head).")


def _require_peft():
    try:
        import peft
    except ImportError:
        raise HFReasoningError("--lora_r needs the peft package; allowed: pip install 'hf_reasoning[peft]', "
                               "or train without --lora_r") from None
    return peft


def check_lora_args(args) -> None:
    """One-line errors for LoRA options that cannot work, before anything is loaded or written."""
    from .modeling import is_preset

    r = getattr(args, "lora_r", None)
    if r is None:
        if getattr(args, "lora_alpha", None) is not None or getattr(args, "lora_target_modules", None):
            raise HFReasoningError("--lora_alpha and --lora_target_modules need --lora_r; allowed: add --lora_r R")
        return
    if r <= 0:
        raise HFReasoningError(f"--lora_r {r} is not a rank; allowed: a positive integer")
    if args.lora_alpha is not None and not args.lora_alpha > 0:
        raise HFReasoningError(f"--lora_alpha {args.lora_alpha} is not a scale; allowed: a positive number")
    if is_preset(args.model):
        raise HFReasoningError(f"--lora_r adapts a pretrained model, not the fresh preset {args.model!r}; allowed: "
                               "--model FOLDER or a Hub id owner/name")
    _require_peft()


def with_lora(model, args):
    """``(model, peft_model)``: the model with LoRA layers injected and every other weight frozen,
    and the ``peft.PeftModel`` around it (for :func:`save_adapter`); ``(model, None)`` without
    ``--lora_r``. The returned model is the transformers model itself (same forward), so the
    training loop, its evaluation and its checkpoints work unchanged."""
    check_lora_args(args)
    if getattr(args, "lora_r", None) is None:
        return model, None
    peft = _require_peft()
    targets = args.lora_target_modules or DEFAULT_TARGET_MODULES
    config = peft.LoraConfig(
        r=args.lora_r,
        lora_alpha=args.lora_alpha if args.lora_alpha is not None else 2 * args.lora_r,
        target_modules=targets if targets == DEFAULT_TARGET_MODULES else [t for t in targets.split(",") if t],
        task_type="CAUSAL_LM",
    )
    try:
        peft_model = peft.get_peft_model(model, config)
    except ValueError as error:
        import torch

        linear = sorted({name.rpartition(".")[2] for name, m in model.named_modules() if isinstance(m, torch.nn.Linear)})
        raise HFReasoningError(f"--lora_target_modules {targets!r} do not match the model "
                               f"({str(error).splitlines()[0][:160]}); allowed: {', '.join(linear)} or "
                               f"{DEFAULT_TARGET_MODULES}") from None
    # the adapter names its base the way a user can load it again: a Hub id, or an absolute folder
    base = args.model if not os.path.isdir(args.model) else str(Path(args.model).resolve())
    peft_model.peft_config["default"].base_model_name_or_path = base
    return peft_model.get_base_model(), peft_model


def save_adapter(peft_model, run_dir: str | os.PathLike, *, is_main_process: bool = True) -> None:
    """The adapter in PEFT's own format (``adapter_config.json`` + ``adapter_model.safetensors``),
    with the base model's ``config.json`` and ``generation_config.json`` (the model card and the
    model checks read them; ``generation_config`` carries the ``.`` end token set by training)."""
    if not is_main_process:
        return
    peft_model.save_pretrained(run_dir, safe_serialization=True)
    base = peft_model.get_base_model()
    base.config.save_pretrained(run_dir)
    base.generation_config.save_pretrained(run_dir)
    Path(run_dir, "README.md").unlink(missing_ok=True)  # PEFT's placeholder card; hf-reasoning card writes the real one


def is_adapter_folder(path: str | os.PathLike) -> bool:
    return (Path(path) / ADAPTER_CONFIG).is_file()


def load_causal_lm(path: str | os.PathLike, **kwargs):
    """``AutoModelForCausalLM.from_pretrained(path)``, or, for a PEFT adapter folder, its base
    model (``base_model_name_or_path`` of ``adapter_config.json``) with the adapter merged in
    (a plain transformers model: same forward and ``generate`` as a fully fine-tuned one).
    Safetensors only."""
    from transformers import AutoModelForCausalLM

    if not is_adapter_folder(path):
        return AutoModelForCausalLM.from_pretrained(str(path), **kwargs)
    try:
        from peft import PeftModel
    except ImportError:
        raise HFReasoningError(f"{str(path)!r} is a PEFT adapter folder; allowed: install peft "
                               "(pip install 'hf_reasoning[peft]') to load it") from None
    try:
        base_name = json.loads((Path(path) / ADAPTER_CONFIG).read_text())["base_model_name_or_path"]
    except (OSError, ValueError, KeyError) as error:
        raise HFReasoningError(f"{str(Path(path) / ADAPTER_CONFIG)!r} names no base model ({error}); "
                               "allowed: an adapter_config.json written by PEFT") from None
    try:
        base = AutoModelForCausalLM.from_pretrained(base_name, use_safetensors=True, **kwargs)
    except OSError as error:
        raise HFReasoningError(f"cannot load the base model {base_name!r} of adapter {str(path)!r}: "
                               f"{str(error).splitlines()[0][:200]}") from None
    model = PeftModel.from_pretrained(base, str(path)).merge_and_unload()
    # the run's generation settings (end token '.') over the base's
    if (Path(path) / "generation_config.json").is_file():
        from transformers import GenerationConfig

        model.generation_config = GenerationConfig.from_pretrained(str(path))
    return model


def load_run(path: str | os.PathLike):
    """``(model, tokenizer)`` of a run folder (adapter or full model), ready for
    :func:`hf_reasoning.generation.complete`."""
    from transformers import AutoTokenizer

    return load_causal_lm(path), AutoTokenizer.from_pretrained(str(path))


__all__ = [
    "add_lora_arguments",
    "check_lora_args",
    "data_collator",
    "is_adapter_folder",
    "load_causal_lm",
    "load_run",
    "save_adapter",
    "sft_config_kwargs",
    "sft_dataset",
    "with_lora",
]
