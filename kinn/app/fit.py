"""``kinn fit data=FILE target=COLUMN``: symbolic regression of a data column.

:func:`main_fit` takes the composed ``conf/fit.yaml``, runs :func:`kinn.symbolic.fit_data`,
writes the report where Hydra put the run and says on stdout what it found and where it went.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from kinn.symbolic import SymbolicReport, fit_data, write_report

# keys of fit.yaml passed on to kinn.symbolic.fit_arrays
FIT_OPTIONS = (
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


def main_fit(cfg: Mapping) -> SymbolicReport:
    """Entry point of ``kinn fit``: ``cfg`` (a dict or Hydra DictConfig) needs ``data`` and
    ``target``; optional ``columns`` (list), ``out`` (folder, default ``.``: Hydra's run
    folder), ``plots`` and the options of :func:`kinn.symbolic.fit_arrays` (``hidden``,
    ``grid``, ``steps``, ``sparsity``, ``prune_threshold``, ``inner``, ``digits``,
    ``always_read_network``, ``seed``). Writes the report, prints the formula, its scores,
    the rows left out and the output folder, and returns the report."""
    get = cfg.get if hasattr(cfg, "get") else None
    if get is None or get("data") is None or get("target") is None:
        raise ValueError("kinn fit needs data=FILE and target=COLUMN")
    columns = get("columns")
    options = {k: get(k) for k in FIT_OPTIONS if get(k) is not None}
    report = fit_data(
        str(get("data")),
        str(get("target")),
        columns=list(columns) if columns is not None else None,
        **options,
    )
    out = Path(get("out") or ".").resolve()
    paths = write_report(report, out, plots=bool(get("plots", True)))
    lines = [f"kinn fit: {report}"]
    dropped = report.dropped_rows
    if dropped.get("count"):
        per_column = ", ".join(f"{k}: {n}" for k, n in dropped["columns"].items())
        lines.append(
            f"  dropped {dropped['count']} of {dropped['of']} rows with a {dropped['reason']} "
            f"({per_column})"
        )
    written = " ".join(p.name + ("/" if p.is_dir() else "") for p in paths.values())
    lines += [f"  outputs: {out}", f"    {written}"]
    print("\n".join(lines), flush=True)
    return report
