"""Hub dataset repos as local folders, and publishing them.

A task's repo folder is exactly what the Hub serves: ``README.md`` (the dataset card, whose
YAML ``configs:`` block maps each config to its Parquet files) and
``<config>/<split>-0000i-of-0000n.parquet``. Nothing executable:
``datasets.load_dataset(folder_or_repo_id, config)`` reads it as it is.

Folders are written atomically: everything is built in a hidden staging folder beside the
destination and renamed into place at the end, so an interrupted build leaves no half
dataset behind.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from pathlib import Path

import pyarrow.parquet as pq

from .cards import dataset_card
from .dataset_repo import card_metadata, load_config, repo_metadata  # noqa: F401  (re-exported: hub.load_config)
from .errors import HFReasoningError, Interrupted, check_choice, check_output_dir, os_error_message
from .outputs import bookkeeping, exclusive, is_mount_point, remove_stale, staging_parent
from .splits import ConfigBuild, build_config, check_seed, scale_of
from .tasks import get_task

SHARD_ROWS = 1_000_000
ROW_GROUP_ROWS = 100_000


def split_files(config: str, split: str, rows: int) -> list[str]:
    shards = max(1, -(-rows // SHARD_ROWS))
    return [f"{config}/{split}-{i:05d}-of-{shards:05d}.parquet" for i in range(shards)]


def write_config(build: ConfigBuild, repo_dir: Path) -> None:
    """The Parquet shards of one config. Each file keeps its table's schema metadata, where the
    ``datasets`` features live (key ``huggingface``): ``load_dataset`` reads them from the file and
    so gets the exact feature types back (an ``Image`` column decodes to PIL images).

    Records on ``build`` what the dataset card needs: the files' sha256 fingerprint (it goes into
    the card's ``configs:`` entry, which is what keeps ``load_dataset``'s cache from serving another
    build's rows, see :func:`hf_reasoning.cards.dataset_card`) and the split sizes."""
    for split, table in build.tables.items():  # checked before any file is written
        if not (table.schema.metadata or {}).get(b"huggingface"):
            raise HFReasoningError(f"split {split!r} of {build.config!r} has no datasets features in its schema; "
                                   "allowed: tables from hf_reasoning.splits.build_config")
    digest = hashlib.sha256()
    build.file_bytes = 0
    for split, table in build.tables.items():
        files = split_files(build.config, split, table.num_rows)
        for i, rel in enumerate(files):
            path = repo_dir / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            shard = table.slice(i * SHARD_ROWS, SHARD_ROWS)
            pq.write_table(shard, path, compression="zstd", row_group_size=ROW_GROUP_ROWS)
            build.file_bytes += _hash_file(path, digest, rel)
        build.split_bytes[split] = table.nbytes
    build.fingerprint = digest.hexdigest()


def _hash_file(path: Path, digest, name: str) -> int:
    """Add a file's name and bytes to ``digest``; its size."""
    digest.update(f"{name}\0".encode())
    size = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            digest.update(chunk)
            size += len(chunk)
    return size


def _write_repo_into(task_name: str, repo_dir: Path, scale: str, seed: int, configs: list[str],
                     on_config: Callable[[str, str], None] | None) -> None:
    builds = []
    for config in configs:
        build = build_config(task_name, config, scale, seed)
        write_config(build, repo_dir)
        # the card needs the row counts and a few example rows, not the whole tables
        build.tables = {s: t.slice(0, 3) for s, t in build.tables.items()}
        builds.append(build)
        if on_config:
            on_config(task_name, config)
    (repo_dir / "README.md").write_text(dataset_card(get_task(task_name), builds, scale, seed))


@contextmanager
def _terminate_as_interrupt():
    """Turn SIGTERM into :class:`Interrupted` while building, so staging folders are cleaned
    and the command says it was interrupted."""
    def handler(signum, frame):
        raise Interrupted(signal.Signals(signum).name)

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not in the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _is_nonempty_dir(path: Path) -> bool:
    """A folder holding anything but our own lock and staging folders."""
    return path.is_dir() and any(not bookkeeping(entry.name) for entry in path.iterdir())


