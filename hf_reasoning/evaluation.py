"""Scoring generated completions: answer accuracy and exact match, overall / in distribution /
OOD / per group / per length, with Wilson intervals and the generalisation length; plots,
tables and whole runs.

The scoring functions need neither ``evaluate`` nor a model:

>>> from hf_reasoning.evaluation import score
>>> r = score(["0 1 1 .", "garbage"], ["11", "11"], task="addition", fmt="plain", lengths=[1, 2])
>>> r["accuracy"]
0.5

Two scores per row:

* *answer accuracy*: the answer of a prediction, extracted by the format's documented rule
  (``Task.parse_answer``: the last state for inductive formats, never the random fillers of
  addition), equals the reference answer;
* *exact match*: the whole completion, scratchpad or states included, equals the reference
  completion token by token (``Task.exact_match``). Where a format writes unpredictable filler
  letters (addition ``inductive``: the register after ``$``; addition ``shift``: every letter),
  those positions are masked out: any letter there is right, but the number of tokens and every
  other token (digits, pointers, carries, the ``c``/``r`` labels, separators) must match.

The *headline* ``accuracy`` of a result, and the generalisation length, is the score that
``Task.headline_metric(fmt)`` names: exact match for formats whose completion is more than the
answer (scratchpad, inductive, shift, index hints), where a wrong derivation can still end on
the right answer (a binary answer is right half of the time by luck); answer accuracy for
answer-only formats (plain, reversed), where the two coincide. Exact match needs the reference
completions; without them the headline is answer accuracy. Both are always reported, under
``answer_accuracy`` and ``exact_match``.

Rules:

* Text is compared as *canonical tokens* (:func:`canonical_tokens`), so that scoring gives the
  same result on ``tokenizer.decode(tokenizer(text).input_ids, skip_special_tokens=True)`` as on
  the text itself: decoders change the spacing around punctuation (WordPiece's clean-up writes
  ``1 , 0 _ , 1 .`` as ``1, 0 _, 1.``) and uncased tokenizers lowercase. Every punctuation
  character is split into its own token, the text is lowercased when the task's vocabulary is,
  and vocabulary tokens that mix punctuation and digits (``-1.25``) are joined back.
* Without a task, a prediction is right iff its canonical tokens equal the reference's.
* Malformed predictions (None, empty, truncated, garbage, no end token ``.``) are wrong and
  never raise. ``require_end=True`` (default) also counts a prediction with no ``.`` as wrong,
  even if its answer could be read, since the model never finished.
* *Generalisation length*: the largest tested length whose headline accuracy is ≥
  ``threshold`` (default 0.9), and its ratio to the largest training length.
  ``generalization_length_contiguous`` is the stricter variant: every tested length up to it
  passes.
"""

from __future__ import annotations

import json
import math
import re
from collections import defaultdict
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = [
    "answer_of",
    "canonical_tokens",
    "evaluate_run",
    "generate_sharded",
    "headline_metric",
    "is_exact_match",
    "merge_shards",
    "metric_summary",
    "plan_batches",
    "plot_accuracy_vs_length",
    "print_results",
    "results_table",
    "score",
    "wilson_interval",
]

