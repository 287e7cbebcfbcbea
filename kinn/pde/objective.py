"""The training objective of a problem in one form: points, losses, resampling, validation."""

from __future__ import annotations

import math
import warnings

import torch
from torch import nn

from kinn.diff import jet_of
from kinn.geometry import METHODS, GeometryXTime, rad
from kinn.train import Objective, field_errors, residual_point_weights
from kinn.train.distributed import Communicator

from .fields import Fields
from .model import check_derivatives
from .terms import ENERGY, FORMS, Residual, Sampling, Term

CAUSAL_CHUNKS = 16  # time chunks of causal weighting


class _Context:
    """What a term sees while computing its loss: the wrapped model and how to differentiate."""

    def __init__(self, problem, model, derivatives: str):
        self.problem, self.model, self.derivatives = problem, model, derivatives

    def fields(self, x: torch.Tensor, order: int, hessian: str = "full") -> Fields:
        j = self.model.jet(x, order, hessian, self.derivatives)
        return Fields(j, x, self.problem.fields, self.problem.inputs, self.problem.parameters)


class PDEObjective(Objective):
    """Loss terms of ``problem`` in ``form`` for :class:`kinn.train.Trainer`.

    Losses are named by their terms (``pde``, ``energy``, ``dirichlet_left``, ``data``, ...)
    and already multiplied by the weights in ``self.weights`` (each term's ``weight``, or for
    soft value conditions without one the automatic weight of :meth:`value_weight`).
    ``resample`` redraws the collocation points of random terms (quadrature rules other
    than Monte Carlo stay fixed; with ``adaptive="rad"`` the interior residual points are
    drawn where the current model's residual is large); ``state_dict`` holds the points and
    residual-based point weights, so resume is exact. ``validate`` reports ``rel_l2_<name>``
    for every field and derived field with a reference, each inverse parameter's value
    ``param_<name>`` (and its error when the true value is known), and in the energy form
    ``energy_gap_<term>`` (see :meth:`energy_gap`).

    Distributed training (:meth:`shard`): every rank draws the whole point set (the same
    seeds, so the same points, for every sampler and rejection rule) and computes on its
    contiguous block of each term's points; the blocks in rank order are the whole set.
    """

    def __init__(
        self,
        problem,
        model: nn.Module,
        form: str,
        *,
        derivatives: str = "auto",
        n_interior: int = 1024,
        n_boundary: int = 256,
        sampler: str = "sobol",
        quadrature: str | tuple[str, int] | None = None,
        point_weights: str | None = None,
        energy_guard: float | None = 1e-3,
        adaptive: str | None = None,
        causal: float | None = None,
        seed: int = 0,
    ) -> None:
        if form not in FORMS:
            raise ValueError(f"form must be one of {FORMS}, got {form!r}")
        check_derivatives(derivatives)
        if sampler not in METHODS:
            raise ValueError(f"sampler must be one of {METHODS}, got {sampler!r}")
        if point_weights not in (None, "rba"):
            raise ValueError(f"point_weights must be None or 'rba', got {point_weights!r}")
        if causal is not None:
            if isinstance(causal, bool) or not isinstance(causal, int | float) or causal <= 0:
                raise ValueError(f"causal must be a positive number or None, got {causal!r}")
            if not isinstance(problem.geometry, GeometryXTime):
                raise ValueError(
                    "causal weighting needs a space-time geometry (GeometryXTime), got "
                    f"{type(problem.geometry).__name__}"
                )
        if adaptive not in (None, "rad"):
            raise ValueError(f"adaptive must be None or 'rad', got {adaptive!r}")
        if energy_guard is not None and not (
            isinstance(energy_guard, int | float)
            and not isinstance(energy_guard, bool)
            and energy_guard > 0
        ):
            raise ValueError(
                f"energy_guard must be a positive number or None, got {energy_guard!r}"
            )
        for key, n in (("n_interior", n_interior), ("n_boundary", n_boundary)):
            if isinstance(n, bool) or not isinstance(n, int) or n < 1:
                raise ValueError(f"{key} must be a positive integer, got {n!r}")
        self.problem, self.form = problem, form
        self.terms: list[Term] = [t for t in problem.terms if form in t.forms]
        if not self.terms:
            raise ValueError(
                f"problem {problem.name!r} has no terms for form {form!r}; it supports "
                f"{problem.forms()}"
            )
        if form == "inverse" and not problem.parameters:
            raise ValueError(f"problem {problem.name!r} has no inverse parameters")
        self.names = _unique_names(self.terms)
        self.wrapped = problem.model(model)
        self.derivatives, self.point_weights = derivatives, point_weights
        self.n_interior, self.n_boundary = n_interior, n_boundary
        self.sampler, self.quadrature = sampler, quadrature
        self.dtype, self.device = torch.get_default_dtype(), torch.device("cpu")
        self.energy_guard, self.seed, self.adaptive = energy_guard, seed, adaptive
        self.causal = None if causal is None else float(causal)
        self.causal_weights: dict[str, torch.Tensor] = {}  # (CAUSAL_CHUNKS,) per term
        self._fine: dict[str, dict] = {}  # energy terms on the guard's finer rule
        self.refine = 1  # the energy terms' rule is refined this many times per direction
        self._warned = False
        self.points: dict[str, dict] = {}
        self.lam: dict[str, torch.Tensor] = {}
        self._adapting = False  # set by adapt(): the next losses() updates self.lam
        self.redraws: dict[str, bool] = {}  # which terms draw new points on resample
        # set by shard(): this rank computes on its block of the points
        self.comm: Communicator | None = None
        self._draw(seed, first=True)
        auto = self.value_weight() if any(self._auto(t) for t in self.terms) else 1.0
        self.weights: dict[str, float] = {
            name: auto if self._auto(t) else (1.0 if t.weight is None else t.weight)
            for name, t in zip(self.names, self.terms)
        }

    # ---- points ------------------------------------------------------------------------------
    def _sampling(self, seed: int) -> Sampling:
        return Sampling(
            self.problem.geometry,
            self.n_interior,
            self.n_boundary,
            self.sampler,
            seed,
            self.quadrature,
            torch.float64,
        )

    def _rule(self, term: Term, sampling: Sampling, refine: int) -> dict[str, torch.Tensor]:
        """The quadrature points and weights of energy term ``term``, its rule refined
        ``refine`` times per direction, on the objective's device and dtype."""
        return self._here(term.points(sampling, self.form, refine=refine))  # type: ignore[call-arg]

    def _here(self, pts: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {k: v.to(self.device, self.dtype) for k, v in pts.items()}

    def _draw(self, seed: int, first: bool = False) -> None:
        sampling = self._sampling(seed)
        for name, term in zip(self.names, self.terms):
            if first:
                self.redraws[name] = term.redraws(sampling, self.form)
            if first or self.redraws[name]:
                if not first and isinstance(term, Residual) and self._adapts(term):
                    self.points[name] = self._here({"x": self._rad(term, sampling)})
                elif hasattr(term, "integrals"):
                    self.points[name] = self._rule(term, sampling, self.refine)
                else:
                    self.points[name] = self._here(term.points(sampling, self.form))
                self.lam.pop(name, None)
        if self.comm is not None:
            self._check_shards()

    def _causal(self, term: Term) -> bool:
        return self.causal is not None and isinstance(term, Residual) and term.on == "interior"

    def _chunks(self, x: torch.Tensor) -> torch.Tensor:
        """The time chunk ``(n,)`` of each space-time point ``x (n, d + 1)``."""
        time = self.problem.geometry.timedomain
        frac = (x[:, -1].detach() - time.t0) / (time.t1 - time.t0)
        return (frac * CAUSAL_CHUNKS).long().clamp(0, CAUSAL_CHUNKS - 1)

    def _causal_scale(self, name: str, r: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """``(n, 1)`` factors ``s`` with ``mean((s r)^2) = mean_i w_i L_i`` over the time
        chunks ``i`` (``L_i``: the chunk's mean squared residual), the causal weights
        ``w_i = exp(-causal * sum_{k < i} L_k)`` of Wang, Sankaran & Perdikaris (2024).
        ``w`` is recomputed (without gradient) and kept only after :meth:`adapt`; it starts
        at ones."""
        chunk = self._chunks(x)
        count = torch.bincount(chunk, minlength=CAUSAL_CHUNKS).to(r.dtype)
        w = self.causal_weights.get(name)
        if w is None:
            w = torch.ones(CAUSAL_CHUNKS, dtype=r.dtype, device=r.device)
        if self._adapting and torch.is_grad_enabled():
            sq = torch.zeros(CAUSAL_CHUNKS, dtype=r.dtype, device=r.device)
            sq.index_add_(0, chunk, r.detach().square().mean(1))
            mean = sq / count.clamp_min(1)
            before = torch.cumsum(mean, 0) - mean
            w = torch.exp(-float(self.causal or 0.0) * before)
            self.causal_weights[name] = w
        used = count > 0
        per_point = w / (used.sum() * count.clamp_min(1)) * len(x)
        return per_point[chunk].sqrt()[:, None]

    def _adapts(self, term: Term) -> bool:
        """Whether resampling draws ``term``'s points by RAD (interior residual terms)."""
        return self.adaptive == "rad" and isinstance(term, Residual) and term.on == "interior"

    def _rad(self, term: Residual, sampling: Sampling) -> torch.Tensor:
        """``n_interior`` points ``(n, d)`` by residual-based adaptive distribution (Wu et al.
        2023, ``k = 1``, ``c = 1``) among ``4 n`` fresh candidates, from the current model."""
        ctx = _Context(self.problem, self.wrapped, self.derivatives)

        def residual(x: torch.Tensor) -> torch.Tensor:
            with torch.enable_grad():
                return term.residual(ctx, {"x": x.to(self.device, self.dtype)}, self.form)

        x = rad(
            self.problem.geometry,
            residual,
            self.n_interior,
            n_candidates=4 * self.n_interior,
            method=sampling.sampler,
            seed=sampling.seed,
        )
        return x.to(torch.float64)

    def shard(self, comm: Communicator) -> None:
        """Compute on this rank's block of every term's points from now on; ``losses``
        then returns shares whose sum over the ranks is the loss on all points (see
        :meth:`kinn.train.Objective.shard`). Every term needs at least one point per rank.
        """
        if self.causal is not None:
            raise ValueError(
                "causal must be None in distributed training (its time chunks span every "
                f"rank's points), got {self.causal!r}"
            )
        self.comm = comm
        self._check_shards()
        self.lam = {k: v[comm.block(len(v))] for k, v in self.lam.items()}

    def _check_shards(self) -> None:
        assert self.comm is not None
        for name, pts in self.points.items():
            n = len(pts["x"])
            if n < self.comm.world_size:
                raise ValueError(
                    f"loss term {name!r} points must number at least the {self.comm.world_size} "
                    f"ranks (one each), got {n}; give the term more points"
                )

    def _local(self, name: str) -> dict[str, torch.Tensor]:
        """The points of term ``name`` this rank computes on (views, no copies)."""
        pts = self.points[name]
        if self.comm is None:
            return pts
        block = self.comm.block(len(pts["x"]))
        return {k: v[block] for k, v in pts.items()}

    def resample(self, generator: torch.Generator) -> None:
        seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
        self._draw(seed)

    # ---- losses ------------------------------------------------------------------------------
    def _model(self, model: nn.Module) -> nn.Module:
        return (
            self.wrapped
            if model is self.wrapped or model is self.wrapped.net
            else (self.problem.model(model))
        )

    def adapt(self) -> None:
        """Update the residual-based point weights (``point_weights="rba"``) and causal
        weights (``causal=``) at the next :meth:`losses` call with gradients on; every other
        call uses them as they are."""
        self._adapting = True

    def losses(self, model: nn.Module) -> dict[str, torch.Tensor]:
        ctx = _Context(self.problem, self._model(model), self.derivatives)
        try:
            return self._losses(ctx)
        finally:
            if torch.is_grad_enabled():
                self._adapting = False

    def _losses(self, ctx: _Context) -> dict[str, torch.Tensor]:
        out = {}
        for name, term in zip(self.names, self.terms):
            pts = self._local(name)
            if self.comm is not None:
                out[name] = self.weights[name] * self._share(name, term, ctx, pts)
                continue
            if self._weighs(term):
                r = term.residual(ctx, pts, self.form)
                if r is not None:
                    r = self._weigh(name, term, r, pts["x"])
                    out[name] = self.weights[name] * (r**2).mean()
                    continue
            out[name] = self.weights[name] * term.loss(ctx, pts, self.form)
        return out

    def _weighs(self, term: Term) -> bool:
        """Whether ``term``'s residual is scaled pointwise (residual-based point weights
        outside the energy form, causal weights of interior residuals)."""
        return (self.point_weights == "rba" and self.form != ENERGY) or self._causal(term)

    def _weigh(self, name: str, term: Term, r: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """``(n, k)``: the residual ``r (n,)`` or ``(n, k)`` of term ``name`` at ``x`` times its
        residual-based point weights and causal factors (updated only after :meth:`adapt`)."""
        r = r[:, None] if r.ndim == 1 else r
        if self.point_weights == "rba" and self.form != ENERGY:
            r = self._attend(name, r)
        if self._causal(term):
            r = r * self._causal_scale(name, r, x)
        return r

    def _share(self, name: str, term: Term, ctx: _Context, pts: dict) -> torch.Tensor:
        """This rank's share of term ``name``: a mean square over all ranks' points is this
        block's sum of squares over the total count; an integral (a term without pointwise
        residual) is already a sum over its points."""
        r = term.residual(ctx, pts, self.form)
        if r is None:
            return term.loss(ctx, pts, self.form)
        r = r[:, None] if r.ndim == 1 else r
        if self.point_weights == "rba" and self.form != ENERGY:
            assert self.comm is not None  # shares are taken on sharded objectives only
            scale = self.comm.max(r.detach().abs().max().reshape(1))[0]
            r = self._attend(name, r, scale)
        return (r**2).sum() / (len(self.points[name]["x"]) * r.shape[1])

    def _attend(self, name: str, r: torch.Tensor, scale=None) -> torch.Tensor:
        """``lam * r`` with the residual-based point weights ``lam`` of term ``name``
        (``r: (n, k)``); ``lam`` is updated from ``r`` and kept only after :meth:`adapt`,
        with gradients on, and starts from ones."""
        lam = self.lam.get(name)
        if lam is None:
            lam = torch.ones_like(r.detach())
        if self._adapting and torch.is_grad_enabled():
            lam = residual_point_weights(r, lam, scale=scale)
            self.lam[name] = lam
        return lam * r

    # ---- weights -----------------------------------------------------------------------------
    def _auto(self, term: Term) -> bool:
        return term.value_condition and term.weight is None and self.form != ENERGY

    def value_weight(self) -> float:
        """The automatic weight of soft value conditions (Dirichlet, Initial) in the strong
        and inverse forms: ``kappa^2 = mean((R[b] - R[0])^2) / mean(b^2)``, the squared gain
        of the residuals ``R`` for the bump ``b = prod_a sin(pi (x_a - lo_a) / (hi_a - lo_a))``
        (every field) at the residual points. A boundary mismatch ``delta`` leaves an error
        of about ``delta`` in the domain, a residual ``r`` about ``r / kappa``: so both cost
        the same per unit of error. 1 when the form has no residual that responds."""
        lo, hi = (t.to(torch.float64) for t in self.problem.geometry.bbox)
        m = self.problem.out_dim

        def bump(y: torch.Tensor) -> torch.Tensor:
            return torch.sin(torch.pi * (y - lo) / (hi - lo)).prod(1, keepdim=True).expand(-1, m)

        gains = []
        for name, term in zip(self.names, self.terms):
            if not isinstance(term, Residual):
                continue
            x = self.points[name]["x"].to(torch.float64)
            b = jet_of(bump, x, term.order, term.hessian).map(torch.Tensor.detach)
            zero = b.map(torch.zeros_like)
            with torch.no_grad():
                r1, r0 = (term.fn(x, Fields(j, x, *self._names())) for j in (b, zero))
                gains.append(float(((r1 - r0) ** 2).mean() / (b.value**2).mean()))
        gain = sum(gains) / len(gains) if gains else 0.0
        return gain if gain > 0 and math.isfinite(gain) else 1.0

    def _names(self) -> tuple:
        p = self.problem
        return p.fields, p.inputs, p.parameters

    def parameters(self) -> list[nn.Parameter]:
        return [p for par in self.problem.parameters.values() for p in par.parameters()]

    # ---- validation --------------------------------------------------------------------------
    def validate(self, model: nn.Module) -> dict[str, float]:
        ev = self.problem.evaluation_set()
        metrics = {}
        if ev.reference:
            pred = self.problem.evaluate(self._model(model), ev.points.to(self.device, self.dtype))
            ref = {k: v.to(self.device, self.dtype) for k, v in ev.reference.items() if k in pred}
            metrics.update(field_errors(pred, ref))
        for key, par in self.problem.parameters.items():
            x = ev.points.to(self.device, self.dtype) if par.field else None
            for suffix, value in par.report(x).items():
                metrics[f"param_{key}{suffix}"] = value
        if self.form == ENERGY and self.energy_guard is not None:
            metrics.update(self._guard(model))
        return metrics

    def energy_gap(self, model: nn.Module) -> dict[str, float]:
        """How far each energy integral on the training rule is from the same integral on a
        finer rule of the same kind (twice the points per direction; for Monte Carlo 2^d
        times the points, another draw): ``|E_rule - E_fine| / integral |density|``, by
        term name. A network that fits the rule instead of the physics (its energy falls
        below what the rule can resolve) shows a gap far above the rule's own error."""
        return self._on_finer_rule(model)[0]

    def fine_energy(self, model: nn.Module) -> float:
        """The objective's total (weighted sum of its terms) with every energy integral taken
        on the finer rule of :meth:`energy_gap`, the other terms on their own points: the
        best estimate of the true energy, which training should lower (Ritz)."""
        return self._on_finer_rule(model)[1]

    def _on_finer_rule(self, model: nn.Module) -> tuple[dict[str, float], float]:
        ctx = _Context(self.problem, self._model(model), self.derivatives)
        sampling = self._sampling(self.seed)
        gaps, total = {}, 0.0
        for name, term in zip(self.names, self.terms):
            if not hasattr(term, "integrals"):
                with torch.enable_grad():
                    total += self.weights[name] * float(
                        term.loss(ctx, self.points[name], self.form).detach()
                    )
                continue
            if name not in self._fine:
                self._fine[name] = self._rule(term, sampling, 2 * self.refine)
            with torch.enable_grad():
                coarse, _ = term.integrals(ctx, self.points[name])
                fine, scale = term.integrals(ctx, self._fine[name])
            gap = (coarse - fine).detach().abs() / scale.detach().clamp_min(1e-300)
            gaps[name] = float(gap)
            total += self.weights[name] * float(fine.detach())
        return gaps, total

    def refine_quadrature(self) -> None:
        """Train the energy terms on the finer rule :meth:`energy_gap` compares with (twice
        the points per direction; Monte Carlo: 2^d times the points) from now on; the gap is
        then measured against a rule finer again. Other terms keep their points."""
        if self.comm is not None:
            raise RuntimeError("refine_quadrature() on a sharded objective: not supported")
        self.refine *= 2
        self._fine = {}
        sampling = self._sampling(self.seed)
        for name, term in zip(self.names, self.terms):
            if hasattr(term, "integrals"):
                self.points[name] = self._rule(term, sampling, self.refine)
                self.lam.pop(name, None)

    def _guard(self, model: nn.Module) -> dict[str, float]:
        """The ``energy_gap_<term>`` metrics and ``energy_fine`` (:meth:`fine_energy`); warns
        once when a gap exceeds ``energy_guard``."""
        gaps, fine = self._on_finer_rule(model)
        limit = float("inf") if self.energy_guard is None else self.energy_guard
        bad = {k: v for k, v in gaps.items() if v > limit}
        if bad and not self._warned:
            self._warned = True
            worst = max(bad, key=lambda k: bad[k])
            warnings.warn(
                f"energy term {worst!r} on the training quadrature differs from a finer rule "
                f"by {bad[worst]:.2e} of its magnitude (energy_guard={self.energy_guard:g}): "
                "the network may be exploiting the rule; use a finer rule (h=, n=), Monte "
                "Carlo points with resampling, or fewer steps",
                RuntimeWarning,
                stacklevel=2,
            )
        return {**{f"energy_gap_{k}": v for k, v in gaps.items()}, "energy_fine": fine}

    # ---- state -------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """The whole point set and point weights (gathered from every rank when sharded:
        a collective), the same on every rank."""
        lam = self.lam
        if self.comm is not None:
            lam = {k: self.comm.gather_rows(v) for k, v in lam.items()}
        return {
            "points": self.points,
            "lam": lam,
            "causal": dict(self.causal_weights),
            "refine": self.refine,
        }

    def load_state_dict(self, state: dict) -> None:
        self.points = {
            k: {n: v.to(self.device, self.dtype) for n, v in d.items()}
            for k, d in state["points"].items()
        }
        self.lam = {k: v.to(self.device, self.dtype) for k, v in state["lam"].items()}
        causal = state.get("causal", {})  # absent in checkpoints of earlier versions
        self.causal_weights = {k: v.to(self.device, self.dtype) for k, v in causal.items()}
        if state.get("refine", 1) != self.refine:
            self.refine, self._fine = state.get("refine", 1), {}
        if self.comm is not None:
            self.lam = {k: v[self.comm.block(len(v))] for k, v in self.lam.items()}

    def to(self, device: torch.device | str, dtype: torch.dtype) -> PDEObjective:
        self.device, self.dtype = torch.device(device), dtype
        self.load_state_dict(self.state_dict())
        self.wrapped.to(device)
        self._fine = {}
        return self

    # ---- least squares -----------------------------------------------------------------------
    def residuals(self, model: nn.Module) -> dict[str, torch.Tensor]:
        """Pointwise residual of every loss term, ``(n,)`` or ``(n, k)``, scaled so that
        ``losses(model)[name] == (r ** 2).mean()``: ``sqrt(weight)`` times the term's residual
        (and its current residual-based point weights, which this call does not update).
        What ``Stage("gauss_newton")`` needs; the strong and inverse forms have it.

        Raises:
            ValueError: a term is not a mean square (an energy, an external work), naming it.
        """
        ctx = _Context(self.problem, self._model(model), self.derivatives)
        out = {}
        for name, term in zip(self.names, self.terms):
            r = term.residual(ctx, self._local(name), self.form)
            if r is None:
                raise ValueError(
                    f"loss term {name!r} ({type(term).__name__}, {self.form} form) must be a "
                    "mean squared residual for Gauss-Newton, got a term without one; use the "
                    "strong or inverse form, or a quasi-Newton stage such as 'ssbroyden'"
                )
            if self._weighs(term):
                r = self._weigh(name, term, r, self._local(name)["x"])
            out[name] = self.weights[name] ** 0.5 * r
        return out


def _unique_names(terms) -> list[str]:
    names = []
    for t in terms:
        base = t.name or (
            f"{t.default_name}_{t.on}"
            if isinstance(getattr(t, "on", None), str)
            and t.on not in ("interior", "boundary")
            and t.default_name not in ("pde", "initial")
            else t.default_name
        )
        name, k = base, 1
        while name in names:
            k += 1
            name = f"{base}{k}"
        names.append(name)
    return names
