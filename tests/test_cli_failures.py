"""Failure behaviour of every subcommand (issue 14): one ``error:`` line, exit 2, no traceback,
nothing written; and the defects that used to lose, leak or mix data.

* ``test_bad_input`` is a table over all ten subcommands: each case runs ``cli.main`` in
  process and compares a snapshot of the test folders (paths, sizes, bytes) before and after.
* The other tests each pin one defect: ``card --plot`` replacing a run file, ``publish``
  following links / uploading stray files / writing the card before the upload, two writers
  in one ``--out``, a mount point as ``--out``, stale staging folders, a damaged newest
  checkpoint, pickle weights, SIGTERM during a build.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hf_reasoning import cli

CONFIG = "laptop-plain"


def snapshot(*roots: Path) -> dict:
    """Every path under ``roots`` with its kind and, for files, size and content hash."""
    state = {}
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            for name in dirnames + filenames:
                path = Path(dirpath) / name
                if path.is_symlink():
                    state[str(path)] = ("link", os.readlink(path))
                elif path.is_file():
                    state[str(path)] = ("file", hashlib.sha256(path.read_bytes()).hexdigest())
                else:
                    state[str(path)] = ("dir",)
    return state


def run_cli(argv, capsys) -> tuple[int, str]:
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        cli.main([str(a) for a in argv])
    return exit_.value.code, capsys.readouterr().err


def assert_one_error(code, err, *words):
    # progress bars (datasets' "Generating … split") may come first; the error ends the output
    lines = [line for line in err.replace("\r", "\n").splitlines() if line.strip()]
    assert code == 2, err
    assert [line for line in lines if "error" in line.lower()] == lines[-1:] and lines[-1].startswith("error: "), err
    assert "Traceback" not in err
    for word in words:
        assert word in err, err


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A tiny parity dataset folder, a small untrained run folder, a read-only-ish file."""
    from test_cards import fake_run

    from hf_reasoning.hub import write_repos

    root = tmp_path_factory.mktemp("failures")
    write_repos(["parity"], root / "hub", scale="tiny", seed=0, configs=[CONFIG])
    run = fake_run(root / "run", CONFIG)
    (root / "a_file").write_text("not a folder\n")
    (root / "other").mkdir()
    (root / "other" / "config.json").write_text('{"not": "a plot"}\n')
    # damaged model folders
    for name, damage in [("truncated", "truncate"), ("garbage", "garbage"), ("noconfig", "noconfig"),
                         ("pickled", "pickle")]:
        folder = root / "models" / name
        folder.mkdir(parents=True)
        for f in run.iterdir():
            (folder / f.name).write_bytes(f.read_bytes())
        if damage == "truncate":
            data = (folder / "model.safetensors").read_bytes()
            (folder / "model.safetensors").write_bytes(data[: len(data) // 2])
        elif damage == "garbage":
            (folder / "config.json").write_text("{ garbage")
        elif damage == "noconfig":
            (folder / "config.json").unlink()
        else:
            import torch
            from transformers import AutoModelForCausalLM

            torch.save(dict(AutoModelForCausalLM.from_pretrained(run).state_dict()), folder / "pytorch_model.bin")
            (folder / "model.safetensors").unlink()
    bad_card = root / "badcard"
    bad_card.mkdir()
    (bad_card / "README.md").write_text("---\nconfigs: [unclosed\n  - x: : :\n---\n")
    return root


HUB, RUN, FILE, MODELS = "{root}/hub/parity", "{root}/run", "{root}/a_file", "{root}/models"
TRAIN = ["train", "--dataset", HUB, "--config", CONFIG, "--out", "{root}/new_run", "--max_steps", "2",
         "--per_device_train_batch_size", "4", "--eval_splits", "validation", "--eval_max_examples", "2"]
HEAD = ["train-head", "--dataset", HUB, "--config", CONFIG, "--out", "{root}/new_head", "--max_steps", "2"]
EVAL = ["evaluate", "--model", RUN, "--dataset", HUB, "--config", CONFIG, "--split", "validation", "--max-rows", "2"]

# (id, argv, a word the error line must contain)
CASES = [
    ("tasks-unknown-option", ["tasks", "--bogus"], "--bogus"),
    ("build-unknown-task", ["build", "nope", "--out", "{root}/b"], "nope"),
    ("build-bad-scale", ["build", "parity", "--scale", "huge", "--out", "{root}/b"], "huge"),
    ("build-bad-seed", ["build", "parity", "--seed", "-1", "--out", "{root}/b"], "-1"),
    ("build-out-is-file", ["build", "parity", "--config", CONFIG, "--out", FILE], "a_file"),
    ("build-out-under-file", ["build", "parity", "--config", CONFIG, "--out", FILE + "/sub"], "a_file"),
    ("build-out-not-empty", ["build", "parity", "--config", CONFIG, "--out", "{root}/hub"], "not empty"),
    ("show-n-huge", ["show", "parity", CONFIG, "--n", str(10**30)], "--n"),
    ("show-n-zero", ["show", "parity", CONFIG, "--n", "0"], "--n"),
    ("show-n-not-int", ["show", "parity", CONFIG, "--n", "x"], "--n"),
    ("show-bad-split", ["show", "parity", CONFIG, "--split", "nope"], "nope"),
    ("card-plot-json", ["card", RUN, "--plot", "{root}/other/config.json"], "not an image"),
    ("card-plot-missing", ["card", RUN, "--plot", "{root}/nothing.png"], "nothing.png"),
    ("card-not-a-run", ["card", "{root}/other"], "other"),
    ("card-garbage-config", ["card", MODELS + "/garbage"], "garbage"),
    ("publish-bad-repo-id", ["publish", RUN, "--repo-id", "no namespace", "--dry-run"], "repo"),
    ("publish-garbage-yaml", ["publish", "{root}/badcard", "--repo-id", "org/x", "--dry-run"], "YAML"),
    ("train-seed-negative", [*TRAIN, "--seed", "-1"], "--seed"),
    ("train-attn-bogus", [*TRAIN, "--attn_implementation", "bogus"], "bogus"),
    ("train-report-to-bogus", [*TRAIN, "--report_to", "bogus"], "bogus"),
    ("train-eval-max-zero", [*TRAIN, "--eval_max_examples", "0"], "--eval_max_examples"),
    ("train-warmup-negative", [*TRAIN, "--warmup_steps", "-5"], "--warmup_steps"),
    ("train-grad-norm-nan", [*TRAIN, "--max_grad_norm", "nan"], "--max_grad_norm"),
    ("train-weight-decay-negative", [*TRAIN, "--weight_decay", "-1"], "--weight_decay"),
    ("train-num-workers-negative", [*TRAIN, "--num_workers", "-1"], "--num_workers"),
    ("train-adam-beta1", [*TRAIN, "--adam_beta1", "2"], "--adam_beta1"),
    ("train-huge-batch", [*TRAIN, "--per_device_train_batch_size", str(10**9)], "global batch"),
    ("train-out-is-file", [*TRAIN, "--out", FILE], "a_file"),
    ("train-out-under-file", [*TRAIN, "--out", FILE + "/run"], "a_file"),
    ("train-missing-dataset", [*TRAIN, "--dataset", "{root}/no_such_dataset"], "does not exist"),
    ("train-truncated-model", [*TRAIN, "--model", MODELS + "/truncated"], "damaged"),
    ("train-garbage-config", [*TRAIN, "--model", MODELS + "/garbage"], "config.json"),
    ("train-no-config", [*TRAIN, "--model", MODELS + "/noconfig"], "config.json"),
    ("train-missing-model", [*TRAIN, "--model", "{root}/no_model"], "no_model"),
    ("train-pickle-model", [*TRAIN, "--model", MODELS + "/pickled"], "--allow-pickle"),
    ("train-unknown-option", [*TRAIN, "--bogus"], "--bogus"),
    ("head-momentum-negative", [*HEAD, "--momentum", "-1"], "--momentum"),
    ("head-out-is-file", [*HEAD, "--out", FILE], "a_file"),
    ("head-missing-dataset", [*HEAD, "--dataset", "{root}/no_such_dataset"], "does not exist"),
    ("quickstart-out-is-file", ["quickstart", "--out", FILE], "a_file"),
    ("quickstart-hub-under-file", ["quickstart", "--out", "{root}/qs", "--hub", FILE + "/hub"], "a_file"),
    ("evaluate-max-rows-zero", [*EVAL, "--max-rows", "0"], "--max-rows"),
    ("evaluate-threshold-5", [*EVAL, "--threshold", "5"], "--threshold"),
    ("evaluate-threshold-nan", [*EVAL, "--threshold", "nan"], "--threshold"),
    ("evaluate-out-is-file", [*EVAL, "--out", FILE], "a_file"),
    ("evaluate-out-under-file", [*EVAL, "--out", FILE + "/eval"], "a_file"),
    ("evaluate-missing-dataset", ["evaluate", "--model", RUN, "--dataset", "{root}/no_such_dataset", "--config", CONFIG],
     "does not exist"),
    ("evaluate-truncated-model", [*EVAL[:1], "--model", MODELS + "/truncated", *EVAL[3:]], "damaged"),
    ("evaluate-garbage-config", [*EVAL[:1], "--model", MODELS + "/garbage", *EVAL[3:]], "config.json"),
    ("evaluate-missing-model", [*EVAL[:1], "--model", "{root}/no_model", *EVAL[3:]], "no_model"),
    ("evaluate-pickle-model", [*EVAL[:1], "--model", MODELS + "/pickled", *EVAL[3:]], "--allow-pickle"),
    ("analyze-json-is-folder", ["analyze", "boolean", "laptop-plain", "--json", "{root}/other"], "folder"),
    ("analyze-json-under-file", ["analyze", "boolean", "laptop-plain", "--json", FILE + "/a.json"], "a_file"),
    ("analyze-wrong-task", ["analyze", "parity", CONFIG], "parity"),
]


def test_every_subcommand_has_cases():
    covered = {argv[0] for _, argv, _ in CASES}
    assert covered == {"tasks", "build", "show", "card", "publish", "train", "train-head", "quickstart", "evaluate",
                       "analyze"}


@pytest.mark.parametrize("argv,word", [(a, w) for _, a, w in CASES], ids=[c[0] for c in CASES])
def test_bad_input(world, argv, word, capsys):
    before = snapshot(world)
    code, err = run_cli([a.replace("{root}", str(world)) for a in argv], capsys)
    assert_one_error(code, err, word)
    assert snapshot(world) == before


# -- read-only and full outputs (need a real filesystem: root mounts a tmpfs) -------------------


def _mount(path: Path, options: str) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return False
    return subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True).returncode == 0


@pytest.fixture
def mounted(tmp_path):
    mounts = []

    def mount(name: str, options: str = "size=16m") -> Path:
        path = tmp_path / name
        if not _mount(path, options):
            pytest.skip("mounting a tmpfs needs root")
        mounts.append(path)
        return path

    yield mount
    for path in mounts:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def test_read_only_out_is_one_line(world, mounted, capsys):
    readonly = mounted("ro", "ro,size=1m")
    for argv in (["build", "parity", "--config", CONFIG, "--out", readonly / "b"],
                 [*[a.replace("{root}", str(world)) for a in TRAIN[:-8]], "--out", readonly / "r"],
                 [*[a.replace("{root}", str(world)) for a in EVAL], "--out", readonly / "e"],
                 ["analyze", "boolean", "laptop-plain", "--json", readonly / "a.json"]):
        assert_one_error(*run_cli(argv, capsys), "read-only")


def test_full_disk_is_one_line_naming_the_path(mounted, capsys):
    full = mounted("full", "size=64k")
    code, err = run_cli(["build", "parity", "--scale", "tiny", "--out", full / "hub"], capsys)
    assert_one_error(code, err, str(full))
    assert not list(full.iterdir())  # no half dataset, no staging folder, no lock file


def test_build_into_a_mount_point(mounted, capsys):
    target = mounted("mnt")
    cli.main(["build", "parity", "--scale", "tiny", "--config", CONFIG, "--out", str(target)])
    assert (target / "parity" / "README.md").is_file()
    assert not [p for p in target.iterdir() if ".partial-" in p.name]


# -- card --plot ---------------------------------------------------------------------------------


def test_card_plot_never_replaces_a_run_file(world, tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    for f in (world / "run").iterdir():
        (run / f.name).write_bytes(f.read_bytes())
    config = (run / "config.json").read_bytes()
    # an image that happens to share the name of a run file is refused, not copied over it
    fake_png = tmp_path / "elsewhere" / "tokenizer.json"
    fake_png.parent.mkdir()
    fake_png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 32)
    for plot in (world / "other" / "config.json", fake_png):
        before = snapshot(run)
        assert_one_error(*run_cli(["card", run, "--plot", plot], capsys))
        assert snapshot(run) == before
    png = tmp_path / "elsewhere" / "curve.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 32)
    (run / "curve.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\1" * 32)  # a different image of that name
    assert_one_error(*run_cli(["card", run, "--plot", png], capsys), "replace")
    assert (run / "config.json").read_bytes() == config


# -- publish -------------------------------------------------------------------------------------


def _copy_run(world, tmp_path) -> Path:
    run = tmp_path / "run"
    run.mkdir()
    for f in (world / "run").iterdir():
        (run / f.name).write_bytes(f.read_bytes())
    return run


def test_publish_refuses_links_out_of_the_folder(world, tmp_path, capsys):
    run = _copy_run(world, tmp_path)
    secret = tmp_path / "secret"
    secret.write_text("password\n")
    (run / "notes.txt").symlink_to(secret)
    assert_one_error(*run_cli(["publish", run, "--repo-id", "org/x", "--dry-run"], capsys), "symbolic link")


def test_publish_refuses_unexpected_files_unless_included(world, tmp_path, capsys):
    from hf_reasoning.hub import publish

    run = _copy_run(world, tmp_path)
    (run / "secrets.txt").write_text("token\n")
    (run / ".env").write_text("HF_TOKEN=x\n")
    assert_one_error(*run_cli(["publish", run, "--repo-id", "org/x", "--dry-run"], capsys), "secrets.txt")
    files = dict(publish(run, "org/x", dry_run=True, include=["secrets.txt"]))
    assert "secrets.txt" in files and ".env" not in files


def test_failed_publish_writes_nothing(world, tmp_path, capsys):
    run = _copy_run(world, tmp_path)
    before = snapshot(run)
    code, err = run_cli(["publish", run, "--repo-id", "org/x"], capsys)  # offline: the upload fails
    assert_one_error(code, err, "could not publish")
    assert snapshot(run) == before


# -- one writer per --out ------------------------------------------------------------------------


HOLD = ("import sys, time\nfrom hf_reasoning.outputs import exclusive\n"
        "with exclusive(sys.argv[1], 'a test'):\n    print('held', flush=True)\n    time.sleep(60)\n")


def test_second_writer_gets_one_line_naming_the_holder(world, tmp_path, capsys):
    out = tmp_path / "hub"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(out)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        code, err = run_cli(["build", "parity", "--scale", "tiny", "--config", CONFIG, "--out", out], capsys)
        assert_one_error(code, err, f"process {holder.pid}")
        train = [a.replace("{root}", str(world)) for a in TRAIN[:-8]]
        code, err = run_cli([*train, "--out", out], capsys)
        assert_one_error(code, err, f"process {holder.pid}")
    finally:
        holder.kill()
        holder.wait()
    assert not out.exists()


def test_two_concurrent_builds_one_wins_one_fails(tmp_path):
    out = tmp_path / "hub"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    builds = [subprocess.Popen([sys.executable, "-m", "hf_reasoning.cli", "build", "parity", "--scale", "tiny",
                                "--config", CONFIG, "--out", str(out), "--seed", str(seed)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
              for seed in (0, 1)]
    results = [(b.wait(), b.stderr.read()) for b in builds]
    assert sorted(code for code, _ in results) == [0, 2], results
    assert_one_error(*next((code, e) for code, e in results if code == 2))
    assert [p.name for p in out.iterdir()] == ["parity"]


# -- staging folders -----------------------------------------------------------------------------


def test_stale_staging_folders_are_removed(tmp_path, capsys):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".hub.partial-{dead.pid}"
    (stale / "parity").mkdir(parents=True)
    (stale / "parity" / "x.parquet").write_bytes(b"\0" * 1000)
    alive = tmp_path / f".other.partial-{os.getppid()}"
    alive.mkdir()
    cli.main(["build", "parity", "--scale", "tiny", "--config", CONFIG, "--out", str(tmp_path / "hub")])
    assert not stale.exists() and alive.exists()


def test_sigterm_during_a_build_says_interrupted(tmp_path):
    out = tmp_path / "hub"
    build = subprocess.Popen([sys.executable, "-m", "hf_reasoning.cli", "build", "parity", "--scale", "default",
                              "--out", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                             env={**os.environ, "OMP_NUM_THREADS": "1"})
    deadline = time.time() + 60
    while not list(tmp_path.glob(".hub.partial-*")) and time.time() < deadline:
        time.sleep(0.05)
    build.send_signal(signal.SIGTERM)
    err = build.communicate(timeout=60)[1]
    assert build.returncode == 130
    lines = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1 and "interrupted" in lines[0] and "Traceback" not in err
    assert not out.exists() and not list(tmp_path.glob(".hub.partial-*"))


# -- resume from a damaged checkpoint --------------------------------------------------------------


def test_resume_falls_back_past_a_damaged_checkpoint(world, tmp_path, capsys):
    from hf_reasoning import train

    args = ["--dataset", str(world / "hub" / "parity"), "--config", CONFIG, "--model", "tiny", "--max_steps", "6",
            "--per_device_train_batch_size", "4", "--eval_every", "1000", "--eval_splits", "validation",
            "--eval_max_examples", "2", "--logging_every", "2", "--checkpoint_every", "2", "--checkpoints_to_keep", "3"]
    whole = train.main([*args, "--out", str(tmp_path / "whole")])
    train.main([*args, "--out", str(tmp_path / "cut"), "--stop_after_steps", "4"])
    newest = tmp_path / "cut" / "checkpoints" / "step-00000004"
    model = newest / "model.safetensors"
    model.write_bytes(model.read_bytes()[:100])  # truncated
    capsys.readouterr()
    resumed = train.main([*args, "--out", str(tmp_path / "cut"), "--resume"])
    out = capsys.readouterr().out
    assert "warning: checkpoint" in out and "step-00000004" in out and "resumed from" in out and "step-00000002" in out
    import torch

    for (name, a), (_, b) in zip(whole.model.state_dict().items(), resumed.model.state_dict().items()):
        assert torch.equal(a, b), name
    # no sound checkpoint left: one line
    for checkpoint in (tmp_path / "cut" / "checkpoints").glob("step-*"):
        (checkpoint / "trainer_state.json").write_text("")
    code, err = run_cli(["train", *args, "--out", tmp_path / "cut", "--resume"], capsys)
    assert_one_error(code, err, "none of the")
