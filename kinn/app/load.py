"""``kinn.load(run_dir)``: a run made by the ``kinn`` command, as the :class:`kinn.train.Result`
the run itself produced, from its ``config.yaml``, checkpoint, history and ``metrics.json``."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf

from kinn.train.checkpoint import load_checkpoint
from kinn.train.result import Result

CHECKPOINTS = ("last", "best")


def load(run_dir: str | os.PathLike, checkpoint: str = "last", device: str = "cpu") -> Result:
    """The run in ``run_dir`` (a folder the ``kinn`` command wrote) with its trained model.

    The problem and network are rebuilt from the run's ``config.yaml`` and the weights (and
    identified parameters of an inverse problem) read from ``checkpoints/<checkpoint>.pt``
    with ``torch.load(weights_only=True)``: ``"last"`` (the end of the run, or where it was
    interrupted) or ``"best"``. Works on finished, interrupted and resumed runs; the history
    is the checkpoint's, which a resumed run carries from its start. ``metrics`` is the run's
    ``metrics.json`` (``{}`` when it has none). The process's random state is left as it was.

    Raises:
        ValueError: ``run_dir`` is not a run folder, or has no such checkpoint (one line
            naming what is missing).
    """
    from kinn.app.build import plain
    from kinn.app.solve import build_model

    run = Path(run_dir).expanduser().resolve()
    if checkpoint not in CHECKPOINTS:
        raise ValueError(f"checkpoint must be one of {CHECKPOINTS}, got {checkpoint!r}")
    config = run / "config.yaml"
    if not config.is_file():
        raise ValueError(
            f"run_dir must be a folder the kinn command wrote (with config.yaml), got {str(run)!r}"
        )
    file = run / "checkpoints" / f"{checkpoint}.pt"
    if not file.is_file():
        raise ValueError(
            f"run_dir must hold checkpoints/{checkpoint}.pt (the run stopped before its first "
            f"checkpoint?), got {str(run)!r}"
        )
    cfg = OmegaConf.load(config)
    if not isinstance(cfg, DictConfig):
        raise ValueError(f"{config} must hold a mapping (a run's config), got a list")
    ckpt = load_checkpoint(file, map_location=device)
    with torch.random.fork_rng(devices=[]):  # building draws initial weights and points
        problem, _, _, model, _, objective, _ = build_model(cfg)
    dtype = getattr(torch, ckpt["dtype"])
    model.to(device=device, dtype=dtype)
    model.load_state_dict(ckpt["model"])
    model.eval()
    with torch.no_grad():
        for p, value in zip(objective.parameters(), ckpt["objective_parameters"]):
            p.data = value.to(device=device, dtype=dtype).clone()
    metrics = _read_json(run / "metrics.json")
    history = [dict(row) for row in ckpt["history"]]
    final = metrics.get("final_loss")
    if final is None:
        final = history[-1]["loss"] if history else math.nan
    status = metrics.get("status")  # none yet: the run was killed, or is still going
    return Result(
        model=model,
        history=history,
        final_loss=float(final),
        best=dict(ckpt["best"]),
        wall_time_s=float(ckpt["elapsed_s"]),
        steps=int(ckpt["step"]),
        checkpoint_path=file,
        stop_reason=metrics.get("stop_reason") or (status or "interrupted"),
        problem=problem,
        config=plain(cfg),
        metrics=metrics,
        run_dir=run,
    )


def _read_json(path: Path) -> dict:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}
