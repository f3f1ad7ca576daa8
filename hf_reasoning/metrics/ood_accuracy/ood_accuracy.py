"""ood_accuracy: answer accuracy and exact match of generated completions overall, in
distribution, out of distribution and per length/shift, with Wilson 95% intervals and the
generalisation length.

A thin ``evaluate.Metric`` over :func:`hf_reasoning.evaluation.score` (usable without
``evaluate``). Load it offline, from any folder, with ``evaluate.load(hf_reasoning.OOD_ACCURACY)``
(the installed path of this folder).
"""

import datasets
import evaluate

_DESCRIPTION = """\
Scores generated completions of the hf_reasoning benchmarks by two scores. Answer accuracy:
the answer, extracted by the format's documented rule (for inductive formats, from the last
state; never the random fillers of addition), equals the reference answer. Exact match: the
whole completion equals the reference completion token by token, with the random filler
letters of addition's inductive and shift formats masked out (any letter there is right).
The headline `accuracy`, and the generalisation length, is exact match for formats whose
completion is more than the answer (scratchpad, inductive, shift, index hints) and answer
accuracy for answer-only formats (plain, reversed), where the two coincide. Text is compared
as canonical tokens (punctuation split off, lowercased like the task vocabularies), so a
tokenizer's decoded text scores like the original. Without a task, a prediction is right iff
its tokens equal the reference's. Malformed predictions (empty, truncated, garbage, no end
token '.') count as wrong. Each score is reported overall, in distribution, OOD, per split,
per group and per length with Wilson 95% intervals, with its generalisation length: the
largest tested length with accuracy >= threshold, and its ratio to the largest training length.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (list of str): generated completions (None or "" for nothing generated).
    references (list of str): the dataset's `answer` column (or, with no task, reference completions).
    task (str, optional): hf_reasoning task name, e.g. "addition" (with `format`).
    format (str, optional): the config's format, e.g. "shift", "inductive", "plain".
    groups (list, optional): group tag per row (the `group` column); defaults to `lengths`.
    lengths (list of int, optional): the `length` column.
    splits (list of str, optional): split name per row; rows of "ood" are out of distribution.
    reference_completions (list of str, optional): the `completion` column, for exact match
        (without it, the headline is answer accuracy).
    train_max_length (int, optional): largest training length (default: largest
        in-distribution length when `splits` is given). Without `splits`, longer rows are OOD.
    threshold (float, optional): accuracy threshold of the generalisation length, default 0.9.
    require_end (bool, optional): a prediction without the end token '.' is wrong (default True).
Returns:
    dict with `answer_accuracy` and `exact_match` (None when a task is given without
    `reference_completions`), each with `accuracy`, `accuracy_ci95`, `correct`, `n`,
    `in_distribution`, `ood`, `per_split`, `groups`, `lengths` (each block: accuracy, correct,
    n, ci95), `generalization_length`, `generalization_length_contiguous`,
    `generalization_ratio`; `headline` (which of the two the format's headline is), the
    headline's keys repeated at the top level (`accuracy`, `ood`, `lengths`,
    `generalization_length`, ...), `n`, `train_max_length`, `threshold`.
Examples:
    >>> import hf_reasoning
    >>> metric = evaluate.load(hf_reasoning.OOD_ACCURACY)
    >>> metric.compute(predictions=["1 .", "0 ."], references=["1", "1"], task="parity",
    ...                format="plain", lengths=[3, 12], train_max_length=10)["accuracy"]
    0.5
"""

_CITATION = """\
@inproceedings{abbe2024far,
  title={How Far Can Transformers Reason? The Globality Barrier and Inductive Scratchpad},
  author={Abbe, Emmanuel and Bengio, Samy and Lotfi, Aryo and Sandon, Colin and Saremi, Omid},
  booktitle={Advances in Neural Information Processing Systems},
  year={2024}
}
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class OodAccuracy(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({"predictions": datasets.Value("string"), "references": datasets.Value("string")}),
            reference_urls=["https://arxiv.org/abs/2406.06467", "https://arxiv.org/abs/2310.16028"],
        )

    def _compute(self, predictions, references, task=None, format=None, groups=None, lengths=None, splits=None,
                 reference_completions=None, train_max_length=None, threshold=0.9, require_end=True):
        from hf_reasoning.evaluation import score

        return score(predictions, references, task=task, fmt=format, groups=groups, lengths=lengths, splits=splits,
                     reference_completions=reference_completions, train_max_length=train_max_length,
                     threshold=threshold, require_end=require_end)