Z95 = 1.959963984540054
METRICS = ("answer_accuracy", "exact_match")
METRIC_LABELS = {"answer_accuracy": "answer accuracy", "exact_match": "exact match"}


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (``(0, 1)`` when ``n == 0``)."""
    if n <= 0:
        return (0.0, 1.0)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def _resolve_task(task):
    if task is None or not isinstance(task, str):
        return task
    from .tasks import get_task

    return get_task(task)


# a run of letters/digits, or any other single non-space character (punctuation, `_`)
_ATOM = re.compile(r"[^\W_]+|\S")


@lru_cache(maxsize=None)
def _vocab_rules(tokens: tuple[str, ...]) -> tuple[bool, dict[str, list[tuple[str, ...]]]]:
    """Whether a vocabulary is all lowercase, and its tokens that are several atoms
    (``-1.25`` → ``- 1 . 25``), indexed by their first atom, longest first."""
    lowercase = all(t == t.lower() for t in tokens)
    compound: dict[str, list[tuple[str, ...]]] = defaultdict(list)
    for token in tokens:
        atoms = tuple(_ATOM.findall(token))
        if len(atoms) > 1:
            compound[atoms[0]].append(atoms)
    for first in compound:
        compound[first].sort(key=len, reverse=True)
    return lowercase, dict(compound)


def canonical_tokens(text: Any, task=None) -> list[str]:
    """The tokens of a text whatever spacing a tokenizer's decoder gave it (see the module
    docstring); ``[]`` for None. A reference completion is its own canonical form."""
    if text is None:
        return []
    text = str(text)
    task = _resolve_task(task)
    if task is None:
        return _ATOM.findall(text)
    lowercase, compound = _vocab_rules(tuple(task.vocab.tokens))
    atoms = _ATOM.findall(text.lower() if lowercase else text)
    if not compound:
        return atoms
    out, i = [], 0
    while i < len(atoms):
        for candidate in compound.get(atoms[i], ()):
            if tuple(atoms[i:i + len(candidate)]) == candidate:
                out.append("".join(candidate))
                i += len(candidate)
                break
        else:
            out.append(atoms[i])
            i += 1
    return out


def answer_of(prediction: Any, task=None, fmt: str | None = None, *, require_end: bool = True) -> str | None:
    """The answer a prediction gives, or None if it is malformed (never raises)."""
    try:
        task = _resolve_task(task)
        tokens = canonical_tokens(prediction, task)
        if not tokens:
            return None
        if require_end and tokens[-1] != ".":
            return None
        text = " ".join(tokens)
        if task is None or fmt is None:
            return text
        answer = task.parse_answer(fmt, text)
        return None if answer is None else str(answer)
    except Exception:  # noqa: BLE001  (a malformed prediction is wrong, never an error)
        return None


def is_exact_match(prediction: Any, reference_completion: Any, task=None, fmt: str | None = None) -> bool:
    """Whether a prediction is the whole reference completion (canonical tokens; with a task and
    format, by ``Task.exact_match``, which masks out filler letters). Never raises."""
    try:
        task = _resolve_task(task)
        predicted = canonical_tokens(prediction, task)
        reference = canonical_tokens(reference_completion, task)
        if not predicted:
            return False
        if task is None or fmt is None:
            return predicted == reference
        return bool(task.exact_match(fmt, " ".join(predicted), " ".join(reference)))
    except Exception:  # noqa: BLE001  (a malformed prediction is wrong, never an error)
        return False


def headline_metric(task=None, fmt: str | None = None, *, has_exact_match: bool = True) -> str:
    """``"exact_match"`` or ``"answer_accuracy"``: the headline score of a format (module docstring)."""
    task = _resolve_task(task)
    if not has_exact_match:
        return "answer_accuracy"
    if task is None or fmt is None:
        return "exact_match"  # no task: a prediction is scored by its whole text
    return task.headline_metric(fmt)


def _sort_key(group: str):
    try:
        return (0, float(group), "")
    except (TypeError, ValueError):
        return (1, 0.0, str(group))


def _accuracy_block(flags: Sequence[bool]) -> dict:
    n, k = len(flags), int(sum(flags))
    low, high = wilson_interval(k, n)
    return {"accuracy": (k / n) if n else None, "correct": k, "n": n, "ci95": [low, high]}


def _metric_summary(flags: list[bool], ood: list[bool] | None, splits, groups, lengths,
                    train_max_length: int | None, threshold: float) -> dict:
    """One score's blocks: overall, in distribution / OOD, per split, group and length, and
    the generalisation length it reaches."""
    overall = _accuracy_block(flags)
    out: dict[str, Any] = {"accuracy": overall["accuracy"], "accuracy_ci95": overall["ci95"],
                           "correct": overall["correct"], "n": overall["n"]}
    if ood is not None:
        out["in_distribution"] = _accuracy_block([c for c, o in zip(flags, ood) if not o]) if not all(ood) else None
        out["ood"] = _accuracy_block([c for c, o in zip(flags, ood) if o]) if any(ood) else None
    else:
        out["in_distribution"] = out["ood"] = None
    out["per_split"] = out["groups"] = out["lengths"] = None
    if splits is not None:
        by_split = defaultdict(list)
        for c, s in zip(flags, splits):
            by_split[s].append(c)
        out["per_split"] = {s: _accuracy_block(f) for s, f in by_split.items()}
    if groups is not None:
        by_group = defaultdict(list)
        for c, g in zip(flags, groups):
            by_group[g].append(c)
        out["groups"] = {g: _accuracy_block(by_group[g]) for g in sorted(by_group, key=_sort_key)}
    out["generalization_length"] = out["generalization_length_contiguous"] = out["generalization_ratio"] = None
    if lengths is not None:
        by_length = defaultdict(list)
        for c, x in zip(flags, lengths):
            by_length[x].append(c)
        blocks = {x: _accuracy_block(by_length[x]) for x in sorted(by_length)}
        out["lengths"] = {str(x): b for x, b in blocks.items()}
        passing = [x for x, b in blocks.items() if b["accuracy"] >= threshold]
        out["generalization_length"] = max(passing) if passing else None
        contiguous = None
        for x, b in blocks.items():
            if b["accuracy"] < threshold:
                break
            contiguous = x
        out["generalization_length_contiguous"] = contiguous
        if out["generalization_length"] is not None and train_max_length:
            out["generalization_ratio"] = out["generalization_length"] / train_max_length
    return out


# the keys of a metric summary that the result also carries at its top level (the headline's)
_HEADLINE_KEYS = ("accuracy", "accuracy_ci95", "correct", "in_distribution", "ood", "per_split", "groups", "lengths",
                  "generalization_length", "generalization_length_contiguous", "generalization_ratio")


def score(
    predictions: Sequence[Any],
    references: Sequence[Any],
    *,
    task=None,
    fmt: str | None = None,
    groups: Sequence[Any] | None = None,
    lengths: Sequence[int] | None = None,
    splits: Sequence[str] | None = None,
    reference_completions: Sequence[str] | None = None,
    train_max_length: int | None = None,
    threshold: float = 0.9,
    require_end: bool = True,
) -> dict:
    """Score predictions against reference answers and completions (rules: module docstring).

    ``references``: the ``answer`` column (or, with no task, reference completions).
    ``groups``: a group tag per row (defaults to ``lengths``). ``splits``: the split of each row;
    rows of the ``ood`` split are out of distribution; without ``splits``, rows longer than
    ``train_max_length`` are. ``reference_completions``: the ``completion`` column, for exact
    match. ``train_max_length``: the largest training length (defaults to the largest length
    among in-distribution rows, when ``splits`` says which).

    Returns a JSON-serialisable dict:

    * ``answer_accuracy`` and ``exact_match`` (None without reference completions when a task
      is given): each a summary with ``accuracy``, ``accuracy_ci95``, ``correct``, ``n``,
      ``in_distribution`` / ``ood`` (blocks ``accuracy``, ``correct``, ``n``, ``ci95``, or None),
      ``per_split``, ``groups``, ``lengths`` (name → block), ``generalization_length``,
      ``generalization_length_contiguous``, ``generalization_ratio``;
    * ``headline``: which of the two the format's headline is; the headline summary's keys are
      repeated at the top level (``accuracy``, ``in_distribution``, ``lengths``,
      ``generalization_length``, …);
    * ``n``, ``train_max_length``, ``threshold``.
    """
    predictions, references = list(predictions), list(references)
    n = len(predictions)
    if len(references) != n:
        raise ValueError(f"{n} predictions but {len(references)} references; allowed: the same number")
    for name, column in (("groups", groups), ("lengths", lengths), ("splits", splits),
                         ("reference_completions", reference_completions)):
        if column is not None and len(column) != n:
            raise ValueError(f"{name} has {len(column)} entries for {n} predictions; allowed: one per prediction")
    task = _resolve_task(task)
    use_task = task is not None and fmt is not None
    if use_task:
        answers = [answer_of(p, task, fmt, require_end=require_end) for p in predictions]
        answer_flags = [a is not None and a == str(r).strip() for a, r in zip(answers, references)]
        exact_flags = ([is_exact_match(p, c, task, fmt) for p, c in zip(predictions, reference_completions)]
                       if reference_completions is not None else None)
    else:  # no task: the references are completions, and both scores are the whole-text match
        answer_flags = [answer_of(p, require_end=require_end) is not None and is_exact_match(p, r)
                        for p, r in zip(predictions, references)]
        exact_flags = ([answer_of(p, require_end=require_end) is not None and is_exact_match(p, c)
                        for p, c in zip(predictions, reference_completions)]
                       if reference_completions is not None else answer_flags)
    lengths = [int(x) for x in lengths] if lengths is not None else None
    groups = [str(g) for g in groups] if groups is not None else ([str(x) for x in lengths] if lengths else None)

    if splits is not None:
        ood = [s == "ood" for s in splits]
        if train_max_length is None and lengths is not None:
            inside = [x for x, o in zip(lengths, ood) if not o]
            train_max_length = max(inside) if inside else None
    elif lengths is not None and train_max_length is not None:
        ood = [x > train_max_length for x in lengths]
    else:
        ood = None

    summary = lambda flags: _metric_summary(flags, ood, splits, groups, lengths, train_max_length, threshold)  # noqa: E731
    headline = headline_metric(task, fmt, has_exact_match=exact_flags is not None) if use_task else (
        "exact_match" if exact_flags is not None else "answer_accuracy")
    result: dict[str, Any] = {"n": n, "threshold": threshold, "train_max_length": train_max_length,
                              "headline": headline, "answer_accuracy": summary(answer_flags),
                              "exact_match": summary(exact_flags) if exact_flags is not None else None}
    result.update({key: result[headline][key] for key in _HEADLINE_KEYS})
    return result


def metric_summary(results: dict, metric: str) -> dict | None:
    """A :func:`score` result's summary of ``metric`` (``"answer_accuracy"``/``"exact_match"``);
    results written before both were reported (one ``accuracy``) give that as answer accuracy."""
    summary = results.get(metric)
    if isinstance(summary, dict):
        return summary
    if "headline" not in results and metric == "answer_accuracy":
        return results
    return None


# -- presentation -----------------------------------------------------------------------------------


def _fmt(x) -> str:
    return "—" if x is None else f"{x:.3f}"


def _ci(block: dict | None) -> str:
    return "" if not block else f"[{block['ci95'][0]:.3f}, {block['ci95'][1]:.3f}]"


def _metrics_of(results: dict) -> list[tuple[str, dict]]:
    """(metric, summary) of the scores a result has, the headline first."""
    headline = results.get("headline", "answer_accuracy")
    order = [headline] + [m for m in METRICS if m != headline]
    return [(m, summary) for m in order if (summary := metric_summary(results, m)) is not None]


def results_table(results: dict, title: str = "accuracy"):
    """A rich Table: one row per group (each score with its 95% interval, n), then the
    summaries and the generalisation length; the headline score (``*``) comes first."""
    from rich.table import Table

    metrics = _metrics_of(results)
    headline = results.get("headline", "answer_accuracy")
    table = Table(title=title, caption=f"* headline score of this format: {METRIC_LABELS[headline]}")
    table.add_column("group", justify="left")
    for metric, _ in metrics:
        table.add_column(METRIC_LABELS[metric] + (" *" if metric == headline else ""), justify="right")
        table.add_column("95% CI", justify="right")
    table.add_column("n", justify="right")

    def row(name: str, blocks: list[dict | None], n) -> None:
        cells = []
        for block in blocks:
            cells += [_fmt(block["accuracy"]) if block else "—", _ci(block)]
        table.add_row(name, *cells, str(n))

    for group in (metrics[0][1].get("groups") or {}) if metrics else ():
        blocks = [summary["groups"][group] for _, summary in metrics]
        row(str(group), blocks, blocks[0]["n"])
    table.add_section()
    row("overall", [{"accuracy": s["accuracy"], "ci95": s.get("accuracy_ci95") or [0.0, 1.0]} for _, s in metrics],
        results.get("n"))
    for name in ("in_distribution", "ood"):
        blocks = [summary.get(name) for _, summary in metrics]
        if any(blocks):
            row(name, blocks, next(b for b in blocks if b)["n"])
    if results.get("lengths") is not None:
        cells = []
        for _, summary in metrics:
            gl, ratio = summary.get("generalization_length"), summary.get("generalization_ratio")
            cells += [str(gl), f"×{ratio:.2f}" if ratio else ""]
        table.add_row(f"generalisation length (≥ {results['threshold']})", *cells, "")
    return table


def print_results(results: dict, title: str = "accuracy", console=None) -> None:
    from rich.console import Console

    (console or Console()).print(results_table(results, title))


def plot_accuracy_vs_length(
    runs: dict[str, dict],
    path: str | Path,
    *,
    train_range: tuple[float, float] | None = None,
    threshold: float | None = None,
    title: str | None = None,
) -> Path:
    """A PNG of accuracy vs length, one colour per run: exact match as a solid line with its
    Wilson 95% band, answer accuracy dashed (a gap between the two is a right answer reached
    through a wrong scratchpad). A result without exact match draws answer accuracy solid.

    ``runs``: label → a :func:`score` result (its per-length blocks are drawn). The training
    range (default: 1 .. the first run's ``train_max_length``) is shaded.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=120)
    try:
        for label, results in runs.items():
            exact, answer = metric_summary(results, "exact_match"), metric_summary(results, "answer_accuracy")
            solid, dashed = (exact, answer) if exact else (answer, None)
            blocks = (solid or {}).get("lengths") or {}
            xs = sorted(blocks, key=float)
            if not xs:
                continue
            x = [float(v) for v in xs]
            name = "exact match" if exact else "answer accuracy"
            (line,) = ax.plot(x, [blocks[v]["accuracy"] for v in xs], marker="o", label=f"{label}: {name}")
            ax.fill_between(x, [blocks[v]["ci95"][0] for v in xs], [blocks[v]["ci95"][1] for v in xs],
                            color=line.get_color(), alpha=0.15)
            other = (dashed or {}).get("lengths") or {}
            if other:
                ys = sorted(other, key=float)
                ax.plot([float(v) for v in ys], [other[v]["accuracy"] for v in ys], linestyle="--", marker=".",
                        color=line.get_color(), label=f"{label}: answer accuracy")
        if train_range is None:
            top = next((r.get("train_max_length") for r in runs.values() if r.get("train_max_length")), None)
            train_range = (1, top) if top else None
        if train_range is not None:
            ax.axvspan(train_range[0] - 0.5, train_range[1] + 0.5, color="grey", alpha=0.2, label="training lengths")
        if threshold is None:
            threshold = next((r.get("threshold") for r in runs.values() if r.get("threshold") is not None), None)
        if threshold is not None:
            ax.axhline(threshold, color="grey", linestyle=":", linewidth=1)
        ax.set_xlabel("length")
        ax.set_ylabel("accuracy")
        ax.set_ylim(-0.02, 1.02)
        if title:
            ax.set_title(title)
        ax.legend(loc="best", fontsize="small")
        fig.tight_layout()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, format="png")
    finally:
        plt.close(fig)
    return path


