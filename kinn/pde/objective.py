"""The training objective of a problem in one form: points, losses, resampling, validation."""

from __future__ import annotations

import torch
from torch import nn

from kinn.geometry import METHODS
from kinn.train import Objective, field_errors, residual_point_weights

from .fields import Fields
from .terms import ENERGY, FORMS, Sampling


class _Context:
    """What a term sees while computing its loss: the wrapped model and how to differentiate."""

    def __init__(self, problem, model, derivatives):
        self.problem, self.model, self.derivatives = problem, model, derivatives

    def fields(self, x, order, hessian="full") -> Fields:
        j = self.model.jet(x, order, hessian, self.derivatives)
        return Fields(j, x, self.problem.fields, self.problem.inputs, self.problem.parameters)


class PDEObjective(Objective):
    """Loss terms of ``problem`` in ``form`` for :class:`kinn.train.Trainer`.

    Losses are named by their terms (``pde``, ``energy``, ``dirichlet_left``, ``data``, ...)
    and already multiplied by each term's ``weight``. ``resample`` redraws the collocation
    points of random terms (quadrature rules other than Monte Carlo stay fixed);
    ``state_dict`` holds the points and residual-based point weights, so resume is exact.
    ``validate`` reports ``rel_l2_<name>`` for every field and derived field with a
    reference, and each inverse parameter's value ``param_<name>`` (and its error when the
    true value is known).
    """

    def __init__(
        self,
        problem,
        model: nn.Module,
        form: str,
        *,
        derivatives="jet",
        n_interior=1024,
        n_boundary=256,
        sampler="sobol",
        quadrature=None,
        point_weights=None,
        seed=0,
    ):
        if form not in FORMS:
            raise ValueError(f"form={form!r}: expected one of {FORMS}")
        if derivatives not in ("jet", "autograd"):
            raise ValueError(f"derivatives={derivatives!r}: expected 'jet' or 'autograd'")
        if sampler not in METHODS:
            raise ValueError(f"sampler={sampler!r}: expected one of {METHODS}")
        if point_weights not in (None, "rba"):
            raise ValueError(f"point_weights={point_weights!r}: expected None or 'rba'")
        for key, n in (("n_interior", n_interior), ("n_boundary", n_boundary)):
            if isinstance(n, bool) or not isinstance(n, int) or n < 1:
                raise ValueError(f"{key}={n!r}: expected a positive integer")
        self.problem, self.form = problem, form
        self.terms = [t for t in problem.terms if form in t.forms]
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
        self.points: dict[str, dict] = {}
        self.lam: dict[str, torch.Tensor] = {}
        self._draw(seed, first=True)

    # ---- points ------------------------------------------------------------------------------
    def _draw(self, seed, first=False):
        sampling = Sampling(
            self.problem.geometry,
            self.n_interior,
            self.n_boundary,
            self.sampler,
            seed,
            self.quadrature,
            torch.float64,
        )
        for name, term in zip(self.names, self.terms):
            if first or term.random:
                pts = term.points(sampling, self.form)
                self.points[name] = {k: v.to(self.device, self.dtype) for k, v in pts.items()}
                self.lam.pop(name, None)

    def resample(self, generator):
        seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
        self._draw(seed)

    # ---- losses ------------------------------------------------------------------------------
    def _model(self, model):
        return (
            self.wrapped
            if model is self.wrapped or model is self.wrapped.net
            else (self.problem.model(model))
        )

    def losses(self, model):
        ctx = _Context(self.problem, self._model(model), self.derivatives)
        out = {}
        for name, term in zip(self.names, self.terms):
            pts = self.points[name]
            if self.point_weights == "rba" and self.form != ENERGY:
                r = term.residual(ctx, pts, self.form)
                if r is not None:
                    if r.ndim == 1:
                        r = r[:, None]
                    prev = self.lam.get(name)
                    if prev is None:
                        prev = torch.ones_like(r.detach())
                    lam = residual_point_weights(r, prev)
                    if torch.is_grad_enabled():
                        self.lam[name] = lam
                    out[name] = term.weight * ((lam * r) ** 2).mean()
                    continue
            out[name] = term.weight * term.loss(ctx, pts, self.form)
        return out

    def parameters(self):
        return [p for par in self.problem.parameters.values() for p in par.parameters()]

    # ---- validation --------------------------------------------------------------------------
    def validate(self, model):
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
        return metrics

    # ---- state -------------------------------------------------------------------------------
    def state_dict(self):
        return {"points": self.points, "lam": self.lam}

    def load_state_dict(self, state):
        self.points = {
            k: {n: v.to(self.device, self.dtype) for n, v in d.items()}
            for k, d in state["points"].items()
        }
        self.lam = {k: v.to(self.device, self.dtype) for k, v in state["lam"].items()}

    def to(self, device, dtype):
        self.device, self.dtype = torch.device(device), dtype
        self.load_state_dict(self.state_dict())
        self.wrapped.to(device)
        return self

    # ---- least squares -----------------------------------------------------------------------
    def residuals(self, model):
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
            r = term.residual(ctx, self.points[name], self.form)
            if r is None:
                raise ValueError(
                    f"loss term {name!r} ({type(term).__name__}, {self.form} form) must be a "
                    "mean squared residual for Gauss-Newton, got a term without one; use the "
                    "strong or inverse form, or a quasi-Newton stage such as 'ssbroyden'"
                )
            if self.point_weights == "rba" and name in self.lam:
                r = self.lam[name] * (r[:, None] if r.ndim == 1 else r)
            out[name] = term.weight**0.5 * r
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
