"""lm-evaluation-harness task files for a built dataset, scored with this project's scorer.

``hf-reasoning harness DATASET --out DIR`` (or :func:`write_tasks`) writes, for every config
and evaluation split of a dataset repo folder or Hub id, one task
``hf_reasoning_<task>_<config>_<split>`` into DIR, each tagged ``hf_reasoning_<task>_<config>``
(all its splits) and ``hf_reasoning_<task>``, plus the ``utils.py`` their ``process_results``
points at. Then any causal LM is scored with::

    lm_eval --model hf --model_args pretrained=PATH --include_path DIR \\
        --tasks hf_reasoning_parity_laptop16-plain          # every split: validation, test, ood
    lm_eval ... --tasks hf_reasoning_parity_laptop16-plain_ood  # one split

(a LoRA run of ``hf-reasoning train``: ``--model_args pretrained=BASE,peft=RUN_DIR``).

Each task generates greedily after the prompt (``generate_until``, zero-shot) and scores the
generation with :func:`hf_reasoning.evaluation.score` (docs/formats.md answer rules): the
generation is cut after its first end token ``.`` (the harness's stop sequences would remove
it, so the task stops only on ``\\n\\n``, the model's own end token, and a budget of twice the
longest reference plus 8 tokens), then scored for ``answer_accuracy`` and ``exact_match``,
overall and per length (``answer_accuracy_length_<L>``, ``exact_match_length_<L>``); the
``ood`` task is the out-of-distribution score.

The harness decodes every format with a plain causal mask: a model trained with the
inductive masking of :mod:`hf_reasoning.inductive` (``inductive`` and ``shift`` formats) is
decoded differently from how it was trained; score those with ``hf-reasoning evaluate``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import yaml

from .errors import HFReasoningError

UTILS = "utils.py"
STOP = "\n\n"  # never in a benchmark text: generation ends on the model's end token or the budget


def task_name(task: str, config: str, split: str | None = None) -> str:
    return f"hf_reasoning_{task}_{config}" + (f"_{split}" if split else "")


def _function_name(task: str, config: str) -> str:
    return re.sub(r"\W", "_", f"{task}__{config}")


def up_to_end(prediction: str) -> str:
    """The generation up to and including its first end token ``.`` (a ``.`` inside a number,
    ``-1.25``, is not one); the whole text if it has none."""
    tokens = str(prediction).split()
    for i, token in enumerate(tokens):
        if token == "." or (token.endswith(".") and not re.fullmatch(r"-?\d+\.\d+", token)):
            return " ".join(tokens[: i + 1])  # WordPiece's clean-up writes "1." for "1 ."
    return " ".join(tokens)


class ProcessResults:
    """``process_results(doc, results)`` of one config's tasks: the project's scorer on one row."""

    def __init__(self, task: str, config: str):
        from .inductive import format_of_config

        self.task, self.config, self.fmt = task, config, format_of_config(config)

    def __call__(self, doc: dict, results: list[str]) -> dict[str, float]:
        from .evaluation import score

        prediction = up_to_end(results[0])
        scored = score([prediction], [doc["answer"]], task=self.task, fmt=self.fmt,
                       reference_completions=[doc["completion"]])
        out = {metric: float(scored[metric]["accuracy"]) for metric in ("answer_accuracy", "exact_match")}
        for metric in ("answer_accuracy", "exact_match"):
            out[f"{metric}_length_{doc['length']}"] = out[metric]
        return out


def process_results_for(task: str, config: str) -> ProcessResults:
    return ProcessResults(task, config)


def _configs_of(dataset: str) -> tuple[str, list[str]]:
    """The task and config names of a dataset repo (folder or Hub id), from its card."""
    from .dataset_repo import card_metadata, repo_metadata

    folder = Path(dataset)
    if not folder.is_dir():
        from huggingface_hub import hf_hub_download

        folder = Path(hf_hub_download(str(dataset), "README.md", repo_type="dataset")).parent
    task = repo_metadata(folder).get("task")
    if not task:
        raise HFReasoningError(f"dataset {dataset!r} names no hf_reasoning task in its card; allowed: a dataset repo "
                               "written by hf-reasoning build")
    configs = [c["config_name"] for c in card_metadata(folder).get("configs", []) if "config_name" in c]
    return task, configs


def write_tasks(dataset: str | os.PathLike, out: str | os.PathLike, configs: list[str] | None = None) -> list[Path]:
    """Write the task YAML files of ``dataset`` (a repo folder, made absolute, or a Hub id) and
    their ``utils.py`` into ``out``; returns the files written. Checks every config first."""
    from .dataset_repo import load_config
    from .version import __version__

    source = str(Path(dataset).resolve()) if Path(dataset).is_dir() else str(dataset)
    task, available = _configs_of(source)
    chosen = list(configs or available)
    for config in chosen:
        if config not in available:
            raise HFReasoningError(f"config {config!r} not in dataset {str(dataset)!r}; allowed: {', '.join(available)}")
    planned: dict[Path, str] = {}
    functions = []
    for config in chosen:
        data = load_config(source, config)
        function = _function_name(task, config)
        functions.append((function, config))
        for split in (s for s in data if s != "train"):
            rows = data[split]
            lengths = sorted(set(rows["length"]))
            longest = max(len(c.split()) for c in rows["completion"])
            metrics = ["answer_accuracy", "exact_match"] + [f"{m}_length_{n}" for n in lengths
                                                             for m in ("answer_accuracy", "exact_match")]
            spec = {
                "task": task_name(task, config, split),
                "tag": [task_name(task, config), f"hf_reasoning_{task}"],
                "dataset_path": source,
                "dataset_name": config,
                "test_split": split,
                "output_type": "generate_until",
                "doc_to_text": "{{prompt}}",
                "doc_to_target": "{{completion}}",
                "target_delimiter": " ",
                "generation_kwargs": {"until": [STOP], "do_sample": False, "max_gen_toks": 2 * longest + 8},
                "metric_list": [{"metric": m, "aggregation": "mean", "higher_is_better": True} for m in metrics],
                "metadata": {"version": __version__},
            }
            text = yaml.safe_dump(spec, sort_keys=False, allow_unicode=True)
            planned[Path(out) / f"{spec['task']}.yaml"] = text + f"process_results: !function utils.{function}\n"
    lines = [f'"""Written by `hf-reasoning harness` for {task}: each config\'s process_results (hf_reasoning.harness)."""',
             "from hf_reasoning.harness import process_results_for", ""]
    lines += [f"{function} = process_results_for({task!r}, {config!r})" for function, config in functions]
    planned[Path(out) / UTILS] = "\n".join(lines) + "\n"
    Path(out).mkdir(parents=True, exist_ok=True)
    for path, text in planned.items():
        path.write_text(text)
    return list(planned)


__all__ = ["ProcessResults", "process_results_for", "task_name", "up_to_end", "write_tasks"]
