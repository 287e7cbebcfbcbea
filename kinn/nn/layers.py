"""KAN layers: a learnable univariate function on every edge, plus a base branch.

Every layer computes, for input ``x: (N, I)`` and output ``y: (N, O)``::

    y = base(x) @ W_base + basis(x).reshape(N, I*K) @ C + bias

with ``C`` the spline coefficients ``(I, K, O)`` viewed as ``(I*K, O)``: one GEMM over all
edges, never an ``(N, I, O)`` intermediate. The edge function from input i to output o is
``phi_io(t) = W_base[i, o] * base(t) + sum_j C[i, j, o] * basis_j(t)``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ._ops import kan_rows
from .activations import activation
from .bspline import (
    _check_degree,
    _check_grid,
    _is_uniform,
    bspline_basis_general,
    matrix_rows,
    scatter_dense,
    uniform_grid,
    uniform_local,
)
from .chebyshev import tanh_chebyshev_derivatives
from .taylor import RowLayout

__all__ = ["KANLayer", "BSplineKANLayer", "ChebyshevKANLayer"]

_VALUE_ONLY = RowLayout()


def _check_features(name: str, value: int) -> None:
    if not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _check_domain(domain, name: str = "domain") -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in domain)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair (lo, hi), got {domain!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"{name} must satisfy lo < hi (finite), got {domain!r}")
    return lo, hi


class KANLayer(nn.Module):
    """Shared machinery of KAN layers; subclasses define the basis.

    Subclasses implement ``basis_derivatives(x, order)`` returning ``order + 1`` tensors
    ``(N, I, K)``: the basis and its x-derivatives.
    """

    n_basis: int
    spline_weight: nn.Parameter  # (I, K, O), set by the subclass
    base_weight: nn.Parameter | None  # (I, O), None without a base branch
    bias: nn.Parameter | None  # (O,)
    edge_mask: torch.Tensor  # buffer (I, O): 0 where an edge is pruned

    def __init__(self, in_features: int, out_features: int, base: str | None, bias: bool):
        super().__init__()
        _check_features("in_features", in_features)
        _check_features("out_features", out_features)
        if base is not None and base != "none":
            activation(base, torch.zeros(1))  # validates the name
        self.in_features = in_features
        self.out_features = out_features
        self.base = None if base in (None, "none") else base
        self.base_weight = (
            nn.Parameter(torch.empty(in_features, out_features)) if self.base else None
        )
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None
        self.register_buffer("edge_mask", torch.ones(in_features, out_features))

    # -- the basis ---------------------------------------------------------------------------
    def basis(self, x: torch.Tensor) -> torch.Tensor:
        """Basis values ``(N, I, K)`` at x ``(N, I)``."""
        return self.basis_derivatives(x, 0)[0]

    def basis_derivatives(self, x: torch.Tensor, order: int) -> list[torch.Tensor]:
        """``[B, dB/dx, .., d^order B/dx^order]`` at x ``(N, I)``, each dense ``(N, I, K)``."""
        index, local = self.local_basis(x, order)
        if index is None:
            return local
        return [scatter_dense(index, b, self.n_basis) for b in local]

    def local_basis(self, x: torch.Tensor, order: int, first: int = 0):
        """Non-zero bases and x-derivatives: ``(index, [b_first, .., b_order])``.

        ``b_r: (N, I, L)``; ``index: (N, I)`` long, the dense column of local basis 0, or None
        when the bases are dense (L = K).
        """
        raise NotImplementedError

    def domain_bounds(self) -> torch.Tensor:
        """Each input's ``[lo, hi]``: ``(I, 2)``."""
        raise NotImplementedError

    def kernel_basis(self):
        """How the fused CPU kernel evaluates the bases, or None where it cannot.

        ``(basis, degree, grid, lo, inv_h)``: ``"bspline"`` on a uniform grid (``lo``,
        ``inv_h``: first knot and inverse spacing ``(I,)``), or ``"chebyshev"`` of tanh
        (``grid`` 1, ``lo`` and ``inv_h`` None).
        """
        return None

    # -- weights -----------------------------------------------------------------------------
    def masked_coefficients(self) -> torch.Tensor:
        """Spline coefficients with pruned edges zeroed: ``(I, K, O)``."""
        return self.spline_weight * self.edge_mask.unsqueeze(1)

    def masked_base_weight(self) -> torch.Tensor | None:
        return None if self.base_weight is None else self.base_weight * self.edge_mask

    def stacked_weight(self) -> torch.Tensor:
        """``[C.reshape(I*K, O); W_base]``: the one matrix the features multiply."""
        c = self.masked_coefficients().reshape(-1, self.out_features)
        wb = self.masked_base_weight()
        return c if wb is None else torch.cat([c, wb], dim=0)

    def _check_input(self, x: torch.Tensor) -> None:
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ValueError(f"input must have shape (N, {self.in_features}), got {tuple(x.shape)}")

    # -- evaluation --------------------------------------------------------------------------
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x ``(N, I)`` -> y ``(N, O)``: one GEMM, custom backward (see :mod:`kinn.nn.taylor`)."""
        self._check_input(x)
        return kan_rows(self, x.unsqueeze(0), _VALUE_ONLY)[0]

    def jet_rows(self, J: torch.Tensor, layout: RowLayout) -> torch.Tensor:
        """Taylor rows ``(R, N, I)`` -> ``(R, N, O)`` (the jet protocol of :mod:`kinn.diff`).

        The chain rule on the bases, one product with the stacked weight, and a written-out
        backward (the fused kernel where it applies).
        """
        return kan_rows(self, J, layout)

    def edge_values(self, x: torch.Tensor) -> torch.Tensor:
        """Every edge function at its input, ``phi_io(x_i)``: ``(N, I, O)``.

        ``layer(x) == layer.edge_values(x).sum(1) + layer.bias``. For inspection, pruning and
        symbolic fitting; the forward pass never builds this tensor.
        """
        self._check_input(x)
        phi = torch.einsum("nik,iko->nio", self.basis(x), self.masked_coefficients())
        if self.base is not None:
            phi = phi + activation(self.base, x).unsqueeze(-1) * self.masked_base_weight()
        return phi

    # -- initialisation ----------------------------------------------------------------------
    @torch.no_grad()
    def reset_parameters(self, gain: float = 1.0, smooth: bool = True) -> None:
        """Variance-preserving initialisation (after the Kolmogorov-Arnold Transformer).

        Inputs are modelled as Gaussian around the domain's centre with standard deviation
        ``sigma`` = a third of its half-width (99.7% inside). Weights are drawn so that each
        output has the same distribution, ``Var(y) = gain^2 sigma^2``: a fixed point, so deep
        stacks keep their scale and stay inside their grids.

        ``smooth=True`` (default): every edge starts smooth, as its base branch alone (spline
        coefficients zero), or without a base branch as a random multiple of the best fit of
        its centred input by the basis (a straight line for B-splines, about ``tanh`` for
        Chebyshev); the spline branch then learns the detail. A random spline branch makes the
        initial network a rough function whose second derivatives dominate a strong-form loss
        (measured: 10-100x higher errors after Adam on Poisson problems, research/REPORT.md).
        ``smooth=False``: the spline and base branches share the variance equally, with
        random coefficients (the bases' exact second moments under the Gaussian).
        """
        bounds = self.domain_bounds().to(torch.float64)
        centre, half = bounds.mean(1), (bounds[:, 1] - bounds[:, 0]) / 2
        sigma = half / 3
        q = (torch.arange(1024, dtype=torch.float64) + 0.5) / 1024
        z = torch.special.ndtri(q)[:, None]  # Gaussian quantiles: a deterministic sample
        x = centre + sigma * z  # (P, I)
        target = (sigma.square().mean() * gain**2).item()
        dtype = self.spline_weight.dtype
        basis = self.basis(x.to(dtype)).double()  # (P, I, K)
        if smooth and self.base is not None:
            self.spline_weight.zero_()
            self._init_base(x, target, branches=1)
        elif smooth:
            # least-squares coefficients of the centred input: (I, K)
            line = torch.linalg.lstsq(basis.transpose(0, 1), (x - centre).T[..., None]).solution
            fit = torch.einsum("pik,ik->pi", basis, line[..., 0])
            std = math.sqrt(target / (self.in_features * fit.square().mean().item()))
            w = torch.randn(self.in_features, 1, self.out_features, dtype=torch.float64) * std
            self.spline_weight.copy_(line[..., 0][..., None] * w)
        else:
            branches = 1 if self.base is None else 2
            moment = (basis**2).sum(-1).mean().item()
            std_s = math.sqrt(target / (branches * self.in_features * moment))
            self.spline_weight.normal_(0.0, std_s)
            if self.base is not None:
                self._init_base(x, target, branches)
        if self.bias is not None:
            self.bias.zero_()

    def _init_base(self, x: torch.Tensor, target: float, branches: int) -> None:
        moment = (activation(self.base, x) ** 2).mean().item()
        std_b = math.sqrt(target / (branches * self.in_features * max(moment, 1e-12)))
        self.base_weight.normal_(0.0, std_b)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, base={self.base}"


class BSplineKANLayer(KANLayer):
    """KAN layer with degree-k B-splines on G intervals per input, in matrix form.

    Args:
        in_features, out_features: I and O.
        grid: number of intervals G per input (>= 1).
        degree: spline degree k (1..12); K = G + k bases per input.
        domain: ``(lo, hi)`` the grid spans, for every input.
        base: base-branch activation (``"silu"`` as in pykan, any name of
            :data:`kinn.nn.activations.ACTIVATIONS`, or ``None``).
        bias: learnable output bias.

    Outside the domain every spline continues with its end value, slope and curvature, the
    curvature fading to zero over one grid spacing (C^2: no jump of a second derivative where
    hidden activations leave the grid, linear growth far away); the base branch is
    unaffected. On a uniform grid the bases come from the matrix form with a fused custom
    backward (the C kernel on CPU); after a quantile grid update (non-uniform knots) the layer
    switches to the exact Cox-de Boor path.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        grid: int = 10,
        degree: int = 3,
        domain=(-1.0, 1.0),
        base: str | None = "silu",
        bias: bool = True,
    ):
        _check_grid(grid)
        _check_degree(degree)
        lo, hi = _check_domain(domain)
        super().__init__(in_features, out_features, base, bias)
        self.grid_size = grid
        self.degree = degree
        self.n_basis = grid + degree
        self.register_buffer("grid", uniform_grid((lo, hi), grid, in_features))
        self.uniform = True
        self.spline_weight = nn.Parameter(torch.empty(in_features, self.n_basis, out_features))
        self.reset_parameters()

    def domain_bounds(self) -> torch.Tensor:
        return torch.stack([self.grid[:, 0], self.grid[:, -1]], dim=1)

    def _spacing(self):
        """First knot and inverse spacing ``(I,)`` of a uniform grid (from its ends: in float32
        the ends are exact where single spacings carry the knots' rounding)."""
        lo = self.grid[:, 0]
        return lo, self.grid_size / (self.grid[:, -1] - lo)

    def kernel_basis(self):
        if not self.uniform:
            return None
        return ("bspline", self.degree, self.grid_size, *self._spacing())

    def local_basis(self, x: torch.Tensor, order: int, first: int = 0):
        """The k+1 non-zero B-splines and derivatives (uniform grid), or all G+k (non-uniform)."""
        if not self.uniform:
            orders = range(first, order + 1)
            return None, [bspline_basis_general(x, self.grid, self.degree, r) for r in orders]
        lo, inv_h = self._spacing()
        matrices = matrix_rows(self.degree, max(order, 1))
        return uniform_local(x, lo, inv_h, self.grid_size, matrices, order, first)

    # -- grids -------------------------------------------------------------------------------
    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        grid = state_dict.get(prefix + "grid")
        if grid is not None:
            self._set_grid_shape(grid)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def _set_grid_shape(self, grid: torch.Tensor) -> None:
        """Adopt a grid (possibly of another size); decides the uniform fast path from data."""
        g = grid.shape[1] - 1
        if g != self.grid_size:
            self.grid_size = g
            self.n_basis = g + self.degree
            self.grid = grid.clone().to(self.grid.device)
            self.spline_weight = nn.Parameter(
                self.spline_weight.new_empty(self.in_features, self.n_basis, self.out_features)
            )
        self.uniform = _is_uniform(grid)

    @torch.no_grad()
    def _refit(self, new_grid: torch.Tensor, samples: torch.Tensor) -> None:
        """Least-squares transfer of the spline branch to ``new_grid`` at ``samples (P, I)``."""
        old = torch.einsum("pik,iko->pio", self.basis(samples), self.spline_weight).to(
            torch.float64
        )
        self._set_grid_shape(new_grid)
        self.grid = new_grid.to(self.grid)
        new_basis = self.basis(samples.to(self.grid.dtype)).to(torch.float64)  # (P, I, K')
        # gelsd, not the default gelsy: gelsy's last bits change from call to call on the same
        # input, and a refined network must be reproducible from its seed
        coef = torch.linalg.lstsq(
            new_basis.permute(1, 0, 2), old.permute(1, 0, 2), driver="gelsd"
        ).solution
        # lstsq returns a permuted layout; L-BFGS needs contiguous gradients (.view(-1))
        self.spline_weight.data = coef.to(self.spline_weight.dtype).contiguous()

    def _samples(self, bounds: torch.Tensor, per_interval: int = 12) -> torch.Tensor:
        p = max(256, per_interval * (self.grid_size + self.degree) * 2)
        t = torch.linspace(0, 1, p, dtype=torch.float64, device=bounds.device)
        return (bounds[:, 0] + (bounds[:, 1] - bounds[:, 0]) * t[:, None]).to(self.grid.dtype)

    @torch.no_grad()
    def refine(self, new_grid: int) -> None:
        """Grid extension: move the learned functions onto ``new_grid`` intervals.

        The spline branch is refitted by least squares on dense samples of the domain; on a
        refinement of the old grid (``new_grid`` a multiple of ``grid``) the transfer is exact.
        Creates a new ``spline_weight`` Parameter: rebuild optimizers afterwards.
        """
        _check_grid(new_grid)
        bounds = self.domain_bounds()
        samples = self._samples(bounds, per_interval=12 * max(1, new_grid // self.grid_size))
        if self.uniform:
            new = uniform_grid(bounds, new_grid)
        else:
            new = _interpolate_knots(self.grid, new_grid)
        self._refit(new.to(self.grid), samples)

    @torch.no_grad()
    def update_grid(self, x: torch.Tensor, mode: str = "uniform", margin: float = 0.01, eps=0.02):
        """Fit the grid to data x ``(N, I)`` (pykan's grid update), keeping the functions.

        ``mode="uniform"``: each input's domain becomes its data range (plus ``margin``
        relative), keeping the fast matrix form. ``mode="quantile"``: knots at sample quantiles,
        blended with uniform knots by ``eps`` (non-uniform, exact Cox-de Boor path).
        """
        self._check_input(x)
        if not torch.isfinite(x).all():
            raise ValueError("update_grid got non-finite inputs (NaN or Inf)")
        lo, hi = x.min(0).values, x.max(0).values
        pad = (hi - lo).clamp_min(1e-6) * margin
        bounds = torch.stack([lo - pad, hi + pad], dim=1).to(self.grid)
        uniform = uniform_grid(bounds, self.grid_size)
        if mode == "uniform":
            new = uniform
        elif mode == "quantile":
            q = torch.linspace(0, 1, self.grid_size + 1, dtype=x.dtype, device=x.device)
            quant = torch.quantile(x, q, dim=0).t().to(self.grid)
            quant[:, 0], quant[:, -1] = bounds[:, 0], bounds[:, 1]
            new = eps * uniform + (1 - eps) * quant
        else:
            raise ValueError(f"mode must be 'uniform' or 'quantile', got {mode!r}")
        samples = self._samples(bounds)
        self._refit(new, samples)

    def extra_repr(self) -> str:
        return (
            f"{super().extra_repr()}, grid={self.grid_size}, degree={self.degree}, "
            f"uniform={self.uniform}"
        )


def _interpolate_knots(grid: torch.Tensor, new_size: int) -> torch.Tensor:
    """Knots at ``new_size + 1`` points placed piecewise-linearly along the old knots."""
    g = grid.shape[1] - 1
    pos = torch.linspace(0, g, new_size + 1, dtype=grid.dtype, device=grid.device)
    idx = pos.floor().long().clamp(max=g - 1)
    frac = pos - idx
    return grid[:, idx] * (1 - frac) + grid[:, idx + 1] * frac


class ChebyshevKANLayer(KANLayer):
    """KAN layer with Chebyshev polynomials of ``tanh(x)`` on every edge.

    Args:
        in_features, out_features: I and O.
        degree: highest polynomial degree n; K = n + 1 bases per input.
        base: optional base-branch activation (default none, as in ChebyKAN).
        bias: learnable output bias.

    ``tanh`` maps every real input into (-1, 1), so the layer is defined and bounded on the
    whole real line; inputs much beyond |x| ~ 3 saturate.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        degree: int = 8,
        base: str | None = None,
        bias: bool = True,
    ):
        if not isinstance(degree, int) or degree < 1:
            raise ValueError(f"degree must be an integer >= 1, got {degree!r}")
        super().__init__(in_features, out_features, base, bias)
        self.degree = degree
        self.n_basis = degree + 1
        self.spline_weight = nn.Parameter(torch.empty(in_features, self.n_basis, out_features))
        self.reset_parameters()

    def domain_bounds(self) -> torch.Tensor:
        # the range where tanh is far from saturation; used for sampling and initialisation
        return torch.tensor([[-2.0, 2.0]]).expand(self.in_features, 2)

    def kernel_basis(self):
        return ("chebyshev", self.degree, 1, None, None)

    def local_basis(self, x: torch.Tensor, order: int, first: int = 0):
        """``[T(tanh x), d/dx, ..]`` up to order 3 by Faa di Bruno, each dense ``(N, I, n+1)``."""
        return None, tanh_chebyshev_derivatives(x, self.degree, order, first)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, degree={self.degree}"
