"""Cost of an inductive training step (duplication + 4D float mask) vs a plain causal step.

Every step kind sees the same batch shape (batch × tokens) and the same token ids: the
inductive ones with the collator's position ids and additive mask, the plain one with no
mask (the ordinary causal path, ``is_causal`` in SDPA). A step is forward + backward + AdamW
update; an inductive step also collates its batch from the text rows (tokenising,
duplicating, building the mask), since that runs on the training loop's critical path.

    python benchmarks/bench_inductive_step.py                       # tiny and abbe2024-10m
    python benchmarks/bench_inductive_step.py --presets tiny --steps 5 --batch 16

Three kinds run in ONE process, interleaved step by step on one model (the machine is
shared and noisy, so kinds timed minutes apart are not comparable): ``plain``,
``inductive`` (the package's vectorised collator) and ``inductive-old`` (the per-row
collator and mask of version 0.4.0, kept below for the before/after comparison). Each kind's
step time is the median over ``--steps`` timed steps. Peak memory is reported on CUDA only
(``max_memory_allocated`` per kind).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

KINDS = ("plain", "inductive-old", "inductive")


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


# -- the collation of version 0.4.0 (per-row Python, 12-pass mask), for the comparison only -------


def old_attention_mask(segment_ids: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    length = segment_ids.shape[-1]
    query = segment_ids[:, :, None]
    key = segment_ids[:, None, :]
    causal = torch.ones(length, length, dtype=torch.bool, device=segment_ids.device).tril_()
    allowed = causal & (query != -1) & (key != -1) & ((key == 0) | (key == query))
    allowed |= torch.eye(length, dtype=torch.bool, device=segment_ids.device)
    mask = torch.zeros(allowed.shape, dtype=dtype, device=segment_ids.device)
    mask.masked_fill_(~allowed, torch.finfo(dtype).min)
    return mask[:, None]


def old_collate(collator, rows: list[dict]) -> dict[str, torch.Tensor]:
    layouts = collator.layouts([r["prompt"] for r in rows], [r["completion"] for r in rows])
    longest, batch = max(len(layout) for layout in layouts), len(layouts)
    input_ids = torch.full((batch, longest), collator.pad_token_id, dtype=torch.long)
    position_ids = torch.zeros((batch, longest), dtype=torch.long)
    segment_ids = torch.full((batch, longest), -1, dtype=torch.long)
    labels = torch.full((batch, longest), -100, dtype=torch.long)
    for row, layout in enumerate(layouts):
        n = len(layout)
        ids = torch.tensor(layout.input_ids, dtype=torch.long)
        input_ids[row, :n] = ids
        position_ids[row, :n] = torch.tensor(layout.position_ids, dtype=torch.long)
        segment_ids[row, :n] = torch.tensor(layout.segment_ids, dtype=torch.long)
        labels[row, :n] = torch.where(torch.tensor(layout.targets, dtype=torch.bool), ids, -100)
        if 0 < n < longest:
            position_ids[row, n:] = layout.position_ids[-1]
    return {"input_ids": input_ids, "position_ids": position_ids,
            "attention_mask": old_attention_mask(segment_ids, collator.dtype), "labels": labels}


def measure(args, preset: str) -> dict[str, dict]:
    from hf_reasoning.modeling import build_model

    torch.manual_seed(0)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    tokenizer, collator, rows = make_batch(args.data_config, args.batch, 0)
    reference = collator(rows)
    plain = {"input_ids": reference["input_ids"], "labels": reference["labels"]}  # same tokens, causal attention
    model, _ = build_model(preset, tokenizer, attn_implementation=args.attn)
    model.to(device).train()
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    batch_of = {"plain": lambda: plain, "inductive-old": lambda: old_collate(collator, rows), "inductive": lambda: collator(rows)}

    def step(kind: str) -> float:
        started = time.perf_counter()
        batch = {k: v.to(device) for k, v in batch_of[kind]().items()}  # collation is timed
        with torch.autocast(device.type, dtype=dtype, enabled=device.type == "cuda"):
            loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - started

    def collate_time(kind: str) -> float:
        if kind == "plain":
            return 0.0
        started = time.perf_counter()
        batch_of[kind]()
        return time.perf_counter() - started

    for _ in range(args.warmup):
        for kind in KINDS:
            step(kind)
    times: dict[str, list[float]] = {kind: [] for kind in KINDS}
    collate: dict[str, list[float]] = {kind: [] for kind in KINDS}
    peak = {kind: 0.0 for kind in KINDS}
    for number in range(args.steps):
        for kind in KINDS[number % 3 :] + KINDS[: number % 3]:  # rotate so no kind always runs first
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats()
            times[kind].append(step(kind))
            collate[kind].append(collate_time(kind))
            if device.type == "cuda":
                peak[kind] = max(peak[kind], torch.cuda.max_memory_allocated() / 2**20)
    return {kind: {"step_s": statistics.median(times[kind]), "collate_s": statistics.median(collate[kind]),
                   "tokens": plain["input_ids"].numel(), "shape": list(plain["input_ids"].shape), "peak_mib": peak[kind],
                   "device": device.type, "threads": torch.get_num_threads()} for kind in KINDS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default="tiny,abbe2024-10m")
    parser.add_argument("--data_config", default="laptop-inductive", help="parity config of the batch")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=10, help="timed steps per kind (median)")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--attn", default="sdpa")
    args = parser.parse_args()
    print(f"{'preset':<14} {'kind':<14} {'batch':>10} {'tokens/s':>10} {'step ms':>9} {'collate ms':>10} "
          f"{'vs plain':>9} {'peak MiB':>9}")
    for preset in args.presets.split(","):
        results = measure(args, preset)
        plain = results["plain"]["step_s"]
        for kind, r in results.items():
            peak = f"{r['peak_mib']:>9.1f}" if r["device"] == "cuda" else f"{'-':>9}"
            print(f"{preset:<14} {kind:<14} {'x'.join(map(str, r['shape'])):>10} {r['tokens'] / r['step_s']:>10.0f} "
                  f"{r['step_s'] * 1e3:>9.1f} {r['collate_s'] * 1e3:>10.1f} {r['step_s'] / plain:>8.2f}x {peak}")
        print(f"{preset:<14} inductive / plain step time (collation included): {results['inductive']['step_s'] / plain:.2f}x "
              f"(before: {results['inductive-old']['step_s'] / plain:.2f}x) on {results['plain']['device']} "
              f"({results['plain']['threads']} threads)")


if __name__ == "__main__":
    main()
