"""Cards: the dataset card of a task's Hub repo (YAML ``configs:`` block + body), and the model
card of a finished run folder (``model-index`` with one ``EvalResult`` per config and split).

Model cards are rendered from the Jinja template ``model_cards/model_card.md`` (shipped in the
package as ``hf_reasoning/model_cards/model_card.md``) with ``huggingface_hub.ModelCard.from_template``.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from huggingface_hub import DatasetCard, DatasetCardData, EvalResult, ModelCard, ModelCardData

from .version import __version__
from .errors import HFReasoningError

LICENSE = "apache-2.0"

BIBTEX = {
    "abbe2024": """@inproceedings{abbe2024far,
  title     = {How Far Can Transformers Reason? The Globality Barrier and Inductive Scratchpad},
  author    = {Abbe, Emmanuel and Bengio, Samy and Lotfi, Aryo and Sandon, Colin and Saremi, Omid},
  booktitle = {Advances in Neural Information Processing Systems},
  year      = {2024},
  eprint    = {2406.06467},
  archivePrefix = {arXiv}
}""",
    "zhou2023": """@article{zhou2023algorithms,
  title   = {What Algorithms can Transformers Learn? A Study in Length Generalization},
  author  = {Zhou, Hattie and Bradley, Arwen and Littwin, Etai and Razin, Noam and Saremi, Omid and Susskind, Josh and Bengio, Samy and Nakkiran, Preetum},
  journal = {arXiv preprint arXiv:2310.16028},
  year    = {2023}
}""",
    "abbe2023": """@inproceedings{abbe2023generalization,
  title     = {Generalization on the Unseen, Logic Reasoning and Degree Curriculum},
  author    = {Abbe, Emmanuel and Bengio, Samy and Lotfi, Aryo and Rizk, Kevin},
  booktitle = {International Conference on Machine Learning},
  year      = {2023},
  eprint    = {2301.13105},
  archivePrefix = {arXiv}
}""",
    "abbe2022": """@article{abbe2022learning,
  title   = {Learning to Reason with Neural Networks: Generalization, Unseen Data and Boolean Measures},
  author  = {Abbe, Emmanuel and Bengio, Samy and Cornacchia, Elisabetta and Kleinberg, Jon and Lotfi, Aryo and Raghu, Maithra and Zhang, Chiyuan},
  journal = {arXiv preprint arXiv:2205.13647},
  year    = {2022}
}""",
    "zhang2021": """@article{zhang2021pointer,
  title   = {Pointer Value Retrieval: A new benchmark for understanding the limits of neural network generalization},
  author  = {Zhang, Chiyuan and Raghu, Maithra and Kleinberg, Jon and Bengio, Samy},
  journal = {arXiv preprint arXiv:2107.12580},
  year    = {2021}
}""",
    "vinyals2015": """@article{vinyals2015order,
  title   = {Order Matters: Sequence to sequence for sets},
  author  = {Vinyals, Oriol and Bengio, Samy and Kudlur, Manjunath},
  journal = {arXiv preprint arXiv:1511.06391},
  year    = {2015}
}""",
    "t2t": """@article{vaswani2018tensor2tensor,
  title   = {Tensor2Tensor for Neural Machine Translation},
  author  = {Vaswani, Ashish and Bengio, Samy and Brevdo, Eugene and Chollet, Francois and Gomez, Aidan N. and Gouws, Stephan and Jones, Llion and Kaiser, {\\L}ukasz and Kalchbrenner, Nal and Parmar, Niki and Sepassi, Ryan and Shazeer, Noam and Uszkoreit, Jakob},
  journal = {arXiv preprint arXiv:1803.07416},
  year    = {2018}
}""",
}

SPLIT_DOCS = {
    "train": "training rows (in distribution)",
    "validation": "in-distribution validation rows",
    "test": "in-distribution test rows",
    "ood": "out-of-distribution test rows, grouped by `length` / `group`",
}


def size_category(rows: int) -> str:
    bounds = [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
              (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M")]
    for bound, name in bounds:
        if rows < bound:
            return name
    return "100M<n<1B"


def _short(text: str, limit: int = 400) -> str:
    return text if len(text) <= limit else text[:limit] + " …"


def _lengths(groups: dict[str, int]) -> str:
    names = list(groups)
    if len(names) > 6 and all(n.isdigit() for n in names):
        return f"{names[0]}..{names[-1]} ({len(names)} values)"
    return ", ".join(names)


def config_entry(build, title: str) -> dict:
    """A config's entry in the card's YAML ``configs:`` block.

    Its ``description`` names the build and carries the sha256 of the config's Parquet files.
    That is not decoration: ``datasets`` (checked on 5.2) caches a local folder's config under
    ``<folder name>/<config>/0.0.0/<hash>``, where the hash covers the card's ``configs:`` and
    ``dataset_info`` entries but not the data files (``data_files`` are kept as glob patterns),
    so two builds that differ only in their rows (another seed, a rebuild in place, two folders
    of the same name) would share one cache and the second would silently load the first one's
    rows. A builder-config field that changes with the files' bytes makes the hash follow the
    data. The same rows give the same fingerprint, so an unchanged rebuild reuses the cache.
    """
    entry = {"config_name": build.config,
             "data_files": [{"split": s, "path": f"{build.config}/{s}-*.parquet"} for s in build.rows]}
    if build.fingerprint:
        entry["description"] = (f"{title}, config {build.config} (hf_reasoning {__version__}, scale {build.scale}, "
                                f"seed {build.seed}); data files sha256 {build.fingerprint}")
    return entry


def config_info(build) -> dict:
    """A config's ``dataset_info`` entry (features, split sizes), as ``datasets`` writes it."""
    from datasets import DatasetInfo, Features, SplitDict, SplitInfo

    table = build.tables["train"] if "train" in build.tables else next(iter(build.tables.values()))
    splits = SplitDict()
    for split, rows in build.rows.items():
        splits.add(SplitInfo(name=split, num_bytes=build.split_bytes.get(split, 0), num_examples=rows))
    info = DatasetInfo(features=Features.from_arrow_schema(table.schema), splits=splits,
                       download_size=build.file_bytes, dataset_size=sum(build.split_bytes.values()))
    return {"config_name": build.config, **info._to_yaml_dict()}


