"""Loss terms of a problem: strong-form residuals, energies, conditions and data.

Every term has a ``weight``, a ``name`` (its key in the loss dict) and the ``forms`` it takes
part in. Terms that live on points take ``on=``: a boundary part name of the problem's
geometry, ``"interior"``, ``"boundary"`` (the whole boundary), ``"initial"`` (the
``t = t0`` slice of a space-time geometry), a tensor of points ``(n, d)``, a pair
``(points, normals)``, or another :class:`~kinn.geometry.Geometry` (its boundary, e.g.
the interface of an inclusion). Value arguments accept a number, a sequence (one number per
field) or a callable ``g(x) -> (N,)`` / ``(N, k)``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from kinn.geometry import Geometry
from kinn.geometry.geometry import ArrayLike

STRONG, ENERGY, INVERSE = "strong", "energy", "inverse"
FORMS = (STRONG, ENERGY, INVERSE)


# Where a term acts: "interior", "boundary", a boundary part name, "initial", points (n, d),
# (points, normals), or another geometry (its boundary).
On = str | torch.Tensor | tuple[torch.Tensor, torch.Tensor] | Geometry
# A prescribed value: a number, one number per field, or g(x (N, d)) -> (N,) or (N, k).
Value = float | Sequence[float] | torch.Tensor | Callable[[torch.Tensor], torch.Tensor]
FieldNames = str | Sequence[str] | None  # None: every field of the problem
Forms = str | Sequence[str] | None  # None: the term's default forms


class Sampling:
    """What the objective asks of terms when it (re)draws points."""

    def __init__(self, geometry, n_interior, n_boundary, sampler, seed, quadrature, dtype):
        self.geometry, self.sampler, self.seed, self.dtype = geometry, sampler, seed, dtype
        self.n_interior, self.n_boundary, self.quadrature = n_interior, n_boundary, quadrature

    def interior(self, n=None):
        n = n or self.n_interior
        return self.geometry.sample_interior(n, self.sampler, seed=self.seed, dtype=self.dtype)

    def boundary(self, on, n=None):
        n = n or self.n_boundary
        if isinstance(on, Geometry):
            return on.sample_boundary(n, self.sampler, seed=self.seed, dtype=self.dtype)
        if on == "initial" and hasattr(self.geometry, "sample_initial"):
            x = self.geometry.sample_initial(n, self.sampler, seed=self.seed, dtype=self.dtype)
            return x, None
        part = None if on == "boundary" else on
        return self.geometry.sample_boundary(
            n, self.sampler, part=part, seed=self.seed, dtype=self.dtype
        )


class Term:
    """Base class. Subclasses implement :meth:`points` and :meth:`loss` (and :meth:`residual`
    for pointwise terms). Terms hold no state of their own: one term serves every objective
    built from its problem, and what an objective draws or learns lives in the objective."""

    forms: tuple[str, ...] = FORMS
    default_name = "term"
    order, hessian = 0, "full"
    #: whether ``weight=None`` means the objective's automatic weight for value conditions
    #: (see :meth:`PDEObjective.weights`) instead of 1
    value_condition = False

    def __init__(
        self, weight: float | None = None, name: str | None = None, forms: Forms = None
    ) -> None:
        if weight is not None:
            if isinstance(weight, bool) or not isinstance(weight, int | float) or not weight >= 0:
                raise ValueError(f"weight must be a non-negative number or None, got {weight!r}")
            weight = float(weight)
        self.weight, self.name = weight, name
        if forms is not None:
            self.forms = _as_forms(forms)

    def check(self, problem) -> None:
        """Raise ``ValueError`` if the term names fields or parts the problem lacks."""
        for f in getattr(self, "fields", ()) or ():
            if f not in problem.fields:
                raise ValueError(
                    f"{type(self).__name__} fields must be among {problem.fields}, got {f!r}"
                )
        _check_on(getattr(self, "on", None), problem.geometry, type(self).__name__)

    def redraws(self, sampling: Sampling, form: str) -> bool:
        """Whether :meth:`points` depends on the sampling seed (else it is drawn once)."""
        return not _is_fixed(getattr(self, "on", None))

    def points(self, sampling: Sampling, form: str) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def loss(self, ctx, pts: dict, form: str) -> torch.Tensor:
        raise NotImplementedError

    def residual(self, ctx, pts: dict, form: str) -> torch.Tensor | None:
        """Pointwise residual ``(N,)``/``(N, k)`` whose mean square is the loss, or None."""
        return None


def _as_forms(forms) -> tuple[str, ...]:
    forms = (forms,) if isinstance(forms, str) else tuple(forms)
    if any(f not in FORMS for f in forms):
        raise ValueError(f"forms must be a subset of {FORMS}, got {forms!r}")
    return forms


def _check_on(on, geometry, who):
    if isinstance(on, str) and on not in ("interior", "boundary"):
        if on == "initial" and hasattr(geometry, "sample_initial"):
            return
        if on not in geometry.boundary_parts:
            raise ValueError(
                f"{who} on must be a boundary part of {list(geometry.boundary_parts)}, "
                f"'interior' or 'boundary', got {on!r}"
            )


def _draw(on, sampling: Sampling, n=None):
    """``(x, normals or None)`` for a point source ``on``."""
    if isinstance(on, torch.Tensor):
        return on, None
    if isinstance(on, tuple) and len(on) == 2 and all(isinstance(t, torch.Tensor) for t in on):
        return on
    if on == "interior":
        return sampling.interior(n), None
    if isinstance(on, (str, Geometry)):
        return sampling.boundary(on, n)
    raise ValueError(
        "on must be a boundary part name, 'interior', 'boundary', a tensor (n, d), "
        f"(points, normals) or a Geometry, got {on!r}"
    )


def _is_fixed(on) -> bool:
    return isinstance(on, torch.Tensor | tuple)


def values_of(value, x: torch.Tensor, k: int, what="value") -> torch.Tensor:
    """A condition's value at ``x``: ``(N, k)``."""
    if callable(value):
        v = value(x)
        v = torch.as_tensor(v, dtype=x.dtype, device=x.device)
    else:
        v = torch.as_tensor(value, dtype=x.dtype, device=x.device)
    if v.ndim == 0 or (v.ndim == 1 and v.shape[0] == k and v.shape[0] != x.shape[0]):
        return v.reshape(1, -1).expand(x.shape[0], k)
    if v.ndim == 1:
        v = v[:, None]
    if v.shape != (x.shape[0], k):
        raise ValueError(f"{what} must have shape ({x.shape[0]}, {k}), got {tuple(v.shape)}")
    return v


