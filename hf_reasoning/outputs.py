"""Writing an output folder safely: one writer at a time, staged on the target's filesystem.

* :func:`exclusive` holds a lock file (``filelock``) beside ``--out`` for the whole write, so a
  second build or training into the same folder stops at once with a line naming the holder,
  and the "is ``--out`` empty" check and the final rename happen under one lock.
* :func:`staging_parent` is where a staging folder goes: beside the target, or inside it when
  the target is a mount point (a rename cannot cross filesystems).
* :func:`remove_stale` deletes the ``.NAME.partial-PID`` folders of builds that were killed
  (``kill -9`` skips every cleanup), once their process is gone.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from .errors import HFReasoningError

MOUNT_LOCK = ".hf_reasoning.lock"
# the staging, replaced and temporary folders hub.write_repos / write_repo leave if killed
STALE = re.compile(r"^\..+\.(partial|repo|old)-(\d+)$")


def is_mount_point(path: Path) -> bool:
    """A folder on another filesystem than its parent (a mount point, a bind mount)."""
    path = Path(path)
    if not path.is_dir():
        return False
    absolute = path.absolute()
    return os.path.ismount(absolute) or absolute.stat().st_dev != absolute.parent.stat().st_dev


def staging_parent(out: Path) -> Path:
    """The folder that holds ``out``'s staging folder: on ``out``'s own filesystem."""
    out = Path(out)
    return out if is_mount_point(out) else out.absolute().parent


def lock_path(out: Path) -> Path:
    out = Path(out)
    return out / MOUNT_LOCK if is_mount_point(out) else out.absolute().parent / f".{out.name}.lock"


def bookkeeping(name: str) -> bool:
    """Files of ours that do not make a folder non-empty (the lock, staging folders)."""
    return name == MOUNT_LOCK or name == "lost+found" or bool(STALE.match(name))


@contextmanager
def exclusive(out: str | os.PathLike, what: str = "writing", flag: str = "--out") -> Iterator[None]:
    """Hold the lock of ``out`` for the duration; a second writer gets a one-line error."""
    out = Path(out)
    path = lock_path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(path), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        try:
            holder = path.read_text().strip() or "another process"
        except OSError:
            holder = "another process"
        raise HFReasoningError(f"{flag} {str(out)!r} is being written by {holder} (lock {str(path)!r}); "
                               f"allowed: one writer at a time: wait for it, or choose another {flag}") from None
    try:
        path.write_text(f"process {os.getpid()} on {socket.gethostname()} ({what}, since "
                        f"{time.strftime('%Y-%m-%d %H:%M:%S')})\n")
        yield
    finally:
        # no lock file is left beside the output; a writer that opened it just before the
        # unlink and locks it after the release still re-checks --out under its lock
        path.unlink(missing_ok=True)
        lock.release()


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def remove_stale(parent: Path) -> list[Path]:
    """Remove the ``.NAME.partial-PID`` (and ``.repo-``/``.old-``) folders in ``parent`` whose
    process is gone; returns them."""
    removed = []
    if not Path(parent).is_dir():
        return removed
    for entry in Path(parent).iterdir():
        match = STALE.match(entry.name)
        if match and entry.is_dir() and not entry.is_symlink():
            pid = int(match.group(2))
            if pid != os.getpid() and not process_alive(pid):
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(entry)
    return removed
