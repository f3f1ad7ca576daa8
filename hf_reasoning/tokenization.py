"""Word-level tokenizers for the benchmark's texts, and token-aware splitting of examples.

Every text in the benchmark is tokens joined by single spaces (docs/formats.md), so a task's
vocabulary maps one-to-one onto a ``tokenizers`` ``WordLevel`` model with a whitespace
pre-tokenizer. The result is wrapped as a ``transformers.PreTrainedTokenizerFast`` so it is
saved beside a checkpoint and reloaded with ``AutoTokenizer.from_pretrained``.

Pretrained tokenizers (BPE, SentencePiece, …) must work too. They may merge or split the
scratchpad markers ``:``, ``#`` and ``.`` arbitrarily, so the markers are never searched for
among token ids: :func:`encode_pieces` tokenises the pieces of an example (prompt, each
state) separately, which makes every piece boundary a token boundary by construction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import PreTrainedTokenizerBase, PreTrainedTokenizerFast

from .errors import HFReasoningError

PAD, BOS, EOS, UNK = "<pad>", "<bos>", "<eos>", "<unk>"
SPECIAL_TOKENS = (PAD, BOS, EOS, UNK)


def build_tokenizer(tokens: Iterable[str], *, model_max_length: int = 4096) -> PreTrainedTokenizerFast:
    """A word-level tokenizer whose vocabulary is the special tokens then ``tokens``.

    ``tokens`` is kept in first-occurrence order (a task's vocabulary order), so the same
    vocabulary always gives the same ids. The end of a completion is the text token ``.``,
    not ``<eos>``: ``<eos>`` only exists so that libraries expecting one find one.
    """
    vocab: dict[str, int] = {}
    for token in (*SPECIAL_TOKENS, *tokens):
        if not token or any(ch.isspace() for ch in token):
            raise HFReasoningError(f"token {token!r} is empty or contains whitespace; allowed: non-empty tokens without spaces")
        vocab.setdefault(token, len(vocab))
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token=UNK))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        pad_token=PAD,
        bos_token=BOS,
        eos_token=EOS,
        unk_token=UNK,
        model_max_length=model_max_length,
        clean_up_tokenization_spaces=False,
    )


def build_tokenizer_from_texts(texts: Iterable[str], **kwargs) -> PreTrainedTokenizerFast:
    """A word-level tokenizer over every whitespace token of ``texts`` (sorted, so the ids do
    not depend on the order of the examples)."""
    seen: set[str] = set()
    for text in texts:
        seen.update(text.split())
    return build_tokenizer(sorted(seen), **kwargs)


def encode_pieces(tokenizer: PreTrainedTokenizerBase, pieces: Sequence[str], *, continuation: bool = False) -> list[list[int]]:
    """Token ids of each piece, tokenised separately (one batched call).

    Pieces are consecutive parts of one space-joined text; every piece but the first (every
    piece, if they all continue a text: ``continuation``) is encoded with its leading
    space, which is how a byte-level BPE sees it inside the full text (a word-level
    tokenizer ignores the space).
    """
    texts = [piece if i == 0 and not continuation else " " + piece for i, piece in enumerate(pieces)]
    if not texts:
        return []
    return tokenizer(texts, add_special_tokens=False)["input_ids"]


def completion_states(completion: str) -> tuple[str, list[str]]:
    """Split an inductive completion into its opening marker and its states.

    ``": s1 # s2 # s3 ."`` → ``(":", ["s1 #", "s2 #", "s3 ."])`` and the shift format's
    ``"# s2 # s3 ."`` → ``("#", ["s2 #", "s3 ."])``: each state keeps the marker that ends
    it, so the concatenation of the pieces is the completion again.
    """
    tokens = completion.split()
    if not tokens or tokens[0] not in (":", "#"):
        raise HFReasoningError(
            f"inductive completion {completion[:40]!r} must start with ':' (inductive) or '#' (shift)"
        )
    if tokens[-1] != "." or "." in tokens[:-1]:
        raise HFReasoningError(f"inductive completion {completion[-40:]!r} must end with its only '.'")
    states: list[str] = []
    current: list[str] = []
    for token in tokens[1:]:
        current.append(token)
        if token in ("#", "."):
            states.append(" ".join(current))
            current = []
    if not states:
        raise HFReasoningError(f"inductive completion {completion[:40]!r} has no state")
    return tokens[0], states


def marker_id(tokenizer: PreTrainedTokenizerBase, marker: str) -> int | None:
    """The single id of a marker written after a space, or None if the tokenizer splits it."""
    ids = encode_pieces(tokenizer, ["x", marker])[1]
    return ids[0] if len(ids) == 1 else None
