"""Reading data files, writing reports (text, LaTeX, JSON) and per-edge plots; the entry point
``kinn fit data=FILE target=COLUMN`` calls :func:`main_fit`."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch

from .network import SymbolicKAN, _edge_grids, _layers
from .regress import SymbolicReport, fit_arrays

__all__ = ["fit_data", "load_table", "main_fit", "plot_edges", "write_report"]

_FIT_OPTIONS = (
    "hidden",
    "grid",
    "steps",
    "sparsity",
    "prune_threshold",
    "inner",
    "digits",
    "always_read_network",
    "seed",
)


def load_table(path: str | Path) -> dict[str, np.ndarray]:
    """Columns of a CSV file (header row of names) or an NPZ file (one 1-D array per name)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"data file {str(path)!r} does not exist")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        table = np.genfromtxt(path, delimiter=",", names=True, dtype=np.float64, encoding="utf-8")
        if table.dtype.names is None:
            raise ValueError(f"{path} needs a header row of column names")
        columns = {
            name: np.atleast_1d(table[name]).astype(np.float64) for name in table.dtype.names
        }
    elif suffix == ".npz":
        with np.load(path) as data:
            columns = {k: np.asarray(data[k], dtype=np.float64).reshape(-1) for k in data.files}
    else:
        raise ValueError(f"data file must end in .csv or .npz, got {path.name!r}")
    lengths = {k: v.size for k, v in columns.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"columns of {path.name} differ in length: {lengths}")
    return columns


def fit_data(
    path: str | Path, target: str, columns: Sequence[str] | None = None, **options
) -> SymbolicReport:
    """Read ``path`` (CSV or NPZ), fit ``target`` from ``columns`` (default: all other
    columns) with :func:`kinn.symbolic.fit_arrays` (``options`` are passed on)."""
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
    rows = np.all(np.isfinite(np.stack([table[c] for c in [*columns, target]], 1)), axis=1)
    X = np.stack([table[c][rows] for c in columns], 1)
    return fit_arrays(X, table[target][rows], names=columns, target=target, **options)


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


def main_fit(cfg: Mapping) -> SymbolicReport:
    """Entry point of ``kinn fit``: ``cfg`` (a dict or Hydra DictConfig) needs ``data`` and
    ``target``; optional ``columns`` (list), ``out`` (folder, default ``.``: Hydra's run
    folder) and the options of :func:`kinn.symbolic.fit_arrays` (``hidden``, ``grid``,
    ``steps``, ``sparsity``, ``prune_threshold``, ``inner``, ``digits``,
    ``always_read_network``, ``seed``). Writes the report and returns it."""
    get = cfg.get if hasattr(cfg, "get") else None
    if get is None or get("data") is None or get("target") is None:
        raise ValueError("kinn fit needs data=FILE and target=COLUMN")
    columns = get("columns")
    options = {k: get(k) for k in _FIT_OPTIONS if get(k) is not None}
    report = fit_data(
        str(get("data")),
        str(get("target")),
        columns=list(columns) if columns is not None else None,
        **options,
    )
    write_report(report, get("out") or ".", plots=bool(get("plots", True)))
    print(report)
    return report
