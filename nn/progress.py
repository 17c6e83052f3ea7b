"""The progress display of ``fit``/``evaluate``: a live bar on a terminal, a line otherwise.

On a tty, the bar is redrawn in place (``\\r``) at most every 0.05 s and finished with a
newline.  When stdout is not a tty (a log file, CI, a notebook capture) nothing is drawn
until the end, and one final line is printed, so logs get one line per epoch, not a flood.
"""
from __future__ import annotations

import sys
import time
from typing import IO, Optional

__all__ = ["Progbar", "format_logs"]


def format_logs(logs: dict) -> str:
    return " - ".join(f"{k}: {v:.4f}" for k, v in logs.items())


def _fmt_time(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.0f}s" if seconds >= 10 else f"{seconds:.1f}s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms"
    return f"{seconds * 1e6:.0f}us"


class Progbar:
    """``Progbar(total); update(step, logs); finish(logs)``."""

    def __init__(self, total: int, width: int = 30, stream: Optional[IO] = None,
                 interval: float = 0.05, live: Optional[bool] = None) -> None:
        self.total = None if total is None else max(int(total), 0)  # None: unknown
        self.width = width
        self.stream = stream or sys.stdout
        self.interval = interval
        if live is None:
            isatty = getattr(self.stream, "isatty", None)
            live = bool(isatty and isatty())
        self.live = live
        self.start = time.perf_counter()
        self._last = 0.0
        self._len = 0

    def _line(self, step: int, logs: dict, done: bool) -> str:
        elapsed = time.perf_counter() - self.start
        if self.total is None:                  # unknown length: no bar, no ETA
            per = elapsed / step if step else 0.0
            timing = f"{_fmt_time(elapsed)} {_fmt_time(per)}/step"
            extra = format_logs(logs)
            return f"{step}/Unknown - {timing}" + (f" - {extra}" if extra else "")
        n = len(str(self.total))
        frac = step / self.total if self.total else 1.0
        filled = int(self.width * frac)
        arrow = ">" if filled < self.width and not done else ""
        bar = "=" * filled + arrow + "." * (self.width - filled - len(arrow))
        per = elapsed / step if step else 0.0
        if done:
            timing = f"{_fmt_time(elapsed)} {_fmt_time(per)}/step"
        else:
            timing = f"ETA {_fmt_time(per * (self.total - step))}"
        extra = format_logs(logs)
        return f"{step:>{n}}/{self.total} [{bar}] - {timing}" + (f" - {extra}" if extra else "")

    def update(self, step: int, logs: dict) -> None:
        if not self.live or (self.total is not None and step >= self.total):  # the last step is drawn by finish()
            return
        now = time.perf_counter()
        if now - self._last < self.interval:
            return
        self._last = now
        self._write(self._line(step, logs, done=False), end="")

    def finish(self, step: int, logs: dict) -> None:
        self._write(self._line(step, logs, done=True), end="\n")

    def _write(self, line: str, end: str) -> None:
        if self.live:
            pad = max(self._len - len(line), 0)
            self.stream.write("\r" + line + " " * pad + end)
            self._len = 0 if end else len(line)
        else:
            self.stream.write(line + end)
        self.stream.flush()