def dataset_card(task, builds: Sequence, scale: str, seed: int, repo_id: str | None = None) -> str:
    """The README.md of a task's dataset repo, from the builds of its configs."""
    total_rows = sum(sum(b.rows.values()) for b in builds)
    configs_yaml = [config_entry(b, task.title) for b in builds]
    if builds:
        configs_yaml[0]["default"] = True
    data = DatasetCardData(
        license=LICENSE,
        language=["en"],
        pretty_name=f"hf_reasoning: {task.title}",
        task_categories=["text-generation"],
        tags=["reasoning", "length-generalization", "out-of-distribution", "synthetic", "scratchpad", task.name,
              *task.sources],
        size_categories=[size_category(total_rows)],
        configs=configs_yaml,
        dataset_info=[config_info(b) for b in builds],
        hf_reasoning={"task": task.name, "scale": scale, "seed": seed, "generator_version": __version__},
    )
    repo = repo_id or f"<namespace>/{task.name}"
    first = builds[0].config if builds else "<config>"
    lines = [
        f"# {task.title}",
        "",
        f"Part of **hf_reasoning**, synthetic benchmarks of reasoning and out-of-distribution generalisation "
        f"in Transformers. Sources: {', '.join(f'`{s}`' for s in task.sources)} (BibTeX below).",
        "",
        task.description,
        "",
        "## Loading",
        "",
        "```python",
        "from datasets import load_dataset",
        f'ds = load_dataset("{repo}", "{first}")  # or a local copy of this folder',
        'print(ds["train"][0]["prompt"], ds["train"][0]["completion"])',
        "```",
        "",
        "Config names are `<preset>-<format>`: the preset fixes the distribution and the length / shift split, "
        "the format fixes the text. Every config has the splits `train`, `validation` and `test` (in "
        "distribution) and, when its preset has a shifted test, `ood`.",
        "",
        "## Columns",
        "",
        "- `prompt`: the question, ending in its separator; `completion`: one space, then scratchpad (if any), "
        "answer, end token `.`. Texts are tokens joined by single spaces: `text.split()` gives the tokens back. "
        "`prompt + completion` is the training text, so TRL's `SFTTrainer` takes the rows as they are "
        "(the leading space is new in generator 0.6.0: rows of generator ≤ 0.5.0 need "
        "`hf_reasoning.finetune.sft_dataset`; the project's trainer and scorer read both alike).",
        "- `answer`: the answer the completion must give (see the answer rule of each format).",
        "- `length`: the size that defines the length split; `group`: the length (or the named shift) the row "
        "belongs to, so a metric can report accuracy per group.",
        "- the structured instance: " + ", ".join(
            f"`{c}`" for c in (builds[0].tables["train"].column_names[5:] if builds else [])) + ".",
        "",
        "## Formats",
        "",
        "Special tokens of the scratchpads: `:` starts an inductive scratchpad, `#` separates two states, `.` "
        "ends the completion, `_` is a blank slot, `$` ends a number inside a register. Inductive completions "
        "start with `:` (after the leading space) and the prompt is everything before it; in training, each state should see only the "
        "question and the previous state (see the hf_reasoning inductive collator).",
        "",
    ]
    for fmt in dict.fromkeys(b.format for b in builds):
        example = next(b for b in builds if b.format == fmt).tables["train"].slice(0, 1).to_pylist()[0]
        lines += [
            f"### `{fmt}`",
            "",
            task.format_docs.get(fmt, ""),
            "",
            "```text",
            f"prompt:     {json.dumps(_short(example['prompt']), ensure_ascii=False)}",
            f"completion: {json.dumps(_short(example['completion']), ensure_ascii=False)}",
            f"answer:     {example['answer']}",
            "```",
            "",
        ]
    lines += ["## Configs", "", "| config | train | validation | test | ood | training groups | OOD groups |",
              "|---|---|---|---|---|---|---|"]
    for b in builds:
        rows = [str(b.rows.get(s, "–")) for s in ("train", "validation", "test", "ood")]
        lines.append(f"| `{b.config}` | {' | '.join(rows)} | {_lengths(b.groups.get('train', {}))} | "
                     f"{_lengths(b.groups.get('ood', {})) or '–'} |")
    overlapping = [b for b in builds if b.overlap_groups]
    lines += [
        "",
        "## Disjoint splits",
        "",
        "The splits of a config share no instance: the structured instance is hashed (64-bit) and the "
        "evaluation splits are drawn first (`ood`, `test`, `validation`); a later split redraws any instance "
        "an earlier one holds. The exception is a group whose instance space is smaller than 100 × the rows "
        "drawn for it, where splits may share instances:",
        "",
    ]
    if overlapping:
        for b in overlapping:
            lines.append(f"- `{b.config}`: groups {', '.join(b.overlap_groups)} may overlap; "
                         f"{b.shared_rows} training rows are also in an evaluation split.")
    else:
        lines.append("- none in this repo.")
    lines += [
        "",
        "## Generation",
        "",
        f"- generator: `hf_reasoning` {__version__}, scale `{scale}`, seed `{seed}`.",
        f"- rebuild byte for byte: `hf-reasoning build {task.name} --scale {scale} --seed {seed} --out hub`.",
        "- seeds: one `numpy.random.SeedSequence(seed, spawn_key=(crc32(task), crc32(preset)))` per preset, "
        "whose children seed the splits (and the fresh-sample stream); formats of one preset share instances.",
        "- fresh training samples: `hf_reasoning.stream_train(task, config, scale, seed)` streams new training "
        "rows forever and never yields an instance of this repo's evaluation splits.",
        "",
        "## Citation",
        "",
        "```bibtex",
        "\n\n".join(BIBTEX[s] for s in task.sources if s in BIBTEX),
        "```",
        "",
    ]
    return str(DatasetCard.from_template(data, template_str="---\n{{ card_data }}\n---\n\n" + "\n".join(lines)))


