"""Quasi-Newton optimizers with a strong-Wolfe line search: L-BFGS, and the dense
self-scaled BFGS and Broyden updates of Al-Baali (1998), which Urbán, Stefanou & Pons
(J. Comput. Phys. 2025) and Kiyani et al. (2025) use to train PINNs and PIKANs to errors
orders of magnitude below L-BFGS.

All of them see the parameters as one float64 vector ``x (n,)`` and minimise the loss that
``closure()`` returns (after its own ``backward()``, as for ``torch.optim.LBFGS``). One
``step(closure)`` runs ``max_iter`` iterations: a direction ``p = -H g``, a strong-Wolfe line
search along it, and an update of the inverse-Hessian approximation ``H`` from
``s = x_new - x`` and ``y = g_new - g``.

Guards: a trial point with a non-finite loss or gradient only shrinks the line search; an
update whose curvature ``y.s`` is not positive (or not finite) is skipped; a direction that is
not a descent direction, or a line search that finds no decrease, restarts from ``H = I``. If
steepest descent finds no decrease either, the step leaves the parameters unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch

from ._base import ClosureOptimizer
from .line_search import Point, strong_wolfe

# y.s below this fraction of |y| |s| carries no usable curvature (round-off).
_CURVATURE_EPS = 1e-10


class _QuasiNewton(ClosureOptimizer):
    """The iteration shared by every quasi-Newton method; subclasses own ``H``.

    Subclasses implement ``_direction(g) -> p`` (``-H g``), ``_update(s, y, t, g)`` and
    ``_reset()`` (forget the curvature, ``H = I``), and ``_fresh()`` (no curvature yet).
    """

    def __init__(
        self,
        params: Iterable[torch.nn.Parameter],
        lr: float = 1.0,
        *,
        max_iter: int = 1,
        max_evals: int = 25,
        c1: float = 1e-4,
        c2: float = 0.9,
        tolerance_grad: float = 0.0,
        **extra,
    ):
        _check_positive("lr", lr)
        _check_count("max_iter", max_iter)
        _check_count("max_evals", max_evals)
        if not (isinstance(c1, int | float) and isinstance(c2, int | float) and 0 < c1 < c2 < 1):
            raise ValueError(f"c1, c2 must satisfy 0 < c1 < c2 < 1, got {c1!r}, {c2!r}")
        if not (isinstance(tolerance_grad, int | float) and tolerance_grad >= 0):
            raise ValueError(f"tolerance_grad must be a number >= 0, got {tolerance_grad!r}")
        defaults = dict(
            lr=float(lr),
            max_iter=max_iter,
            max_evals=max_evals,
            c1=float(c1),
            c2=float(c2),
            tolerance_grad=float(tolerance_grad),
            **extra,
        )
        super().__init__(params, defaults)

    def _init_state(self, st: dict) -> None:
        st.update(numel=self._numel, iterations=0, evals=0, restarts=0, stall_loss=None)

    def _evaluate(self, closure: Callable[[], torch.Tensor]) -> tuple[torch.Tensor, float]:
        with torch.enable_grad():
            loss = closure()
        self._store["evals"] += 1
        return loss, float(loss.detach())

    def step(self, closure: Callable[[], torch.Tensor]) -> torch.Tensor:  # type: ignore[override]
        """Run ``max_iter`` iterations; returns the loss at the starting point."""
        if closure is None:
            raise ValueError(f"{type(self).__name__}.step needs a closure, got None")
        group = self.param_groups[0]
        st = self._store
        if not st:
            self._init_state(st)
        loss, f = self._evaluate(closure)
        g = self._flat_grad()
        if not (math.isfinite(f) and bool(torch.isfinite(g).all())) or st["stall_loss"] == f:
            return loss  # nothing to descend from, or the same point that already stalled
        x = self._gather()
        for _ in range(group["max_iter"]):
            if float(g.abs().max()) <= group["tolerance_grad"]:
                break
            p = self._direction(g)
            slope = float(g @ p)
            if not (math.isfinite(slope) and slope < 0):
                self._restart()  # H is no longer positive definite: fall back to -g
                p, slope = -g, -float(g @ g)
                if not slope < 0:
                    break  # |g|^2 underflows: there is nothing left to descend
            fresh = self._fresh()
            # Without curvature the scale of -g is unknown: the first trial moves |t p|_1 <= lr.
            t = group["lr"] * (min(1.0, 1.0 / float(g.abs().sum())) if fresh else 1.0)
            result = strong_wolfe(
                self._phi(closure, x, p),
                Point(0.0, f, slope),
                t,
                c1=group["c1"],
                c2=group["c2"],
                max_evals=group["max_evals"],
            )
            st["evals"] += result.evals
            best = result.point
            if best.t == 0.0:
                self._scatter(x)
                if fresh:
                    st["stall_loss"] = f  # steepest descent found no decrease either
                else:
                    self._restart()
                break
            assert best.g is not None  # every point past the start carries its gradient
            self._scatter(x + best.t * p)
            x_new = self._gather()
            self._update(x_new - x, best.g - g, best.t, g)
            x, g, f = x_new, best.g, best.f
            st["iterations"] += 1
        return loss

    def _phi(self, closure, x: torch.Tensor, p: torch.Tensor) -> Callable[[float], Point]:
        def phi(t: float) -> Point:
            self._scatter(x + t * p)
            with torch.enable_grad():
                f = float(closure().detach())
            g = self._flat_grad()
            if not math.isfinite(f):
                return Point(t, math.inf, math.nan)
            return Point(t, f, float(g @ p), g)

        return phi

    def _restart(self) -> None:
        self._reset()
        self._store["restarts"] += 1

    # -- what subclasses define
    def _direction(self, g: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _update(self, s: torch.Tensor, y: torch.Tensor, t: float, g: torch.Tensor) -> None:
        raise NotImplementedError

    def _reset(self) -> None:
        raise NotImplementedError

    def _fresh(self) -> bool:
        raise NotImplementedError


def _usable_curvature(s: torch.Tensor, y: torch.Tensor) -> float | None:
    """``y.s`` when it is positive and above round-off, else ``None``."""
    ys = float(y @ s)
    scale = float(torch.linalg.vector_norm(y) * torch.linalg.vector_norm(s))
    if not (math.isfinite(ys) and math.isfinite(scale)) or ys <= _CURVATURE_EPS * scale:
        return None
    return ys


class LBFGS(_QuasiNewton):
    """Limited-memory BFGS (Nocedal 1980) with kinn's strong-Wolfe line search.

    ``H`` is the two-loop product of the last ``history_size`` pairs ``(s, y)`` over
    ``H_0 = (s.y / y.y) I`` of the newest pair. Options as in :class:`SSBFGS`.
    """

    def __init__(self, params, lr: float = 1.0, *, history_size: int = 100, **options):
        _check_count("history_size", history_size)
        super().__init__(params, lr, history_size=history_size, **options)

    def _init_state(self, st):
        super()._init_state(st)
        st.update(s=[], y=[])

    def _fresh(self):
        return not self._store["s"]

    def _reset(self):
        self._store["s"], self._store["y"] = [], []

    def _direction(self, g):
        S, Y = self._store["s"], self._store["y"]
        q = g.neg()
        if not S:
            return q
        rho = [1.0 / float(y @ s) for s, y in zip(S, Y)]
        alpha = [0.0] * len(S)
        for i in range(len(S) - 1, -1, -1):
            alpha[i] = rho[i] * float(S[i] @ q)
            q.add_(Y[i], alpha=-alpha[i])
        q.mul_(float(S[-1] @ Y[-1]) / float(Y[-1] @ Y[-1]))
        for i in range(len(S)):
            beta = rho[i] * float(Y[i] @ q)
            q.add_(S[i], alpha=alpha[i] - beta)
        return q

    def _update(self, s, y, t, g):
        if _usable_curvature(s, y) is None:
            return
        st = self._store
        st["s"].append(s)
        st["y"].append(y)
        if len(st["s"]) > self.param_groups[0]["history_size"]:
            del st["s"][0], st["y"][0]


class _DenseBroyden(_QuasiNewton):
    """A dense ``n x n`` float64 inverse Hessian updated by the self-scaled Broyden family

    ``H+ = (H - (Hy)(Hy)^T / y.Hy + phi v v^T) / tau + s s^T / y.s``,
    ``v = sqrt(y.Hy) (s / y.s - Hy / y.Hy)``

    (``phi = 1``, ``tau = 1``: BFGS). Subclasses choose ``tau`` and ``phi`` from
    ``b = s.B s / y.s`` and ``h = y.H y / y.s`` (``B = H^-1``).
    """

    def __init__(self, params, lr: float = 1.0, *, max_params: int = 20_000, **options):
        _check_count("max_params", max_params)
        super().__init__(params, lr, max_params=max_params, **options)
        n = self._numel
        if n > max_params:
            name = type(self).__name__
            raise ValueError(
                f"{name} parameters must number at most max_params={max_params}, got {n}: its "
                f"dense n x n float64 inverse Hessian would take {8 * n * n / 2**30:.1f} GiB "
                f"(and as much in every checkpoint). Use Stage('lbfgs', ...) for a network "
                f"this size, or pass max_params={n} if the memory is there."
            )

    def _init_state(self, st):
        super()._init_state(st)
        st.update(H=None, skipped=0)

    def _fresh(self):
        return self._store["H"] is None

    def _reset(self):
        self._store["H"] = None

    def _direction(self, g):
        H = self._store["H"]
        return g.neg() if H is None else -(H @ g)

    def _update(self, s, y, t, g):
        st = self._store
        ys = _usable_curvature(s, y)
        if ys is None:
            st["skipped"] += 1
            return
        H = st["H"]
        # s = t p with p = -H g, so s.B s = -t s.g; on the first update H = I is first
        # rescaled to (y.s / y.y) I (Nocedal & Wright, eq. 6.20), which divides s.B s by it.
        scale = 1.0 if H is not None else ys / float(y @ y)
        if H is None:
            H = torch.eye(self._numel, dtype=torch.float64, device=s.device).mul_(scale)
        sBs = -t * float(s @ g) / scale
        Hy = H @ y
        yHy = float(y @ Hy)
        if not (math.isfinite(sBs) and math.isfinite(yHy) and sBs > 0 and yHy > 0):
            self._restart()
            return
        tau, phi = self._scaling(sBs / ys, yHy / ys)
        if not (math.isfinite(tau) and math.isfinite(phi) and tau > 0):
            self._restart()
            return
        # The whole update is rank 2 in U = [Hy, s] (v is a combination of the two):
        # H+ = H / tau + U C U^T, one pass over H instead of five.
        c_hh = (phi - 1.0) / (yHy * tau)
        c_hs = -phi / (ys * tau)
        c_ss = phi * yHy / (ys * ys * tau) + 1.0 / ys
        coefficients = (c_hh, c_hs, c_ss, 1.0 / tau)
        if not all(math.isfinite(c) for c in coefficients):
            self._restart()
            return
        U = torch.stack((Hy, s), dim=1)
        C = U.new_tensor([[c_hh, c_hs], [c_hs, c_ss]])
        H.addmm_(U @ C, U.T, beta=1.0 / tau)
        st["H"] = H

    def _scaling(self, b: float, h: float) -> tuple[float, float]:
        raise NotImplementedError


class SSBFGS(_DenseBroyden):
    """Self-scaled BFGS: ``phi = 1`` and ``tau = min(1, 1/b)`` (Al-Baali 1998), so ``H``
    grows whenever the model overestimates the curvature along the step.

    For networks up to about ``max_params=20000`` parameters (a dense float64 ``n x n``
    matrix: 3 GiB at 20000); train in float64.

    Args:
        lr: the first trial step of each line search (1: the quasi-Newton step).
        max_iter: iterations per ``step(closure)`` (the trainer logs once per step).
        max_evals: loss evaluations per line search.
        c1, c2: strong-Wolfe constants.
        tolerance_grad: stop iterating once ``max |g| <= tolerance_grad``.
        max_params: refuse larger networks (the matrix's size), with a message.
    """

    def _scaling(self, b, h):
        return min(1.0, 1.0 / b), 1.0


class SSBroyden(_DenseBroyden):
    """Self-scaled Broyden (Al-Baali 1998; the "SSBroyden2" of Urbán et al. 2025): each
    update picks its member of the Broyden family, ``theta`` between the bounds that keep
    ``H`` positive definite and well scaled, and its scaling ``tau`` from it::

        a = b h - 1,  c = sqrt(a / (1 + a)),  rho- = min(1, h (1 - c))
        theta- = (rho- - 1) / a,  theta+ = 1 / rho-
        theta = max(theta-, min(theta+, (1 - b) / b)),  sigma = 1 + a theta
        phi = (1 - theta) / sigma
        tau = min(rho+ sigma^(-1/(n-1)), 1/theta)  if theta > 0, else
              min(rho+ sigma^(-1/(n-1)), sigma),   with rho+ = min(1, 1/b)

    (``theta = 0`` is BFGS, ``theta = 1`` DFP). Options as in :class:`SSBFGS`.
    """

    def _scaling(self, b, h):
        rho_plus = min(1.0, 1.0 / b)
        a = b * h - 1.0  # >= 0 by Cauchy-Schwarz; 0 when s and Hy are parallel
        if a <= 1e-12:
            return rho_plus, 1.0  # every member of the family gives the same update
        c = math.sqrt(a / (1.0 + a))
        rho_minus = min(1.0, h * (1.0 - c))
        theta = max((rho_minus - 1.0) / a, min(1.0 / rho_minus, (1.0 - b) / b))
        sigma = 1.0 + a * theta
        n = self._numel
        shrink = sigma ** (-1.0 / (n - 1)) if n > 1 else 1.0
        tau = min(rho_plus * shrink, 1.0 / theta if theta > 0 else sigma)
        return tau, (1.0 - theta) / sigma


def _check_positive(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a positive number, got {value!r}")


def _check_count(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
