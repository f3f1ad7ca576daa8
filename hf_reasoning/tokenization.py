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


# -- joining a row's prompt and completion -------------------------------------------------------


def completion_text(completion: str) -> str:
    """The completion as it follows its prompt in a training text: one space, then its tokens.

    Rows written by generator ≥ 0.6.0 already start with that space (``" 1 0 ."``), rows of
    generator ≤ 0.5.0 (published before) do not (``"1 0 ."``); both give the same text, so every
    consumer tokenizes old and new rows to the same ids. Only the leading whitespace changes."""
    return " " + completion.lstrip()


def training_text(prompt: str, completion: str) -> str:
    """The text a causal LM is trained on: ``prompt`` then :func:`completion_text`. On rows of
    generator ≥ 0.6.0 this is ``prompt + completion``, TRL ``SFTTrainer``'s own join. (Prompts
    end in their separator, never in whitespace: docs/formats.md.)"""
    return prompt + completion_text(completion)


def encode_prompts_and_completions(tokenizer: PreTrainedTokenizerBase, prompts: Sequence[str],
                                   completions: Sequence[str]) -> tuple[list[list[int]], list[list[int]]]:
    """``(prompt ids, completion ids)`` per row, without special tokens, in one tokenizer call:
    the prompt, and :func:`completion_text` (with its space) tokenized on its own, so that the
    completion starts on a token boundary whatever the tokenizer (the project's trainer feeds
    ``prompt ids + completion ids``, with loss on the completion ids)."""
    prompts = list(prompts)
    if not prompts:
        return [], []
    encoded = tokenizer([*prompts, *map(completion_text, completions)], add_special_tokens=False)["input_ids"]
    return encoded[: len(prompts)], encoded[len(prompts):]


def completion_lengths(tokenizer: PreTrainedTokenizerBase, completions: Sequence[str]) -> list[int]:
    """The number of tokens of each completion as it is trained (:func:`completion_text`): what
    generation budgets are measured in."""
    if not completions:
        return []
    return [len(ids) for ids in tokenizer(list(map(completion_text, completions)), add_special_tokens=False)["input_ids"]]


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


# -- pre-flight: can a tokenizer write every symbol of a config? ---------------------------------

PREFLIGHT_ROWS = 1000  # rows per split whose words are checked when the dataset names no task


def config_symbols(task=None, splits=()) -> list[str]:
    """The symbols a config's texts are made of: the task's vocabulary (every marker ``:``,
    ``#``, ``.``, ``_``, ``$``, … is in it), or, for a dataset that names no task, the words of
    the first :data:`PREFLIGHT_ROWS` rows of each split."""
    if task is not None:
        return list(task.vocab.tokens)
    words: dict[str, None] = {}
    for split in splits:
        rows = split.select(range(min(PREFLIGHT_ROWS, len(split)))) if hasattr(split, "select") else split
        for row in rows:
            for text in (row["prompt"], row["completion"]):
                words.update(dict.fromkeys(text.split()))
    return list(words)


def symbols_lost(tokenizer: PreTrainedTokenizerBase, symbols: Sequence[str]) -> dict[str, str]:
    """The symbols that do not survive ``decode(encode(symbol))``, with what came back.

    Each symbol is encoded alone and after a space (how it appears inside a text: byte-level
    BPE encodes the two differently). It survives if no id is the unknown token and the
    decoded text, spaces removed, is the symbol: decoders may change the spacing (WordPiece
    writes ``1 , 0`` as ``1, 0``; ``-1.25`` comes back as ``- 1. 25``), which the scorer
    undoes (``hf_reasoning.evaluation.canonical_tokens``). Case is ignored when every symbol
    is lowercase (uncased tokenizers lowercase, and so does the scorer then).
    """
    symbols = list(dict.fromkeys(symbols))
    if not symbols:
        return {}
    lowercase = all(s == s.lower() for s in symbols)
    texts = [*symbols, *(" " + s for s in symbols)]
    encoded = tokenizer(texts, add_special_tokens=False)["input_ids"]
    unk = tokenizer.unk_token_id
    lost: dict[str, str] = {}
    for i, ids in enumerate(encoded):
        symbol = symbols[i % len(symbols)]
        decoded = tokenizer.decode(ids, skip_special_tokens=False)
        back = "".join(decoded.split())
        if lowercase:
            back = back.lower()
        if (unk is not None and unk in ids) or back != symbol:
            lost.setdefault(symbol, decoded.strip())
    return lost


def check_tokenizer(tokenizer: PreTrainedTokenizerBase, symbols: Sequence[str], what: str = "the config") -> None:
    """Raise a one-line :class:`HFReasoningError` naming the symbols of ``what`` that
    ``tokenizer`` cannot write (:func:`symbols_lost`); run before training or evaluating, so
    that a missing ``:``, ``#`` or ``.`` (or a ``.`` that would become an unknown-token
    ``eos_token_id``) never reaches a model or a saved ``generation_config``."""
    lost = symbols_lost(tokenizer, symbols)
    if not lost:
        return
    name = getattr(tokenizer, "name_or_path", "") or type(tokenizer).__name__
    shown = ", ".join(f"{s!r} (decodes as {back!r})" for s, back in list(lost.items())[:8])
    more = f" and {len(lost) - 8} more" if len(lost) > 8 else ""
    raise HFReasoningError(
        f"tokenizer {name!r} cannot write {len(lost)} symbol(s) of {what}: {shown}{more}; allowed: a tokenizer that "
        "encodes and decodes every marker and vocabulary symbol (add the missing ones with tokenizer.add_tokens "
        "and model.resize_token_embeddings)")
