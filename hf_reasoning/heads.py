"""The models of train-head: the ReLU MLP of abbe2022/abbe2023 and sequence-classification encoders, their scores, saving and loading.

* ``mlp``: :class:`MLPModel` on the input vector (:mod:`hf_reasoning.head_data`'s features);
* ``tiny-encoder``: a BERT-style encoder built from scratch with
  ``AutoModelForSequenceClassification`` and a word-level tokenizer with ``<bos>`` in front;
* any other name: a pretrained encoder with a new head.

:func:`evaluate` scores a model per split and group; :func:`save_run` / :func:`load` write and
read a run folder (safetensors and JSON only).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from transformers.modeling_outputs import SequenceClassifierOutput

from .errors import HFReasoningError
from .head_data import Encoded, FeatureSpec, HeadSpec, as_table, features, spread

MLP = "mlp"
SOURCE_MLP_HIDDEN = (512, 1024, 512, 64)  # models.MLP of abbe2022 / abbe2023
MLP_MODEL_TYPE = "hf_reasoning_mlp"


@dataclass(frozen=True)
class EncoderSize:
    layers: int
    heads: int
    hidden: int


ENCODER_PRESETS = {"tiny-encoder": EncoderSize(layers=3, heads=4, hidden=128)}
MODEL_CHOICES = (MLP, *ENCODER_PRESETS)


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