# -- model cards ------------------------------------------------------------------------------------

MODEL_CARD_TEMPLATE = "model_card.md"
RUN_FILES = ("config.json", "model.safetensors", "generation_config.json", "training_args.json")


def model_card_template() -> Path:
    """The packaged Jinja template of model cards (a copy of the repo's ``model_cards/model_card.md``)."""
    return Path(str(resources.files("hf_reasoning") / "model_cards" / MODEL_CARD_TEMPLATE))


def is_run_dir(folder: str | os.PathLike) -> bool:
    """A model repo folder: it holds a ``config.json`` (what ``from_pretrained`` reads first)."""
    return (Path(folder) / "config.json").is_file()


def _read_json(path: Path, what: str):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise HFReasoningError(f"cannot read {what} {str(path)!r}: {error}; allowed: the JSON file hf-reasoning wrote") from None


def load_eval_results(run_dir: str | os.PathLike) -> list[dict]:
    """The evaluations saved in a run folder (``eval_results.json`` written by
    ``hf-reasoning evaluate --out RUN_DIR``); ``[]`` when there is none."""
    from .evaluation import EVAL_RESULTS

    path = Path(run_dir) / EVAL_RESULTS
    if not path.is_file():
        return []
    data = _read_json(path, "evaluation results")
    return _check_evaluations(data if isinstance(data, list) else [data], str(path))


def _check_evaluations(evaluations: Sequence[Any], where: str) -> list[dict]:
    for evaluation in evaluations:
        if not isinstance(evaluation, dict) or "config" not in evaluation or not isinstance(evaluation.get("results"), dict):
            raise HFReasoningError(f"{where} is not an evaluation result; allowed: what evaluate_run returns "
                                   "(a dict with 'config' and 'results')")
    return list(evaluations)


def _dataset_id(dataset: str) -> str:
    """A Hub id stays as it is; a local dataset folder is named by its folder (no local paths in a card)."""
    path = Path(dataset)
    return path.name if path.is_dir() or path.is_absolute() or dataset.startswith(".") else dataset


def _is_hub_id(name: str) -> bool:
    return name.count("/") == 1 and not Path(name).exists()


def _no_local_path(value: str) -> str:
    """A folder or file on this machine is named by its last component only (a card is published)."""
    return Path(value).name if ("/" in value or "\\" in value) and (os.path.isabs(value) or Path(value).exists()) else value


def _fmt3(x) -> str:
    return "—" if x is None else f"{x:.3f}"


def _ci_text(block: dict | None) -> str:
    return f"[{block['ci95'][0]:.3f}, {block['ci95'][1]:.3f}]" if block and block.get("ci95") else ""