def check_out(out: Path, overwrite: bool) -> None:
    """Read-only checks of ``--out``: a writable new or empty folder (or ``overwrite``)."""
    out = Path(out)
    check_output_dir(out)
    if _is_nonempty_dir(out) and not overwrite:
        raise HFReasoningError(f"--out {str(out)!r} exists and is not empty; allowed: a new or empty folder, or --overwrite")


def write_repos(tasks: Iterable[str], out: str | os.PathLike, scale: str = "default", seed: int = 0,
                configs: Iterable[str] | None = None, overwrite: bool = False,
                on_config: Callable[[str, str], None] | None = None) -> list[Path]:
    """Build the repo folders ``out/<task>`` of several tasks, all or nothing.

    ``configs`` restricts every task to those of its configs named there (a name that
    belongs to none of the tasks is an error). ``out`` must be absent or empty unless
    ``overwrite``; with ``overwrite`` only the task folders being built are replaced.

    One build at a time per ``out`` (a lock file beside it): a second one fails at once, and
    the emptiness check and the final renames run under the lock, so no build is lost. The
    staging folder lies on ``out``'s filesystem (inside ``out`` when it is a mount point);
    those of killed builds are removed here.
    """
    per_task = check_build(tasks, scale, seed, configs)
    tasks = list(per_task)
    out = Path(out)
    check_out(out, overwrite)
    with exclusive(out, "hf-reasoning build"):
        check_out(out, overwrite)  # again, under the lock: another build may just have finished
        parent = staging_parent(out)
        remove_stale(parent)
        staging = parent / f".{out.name}.partial-{os.getpid()}"
        try:
            with _terminate_as_interrupt():
                for name in tasks:
                    _write_repo_into(name, staging / name, scale, seed, per_task[name], on_config)
                out.mkdir(exist_ok=True)
                for name in tasks:
                    target = out / name
                    if target.exists():
                        trash = out / f".{name}.old-{os.getpid()}"
                        target.rename(trash)
                        shutil.rmtree(trash)
                    (staging / name).rename(target)
        except OSError as error:  # a full disk, a folder changed meanwhile: one line naming --out
            raise HFReasoningError(os_error_message(error, out)) from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return [out / name for name in tasks]


def write_repo(task: str, out: str | os.PathLike, scale: str = "default", seed: int = 0,
               configs: Iterable[str] | None = None, overwrite: bool = False) -> Path:
    """Write the Hub dataset repo folder of one task at ``out`` (atomically, one writer)."""
    out = Path(out)
    check_output_dir(out)
    if is_mount_point(out):
        raise HFReasoningError(f"{str(out)!r} is a mount point, which cannot be replaced by a rename; "
                               "allowed: a folder inside it")
    if _is_nonempty_dir(out) and not overwrite:
        raise HFReasoningError(f"{str(out)!r} exists and is not empty; allowed: a new or empty folder, or overwrite=True")
    with exclusive(out, "hf-reasoning write_repo"):
        remove_stale(out.absolute().parent)
        staging_root = out.absolute().parent / f".{out.name}.repo-{os.getpid()}"
        try:
            write_repos([task], staging_root, scale, seed, configs)
            if out.exists():
                shutil.rmtree(out)
            (staging_root / task).rename(out)
        finally:
            shutil.rmtree(staging_root, ignore_errors=True)
            (staging_root.parent / f".{staging_root.name}.lock").unlink(missing_ok=True)
    return out


