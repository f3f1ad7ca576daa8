"""The training script: exact resume, atomic checkpoints, bad input, a 2-process DDP run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from accelerate.state import AcceleratorState, GradientState
from safetensors.torch import load_file

from hf_reasoning.errors import HFReasoningError
from hf_reasoning.modeling import PositionOverflowError, UnknownModelError, UnsupportedAttentionError
from hf_reasoning.train import ConfigChangedError, RunDirError, main

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _offline(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "datasets_cache"))
    yield
    # each main() builds an Accelerator; start every test from a clean process state
    AcceleratorState._reset_state(reset_partial_state=True)
    GradientState._reset_state()


@pytest.fixture(scope="module")
def parity_repo(tmp_path_factory) -> Path:
    from hf_reasoning import write_repo

    folder = tmp_path_factory.mktemp("data") / "parity"
    write_repo("parity", folder, scale="tiny", seed=0, configs=["laptop-inductive", "laptop-plain"])
    return folder


def train_args(repo: Path, out: Path, *extra: str, config: str = "laptop-inductive") -> list[str]:
    return [
        "--dataset", str(repo), "--config", config, "--model", "tiny", "--out", str(out),
        "--max_steps", "6", "--per_device_train_batch_size", "8", "--learning_rate", "1e-3",
        "--warmup_steps", "2", "--checkpoint_every", "2", "--logging_every", "1",
        "--eval_every", "1000", "--eval_splits", "validation", "--eval_max_examples", "4", *extra,
    ]


def weights(run_dir: Path) -> dict[str, torch.Tensor]:
    return load_file(run_dir / "model.safetensors")


def checkpoint_file_kinds(folder: Path) -> dict[str, str]:
    """Every file of a checkpoint folder, told apart by its bytes (not its name): ``json`` or
    ``safetensors`` (8-byte little-endian header length, then a JSON header); a torch pickle
    (``\\x80`` protocol byte) or a torch zip archive (``PK``) fails."""
    kinds = {}
    for path in sorted(folder.rglob("*")):
        if path.is_dir():
            continue
        data = path.read_bytes()
        assert not data.startswith(b"\x80") and not data.startswith(b"PK"), f"{path.name} is a pickle/zip"
        if data[8:9] == b"{":
            header = json.loads(data[8 : 8 + int.from_bytes(data[:8], "little")])
            end = max(info["data_offsets"][1] for name, info in header.items() if name != "__metadata__")
            assert len(data) == 8 + int.from_bytes(data[:8], "little") + end, path.name
            kinds[path.name] = "safetensors"
        else:
            json.loads(data)  # anything else must parse as JSON
            kinds[path.name] = "json"
    return kinds


def test_kill_and_resume_reaches_the_uninterrupted_parameters(parity_repo, tmp_path):
    straight = main(train_args(parity_repo, tmp_path / "straight"))
    assert straight.completed_steps == 6

    resumed_dir = tmp_path / "resumed"
    stopped = main(train_args(parity_repo, resumed_dir, "--stop_after_steps", "5"))
    assert stopped.completed_steps == 5 and not (resumed_dir / "model.safetensors").exists()
    checkpoints = resumed_dir / "checkpoints"
    assert sorted(p.name for p in checkpoints.iterdir()) == ["step-00000002", "step-00000004"]
    # a kill in the middle of the next save leaves a partial folder: it must be ignored
    partial = checkpoints / ".tmp-step-00000006"
    partial.mkdir()
    (partial / "model.safetensors").write_bytes(b"truncated")

    resumed = main(train_args(parity_repo, resumed_dir, "--resume"))
    assert resumed.completed_steps == 6
    expected, got = weights(tmp_path / "straight"), weights(resumed_dir)
    assert expected.keys() == got.keys()
    for name in expected:
        torch.testing.assert_close(got[name], expected[name], rtol=0, atol=1e-6, msg=name)
    # steps 5.. were logged twice (before the kill and after the resume): only once remains
    steps = [json.loads(line)["step"] for line in (resumed_dir / "metrics.jsonl").read_text().splitlines()
             if "train/loss" in line]
    assert steps == [1, 2, 3, 4, 5, 6]


def test_finished_run_is_a_model_repo_folder(parity_repo, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from hf_reasoning.inductive import greedy_inductive

    run_dir = tmp_path / "run"
    result = main(train_args(parity_repo, run_dir, "--max_steps", "2", "--eval_splits", "validation,ood"))
    names = {p.name for p in run_dir.iterdir()}
    assert {"config.json", "model.safetensors", "generation_config.json", "tokenizer.json", "training_args.json",
            "metrics.jsonl"} <= names
    assert not any(n.endswith((".bin", ".pt", ".pth")) for n in names)
    assert 0.0 <= result.metrics["ood/accuracy"] <= 1.0 and "validation/accuracy" in result.metrics
    model = AutoModelForCausalLM.from_pretrained(run_dir)
    tokenizer = AutoTokenizer.from_pretrained(run_dir)
    assert tokenizer.convert_ids_to_tokens(tokenizer("_ 1 =")["input_ids"]) == ["_", "1", "="]
    torch.testing.assert_close(model.state_dict()["lm_head.weight"], result.model.state_dict()["lm_head.weight"])
    (completion,) = greedy_inductive(model, tokenizer, ["_ 1 _ ="], shift=False, max_new_tokens=5)
    assert len(completion.split()) == 5 or completion.endswith(".")


def test_rope_theta_is_the_base_of_the_saved_and_reloaded_model(parity_repo, tmp_path):
    from transformers import AutoModelForCausalLM

    head_dim = 128 // 4  # tiny: hidden 128, 4 heads
    for theta in (None, 100.0):
        run_dir = tmp_path / f"theta-{theta}"
        main(train_args(parity_repo, run_dir, "--max_steps", "1", "--eval_splits", "",
                        *(["--rope_theta", str(theta)] if theta else [])))
        AcceleratorState._reset_state(reset_partial_state=True)
        model = AutoModelForCausalLM.from_pretrained(run_dir)
        base = theta or 10_000.0  # the Llama default when the flag is not given
        expected = 1.0 / base ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)
        torch.testing.assert_close(model.model.rotary_emb.inv_freq.double(), expected)


def test_plain_format_trains_with_the_causal_collator(parity_repo, tmp_path):
    result = main(train_args(parity_repo, tmp_path / "plain", "--max_steps", "3", config="laptop-plain"))
    losses = [json.loads(l)["train/loss"] for l in (tmp_path / "plain" / "metrics.jsonl").read_text().splitlines()
              if "train/loss" in l]
    assert len(losses) == 3 and all(x == x for x in losses)  # finite, no NaN
    assert "validation/accuracy" in result.metrics


def test_bad_input_is_a_one_line_error_and_overwrites_nothing(parity_repo, tmp_path):
    run_dir = tmp_path / "run"
    main(train_args(parity_repo, run_dir, "--max_steps", "2", "--eval_splits", ""))
    before = {p: p.stat().st_mtime_ns for p in run_dir.rglob("*")}
    cases = [
        (RunDirError, "exists", train_args(parity_repo, run_dir)),
        (ConfigChangedError, "learning_rate", train_args(parity_repo, run_dir, "--resume", "--max_steps", "2",
                                                         "--eval_splits", "", "--learning_rate", "5e-4")),
        (HFReasoningError, "format 'bogus'", train_args(parity_repo, tmp_path / "a", config="laptop-bogus")),
        (HFReasoningError, "laptop-nothing", train_args(parity_repo, tmp_path / "b", config="laptop-nothing-plain")),
        (UnknownModelError, "no-such-model", train_args(parity_repo, tmp_path / "c", "--model", "no-such-model")),
        (UnsupportedAttentionError, "flash_attention_2",
         train_args(parity_repo, tmp_path / "d", "--attn_implementation", "flash_attention_2")),
        (HFReasoningError, "random_position_offset must be >= 0",
         train_args(parity_repo, tmp_path / "e", "--random_position_offset", "-1")),
        (HFReasoningError, "rope_theta=100.0 sets the RoPE base of a fresh llama preset",
         train_args(parity_repo, tmp_path / "g", "--model", "tiny-gpt2", "--rope_theta", "100")),
        # GPT-2's learned table has 2048 rows: an offset of 2040 leaves too little for the rows
        (PositionOverflowError, "random_position_offset 2040 exceeds the model's position table of 2048",
         train_args(parity_repo, tmp_path / "f", "--model", "tiny-gpt2", "--random_position_offset", "2040",
                    config="laptop-plain")),
    ]
    for error, words, argv in cases:
        with pytest.raises(error, match=words) as caught:
            main(argv)
        assert "\n" not in str(caught.value)
        AcceleratorState._reset_state(reset_partial_state=True)
    assert {p: p.stat().st_mtime_ns for p in run_dir.rglob("*")} == before
    assert not any((tmp_path / name).exists() for name in "abcdefg")  # failed runs leave no folder


def test_random_position_offsets_resume_exactly_from_a_pickle_free_checkpoint(parity_repo, tmp_path):
    """tiny-gpt2 (learned positions, tied embeddings), plain format, offsets in [0, 8]."""
    args = lambda out, *extra: train_args(parity_repo, out, "--model", "tiny-gpt2", "--max_steps", "4",  # noqa: E731
                                          "--eval_splits", "", "--checkpoints_to_keep", "1", *extra, config="laptop-plain")
    straight = main(args(tmp_path / "straight", "--random_position_offset", "8"))
    main(args(tmp_path / "without"))
    stopped = main(args(tmp_path / "resumed", "--random_position_offset", "8", "--stop_after_steps", "3"))
    assert stopped.completed_steps == 3
    (checkpoint,) = (tmp_path / "resumed" / "checkpoints").iterdir()
    assert checkpoint.name == "step-00000002"
    assert checkpoint_file_kinds(checkpoint) == {
        "model.safetensors": "safetensors", "optimizer.safetensors": "safetensors", "optimizer.json": "json",
        "rng_state_0.json": "json", "rng_state_0.safetensors": "safetensors", "scheduler.json": "json",
        "trainer_state.json": "json"}
    assert json.loads((checkpoint / "trainer_state.json").read_text())["completed_steps"] == 2
    assert json.loads((checkpoint / "scheduler.json").read_text())["last_epoch"] == 2
    model_file = load_file(checkpoint / "model.safetensors")
    assert len({"transformer.wte.weight", "lm_head.weight"} & set(model_file)) == 1  # tied: stored once
    optimizer_file = load_file(checkpoint / "optimizer.safetensors")
    n_params = sum(1 for _ in straight.model.parameters())  # tied weights are one parameter
    assert {k for k in optimizer_file if k.endswith(".exp_avg")} == {f"state.{i}.exp_avg" for i in range(n_params)}
    assert all(float(optimizer_file[f"state.{i}.step"]) == 2.0 for i in range(n_params))

    resumed = main(args(tmp_path / "resumed", "--random_position_offset", "8", "--resume"))
    assert resumed.completed_steps == 4
    expected, got, plain = weights(tmp_path / "straight"), weights(tmp_path / "resumed"), weights(tmp_path / "without")
    for name in expected:
        torch.testing.assert_close(got[name], expected[name], rtol=0, atol=1e-6, msg=name)
    # the offsets did train other position embeddings than an offset-free run
    assert not torch.allclose(expected["transformer.wpe.weight"], plain["transformer.wpe.weight"], atol=1e-4)


HELPER = textwrap.dedent(
    """
    import sys
    from accelerate import PartialState
    from safetensors.torch import save_file
    from hf_reasoning.train import main

    result = main(sys.argv[2:])
    state = {k: v.detach().clone().contiguous() for k, v in result.model.state_dict().items()}
    save_file(state, f"{sys.argv[1]}/rank{PartialState().process_index}.safetensors")
    """
)


def test_two_process_data_parallel_run_keeps_ranks_in_agreement(parity_repo, tmp_path):
    from accelerate.utils import set_seed

    from hf_reasoning.modeling import build_model
    from hf_reasoning.tasks import get_task
    from hf_reasoning.tokenization import build_tokenizer

    helper = tmp_path / "ddp_helper.py"
    helper.write_text(HELPER)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO_ROOT)}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               str(helper), str(tmp_path), *train_args(parity_repo, tmp_path / "ddp", "--max_steps", "3",
                                                      "--per_device_train_batch_size", "4")]
    # own session, so a hang is cleaned up whole (launcher and both workers)
    launcher = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                cwd=tmp_path, start_new_session=True)
    try:
        output, _ = launcher.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        os.killpg(launcher.pid, signal.SIGKILL)
        launcher.communicate()
        raise
    assert launcher.returncode == 0, output[-3000:]
    assert "2 process(es)" in output
    rank0, rank1 = load_file(tmp_path / "rank0.safetensors"), load_file(tmp_path / "rank1.safetensors")
    for name in rank0:
        assert torch.equal(rank0[name], rank1[name]), name
    set_seed(0)
    initial, _ = build_model("tiny", build_tokenizer(get_task("parity").vocab.tokens))
    assert not torch.equal(initial.state_dict()["lm_head.weight"], rank0["lm_head.weight"])  # it trained
    torch.testing.assert_close(weights(tmp_path / "ddp")["lm_head.weight"], rank0["lm_head.weight"])
    # one checkpoint (step 2), pickle-free, with the RNG states of both ranks
    (checkpoint,) = (tmp_path / "ddp" / "checkpoints").iterdir()
    kinds = checkpoint_file_kinds(checkpoint)
    assert {"rng_state_0.safetensors", "rng_state_1.safetensors", "rng_state_0.json", "rng_state_1.json"} <= set(kinds)
    assert json.loads((checkpoint / "trainer_state.json").read_text())["num_processes"] == 2


def test_group_by_length_batches_are_homogeneous_cover_every_row_and_resume_exactly():
    """--group_by_length: each micro-batch holds rows of neighbouring lengths, a group's rows
    are each used once, and starting at micro-batch k gives the tail of the uninterrupted
    sequence (fixed data across an epoch boundary, and a fresh stream)."""
    import argparse
    import itertools
    from types import SimpleNamespace

    import datasets
    import numpy as np

    from hf_reasoning.train import micro_batches

    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 40, size=96)
    rows = {"id": list(range(96)), "prompt": ["x" * int(n) for n in lengths], "completion": [""] * 96}
    fixed = datasets.Dataset.from_dict(rows)
    fresh = datasets.IterableDataset.from_generator(
        lambda: ({"id": i, "prompt": "x" * (i * 7 % 31 + 1), "completion": ""} for i in itertools.count()))
    single = SimpleNamespace(process_index=0, num_processes=1)
    args = argparse.Namespace(per_device_train_batch_size=4, group_by_length=6, num_workers=0, seed=3)
    ids = lambda batch: [r["id"] for r in batch]  # noqa: E731  (the "collator" keeps the rows' ids)

    for train in (fixed, fresh):
        straight = list(itertools.islice(micro_batches(args, single, train, ids, 0), 40))
        for k in (1, 5, 6, 7, 29):
            resumed = list(itertools.islice(micro_batches(args, single, train, ids, k), 40 - k))
            assert resumed == straight[k:], (train, k)
        for start in range(0, 24, 6):  # groups of 6 micro-batches = 24 rows, each used once
            group = straight[start : start + 6]
            assert sorted(i for batch in group for i in batch) == sorted(set(i for batch in group for i in batch))
            assert len({i for batch in group for i in batch}) == 24
            if train is fixed:  # sorted by length: batches do not interleave in length
                spans = sorted((min(lengths[batch]), max(lengths[batch])) for batch in group)
                assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))
        # off: the micro-batches are the plain sequence of rows
        plain = argparse.Namespace(**{**vars(args), "group_by_length": 0})
        first = list(itertools.islice(micro_batches(plain, single, train, ids, 0), 3))
        if train is fresh:
            assert first == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]