def _fields_tuple(fields):
    if fields is None:
        return None
    return (fields,) if isinstance(fields, str) else tuple(fields)


def _mse(r):
    return (r**2).mean()


class Residual(Term):
    """Strong form: ``residual(x, u) -> (N,)`` or ``(N, k)`` vanishes on ``on`` points.

    ``u`` is a :class:`~kinn.pde.Fields`; e.g. ``lambda x, u: -u.laplacian("u") - f(x)``.
    The loss is the mean squared residual (point-weighted with residual-based attention).
    ``order`` (1 or 2) and ``hessian`` (``"full"``/``"diag"``) say which derivatives to build.
    """

    forms = (STRONG, INVERSE)
    default_name = "pde"

    def __init__(
        self,
        residual: Callable,
        on: On = "interior",
        weight: float | None = None,
        name: str | None = None,
        order: int = 2,
        hessian: str = "full",
        forms: Forms = None,
    ) -> None:
        super().__init__(weight, name, forms)
        if not callable(residual):
            raise ValueError(f"residual must be a callable residual(x, u), got {residual!r}")
        self.fn, self.on, self.order, self.hessian = residual, on, order, hessian

    def points(self, sampling, form):
        return {"x": _draw(self.on, sampling)[0]}

    def residual(self, ctx, pts, form):
        u = ctx.fields(pts["x"], self.order, self.hessian)
        return self.fn(pts["x"], u)

    def loss(self, ctx, pts, form):
        return _mse(self.residual(ctx, pts, form))


