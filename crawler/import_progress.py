"""The import's progress line on a terminal: records, rate, share of the input read, ETA.

Drawn on standard error only when it is a terminal (a pipe or a log file gets the summary
line alone), at most a few times a second. The share and the ETA come from the bytes read
(of the compressed file for ``.gz``); standard input has no size: records and rate only.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from typing import IO


class Progress:
    def __init__(self, total_bytes: int | None, position: Callable[[], int] | None = None,
                 out: IO[str] | None = None, interval: float = 0.25) -> None:
        self.total = total_bytes or None
        self.position = position
        self.out = out or sys.stderr
        self.interval = interval
        self.start = time.monotonic()
        self._last = 0.0
        self._drawn = False

    @classmethod
    def for_input(cls, path: str, stream_position: Callable[[], int] | None = None) -> Progress | None:
        """A progress line for importing `path`, or None when standard error is not a terminal."""
        if not sys.stderr.isatty():
            return None
        total = None
        if path != "-":
            try:
                total = os.path.getsize(path)
            except OSError:
                total = None
        return cls(total, stream_position)

    def update(self, decompressed_bytes: int, records: int, *, final: bool = False) -> None:
        now = time.monotonic()
        if now - self._last < self.interval and not final:
            return
        self._last = now
        self.out.write("\r" + self.line(decompressed_bytes, records, now - self.start) + "\033[K")
        self.out.flush()
        self._drawn = True

    def line(self, decompressed_bytes: int, records: int, elapsed: float) -> str:
        rate = records / elapsed if elapsed > 0 else 0.0
        text = f"import: {records:,} records, {rate:,.0f}/s"
        done = self.position() if self.position is not None else decompressed_bytes
        if self.total and done:
            share = min(done / self.total, 1.0)
            eta = elapsed * (1 - share) / share if share > 0 else 0.0
            text += f", {share:5.1%} read, ETA {_clock(eta)}"
        return text

    def close(self) -> None:
        if self._drawn:
            self.out.write("\n")
            self.out.flush()
            self._drawn = False


def _clock(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"