def _rows(answer_blocks: dict | None, exact_blocks: dict | None = None) -> list[dict]:
    """Table rows: answer accuracy and exact match (``—`` where not measured) per name."""
    rows = []
    for name, b in (answer_blocks or {}).items():
        e = (exact_blocks or {}).get(name)
        rows.append({"name": name, "accuracy": _fmt3(b["accuracy"]), "ci": _ci_text(b),
                     "exact": _fmt3(e["accuracy"]) if e else "—", "exact_ci": _ci_text(e), "n": b["n"]})
    return rows


def _count_parameters(run_dir: Path) -> int | None:
    from safetensors import safe_open

    files = sorted(run_dir.glob("*.safetensors"))
    if not files:
        return None
    total = 0
    for file in files:
        with safe_open(str(file), framework="numpy") as f:
            for key in f.keys():
                total += math.prod(f.get_slice(key).get_shape())
    return total


def model_card_evaluations(evaluations: Sequence[dict], dataset_id: str | None = None) -> list[EvalResult]:
    """One ``EvalResult`` per evaluated dataset config, split and score: ``accuracy`` (answer
    accuracy) and ``exact_match`` (the whole completion, fillers masked)."""
    from .evaluation import metric_summary

    results = []
    for evaluation in evaluations:
        dataset = dataset_id or _dataset_id(str(evaluation.get("dataset", "hf_reasoning")))
        for metric_type, label in (("accuracy", "answer accuracy"), ("exact_match", "exact match")):
            summary = metric_summary(evaluation["results"], "answer_accuracy" if metric_type == "accuracy" else metric_type)
            for split, block in ((summary or {}).get("per_split") or {}).items():
                if block.get("accuracy") is None:
                    continue
                results.append(EvalResult(
                    task_type="text-generation", task_name="Text Generation", dataset_type=dataset, dataset_name=dataset,
                    dataset_config=evaluation["config"], dataset_split=split, metric_type=metric_type,
                    metric_name=f"{label} ({split})", metric_value=float(block["accuracy"])))
    return results


def _example(task, config: str | None) -> dict | None:
    """One training example of the config (tiny scale, seed 0) to show the format."""
    if task is None or not config:
        return None
    try:
        from .splits import build_config

        row = build_config(task.name, config, "tiny", 0).tables["train"].slice(0, 1).to_pylist()[0]
        return {"prompt": _short(row["prompt"]), "completion": _short(row["completion"]), "full_prompt": row["prompt"],
                "full_completion": row["completion"]}
    except Exception:  # noqa: BLE001  (a config the package does not know: no example)
        return None


# the image formats a model card shows, by their first bytes
IMAGE_SIGNATURES = {".png": (b"\x89PNG\r\n\x1a\n",), ".jpg": (b"\xff\xd8\xff",), ".jpeg": (b"\xff\xd8\xff",),
                    ".gif": (b"GIF87a", b"GIF89a"), ".webp": (b"RIFF",)}


def check_image(path: Path) -> None:
    """Raise unless ``path`` is a PNG, JPEG, GIF or WebP image (by its name and its bytes)."""
    signatures = IMAGE_SIGNATURES.get(path.suffix.lower())
    with open(path, "rb") as f:
        head = f.read(12)
    if signatures is None or not head.startswith(signatures) or (path.suffix.lower() == ".webp" and head[8:12] != b"WEBP"):
        raise HFReasoningError(f"--plot {str(path)!r} is not an image; allowed: a .png, .jpg, .gif or .webp image file")


def _resolve_plot(run_dir: Path, plot, evaluations: list[dict]) -> str | None:
    """The plot's path relative to the run folder: a given PNG outside it is copied in; without
    one, the run's ``accuracy_vs_length.png``, drawn from the evaluations if absent."""
    from .evaluation import PLOT, plot_accuracy_vs_length

    if plot is not None:
        plot = Path(plot)
        if not plot.is_file():
            raise HFReasoningError(f"plot {str(plot)!r} does not exist; allowed: a PNG file")
        check_image(plot)
        try:
            return plot.resolve().relative_to(run_dir.resolve()).as_posix()
        except ValueError:
            pass
        target = run_dir / plot.name
        if target.exists() or target.is_symlink():
            # never replace a file of the run (config.json, a plot drawn by evaluate …)
            if not target.is_file() or target.is_symlink() or target.read_bytes() != plot.read_bytes():
                raise HFReasoningError(f"--plot {str(plot)!r} would replace {str(target)!r}; allowed: an image whose "
                                       "name is not taken in the run folder, or an image inside it")
            return plot.name
        tmp = run_dir / f".{plot.name}.tmp-{os.getpid()}"
        shutil.copyfile(plot, tmp)
        os.replace(tmp, target)
        return plot.name
    if (run_dir / PLOT).is_file():
        return PLOT
    drawn = {f"{e['config']}": e["results"] for e in evaluations if e["results"].get("lengths")}
    if not drawn:
        return None
    first = next(e for e in evaluations if e["results"].get("lengths"))
    tmp = run_dir / f".{PLOT}.tmp-{os.getpid()}.png"
    plot_accuracy_vs_length(drawn, tmp, train_range=tuple(first["train_lengths"]) if first.get("train_lengths") else None)
    os.replace(tmp, run_dir / PLOT)
    return PLOT


