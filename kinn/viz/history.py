"""Training histories: loss per term and validation errors over the steps; sweeps compared."""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path

from ._figure import new_figure

__all__ = ["plot_history", "plot_sweep"]


def plot_history(result, title: str | None = None):
    """Loss terms (``loss`` and every ``loss_<term>``, log scale), validation errors
    (``rel_l2_*`` and ``*_err``, log scale) and identified parameters (``param_*`` values)
    against the step, with the stage changes marked. ``result``: a
    :class:`kinn.train.Result` or a list of history rows. Returns the figure."""
    rows = result if isinstance(result, list) else result.history
    if not rows:
        raise ValueError("result must have a non-empty history, got no rows")
    run = "" if isinstance(result, list) else result.name
    columns = _columns(rows)
    losses = [c for c in columns if c == "loss" or c.startswith("loss_")]
    errors = [c for c in columns if c.startswith("rel_l2_") or c.endswith(("_err", "_rel_err"))]
    values = [c for c in columns if c.startswith("param_") and c not in errors]
    panels = 1 + bool(errors) + bool(values)
    fig = new_figure(5.5 * panels, 3.8)
    axes = list(fig.subplots(1, panels, squeeze=False)[0])
    ax = axes.pop(0)
    for column in losses:
        steps, ys = _series(rows, "step", column)
        style = {"color": "k", "lw": 1.8} if column == "loss" else {"lw": 1.2}
        label = "total (weighted)" if column == "loss" else column[5:]
        ax.plot(steps, [abs(v) for v in ys], label=label, **style)
    _log_if_positive(ax, rows, losses)
    ax.set_xlabel("step")
    ax.set_ylabel("loss (absolute value)")
    ax.set_title("loss terms")
    _mark_stages(ax, rows)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    for group, ylabel, heading in (
        (errors, "error", "validation errors"),
        (values, "value", "identified parameters"),
    ):
        if not group:
            continue
        ax = axes.pop(0)
        for column in group:
            steps, ys = _series(rows, "step", column)
            ax.plot(steps, ys, marker="o", ms=3, label=column)
        if group is errors:
            _log_if_positive(ax, rows, group)
        ax.set_xlabel("step")
        ax.set_ylabel(ylabel)
        ax.set_title(heading)
        _mark_stages(ax, rows)
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.suptitle(title or (f"training history  [{run}]" if run else "training history"))
    return fig


def plot_sweep(sweep: str | os.PathLike, error: str | None = None):
    """A sweep made by ``kinn -m ...``: each finished job's validation error against the step
    and against wall time, one line per job, coloured by model (the models of
    ``sweep.csv``; a job's other overrides name its line when a model has several jobs).
    ``sweep``: the sweep folder or its ``sweep.csv``; ``error``: the history column (default:
    the first ``rel_l2_*`` column). Returns the figure."""
    path = Path(sweep)
    folder = path.parent if path.suffix == ".csv" else path
    table = folder / "sweep.csv"
    if not table.is_file():
        raise ValueError(f"sweep must be a sweep folder holding sweep.csv, got {str(sweep)!r}")
    with open(table, newline="") as f:
        jobs = [row for row in csv.DictReader(f) if row.get("status") == "finished"]
    if not jobs:
        raise ValueError(f"sweep {str(folder)!r} has no finished job in sweep.csv")
    models = list(dict.fromkeys(row["model"] for row in jobs))
    per_model = {m: sum(row["model"] == m for row in jobs) for m in models}
    fig = new_figure(11, 4.0)
    axes = fig.subplots(1, 2)
    styles = ("-", "--", ":", "-.")
    seen: dict[str, int] = {}
    column = error
    for row in jobs:
        rows = _read_history(folder / row["job"])
        if column is None:
            column = next((c for c in _columns(rows) if c.startswith("rel_l2_")), None)
            if column is None:
                raise ValueError(f"sweep {str(folder)!r}: the histories have no rel_l2_* column")
        steps, values = _series(rows, "step", column)
        times, _ = _series(rows, "time_s", column)
        if not values:
            continue
        model = row["model"]
        k = seen[model] = seen.get(model, -1) + 1
        label = model
        if per_model[model] > 1:
            other = [o for o in row.get("overrides", "").split() if not o.startswith("model=")]
            label += f" ({' '.join(other) or 'job ' + row['job']})"
        style = {"color": f"C{models.index(model)}", "ls": styles[k % len(styles)], "lw": 1.5}
        axes[0].plot(steps, values, label=label, **style)
        axes[1].plot(times, values, label=label, **style)
    for ax, xlabel in zip(axes, ("step", "wall time (s)")):
        ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(column or "error")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
    axes[0].set_title(f"{column} against steps")
    axes[1].set_title(f"{column} against wall time")
    fig.suptitle(f"sweep {folder.name}: {len(jobs)} finished jobs")
    return fig


def _columns(rows: list[dict]) -> list[str]:
    seen: dict[str, None] = {}
    for row in rows:
        seen.update(dict.fromkeys(row))
    return list(seen)


def _series(rows: list[dict], x: str, y: str) -> tuple[list[float], list[float]]:
    xs, ys = [], []
    for row in rows:
        a, b = _number(row.get(x)), _number(row.get(y))
        if a is not None and b is not None:
            xs.append(a)
            ys.append(b)
    return xs, ys


def _number(value) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _log_if_positive(ax, rows: list[dict], columns: list[str]) -> None:
    values = [abs(v) for c in columns for v in _series(rows, "step", c)[1]]
    if values and min(values) > 0:
        ax.set_yscale("log")


def _mark_stages(ax, rows: list[dict]) -> None:
    last = None
    for row in rows:
        stage = row.get("stage")
        if last is not None and stage != last:
            ax.axvline(_number(row.get("step")) or 0, color="gray", lw=0.8, ls="--")
        last = stage


def _read_history(run_dir: Path) -> list[dict]:
    for path in (run_dir / "history.csv", run_dir / "checkpoints" / "history.csv"):
        if path.is_file():
            with open(path, newline="") as f:
                return list(csv.DictReader(f))
    return []
