"""A one-line progress display on stderr (no third-party dependency)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressLine:
    """Rewrites one terminal line with ``\\r``: step/total, stage, loss, error metric, it/s.

    Silent unless ``enabled`` and the stream is a TTY, so logs and CI output stay clean.
    Redraws at most every ``interval`` seconds because terminal writes are slow.
    """

    def __init__(
        self, total: int, enabled: bool = True, stream: TextIO | None = None, interval: float = 0.1
    ):
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled and hasattr(self.stream, "isatty") and self.stream.isatty()
        self.total = total
        self.interval = interval
        self._last_draw = 0.0
        self._start_time = time.perf_counter()
        self._start_step: int | None = None
        self._width = 0

    def update(
        self,
        step: int,
        stage: str,
        loss: float,
        metric: tuple[str, float] | None = None,
        force: bool = False,
    ) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        if self._start_step is None:
            self._start_step, self._start_time = step, now
        if not force and now - self._last_draw < self.interval:
            return
        self._last_draw = now
        rate = (step - self._start_step) / max(now - self._start_time, 1e-9)
        text = f"{step}/{self.total} [{stage}] loss={loss:.4e}"
        if metric is not None:
            text += f" {metric[0]}={metric[1]:.3e}"
        text += f" {rate:.1f} it/s"
        pad = max(0, self._width - len(text))
        self._width = len(text)
        self.stream.write("\r" + text + " " * pad)
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self._width:
            self.stream.write("\n")
            self.stream.flush()
            self._width = 0
