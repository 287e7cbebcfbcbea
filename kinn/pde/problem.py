"""A PDE problem: a geometry, named inputs and fields, terms, parameters and a reference."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from kinn.diff import Jet, jet_of
from kinn.geometry import Geometry

from .fields import Fields
from .inverse import InverseParameter
from .model import ProblemModel, check_derivatives, hard_constraint
from .terms import FORMS, Dirichlet, Term

if TYPE_CHECKING:
    from .objective import PDEObjective


@dataclass
class Reference:
    """What errors are measured against.

    Args:
        solution: exact solution ``x (N, d) -> (N, m)``, torch or numpy code (see
            :func:`reference_jet`: derived fields of a torch solution come from autograd, of
            a numpy one from central differences).
        points: reference points ``(n, d)`` (e.g. FE nodes), with ``values``: ``name ->
            (n,)`` for fields and derived fields; ``cells``: meshio-style ``[(type, array)]``.
    """

    solution: Callable | None = None
    points: torch.Tensor | np.ndarray | None = None
    values: dict = field(default_factory=dict)
    cells: list | None = None


@dataclass
class EvaluationSet:
    """Where outputs are written and errors measured: ``points (n, d)``, optional meshio
    ``cells``, and ``reference: name -> (n,)`` (empty without a reference)."""

    points: torch.Tensor
    cells: list | None
    reference: dict[str, torch.Tensor]


@dataclass
class Problem:
    """A PDE problem. See docs/pde.md.

    Args:
        name: identifier (``"poisson2d"``).
        geometry: a :class:`kinn.geometry.Geometry`.
        inputs: input names, e.g. ``("x", "y")`` (time last for space-time problems).
        fields: output field names, e.g. ``("ux", "uy")``.
        terms: list of :class:`Term` (residuals, energies, conditions, data).
        parameters: ``name -> InverseParameter`` (trainable physical unknowns).
        reference: a :class:`Reference` or a callable exact solution.
        derived: ``name -> fn(x, u) -> (N,)`` computed from the fields' first derivatives.
        default_form: ``"strong"``, ``"energy"`` or ``"inverse"``.
        output_scale: a number or one per field multiplying the network's outputs.
        defaults: keyword defaults for :meth:`objective` (``n_interior``, ...).
    """

    name: str
    geometry: Geometry
    inputs: tuple
    fields: tuple
    terms: list
    parameters: dict = field(default_factory=dict)
    reference: Reference | Callable | None = None
    derived: dict = field(default_factory=dict)
    default_form: str = "strong"
    output_scale: object = 1.0
    defaults: dict = field(default_factory=dict)

    def __post_init__(self):
        self.inputs, self.fields = tuple(self.inputs), tuple(self.fields)
        if len(self.inputs) != self.geometry.dim:
            raise ValueError(
                f"inputs must be {self.geometry.dim} names for a {self.geometry.dim}-D "
                f"geometry, got {self.inputs}"
            )
        if not self.fields or len(set(self.fields)) != len(self.fields):
            raise ValueError(f"fields must be distinct names, got {self.fields}")
        if self.default_form not in FORMS:
            raise ValueError(f"default_form must be one of {FORMS}, got {self.default_form!r}")
        self.terms = list(self.terms)
        for t in self.terms:
            if not isinstance(t, Term):
                raise ValueError(f"terms must be kinn.pde terms, got {t!r}")
            t.check(self)
        for key, p in self.parameters.items():
            if not isinstance(p, InverseParameter):
                raise ValueError(f"parameters[{key!r}] must be an InverseParameter, got {p!r}")
            p.set_domain(*self.geometry.bbox)
        if callable(self.reference) and not isinstance(self.reference, Reference):
            self.reference = Reference(solution=self.reference)
        self._hard = None

    # ---- shapes -----------------------------------------------------------------------------
    @property
    def in_dim(self) -> int:
        return len(self.inputs)

    @property
    def out_dim(self) -> int:
        return len(self.fields)

    def forms(self) -> list[str]:
        """The forms at least one term takes part in ("inverse" only with parameters)."""
        forms = [f for f in FORMS if any(f in t.forms for t in self.terms)]
        return [f for f in forms if f != "inverse" or self.parameters]

    # ---- the network ------------------------------------------------------------------------
    def hard_constraints(self) -> dict[int, tuple[Callable, Callable]]:
        """``{field index: (g, D)}`` from the hard Dirichlet terms (built once).

        Each hard term contributes its value ``g_i`` and a distance function ``phi_i`` (its
        ``distance=``, or the geometry's :meth:`~kinn.geometry.Geometry.adf` of its part);
        several terms on one field combine by transfinite interpolation
        (:func:`kinn.pde.model.hard_constraint`), exact on every part.
        """
        if self._hard is None:
            groups: dict[int, list] = {}
            for t in self.terms:
                if isinstance(t, Dirichlet) and t.hard:
                    for f in t.fields or self.fields:
                        groups.setdefault(self.fields.index(f), []).append(t)
            lo, hi = self.geometry.bbox
            size = float((hi - lo).max())
            hard = {}
            for i, ts in sorted(groups.items()):
                values = [_lifting(t.value, i, t.fields or self.fields, self.fields) for t in ts]
                distances = [t.distance or self.geometry.adf(t.on) for t in ts]
                hard[i] = hard_constraint(values, distances, size)
            self._hard = hard
        return self._hard

    def model(self, net: nn.Module) -> ProblemModel:
        """``net`` wrapped with the input normalisation, output scale and hard constraints."""
        if isinstance(net, ProblemModel):
            return net
        lo, hi = self.geometry.bbox
        scale = torch.as_tensor(self.output_scale, dtype=torch.float64)
        if scale.ndim and scale.shape != (self.out_dim,):
            raise ValueError(
                f"output_scale must be a number or {self.out_dim} numbers, "
                f"got {self.output_scale!r}"
            )
        return ProblemModel(net, lo, hi, scale, self.hard_constraints())

    def fields_at(
        self,
        model: nn.Module,
        x: torch.Tensor,
        order: int = 1,
        hessian: str = "full",
        derivatives: str = "auto",
    ) -> Fields:
        """The fields and their derivatives up to ``order`` at physical points ``x (N, d)``."""
        j = self.model(model).jet(x, order, hessian, derivatives)
        return Fields(j, x, self.fields, self.inputs, self.parameters)

    # ---- training ---------------------------------------------------------------------------
    def objective(self, model: nn.Module, form: str | None = None, **kw: Any) -> PDEObjective:
        """A :class:`kinn.train.Objective` for ``form`` (default ``default_form``); keywords:
        ``derivatives`` ("auto"/"jet"/"autograd"), ``n_interior``, ``n_boundary``, ``sampler``,
        ``quadrature`` (a rule or ``(rule, n)``), ``point_weights`` (None/"rba"),
        ``energy_guard`` (see :meth:`PDEObjective.energy_gap`), ``adaptive`` (None/"rad":
        resampling draws the interior residual points by RAD), ``causal`` (None or epsilon:
        causal weighting of space-time residuals over 16 time chunks), ``seed``."""
        from .objective import PDEObjective

        return PDEObjective(self, model, form or self.default_form, **{**self.defaults, **kw})

    # ---- evaluation -------------------------------------------------------------------------
    def evaluate(
        self, model: nn.Module, x: torch.Tensor, derivatives: str = "auto"
    ) -> dict[str, torch.Tensor]:
        """Every field and derived field at physical points ``x (N, d)``: ``name -> (N,)``."""
        check_derivatives(derivatives)
        x = torch.as_tensor(x)
        if x.ndim != 2 or x.shape[1] != self.in_dim:
            raise ValueError(f"x must have shape (N, {self.in_dim}), got {tuple(x.shape)}")
        model = self.model(model)
        p = next(model.parameters(), None)
        if p is not None:
            x = x.to(p)
        out: dict[str, list[torch.Tensor]] = {}
        with torch.enable_grad():
            for start in range(0, len(x), 8192):
                self._evaluate_chunk(model, x[start : start + 8192], derivatives, out)
        return {k: torch.cat(v) for k, v in out.items()}

    def _evaluate_chunk(self, model, xb, derivatives, out):
        u = self.fields_at(model, xb, 1 if self.derived else 0, derivatives=derivatives)
        chunk = {f: u[f] for f in self.fields}
        for name, fn in self.derived.items():
            chunk[name] = fn(xb, u)
        for k, v in chunk.items():
            out.setdefault(k, []).append(v.detach())

    def evaluation_set(self) -> EvaluationSet:
        """Reference points (or a triangulation / grid of the geometry) and reference values."""
        cached: EvaluationSet | None = getattr(self, "_eval_set", None)
        if cached is not None:
            return cached
        ref = self.reference
        assert ref is None or isinstance(ref, Reference)  # __post_init__ wraps a callable
        dtype = torch.get_default_dtype()
        cells = None
        if ref is not None and ref.points is not None:
            x = torch.as_tensor(np.asarray(ref.points), dtype=torch.float64)
            cells = ref.cells
        elif self.in_dim == 1:
            lo, hi = self.geometry.bbox
            x = torch.linspace(float(lo[0]), float(hi[0]), 1001, dtype=torch.float64)[:, None]
            cells = [("line", np.stack([np.arange(1000), np.arange(1, 1001)], 1))]
        elif self.in_dim == 2 and hasattr(self.geometry, "triangulate"):
            mesh = self.geometry.triangulate()
            x = torch.as_tensor(mesh.points, dtype=torch.float64)
            cells = [(k, np.asarray(c)) for k, c in mesh.cells.items()]
        else:
            x = self.geometry.sample_interior(4096, "sobol", seed=0, dtype=torch.float64)
        values = {}
        if ref is not None:
            values = {k: torch.as_tensor(np.asarray(v)).reshape(-1) for k, v in ref.values.items()}
            if ref.solution is not None:
                jet = reference_jet(ref.solution, x, 1 if self.derived else 0)
                u = Fields(jet, x, self.fields, self.inputs, self.parameters)
                for f in self.fields:
                    values.setdefault(f, u[f].detach())
                for name, fn in self.derived.items():
                    values.setdefault(name, fn(x, u).detach())
        self._eval_set = EvaluationSet(
            x.to(dtype), cells, {k: v.to(dtype) for k, v in values.items()}
        )
        return self._eval_set


def reference_jet(fn: Callable, x: torch.Tensor, order: int = 0) -> Jet:
    """Values (and first derivatives for ``order=1``) of a reference solution at ``x (N, d)``.

    ``fn`` is called with a float64 tensor without a graph; if that raises, with the numpy
    array. Torch code (a tensor back from a tensor) is differentiated by autograd; numpy code
    (an array back) by central differences with step ``h = 6e-6 * (extent of the points)`` per
    input (error about ``1e-10`` relative in float64), evaluated slightly outside the domain
    at boundary points. Returns a detached :class:`~kinn.diff.Jet` (``value (N, m)``).
    """
    x = x.detach().to(torch.float64)

    def call(y: torch.Tensor) -> tuple[torch.Tensor, bool]:
        with torch.no_grad():
            try:
                v, torch_code = fn(y), True
            except (TypeError, AttributeError, RuntimeError):
                v, torch_code = fn(y.cpu().numpy()), False
        torch_code = torch_code and isinstance(v, torch.Tensor)
        v = torch.as_tensor(np.asarray(v) if not torch.is_tensor(v) else v).to(y)
        return (v[:, None] if v.ndim == 1 else v), torch_code

    value, torch_code = call(x)
    if value.ndim != 2 or len(value) != len(x):
        raise ValueError(
            f"reference solution must return (N, m) values for N = {len(x)} points, got "
            f"shape {tuple(value.shape)}"
        )
    if order == 0:
        return Jet(value)
    if torch_code:
        with torch.enable_grad():
            j = jet_of(fn, x, 1)
        return j.map(torch.Tensor.detach)
    span = x.max(0).values - x.min(0).values
    span = torch.where(span > 0, span, torch.ones_like(span))
    grads = []
    for a in range(x.shape[1]):
        h = 6e-6 * float(span[a])
        step = torch.zeros_like(x)
        step[:, a] = h
        grads.append((call(x + step)[0] - call(x - step)[0]) / (2 * h))
    return Jet(value, torch.stack(grads, dim=-1))


def _lifting(value, i, names, fields):
    k = names.index(fields[i])
    if callable(value):

        def g(x):
            v = torch.as_tensor(value(x), dtype=x.dtype, device=x.device)
            return v if v.ndim == 1 else v[:, k]

        return g
    v = np.asarray(value, dtype=float).reshape(-1)
    c = float(v[k] if v.size > 1 else v[0])
    return lambda x: torch.full((x.shape[0],), c, dtype=x.dtype, device=x.device)