# -- a whole run ------------------------------------------------------------------------------------


def _budget(n_reference_tokens: int) -> int:
    """A prediction much longer than its reference cannot be right: stop decoding it."""
    return n_reference_tokens + n_reference_tokens // 4 + 4


def generation_budgets(tokenizer, completions) -> list[int]:
    """The new-token budget of each row: its reference completion's tokens as trained
    (:func:`hf_reasoning.tokenization.completion_lengths`) + 25% + 4 (``evaluate``, the
    training loop's evaluation and the lm-eval model all decode with it)."""
    from .tokenization import completion_lengths

    return [_budget(n) for n in completion_lengths(tokenizer, [str(c) for c in completions])]


def bos_of_run(model_dir: Path, tokenizer) -> int | None:
    """Training prepends BOS for pretrained models, not for presets (hf_reasoning.train)."""
    args_file = model_dir / "training_args.json"
    if args_file.is_file():
        from .modeling import is_preset

        try:
            trained_from = json.loads(args_file.read_text()).get("model")
        except (OSError, ValueError):
            trained_from = None
        if trained_from and not is_preset(str(trained_from)):
            return tokenizer.bos_token_id
    return None


def plan_batches(budgets: Sequence[int], batch_size: int) -> list[list[int]]:
    """Row indices in batches of ``batch_size``, longest budget first (rows of one batch decode
    for about as long). The plan depends only on the rows, never on the number of processes,
    so every row is decoded in the same batch — hence to the same tokens — on 1 or N processes."""
    if batch_size <= 0:
        raise ValueError(f"batch_size {batch_size}; allowed: a positive integer")
    order = sorted(range(len(budgets)), key=lambda i: (-budgets[i], i))
    return [order[start:start + batch_size] for start in range(0, len(order), batch_size)]


