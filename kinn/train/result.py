"""What a training run leaves: the trained model, its history and, when a problem is known,
predictions, references and errors. :meth:`Trainer.fit` returns it, the ``kinn`` command
writes its files from it and :func:`kinn.load` rebuilds it from a run directory."""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from kinn.train.validation import relative_l2


@dataclass
class Evaluation:
    """The model on the problem's evaluation set, as float64 numpy arrays.

    ``points (n, d)``; ``cells``: meshio-style ``[(type, (m, k) int array)]``, the
    problem's own or, without them, lines, triangles or tetrahedra of the points kept inside
    the geometry (:func:`kinn.io.cells_of`);
    ``fields``: every field and derived field ``name -> (n,)``; ``reference``: the fields
    with a reference ``name -> (n,)``; ``error``: prediction - reference for those;
    ``rel_l2``: relative L2 error per field with a reference.
    """

    points: np.ndarray
    cells: list | None
    fields: dict[str, np.ndarray]
    reference: dict[str, np.ndarray]
    error: dict[str, np.ndarray]
    rel_l2: dict[str, float]


@dataclass
class Result:
    """A trained model with its run: what :meth:`Trainer.fit` returns and :func:`kinn.load`
    reads back.

    ``history`` holds one dict per logged step (``step``, ``stage``, ``loss``,
    ``loss_<term>``, ``lr``, ``time_s``, adaptive ``weight_<term>``, validation metrics where
    computed). ``best`` is ``{"monitor", "value", "step"}``. ``stop_reason`` is
    ``"completed"``, ``"early_stopping"`` or ``"callback"`` (a loaded run that was stopped
    by hand: ``"interrupted"``).

    ``problem`` is the :class:`kinn.pde.Problem` (or any object with ``evaluate`` and
    ``evaluation_set``) the model solves, when known: the trainer takes it from its
    objective's ``problem``; the ``kinn`` command and :func:`kinn.load` set it. ``config``
    is the run's composed config as plain containers, ``metrics`` its ``metrics.json``,
    ``run_dir`` its folder (all empty for a run trained in Python).
    """

    model: nn.Module
    history: list[dict]
    final_loss: float
    best: dict
    wall_time_s: float
    steps: int
    checkpoint_path: Path | None
    stop_reason: str = "completed"
    problem: Any = None
    config: dict | None = None
    metrics: dict = field(default_factory=dict)
    run_dir: Path | None = None

    # ---- what the run is ---------------------------------------------------------------------
    @property
    def network(self) -> nn.Module:
        """The bare network (the model without the problem's input scaling and constraints)."""
        return getattr(self.model, "net", self.model)

    @property
    def geometry(self):
        """The problem's geometry (None without a problem)."""
        return getattr(self.problem, "geometry", None)

    @property
    def name(self) -> str:
        """A short label for titles: ``problem | model`` and the run folder's name."""
        problem = self.metrics.get("problem") or getattr(self.problem, "name", None)
        model = (
            self.metrics.get("model")
            or ((self.config or {}).get("model") or {}).get("name")
            or type(self.network).__name__
        )
        parts = [str(p) for p in (problem, model) if p]
        if self.run_dir is not None:
            parts.append(Path(self.run_dir).name)
        return " | ".join(parts)

    @property
    def fields(self) -> tuple[str, ...]:
        """Names :meth:`predict` returns: the problem's fields, then its derived fields."""
        names = tuple(getattr(self.problem, "fields", ()) or ())
        return names + tuple(getattr(self.problem, "derived", {}) or {})

    # ---- predictions -------------------------------------------------------------------------
    def predict(self, x, derivatives: str = "auto") -> dict[str, np.ndarray]:
        """Every field and derived field (e.g. ``mises``) at physical points ``x (N, d)``
        (numpy or torch): ``name -> (N,)`` float64 numpy arrays. Without a problem: the
        model's outputs ``u0, u1, ...``."""
        param = next(self.model.parameters(), None)
        dtype = param.dtype if param is not None else torch.get_default_dtype()
        device = param.device if param is not None else torch.device("cpu")
        x = torch.as_tensor(np.asarray(x) if not torch.is_tensor(x) else x)
        x = x.to(device=device, dtype=dtype)
        was_training = self.model.training
        self.model.eval()
        try:
            if self.problem is not None and hasattr(self.problem, "evaluate"):
                evaluate = self.problem.evaluate
                # An own problem's evaluate may take no derivatives= (the app's protocol).
                if "derivatives" in inspect.signature(evaluate).parameters:
                    out = evaluate(self.model, x, derivatives=derivatives)
                else:
                    out = evaluate(self.model, x)
            else:
                with torch.no_grad():
                    u = self.model(x)
                out = {f"u{i}": u[:, i] for i in range(u.shape[1])}
        finally:
            self.model.train(was_training)
        return {k: _numpy(v).reshape(len(x), -1).squeeze(1) for k, v in out.items()}

    def exact(self, x) -> dict[str, np.ndarray]:
        """The problem's exact solution at ``x (N, d)``: ``field -> (N,)`` float64 numpy
        arrays, or ``{}`` when the problem has none (a reference on points only)."""
        solution = getattr(getattr(self.problem, "reference", None), "solution", None)
        if solution is None:
            return {}
        from kinn.pde.problem import reference_jet

        x = torch.as_tensor(np.asarray(x) if not torch.is_tensor(x) else x)
        value = _numpy(reference_jet(solution, x.to(torch.float64)).value)
        return {f: value[:, i] for i, f in enumerate(self.problem.fields)}

    def evaluate(self) -> Evaluation:
        """The model on the problem's evaluation set (its reference points, or a
        triangulation or grid of the geometry) with cells, references and errors."""
        if self.problem is None or not hasattr(self.problem, "evaluation_set"):
            raise ValueError(
                "result.problem must be a problem with evaluation_set(), got "
                f"{type(self.problem).__name__}"
            )
        es = self.problem.evaluation_set()
        points = _numpy(es.points)
        points = points.reshape(points.shape[0], -1)
        pred = self.predict(es.points)
        ref = {k: _numpy(v).reshape(-1) for k, v in (es.reference or {}).items() if k in pred}
        error = {k: pred[k] - ref[k] for k in ref}
        rel_l2 = {k: relative_l2(torch.from_numpy(pred[k]), torch.from_numpy(ref[k])) for k in ref}
        from kinn.io import cells_of  # numpy and scipy only

        cells = cells_of(points, self.geometry, getattr(es, "cells", None))
        return Evaluation(points, cells, pred, ref, error, rel_l2)

    def loss_terms(self) -> list[str]:
        """Names of the loss terms in the history (the ``loss_<term>`` columns)."""
        seen: dict[str, None] = {}
        for row in self.history:
            seen.update({k[5:]: None for k in row if k.startswith("loss_")})
        return list(seen)

    def __repr__(self) -> str:
        where = f", run_dir={str(self.run_dir)!r}" if self.run_dir else ""
        return (
            f"Result({self.name or type(self.network).__name__}, steps={self.steps}, "
            f"final_loss={self.final_loss:.4g}, stop_reason={self.stop_reason!r}{where})"
        )


def _numpy(value: Any) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().to(torch.float64).numpy()
    return np.asarray(value, dtype=np.float64)