class Energy(Term):
    """Energy form: ``integral of density(x, u) dx`` over the domain by quadrature.

    ``density(x, u) -> (N,)``, e.g. ``0.5 * |grad u|^2 - f u`` or an elastic strain energy
    from :mod:`kinn.pde.elasticity`. ``rule``/``n`` pick the geometry's quadrature
    (``"gauss"``, ``"simpson"``, ``"trapezoid"``, ``"triangle"``, ``"montecarlo"``, ...) and
    ``options`` go to ``geometry.quadrature`` (e.g. ``{"h": 0.5}`` for a CSG triangulation);
    the objective's ``quadrature=`` overrides them. Monte Carlo points are redrawn on resample.
    """

    forms = (ENERGY,)
    default_name = "energy"
    order = 1

    def __init__(
        self,
        density: Callable,
        rule: str = "gauss",
        n: int = 16,
        options: dict | None = None,
        weight: float | None = None,
        name: str | None = None,
        forms: Forms = None,
    ) -> None:
        super().__init__(weight, name, forms)
        if not callable(density):
            raise ValueError(f"density must be a callable density(x, u), got {density!r}")
        self.fn, self.rule, self.n, self.options = density, rule, n, dict(options or {})

    def _rule(self, sampling: Sampling) -> tuple[str, int]:
        q = sampling.quadrature
        if q is None:
            return self.rule, self.n
        return (q, self.n) if isinstance(q, str) else tuple(q)

    def redraws(self, sampling, form):
        return self._rule(sampling)[0] == "montecarlo"

    def points(self, sampling, form, refine: int = 1):
        """Quadrature points ``x (N, d)`` and weights ``w (N,)``; ``refine=k`` gives a finer
        rule of the same kind: ``k`` times the points per direction (per axis, per triangle
        direction), or ``k ** d`` times the points for Monte Carlo (drawn with another seed).
        """
        rule, n = self._rule(sampling)
        random = rule == "montecarlo"
        seed = sampling.seed if refine == 1 else sampling.seed + 7919
        dim = sampling.geometry.dim
        if random:
            n = n * refine**dim
        elif rule == "simpson":  # odd points per axis: the coarse nodes stay nodes
            n = (n - 1) * refine + 1
        else:
            n = n * refine
        kw = {"method": sampling.sampler, "seed": seed} if random else {}
        if rule == self.rule:
            kw.update(self.options)
        x, w = sampling.geometry.quadrature(n, rule, dtype=sampling.dtype, **kw)
        return {"x": x, "w": w}

    def integrals(self, ctx, pts) -> tuple[torch.Tensor, torch.Tensor]:
        """``(integral of density, integral of |density|)`` by the rule ``pts``."""
        u = ctx.fields(pts["x"], 1)
        density = self.fn(pts["x"], u)
        return (pts["w"] * density).sum(), (pts["w"] * density.abs()).sum()

    def loss(self, ctx, pts, form):
        u = ctx.fields(pts["x"], 1)
        return (pts["w"] * self.fn(pts["x"], u)).sum()


class _BoundaryTerm(Term):
    def __init__(self, on, fields, weight, name, forms):
        super().__init__(weight, name, forms)
        if on is None:
            raise ValueError(
                f"{type(self).__name__} on must be a boundary part or points, got None"
            )
        self.on, self.fields = on, _fields_tuple(fields)

    def _k(self, ctx):
        return len(self.fields or ctx.problem.fields)

    def _u(self, ctx, u):
        return u.vector(self.fields or ctx.problem.fields)


