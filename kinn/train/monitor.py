"""Watching a history column: the best value so far, and early stopping.

Both keep their state in plain dicts so that checkpoints stay ``weights_only``-loadable.
"""

from __future__ import annotations


def parse_early_stopping(spec: dict | None) -> dict | None:
    """Validate ``{"monitor": "loss", "patience": steps, "min_delta": 0.0, "mode": "min"}``."""
    if spec is None:
        return None
    if not isinstance(spec, dict):
        raise ValueError(f"early_stopping={spec!r}: expected None or a dict")
    unknown = set(spec) - {"monitor", "patience", "min_delta", "mode"}
    if unknown:
        raise ValueError(
            f"early_stopping keys {sorted(unknown)}: expected monitor, patience, min_delta, mode"
        )
    out = {"monitor": "loss", "min_delta": 0.0, "mode": "min", **spec}
    patience = out.get("patience")
    if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
        raise ValueError(f"early_stopping patience={patience!r}: expected a positive integer")
    if not isinstance(out["min_delta"], int | float) or out["min_delta"] < 0:
        raise ValueError(f"early_stopping min_delta={out['min_delta']!r}: expected >= 0")
    if out["mode"] not in ("min", "max"):
        raise ValueError(f"early_stopping mode={out['mode']!r}: expected 'min' or 'max'")
    out["min_delta"] = float(out["min_delta"])
    return out


def update_best(best: dict, row: dict, monitor: str | None, mode: str = "min") -> dict | None:
    """The new ``{"monitor", "value", "step"}`` if ``row`` improves on ``best``, else ``None``.

    With ``monitor=None`` the loss is watched until a ``rel_l2_*`` validation metric appears;
    from then on that metric is (an error against the reference says more than the loss).
    """
    key = monitor
    if key is None:
        key = best.get("monitor", "loss")
        if key == "loss":
            key = next((k for k in row if k.startswith("rel_l2")), "loss")
    if key not in row:
        return None
    value = row[key]
    if best.get("monitor") == key:
        improved = value < best["value"] if mode == "min" else value > best["value"]
        if not improved:
            return None
    return {"monitor": key, "value": value, "step": row["step"]}


def should_stop(state: dict, row: dict, spec: dict, validated: bool) -> bool:
    """Update ``state`` (best value and its step) from ``row``; True once patience runs out.

    Raises ``ValueError`` if a validation row lacks the monitored column (a misspelt metric
    would otherwise never stop anything).
    """
    key = spec["monitor"]
    if key not in row:
        if validated:
            raise ValueError(
                f"early_stopping monitor={key!r}: expected one of the history columns {sorted(row)}"
            )
        return False
    value = row[key] if spec["mode"] == "min" else -row[key]
    if not state or value < state["best"] - spec["min_delta"]:
        state.update(best=value, step=row["step"])
        return False
    return row["step"] - state["step"] >= spec["patience"]


def main_metric(rows: list[dict]) -> tuple[str, float] | None:
    """The latest ``rel_l2_*`` value, for the progress display."""
    for row in reversed(rows):
        for key, value in row.items():
            if key.startswith("rel_l2"):
                return key, value
    return None
