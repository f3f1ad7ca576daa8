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

lm_eval's stock ``hf`` model decodes every format with a plain causal mask, so a model trained
with the inductive masking of :mod:`hf_reasoning.inductive` (``inductive`` and ``shift``
formats: each state sees the question and the previous state only, positions restarted) is
not decoded the way it was trained. The model class :class:`HFReasoningLM`, lm_eval name
``hf-reasoning`` (lm_eval's ``HFLM`` with another ``generate_until``), decodes every
hf_reasoning task exactly as ``hf-reasoning evaluate`` does: the row's format (a column
``hf_reasoning_format`` that each task's ``process_docs`` adds) picks the decoder of
:func:`hf_reasoning.generation.complete` (inductive decoding for ``inductive`` / ``shift``,
``model.generate`` stopping at ``.`` otherwise), with evaluate's BOS rule, per-row token
budget (the reference's tokens + 25% + 4; the task's ``max_gen_toks`` and ``until`` are not
used) and batches. Requests of other tasks go to ``HFLM`` unchanged. lm_eval's command line
only knows its own models, so it runs through a wrapper that registers ``hf-reasoning``
first and then hands every argument to lm_eval's CLI::

    hf-reasoning lm-eval --model hf-reasoning --model_args pretrained=RUN_DIR \\
        --include_path DIR --tasks hf_reasoning_parity_laptop16-inductive --batch_size 32
    python -m hf_reasoning.harness ...        # the same (e.g. under accelerate launch -m)

(``--batch_size``: evaluate's batches are 32 rows by default, lm_eval's 1.)

From Python: :func:`register_model`, then ``lm_eval.simple_evaluate(model="hf-reasoning", …)``.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import yaml

from .errors import HFReasoningError

UTILS = "utils.py"
STOP = "\n\n"  # never in a benchmark text: generation ends on the model's end token or the budget
MODEL_NAME = "hf-reasoning"  # lm_eval --model name of HFReasoningLM
FORMAT_FIELD = "hf_reasoning_format"  # the column process_docs adds: how HFReasoningLM decodes a row


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


class ProcessDocs:
    """``process_docs(dataset)`` of one config's tasks: adds the column ``hf_reasoning_format``
    (the config's format), which tells :class:`HFReasoningLM` how to decode each row; lm_eval's
    other models never look at it."""

    def __init__(self, config: str):
        from .inductive import format_of_config

        self.fmt = format_of_config(config)

    def __call__(self, dataset):
        return dataset.add_column(FORMAT_FIELD, [self.fmt] * len(dataset))


def process_docs_for(config: str) -> ProcessDocs:
    return ProcessDocs(config)


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
                "doc_to_target": "{{completion | trim}}",  # target_delimiter adds the space
                "target_delimiter": " ",
                "generation_kwargs": {"until": [STOP], "do_sample": False, "max_gen_toks": 2 * longest + 8},
                "metric_list": [{"metric": m, "aggregation": "mean", "higher_is_better": True} for m in metrics],
                "metadata": {"version": __version__},
            }
            text = yaml.safe_dump(spec, sort_keys=False, allow_unicode=True)
            planned[Path(out) / f"{spec['task']}.yaml"] = text + (f"process_docs: !function utils.{function}_docs\n"
                                                                  f"process_results: !function utils.{function}\n")
    lines = [f'"""Written by `hf-reasoning harness` for {task}: each config\'s process_docs and process_results '
             '(hf_reasoning.harness)."""',
             "from hf_reasoning.harness import process_docs_for, process_results_for", ""]
    for function, config in functions:
        lines += [f"{function}_docs = process_docs_for({config!r})",
                  f"{function} = process_results_for({task!r}, {config!r})"]
    planned[Path(out) / UTILS] = "\n".join(lines) + "\n"
    Path(out).mkdir(parents=True, exist_ok=True)
    for path, text in planned.items():
        path.write_text(text)
    return list(planned)


# -- the lm_eval model ----------------------------------------------------------------------------


