"""Cached inductive decoding against the naive reference, and plain decoding with generate.

Random models rarely write ``#``, so the state switch is forced: a forward hook adds a large
bonus to the logit of ``#`` (and, more rarely, of ``.``) whenever the last input token and
its position id satisfy a fixed arithmetic rule. The rule only depends on the token and its
position, so it is the same function of the context for both decoders, and the rest of each
state is the model's own (context-dependent) choice. Models run in float64 so that argmax
ties cannot differ between two correct computations.
"""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForCausalLM, GPT2Config, LlamaConfig

import hf_reasoning
from hf_reasoning.generation import cached_inductive, complete, generate_causal, naive_inductive
from hf_reasoning.inductive import greedy_causal, greedy_inductive
from hf_reasoning.tasks import get_task
from hf_reasoning.tokenization import build_tokenizer, marker_id


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny models on a shared CPU: one intra-op thread is ~10x faster than contended ones."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def data():
    parity = hf_reasoning.build_dataset("parity", "laptop-inductive", scale="tiny", seed=0)
    shift = hf_reasoning.build_dataset("addition", "abbe2024_shift-shift", scale="tiny", seed=0)
    plain = hf_reasoning.build_dataset("addition", "abbe2024_shift-plain", scale="tiny", seed=0)
    narrow = hf_reasoning.build_dataset("addition", "cpu_shift-shift", scale="tiny", seed=0)
    return {"parity": parity, "shift": shift, "plain": plain, "shift_narrow": narrow}


@pytest.fixture(scope="module")
def tokenizers():
    return {name: build_tokenizer(get_task(name).vocab.tokens) for name in ("parity", "addition")}


def tiny_model(family: str, tokenizer, seed: int = 0):
    torch.manual_seed(seed)
    if family == "gpt2":
        config = GPT2Config(n_layer=2, n_head=2, n_embd=32, n_inner=64, n_positions=512, vocab_size=len(tokenizer),
                            resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, pad_token_id=tokenizer.pad_token_id,
                            bos_token_id=None, eos_token_id=None)
        model = AutoModelForCausalLM.from_config(config, attn_implementation="eager")
    else:
        config = LlamaConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                             num_key_value_heads=1, max_position_embeddings=512, vocab_size=len(tokenizer),
                             pad_token_id=tokenizer.pad_token_id, tie_word_embeddings=False)
        model = AutoModelForCausalLM.from_config(config, attn_implementation="sdpa")
    # larger weights than the default init, so the outputs depend strongly on the context
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() >= 2:
                p.normal_(0.0, 0.3)
    return model.double().eval()


def force_markers(model, hash_id: int, end_id: int, every: int = 6, end_every: int = 97):
    """Make ``#`` (and rarely ``.``) the argmax after some (token, position) pairs."""

    def hook(module, args, kwargs, output):
        ids, pos = kwargs["input_ids"][:, -1], kwargs["position_ids"][:, -1]
        key = ids * 7 + pos * 3
        force = ((key % every) == 0) | ((pos % 9) == 8)
        output.logits[:, -1, hash_id] += 1e3 * force
        output.logits[:, -1, end_id] += 2e3 * ((key % end_every) == 1)
        return output

    return model.register_forward_hook(hook, with_kwargs=True)


def ragged_prompts(rows, tokenizer, n, cut=0):
    """Token ids of ``n`` prompts; every other one shortened by ``cut`` tokens (ragged batch)."""
    ids = tokenizer([r["prompt"] for r in rows[:n]], add_special_tokens=False)["input_ids"]
    return [p[cut:] if (i % 2 and cut) else p for i, p in enumerate(ids)]


CASES = [
    # (family, task, dataset key, shift, budget)
    ("gpt2", "parity", "parity", False, 40),
    ("llama", "parity", "parity", False, 40),
    ("gpt2", "addition", "shift", True, 40),
    ("llama", "addition", "shift", True, 40),
]


@pytest.mark.parametrize("family,task,key,shift,budget", CASES)
def test_cached_matches_naive(data, tokenizers, family, task, key, shift, budget):
    tokenizer = tokenizers[task]
    hash_id, end_id = marker_id(tokenizer, "#"), marker_id(tokenizer, ".")
    model = tiny_model(family, tokenizer)
    force_markers(model, hash_id, end_id)
    if shift:  # ragged: one preset's states all have one width, so mix two presets' widths (W = 30 and 12)
        rows = list(data[key]["train"].select(range(3))) + list(data["shift_narrow"]["ood"].select(range(2)))
        prompts = ragged_prompts(rows, tokenizer, len(rows))
    else:
        prompts = ragged_prompts(list(data[key]["test"]), tokenizer, 5, cut=7)
    assert len({len(p) for p in prompts}) > 1
    budgets = [budget, budget - 9, budget, budget - 15, budget + 5]
    kwargs = dict(shift=shift, hash_id=hash_id, end_id=end_id, max_new_tokens=budgets,
                  pad_token_id=tokenizer.pad_token_id)
    cached = cached_inductive(model, prompts, **kwargs)
    naive = naive_inductive(model, prompts, **kwargs)
    assert cached == naive
    # the batch exercised what matters: state switches in every row, states of several
    # lengths, rows ending at different times, budgets respected
    state_lengths = set()
    for ids, b in zip(cached, budgets):
        assert 0 < len(ids) <= b
        assert hash_id in ids
        ends = [i for i, t in enumerate(ids) if t == hash_id]
        state_lengths |= {b - a for a, b in zip(ends, ends[1:])}
    assert sum(ids.count(hash_id) for ids in cached) >= 10
    assert len(state_lengths) >= 3
    assert len({len(ids) for ids in cached}) > 1
    # each row alone gives the same tokens as in the batch (padding does not leak)
    for p, b, ids in zip(prompts[1:2], budgets[1:2], cached[1:2]):
        alone = cached_inductive(model, [p], **{**kwargs, "max_new_tokens": b})
        assert alone == [ids]


