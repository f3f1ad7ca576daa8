"""Progress bars: a live bar when stderr is a terminal, plain lines otherwise (a log file or
CI then gets readable lines, not carriage-return redraws). Imports nothing of the package, so
every layer can use it.
"""

from __future__ import annotations

import sys
import time


class LineProgress:
    """What a log file gets instead of a redrawn bar: one line per tenth of the work (and at
    most one a minute otherwise), e.g. ``train 300/3000 (10%) 41 s, 7.3 it/s, loss=0.0312``."""

    def __init__(self, total: int | None, desc: str, initial: int = 0, disable: bool = False, unit: str = "it",
                 file=None, min_seconds: float = 60.0):
        self.total, self.desc, self.n, self.disable, self.unit = total, desc, initial, disable, unit
        self.file = file or sys.stderr
        self.every = max(1, (total or 0) // 10)
        self.started = self.last_line = time.perf_counter()
        self.min_seconds, self.initial, self.postfix = min_seconds, initial, ""

    def update(self, n: int = 1) -> None:
        self.n += n
        now = time.perf_counter()
        if (self.n // self.every != (self.n - n) // self.every) or now - self.last_line >= self.min_seconds \
                or self.n == self.total:
            self._line(now)

    def set_postfix(self, **values) -> None:
        self.postfix = ", ".join(f"{k}={v}" for k, v in values.items())

    def _line(self, now: float) -> None:
        if self.disable:
            return
        self.last_line = now
        elapsed = now - self.started
        rate = (self.n - self.initial) / elapsed if elapsed > 0 else 0.0
        of = f"/{self.total} ({100 * self.n / self.total:.0f}%)" if self.total else ""
        tail = f", {self.postfix}" if self.postfix else ""
        print(f"{self.desc} {self.n}{of} {elapsed:.0f} s, {rate:.1f} {self.unit}/s{tail}", file=self.file, flush=True)

    def close(self) -> None:
        pass


def progress_bar(total: int | None, desc: str, *, initial: int = 0, disable: bool = False, unit: str = "it"):
    """A tqdm bar on a terminal, :class:`LineProgress` lines otherwise (logs, CI, pipes)."""
    if sys.stderr.isatty():
        from tqdm.auto import tqdm

        return tqdm(total=total, initial=initial, disable=disable, desc=desc, unit=unit)
    return LineProgress(total, desc, initial=initial, disable=disable, unit=unit)


def quiet_library_bars() -> None:
    """Off a terminal, silence the libraries' own bars (``datasets``' per-split bars,
    ``transformers``' shard writing, ``huggingface_hub``'s transfers): one redrawn line each."""
    if not sys.stderr.isatty():
        import datasets
        import huggingface_hub.utils
        import transformers

        datasets.disable_progress_bars()
        huggingface_hub.utils.disable_progress_bars()
        transformers.utils.logging.disable_progress_bar()
