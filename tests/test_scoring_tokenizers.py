"""Tokenizer-proof scoring (issue 13): a decoded reference scores like the reference itself.

Each tokenizer kind people fine-tune with is trained here with ``tokenizers`` (the Hub is not
reachable) on built text of parity, addition and cycles plus some English (``tests/tokenizer_kinds.py``: each
kind with its own normaliser, pre-tokenizer and decoder), and wrapped as a ``PreTrainedTokenizerFast``. The
references of several configs go through ``decode(encode(text), skip_special_tokens=True)``,
and the decoded text must score 100% answer accuracy and 100% exact match. The WordPiece one
is uncased with the BERT clean-up, which turns ``1 , 0 _ , 1 .`` into ``1, 0 _, 1.`` (the
decoded text is checked to differ from the reference, so the test exercises that path).
"""

from __future__ import annotations

import pytest

from hf_reasoning import build_dataset
from hf_reasoning.evaluation import score
from tokenizer_kinds import KINDS, trained_tokenizer

CONFIGS = [("parity", "laptop16-plain"), ("parity", "laptop16-scratchpad"), ("parity", "laptop16-inductive"),
           ("addition", "cpu_space-inductive"), ("addition", "cpu_shift-shift"), ("addition", "cpu_hints-index_hints"),
           ("addition", "abbe2024-scratchpad"), ("cycles", "n3-scratchpad"), ("cycles", "n3-inductive")]


@pytest.fixture(scope="module")
def rows() -> dict[tuple[str, str], list[dict]]:
    out = {}
    for task, config in CONFIGS:
        ds = build_dataset(task, config, scale="tiny")
        # training rows and the longest OOD rows: every token kind and the longest numbers
        last = ds["ood"] if "ood" in ds else ds["test"]
        out[task, config] = list(ds["train"].select(range(24))) + list(last.select(range(len(last) - 8, len(last))))
    return out


@pytest.mark.parametrize("kind", KINDS)
def test_decoded_references_score_100_percent(kind, rows):
    tokenizer = trained_tokenizer(kind, [r for part in rows.values() for r in part])
    changed = 0
    for (task, config), part in rows.items():
        fmt = config.rpartition("-")[2]
        completions = [r["completion"] for r in part]
        decoded = [tokenizer.decode(tokenizer(c, add_special_tokens=False).input_ids, skip_special_tokens=True)
                   for c in completions]
        assert all("[UNK]" not in d for d in decoded), f"{kind} lost a symbol of {task} {config}"
        changed += sum(d != c for d, c in zip(decoded, completions))
        r = score(decoded, [x["answer"] for x in part], task=task, fmt=fmt, reference_completions=completions,
                  lengths=[x["length"] for x in part])
        assert r["answer_accuracy"]["accuracy"] == 1.0, (kind, task, config, decoded[0])
        assert r["exact_match"]["accuracy"] == 1.0, (kind, task, config, decoded[0])
        # the decoded texts serve as references too
        r = score(completions, [x["answer"] for x in part], task=task, fmt=fmt, reference_completions=decoded)
        assert r["exact_match"]["accuracy"] == 1.0, (kind, task, config)
    if kind == "wordpiece":  # the clean-up really changed the spacing: the test exercises it
        assert changed > 0


def test_wordpiece_cleanup_and_uppercase_by_hand():
    """The exact texts of the issue, without a trained tokenizer."""
    assert score(["1, 0 _, 1."], ["1"], task="parity", fmt="inductive", reference_completions=["1 , 0 _ , 1 ."],
                 )["answer_accuracy"]["accuracy"] == 0.0  # not a valid inductive completion: still wrong
    reference = ": [ 0 1 ] 1 , 1 # [ 0 3 ] 0 , 1 # [ 0 4 ] _ , 1 ."
    decoded = ": [ 0 1 ] 1, 1 # [ 0 3 ] 0, 1 # [ 0 4 ] _, 1."
    r = score([decoded], ["1"], task="parity", fmt="inductive", reference_completions=[reference])
    assert r["answer_accuracy"]["accuracy"] == 1.0 and r["exact_match"]["accuracy"] == 1.0
    # an uncased decoder's lowercase, and an upper-cased copy, read the same (the vocabularies are lowercase)
    hinted = "h3 0 h4 2 h5 5 ."
    r = score([hinted.upper()], ["025"], task="addition", fmt="index_hints", reference_completions=[hinted])
    assert r["answer_accuracy"]["accuracy"] == 1.0 and r["exact_match"]["accuracy"] == 1.0
    # spacing inside a number is not something decoders do: "2 5" is two tokens, not "25"
    r = score(["h3 0 h4 25 ."], ["025"], task="addition", fmt="index_hints", reference_completions=[hinted])
    assert r["answer_accuracy"]["accuracy"] == 0.0 and r["exact_match"]["accuracy"] == 0.0


def test_compound_tokens_are_joined_back():
    """Boolean targets such as ``-1.25`` are single vocabulary tokens that WordPiece decodes as
    ``- 1. 25``; they are joined back before the answer is read."""
    from hf_reasoning.evaluation import answer_of, canonical_tokens

    assert canonical_tokens("- 1. 25.", "boolean") == ["-1.25", "."]
    assert answer_of("- 1. 25.", "boolean", "plain") == "-1.25"
    assert answer_of("-1.25 .", "boolean", "plain") == "-1.25"