@dataclass
class _RunFacts:
    """What a causal-LM run folder says about itself (read by :func:`_run_facts`)."""

    run_dir: Path
    adapter: bool  # a LoRA run: PEFT adapter weights, no model.safetensors
    config: dict
    args: dict
    train_results: dict
    evaluations: list[dict]
    train_config: str
    fmt: str
    metadata: dict
    task_name: str | None
    task: Any
    from_scratch: bool


def build_model_card(run_dir: str | os.PathLike, results: dict | Sequence[dict] | None = None, plot=None, *,
                     repo_id: str | None = None, dataset_id: str | None = None) -> ModelCard:
    """The model card of a finished run folder (see :func:`write_model_card`), not written."""
    from .inductive import is_inductive_format

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise HFReasoningError(f"{str(run_dir)!r} is not a folder; allowed: a finished run folder (hf_reasoning.train --out)")
    if is_head_run(run_dir):
        return build_head_card(run_dir, repo_id=repo_id, dataset_id=dataset_id)
    run = _run_facts(run_dir, results)
    args, evaluations, task, fmt, train_config = run.args, run.evaluations, run.task, run.fmt, run.train_config
    training_dataset = str(args.get("dataset", ""))
    dataset = dataset_id or _dataset_id(training_dataset or (evaluations[0].get("dataset", "") if evaluations else ""))
    model_name = repo_id.split("/")[-1] if repo_id else run_dir.name
    card_data = _model_card_data(run, model_name, dataset, dataset_id)
    example = _example(task, train_config)
    bos = None
    if not run.from_scratch:
        from transformers import AutoTokenizer

        bos = AutoTokenizer.from_pretrained(str(run_dir)).bos_token_id
    budget = 256
    if example is not None:
        from .evaluation import _budget

        budget = _budget(len(example["full_completion"].split()))
    hyperparameters = [(k, json.dumps(v) if not isinstance(v, str) else _no_local_path(v)) for k, v in sorted(args.items())
                       if k not in ("out",)]
    template = model_card_template()
    return ModelCard.from_template(
        card_data, template_path=str(template),
        model_name=model_name,
        summary=_model_summary(run),
        task_name=task.name if task else None,
        task_title=task.title if task else train_config,
        task_description=task.description if task else "",
        format=fmt,
        format_doc=task.format_docs.get(fmt, "") if task else "",
        inductive=is_inductive_format(fmt) if fmt else False,
        example=example,
        example_prompt=json.dumps(example["full_prompt"]) if example else '"..."',
        max_new_tokens=budget,
        bos_token_id=bos,
        data_section=_data_section(run, dataset),
        training_section=_training_section(run),
        hyperparameters=hyperparameters,
        evaluations=_rendered_evaluations(run, dataset_id),
        plot=_resolve_plot(run_dir, plot, evaluations) if evaluations or plot is not None else None,
        load_id=repo_id or "path/to/" + run_dir.name,
        adapter=run.adapter,
        dataset_id=dataset if _is_hub_id(dataset) else f"path/to/{dataset}",
        config=evaluations[0]["config"] if evaluations else train_config,
        citation="\n\n".join(BIBTEX[s] for s in (task.sources if task else []) if s in BIBTEX) or "% see hf_reasoning",
    )


def _run_facts(run_dir: Path, results: dict | Sequence[dict] | None) -> _RunFacts:
    """Read a finished causal-LM run folder (an error names what is missing) and its task."""
    from .inductive import format_of_config
    from .modeling import is_preset

    adapter = (run_dir / "adapter_config.json").is_file()  # a LoRA run: PEFT adapter weights, no model.safetensors
    weights = ("adapter_model.safetensors",) if adapter else ()
    missing = [name for name in RUN_FILES if not (run_dir / name).is_file()
               and not (adapter and name == "model.safetensors")]
    missing += [name for name in weights if not (run_dir / name).is_file()]
    if missing:
        raise HFReasoningError(f"{str(run_dir)!r} is not a finished run folder (no {', '.join(missing)}); "
                               "allowed: the --out folder of a completed hf_reasoning.train run")
    config = _read_json(run_dir / "config.json", "model config")
    args = _read_json(run_dir / "training_args.json", "training arguments")
    train_results = _read_json(run_dir / "train_results.json", "training results") \
        if (run_dir / "train_results.json").is_file() else {}
    if results is None:
        evaluations = load_eval_results(run_dir)
    else:
        evaluations = _check_evaluations([results] if isinstance(results, dict) else list(results), "results")
    train_config = str(args.get("config") or (evaluations[0]["config"] if evaluations else ""))
    fmt = format_of_config(train_config) if train_config else (evaluations[0].get("format") if evaluations else "")
    training_dataset = str(args.get("dataset", ""))
    metadata: dict = next((e.get("dataset_metadata") for e in evaluations if e.get("dataset_metadata")), None) or {}
    if not metadata and training_dataset:
        try:
            from .dataset_repo import repo_metadata

            metadata = repo_metadata(training_dataset)
        except Exception:  # noqa: BLE001  (the training data folder may be gone: the card still works)
            metadata = {}
    task_name = metadata.get("task") or next((e.get("task") for e in evaluations if e.get("task")), None)
    task = None
    if task_name:
        from .tasks import get_task

        try:
            task = get_task(task_name)
        except HFReasoningError:
            task = None
    return _RunFacts(run_dir, adapter, config, args, train_results, evaluations, train_config, fmt, metadata,
                     task_name, task, from_scratch=is_preset(str(args.get("model", "tiny"))))


