"""Model presets, loading, and the checks an inductive run needs before it starts.

Preset names are ``<size>`` or ``<size>-<family>``:

=================  =======  =====  ======  =========================================
size               layers   heads  hidden  notes
=================  =======  =====  ======  =========================================
``tiny``           3        4      128     ~0.8M parameters, trains on a CPU in minutes
``abbe2024-10m``   6        6      384     the sizes of abbe2024's GPT-2 models
``abbe2024-25m``   8        8      512
``abbe2024-85m``   12       12     768
=================  =======  =====  ======  =========================================

family: ``gpt2`` (GPT-2 decoder, learned absolute positions, like the source), ``llama``
(Llama decoder, RoPE) or ``nope`` (Llama-style decoder without any position encoding, built
as a SmolLM3 model whose every layer skips RoPE). The family defaults to ``gpt2`` for the
``abbe2024-*`` sizes (the source's architecture) and to ``llama`` for ``tiny`` (the
architecture the team measured on CPU). So ``abbe2024-10m`` = ``abbe2024-10m-gpt2`` and
``tiny`` = ``tiny-llama``. Every preset is a plain ``transformers`` config, so its
checkpoints load with ``AutoModelForCausalLM.from_pretrained``.

Anything else is a pretrained causal LM: a local folder (e.g. a previous run) or a Hub id.
"""

from __future__ import annotations

import inspect
import json
import os
from dataclasses import dataclass

import torch
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    GPT2Config,
    LlamaConfig,
    PretrainedConfig,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    SmolLM3Config,
)

from .errors import HFReasoningError

FAMILIES = ("gpt2", "llama", "nope")
# eager and sdpa take a 4D additive float mask as-is; flash-attention kernels only know
# padding masks and flex attention wants a BlockMask, so they cannot run the inductive mask.
MASKABLE_ATTENTION = ("eager", "sdpa")


class UnknownModelError(HFReasoningError):
    """A model name that is neither a preset, nor a local folder, nor a Hub id."""


class UnsupportedAttentionError(HFReasoningError):
    """An attention implementation that cannot take the inductive 4D float mask."""


class PositionOverflowError(HFReasoningError):
    """Position ids beyond a learned position table."""


@dataclass(frozen=True)
class Size:
    layers: int
    heads: int
    hidden: int
    default_family: str
    max_positions: int = 2048


SIZES: dict[str, Size] = {
    "tiny": Size(layers=3, heads=4, hidden=128, default_family="llama"),
    "abbe2024-10m": Size(layers=6, heads=6, hidden=384, default_family="gpt2"),
    "abbe2024-25m": Size(layers=8, heads=8, hidden=512, default_family="gpt2"),
    "abbe2024-85m": Size(layers=12, heads=12, hidden=768, default_family="gpt2"),
}


def preset_names() -> list[str]:
    """Every accepted preset name (sizes alone and with each family)."""
    return [name for size in SIZES for name in (size, *(f"{size}-{f}" for f in FAMILIES))]


def parse_preset(name: str) -> tuple[Size, str] | None:
    """``"abbe2024-10m-llama"`` → (size, "llama"); None if ``name`` is not a preset."""
    if name in SIZES:
        return SIZES[name], SIZES[name].default_family
    size, _, family = name.rpartition("-")
    if size in SIZES and family in FAMILIES:
        return SIZES[size], family
    return None


