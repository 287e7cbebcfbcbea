"""Residual-based adaptive collocation: RAR (refinement) and RAD (distribution).

Both take ``residual_fn(x: (n, d)) -> (n,)`` or ``(n, m)`` (a PDE residual; for several
components the Euclidean norm over components is used) and return new points ``(k, d)``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from .geometry import Geometry
from .sampler import check_count


def _magnitude(residual_fn, x):
    r = residual_fn(x)
    r = r.detach() if isinstance(r, torch.Tensor) else torch.as_tensor(np.asarray(r))
    if r.ndim == 2:
        r = r.norm(dim=1)
    if r.shape != (len(x),):
        raise ValueError(
            f"residual_fn must return (n,) or (n, m) for n={len(x)}, got {tuple(r.shape)}"
        )
    return r.abs().to(torch.float64)


def rar(
    geom: Geometry,
    residual_fn: Callable[[torch.Tensor], torch.Tensor],
    n_candidates: int,
    n_add: int,
    method: str = "random",
    seed: int | None = None,
) -> torch.Tensor:
    """Residual-based adaptive refinement (Lu et al. 2021): the ``n_add`` points ``(n_add, d)``
    with the largest ``|residual|`` among ``n_candidates`` fresh interior samples."""
    n_candidates, n_add = check_count(n_candidates, "n_candidates"), check_count(n_add, "n_add")
    if n_add > n_candidates:
        raise ValueError(f"n_add={n_add} exceeds n_candidates={n_candidates}")
    x = geom.sample_interior(n_candidates, method, seed)
    top = torch.topk(_magnitude(residual_fn, x), n_add).indices
    return x[top]


def rad(
    geom: Geometry,
    residual_fn: Callable[[torch.Tensor], torch.Tensor],
    n: int,
    k: float = 1.0,
    c: float = 1.0,
    n_candidates: int | None = None,
    method: str = "random",
    seed: int | None = None,
) -> torch.Tensor:
    """Residual-based adaptive distribution (Wu et al. 2023): ``n`` points ``(n, d)`` drawn
    without replacement from candidates with density ``|r|^k / mean(|r|^k) + c``.

    ``n_candidates`` defaults to ``10 n``; ``k = 0`` or large ``c`` approach uniform sampling.
    """
    n = check_count(n)
    if not k >= 0 or not c >= 0:
        raise ValueError(f"RAD needs k >= 0 and c >= 0, got k={k!r}, c={c!r}")
    n_candidates = 10 * n if n_candidates is None else check_count(n_candidates, "n_candidates")
    if n > n_candidates:
        raise ValueError(f"n={n} exceeds n_candidates={n_candidates}")
    x = geom.sample_interior(n_candidates, method, seed)
    err = _magnitude(residual_fn, x) ** k
    density = err / err.mean().clamp_min(1e-300) + c
    if not torch.isfinite(density).all() or density.sum() <= 0:
        raise ValueError("RAD density is zero or not finite; use c > 0")
    gen = torch.Generator().manual_seed(seed) if seed is not None else None
    idx = torch.multinomial(density, n, replacement=False, generator=gen)
    return x[idx]
