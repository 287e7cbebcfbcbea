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

STRONG, ENERGY, INVERSE = "strong", "energy", "inverse"
FORMS = (STRONG, ENERGY, INVERSE)


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
    """Base class. Subclasses implement :meth:`points` and :meth:`loss`."""

    forms: tuple[str, ...] = FORMS
    default_name = "term"
    order, hessian = 0, "full"
    #: whether :meth:`points` depends on the sampling seed (else points are drawn once)
    random = True

    def __init__(self, weight=1.0, name=None, forms=None):
        weight = float(weight)
        if not weight >= 0:
            raise ValueError(f"weight={weight!r}: expected a non-negative number")
        self.weight, self.name = weight, name
        if forms is not None:
            forms = (forms,) if isinstance(forms, str) else tuple(forms)
            bad = [f for f in forms if f not in FORMS]
            if bad:
                raise ValueError(f"forms={forms!r}: expected a subset of {FORMS}")
            self.forms = forms

    def check(self, problem) -> None:
        """Raise ``ValueError`` if the term names fields or parts the problem lacks."""
        for f in getattr(self, "fields", ()) or ():
            if f not in problem.fields:
                raise ValueError(
                    f"{type(self).__name__} names field {f!r}; expected one of {problem.fields}"
                )
        _check_on(getattr(self, "on", None), problem.geometry, type(self).__name__)

    def points(self, sampling: Sampling, form: str) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def loss(self, ctx, pts: dict, form: str) -> torch.Tensor:
        raise NotImplementedError

    def residual(self, ctx, pts: dict, form: str) -> torch.Tensor | None:
        """Pointwise residual ``(N,)``/``(N, k)`` for residual-based point weights, or None."""
        return None


def _check_on(on, geometry, who):
    if isinstance(on, str) and on not in ("interior", "boundary"):
        if on == "initial" and hasattr(geometry, "sample_initial"):
            return
        if on not in geometry.boundary_parts:
            raise ValueError(
                f"{who}: unknown boundary part {on!r}; expected one of "
                f"{list(geometry.boundary_parts)}, 'interior' or 'boundary'"
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
        f"on={on!r}: expected a boundary part name, 'interior', 'boundary', a tensor (n, d), "
        "(points, normals) or a Geometry"
    )


def _is_fixed(on):
    return isinstance(on, (torch.Tensor, tuple))


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
        raise ValueError(f"{what} has shape {tuple(v.shape)}: expected ({x.shape[0]}, {k})")
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
        on="interior",
        weight=1.0,
        name=None,
        order=2,
        hessian="full",
        forms=None,
    ):
        super().__init__(weight, name, forms)
        if not callable(residual):
            raise ValueError(f"residual={residual!r}: expected a callable residual(x, u)")
        self.fn, self.on, self.order, self.hessian = residual, on, order, hessian
        self.random = not _is_fixed(on)

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
        self, density: Callable, rule="gauss", n=16, options=None, weight=1.0, name=None, forms=None
    ):
        super().__init__(weight, name, forms)
        if not callable(density):
            raise ValueError(f"density={density!r}: expected a callable density(x, u)")
        self.fn, self.rule, self.n, self.options = density, rule, n, dict(options or {})

    def points(self, sampling, form):
        rule, n = self.rule, self.n
        if sampling.quadrature is not None:
            q = sampling.quadrature
            rule, n = (q, n) if isinstance(q, str) else tuple(q)
        self.random = rule == "montecarlo"
        kw = {"method": sampling.sampler, "seed": sampling.seed} if self.random else {}
        if rule == self.rule:
            kw.update(self.options)
        x, w = sampling.geometry.quadrature(n, rule, dtype=sampling.dtype, **kw)
        return {"x": x, "w": w}

    def loss(self, ctx, pts, form):
        u = ctx.fields(pts["x"], 1)
        return (pts["w"] * self.fn(pts["x"], u)).sum()


class _BoundaryTerm(Term):
    def __init__(self, on, fields, weight, name, forms):
        super().__init__(weight, name, forms)
        if on is None:
            raise ValueError(f"{type(self).__name__} needs on= (a boundary part or points)")
        self.on, self.fields = on, _fields_tuple(fields)
        self.random = not _is_fixed(on)

    def _k(self, ctx):
        return len(self.fields or ctx.problem.fields)

    def _u(self, ctx, u):
        return u.vector(self.fields or ctx.problem.fields)


