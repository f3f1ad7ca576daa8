"""Test helpers: the four tokenizer kinds people fine-tune with, trained here with ``tokenizers``
(the Hub is not reachable), and a tiny *pretrained* causal LM folder built around one of them.

Each kind has its own normaliser, pre-tokenizer and decoder (WordPiece: uncased with the BERT
clean-up; BPE with an end-of-word suffix; byte-level BPE; Unigram with Metaspace). ``without``
removes symbols from the training text, so the trained tokenizer lacks them (an unknown token
for WordPiece, BPE and Unigram; byte-level BPE trained without the full byte alphabet drops
the byte silently).
"""

from __future__ import annotations

from pathlib import Path

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

from hf_reasoning.tokenization import training_text

SPECIALS = ["[UNK]", "[PAD]", "[BOS]", "[EOS]"]
ENGLISH = [
    "The quick brown fox jumps over the lazy dog.",
    "Transformers can learn to add numbers, but do they generalise to longer ones?",
    "An inductive scratchpad writes one state at a time; each state depends on the previous one only.",
    "Hello, world! This is a small corpus of English sentences, for the tokenizer's sake.",
    "abcdefghijklmnopqrstuvwxyz 0123456789",
] * 20


def _wordpiece(corpus, byte_alphabet):
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece(cleanup=True)
    tok.train_from_iterator(corpus, trainers.WordPieceTrainer(vocab_size=500, special_tokens=SPECIALS))
    return tok


def _bpe(corpus, byte_alphabet):
    tok = Tokenizer(models.BPE(unk_token="[UNK]", end_of_word_suffix="</w>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.decoder = decoders.BPEDecoder(suffix="</w>")
    tok.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=500, special_tokens=SPECIALS, end_of_word_suffix="</w>"))
    return tok


def _byte_level_bpe(corpus, byte_alphabet):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    alphabet = pre_tokenizers.ByteLevel.alphabet() if byte_alphabet else []
    tok.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=500, special_tokens=SPECIALS, initial_alphabet=alphabet))
    return tok


def _unigram(corpus, byte_alphabet):
    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    tok.train_from_iterator(corpus, trainers.UnigramTrainer(vocab_size=500, special_tokens=SPECIALS, unk_token="[UNK]"))
    return tok


KINDS = {"wordpiece": _wordpiece, "bpe": _bpe, "byte_level_bpe": _byte_level_bpe, "unigram": _unigram}


def corpus_of(rows: list[dict], without: str = "") -> list[str]:
    """The rows' texts plus English, with every character of ``without`` removed."""
    texts = [training_text(r["prompt"], r["completion"]) for r in rows] + ENGLISH
    return [t.translate({ord(c): None for c in without}) for t in texts]


def trained_tokenizer(kind: str, rows: list[dict], without: str = "") -> PreTrainedTokenizerFast:
    """A ``PreTrainedTokenizerFast`` of ``kind`` trained on ``rows`` (+ English) minus ``without``."""
    backend = KINDS[kind](corpus_of(rows, without), byte_alphabet=not without)
    return PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="[UNK]", pad_token="[PAD]",
                                   bos_token="[BOS]", eos_token="[EOS]",
                                   clean_up_tokenization_spaces=kind == "wordpiece")


def pretrained_folder(folder: Path, tokenizer, seed: int = 0) -> Path:
    """A tiny randomly initialised Llama (the ``tiny`` preset sized to ``tokenizer``) saved with
    ``tokenizer`` as a local pretrained model folder (``config.json``, ``model.safetensors``, tokenizer files)."""
    import torch
    from transformers import AutoModelForCausalLM

    from hf_reasoning.modeling import preset_config

    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(preset_config("tiny", tokenizer))
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return folder