def _deal(batches: list, world: int) -> list:
    """Reorder batches so that ``split_between_processes``' contiguous chunks deal them
    round-robin (process r gets batches r, r + world, …): every process gets long and short ones."""
    return [b for rank in range(world) for b in batches[rank::world]]


def merge_shards(gathered: Sequence[tuple[int, Any]], n: int) -> list:
    """The per-row results of all processes (``(row index, value)`` pairs, any order) back in row
    order; every row exactly once."""
    merged: list = [None] * n
    seen = [False] * n
    for index, value in gathered:
        if not 0 <= index < n or seen[index]:
            raise ValueError(f"row {index} gathered twice or out of range 0..{n - 1}")
        merged[index], seen[index] = value, True
    if not all(seen):
        raise ValueError(f"rows {[i for i, s in enumerate(seen) if not s][:5]} missing after the gather")
    return merged


def _process_state():
    """Accelerate's process state; plain ``torchrun`` on a machine without an accelerator gives CPU
    processes (gloo), as in :mod:`hf_reasoning.train`."""
    import os

    import torch
    from accelerate import PartialState

    return PartialState(cpu=int(os.environ.get("WORLD_SIZE", "1")) > 1 and not torch.accelerator.is_available())


def generate_sharded(model, tokenizer, prompts: Sequence[str], fmt: str, budgets: Sequence[int], *,
                     batch_size: int = 32, method: str = "cached", bos_token_id: int | None = None,
                     state=None, progress: bool = True) -> list[str]:
    """Completions of ``prompts`` (:func:`hf_reasoning.generation.complete`), the batches dealt
    across Accelerate processes (``split_between_processes``) and gathered back (``gather_object``).

    Every process returns all completions, in prompt order, identical to a single-process run
    (see :func:`plan_batches`)."""
    from accelerate.utils import gather_object
    from .generation import complete
    from .progress import progress_bar

    state = state or _process_state()
    batches = plan_batches(budgets, batch_size)
    mine: list[tuple[int, str]] = []
    with state.split_between_processes(_deal(batches, state.num_processes)) as my_batches:
        bar = progress_bar(sum(len(b) for b in my_batches), "generate", unit="row",
                           disable=not (progress and state.is_local_main_process))
        for batch in my_batches:
            texts = complete(model, tokenizer, [prompts[i] for i in batch], fmt,
                             max_new_tokens=[budgets[i] for i in batch], method=method, bos_token_id=bos_token_id)
            mine.extend(zip(batch, texts))
            bar.update(len(batch))
        bar.close()
    gathered = gather_object(mine) if state.num_processes > 1 else mine
    return merge_shards(gathered, len(prompts))


