"""Training stages: which optimizer runs for how many steps, and how its learning rate moves."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch

_OPTIMIZERS = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "sgd": torch.optim.SGD,
    "lbfgs": torch.optim.LBFGS,
}
_SCHEDULERS = ("cosine", "exponential", "step", "multistep")


class Stage:
    """One phase of training, e.g. ``Stage("adam", 2000, 1e-3)`` then ``Stage("lbfgs", 200, 1.0)``.

    Args:
        optimizer: ``"adam"``, ``"adamw"``, ``"sgd"`` or ``"lbfgs"``.
        steps: number of trainer steps in this stage. For L-BFGS one step is one
            ``optimizer.step(closure)``, i.e. ``max_iter`` iterations (default 1), each with a
            strong-Wolfe line search (``max_eval`` defaults to at least 26 evaluations per
            step so the search has room); its curvature history carries over between steps.
        lr: learning rate (for L-BFGS the initial step length, usually 1.0).
        scheduler: ``None``, ``"cosine"`` (to ``eta_min=0`` over the stage), ``"exponential"``
            (10x decay over the stage), ``"step"`` (x0.1 every third of the stage), or a dict
            ``{"name": one of those or "multistep", **kwargs}`` whose keys override the
            defaults and are passed to the matching ``torch.optim.lr_scheduler`` class.
        **optimizer_kwargs: passed to the torch optimizer (``betas``, ``weight_decay``,
            ``momentum``, ``history_size``, ``max_iter``, ...).
    """

    def __init__(
        self,
        optimizer: str,
        steps: int,
        lr: float,
        scheduler: str | dict | None = None,
        **optimizer_kwargs: Any,
    ):
        if optimizer not in _OPTIMIZERS:
            raise ValueError(f"optimizer={optimizer!r}: expected one of {sorted(_OPTIMIZERS)}")
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
            raise ValueError(f"steps={steps!r}: expected a positive integer")
        if isinstance(lr, bool) or not isinstance(lr, int | float) or not math.isfinite(lr):
            raise ValueError(f"lr={lr!r}: expected a positive finite number")
        if lr <= 0:
            raise ValueError(f"lr={lr!r}: expected a positive finite number")
        _scheduler_spec(scheduler, steps)  # fail at construction, not hours into a run
        self.optimizer = optimizer
        self.steps = steps
        self.lr = float(lr)
        self.scheduler = scheduler
        self.optimizer_kwargs = dict(optimizer_kwargs)

    @property
    def is_lbfgs(self) -> bool:
        return self.optimizer == "lbfgs"

    def build(
        self, params: Iterable[torch.nn.Parameter]
    ) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler | None]:
        """Create this stage's optimizer over ``params`` and its scheduler (or ``None``)."""
        kwargs = dict(self.optimizer_kwargs)
        if self.is_lbfgs:
            kwargs.setdefault("max_iter", 1)
            kwargs.setdefault("line_search_fn", "strong_wolfe")
            # torch caps the line search at max_eval minus the evaluations already spent;
            # its default (max_iter * 5 // 4 = 1 for max_iter=1) would leave no line search.
            kwargs.setdefault("max_eval", max(kwargs["max_iter"] * 5 // 4, 1 + 25))
        try:
            opt = _OPTIMIZERS[self.optimizer](list(params), lr=self.lr, **kwargs)
        except TypeError as err:
            raise ValueError(
                f"optimizer_kwargs={self.optimizer_kwargs!r} for {self.optimizer!r}: {err}"
            ) from err
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
        return {"optimizer": self.optimizer, "steps": self.steps, "lr": self.lr}

    def __repr__(self) -> str:
        extra = "".join(f", {k}={v!r}" for k, v in self.optimizer_kwargs.items())
        sched = f", scheduler={self.scheduler!r}" if self.scheduler is not None else ""
        return f"Stage({self.optimizer!r}, steps={self.steps}, lr={self.lr}{sched}{extra})"


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