class Dirichlet(_BoundaryTerm):
    """``u_fields = value`` on ``on``.

    Soft (default): the mean squared mismatch, weighted automatically when ``weight`` is None
    (see docs/pde.md). ``hard=True``: imposed exactly by the output transform
    ``u = g + D(x) N(x)`` (see :class:`ProblemModel`), with ``D`` from the geometry's
    distance function of the part (:meth:`kinn.geometry.Geometry.adf`; ``"initial"`` on a
    space-time geometry) or given as ``distance(x) -> (N,)`` (``> 0`` inside, ``0`` on the
    part); several hard conditions on one field combine by transfinite interpolation, each
    exact on its own part. A hard ``value`` must be a number or a callable ``g(x)`` defined
    in the whole domain.
    """

    default_name = "dirichlet"
    value_condition = True

    def __init__(
        self,
        on: On,
        value: Value = 0.0,
        fields: FieldNames = None,
        hard: bool = False,
        distance: Callable | None = None,
        weight: float | None = None,
        name: str | None = None,
        forms: Forms = None,
    ) -> None:
        super().__init__(on, fields, weight, name, forms)
        self.value, self.hard, self.distance = value, bool(hard), distance
        if distance is not None and not callable(distance):
            raise ValueError(f"distance must be a callable distance(x) -> (N,), got {distance!r}")
        if self.hard and not isinstance(on, str) and distance is None:
            raise ValueError(
                f"a hard Dirichlet condition on points needs distance=fn(x), got on={on!r}"
            )
        if self.hard:
            self.forms = ()

    def points(self, sampling, form):
        x, _ = _draw(self.on, sampling)
        return {"x": x}

    def residual(self, ctx, pts, form):
        x = pts["x"]
        return self._u(ctx, ctx.fields(x, 0)) - values_of(self.value, x, self._k(ctx))

    def loss(self, ctx, pts, form):
        return _mse(self.residual(ctx, pts, form))


class Neumann(_BoundaryTerm):
    """``flux(u) . n = value`` on a boundary part: a heat flux, or a traction with
    ``flux=stress``.

    Strong form: mean squared mismatch at sampled points, with ``flux(x, u) -> (N, k, d)``
    (default: the gradients of ``fields``; for elasticity the stress). Energy form: the
    external work ``- integral of value . u ds`` by boundary Gauss quadrature (``n`` points per
    edge), so ``on`` must then be a boundary part or a geometry; on points ``(n, d)`` or
    ``(points, normals)`` the term takes part in the strong and inverse forms only.
    ``value``: a number, ``k`` numbers (a traction vector) or ``g(x) -> (N, k)``.
    """

    default_name = "neumann"

    def __init__(
        self,
        on: On,
        value: Value,
        fields: FieldNames = None,
        flux: Callable | None = None,
        n: int = 16,
        weight: float | None = None,
        name: str | None = None,
        forms: Forms = None,
    ) -> None:
        super().__init__(on, fields, weight, name, forms)
        self.value, self.flux, self.n = value, flux, n
        if _is_fixed(on):
            if forms is not None and ENERGY in self.forms:
                raise ValueError(
                    f"{type(self).__name__} in the energy form needs a boundary part for its "
                    f"quadrature; on must be a part name or a Geometry, got {type(on).__name__}"
                )
            self.forms = tuple(f for f in self.forms if f != ENERGY)

    def _quadrature(self, form: str) -> bool:
        return form == ENERGY and isinstance(self.on, str | Geometry)

    def redraws(self, sampling, form):
        return not self._quadrature(form) and super().redraws(sampling, form)

    def points(self, sampling, form):
        if self._quadrature(form):
            geom = self.on if isinstance(self.on, Geometry) else sampling.geometry
            part = None if isinstance(self.on, Geometry) or self.on == "boundary" else self.on
            x, nrm, w = geom.boundary_quadrature(self.n, part=part, dtype=sampling.dtype)
            return {"x": x, "n": nrm, "w": w}
        x, nrm = _draw(self.on, sampling)
        if nrm is None:
            nrm = sampling.geometry.boundary_normal(x)
        return {"x": x, "n": nrm.to(x)}

    def _flux_n(self, ctx, u, pts):
        names = self.fields or ctx.problem.fields
        flux = u.jacobian(names) if self.flux is None else self.flux(pts["x"], u)
        return (flux * pts["n"][:, None, :]).sum(-1)

    def residual(self, ctx, pts, form):
        if form == ENERGY:
            return None
        u = ctx.fields(pts["x"], 1)
        return self._flux_n(ctx, u, pts) - values_of(self.value, pts["x"], self._k(ctx))

    def loss(self, ctx, pts, form):
        if form == ENERGY:
            u = self._u(ctx, ctx.fields(pts["x"], 0))
            g = values_of(self.value, pts["x"], self._k(ctx))
            return -(pts["w"] * (g * u).sum(1)).sum()
        return _mse(self.residual(ctx, pts, form))


