"""The one exception type users see, and the up-front checks that raise it.

Every failure a user can cause (a bad value, an unusable path, an unreadable model or
dataset) is reported as one line ``error: <message>`` with exit status 2 and no traceback,
and is found before anything is written: the commands call the checks below first.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

SEED_MAX = 2**32 - 1  # numpy's seed range (accelerate.set_seed seeds numpy too)
ATTENTION_IMPLEMENTATIONS = ("eager", "sdpa", "flash_attention_2", "flash_attention_3", "flex_attention")


class HFReasoningError(ValueError):
    """Invalid user input (unknown task, impossible size, unusable path …).

    The message is one line that names the bad value and what is allowed; the CLI prints it
    as ``error: <message>`` and exits with status 2, without a traceback.
    """


class Interrupted(BaseException):
    """SIGTERM or SIGINT during a command. Not a KeyboardInterrupt: typer turns those into a
    silent exit 130, and the user should read what happened to the output."""


def check_choice(kind: str, value, allowed) -> None:
    """Raise a one-line error unless ``value`` is one of ``allowed``."""
    allowed = list(allowed)
    if value not in allowed:
        raise HFReasoningError(f"unknown {kind} {value!r}; allowed: {', '.join(map(str, allowed))}")


def check_positive(name: str, value: int) -> None:
    if value <= 0:
        raise HFReasoningError(f"{name} must be a positive integer, got {value}")


def check_number(name: str, value: float, low: float | None = None, high: float | None = None, *,
                 low_open: bool = False, high_open: bool = False) -> None:
    """Raise unless ``value`` is a finite number in the interval (closed unless ``*_open``)."""
    below = low is not None and (value <= low if low_open else value < low)
    above = high is not None and (value >= high if high_open else value > high)
    if not math.isfinite(value) or below or above:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        interval = f"{left}{'-inf' if low is None else low}, {'inf' if high is None else high}{right}"
        raise HFReasoningError(f"{name} {value} is out of range; allowed: a finite number in {interval}")


def check_seed(name: str, seed: int) -> None:
    if not 0 <= seed <= SEED_MAX:
        raise HFReasoningError(f"{name} {seed} is out of range; allowed: 0 .. {SEED_MAX}")


def check_report_to(value: str) -> None:
    """``none``, ``all`` or a comma list of Accelerate's trackers."""
    from accelerate.utils import LoggerType

    known = [t.value for t in LoggerType if t.value != "all"]
    names = [name for name in value.split(",") if name]
    if value in ("none", "all"):
        return
    for name in names or [value]:
        check_choice("--report_to tracker", name, ["none", "all", *known])


def check_attention(value: str) -> None:
    """An attention implementation transformers knows (a Hub kernel ``org/name`` is passed on)."""
    if "/" not in value:
        check_choice("--attn_implementation", value, ATTENTION_IMPLEMENTATIONS)


# -- paths --------------------------------------------------------------------------------------

def _existing_ancestor(path: Path) -> Path:
    probe = path.absolute()
    while not os.path.lexists(probe) and probe != probe.parent:
        probe = probe.parent
    return probe


def check_output_dir(path: str | os.PathLike, flag: str = "--out") -> Path:
    """Raise unless ``path`` is a folder that can be written, or can be created as one: it is
    not a file, sits under no file, and its nearest existing folder is writable."""
    path = Path(path)
    if os.path.lexists(path) and not path.is_dir():
        raise HFReasoningError(f"{flag} {str(path)!r} is a file; allowed: a folder")
    probe = _existing_ancestor(path)
    if not probe.is_dir():
        raise HFReasoningError(f"{flag} {str(path)!r} lies under the file {str(probe)!r}; allowed: a path under folders")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise HFReasoningError(f"{flag} {str(path)!r} cannot be written ({str(probe)!r} is read-only or not yours); "
                               "allowed: a folder you can write")
    return path


def check_output_file(path: str | os.PathLike, flag: str) -> Path:
    """Raise unless the file ``path`` can be (re)written: not a folder, its folder writable."""
    path = Path(path)
    if path.is_dir():
        raise HFReasoningError(f"{flag} {str(path)!r} is a folder; allowed: a file path")
    if path.exists() and not os.access(path, os.W_OK):
        raise HFReasoningError(f"{flag} {str(path)!r} is read-only; allowed: a file you can write")
    check_output_dir(path.parent, flag=f"{flag} folder of")
    return path


def check_dataset_source(dataset: str, flag: str = "--dataset") -> None:
    """A dataset is a local repo folder or a Hub id ``ORG/NAME``; a path that does not exist
    is reported as such (offline, datasets would show it as a connection error)."""
    text = str(dataset)
    if os.path.isdir(text):
        return
    if os.path.lexists(text):
        raise HFReasoningError(f"{flag} {text!r} is a file; allowed: a dataset repo folder or a Hub id ORG/NAME")
    looks_like_path = text.startswith((".", "/", "~")) or text.count("/") != 1 or os.sep != "/" and os.sep in text
    if looks_like_path:
        raise HFReasoningError(f"{flag} {text!r} does not exist; allowed: a dataset repo folder or a Hub id ORG/NAME")


def os_error_message(error: OSError, path: str | os.PathLike | None = None) -> str:
    """One line for an OS error of a read or write (full disk, read-only, permissions …);
    ``path`` names the output when the error itself names none (pyarrow's do not)."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    what = error.strerror or text[:300]
    paths = [str(p) for p in (error.filename, error.filename2) if p] or ([str(path)] if path else [])
    where = " -> ".join(repr(p) for p in paths) if paths else "an output file"
    return f"cannot write or read {where}: {what}; allowed: a writable path with free space"


def exit_on_error(run, *args, interrupted: str = "nothing half-written was kept"):
    """Call ``run(*args)``; user errors become ``error: …`` on stderr and exit 2, a signal
    exit 130 with what happened to the output. Shared by the CLI and the ``python -m`` mains."""
    try:
        return run(*args)
    except HFReasoningError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    except OSError as error:  # after the up-front checks: a full disk, a folder changed meanwhile
        print(f"error: {os_error_message(error)}", file=sys.stderr)
        sys.exit(2)
    except (Interrupted, KeyboardInterrupt) as error:
        print(f"error: interrupted{f' ({error})' if str(error) else ''}; {interrupted}", file=sys.stderr)
        sys.exit(130)


class ArgumentParser(argparse.ArgumentParser):
    """argparse whose usage errors are one line ``error: …`` (exit 2) like every other error."""

    def error(self, message: str):
        raise HFReasoningError(f"{message}; allowed: the options `{self.prog} --help` lists")