class Dirichlet(_BoundaryTerm):
    """``u_fields = value`` on ``on``. Soft: mean squared mismatch. ``hard=True``: imposed
    exactly by the output transform ``u = g + D(x) N(x)`` (see :class:`ProblemModel`), with
    ``D`` built from the geometry (flat or circular parts) or given as ``distance(x) -> (N,)``;
    a hard condition's ``value`` must then be a number or a callable ``g(x)`` defined
    everywhere in the domain (a lifting)."""

    default_name = "dirichlet"

    def __init__(
        self,
        on,
        value=0.0,
        fields=None,
        hard=False,
        distance=None,
        weight=1.0,
        name=None,
        forms=None,
    ):
        super().__init__(on, fields, weight, name, forms)
        self.value, self.hard, self.distance = value, bool(hard), distance
        if self.hard and not isinstance(on, str) and distance is None:
            raise ValueError("a hard Dirichlet condition on points needs distance=fn(x)")
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
    """``flux(u) . n = value`` on a boundary part: a traction, a heat flux.

    Strong form: mean squared mismatch at sampled points, with ``flux(x, u) -> (N, k, d)``
    (default: the gradients of ``fields``; for elasticity the stress). Energy form: the
    external work ``- integral of value . u ds`` by boundary Gauss quadrature (``n`` points per
    edge). ``value``: a number, ``k`` numbers (a traction vector) or ``g(x) -> (N, k)``.
    """

    default_name = "neumann"

    def __init__(self, on, value, fields=None, flux=None, n=16, weight=1.0, name=None, forms=None):
        super().__init__(on, fields, weight, name, forms)
        self.value, self.flux, self.n = value, flux, n

    def check(self, problem):
        super().check(problem)
        if not isinstance(self.on, (str, Geometry)) and ENERGY in self.forms:
            if not isinstance(self.on, tuple):
                raise ValueError(f"{type(self).__name__}: the energy form needs a boundary part")

    def points(self, sampling, form):
        if form == ENERGY and isinstance(self.on, (str, Geometry)):
            geom = self.on if isinstance(self.on, Geometry) else sampling.geometry
            part = None if isinstance(self.on, Geometry) or self.on == "boundary" else self.on
            x, nrm, w = geom.boundary_quadrature(self.n, part=part, dtype=sampling.dtype)
            self.random = False
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
            if "w" not in pts:
                raise ValueError("Neumann work in the energy form needs boundary quadrature")
            u = self._u(ctx, ctx.fields(pts["x"], 0))
            g = values_of(self.value, pts["x"], self._k(ctx))
            return -(pts["w"] * (g * u).sum(1)).sum()
        return _mse(self.residual(ctx, pts, form))


Traction = Neumann


class Robin(Neumann):
    """``flux(u) . n + alpha * u = value``; energy form adds
    ``integral of (alpha/2 u^2 - value u) ds``."""

    default_name = "robin"

    def __init__(
        self, on, alpha, value=0.0, fields=None, flux=None, n=16, weight=1.0, name=None, forms=None
    ):
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
        self, on, shift, fields=None, derivatives=False, weight=1.0, name=None, forms=None
    ):
        super().__init__(on, fields, weight, name, forms)
        self.shift, self.order = shift, 1 if derivatives else 0

    def points(self, sampling, form):
        x, _ = _draw(self.on, sampling)
        shift = torch.as_tensor(self.shift, dtype=x.dtype).reshape(1, -1)
        if shift.shape[1] != x.shape[1]:
            raise ValueError(f"shift={self.shift!r}: expected {x.shape[1]} numbers")
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
    ``u = value`` at ``t = t0``, and ``du/dt = velocity`` when given (wave equations)."""

    default_name = "initial"

    def __init__(
        self, value, fields=None, velocity=None, on="initial", weight=1.0, name=None, forms=None
    ):
        super().__init__(on, value, fields, False, None, weight, name, forms)
        self.velocity = velocity
        self.order = 1 if velocity is not None else 0

    def residual(self, ctx, pts, form):
        x = pts["x"]
        u = ctx.fields(x, self.order)
        k = self._k(ctx)
        r = self._u(ctx, u) - values_of(self.value, x, k)
        if self.velocity is not None:
            ut = u.jacobian(self.fields or ctx.problem.fields)[..., -1]
            r = torch.cat([r, ut - values_of(self.velocity, x, k, "velocity")], dim=1)
        return r


class Interface(Term):
    """Continuity between subdomains represented by separate fields: ``u_a = u_b`` on the
    interface ``on`` and, with ``flux_a``/``flux_b`` (``(x, u) -> (N, k, d)``), equal normal
    fluxes ``flux_a . n = flux_b . n`` (e.g. ``k_1 du_1/dn = k_2 du_2/dn``)."""

    default_name = "interface"

    def __init__(
        self, on, fields_a, fields_b, flux_a=None, flux_b=None, weight=1.0, name=None, forms=None
    ):
        super().__init__(weight, name, forms)
        self.on = on
        self.fields_a, self.fields_b = _fields_tuple(fields_a), _fields_tuple(fields_b)
        if len(self.fields_a) != len(self.fields_b):
            raise ValueError(
                f"fields_a={fields_a!r} and fields_b={fields_b!r}: expected equal counts"
            )
        if (flux_a is None) != (flux_b is None):
            raise ValueError("give both flux_a and flux_b, or neither")
        self.flux_a, self.flux_b = flux_a, flux_b
        self.fields = self.fields_a + self.fields_b
        self.order = 1 if flux_a is not None else 0
        self.random = not _is_fixed(on)

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
    random = False

    def __init__(self, points, values, fields=None, weight=1.0, name=None, forms=None):
        super().__init__(weight, name, forms)
        self.fields = _fields_tuple(fields)
        self.raw = (points, values)

    @classmethod
    def from_file(cls, path, inputs: Sequence[str], fields: Sequence[str], **kw) -> Data:
        from .inverse import load_observations

        x, v = load_observations(path, inputs, fields)
        return cls(x, v, fields=fields, **kw)

    def check(self, problem):
        super().check(problem)
        from .inverse import check_observations

        k = len(self.fields or problem.fields)
        self.x, self.values = check_observations(*self.raw, problem.in_dim, k)

    def points(self, sampling, form):
        return {"x": self.x.to(sampling.dtype), "v": self.values.to(sampling.dtype)}

    def residual(self, ctx, pts, form):
        u = ctx.fields(pts["x"], 0)
        return u.vector(self.fields or ctx.problem.fields) - pts["v"]

    def loss(self, ctx, pts, form):
        return _mse(self.residual(ctx, pts, form))