def preset_config(name: str, tokenizer: PreTrainedTokenizerBase) -> PretrainedConfig:
    """The ``transformers`` config of a preset, sized to ``tokenizer``'s vocabulary."""
    parsed = parse_preset(name)
    if parsed is None:
        raise UnknownModelError(f"unknown model preset {name!r}; allowed: {', '.join(preset_names())}")
    size, family = parsed
    special = dict(
        vocab_size=len(tokenizer),
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    if family == "gpt2":
        # no dropout: the source's runs are deterministic functions of the data order
        return GPT2Config(
            n_layer=size.layers, n_head=size.heads, n_embd=size.hidden, n_inner=4 * size.hidden,
            n_positions=size.max_positions, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
            use_cache=True, **special,
        )
    # Llama-style: SwiGLU with 3 matrices, so 8/3·hidden keeps GPT-2's parameter count;
    # tiny keeps the 4·hidden MLP the team measured.
    intermediate = 4 * size.hidden if size.hidden <= 128 else 64 * round(8 * size.hidden / 3 / 64)
    common = dict(
        hidden_size=size.hidden, intermediate_size=intermediate, num_hidden_layers=size.layers,
        num_attention_heads=size.heads, num_key_value_heads=size.heads,
        max_position_embeddings=size.max_positions, tie_word_embeddings=False, **special,
    )
    if family == "llama":
        return LlamaConfig(**common)
    # nope: SmolLM3's no_rope_layers[i] == 0 switches RoPE off in layer i
    return SmolLM3Config(**common, no_rope_layers=[0] * size.layers, use_sliding_window=False)


def is_preset(name: str) -> bool:
    return parse_preset(name) is not None


def resolve_pretrained(name_or_path: str) -> str:
    """A local folder or a Hub id (``owner/name``); anything else is an unknown preset."""
    if os.path.isdir(name_or_path) or ("/" in name_or_path and not name_or_path.startswith((".", "/"))):
        return name_or_path
    raise UnknownModelError(
        f"unknown model {name_or_path!r}; allowed: a preset ({', '.join(preset_names())}), "
        "a local model folder, or a Hub id owner/name"
    )


PICKLE_WEIGHTS = ("*.bin", "*.pt", "*.pth", "*.ckpt", "*.pkl")


def safetensors_problem(path: str | os.PathLike) -> str | None:
    """What is wrong with a ``.safetensors`` file (truncated, garbage header), or None.

    Reads only the header: 8 bytes of header length, the JSON header, whose largest data
    offset must end exactly at the end of the file."""
    path = str(path)
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            if size < 8:
                return f"{size} bytes, shorter than a safetensors header"
            length = int.from_bytes(f.read(8), "little")
            if length > size - 8:
                return f"truncated header ({size} bytes, the header alone needs {length + 8})"
            header = json.loads(f.read(length))
    except OSError as error:
        return error.strerror or str(error)
    except ValueError:
        return "its header is not safetensors JSON"
    if not isinstance(header, dict):
        return "its header is not safetensors JSON"
    try:
        end = max((int(v["data_offsets"][1]) for k, v in header.items() if k != "__metadata__"), default=0)
    except (KeyError, TypeError, ValueError, IndexError):
        return "its header lists no valid tensor offsets"
    if 8 + length + end != size:
        return f"{size} bytes, its header describes {8 + length + end} (truncated or padded)"
    return None


def check_model_folder(path: str | os.PathLike, flag: str = "--model", allow_pickle: bool = False) -> None:
    """Raise a one-line error unless ``path`` is a model folder that loads: readable JSON
    files (config with a model_type, tokenizer), safetensors weights with sound headers, and
    pickle weights only with ``allow_pickle``."""
    from fnmatch import fnmatch
    from pathlib import Path

    folder = Path(path)
    if not folder.is_dir():
        what = "is a file" if folder.exists() else "does not exist"
        raise UnknownModelError(f"{flag} {str(folder)!r} {what}; allowed: a model folder (config.json + "
                                "model.safetensors) or a Hub id owner/name")
    if not (folder / "config.json").is_file():
        raise UnknownModelError(f"{flag} {str(folder)!r} has no config.json; allowed: a finished run folder or a model folder")
    for json_file in sorted(folder.glob("*.json")):
        try:
            value = json.loads(json_file.read_text())
        except (OSError, ValueError) as error:
            raise UnknownModelError(f"{flag}: {str(json_file)!r} is not readable JSON ({str(error)[:120]}); "
                                    "allowed: the files save_pretrained writes") from None
        if json_file.name == "config.json" and not (isinstance(value, dict) and value.get("model_type")):
            raise UnknownModelError(f"{flag}: {str(json_file)!r} names no model_type; allowed: a transformers config.json")
    weights = sorted(folder.glob("*.safetensors"))
    pickles = sorted(p for p in folder.iterdir() if any(fnmatch(p.name, pattern) for pattern in PICKLE_WEIGHTS))
    if not weights and pickles and not allow_pickle:
        raise UnknownModelError(
            f"{flag} {str(folder)!r} has pickle weights only ({pickles[0].name}), which can run code when loaded; "
            "allowed: safetensors weights (convert: AutoModelForCausalLM.from_pretrained(FOLDER).save_pretrained(FOLDER, "
            "safe_serialization=True)), or --allow-pickle for a file you trust")
    if not weights and not pickles:
        raise UnknownModelError(f"{flag} {str(folder)!r} has no weights; allowed: a folder with model.safetensors")
    for weight in weights:
        problem = safetensors_problem(weight)
        if problem:
            raise UnknownModelError(f"{flag}: weights {str(weight)!r} are damaged ({problem}); "
                                    "allowed: a complete model.safetensors")


def build_model(
    name_or_path: str,
    tokenizer: PreTrainedTokenizerBase | None = None,
    *,
    attn_implementation: str | None = "sdpa",
    dtype: torch.dtype | None = None,
    rope_theta: float | None = None,
    allow_pickle: bool = False,
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """A fresh preset model (needs ``tokenizer``) or a pretrained one with its tokenizer.

    A preset is initialised from the current torch RNG, so seed first for reproducibility.
    ``rope_theta`` replaces the RoPE base (10,000) of a ``llama`` preset: short sequences
    are served by a smaller base, whose faster rotations tell neighbouring positions apart.
    """
    if rope_theta is not None and (parse_preset(name_or_path) or (None, None))[1] != "llama":
        raise HFReasoningError(f"rope_theta={rope_theta} sets the RoPE base of a fresh llama preset; "
                               f"allowed with: {', '.join(s for s in SIZES if SIZES[s].default_family == 'llama')}, "
                               f"*-llama presets, got model {name_or_path!r}")
    if rope_theta is not None and not rope_theta > 0:
        raise HFReasoningError(f"rope_theta={rope_theta} is not a RoPE base; allowed: a positive number")
    if is_preset(name_or_path):
        if tokenizer is None:
            raise HFReasoningError(f"model preset {name_or_path!r} needs a tokenizer to size its vocabulary")
        config = preset_config(name_or_path, tokenizer)
        if rope_theta is not None:
            config.rope_parameters = {**config.rope_parameters, "rope_theta": float(rope_theta)}
        model = AutoModelForCausalLM.from_config(config, attn_implementation=attn_implementation, dtype=dtype)
        return model, tokenizer
    path = resolve_pretrained(name_or_path)
    if os.path.isdir(path):
        check_model_folder(path, allow_pickle=allow_pickle)
    # safetensors only, unless the user vouches for the pickle (torch.load can run code)
    kwargs = {"attn_implementation": attn_implementation} if attn_implementation else {}
    try:
        if tokenizer is None:
            tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype, use_safetensors=None if allow_pickle else True,
                                                     **kwargs)
    except (OSError, ValueError, KeyError, TypeError, EnvironmentError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise UnknownModelError(f"cannot load model {name_or_path!r}: {first[:300]}") from None
    if tokenizer.pad_token_id is None:
        # pretrained LMs often have no pad token; padding is masked and ignored by the loss
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
    if len(tokenizer) > model.get_input_embeddings().num_embeddings:
        model.resize_token_embeddings(len(tokenizer))
    return model, tokenizer


def attention_implementation(model: PreTrainedModel) -> str:
    return getattr(model.config, "_attn_implementation", None) or "eager"


def check_inductive_support(model: PreTrainedModel) -> None:
    """Raise unless ``model`` can run the inductive 4D float mask and explicit position ids."""
    implementation = attention_implementation(model)
    if implementation not in MASKABLE_ATTENTION:
        raise UnsupportedAttentionError(
            f"attention implementation {implementation!r} cannot take the inductive 4D float mask; "
            f"allowed: {', '.join(MASKABLE_ATTENTION)} (pass --attn_implementation sdpa)"
        )
    if "position_ids" not in inspect.signature(model.forward).parameters:
        raise UnsupportedAttentionError(
            f"model type {model.config.model_type!r} takes no position_ids, which the inductive formats need"
        )


def position_table_size(model: PreTrainedModel) -> int | None:
    """Rows of a learned absolute position table (GPT-2's ``wpe``, OPT's offset table …), or
    None for models without one (RoPE, NoPE), which accept any position."""
    for name, module in model.named_modules():
        leaf = name.rsplit(".", 1)[-1]
        if isinstance(module, torch.nn.Embedding) and leaf in ("wpe", "embed_positions", "position_embeddings"):
            return module.num_embeddings - int(getattr(module, "offset", 0))
    return None


def check_positions(model: PreTrainedModel, max_position: int, where: str = "the data") -> None:
    """Raise before training if position ``max_position`` does not fit a learned table."""
    table = position_table_size(model)
    if table is not None and max_position >= table:
        raise PositionOverflowError(
            f"position id {max_position} in {where} exceeds the model's position table of {table}; "
            f"allowed: positions below {table} (use a model with more positions or RoPE/NoPE)"
        )


def count_parameters(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
