"""Metrics history: one row per logged step, written as CSV and JSON."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

from kinn.train.checkpoint import atomic_write_text


class History:
    """Rows of metrics (``step``, ``stage``, ``loss``, ``loss_<term>``, ``lr``, ``time_s``, ...).

    Rows may have different keys (validation metrics appear only where computed); the CSV
    has the union of keys in first-seen order, with blanks where a row lacks one.
    """

    def __init__(self, rows: list[dict] | None = None):
        self.rows: list[dict] = [dict(r) for r in rows or []]

    def append(self, row: dict) -> None:
        self.rows.append(dict(row))

    def columns(self) -> list[str]:
        seen: dict[str, None] = {}
        for row in self.rows:
            seen.update(dict.fromkeys(row))
        return list(seen)

    def to_csv(self) -> str:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=self.columns(), restval="", lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows)
        return buf.getvalue()

    def to_json(self) -> str:
        return json.dumps(self.rows, indent=1)

    def write(self, out_dir: str | os.PathLike) -> None:
        """Write ``history.csv`` and ``history.json`` into ``out_dir``, each atomically."""
        out_dir = Path(out_dir)
        atomic_write_text(self.to_csv(), out_dir / "history.csv")
        atomic_write_text(self.to_json(), out_dir / "history.json")