def check_build(tasks: Iterable[str], scale: str, seed: int, configs: Iterable[str] | None) -> dict[str, list[str]]:
    """Check a build request before any work; return the configs to build per task
    (a named config must belong to at least one of the tasks)."""
    tasks = list(dict.fromkeys(tasks))
    if not tasks:
        raise HFReasoningError("no task given; allowed: " + ", ".join(list_task_names()))
    for name in tasks:
        scale_of(get_task(name), scale)
    check_seed(seed)
    if not configs:
        return {name: get_task(name).config_names() for name in tasks}
    configs = list(dict.fromkeys(configs))
    per_task = {name: [c for c in configs if c in get_task(name).config_names()] for name in tasks}
    unmatched = [c for c in configs if not any(c in cs for cs in per_task.values())]
    if unmatched:
        check_choice("config", unmatched[0], sorted({c for n in tasks for c in get_task(n).config_names()}))
    for name, cs in per_task.items():
        for config in cs:
            get_task(name).parse_config(config)  # impossible settings fail before any work
    return {name: cs for name, cs in per_task.items() if cs}


def list_task_names() -> list[str]:
    from .tasks import TASKS

    return list(TASKS)


# -- reading and publishing ----------------------------------------------------------------

# never uploaded: hidden and temporary files, training checkpoints (optimizer state, RNG
# states: resumption data, not the model) and pickle-based weight formats
PUBLISH_IGNORE = (".*", "**/.*", "checkpoints/**", "*.bin", "*.pt", "*.pth", "*.pkl", "*.pickle", "*.ckpt")
# what hf-reasoning writes into a repo folder; anything else needs --include
EXPECTED_DATASET_FILES = ("README.md", "*/*.parquet")
EXPECTED_MODEL_FILES = (
    "README.md", "config.json", "generation_config.json", "model.safetensors", "model-*.safetensors",
    "model.safetensors.index.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
    "vocab.json", "vocab.txt", "merges.txt", "added_tokens.json", "chat_template.jinja", "training_args.json",
    "train_results.json", "eval_results.json", "metrics.jsonl", "*.png",
)


def _publish_files(folder: Path, expected=EXPECTED_MODEL_FILES, include=()) -> list[tuple[str, int]]:
    """The regular files to upload (relative path, bytes), never following a link.

    Hidden files, ``checkpoints/`` and pickle weights are skipped; a symbolic link, or a file
    that is neither expected nor named by an ``include`` pattern, is refused."""
    from fnmatch import fnmatch

    files, unexpected = [], []
    for root, dirs, names in os.walk(folder, followlinks=False):
        rel_root = Path(root).relative_to(folder)
        for name in sorted(dirs):
            rel = rel_root / name
            if name.startswith(".") or rel.parts[0] == "checkpoints":
                dirs.remove(name)  # not walked, not uploaded
            elif (Path(root) / name).is_symlink():
                raise HFReasoningError(f"{str(folder / rel)!r} is a symbolic link; allowed: regular files inside "
                                       f"{str(folder)!r} (copy the target in)")
        for name in names:
            rel, path = rel_root / name, Path(root) / name
            posix = rel.as_posix()
            if name.startswith(".") or any(fnmatch(name, pattern) for pattern in PUBLISH_IGNORE if "/" not in pattern):
                continue
            if path.is_symlink() or not path.is_file():
                raise HFReasoningError(f"{str(path)!r} is {'a symbolic link' if path.is_symlink() else 'not a regular file'}; "
                                       f"allowed: regular files inside {str(folder)!r} (copy the target in)")
            if not any(fnmatch(posix, pattern) for pattern in (*expected, *include)) or (
                    "*/*.parquet" in expected and posix.count("/") != 1 and posix.endswith(".parquet")):
                unexpected.append(posix)
            files.append((posix, path.stat().st_size))
    if unexpected:
        shown = ", ".join(sorted(unexpected)[:5]) + (f" (+{len(unexpected) - 5} more)" if len(unexpected) > 5 else "")
        raise HFReasoningError(f"{str(folder)!r} holds files hf-reasoning did not write: {shown}; allowed: remove them, "
                               "or name them with --include PATTERN to upload them")
    return sorted(files)


