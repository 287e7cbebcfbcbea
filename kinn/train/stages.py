"""Training stages: which optimizer runs for how many steps, and how its learning rate moves."""

from __future__ import annotations

import inspect
import math
import warnings
from collections.abc import Callable, Iterable
from typing import Any

import torch

from kinn.train.optim import LBFGS, SSBFGS, GaussNewton, SSBroyden

_OPTIMIZERS: dict[str, Callable[..., torch.optim.Optimizer]] = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "sgd": torch.optim.SGD,
    "lbfgs": LBFGS,
    "ssbfgs": SSBFGS,
    "ssbroyden": SSBroyden,
    "gauss_newton": GaussNewton,
}


def _closure_kind(optimizer: str) -> str | None:
    return getattr(_OPTIMIZERS[optimizer], "closure_kind", None)


_DENSE = ("ssbfgs", "ssbroyden")  # a dense n x n inverse Hessian, refused past max_params
_DENSE_LIMIT = int(inspect.signature(SSBroyden).parameters["max_params"].default)
# what a dense stage may fall back to: the other optimizers whose closure returns the loss
_FALLBACKS = tuple(sorted(k for k in _OPTIMIZERS if k not in _DENSE and _closure_kind(k) == "loss"))
_SCHEDULERS = ("cosine", "exponential", "step", "multistep")


def default_lr(optimizer: str) -> float:
    """The optimizer class's own default learning rate (Adam, AdamW, SGD: 1e-3; the
    quasi-Newton and Gauss-Newton optimizers: 1.0, the full step)."""
    if optimizer not in _OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {sorted(_OPTIMIZERS)}, got {optimizer!r}")
    return float(inspect.signature(_OPTIMIZERS[optimizer]).parameters["lr"].default)