def test_agrees_with_the_text_level_reference(data, tokenizers):
    """The cached decoder matches hf_reasoning.inductive.greedy_inductive (another implementation)."""
    tokenizer = tokenizers["addition"]
    model = tiny_model("llama", tokenizer, seed=1)
    force_markers(model, marker_id(tokenizer, "#"), marker_id(tokenizer, "."))
    prompts = [r["prompt"] for r in data["shift"]["train"].select(range(4))]
    ours = complete(model, tokenizer, prompts, "shift", max_new_tokens=50, batch_size=3)
    theirs = greedy_inductive(model, tokenizer, prompts, shift=True, max_new_tokens=50, window=False)
    assert ours == theirs
    assert any("#" in text.split()[1:] for text in ours)


def test_mask_matters(data, tokenizers):
    """Sensitivity: with full causal attention (no state dropping) the same model and prompts
    decode differently, so the equality above is not a property of any decoder."""
    tokenizer = tokenizers["parity"]
    model = tiny_model("gpt2", tokenizer, seed=2)
    hash_id, end_id = marker_id(tokenizer, "#"), marker_id(tokenizer, ".")
    force_markers(model, hash_id, end_id)
    prompts = [r["prompt"] for r in data["parity"]["test"].select(range(4))]
    inductive = complete(model, tokenizer, prompts, "inductive", max_new_tokens=40)
    causal = greedy_causal(model, tokenizer, prompts, max_new_tokens=40)
    assert inductive != causal


def test_zero_budget_and_immediate_end(tokenizers):
    tokenizer = tokenizers["parity"]
    model = tiny_model("llama", tokenizer)
    hash_id, end_id = marker_id(tokenizer, "#"), marker_id(tokenizer, ".")
    prompts = tokenizer(["0 1 _ 1 =", "1 ="], add_special_tokens=False)["input_ids"]
    kwargs = dict(shift=False, hash_id=hash_id, end_id=end_id, pad_token_id=tokenizer.pad_token_id)
    assert cached_inductive(model, prompts, max_new_tokens=[0, 0], **kwargs) == [[], []]
    assert cached_inductive(model, prompts, max_new_tokens=[0, 3], **kwargs) == \
        [[], naive_inductive(model, prompts[1:], max_new_tokens=3, **kwargs)[0]]

    def end_now(module, args, kwargs, output):  # '.' as the second token: the row stops there
        if kwargs["position_ids"].shape[1] == 1:
            output.logits[:, -1, end_id] += 1e4
        return output

    model.register_forward_hook(end_now, with_kwargs=True)
    out = cached_inductive(model, prompts, max_new_tokens=30, **kwargs)
    assert [len(o) for o in out] == [2, 2] and all(o[-1] == end_id for o in out)


def test_generate_causal_matches_full_recompute(data, tokenizers):
    """Plain format: model.generate (KV cache, left padding) = greedy full recompute."""
    tokenizer = tokenizers["addition"]
    rows = list(data["plain"]["train"].select(range(3))) + list(data["plain"]["ood"].select(range(2)))
    prompts = [r["prompt"] for r in rows]
    for family in ("gpt2", "llama"):
        model = tiny_model(family, tokenizer, seed=3)
        ours = complete(model, tokenizer, prompts, "plain", max_new_tokens=[8, 12, 8, 12, 8])
        theirs = greedy_causal(model, tokenizer, prompts, max_new_tokens=[8, 12, 8, 12, 8])
        assert ours == theirs
        ids = generate_causal(model, tokenizer, prompts, max_new_tokens=[8, 12, 8, 12, 8])
        assert [len(i) for i in ids] == [len(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in ours]


def test_sampling_matches_naive_with_the_same_generator(data, tokenizers):
    """Sampling (formats with random fillers): same seed, same draws, same tokens."""
    tokenizer = tokenizers["addition"]
    model = tiny_model("llama", tokenizer, seed=4)
    hash_id, end_id = marker_id(tokenizer, "#"), marker_id(tokenizer, ".")
    force_markers(model, hash_id, end_id)
    prompts = ragged_prompts(list(data["shift"]["train"].select(range(4))), tokenizer, 4)
    kwargs = dict(shift=True, hash_id=hash_id, end_id=end_id, max_new_tokens=30,
                  pad_token_id=tokenizer.pad_token_id, do_sample=True, temperature=1.0)
    runs = [decoder(model, prompts, generator=torch.Generator().manual_seed(seed), **kwargs)
            for decoder, seed in ((cached_inductive, 7), (naive_inductive, 7), (cached_inductive, 8))]
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]  # the draws matter
    assert any(hash_id in r for r in runs[0])