def _model_card_data(run: _RunFacts, model_name: str, dataset: str, dataset_id: str | None) -> ModelCardData:
    """The card's YAML metadata: tags, base model, the model-index and hf_reasoning's own block."""
    from .evaluation import metric_summary

    args, evaluations, task, fmt = run.args, run.evaluations, run.task, run.fmt
    eval_results = model_card_evaluations(evaluations, dataset_id)
    base_model = None if run.from_scratch or not _is_hub_id(str(args.get("model"))) else str(args["model"])
    if run.adapter:  # the base the adapter was trained on (a local folder is named by nothing: no local paths)
        base = str(_read_json(run.run_dir / "adapter_config.json", "adapter config").get("base_model_name_or_path", ""))
        base_model = base if _is_hub_id(base) and not Path(base).exists() else None
    return ModelCardData(
        model_name=model_name,
        license=LICENSE,
        language=["en"],
        library_name="peft" if run.adapter else "transformers",
        pipeline_tag="text-generation",
        tags=["hf_reasoning", "reasoning", "length-generalization", "out-of-distribution", "synthetic",
              *([task.name] if task else []), *([fmt] if fmt else [])],
        datasets=[dataset] if _is_hub_id(dataset) else None,
        base_model=base_model,
        metrics=["accuracy", "exact_match"],
        eval_results=eval_results or None,
        hf_reasoning={
            "task": run.task_name, "config": run.train_config, "format": fmt,
            "evaluations": [{
                "dataset": dataset_id or _dataset_id(str(e.get("dataset", ""))), "config": e["config"],
                "train_max_length": e["results"].get("train_max_length"),
                "headline": e["results"].get("headline", "answer_accuracy"),
                "generalization_length": e["results"].get("generalization_length"),
                "generalization_ratio": e["results"].get("generalization_ratio"),
                "threshold": e["results"].get("threshold"),
                "accuracy_per_length": {k: b["accuracy"] for k, b in (e["results"].get("lengths") or {}).items()},
                **{f"{m}_per_length": {k: b["accuracy"] for k, b in ((metric_summary(e["results"], m) or {}).get("lengths") or {}).items()}
                   for m in ("answer_accuracy", "exact_match")},
            } for e in evaluations],
        },
    )


def _model_summary(run: _RunFacts) -> str:
    """One paragraph: size, architecture, where the weights come from, task and config."""
    args, task, adapter = run.args, run.task, run.adapter
    n_params = _count_parameters(run.run_dir)
    arch = (run.config.get("architectures") or [run.config.get("model_type", "causal LM")])[0]
    size = f"{n_params / 1e6:.2f}M-parameter " if n_params and not adapter else ""
    base_name = str(args.get("model"))
    base_name = base_name if _is_hub_id(base_name) and not Path(base_name).exists() else Path(base_name).name  # no local paths
    origin = f"trained from scratch (preset `{args.get('model')}`)" if run.from_scratch else f"fine-tuned from `{base_name}`"
    if adapter:
        origin += f" with a LoRA adapter ({n_params / 1e6:.3f}M adapter parameters)" if n_params else " with a LoRA adapter"
    checkpoint = ("The checkpoint is a PEFT adapter (safetensors); the base model is loaded and the adapter merged "
                  "by `hf_reasoning.finetune.load_run`." if adapter else
                  "The checkpoint is a plain `transformers` model (safetensors, no custom code).")
    return (f"A {size}`{arch}` {origin} with `hf_reasoning` on "
            f"{'the `' + task.name + '` task, ' if task else ''}config `{run.train_config}` (format `{run.fmt}`). " + checkpoint)


