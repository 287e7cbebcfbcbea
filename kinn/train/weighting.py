"""Loss-term weights (static and adaptive) and residual-based point weights.

Term weights multiply whole loss terms; the trainer owns them. Two adaptive rules rescale
them from gradient statistics of the unweighted terms ``L_i`` w.r.t. the trainable
parameters, smoothed as ``lam_i <- alpha * lam_i + (1 - alpha) * lam_hat_i``:

- ``"gradnorm"`` (gradient-norm balancing, Wang et al. 2023, "An expert's guide to training
  PINNs"): ``lam_hat_i = sum_j ||grad L_j|| / ||grad L_i||``, so every weighted term pulls
  with the same gradient norm. (Not Chen et al.'s GradNorm, which learns the weights.)
- ``"lra"`` (learning-rate annealing, Wang, Teng & Perdikaris 2021):
  ``lam_hat_i = max |grad L_ref| / mean |grad L_i|`` for every term but the reference term
  (the first term returned by the objective unless ``reference`` names one), whose factor
  stays 1.

Point weights live inside a term (one per collocation point), so only the objective can keep
them; :func:`residual_point_weights` is the update it calls.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

METHODS = ("gradnorm", "lra")


class TermWeights:
    """Weight of each loss term: ``static[name] * factor[name]`` (both default to 1).

    Args:
        static: fixed weights by term name.
        adaptive: ``None``, ``"gradnorm"``, ``"lra"``, or a dict
            ``{"method": ..., "alpha": 0.9, "update_every": 100, "reference": None}``.
            ``alpha`` is the share kept from the previous factor; factors are updated every
            ``update_every`` steps of first-order stages and frozen during L-BFGS, whose line
            search and curvature pairs assume a fixed objective.
    """

    def __init__(self, static: dict[str, float] | None = None, adaptive: str | dict | None = None):
        static = dict(static or {})
        for name, w in static.items():
            if isinstance(w, bool) or not isinstance(w, int | float) or not math.isfinite(w):
                raise ValueError(f"weights[{name!r}]={w!r}: expected a finite number")
            if w < 0:
                raise ValueError(f"weights[{name!r}]={w!r}: expected a non-negative number")
        self.static = {k: float(v) for k, v in static.items()}
        self.factors: dict[str, float] = {}
        self.method, self.alpha, self.update_every, self.reference = _parse_adaptive(adaptive)

    def check_terms(self, names: list[str]) -> None:
        """Raise ``ValueError`` if a weight or the reference names a term the objective lacks."""
        for key in self.static:
            if key not in names:
                raise ValueError(f"weights key {key!r}: expected one of the loss terms {names}")
        if self.reference is not None and self.reference not in names:
            raise ValueError(f"adaptive reference={self.reference!r}: expected one of {names}")

    def __getitem__(self, name: str) -> float:
        return self.static.get(name, 1.0) * self.factors.get(name, 1.0)

    def due(self, step: int) -> bool:
        """Whether the adaptive factors update before step ``step + 1``."""
        return self.method is not None and step % self.update_every == 0

    def update(
        self,
        terms: dict[str, torch.Tensor],
        params: list[torch.Tensor],
        reduce: Callable[[list[torch.Tensor | None]], list[torch.Tensor | None]] | None = None,
    ) -> None:
        """Recompute the adaptive factors from the unweighted ``terms`` (graphs are retained).

        ``reduce`` maps each term's gradients w.r.t. ``params`` (``None`` where unused) to
        the whole gradient, in a distributed run where ``terms`` are this rank's shares.
        """
        params = [p for p in params if p.requires_grad]
        grads = {}
        for name, term in terms.items():
            g: list[torch.Tensor | None] = list(
                torch.autograd.grad(term, params, retain_graph=True, allow_unused=True)
            )
            if reduce is not None:
                g = reduce(g)
            flat = [x.reshape(-1) for x in g if x is not None]
            grads[name] = torch.cat(flat) if flat else torch.zeros(1)
        if self.method == "gradnorm":
            norms = {k: float(torch.linalg.vector_norm(g)) for k, g in grads.items()}
            total = sum(norms.values())
            targets = {k: total / n for k, n in norms.items() if n > 0}
        else:
            ref = self.reference if self.reference is not None else next(iter(terms))
            ref_max = float(grads[ref].abs().max())
            targets = {}
            for k, grad in grads.items():
                mean = float(grad.abs().mean())
                if k != ref and mean > 0:
                    targets[k] = ref_max / mean
        for k, target in targets.items():
            if math.isfinite(target):
                old = self.factors.get(k, 1.0)
                self.factors[k] = self.alpha * old + (1.0 - self.alpha) * target

    def state_dict(self) -> dict:
        return {"factors": dict(self.factors)}

    def load_state_dict(self, state: dict) -> None:
        self.factors = {k: float(v) for k, v in state["factors"].items()}


def _parse_adaptive(adaptive: str | dict | None) -> tuple[str | None, float, int, str | None]:
    if adaptive is None:
        return None, 0.9, 1, None
    spec = {"method": adaptive} if isinstance(adaptive, str) else adaptive
    if not isinstance(spec, dict) or spec.get("method") not in METHODS:
        raise ValueError(
            f"adaptive={adaptive!r}: expected None, one of {list(METHODS)}, or a dict "
            "with 'method' in those and optional 'alpha', 'update_every', 'reference'"
        )
    unknown = set(spec) - {"method", "alpha", "update_every", "reference"}
    if unknown:
        raise ValueError(
            f"adaptive keys {sorted(unknown)}: expected alpha, update_every, reference"
        )
    alpha = spec.get("alpha", 0.9)
    every = spec.get("update_every", 100)
    if not isinstance(alpha, int | float) or not 0.0 <= alpha < 1.0:
        raise ValueError(f"adaptive alpha={alpha!r}: expected a number in [0, 1)")
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise ValueError(f"adaptive update_every={every!r}: expected a positive integer")
    return spec["method"], float(alpha), every, spec.get("reference")


def residual_point_weights(
    residual: torch.Tensor,
    weights: torch.Tensor | None = None,
    *,
    gamma: float = 0.999,
    eta: float = 0.01,
    scale: torch.Tensor | float | None = None,
) -> torch.Tensor:
    """Residual-based attention update (Anagnostopoulos et al. 2024, RBA).

    ``lam <- gamma * lam + eta * |r| / max|r|``, computed without gradient. The weights are
    bounded by ``eta / (1 - gamma)`` and grow where the residual stays large. The objective
    keeps them (one per collocation point, in its ``state_dict`` so resume is exact), calls
    this once per step, and uses them inside its term, e.g. ``mean((lam * r) ** 2)``. Reset
    them (pass ``None``) after resampling, since they belong to the old points.

    Args:
        residual: ``(N,)`` or ``(N, m)`` pointwise residual.
        weights: previous weights of the same shape, or ``None`` to start from zero.
        gamma: decay of the previous weights, in ``[0, 1)``.
        eta: step size of the update, positive.
        scale: ``max|r|`` over every point of the term, when ``residual`` holds only some
            of them (one rank's share in distributed training); default ``residual``'s own.

    Returns:
        New weights, same shape, dtype and device as ``residual``.
    """
    if not 0.0 <= gamma < 1.0:
        raise ValueError(f"gamma={gamma!r}: expected a number in [0, 1)")
    if not eta > 0:
        raise ValueError(f"eta={eta!r}: expected a positive number")
    r = residual.detach().abs()
    if weights is None:
        weights = torch.zeros_like(r)
    elif weights.shape != r.shape:
        raise ValueError(
            f"weights of shape {tuple(weights.shape)}: expected the residual shape {tuple(r.shape)}"
        )
    if scale is None:
        scale = r.max()
    if scale > 0:
        return gamma * weights.detach() + eta * r / scale
    return gamma * weights.detach()