def evaluate_run(
    model_dir: str | Path,
    dataset: str | Path,
    config: str,
    splits: Sequence[str] | None = None,
    out_dir: str | Path | None = None,
    batch_size: int = 32,
    *,
    max_rows: int | None = None,
    method: str = "cached",
    threshold: float = 0.9,
    task: str | None = None,
    device: str | None = None,
) -> dict:
    """Generate with a saved model on dataset splits, score, and write JSON + PNG.

    ``model_dir``: a run folder or Hub model id (``AutoModelForCausalLM`` + ``AutoTokenizer``).
    ``dataset``: a dataset repo folder or Hub id, loaded with ``load_dataset(dataset, config)``.
    ``splits``: default every split but ``train``. ``max_rows``: at most this many rows per
    split, spread evenly. Writes ``out_dir/eval_results.json`` (with the predictions) and
    ``out_dir/accuracy_vs_length.png`` when ``out_dir`` is given (main process only). Returns
    the results dict: ``{"model", "dataset", "dataset_metadata", "config", "format", "task",
    "splits", "method", "train_lengths", "results": score(...), "predictions"}``.

    Run under ``accelerate launch`` / ``torchrun``, the generation is shared by the processes
    (:func:`generate_sharded`) and every process returns the same results as one process would.
    """
    import numpy as np
    import torch
    from transformers import AutoTokenizer

    from .errors import HFReasoningError
    from .inductive import format_of_config

    if out_dir is not None:  # before any generation: an unwritable --out fails at once
        from .errors import check_output_dir

        check_output_dir(out_dir)
    fmt = format_of_config(config)
    state = _process_state()
    from .dataset_repo import load_config

    data = load_config(dataset, config)
    metadata: dict = {}
    try:
        from .dataset_repo import repo_metadata

        metadata = repo_metadata(str(dataset))
    except Exception:  # noqa: BLE001  (a dataset without our card: scored by exact match)
        metadata = {}
    task = task or metadata.get("task")
    task_obj = None
    if task:
        from .tasks import get_task

        task_obj = get_task(task)
    if Path(str(model_dir)).exists() and not (Path(str(model_dir)) / "config.json").is_file():
        raise HFReasoningError(f"--model {str(model_dir)!r} has no config.json; allowed: a finished run folder or Hub model id")
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    from .finetune import load_causal_lm
    from .tokenization import check_tokenizer, config_symbols

    check_tokenizer(tokenizer, config_symbols(task_obj, data.values()), f"{dataset} {config}")  # before generating
    model = load_causal_lm(model_dir)  # a full model, or a PEFT adapter folder on its base model
    model.to(device or state.device)
    model.eval()
    bos = bos_of_run(Path(str(model_dir)), tokenizer)
    train_lengths = (sorted(set(data["train"]["length"])) if "train" in data and "length" in data["train"].column_names
                     else None)
    train_max = train_lengths[-1] if train_lengths else None
    for split in splits or []:
        if split not in data:
            raise HFReasoningError(f"split {split!r} not in {str(dataset)!r} config {config!r}; allowed: {', '.join(data)}")
    chosen = list(splits or [s for s in data if s != "train"])
    rows: list[dict] = []
    row_split: list[str] = []
    for split in chosen:
        part = data[split]
        if max_rows is not None and len(part) > max_rows:
            index = np.unique(np.linspace(0, len(part) - 1, num=max_rows).round().astype(int))
            part = part.select(index)
        rows.extend(part)
        row_split.extend([split] * len(part))
    budgets = generation_budgets(tokenizer, [r["completion"] for r in rows])
    with torch.no_grad():
        predictions = generate_sharded(model, tokenizer, [r["prompt"] for r in rows], fmt, budgets,
                                       batch_size=batch_size, method=method, bos_token_id=bos, state=state)
    results = score(
        predictions, [r["answer"] for r in rows], task=task_obj, fmt=fmt if task_obj else None,
        groups=[r.get("group") for r in rows] if rows and "group" in rows[0] else None,
        lengths=[r["length"] for r in rows] if rows and "length" in rows[0] else None,
        splits=row_split, reference_completions=[r["completion"] for r in rows],
        train_max_length=train_max, threshold=threshold,
    )
    out = {"model": str(model_dir), "dataset": str(dataset), "dataset_metadata": metadata, "config": config,
           "format": fmt, "task": task, "splits": chosen, "method": method,
           "num_processes": state.num_processes, "train_lengths": [train_lengths[0], train_max] if train_lengths else None, "results": results,
           "predictions": [{"split": s, "prompt": r["prompt"], "prediction": p, "answer": r["answer"]}
                           for s, r, p in zip(row_split, rows, predictions)]}
    if out_dir is not None and state.is_main_process:
        write_eval_results(out, out_dir)
    state.wait_for_everyone()
    return out


EVAL_RESULTS = "eval_results.json"
PLOT = "accuracy_vs_length.png"


def write_eval_results(out: dict, out_dir: str | Path) -> Path:
    """``out_dir/eval_results.json`` and, with per-length results, ``out_dir/accuracy_vs_length.png``
    (each written to a temporary file, then renamed). Returns the JSON path."""
    import os

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / EVAL_RESULTS
    tmp = out_dir / f".{EVAL_RESULTS}.tmp-{os.getpid()}"
    tmp.write_text(json.dumps(out, indent=2) + "\n")
    os.replace(tmp, path)
    results = out["results"]
    if results.get("lengths"):
        tmp_png = out_dir / f".{PLOT}.tmp-{os.getpid()}.png"
        plot_accuracy_vs_length({f"{Path(out['model']).name} ({out['config']})": results}, tmp_png,
                                train_range=tuple(out["train_lengths"]) if out.get("train_lengths") else None,
                                title=f"{out.get('task') or ''} {out['config']}".strip())
        os.replace(tmp_png, out_dir / PLOT)
    return path
