"""Reading data files, writing reports (text, LaTeX, JSON) and per-edge plots."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from .network import SymbolicKAN, _edge_grids, _layers
from .regress import _MIN_SAMPLES, SymbolicReport, fit_arrays

__all__ = ["fit_data", "load_table", "plot_edges", "write_report"]

# why fit_data leaves a row out
_DROP_REASON = "missing or non-finite value"


def load_table(path: str | Path) -> dict[str, np.ndarray]:
    """Columns of a CSV file (a header row of names, which may start with ``#``) or an NPZ
    file (one 1-D array per name), each ``(N,)``.

    A column of numbers comes back as float64, with NaN for an empty field. A column holding
    anything else (text) comes back as it was read, as strings: :func:`fit_data` names it
    when it is used.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"data file {str(path)!r} does not exist")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        table = np.genfromtxt(path, delimiter=",", names=True, dtype=object, encoding="utf-8")
        if table.dtype.names is None:
            raise ValueError(f"{path} needs a header row of column names")
        columns = {name: _column(np.atleast_1d(table[name])) for name in table.dtype.names}
    elif suffix == ".npz":
        with np.load(path) as data:
            columns = {k: _column(np.asarray(data[k]).reshape(-1)) for k in data.files}
    else:
        raise ValueError(f"data file must end in .csv or .npz, got {path.name!r}")
    lengths = {k: v.size for k, v in columns.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"columns of {path.name} differ in length: {lengths}")
    return columns


def _number(text: str) -> float | None:
    """The number in a field (NaN when it is empty), or None when it holds something else."""
    text = text.strip()
    if not text:
        return math.nan
    try:
        return float(text)
    except ValueError:
        return None


def _column(values: np.ndarray) -> np.ndarray:
    """float64 when every entry is a number or empty (NaN), else the entries as strings."""
    if values.dtype.kind in "biuf":
        return values.astype(np.float64)
    text = [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in values]
    numbers = [_number(v) for v in text]
    return np.array(text) if None in numbers else np.array(numbers, dtype=np.float64)


def _per_column(counts: dict[str, int]) -> str:
    return ", ".join(f"{name}: {n}" for name, n in counts.items())


def fit_data(
    path: str | Path, target: str, columns: Sequence[str] | None = None, **options
) -> SymbolicReport:
    """Read ``path`` (CSV or NPZ), fit ``target`` from ``columns`` (default: all other
    columns) with :func:`kinn.symbolic.fit_arrays` (``options`` are passed on).

    Rows with a missing or non-finite value in a used column are left out; the report's
    ``dropped_rows`` says how many, and in which columns.
    """
    path = Path(path)
    table = load_table(path)
    if target not in table:
        raise ValueError(f"target {target!r} is not a column of {path}; columns: {list(table)}")
    columns = [c for c in table if c != target] if columns is None else list(columns)
    missing = [c for c in columns if c not in table]
    if missing or not columns or target in columns:
        raise ValueError(
            f"columns must be non-empty names of {list(table)} other than the target, "
            f"got {columns!r}"
        )
    used = [*columns, target]
    for name in used:
        if table[name].dtype.kind != "f":
            row, value = next(
                (row, str(v)) for row, v in enumerate(table[name], 1) if _number(str(v)) is None
            )
            raise ValueError(
                f"column {name!r} of {path.name} must hold numbers, got {value!r} in data row "
                f"{row}; name the input columns with columns=[...]"
            )
    finite = {name: np.isfinite(table[name]) for name in used}
    rows = np.all(np.stack(list(finite.values()), 1), axis=1)
    dropped = {
        "count": int((~rows).sum()),
        "of": int(rows.size),
        "reason": _DROP_REASON,
        "columns": {name: int((~ok).sum()) for name, ok in finite.items() if not ok.all()},
    }
    if rows.sum() < _MIN_SAMPLES:
        raise ValueError(
            f"{path.name} must have at least {_MIN_SAMPLES} rows with a number in every used "
            f"column, got {int(rows.sum())} of {rows.size} (rows with a {_DROP_REASON}: "
            f"{_per_column(dropped['columns'])})"
        )
    X = np.stack([table[c][rows] for c in columns], 1)
    report = fit_arrays(X, table[target][rows], names=columns, target=target, **options)
    report.dropped_rows = dropped
    return report


def _json_safe(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def write_report(report: SymbolicReport, out: str | Path, plots: bool = True) -> dict[str, Path]:
    """Write ``formula.txt``, ``formula.tex``, ``report.json`` and (with ``plots``) one PNG per
    network edge under ``out/edges``; returns the paths written by kind."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"text": out / "formula.txt", "latex": out / "formula.tex", "json": out / "report.json"}
    paths["text"].write_text(str(report) + "\n", encoding="utf-8")
    paths["latex"].write_text(
        f"\\[ {report.target} = {report.latex} \\]\n", encoding="utf-8"
    )  # fmt: skip
    paths["json"].write_text(
        json.dumps(_json_safe(report.as_dict()), indent=2, allow_nan=False), encoding="utf-8"
    )
    if plots and report.model is not None:
        paths["edges"] = out / "edges"
        plot_edges(report.model, paths["edges"], report.model_inputs)
    return paths


def plot_edges(model: torch.nn.Module, out: str | Path, x: torch.Tensor | None = None) -> list:
    """One PNG per unmasked edge ``layer{l}_{i}_{o}.png``: the network's edge function and, for
    locked edges of a :class:`SymbolicKAN`, the symbolic one. Ranges come from the batch ``x``
    when given, else from each layer's ``domain_bounds()``. Leaves matplotlib's backend and
    pyplot's figures alone."""
    from matplotlib.figure import Figure

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    sym = model if isinstance(model, SymbolicKAN) else SymbolicKAN(model)
    layers = _layers(sym)
    written = []
    with torch.no_grad():
        for index, (layer, (_, grid)) in enumerate(zip(layers, _edge_grids(sym, x, 200))):
            dtype = next(layer.parameters()).dtype
            values = layer.edge_values(grid.to(dtype)).double()
            locked = sym.locked(index)
            for i, o in torch.nonzero(layer.edge_mask > 0).tolist():
                fig = Figure(figsize=(3.2, 2.4), dpi=100)
                ax = fig.add_subplot()
                ax.plot(grid[:, i], values[:, i, o], label="network")
                if (i, o) in locked:
                    edge = locked[(i, o)]
                    ax.plot(grid[:, i], edge(grid[:, i]), "--", label=edge.candidate.name)
                    ax.legend(fontsize=7)
                ax.set_title(f"layer {index}: {i} -> {o}", fontsize=8)
                fig.tight_layout()
                path = out / f"layer{index}_{i}_{o}.png"
                fig.savefig(path)
                written.append(path)
    return written
