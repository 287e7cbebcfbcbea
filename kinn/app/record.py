"""A run's ``metrics.json`` says how it ended: ``"status"`` is ``finished``, ``failed`` or
``interrupted``, so a run directory tells by itself whether it can be trusted or resumed.

No torch import here: a run can fail before torch is loaded.
"""

from __future__ import annotations

import json
import traceback
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from kinn._files import atomic_write_text

FINISHED, FAILED, INTERRUPTED = "finished", "failed", "interrupted"
ERROR_LOG = "error.log"


def write_json(data: dict, path: Path) -> Path:
    return atomic_write_text(json.dumps(data, indent=2, default=_jsonable) + "\n", path)


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy and torch scalars
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _identity(cfg: DictConfig, out: Path, overrides: list[str]) -> dict:
    return {
        "problem": OmegaConf.select(cfg, "problem.name", default=None),
        "model": OmegaConf.select(cfg, "model.name", default=None),
        "overrides": overrides,
        "run_dir": str(out),
    }


def record_failure(cfg: DictConfig, out: Path, error: str, overrides: list[str], bug: bool) -> dict:
    """Mark the run in ``out`` failed with ``error``; a bug also keeps its traceback in
    ``error.log`` (call from inside the ``except`` block)."""
    data = {"status": FAILED, "error": error, **_identity(cfg, out, overrides)}
    if bug:
        atomic_write_text(traceback.format_exc(), out / ERROR_LOG)
        data["error_log"] = str(out / ERROR_LOG)
    write_json(data, out / "metrics.json")
    return data


def record_interrupt(cfg: DictConfig, out: Path, overrides: list[str]) -> str:
    """Mark the run in ``out`` interrupted; returns what to tell the user."""
    last = out / "checkpoints" / "last.pt"
    resume = f"kinn +resume={out}" if last.is_file() else None
    data = {
        "status": INTERRUPTED,
        "checkpoint": str(last) if resume else None,
        "resume": resume,
        **_identity(cfg, out, overrides),
    }
    write_json(data, out / "metrics.json")
    return f"continue with: {resume}" if resume else "no checkpoint yet"