def _data_section(run: _RunFacts, dataset: str) -> str:
    """The training dataset (and how to rebuild it) and the training lengths of each evaluation."""
    task, scale = run.task, run.metadata.get("scale")
    data_lines = [f"- training dataset: `{dataset}`, config `{run.train_config}`"
                  + (f" (built with `hf-reasoning build {task.name} --scale {scale} --seed {run.metadata.get('seed', 0)}`)"
                     if task and scale else "") + ("; fresh samples streamed from the generator" if run.args.get("fresh") else "") + "."]
    for e in run.evaluations:
        lengths = e.get("train_lengths")
        if lengths:
            data_lines.append(f"- `{e['config']}`: training lengths {lengths[0]}..{lengths[1]}; evaluated splits "
                              f"{', '.join(f'`{s}`' for s in e.get('splits', []))}.")
    return "\n".join(data_lines)


def _training_section(run: _RunFacts) -> str:
    args = run.args
    steps = run.train_results.get("completed_steps", args.get("max_steps"))
    loss = run.train_results.get("train/loss")
    return (f"{steps} optimizer steps with AdamW, linear warm-up and cosine decay, batch "
            f"{args.get('per_device_train_batch_size')} per device × {args.get('gradient_accumulation_steps', 1)} "
            f"accumulation" + (f"; last logged training loss {loss:.4f}" if loss is not None else "") +
            ". Reproduce with `python -m hf_reasoning.train` and the arguments below (`training_args.json`).")


def _rendered_evaluations(run: _RunFacts, dataset_id: str | None) -> list[dict]:
    """Each evaluation as the template's tables: per split, per length, the generalisation length."""
    from .evaluation import metric_summary
    from .inductive import is_inductive_format

    rendered_evaluations = []
    for e in run.evaluations:
        r = e["results"]
        answer, exact = metric_summary(r, "answer_accuracy") or {}, metric_summary(r, "exact_match")
        headline = r.get("headline", "answer_accuracy")
        summary_line = ""
        if r.get("lengths") is not None:
            parts = []
            for name, s in (("exact match", exact), ("answer accuracy", answer)):
                if s:
                    gl = s.get("generalization_length")
                    parts.append(f"by {name}: **{gl if gl is not None else 'none'}**"
                                 + (f" ({s['generalization_ratio']:.2f}× the largest training length, "
                                    f"{r.get('train_max_length')})" if s.get("generalization_ratio") else ""))
            summary_line = (f"Generalisation length (largest tested length with accuracy ≥ {r.get('threshold')}) "
                            + "; ".join(parts) + ".")
        overall = {"name": "**all**", "accuracy": _fmt3(answer.get("accuracy")),
                   "ci": _ci_text({"ci95": answer["accuracy_ci95"]}) if answer.get("accuracy_ci95") else "",
                   "exact": _fmt3(exact["accuracy"]) if exact else "—",
                   "exact_ci": _ci_text({"ci95": exact["accuracy_ci95"]}) if exact else "", "n": r.get("n")}
        lengths = e.get("train_lengths")
        rendered_evaluations.append({
            "config": e["config"], "dataset": dataset_id or _dataset_id(str(e.get("dataset", ""))),
            "method": f"{e.get('method', 'cached')} inductive decoder" if is_inductive_format(e.get("format", run.fmt)) else "`model.generate`",
            "headline": "exact match" if headline == "exact_match" else "answer accuracy",
            "splits": _rows(answer.get("per_split"), (exact or {}).get("per_split")) + [overall],
            "lengths": _rows(answer.get("lengths"), (exact or {}).get("lengths")),
            "train_range": f"{lengths[0]}..{lengths[1]}" if lengths else "unknown",
            "summary": summary_line.strip(),
        })
    return rendered_evaluations


HEAD_RUN_FILES = ("config.json", "model.safetensors", "training_args.json", "eval_results.json")
HEAD_METRICS = {"mse": "mean squared error", "sign_accuracy": "sign accuracy", "accuracy": "accuracy"}


def is_head_run(folder: str | os.PathLike) -> bool:
    """A run folder of ``hf-reasoning train-head`` (its training arguments name a ``head``)."""
    path = Path(folder) / "training_args.json"
    if not path.is_file() or (Path(folder) / "generation_config.json").is_file():
        return False
    args = _read_json(path, "training arguments")
    return isinstance(args, dict) and "head" in args


def head_evaluations(final: dict, dataset: str, config: str, head: str) -> list[EvalResult]:
    """One ``EvalResult`` per split (and seen / unseen part) and metric of a train-head run's
    ``eval_results.json`` (keys ``split/metric`` or ``split/part/metric``)."""
    task_type = "tabular-regression" if head == "regression" else "tabular-classification"
    results = []
    for key, value in final.items():
        *where, metric = key.split("/")
        if metric not in HEAD_METRICS or not where or not isinstance(value, (int, float)) or not math.isfinite(value):
            continue
        split = "/".join(where)
        results.append(EvalResult(task_type=task_type, dataset_type=dataset, dataset_name=dataset, dataset_config=config,
                                  dataset_split=split, metric_type=metric, metric_name=f"{HEAD_METRICS[metric]} ({split})",
                                  metric_value=float(value)))
    return results


