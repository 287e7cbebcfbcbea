"""What the trainer trains: named loss terms, plus optional points, parameters and metrics."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import nn


class Objective:
    """Base class for training objectives; only :meth:`losses` is required.

    The trainer also accepts a plain callable ``fn(model) -> dict[str, Tensor]`` and any
    object with a ``losses`` method (missing optional methods fall back to the defaults here).
    """

    def losses(self, model: nn.Module) -> dict[str, torch.Tensor]:
        """Unweighted scalar loss terms by name, e.g. ``{"pde": ..., "bc_left": ...}``."""
        raise NotImplementedError

    def parameters(self) -> Iterable[nn.Parameter]:
        """Extra trainable parameters (e.g. unknown physical constants of an inverse problem)."""
        return ()

    def resample(self, generator: torch.Generator) -> None:
        """Draw new collocation points using ``generator`` (a CPU generator) only."""

    def validate(self, model: nn.Module) -> dict[str, float]:
        """Metrics such as ``rel_l2_u``, ``rel_l2_mises`` or identified parameters."""
        return {}

    def state_dict(self) -> dict:
        """State that resume must restore (current points, point weights, ...)."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Restore what :meth:`state_dict` returned."""

    def to(self, device: torch.device, dtype: torch.dtype) -> Objective:
        """Move held tensors; the trainer calls this before training. Default: no-op."""
        return self


class _Wrapped(Objective):
    """Adapts a callable or a duck-typed object: its own optional methods win over defaults."""

    def __init__(self, inner: object, losses: Callable):
        self._inner = inner
        self._losses = losses

    def _own(self, name: str) -> Callable | None:
        method = getattr(self._inner, name, None)
        return method if callable(method) else None

    @property
    def has_state(self) -> bool:
        return self._own("state_dict") is not None

    def losses(self, model):
        return self._losses(model)

    def parameters(self):
        own = self._own("parameters")
        return own() if own else super().parameters()

    def resample(self, generator):
        own = self._own("resample")
        return own(generator) if own else super().resample(generator)

    def validate(self, model):
        own = self._own("validate")
        return own(model) if own else super().validate(model)

    def state_dict(self):
        own = self._own("state_dict")
        return own() if own else super().state_dict()

    def load_state_dict(self, state):
        own = self._own("load_state_dict")
        return own(state) if own else super().load_state_dict(state)

    def to(self, device, dtype):
        own = self._own("to")
        if own:
            own(device, dtype)
        return self


def as_objective(objective: object) -> Objective:
    """Return ``objective`` as an :class:`Objective` (see the class docstring for what fits)."""
    if isinstance(objective, Objective):
        return objective
    losses = getattr(objective, "losses", None)
    if callable(losses):
        return _Wrapped(objective, losses)
    if callable(objective):
        return _Wrapped(None, objective)
    raise ValueError(
        f"objective={objective!r}: expected an Objective, an object with a losses(model) "
        "method, or a callable fn(model) -> dict[str, Tensor]"
    )


def has_state(objective: Objective) -> bool:
    """Whether ``objective`` saves its own state (needed for exact resume with resampling)."""
    if isinstance(objective, _Wrapped):
        return objective.has_state
    return type(objective).state_dict is not Objective.state_dict
