"""Inductive generation speed: cached decoder vs the naive reference, and plain ``generate``.

    python benchmarks/bench_generation.py                       # tiny preset, 12 and 30 digits
    python benchmarks/bench_generation.py --model abbe2024-10m --device cuda --batch 32

Workload: addition in the ``shift`` format (``abbe2024_shift-shift`` OOD rows, 12 and 30
digits). The model is a randomly initialised preset — decoding cost does not depend on the
weights — made to end each state where the reference does: a forward hook forces ``#`` once a
state reaches the reference state length (every shift state has the same length ``L``, and
positions restart at 0 for every segment, so the rule is "``#`` after position ``L-2`` or
``2L-2``"), and each row's budget is its reference completion length. So both decoders do the
work of a perfect model: ``s + 1`` states of ``L`` tokens, the full completions. Both must give
the same tokens (checked). The naive reference's cost per token grows with everything
generated, so at 30 digits it runs on the first ``--naive-batch`` rows only; the speed-up is
measured on those same rows (cached decoder timed again on them), and the cached tokens/s of
the full batch are reported too. Plain ``model.generate`` runs on the plain-format prompts of
the same lengths, for reference. Times are CPU seconds of this process (``time.process_time``)
on a CPU device, wall seconds on a GPU.

    nice -n 10 python benchmarks/bench_generation.py --threads 1 --batch 4 --naive-batch 4 1
"""

from __future__ import annotations

import argparse
import time

import torch

import hf_reasoning
from hf_reasoning.generation import _RowState, cached_inductive, generate_causal, naive_inductive, pick_tokens
from hf_reasoning.inductive import collate_layouts, duplicated_segments, segment_layout
from hf_reasoning.modeling import build_model
from hf_reasoning.tasks import get_task
from hf_reasoning.tokenization import build_tokenizer, marker_id


def force_state_ends(model, hash_id: int, end_id: int, state_len: int):
    def hook(module, args, kwargs, output):
        pos = kwargs["position_ids"][:, -1]
        forced = ((pos + 2) % state_len) == 0
        output.logits[:, -1, hash_id] = torch.where(forced, 1e4, -1e4).to(output.logits.dtype)
        output.logits[:, -1, end_id] = -1e4  # rows run to their budget (the reference length)
        return output

    return model.register_forward_hook(hook, with_kwargs=True)


def rows_of(digits: int, fmt: str, n: int):
    dd = hf_reasoning.build_dataset("addition", f"abbe2024_shift-{fmt}", scale="tiny", seed=0)
    rows = [r for r in dd["ood"] if r["length"] == digits][:n]
    if len(rows) < n:
        raise SystemExit(f"only {len(rows)} rows of {digits} digits")
    return rows


@torch.no_grad()
def sampled_naive(model, prompts, generated, *, hash_id, end_id, pad_token_id, samples: int):
    """Estimate the naive reference's time without running all of it: time its forward at
    ``samples`` evenly spaced steps (the naive input of step t is fixed by the first t tokens)
    and integrate (trapezoid) over all steps. Also checks that the naive argmax at those steps
    is the token the cached decoder chose. Returns (estimated seconds, all agree)."""
    steps = min(len(g) for g in generated)
    points = sorted({round(i * (steps - 1) / max(1, samples - 1)) for i in range(samples)})
    device = next(model.parameters()).device
    dtype = model.dtype
    times, agree = [], True
    for t in points:
        layouts = []
        for prompt, tokens in zip(prompts, generated):
            row = _RowState(list(prompt), True, 10**9, [])
            for token in tokens[:t]:
                row.push(token, hash_id, end_id)
            segments, _ = duplicated_segments([*row.finished, row.current])
            layouts.append(segment_layout(row.question, segments))
        batch = {k: v.to(device) for k, v in collate_layouts(layouts, pad_token_id, dtype=dtype, with_labels=False,
                                                              padding_side="left").items()}
        out, seconds = timed(lambda: model(**batch, use_cache=False, logits_to_keep=1).logits[:, -1])
        agree &= pick_tokens(out).tolist() == [g[t] for g in generated]
        times.append(seconds)
    total = sum((b - a) * (ta + tb) / 2 for a, b, ta, tb in zip(points, points[1:], times, times[1:])) + times[0]
    return total * steps / max(points[-1], 1) if len(points) > 1 else times[0] * steps, agree