def _model_class():
    """:class:`HFReasoningLM`, defined on first use: it subclasses lm_eval's ``HFLM``, and
    ``hf-reasoning harness`` (writing task files) must not need lm_eval."""
    from lm_eval.models.huggingface import HFLM

    from .evaluation import bos_of_run, generation_budgets, plan_batches
    from .generation import complete
    from .progress import progress_bar

    class HFReasoningLM(HFLM):
        """lm_eval's ``hf`` model that decodes hf_reasoning tasks as ``hf-reasoning evaluate`` does:
        :func:`hf_reasoning.generation.complete` with the row's format (inductive decoding for the
        ``inductive`` and ``shift`` formats), evaluate's BOS rule (from the run folder's
        ``training_args.json``), per-row budget and batches (:func:`~hf_reasoning.evaluation.plan_batches`
        of ``batch_size``, greedy unless the task samples). Other tasks: ``HFLM`` unchanged."""

        def __init__(self, pretrained, **kwargs):
            super().__init__(pretrained, **kwargs)
            run = kwargs.get("peft") or pretrained  # a LoRA run's folder holds its training_args.json
            self.bos_of_run = bos_of_run(Path(run), self.tokenizer) if isinstance(run, (str, os.PathLike)) else None

        def generate_until(self, requests, disable_tqdm: bool = False) -> list[str]:
            ours = [i for i, r in enumerate(requests) if FORMAT_FIELD in (r.doc or {})]
            texts: list[str | None] = [None] * len(requests)
            others = sorted(set(range(len(requests))) - set(ours))
            if others:
                for i, text in zip(others, super().generate_until([requests[i] for i in others], disable_tqdm)):
                    texts[i] = text
            # one decode per format and sampling setting, like evaluate's single config
            groups: dict[tuple, list[int]] = {}
            for i in ours:
                gen_kwargs = requests[i].args[1]
                do_sample = bool(gen_kwargs.get("do_sample", False))
                temperature = float(gen_kwargs.get("temperature", 1.0)) if do_sample else 1.0
                groups.setdefault((requests[i].doc[FORMAT_FIELD], do_sample, temperature), []).append(i)
            batch_size = self.batch_size if isinstance(self.batch_size, int) else 32  # evaluate's default
            bar = progress_bar(len(ours), "generate", unit="row", disable=disable_tqdm or self.rank != 0)
            for (fmt, do_sample, temperature), rows in groups.items():
                prompts = [requests[i].args[0] for i in rows]
                budgets = generation_budgets(self.tokenizer, [requests[i].doc["completion"] for i in rows])
                for batch in plan_batches(budgets, batch_size):
                    completions = complete(self.model, self.tokenizer, [prompts[k] for k in batch], fmt,
                                           max_new_tokens=[budgets[k] for k in batch], bos_token_id=self.bos_of_run,
                                           do_sample=do_sample, temperature=temperature)
                    for k, text in zip(batch, completions):
                        texts[rows[k]] = text
                        self.cache_hook.add_partial("generate_until", requests[rows[k]].args, text)
                    bar.update(len(batch))
            bar.close()
            return texts

    HFReasoningLM.__module__ = __name__
    return HFReasoningLM


def __getattr__(name: str):
    if name == "HFReasoningLM":  # first use: define it (needs lm_eval), then keep it
        globals()[name] = _model_class()
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def register_model() -> None:
    """Register :class:`HFReasoningLM` as lm_eval's model ``hf-reasoning`` (once)."""
    import lm_eval.models  # noqa: F401  (lm_eval's own models first: it loads them only into an empty registry)
    from lm_eval.api.registry import MODEL_REGISTRY, register_model as register

    if MODEL_NAME not in MODEL_REGISTRY:
        register(MODEL_NAME)(__getattr__("HFReasoningLM"))


def run_lm_eval(argv: list[str]) -> None:
    """lm_eval's own command line (``lm_eval ARGV``) with the model ``hf-reasoning`` registered."""
    try:
        from lm_eval.__main__ import cli_evaluate
    except ImportError:
        raise HFReasoningError("lm_eval is not installed; allowed: pip install 'hf_reasoning[lm_eval]'") from None
    register_model()
    saved, sys.argv = sys.argv, ["lm_eval", *argv]
    try:
        cli_evaluate()
    finally:
        sys.argv = saved


__all__ = ["FORMAT_FIELD", "MODEL_NAME", "HFReasoningLM", "ProcessDocs", "ProcessResults", "process_docs_for",
           "process_results_for", "register_model", "run_lm_eval", "task_name", "up_to_end", "write_tasks"]


if __name__ == "__main__":  # python -m hf_reasoning.harness ARGS == lm_eval ARGS, with hf-reasoning registered
    from hf_reasoning.errors import exit_on_error
    from hf_reasoning.harness import run_lm_eval as _run

    exit_on_error(_run, sys.argv[1:])