def build_head_card(run_dir: Path, *, repo_id: str | None = None, dataset_id: str | None = None) -> ModelCard:
    """The model card of a ``train-head`` run (MLP or sequence-classification baseline of the
    Boolean tasks): metadata with a ``model-index`` from ``eval_results.json``, the scores per
    split, the training arguments and how to load it."""
    missing = [name for name in HEAD_RUN_FILES if not (run_dir / name).is_file()]
    if missing:
        raise HFReasoningError(f"{str(run_dir)!r} is not a finished train-head run folder (no {', '.join(missing)}); "
                               "allowed: the --out folder of a completed hf-reasoning train-head run")
    args = _read_json(run_dir / "training_args.json", "training arguments")
    final = _read_json(run_dir / "eval_results.json", "evaluation results")
    config = _read_json(run_dir / "config.json", "model config")
    if not isinstance(final, dict) or not isinstance(config, dict):
        raise HFReasoningError(f"{str(run_dir)!r} has malformed results or config; allowed: what train-head wrote")
    dataset = dataset_id or _dataset_id(str(args.get("dataset", "")))
    model = str(args.get("model", ""))
    pretrained = _is_hub_id(model) and model not in ("mlp", "tiny-encoder")
    data = ModelCardData(
        license=LICENSE, library_name="transformers" if config.get("model_type") != "hf_reasoning_mlp" else None,
        tags=["hf_reasoning", "reasoning", "boolean-functions", str(args.get("head", ""))],
        datasets=[dataset] if _is_hub_id(dataset) else None,
        base_model=model if pretrained else None,
        model_name=repo_id or run_dir.name,
        eval_results=head_evaluations(final, dataset, str(args.get("config", "")), str(args.get("head", ""))) or None,
    )
    rows = sorted({key.rsplit("/", 1)[0] for key in final if key.rsplit("/", 1)[-1] in HEAD_METRICS})
    metrics = [m for m in HEAD_METRICS if any(f"{r}/{m}" in final for r in rows)]
    table = ["| split | " + " | ".join(HEAD_METRICS[m] for m in metrics) + " | rows |",
             "|---|" + "---:|" * (len(metrics) + 1)]
    for r in rows:
        cells = [_fmt3(final.get(f"{r}/{m}")) for m in metrics]
        table.append(f"| {r} | " + " | ".join(cells) + f" | {final.get(f'{r}/rows', '–')} |")
    settings = {k: v for k, v in args.items() if k not in ("dataset",) and v not in (None, "auto")}
    lines = [
        f"# {repo_id or run_dir.name}",
        "",
        f"A `{args.get('head')}` head on `{model}` trained by `hf-reasoning train-head` on the config "
        f"`{args.get('config')}` of the dataset `{dataset}` (hf_reasoning {__version__}); the tasks and splits are "
        "described in the project's docs/formats.md. `seen` / `unseen` are the parts of the Boolean cube the "
        "training split shows and hides.",
        "",
        "## Scores (final evaluation)",
        "",
        *table,
        "",
        "## Training",
        "",
        "```json",
        json.dumps(settings, indent=2, sort_keys=True, default=str),
        "```",
        "",
        "## Loading",
        "",
        "```python",
        "from huggingface_hub import snapshot_download",
        "from hf_reasoning.classification import load",
        "",
        f'run = load({f"snapshot_download({repo_id!r})" if repo_id else repr("path/to/this/folder")})  '
        "# model, tokenizer (encoders), head and input specs",
        'predictions = run.predict(rows)  # rows: a datasets split or a list of dicts with the config\'s columns',
        "```",
        "",
    ]
    return ModelCard.from_template(data, template_str="---\n{{ card_data }}\n---\n\n" + "\n".join(lines))


def write_model_card(run_dir: str | os.PathLike, results: dict | Sequence[dict] | None = None, plot=None, *,
                     repo_id: str | None = None, dataset_id: str | None = None) -> Path:
    """(Re)write ``run_dir/README.md``, the model card of a finished run folder.

    ``results``: what :func:`hf_reasoning.evaluation.evaluate_run` returned (or a list of them,
    one per dataset config); default: the run's ``eval_results.json`` if any. ``plot``: a PNG
    (copied into the run folder if outside it); default: the run's ``accuracy_vs_length.png``,
    drawn from the results if absent. ``repo_id``: the Hub id the card's loading snippet uses.
    ``dataset_id``: the Hub id of the evaluated dataset (default: the recorded id, or the local
    folder's name). Written to a temporary file and renamed. Returns the card's path.
    """
    run_dir = Path(run_dir)
    card = build_model_card(run_dir, results, plot, repo_id=repo_id, dataset_id=dataset_id)
    path = run_dir / "README.md"
    tmp = run_dir / f".README.md.tmp-{os.getpid()}"
    tmp.write_text(str(card) + ("" if str(card).endswith("\n") else "\n"))
    os.replace(tmp, path)
    return path
