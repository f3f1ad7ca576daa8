"""Word-level tokenizers, and scratchpad markers found by token with any tokenizer."""

from __future__ import annotations

import pytest
import torch
from tokenizers import Tokenizer, decoders, models, trainers
from transformers import AutoTokenizer, PreTrainedTokenizerFast

from hf_reasoning.errors import HFReasoningError
from hf_reasoning.inductive import IGNORE_INDEX, InductiveCollator, greedy_inductive
from hf_reasoning.modeling import build_model
from hf_reasoning.tasks import get_task
from hf_reasoning.tokenization import (
    SPECIAL_TOKENS,
    build_tokenizer,
    build_tokenizer_from_texts,
    completion_states,
    encode_pieces,
    marker_id,
)


@pytest.fixture(autouse=True)
def _offline(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))


PROMPT = "_ 0 0 _ 1 _ 0 1 1 _ 1 1 ="
COMPLETION = ": [ 0 1 ] 0 , 0 # [ 0 2 ] 0 , 0 # [ 0 4 ] 1 , 1 # [ 1 2 ] _ , 1 ."


def test_word_level_tokenizer_round_trip(tmp_path):
    tokenizer = build_tokenizer(get_task("parity").vocab.tokens)
    text = f"{PROMPT} {COMPLETION}"
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert tokenizer.convert_ids_to_tokens(ids) == text.split()  # one token per word
    assert tokenizer.decode(ids) == text
    assert tokenizer.convert_ids_to_tokens(list(range(4))) == list(SPECIAL_TOKENS)
    assert tokenizer.pad_token == "<pad>" and tokenizer.unk_token_id == 3
    assert tokenizer("0 v999 1", add_special_tokens=False)["input_ids"][1] == tokenizer.unk_token_id
    tokenizer.save_pretrained(tmp_path)
    reloaded = AutoTokenizer.from_pretrained(tmp_path)
    assert isinstance(reloaded, PreTrainedTokenizerFast)
    assert reloaded(text, add_special_tokens=False)["input_ids"] == ids
    assert reloaded.pad_token_id == tokenizer.pad_token_id


def test_vocabulary_from_texts_is_order_independent():
    texts = ["b a =", "c : a # b ."]
    assert build_tokenizer_from_texts(texts).get_vocab() == build_tokenizer_from_texts(texts[::-1]).get_vocab()
    assert len(build_tokenizer_from_texts(texts)) == len(SPECIAL_TOKENS) + 7


def test_tokens_with_spaces_are_rejected():
    with pytest.raises(HFReasoningError, match="'a b'"):
        build_tokenizer(["a", "a b"])


def test_completion_states():
    assert completion_states(": a b # c # d .") == (":", ["a b #", "c #", "d ."])
    assert completion_states("# 5 m $ 4 # 1 2 $ a .") == ("#", ["5 m $ 4 #", "1 2 $ a ."])
    for bad in ("a # b .", ": a # b", ": a . b ."):
        with pytest.raises(HFReasoningError):
            completion_states(bad)


def merging_tokenizer() -> PreTrainedTokenizerFast:
    """A character BPE *without* whitespace pre-tokenisation, so merges cross the spaces
    and swallow markers (like '# [' or ', 1 #'): searching ids for '#' would fail."""
    texts = [f"{PROMPT} {COMPLETION}"] * 50 + ["1 0 1 = : [ 0 0 ] 1 , 1 # [ 0 2 ] 1 , 0 # [ 0 3 ] _ , 0 ."] * 50
    backend = Tokenizer(models.BPE(unk_token="<unk>"))
    backend.decoder = decoders.BPEDecoder()
    trainer = trainers.BpeTrainer(vocab_size=80, special_tokens=["<pad>", "<unk>"], show_progress=False)
    backend.train_from_iterator(texts, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=backend, pad_token="<pad>", unk_token="<unk>")


def test_markers_are_found_by_token_with_a_merging_tokenizer():
    tokenizer = merging_tokenizer()
    whole = tokenizer.convert_ids_to_tokens(tokenizer(f"{PROMPT} {COMPLETION}")["input_ids"])
    assert any("#" in t and t.strip() != "#" for t in whole)  # the marker is merged away
    collator = InductiveCollator(tokenizer)
    (layout,) = collator.layouts([PROMPT], [COMPLETION])
    _, states = completion_states(COMPLETION)
    pieces = encode_pieces(tokenizer, [PROMPT, ":", *states])
    question = pieces[0] + pieces[1]
    assert layout.input_ids[: len(question)] == question
    # segment k is: copy of state k-1 (no loss), then state k (loss)
    cursor = len(question)
    previous: list[int] = []
    for state in pieces[2:]:
        assert layout.input_ids[cursor : cursor + len(previous) + len(state)] == previous + state
        assert layout.targets[cursor : cursor + len(previous) + len(state)] == [False] * len(previous) + [True] * len(state)
        assert layout.position_ids[cursor] == len(question)
        cursor += len(previous) + len(state)
        previous = state
    assert cursor == len(layout)
    batch = collator([{"prompt": PROMPT, "completion": COMPLETION}])
    trained = batch["labels"][0][batch["labels"][0] != IGNORE_INDEX].tolist()
    assert "".join(tokenizer.decode(trained).split()) == "".join(COMPLETION.split())


def test_greedy_decoding_finds_markers_by_text_when_split():
    tokenizer = merging_tokenizer()
    if marker_id(tokenizer, "#") is not None:
        pytest.skip("this BPE happens to keep '#' whole")
    torch.manual_seed(0)
    model, _ = build_model("tiny", tokenizer)
    model.eval()
    naive = greedy_inductive(model, tokenizer, [PROMPT], shift=False, max_new_tokens=12, window=False)
    assert naive == greedy_inductive(model, tokenizer, [PROMPT], shift=False, max_new_tokens=12, window=True)
