"""Cost of an inductive training step (duplication + 4D float mask) vs a plain causal step.

Both steps see the same batch shape (batch × tokens) and the same token ids: the inductive
one with the collator's position ids and additive mask, the plain one with no mask (the
ordinary causal path, ``is_causal`` in SDPA). A step is forward + backward + AdamW update;
the collator's own time (tokenising, duplicating, building the mask) is reported apart and
added to the inductive step for the ratio.

    python benchmarks/bench_inductive_step.py                       # tiny and abbe2024-10m
    python benchmarks/bench_inductive_step.py --presets tiny --steps 5 --batch 16

Every (preset, step kind) runs in its own process so peak memory is measured cleanly: on
CUDA ``torch.cuda.max_memory_allocated``, on CPU the growth of the peak resident set
(``ru_maxrss``) over the process's state before the first step.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import torch


def make_batch(preset_config: str, batch: int, seed: int):
    """A batch of parity examples of the laptop preset (1..10 bits in 32 slots) or the paper's."""
    from hf_reasoning import build_dataset
    from hf_reasoning.inductive import InductiveCollator
    from hf_reasoning.tasks import get_task
    from hf_reasoning.tokenization import build_tokenizer

    rows = build_dataset("parity", preset_config, scale="tiny", seed=seed)["train"]
    rows = [rows[i] for i in range(batch)]
    tokenizer = build_tokenizer(get_task("parity").vocab.tokens)
    return tokenizer, InductiveCollator(tokenizer), rows


def run_one(args) -> dict:
    from hf_reasoning.modeling import build_model

    torch.manual_seed(0)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    tokenizer, collator, rows = make_batch(args.data_config, args.batch, 0)
    collator(rows)  # warm-up (first tokenizer call)
    started = time.perf_counter()
    for _ in range(args.steps):
        inductive = collator(rows)
    collate_seconds = (time.perf_counter() - started) / args.steps
    model, _ = build_model(args.preset, tokenizer, attn_implementation=args.attn)
    model.to(device).train()
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    if args.kind == "inductive":
        batch = {k: v.to(device) for k, v in inductive.items()}
    else:  # same tokens and labels, ordinary causal attention
        batch = {"input_ids": inductive["input_ids"].to(device), "labels": inductive["labels"].to(device)}
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def step():
        with torch.autocast(device.type, dtype=dtype, enabled=device.type == "cuda"):
            loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    for _ in range(args.warmup):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    for _ in range(args.steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = (time.perf_counter() - started) / args.steps
    if device.type == "cuda":
        peak_mib = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024  # KiB on Linux
    tokens = batch["input_ids"].numel()
    return {"preset": args.preset, "kind": args.kind, "device": device.type, "batch": list(batch["input_ids"].shape),
            "tokens": tokens, "step_s": seconds, "collate_s": collate_seconds if args.kind == "inductive" else 0.0,
            "peak_mib": peak_mib, "threads": torch.get_num_threads()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default="tiny,abbe2024-10m")
    parser.add_argument("--data_config", default="laptop-inductive", help="parity config of the batch")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--attn", default="sdpa")
    parser.add_argument("--kind", choices=("inductive", "plain"), help=argparse.SUPPRESS)
    parser.add_argument("--preset", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.kind:  # child process: one measurement, printed as JSON
        print(json.dumps(run_one(args)))
        return
    print(f"{'preset':<14} {'kind':<10} {'batch':>10} {'tokens/s':>10} {'step ms':>9} {'collate ms':>10} {'peak MiB':>9}")
    for preset in args.presets.split(","):
        results = {}
        for kind in ("plain", "inductive"):
            child = [sys.executable, __file__, "--kind", kind, "--preset", preset, "--data_config", args.data_config,
                     "--batch", str(args.batch), "--steps", str(args.steps), "--warmup", str(args.warmup), "--attn", args.attn]
            out = subprocess.run(child, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
            r = results[kind] = json.loads(out)
            total = r["step_s"] + r["collate_s"]
            print(f"{preset:<14} {kind:<10} {'x'.join(map(str, r['batch'])):>10} {r['tokens'] / total:>10.0f} "
                  f"{r['step_s'] * 1e3:>9.1f} {r['collate_s'] * 1e3:>10.1f} {r['peak_mib']:>9.1f}")
        ratio = (results["inductive"]["step_s"] + results["inductive"]["collate_s"]) / results["plain"]["step_s"]
        print(f"{preset:<14} inductive / plain step time (collation included): {ratio:.2f}x "
              f"on {results['plain']['device']} ({results['plain']['threads']} threads)")


if __name__ == "__main__":
    main()
