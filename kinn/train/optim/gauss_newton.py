"""Gauss-Newton (Levenberg-Marquardt) steps for least-squares losses ``L = |r|^2``.

For a PINN loss made of squared residuals of a linear PDE this is the energy natural
gradient of Müller & Zeinhofer (ICML 2023): the Gram matrix ``J^T J`` of the residuals'
Jacobian is the Gauss-Newton matrix, and the step solves

    (J^T J + lambda I) delta = -J^T r

with Levenberg-Marquardt damping ``lambda = mu * max eig(J^T J)``, then takes the step
``eta * delta`` with the best ``eta`` of the grid ``lr * 2^-k`` (backtracking while the loss
keeps improving, as the energy natural gradient's line search does). ``mu`` adapts like
Levenberg-Marquardt's: 10x smaller after a full step (``eta = lr``), 10x larger after a step
of ``lr / 8`` or less, between ``damping`` and 1. Only a decrease of the actual loss is
accepted, so a non-finite trial point is simply rejected. A small damping keeps the
directions of small singular values, where the last digits of a PINN loss live: from the
same start on 1-D Poisson (an MLP and a B-spline KAN), this reached losses 1e3-1e6 times
lower in 40 steps than damping controlled by the gain ratio (Nielsen's rule), which kept
``mu`` near 1e-7 and crawled.

The Jacobian ``J (M, n)`` is built explicitly, one backward pass per residual ("rows") or one
double-backward pass per parameter ("columns", through ``create_graph``; chosen when
``M > 4 n``), so it works through any module with a (double-)backward, kinn's KAN layers
included; the step comes from one thin SVD of ``J``. The Jacobian dominates the cost (a step
costs some hundreds of L-BFGS iterations' worth of passes; each trial step one evaluation of
the residuals), so this is for small networks: ``n`` up to a few thousand parameters, ``M``
up to a few thousand residuals.

Distributed (a ``communicator`` set by the trainer): each rank builds the Jacobian rows of its
own residuals, and the rows of all ranks are gathered, in rank order, into the whole ``J``
and ``r`` on every rank, which then solve the same problem. Gathering rows, rather than
summing the normal equations ``J^T J`` and ``J^T r`` across ranks, keeps the SVD of ``J``
above (the Gram matrix would square its condition number) and the step of one process; the
price is ``M x n`` numbers per step through the network, no more than the SVD itself reads.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch

from ._base import ClosureOptimizer
from .quasi_newton import _check_count, _check_positive

_ROUTES = ("auto", "rows", "columns")
_MAX_JACOBIAN_ENTRIES = 2**28  # 2 GiB of float64


class GaussNewton(ClosureOptimizer):
    """Damped Gauss-Newton (natural-gradient) steps; ``closure()`` returns the residuals.

    ``closure()`` must return the residual vector ``r (M,)`` with its graph (no
    ``backward()``); the loss is ``sum(r ** 2)``. Weighted mean-squared terms
    ``w_i mean(r_i ** 2)`` enter as ``sqrt(w_i / n_i) r_i`` (the trainer does this from an
    objective's ``residuals(model)``).

    Args:
        lr: the longest step tried, as a multiple of the damped Gauss-Newton step.
        damping: the smallest and first ``mu`` (damping relative to ``max eig(J^T J)``).
        max_tries: trial steps per iteration (``lr`` down to ``lr * 2^-(max_tries-1)``);
            without a decrease the parameters stay and ``mu`` grows.
        jacobian: ``"rows"``, ``"columns"`` or ``"auto"`` (columns when ``M > 4 n``).
        max_params: refuse larger networks, with a message (``J`` and its SVD are dense).
    """

    closure_kind = "residuals"

    def __init__(
        self,
        params: Iterable[torch.nn.Parameter],
        lr: float = 1.0,
        *,
        damping: float = 1e-12,
        max_tries: int = 12,
        jacobian: str = "auto",
        max_params: int = 20_000,
    ):
        _check_positive("lr", lr)
        _check_positive("damping", damping)
        _check_count("max_tries", max_tries)
        _check_count("max_params", max_params)
        if jacobian not in _ROUTES:
            raise ValueError(f"jacobian must be one of {_ROUTES}, got {jacobian!r}")
        defaults = dict(
            lr=float(lr),
            damping=float(damping),
            max_tries=max_tries,
            jacobian=jacobian,
            max_params=max_params,
        )
        super().__init__(params, defaults)
        if self._numel > max_params:
            n = self._numel
            raise ValueError(
                f"GaussNewton parameters must number at most max_params={max_params}, got {n}: "
                f"its Jacobian needs a backward pass per residual or parameter and a dense "
                f"SVD with up to {n} x {n} factors ({8 * n * n / 2**30:.1f} GiB). Use "
                f"Stage('ssbroyden', ...) or Stage('lbfgs', ...) for a network this size, or "
                f"pass max_params={n}."
            )

    def step(self, closure: Callable[[], torch.Tensor]) -> torch.Tensor:  # type: ignore[override]
        """One damped Gauss-Newton iteration; returns the loss ``sum(r**2)`` before it."""
        if closure is None:
            raise ValueError("GaussNewton.step needs a closure returning the residuals, got None")
        group = self.param_groups[0]
        st = self._store
        if not st:
            st.update(numel=self._numel, iterations=0, evals=0, mu=None, stall_loss=None)
        r = self._residuals(closure)
        rho = self._rows(r.detach().reshape(-1).to(torch.float64))
        loss0 = float(rho @ rho)
        loss = r.detach().square().sum() if self.communicator is None else rho.square().sum()
        if not math.isfinite(loss0) or st["stall_loss"] == loss0:
            return loss
        J = self._rows(self._jacobian(r, group["jacobian"], rho.numel()))
        del r  # frees the graph before the trial evaluations
        if not bool(torch.isfinite(J).all()):
            st["stall_loss"] = loss0  # the same point would give the same Jacobian again
            return loss
        solve, e_max = _damped_solver(J, rho)
        mu = st["mu"] if st["mu"] is not None else group["damping"]
        p = solve(mu * e_max)
        x, lr = self._gather(), group["lr"]
        # Backtracking on the grid lr * 2^-k: halve while the loss keeps improving.
        best_loss, best_eta = loss0, 0.0
        for k in range(group["max_tries"]):
            eta = lr * 0.5**k
            self._scatter(x + eta * p)
            rt = self._residuals(closure).detach().reshape(-1).to(torch.float64)
            square = rt @ rt
            if self.communicator is not None:
                square = self.communicator.sum(square.reshape(1))
            trial = float(square)
            if math.isfinite(trial) and trial < best_loss:
                best_loss, best_eta = trial, eta
            elif best_eta > 0:
                break
        self._scatter(x + best_eta * p if best_eta > 0 else x)
        if best_eta == lr:  # the model was trusted fully: damp less
            mu = max(mu / 10, group["damping"])
        elif best_eta <= lr / 8:  # it was trusted too far: damp more (towards the gradient)
            if best_eta == 0.0 and mu >= 1.0:
                st["stall_loss"] = loss0  # even a gradient-sized step does not decrease it
            mu = min(mu * 10, 1.0)
        st["mu"] = mu
        st["iterations"] += int(best_eta > 0)
        return loss

    def _residuals(self, closure) -> torch.Tensor:
        with torch.enable_grad():
            r = closure()
        self._store["evals"] += 1
        if not isinstance(r, torch.Tensor) or r.ndim != 1:
            shape = tuple(r.shape) if isinstance(r, torch.Tensor) else type(r).__name__
            raise ValueError(
                f"GaussNewton closure must return the residual vector (M,), got {shape}"
            )
        return r

    def _rows(self, x: torch.Tensor) -> torch.Tensor:
        """Every rank's rows of ``x`` in rank order (``x`` itself in one process)."""
        return x if self.communicator is None else self.communicator.gather_rows(x)

    def _jacobian(self, r: torch.Tensor, route: str, total: int | None = None) -> torch.Tensor:
        """``d r / d x``: ``(m, n)`` float64 for this rank's ``m`` residuals of ``total``
        (default ``m``)."""
        m, n = r.numel(), self._numel
        total = m if total is None else total
        if total * n > _MAX_JACOBIAN_ENTRIES:
            raise ValueError(
                f"GaussNewton residuals x parameters must be at most {_MAX_JACOBIAN_ENTRIES}, "
                f"got {total} x {n}: the Jacobian would take {8 * total * n / 2**30:.1f} GiB. "
                "Use fewer collocation points, or Stage('ssbroyden', ...)."
            )
        if route == "auto":
            # A double-backward pass costs 1-5 backward passes (kinn's B-spline layers have a
            # fused backward but differentiate their backward in plain PyTorch). Every rank
            # decides from the total, so that all take the same route.
            route = "rows" if total <= 4 * n else "columns"
        J = torch.zeros(m, n, dtype=torch.float64, device=r.device)
        if route == "rows":
            onehot = torch.zeros_like(r)
            for i in range(m):
                onehot[i] = 1.0
                grads = torch.autograd.grad(
                    r, self._params, onehot, retain_graph=True, allow_unused=True
                )
                onehot[i] = 0.0
                J[i] = _flat(grads, self._params)
            return J
        u = torch.zeros_like(r, requires_grad=True)
        with torch.enable_grad():
            grads = torch.autograd.grad(r, self._params, u, create_graph=True, allow_unused=True)
            g = torch.cat(
                [
                    (gi if gi is not None else torch.zeros_like(p)).reshape(-1)
                    for gi, p in zip(grads, self._params)
                ]
            )
        if not g.requires_grad:
            return J
        for j in range(n):
            (col,) = torch.autograd.grad(g[j], u, retain_graph=True, allow_unused=True)
            if col is not None:
                J[:, j] = col
        return J


def _flat(grads, params) -> torch.Tensor:
    return torch.cat(
        [
            (g if g is not None else torch.zeros_like(p)).reshape(-1).to(torch.float64)
            for g, p in zip(grads, params)
        ]
    )


def _damped_solver(J: torch.Tensor, r: torch.Tensor):
    """``(solve, e_max)``: ``solve(lam) = -(J^T J + lam I)^-1 J^T r`` from one thin SVD
    ``J = U diag(s) V^T`` (not the Gram matrix, whose eigenvalues square the condition number
    and lose the small directions a small loss lives in); ``e_max = max s^2``."""
    U, s, Vh = torch.linalg.svd(J, full_matrices=False)
    c = s * (U.T @ r)  # J^T r in the basis V

    def solve(lam):
        return -(Vh.T @ (c / (s * s + lam)))

    return solve, max(float(s[0]) ** 2, 1e-300) if s.numel() else 1e-300
