"""Cards: the dataset card of a task's Hub repo (YAML ``configs:`` block + body)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from huggingface_hub import DatasetCard, DatasetCardData

from . import __version__

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


def dataset_card(task, builds: Sequence, scale: str, seed: int, repo_id: str | None = None) -> str:
    """The README.md of a task's dataset repo, from the builds of its configs."""
    total_rows = sum(sum(b.rows.values()) for b in builds)
    configs_yaml = [
        {"config_name": b.config,
         "data_files": [{"split": s, "path": f"{b.config}/{s}-*.parquet"} for s in b.rows]}
        for b in builds
    ]
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
        "- `prompt`: the question, ending in its separator; `completion`: scratchpad (if any), answer, end token "
        "`.`. Texts are tokens joined by single spaces: `text.split()` gives the tokens back.",
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
        "start with `:` and the prompt is everything before it; in training, each state should see only the "
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
            f"prompt:     {_short(example['prompt'])}",
            f"completion: {_short(example['completion'])}",
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