class Robin(Neumann):
    """``flux(u) . n + alpha * u = value``; energy form adds
    ``integral of (alpha/2 u^2 - value u) ds``."""

    default_name = "robin"

    def __init__(
        self,
        on: On,
        alpha: Value,
        value: Value = 0.0,
        fields: FieldNames = None,
        flux: Callable | None = None,
        n: int = 16,
        weight: float | None = None,
        name: str | None = None,
        forms: Forms = None,
    ) -> None:
        super().__init__(on, value, fields, flux, n, weight, name, forms)
        self.alpha = alpha

    def residual(self, ctx, pts, form):
        if form == ENERGY:
            return None
        x = pts["x"]
        u = ctx.fields(x, 1)
        a = values_of(self.alpha, x, self._k(ctx), "alpha")
        g = values_of(self.value, x, self._k(ctx))
        return self._flux_n(ctx, u, pts) + a * self._u(ctx, u) - g

    def loss(self, ctx, pts, form):
        if form == ENERGY:
            x = pts["x"]
            u = self._u(ctx, ctx.fields(x, 0))
            a = values_of(self.alpha, x, self._k(ctx), "alpha")
            g = values_of(self.value, x, self._k(ctx))
            return (pts["w"] * (0.5 * a * u**2 - g * u).sum(1)).sum()
        return _mse(self.residual(ctx, pts, form))


class Periodic(_BoundaryTerm):
    """``u(x) = u(x + shift)`` for ``x`` on part ``on`` (and the first derivatives too with
    ``derivatives=True``), e.g. ``Periodic("left", shift=(2, 0))``."""

    default_name = "periodic"

    def __init__(
        self,
        on: On,
        shift: ArrayLike,
        fields: FieldNames = None,
        derivatives: bool = False,
        weight: float | None = None,
        name: str | None = None,
        forms: Forms = None,
    ) -> None:
        super().__init__(on, fields, weight, name, forms)
        self.shift, self.order = shift, 1 if derivatives else 0

    def points(self, sampling, form):
        x, _ = _draw(self.on, sampling)
        shift = torch.as_tensor(self.shift, dtype=x.dtype).reshape(1, -1)
        if shift.shape[1] != x.shape[1]:
            raise ValueError(f"shift must be {x.shape[1]} numbers, got {self.shift!r}")
        return {"x": x, "y": x + shift}

    def residual(self, ctx, pts, form):
        a, b = ctx.fields(pts["x"], self.order), ctx.fields(pts["y"], self.order)
        names = self.fields or ctx.problem.fields
        r = a.vector(names) - b.vector(names)
        if self.order:
            r = torch.cat([r, (a.jacobian(names) - b.jacobian(names)).flatten(1)], dim=1)
        return r

    def loss(self, ctx, pts, form):
        return _mse(self.residual(ctx, pts, form))


class Initial(Dirichlet):
    """Initial condition on a space-time geometry (time is the last input):
    ``u = value`` at ``t = t0``, and ``du/dt = velocity`` when given (wave equations).

    ``hard=True`` imposes ``u = value`` exactly (a hard Dirichlet condition on the part
    ``"initial"``, combined with any hard boundary conditions of the same fields); a
    ``velocity`` then stays a soft term.
    """

    default_name = "initial"

    def __init__(
        self,
        value: Value,
        fields: FieldNames = None,
        velocity: Value | None = None,
        on: On = "initial",
        hard: bool = False,
        distance: Callable | None = None,
        weight: float | None = None,
        name: str | None = None,
        forms: Forms = None,
    ) -> None:
        super().__init__(on, value, fields, hard, distance, weight, name, forms)
        self.velocity = velocity
        self.order = 1 if velocity is not None else 0
        if self.hard and velocity is not None:  # the velocity stays a loss term
            self.forms = type(self).forms if forms is None else _as_forms(forms)

    def residual(self, ctx, pts, form):
        x = pts["x"]
        u = ctx.fields(x, self.order)
        k = self._k(ctx)
        parts = [] if self.hard else [self._u(ctx, u) - values_of(self.value, x, k)]
        if self.velocity is not None:
            ut = u.jacobian(self.fields or ctx.problem.fields)[..., -1]
            parts.append(ut - values_of(self.velocity, x, k, "velocity"))
        return torch.cat(parts, dim=1)