def publish(folder: str | os.PathLike, repo_id: str, private: bool = False, dry_run: bool = False,
            token: str | None = None, include: Iterable[str] = ()) -> list[tuple[str, int]]:
    """Upload a repo folder with ``create_repo`` + one ``create_commit``: a dataset repo folder
    (``README.md`` with a ``configs:`` block) as a dataset repo, a finished run folder
    (``config.json``) as a model repo.

    Only regular files inside the folder are uploaded, each named in the commit (links are
    refused, hidden files, checkpoints and pickle files skipped); a file hf-reasoning does not
    write is refused unless an ``include`` pattern (fnmatch on the relative path) names it.
    A run's model card is uploaded with ``repo_id`` in its loading snippet and written into
    the folder only after the upload succeeded, so a failed publish changes nothing. Returns
    the files (relative path, bytes) that are (or, with ``dry_run``, would be) uploaded."""
    from huggingface_hub import CommitOperationAdd, HfApi
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    from .cards import build_model_card, is_run_dir

    folder = Path(folder)
    if not folder.is_dir():
        raise HFReasoningError(f"{str(folder)!r} is not a folder; allowed: a dataset repo folder or a finished run folder")
    try:
        validate_repo_id(repo_id)
    except HFValidationError:
        raise HFReasoningError(f"--repo-id {repo_id!r} is not a valid Hub repo id; allowed: ORG/NAME") from None
    if "/" not in repo_id:
        raise HFReasoningError(f"--repo-id {repo_id!r} has no namespace; allowed: ORG/NAME")
    include = list(include)
    card = None
    if is_run_dir(folder):
        repo_type = "model"
        files = _publish_files(folder, EXPECTED_MODEL_FILES, include)
        if (folder / "training_args.json").is_file():  # a run of hf_reasoning.train: its card names the repo
            text = str(build_model_card(folder, repo_id=repo_id))
            card = (text if text.endswith("\n") else text + "\n").encode()
            files = sorted([*(f for f in files if f[0] != "README.md"), ("README.md", len(card))])
        title = f"model {folder.name}"
    else:
        meta = card_metadata(folder) if (folder / "README.md").is_file() else {}
        if "configs" not in meta:
            raise HFReasoningError(f"{str(folder)!r} is neither a dataset repo folder (README.md with configs) nor a "
                                   "finished run folder (config.json); allowed: a folder written by hf-reasoning build "
                                   "or hf_reasoning.train")
        repo_type = "dataset"
        title = meta.get("pretty_name", folder.name)
        files = _publish_files(folder, EXPECTED_DATASET_FILES, include)
    if dry_run:
        return files
    operations = [CommitOperationAdd(path_in_repo=name, path_or_fileobj=card if name == "README.md" and card
                                     else str(folder / name)) for name, _ in files]
    api = HfApi(token=token)
    try:
        api.create_repo(repo_id, repo_type=repo_type, private=private, exist_ok=True)
        api.create_commit(repo_id, operations, repo_type=repo_type, commit_message=f"Upload {title} with hf-reasoning")
    except Exception as exc:  # network, auth, offline mode: one line for the user
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise HFReasoningError(f"could not publish {str(folder)!r} to {repo_id!r}: {message}") from None
    if card is not None:  # the local card now names the repo it was published to
        tmp = folder / f".README.md.tmp-{os.getpid()}"
        tmp.write_bytes(card)
        os.replace(tmp, folder / "README.md")
    return files


def dataset_script_main(task: str, argv: list[str] | None = None) -> None:
    """The body of ``dataset_scripts/<task>.py``: build the task's repo folder and publish it."""
    import argparse
    import tempfile

    parser = argparse.ArgumentParser(description=f"Build and publish the `{task}` Hub dataset repo.")
    parser.add_argument("--repo-id", required=True, help="ORG/NAME of the dataset repo")
    parser.add_argument("--scale", default="paper", help="tiny, default or paper")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--private", action="store_true")
    parser.add_argument("--dry-run", action="store_true", help="build, then list what would be uploaded")
    args = parser.parse_args(argv)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = write_repo(task, Path(tmp) / task, scale=args.scale, seed=args.seed)
            for name, size in publish(folder, args.repo_id, private=args.private, dry_run=args.dry_run):
                print(f"{size:>12,}  {name}")
    except HFReasoningError as exc:
        import sys

        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
