"""A PDE problem: a geometry, named inputs and fields, terms, parameters and a reference."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from kinn.diff import jet_of

from .fields import Fields
from .inverse import InverseParameter
from .model import ProblemModel, constraint_distance
from .terms import FORMS, Dirichlet, Term


@dataclass
class Reference:
    """What errors are measured against.

    Args:
        solution: exact solution ``x (N, d) -> (N, m)`` (derived fields of the reference then
            come from its autograd jet).
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
    geometry: object
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
                f"inputs={self.inputs}: expected {self.geometry.dim} names for a "
                f"{self.geometry.dim}-D geometry"
            )
        if not self.fields or len(set(self.fields)) != len(self.fields):
            raise ValueError(f"fields={self.fields}: expected distinct names")
        if self.default_form not in FORMS:
            raise ValueError(f"default_form={self.default_form!r}: expected one of {FORMS}")
        self.terms = list(self.terms)
        for t in self.terms:
            if not isinstance(t, Term):
                raise ValueError(f"terms: {t!r} is not a kinn.pde term")
            t.check(self)
        for key, p in self.parameters.items():
            if not isinstance(p, InverseParameter):
                raise ValueError(f"parameters[{key!r}]={p!r}: expected an InverseParameter")
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
    def hard_constraints(self) -> dict:
        """``{field index: (g, D)}`` from the hard Dirichlet terms (built once)."""
        if self._hard is None:
            hard = {}
            groups: dict = {}
            for t in self.terms:
                if isinstance(t, Dirichlet) and t.hard:
                    for f in t.fields or self.fields:
                        groups.setdefault(self.fields.index(f), []).append(t)
            for i, ts in groups.items():
                if len(ts) > 1 and any(t.distance is not None for t in ts):
                    raise ValueError(f"field {self.fields[i]!r}: one hard distance per field")
                if len(ts) > 1 and any(_nonzero(t.value) for t in ts):
                    raise ValueError(
                        f"field {self.fields[i]!r} has several hard conditions; combine them "
                        "into one Dirichlet(on=..., distance=...) with a lifting g"
                    )
                t = ts[0]
                dist = t.distance or constraint_distance(self.geometry, [s.on for s in ts])
                hard[i] = (_lifting(t.value, i, t.fields or self.fields, self.fields), dist)
            self._hard = hard
        return self._hard

    def model(self, net: nn.Module) -> ProblemModel:
        """``net`` wrapped with the input normalisation, output scale and hard constraints."""
        if isinstance(net, ProblemModel):
            return net
        lo, hi = self.geometry.bbox
        scale = torch.as_tensor(self.output_scale, dtype=torch.float64)
        if scale.ndim and scale.shape != (self.out_dim,):
            raise ValueError(f"output_scale={self.output_scale!r}: expected {self.out_dim} numbers")
        return ProblemModel(net, lo, hi, scale, self.hard_constraints())

    def fields_at(self, model, x, order=1, hessian="full", derivatives="jet") -> Fields:
        j = self.model(model).jet(x, order, hessian, derivatives)
        return Fields(j, x, self.fields, self.inputs, self.parameters)

    # ---- training ---------------------------------------------------------------------------
    def objective(self, model: nn.Module, form: str | None = None, **kw):
        """A :class:`kinn.train.Objective` for ``form`` (default ``default_form``); keywords:
        ``derivatives`` ("jet"/"autograd"), ``n_interior``, ``n_boundary``, ``sampler``,
        ``quadrature`` (a rule or ``(rule, n)``), ``point_weights`` (None/"rba"), ``seed``."""
        from .objective import PDEObjective

        return PDEObjective(self, model, form or self.default_form, **{**self.defaults, **kw})

    # ---- evaluation -------------------------------------------------------------------------
    def evaluate(self, model, x: torch.Tensor, derivatives="jet") -> dict[str, torch.Tensor]:
        """Every field and derived field at physical points ``x (N, d)``: ``name -> (N,)``."""
        x = torch.as_tensor(x)
        if x.ndim != 2 or x.shape[1] != self.in_dim:
            raise ValueError(f"x of shape {tuple(x.shape)}: expected (N, {self.in_dim})")
        model = self.model(model)
        p = next(model.parameters(), None)
        if p is not None:
            x = x.to(p)
        out = {}
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
        if getattr(self, "_eval_set", None) is not None:
            return self._eval_set
        ref = self.reference
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
                jet = jet_of(ref.solution, x, 1 if self.derived else 0)
                u = Fields(jet, x, self.fields, self.inputs, self.parameters)
                for f in self.fields:
                    values.setdefault(f, u[f].detach())
                for name, fn in self.derived.items():
                    values.setdefault(name, fn(x, u).detach())
        self._eval_set = EvaluationSet(
            x.to(dtype), cells, {k: v.to(dtype) for k, v in values.items()}
        )
        return self._eval_set


def _nonzero(value) -> bool:
    return callable(value) or bool(np.any(np.asarray(value) != 0))


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