class Interface(Term):
    """Continuity between subdomains represented by separate fields: ``u_a = u_b`` on the
    interface ``on`` and, with ``flux_a``/``flux_b`` (``(x, u) -> (N, k, d)``), equal normal
    fluxes ``flux_a . n = flux_b . n`` (e.g. ``k_1 du_1/dn = k_2 du_2/dn``)."""

    default_name = "interface"

    def __init__(
        self,
        on: On,
        fields_a: FieldNames,
        fields_b: FieldNames,
        flux_a: Callable | None = None,
        flux_b: Callable | None = None,
        weight: float | None = None,
        name: str | None = None,
        forms: Forms = None,
    ) -> None:
        super().__init__(weight, name, forms)
        self.on = on
        self.fields_a, self.fields_b = _fields_tuple(fields_a), _fields_tuple(fields_b)
        if len(self.fields_a) != len(self.fields_b):
            raise ValueError(
                f"fields_b must name as many fields as fields_a={fields_a!r}, got {fields_b!r}"
            )
        if (flux_a is None) != (flux_b is None):
            raise ValueError("give both flux_a and flux_b, or neither")
        self.flux_a, self.flux_b = flux_a, flux_b
        self.fields = self.fields_a + self.fields_b
        self.order = 1 if flux_a is not None else 0

    def points(self, sampling, form):
        x, nrm = _draw(self.on, sampling)
        out = {"x": x}
        if self.order:
            if nrm is None:
                raise ValueError("flux continuity needs normals: on=(points, normals) or a part")
            out["n"] = nrm.to(x)
        return out

    def residual(self, ctx, pts, form):
        u = ctx.fields(pts["x"], self.order)
        r = u.vector(self.fields_a) - u.vector(self.fields_b)
        if self.order:
            n = pts["n"][:, None, :]
            fa = (self.flux_a(pts["x"], u) * n).sum(-1)
            fb = (self.flux_b(pts["x"], u) * n).sum(-1)
            r = torch.cat([r, fa - fb], dim=1)
        return r

    def loss(self, ctx, pts, form):
        return _mse(self.residual(ctx, pts, form))


class Data(Term):
    """Observations ``u_fields(points) = values`` (noisy measurements): mean squared misfit.

    ``points (n, d)`` and ``values (n, k)`` as tensors/arrays, or ``Data.from_file(path,
    inputs, fields)`` (npz, npy, csv/txt, or any meshio format). NaN/Inf raise ``ValueError``.
    """

    forms = (INVERSE,)
    default_name = "data"

    def __init__(
        self,
        points,
        values,
        fields: FieldNames = None,
        weight: float | None = None,
        name: str | None = None,
        forms: Forms = None,
    ) -> None:
        super().__init__(weight, name, forms)
        from .inverse import check_observations

        self.fields = _fields_tuple(fields)
        self.x, self.values = check_observations(points, values)

    @classmethod
    def from_file(cls, path, inputs: Sequence[str], fields: Sequence[str], **kw) -> Data:
        from .inverse import load_observations

        x, v = load_observations(path, inputs, fields)
        return cls(x, v, fields=fields, **kw)

    def check(self, problem) -> None:
        super().check(problem)
        from .inverse import check_observations

        check_observations(self.x, self.values, problem.in_dim, len(self.fields or problem.fields))

    def redraws(self, sampling, form):
        return False

    def points(self, sampling, form):
        return {"x": self.x.to(sampling.dtype), "v": self.values.to(sampling.dtype)}

    def residual(self, ctx, pts, form):
        u = ctx.fields(pts["x"], 0)
        return u.vector(self.fields or ctx.problem.fields) - pts["v"]

    def loss(self, ctx, pts, form):
        return _mse(self.residual(ctx, pts, form))