class Stage:
    """One phase of training, e.g. ``Stage("adam", 2000, 1e-3)`` then ``Stage("lbfgs", 200)``.

    Args:
        optimizer: first-order ``"adam"``, ``"adamw"``, ``"sgd"``; quasi-Newton ``"lbfgs"``,
            ``"ssbfgs"``, ``"ssbroyden"`` (:mod:`kinn.train.optim`, strong-Wolfe line search;
            the last two keep a dense float64 inverse Hessian, for networks up to ~20k
            parameters); or ``"gauss_newton"`` (damped Gauss-Newton, the natural gradient of
            least-squares losses; needs an objective with ``residuals``).
        steps: number of trainer steps in this stage. For the quasi-Newton and Gauss-Newton
            optimizers one step is one ``optimizer.step(closure)``, i.e. ``max_iter``
            iterations (default 1); their curvature information carries over between steps.
        lr: learning rate; ``None`` takes the optimizer's own default (:func:`default_lr`):
            1e-3 for Adam, AdamW and SGD, 1.0 (the first trial step of the line search, or
            the multiple of the Gauss-Newton step) for the others.
        scheduler: ``None``, ``"cosine"`` (to ``eta_min=0`` over the stage), ``"exponential"``
            (10x decay over the stage), ``"step"`` (x0.1 every third of the stage), or a dict
            ``{"name": one of those or "multistep", **kwargs}`` whose keys override the
            defaults and are passed to the matching ``torch.optim.lr_scheduler`` class.
        grid: grid extension (Rigas et al. 2024): before the stage starts, every B-spline KAN
            layer of the model whose grid differs is refined onto ``grid`` intervals
            (:meth:`kinn.nn.KAN.refine`, exact on a multiple of the old grid, uniform grids
            stay uniform); the stage's optimizer then starts on the new parameters (a new
            stage starts a fresh optimizer anyway). ``None``: keep the grid.
        fallback: for ``"ssbfgs"`` and ``"ssbroyden"`` only: the optimizer that runs the
            stage instead (with the same options, less ``max_params``, and a warning) when
            the model has more than ``max_params`` parameters, where the dense one would
            refuse it; e.g. ``"lbfgs"``. ``None``: refuse, with the sizes.
        **optimizer_kwargs: passed to the optimizer (``betas``, ``weight_decay``,
            ``momentum``; ``history_size``, ``max_iter``, ``max_evals``, ``max_params``;
            ``damping``, ``max_tries``, ...).
    """

    def __init__(
        self,
        optimizer: str,
        steps: int,
        lr: float | None = None,
        scheduler: str | dict | None = None,
        grid: int | None = None,
        fallback: str | None = None,
        **optimizer_kwargs: Any,
    ):
        if optimizer not in _OPTIMIZERS:
            raise ValueError(f"optimizer={optimizer!r}: expected one of {sorted(_OPTIMIZERS)}")
        if fallback is not None:
            if optimizer not in _DENSE:
                raise ValueError(
                    f"fallback={fallback!r}: only {sorted(_DENSE)} stages fall back, "
                    f"not optimizer={optimizer!r}"
                )
            if fallback not in _FALLBACKS:
                raise ValueError(
                    f"fallback={fallback!r}: expected one of {list(_FALLBACKS)} or None"
                )
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
            raise ValueError(f"steps={steps!r}: expected a positive integer")
        if lr is None:
            lr = default_lr(optimizer)
        if isinstance(lr, bool) or not isinstance(lr, int | float) or not math.isfinite(lr):
            raise ValueError(f"lr={lr!r}: expected a positive finite number or None")
        if lr <= 0:
            raise ValueError(f"lr={lr!r}: expected a positive finite number or None")
        _scheduler_spec(scheduler, steps)  # fail at construction, not hours into a run
        if grid is not None and (isinstance(grid, bool) or not isinstance(grid, int) or grid < 1):
            raise ValueError(f"grid must be a positive integer or None, got {grid!r}")
        self.grid = grid
        self.fallback = fallback
        self.optimizer = optimizer
        self.steps = steps
        self.lr = float(lr)
        self.scheduler = scheduler
        self.optimizer_kwargs = dict(optimizer_kwargs)

    @property
    def closure_kind(self) -> str | None:
        """``None`` for first-order optimizers (the trainer computes the gradient, then calls
        ``step()``); ``"loss"`` or ``"residuals"`` for those that call a closure themselves
        (see :class:`kinn.train.optim.ClosureOptimizer`)."""
        return _closure_kind(self.optimizer)

    @property
    def fixed_objective(self) -> bool:
        """Whether the loss must stay fixed during the stage: line searches, curvature pairs
        and damping ratios compare losses, so the trainer neither resamples points nor
        updates adaptive weights."""
        return self.closure_kind is not None

    def build(
        self, params: Iterable[torch.nn.Parameter]
    ) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler | None]:
        """Create this stage's optimizer over ``params`` and its scheduler (or ``None``)."""
        params = list(params)
        name, kwargs = self.optimizer, self.optimizer_kwargs
        if self.fallback is not None:
            n = sum(p.numel() for p in params)
            limit = kwargs.get("max_params", _DENSE_LIMIT)
            if n > limit:
                warnings.warn(
                    f"{name!r} stage: the model has {n} parameters, more than max_params="
                    f"{limit} for a dense inverse Hessian; the stage runs {self.fallback!r}",
                    RuntimeWarning,
                    stacklevel=2,
                )
                name = self.fallback
                kwargs = {k: v for k, v in kwargs.items() if k != "max_params"}
        try:
            opt = _OPTIMIZERS[name](params, lr=self.lr, **kwargs)
        except TypeError as err:
            raise ValueError(f"optimizer_kwargs={kwargs!r} for {name!r}: {err}") from err
        spec = _scheduler_spec(self.scheduler, self.steps)
        if spec is None:
            return opt, None
        name, kw = spec
        classes = {
            "cosine": torch.optim.lr_scheduler.CosineAnnealingLR,
            "exponential": torch.optim.lr_scheduler.ExponentialLR,
            "step": torch.optim.lr_scheduler.StepLR,
            "multistep": torch.optim.lr_scheduler.MultiStepLR,
        }
        try:
            return opt, classes[name](opt, **kw)
        except TypeError as err:
            raise ValueError(f"scheduler={self.scheduler!r}: {err}") from err

    def to_dict(self) -> dict:
        """Plain description, stored in checkpoints to check that a resume matches."""
        out = {"optimizer": self.optimizer, "steps": self.steps, "lr": self.lr}
        if self.grid is not None:
            out["grid"] = self.grid
        if self.fallback is not None:
            out["fallback"] = self.fallback
        return out

    def __repr__(self) -> str:
        extra = "".join(f", {k}={v!r}" for k, v in self.optimizer_kwargs.items())
        sched = f", scheduler={self.scheduler!r}" if self.scheduler is not None else ""
        grid = f", grid={self.grid}" if self.grid is not None else ""
        grid += f", fallback={self.fallback!r}" if self.fallback is not None else ""
        return f"Stage({self.optimizer!r}, steps={self.steps}, lr={self.lr}{sched}{grid}{extra})"


def _scheduler_spec(scheduler: str | dict | None, steps: int) -> tuple[str, dict] | None:
    """Resolve a scheduler spec into (name, kwargs with defaults filled in)."""
    if scheduler is None:
        return None
    if isinstance(scheduler, str):
        name, kw = scheduler, {}
    elif isinstance(scheduler, dict) and isinstance(scheduler.get("name"), str):
        kw = {k: v for k, v in scheduler.items() if k != "name"}
        name = scheduler["name"]
    else:
        raise ValueError(
            f"scheduler={scheduler!r}: expected None, one of {list(_SCHEDULERS)}, "
            "or a dict with a 'name' key"
        )
    if name not in _SCHEDULERS:
        raise ValueError(f"scheduler name {name!r}: expected one of {list(_SCHEDULERS)}")
    defaults = {
        "cosine": {"T_max": steps},
        "exponential": {"gamma": 0.1 ** (1.0 / steps)},
        "step": {"step_size": max(1, steps // 3), "gamma": 0.1},
        "multistep": {},
    }[name]
    if name == "multistep" and "milestones" not in kw:
        raise ValueError(f"scheduler={scheduler!r}: 'multistep' needs 'milestones'")
    return name, {**defaults, **kw}
