"""One-dimensional domains."""

from __future__ import annotations

from .geometry_nd import Box


class Interval(Box):
    """The interval ``[l, r]``; boundary parts ``"left"`` and ``"right"``."""

    def __init__(self, l: float, r: float, name: str | None = None) -> None:
        if not float(r) > float(l):
            raise ValueError(f"Interval needs l < r, got l={l!r}, r={r!r}")
        super().__init__([l], [r], name)
        self.l, self.r = float(l), float(r)

    def _face_names(self):
        return ["left", "right"]