def timed(fn):
    """``(fn(), seconds)``: CPU seconds of this process on a CPU (the machine is shared), wall on a GPU."""
    clock = time.perf_counter if torch.cuda.is_available() else time.process_time
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = clock()
    out = fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return out, clock() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny", help="model preset (random init)")
    parser.add_argument("--digits", type=int, nargs="+", default=[12, 30])
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--naive-batch", type=int, nargs="+", default=None,
                        help="rows the naive reference decodes, one value per --digits (default: --batch)")
    parser.add_argument("--max-tokens", type=int, default=None, help="cap on tokens generated per row")
    parser.add_argument("--estimate-naive-above", type=int, default=None,
                        help="above this many digits, estimate the naive time from --naive-samples timed steps "
                             "instead of running it all (CPU: 30 digits would take over an hour)")
    parser.add_argument("--naive-samples", type=int, default=12)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    tokenizer = build_tokenizer(get_task("addition").vocab.tokens)
    model, _ = build_model(args.model, tokenizer, attn_implementation="sdpa", dtype=getattr(torch, args.dtype))
    model.to(args.device).eval()
    hash_id, end_id = marker_id(tokenizer, "#"), marker_id(tokenizer, ".")
    print(f"model {args.model} ({sum(p.numel() for p in model.parameters()) / 1e6:.1f}M params), device {args.device}, "
          f"batch {args.batch}, threads {torch.get_num_threads()}")
    naive_batches = args.naive_batch or [args.batch]
    if len(naive_batches) == 1:
        naive_batches = naive_batches * len(args.digits)
    print(f"{'digits':>6} {'state':>5} {'tokens/row':>10} {'cached tok/s':>12} {'naive rows':>10} "
          f"{'cached tok/s':>12} {'naive tok/s':>11} {'speed-up':>8} {'same':>5} {'generate tok/s':>14}")
    print(f"{'':>6} {'':>5} {'':>10} {'(batch)':>12} {'':>10} {'(naive rows)':>12} {'':>11}")
    for digits, naive_batch in zip(args.digits, naive_batches):
        rows = rows_of(digits, "shift", args.batch)
        prompts = tokenizer([r["prompt"] for r in rows], add_special_tokens=False)["input_ids"]
        state_len = len(prompts[0]) + 1  # the prompt is the first state, '#' ends it
        completion_lens = [len(tokenizer(r["completion"], add_special_tokens=False)["input_ids"]) for r in rows]
        budgets = [min(n, args.max_tokens) if args.max_tokens else n for n in completion_lens]
        hook = force_state_ends(model, hash_id, end_id, state_len)
        kwargs = dict(shift=True, hash_id=hash_id, end_id=end_id, pad_token_id=tokenizer.pad_token_id)
        cached_inductive(model, [p[:] for p in prompts[:1]], **kwargs, max_new_tokens=8)  # warm-up
        cached, t_cached = timed(lambda: cached_inductive(model, prompts, **kwargs, max_new_tokens=budgets))
        assert all(len(c) == b for c, b in zip(cached, budgets)), "the cached decoder stopped early"
        k = min(naive_batch, args.batch)
        few_prompts, few_budgets = prompts[:k], budgets[:k]
        cached_few, t_cached_few = timed(lambda: cached_inductive(model, few_prompts, **kwargs, max_new_tokens=few_budgets))
        if args.estimate_naive_above is not None and digits > args.estimate_naive_above:
            t_naive, same = sampled_naive(model, few_prompts, cached_few, hash_id=hash_id, end_id=end_id,
                                          pad_token_id=tokenizer.pad_token_id, samples=args.naive_samples)
            note = f"naive time estimated from {args.naive_samples} timed steps"
        else:
            naive, t_naive = timed(lambda: naive_inductive(model, few_prompts, **kwargs, max_new_tokens=few_budgets))
            same, note = cached_few == naive == cached[:k], f"naive run in full on {k} row(s)"
        hook.remove()
        tokens, few_tokens = sum(len(c) for c in cached), sum(len(c) for c in cached_few)
        states = sum(c.count(hash_id) for c in cached)
        plain = rows_of(digits, "plain", args.batch)
        plain_budget = digits + 2
        gen, t_gen = timed(lambda: generate_causal(model, tokenizer, [r["prompt"] for r in plain],
                                                   max_new_tokens=plain_budget, min_new_tokens=plain_budget))
        gen_tokens = sum(len(g) for g in gen)
        print(f"{digits:>6} {state_len:>5} {tokens // len(rows):>10} {tokens / t_cached:>12.1f} {k:>10} "
              f"{few_tokens / t_cached_few:>12.1f} {few_tokens / t_naive:>11.1f} {t_naive / t_cached_few:>7.1f}x "
              f"{str(same):>5} {gen_tokens / t_gen:>14.1f}"
              f"   ({states / len(rows):.1f} states/row; cached {t_cached:.1f}s for {len(rows)} rows, "
              f"{t_cached_few:.1f}s for {k}; naive {t_naive:.1f}s; {note})", flush=True)


if __name__ == "__main__":
    main()
