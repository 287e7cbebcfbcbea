"""The comparison table of a sweep (``kinn -m model=kan,mlp ...``): one row per job, failed
jobs included with their error."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from kinn._files import atomic_write_text


def objective(metrics: dict) -> float:
    """A run's figure of merit, what a sweeper such as Optuna minimises: the relative L2
    error of the problem's first field with a reference (the first entry of ``rel_l2`` in
    ``metrics.json``: ``u`` for the Poisson problems), else the final loss; NaN for a run
    that did not finish."""
    if metrics.get("status") != "finished":
        return math.nan
    errors = metrics.get("rel_l2") or {}
    return float(next(iter(errors.values()), metrics.get("final_loss", math.nan)))


def collect(sweep_dir: Path) -> list[dict]:
    """Rows from every ``<sweep_dir>/<job>/metrics.json``, in job order."""
    rows = []
    for path in Path(sweep_dir).glob("*/metrics.json"):
        m = json.loads(path.read_text())
        row = {
            "job": path.parent.name,
            "status": m.get("status", "finished"),
            "problem": m.get("problem"),
            "model": m.get("model"),
            "form": m.get("form"),
            "params": m.get("parameters"),
        }
        row.update({f"rel_l2_{k}": v for k, v in (m.get("rel_l2") or {}).items()})
        row["wall_time_s"] = m.get("wall_time_s")
        if m.get("error"):
            row["error"] = m["error"]
        row["overrides"] = " ".join(m.get("overrides") or [])
        rows.append(row)
    rows.sort(
        key=lambda r: (not r["job"].isdigit(), int(r["job"]) if r["job"].isdigit() else 0, r["job"])
    )
    return rows


def _columns(rows: list[dict]) -> list[str]:
    seen: dict[str, None] = {}
    for row in rows:
        seen.update(dict.fromkeys(row))
    last = [c for c in ("error", "overrides") if c in seen]
    return [c for c in seen if c not in last] + last


def _cell(column: str, value: Any) -> str:
    if value is None:
        return "-"
    if column == "error" and len(str(value)) > 60:
        return str(value)[:57] + "..."  # the whole message is in sweep.csv
    if isinstance(value, float):
        return f"{value:.1f}" if column.endswith("_s") else f"{value:.3e}"
    return str(value)


def format_table(rows: list[dict]) -> str:
    """A fixed-width text table; blank where a job lacks a field."""
    cols = _columns(rows)
    body = [[_cell(c, r.get(c)) for c in cols] for r in rows]
    widths = [max(len(c), *(len(b[i]) for b in body)) for i, c in enumerate(cols)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(b, widths)) for b in body]
    return "\n".join(line.rstrip() for line in lines)


def write_csv(rows: list[dict], path: Path) -> Path:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=_columns(rows), restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return atomic_write_text(buf.getvalue(), path)


class SweepTable(Callback):
    """Hydra callback: after a multirun, print the table and write ``sweep.csv`` beside the jobs."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir).resolve()
        rows = collect(sweep_dir)
        if not rows:
            print(f"kinn: sweep finished; no metrics.json under {sweep_dir}")
            return
        path = write_csv(rows, sweep_dir / "sweep.csv")
        print(f"\nkinn: sweep of {len(rows)} runs\n{format_table(rows)}\n  table: {path}")
