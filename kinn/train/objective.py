"""What the trainer trains: named loss terms, plus optional points, parameters and metrics."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import nn


class Objective:
    """Base class of training objectives; only :meth:`losses` is required.

    The trainer takes an ``Objective``. A plain function ``fn(model) -> dict[str, Tensor]``
    becomes one with ``Objective.from_losses(fn)``.
    """

    @classmethod
    def from_losses(cls, fn: Callable[[nn.Module], dict[str, torch.Tensor]]) -> Objective:
        """An objective whose :meth:`losses` is ``fn`` and that has nothing else (no points to
        resample, no parameters, no metrics, no state)."""
        if not callable(fn):
            raise ValueError(f"fn must be a callable fn(model) -> dict[str, Tensor], got {fn!r}")
        return _Losses(fn)

    def losses(self, model: nn.Module) -> dict[str, torch.Tensor]:
        """Unweighted scalar loss terms by name, e.g. ``{"pde": ..., "bc_left": ...}``."""
        raise NotImplementedError

    def residuals(self, model: nn.Module) -> dict[str, torch.Tensor]:
        """Pointwise residuals of least-squares terms, for Gauss-Newton stages (optional).

        Returns ``{name: r}`` with ``r`` of shape ``(n,)`` or ``(n, k)``, one entry per loss
        term, such that ``losses(model)[name] == (r ** 2).mean()`` (the mean over all
        entries). The trainer's loss is then ``sum_i weight_i * mean(r_i ** 2)``, and a
        ``Stage("gauss_newton")`` works on the stacked vector of ``sqrt(weight_i / r_i.numel())
        * r_i``. Objectives whose terms are not mean squares (energies, integrals) leave this
        unimplemented; the trainer then refuses Gauss-Newton stages.
        """
        raise NotImplementedError

    def shard(self, comm) -> None:
        """Keep only this rank's share of the points, for distributed training (optional).

        ``comm`` is the trainer's :class:`kinn.train.distributed.Communicator`. From now on
        (resampling included) :meth:`losses` returns each term's *share*: values whose sum
        over the ranks is the term on the union of the shards, e.g. ``sum(r ** 2) / n_all``
        for a mean square over ``n_all`` points in all, the rank's own part of the sum for a
        quadrature integral. :meth:`residuals` returns this rank's rows (the trainer divides
        by the row count over all ranks). :meth:`state_dict` must stay the same on every
        rank (the whole point set), since rank 0 alone writes checkpoints; it may use
        ``comm``'s collectives, which every rank calls. Objectives without it are
        replicated: every rank computes the whole loss.
        """
        raise NotImplementedError

    def parameters(self) -> Iterable[nn.Parameter]:
        """Extra trainable parameters (e.g. unknown physical constants of an inverse problem)."""
        return ()

    def resample(self, generator: torch.Generator) -> None:
        """Draw new collocation points using ``generator`` (a CPU generator) only."""

    def adapt(self) -> None:
        """Let adaptive state (e.g. residual-based point weights) update at the next call of
        :meth:`losses`, and only then (optional).

        The trainer calls this once before each step of a first-order stage. Every other
        evaluation (line-search trials, the repeated evaluations of quasi-Newton and
        Gauss-Newton steps, validations) must see the state unchanged: a line search and
        curvature pairs compare values of one fixed loss.
        """

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


class _Losses(Objective):
    """What :meth:`Objective.from_losses` returns."""

    def __init__(self, fn: Callable[[nn.Module], dict[str, torch.Tensor]]):
        self.fn = fn

    def losses(self, model):
        return self.fn(model)

    def __repr__(self) -> str:
        return f"Objective.from_losses({self.fn!r})"


def overrides(objective: Objective, name: str) -> bool:
    """Whether ``objective`` implements the optional method ``name`` itself."""
    return getattr(type(objective), name) is not getattr(Objective, name)
