"""The problems of the accuracy suite (``benchmarks.accuracy``): each once in kinn, once in DeepXDE.

Every :class:`Case` holds the kinn problem (geometry, terms, reference), the form it is
trained in, the collocation budget, a dense evaluation set (>= 10k points, a uniform grid or a
reference solver's grid, never the training points) and the same problem written for DeepXDE
(strong form, same points budget, same hard or soft boundary treatment). Classes follow the
accuracy issue: every class has more than one instance except where noted in ``CLASSES``.

Sources: PINNacle (Hao et al. 2024: Poisson 2-D/3-D, Burgers, wave, Helmholtz, Kovasznay's NS,
inverse Poisson), the PIKAN comparisons (Shukla et al. 2024: Helmholtz, Klein-Gordon, wave,
Allen-Cahn, multi-scale Poisson), KINN (Wang et al. 2025: plate with a hole, energy form,
boundary layers, multi-scale heat), DeepXDE's examples (Burgers, Allen-Cahn, Kovasznay).
Burgers and Allen-Cahn references are computed here (Fourier ETDRK4 and finite differences)
and cached in ``benchmarks/data/`` (about 0.5 MB each).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from kinn.geometry import Cuboid, Disk, GeometryXTime, Interval, Rectangle, TimeDomain
from kinn.pde import Dirichlet, Initial, Problem, Reference, Residual

DATA = Path(__file__).parent / "data"
PI = math.pi


@dataclass
class Case:
    """One suite problem.

    Args:
        name, cls: identifier and the class of the issue's list it stands for.
        problem: factory of the kinn problem (its reference is replaced by the dense set).
        form: ``"strong"``, ``"energy"`` or ``"inverse"``.
        points: ``objective()`` keywords: ``n_interior``, ``n_boundary``, ``quadrature``...
        evaluation: ``() -> (points (n, d) float64 array, {field: (n,) array})``.
        deepxde: ``(dde) -> dict`` with ``geom``, ``pde``, ``bcs``, ``num_domain``,
            ``num_boundary``, ``num_initial``, ``transform``, ``variables``, ``weights``,
            ``combine`` (``(points, outputs) -> {field: (n,)}`` where the network's outputs
            are not the reference's fields) (strong form; ``None`` when no DeepXDE version
            is written).
        metrics: fields whose mean relative L2 error is the headline ``err``.
        source: where the problem comes from.
    """

    name: str
    cls: str
    problem: Callable[[], Problem]
    form: str
    points: dict
    evaluation: Callable[[], tuple[np.ndarray, dict]]
    deepxde: Callable | None
    metrics: tuple
    source: str
    extra: dict = field(default_factory=dict)


def _t(x) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x), dtype=torch.float64)


def _numpy(fn):
    """A torch function ``x (N, d) -> (N,)`` as DeepXDE's boundary value ``(N, 1)`` numpy."""
    return lambda x: fn(_t(x)).reshape(-1, 1).numpy()


def _grid(lo, hi, n) -> np.ndarray:
    """A uniform tensor grid of ``n[i]`` points per axis: ``(prod n, d)``."""
    axes = [np.linspace(a, b, k) for a, b, k in zip(lo, hi, n)]
    return np.stack([g.ravel() for g in np.meshgrid(*axes, indexing="ij")], axis=1)


def _exact_set(points: np.ndarray, exact: dict) -> tuple[np.ndarray, dict]:
    x = _t(points)
    return points, {k: fn(x).numpy() for k, fn in exact.items()}


def _with_dense(problem: Problem, evaluation, exact=None) -> Problem:
    """Score the problem on the dense set: kinn's own ``validate`` then reports on it."""
    points, values = evaluation()
    problem.reference = Reference(
        solution=exact, points=points, values={} if exact else dict(values)
    )
    problem._eval_set = None
    return problem


def _square_zero(x, y):
    """DeepXDE's output transform for ``u = 0`` on the unit square's boundary."""
    return x[:, :1] * (1 - x[:, :1]) * x[:, 1:] * (1 - x[:, 1:]) * y


def _dde_unit_square(dde, pde, num_domain: int) -> dict:
    """A DeepXDE problem on the unit square with ``u = 0`` imposed by the output transform."""
    return {
        "geom": dde.geometry.Rectangle([0, 0], [1, 1]),
        "pde": pde,
        "bcs": [],
        "num_domain": num_domain,
        "num_boundary": 0,
        "transform": _square_zero,
    }


# ---- smooth Poisson ----------------------------------------------------------------------


def _sin2(x):
    return torch.sin(PI * x[:, 0]) * torch.sin(PI * x[:, 1])


def poisson2d_case() -> Case:
    from problems import poisson2d

    ev = lambda: _exact_set(_grid([0, 0], [1, 1], [120, 120]), {"u": _sin2})  # noqa: E731

    def dde_problem(dde):
        def pde(x, y):
            lap = dde.grad.hessian(y, x, i=0, j=0) + dde.grad.hessian(y, x, i=1, j=1)
            return -lap - 2 * PI**2 * _sin2(x)[:, None]

        return _dde_unit_square(dde, pde, 1024)

    return Case(
        "poisson2d",
        "smooth Poisson 2-D",
        lambda: _with_dense(poisson2d(), ev, lambda x: _sin2(x)[:, None]),
        "strong",
        {"n_interior": 1024},
        ev,
        dde_problem,
        ("u",),
        "PINNacle Poisson-2d / kinn problems.poisson2d (sin(pi x) sin(pi y), hard BC)",
    )


def _disk_u(x):
    return torch.exp(x[:, 0]) * torch.sin(2 * x[:, 1])


def _disk_f(x):  # -lap u = -(1 - 4) e^x sin(2y)
    return 3 * _disk_u(x)


def poisson2d_disk_case() -> Case:
    def ev():
        g = _grid([-1, -1], [1, 1], [130, 130])
        return _exact_set(g[(g**2).sum(1) <= 1], {"u": _disk_u})

    def build():
        p = Problem(
            name="poisson2d_disk",
            geometry=Disk([0, 0], 1),
            inputs=("x", "y"),
            fields=("u",),
            terms=[
                Residual(lambda x, u: -u.laplacian("u") - _disk_f(x), hessian="diag"),
                Dirichlet("boundary", _disk_u),
            ],
        )
        return _with_dense(p, ev, lambda x: _disk_u(x)[:, None])

    def dde_problem(dde):
        def pde(x, y):
            lap = dde.grad.hessian(y, x, i=0, j=0) + dde.grad.hessian(y, x, i=1, j=1)
            return -lap - _disk_f(x)[:, None]

        geom = dde.geometry.Disk([0, 0], 1)
        bc = dde.icbc.DirichletBC(geom, _numpy(_disk_u), lambda _, on: on)
        return {"geom": geom, "pde": pde, "bcs": [bc], "num_domain": 1024, "num_boundary": 256}

    return Case(
        "poisson2d_disk",
        "smooth Poisson 2-D",
        build,
        "strong",
        {"n_interior": 1024, "n_boundary": 256},
        ev,
        dde_problem,
        ("u",),
        "PINNacle Poisson 2d (disk geometry), u = exp(x) sin(2y), soft Dirichlet",
    )


def _sin3(x):
    return torch.sin(PI * x[:, 0]) * torch.sin(PI * x[:, 1]) * torch.sin(PI * x[:, 2])


def poisson3d_case() -> Case:
    ev = lambda: _exact_set(_grid([0] * 3, [1] * 3, [25] * 3), {"u": _sin3})  # noqa: E731

    def build():
        p = Problem(
            name="poisson3d",
            geometry=Cuboid([0, 0, 0], [1, 1, 1]),
            inputs=("x", "y", "z"),
            fields=("u",),
            terms=[
                Residual(lambda x, u: -u.laplacian("u") - 3 * PI**2 * _sin3(x), hessian="diag"),
                Dirichlet("boundary", 0.0, hard=True),
            ],
        )
        return _with_dense(p, ev, lambda x: _sin3(x)[:, None])

    def dde_problem(dde):
        def pde(x, y):
            lap = sum(dde.grad.hessian(y, x, i=i, j=i) for i in range(3))
            return -lap - 3 * PI**2 * _sin3(x)[:, None]

        def transform(x, y):
            d = x * (1 - x)
            return d[:, :1] * d[:, 1:2] * d[:, 2:] * y

        return {
            "geom": dde.geometry.Cuboid([0, 0, 0], [1, 1, 1]),
            "pde": pde,
            "bcs": [],
            "num_domain": 2048,
            "num_boundary": 0,
            "transform": transform,
        }

    return Case(
        "poisson3d",
        "smooth Poisson 3-D",
        build,
        "strong",
        {"n_interior": 2048},
        ev,
        dde_problem,
        ("u",),
        "PINNacle Poisson-3d (manufactured sin sin sin on the unit cube, hard BC)",
    )


# ---- boundary layers ---------------------------------------------------------------------


def _layer(x, eps):
    """Solution of ``-eps u'' + u' = 1``, ``u(0) = u(1) = 0``: a layer of width eps at x = 1."""
    e = math.exp(-1 / eps)
    return x - (torch.exp((x - 1) / eps) - e) / (1 - e)


def boundary_layer_1d_case(eps: float = 0.01) -> Case:
    u = lambda x: _layer(x[:, 0], eps)  # noqa: E731
    ev = lambda: _exact_set(np.linspace(0, 1, 10001)[:, None], {"u": u})  # noqa: E731

    def build():
        p = Problem(
            name="boundary_layer_1d",
            geometry=Interval(0, 1),
            inputs=("x",),
            fields=("u",),
            terms=[
                Residual(lambda x, u: -eps * u.d("u", "xx") + u.d("u", "x") - 1, hessian="diag"),
                Dirichlet("boundary", 0.0, hard=True),
            ],
        )
        return _with_dense(p, ev, lambda x: u(x)[:, None])

    def dde_problem(dde):
        def pde(x, y):
            return -eps * dde.grad.hessian(y, x) + dde.grad.jacobian(y, x) - 1

        return {
            "geom": dde.geometry.Interval(0, 1),
            "pde": pde,
            "bcs": [],
            "num_domain": 256,
            "num_boundary": 0,
            "transform": lambda x, y: x * (1 - x) * y,
        }

    return Case(
        "boundary_layer_1d",
        "boundary layer",
        build,
        "strong",
        {"n_interior": 256},
        ev,
        dde_problem,
        ("u",),
        f"convection-diffusion -eps u'' + u' = 1, eps = {eps} (KINN boundary layer, PIKAN)",
    )


def boundary_layer_2d_case(eps: float = 0.05) -> Case:
    def u(x):
        return _layer(x[:, 0], eps) * torch.sin(PI * x[:, 1])

    def f(x):  # -eps lap u + u_x with -eps u1'' + u1' = 1
        return torch.sin(PI * x[:, 1]) * (1 + eps * PI**2 * _layer(x[:, 0], eps))

    ev = lambda: _exact_set(_grid([0, 0], [1, 1], [120, 120]), {"u": u})  # noqa: E731

    def build():
        p = Problem(
            name="boundary_layer_2d",
            geometry=Rectangle([0, 0], [1, 1]),
            inputs=("x", "y"),
            fields=("u",),
            terms=[
                Residual(
                    lambda x, v: -eps * v.laplacian("u") + v.d("u", "x") - f(x), hessian="diag"
                ),
                Dirichlet("boundary", 0.0, hard=True),
            ],
        )
        return _with_dense(p, ev, lambda x: u(x)[:, None])

    def dde_problem(dde):
        def pde(x, y):
            lap = dde.grad.hessian(y, x, i=0, j=0) + dde.grad.hessian(y, x, i=1, j=1)
            return -eps * lap + dde.grad.jacobian(y, x, i=0, j=0) - f(x)[:, None]

        return _dde_unit_square(dde, pde, 1024)

    return Case(
        "boundary_layer_2d",
        "boundary layer",
        build,
        "strong",
        {"n_interior": 1024},
        ev,
        dde_problem,
        ("u",),
        f"2-D convection-diffusion -eps lap u + u_x = f, eps = {eps}, layer at x = 1 (KINN)",
    )


# ---- multi-scale and high frequency ------------------------------------------------------


def multiscale_1d_case() -> Case:
    def u(x):
        return torch.sin(2 * PI * x[:, 0]) + 0.1 * torch.sin(50 * PI * x[:, 0])

    def f(x):  # -u''
        return 4 * PI**2 * torch.sin(2 * PI * x[:, 0]) + 250 * PI**2 * torch.sin(50 * PI * x[:, 0])

    ev = lambda: _exact_set(np.linspace(0, 1, 10001)[:, None], {"u": u})  # noqa: E731

    def build():
        p = Problem(
            name="multiscale_1d",
            geometry=Interval(0, 1),
            inputs=("x",),
            fields=("u",),
            terms=[
                Residual(lambda x, v: -v.d("u", "xx") - f(x), hessian="diag"),
                Dirichlet("boundary", 0.0, hard=True),
            ],
        )
        return _with_dense(p, ev, lambda x: u(x)[:, None])

    def dde_problem(dde):
        return {
            "geom": dde.geometry.Interval(0, 1),
            "pde": lambda x, y: -dde.grad.hessian(y, x) - f(x)[:, None],
            "bcs": [],
            "num_domain": 512,
            "num_boundary": 0,
            "transform": lambda x, y: x * (1 - x) * y,
        }

    return Case(
        "multiscale_1d",
        "multi-scale / high frequency",
        build,
        "strong",
        {"n_interior": 512},
        ev,
        dde_problem,
        ("u",),
        "-u'' = f, u = sin(2 pi x) + 0.1 sin(50 pi x) (PIKAN / Fourier-feature multi-scale)",
    )


def helmholtz2d_case(n: int = 2) -> Case:
    k0 = 2 * PI * n

    def u(x):
        return torch.sin(k0 * x[:, 0]) * torch.sin(k0 * x[:, 1])

    ev = lambda: _exact_set(_grid([0, 0], [1, 1], [120, 120]), {"u": u})  # noqa: E731

    def build():
        p = Problem(
            name="helmholtz2d",
            geometry=Rectangle([0, 0], [1, 1]),
            inputs=("x", "y"),
            fields=("u",),
            terms=[
                Residual(
                    lambda x, v: -v.laplacian("u") - k0**2 * v["u"] - k0**2 * u(x), hessian="diag"
                ),
                Dirichlet("boundary", 0.0, hard=True),
            ],
        )
        return _with_dense(p, ev, lambda x: u(x)[:, None])

    def dde_problem(dde):
        def pde(x, y):
            lap = dde.grad.hessian(y, x, i=0, j=0) + dde.grad.hessian(y, x, i=1, j=1)
            return -lap - k0**2 * y - k0**2 * u(x)[:, None]

        return _dde_unit_square(dde, pde, 2048)

    return Case(
        "helmholtz2d",
        "multi-scale / high frequency",
        build,
        "strong",
        {"n_interior": 2048},
        ev,
        dde_problem,
        ("u",),
        f"Helmholtz -lap u - k^2 u = f, u = sin(k x) sin(k y), k = {2 * n} pi (DeepXDE, PIKAN)",
    )


# ---- nonlinear time-dependent --------------------------------------------------------------


def _spacetime(lo, hi, t1=1.0):
    return GeometryXTime(Interval(lo, hi), TimeDomain(0, t1))


def _dde_spacetime(dde, lo, hi, t1=1.0):
    return dde.geometry.GeometryXTime(dde.geometry.Interval(lo, hi), dde.geometry.TimeDomain(0, t1))


def burgers_reference(n: int = 2048, dt: float = 1e-4, nu: float = 0.01 / PI):
    """Burgers ``u_t + u u_x = nu u_xx`` on the periodic [-1, 1), ``u0 = -sin(pi x)``, by
    Fourier pseudo-spectral ETDRK4 (Kassam & Trefethen 2005) with 2/3 dealiasing.

    Returns ``(x (n,), t (101,), u (101, n))`` at t = 0, 0.01, .., 1.
    """
    x = -1 + 2 * np.arange(n) / n
    k = PI * np.fft.fftfreq(n, d=1.0 / n)
    lin = -nu * k**2
    dealias = np.abs(np.fft.fftfreq(n, d=1.0 / n)) < n / 3
    g = -0.5j * k * dealias

    def nonlinear(v):
        return g * np.fft.fft(np.real(np.fft.ifft(v)) ** 2)

    e, e2 = np.exp(dt * lin), np.exp(dt * lin / 2)
    roots = np.exp(1j * PI * (np.arange(1, 33) - 0.5) / 32)
    lr = dt * lin[:, None] + roots[None, :]
    q = dt * np.real(np.mean((np.exp(lr / 2) - 1) / lr, axis=1))
    f1 = dt * np.real(np.mean((-4 - lr + np.exp(lr) * (4 - 3 * lr + lr**2)) / lr**3, axis=1))
    f2 = dt * np.real(np.mean((2 + lr + np.exp(lr) * (-2 + lr)) / lr**3, axis=1))
    f3 = dt * np.real(np.mean((-4 - 3 * lr - lr**2 + np.exp(lr) * (4 - lr)) / lr**3, axis=1))
    v = np.fft.fft(-np.sin(PI * x))
    per_save = round(0.01 / dt)
    out = [np.real(np.fft.ifft(v))]
    for step in range(1, 100 * per_save + 1):
        nv = nonlinear(v)
        a = e2 * v + q * nv
        na = nonlinear(a)
        b = e2 * v + q * na
        nb = nonlinear(b)
        c = e2 * a + q * (2 * nb - nv)
        nc = nonlinear(c)
        v = e * v + nv * f1 + 2 * (na + nb) * f2 + nc * f3
        if step % per_save == 0:
            out.append(np.real(np.fft.ifft(v)))
    return x, np.linspace(0, 1, 101), np.array(out)


def allen_cahn_reference(n: int = 2049, d: float = 1e-3, gamma: float = 5.0):
    """Allen-Cahn ``u_t = d u_xx + gamma (u - u^3)`` on [-1, 1], ``u(+-1) = -1``,
    ``u0 = x^2 cos(pi x)``: second-order finite differences on ``n`` nodes, BDF in time
    (rtol 1e-10). Returns ``(x (n,), t (101,), u (101, n))``."""
    from scipy.integrate import solve_ivp
    from scipy.sparse import diags

    x = np.linspace(-1, 1, n)
    h = x[1] - x[0]
    m = n - 2
    lap = diags([np.ones(m - 1), -2 * np.ones(m), np.ones(m - 1)], [-1, 0, 1]) / h**2
    edge = np.zeros(m)
    edge[0] = edge[-1] = -1.0 / h**2  # the boundary values u = -1

    def rhs(_, v):
        return d * (lap @ v + edge) + gamma * (v - v**3)

    def jac(_, v):
        return d * lap + diags(gamma * (1 - 3 * v**2))

    t = np.linspace(0, 1, 101)
    u0 = x[1:-1] ** 2 * np.cos(PI * x[1:-1])
    sol = solve_ivp(rhs, (0, 1), u0, "BDF", t_eval=t, jac=jac, rtol=1e-10, atol=1e-12)
    u = np.full((len(t), n), -1.0)
    u[:, 1:-1] = sol.y.T
    return x, t, u


def _cached(name: str, compute, stride: int):
    """The reference on every ``stride``-th x node, from ``benchmarks/data/<name>.npz``."""
    path = DATA / f"{name}.npz"
    if not path.exists():
        x, t, u = compute()
        DATA.mkdir(exist_ok=True)
        np.savez_compressed(path, x=x[::stride], t=t, u=u[:, ::stride])
    d = np.load(path)
    xx, tt = np.meshgrid(d["x"], d["t"], indexing="xy")
    return np.stack([xx.ravel(), tt.ravel()], 1), {"u": d["u"].ravel()}


def _evolution_case(
    name,
    cls,
    source,
    lo,
    hi,
    residual,
    dde_residual,
    initial,
    boundary,
    evaluation,
    exact=None,
    velocity=False,
) -> Case:
    """A 1-D evolution equation on ``[lo, hi] x [0, 1]`` (inputs ``x, t``), soft initial and
    boundary values (``initial``, ``boundary``: numbers or torch ``x (N, 2) -> (N,)``), zero
    initial velocity when ``velocity``; 2048 interior, 256 boundary and 256 initial points.
    ``residual(x, u)`` is kinn's, ``dde_residual(dde, x, y)`` DeepXDE's."""

    def build():
        terms = [
            Residual(residual, hessian="diag"),
            Initial(initial, velocity=0.0 if velocity else None),
            Dirichlet("boundary", boundary),
        ]
        p = Problem(
            name=name, geometry=_spacetime(lo, hi), inputs=("x", "t"), fields=("u",), terms=terms
        )
        return _with_dense(p, evaluation, None if exact is None else lambda x: exact(x)[:, None])

    def dde_problem(dde):
        geom = _dde_spacetime(dde, lo, hi)

        def values(v):
            return _numpy(v) if callable(v) else (lambda x: np.full((len(x), 1), float(v)))

        on = lambda _, b: b  # noqa: E731
        bcs = [
            dde.icbc.DirichletBC(geom, values(boundary), on),
            dde.icbc.IC(geom, values(initial), on),
        ]
        if velocity:
            u_t = lambda x, y, _: dde.grad.jacobian(y, x, i=0, j=1)  # noqa: E731
            bcs.append(dde.icbc.OperatorBC(geom, u_t, lambda x, _: np.isclose(x[1], 0)))
        return {
            "geom": geom,
            "pde": lambda x, y: dde_residual(dde, x, y),
            "bcs": bcs,
            "num_domain": 2048,
            "num_boundary": 256,
            "num_initial": 256,
        }

    return Case(
        name,
        cls,
        build,
        "strong",
        {"n_interior": 2048, "n_boundary": 256},
        evaluation,
        dde_problem,
        ("u",),
        source,
    )


def burgers_case(nu: float = 0.01 / PI) -> Case:
    def dde_residual(dde, x, y):
        u_x, u_t = dde.grad.jacobian(y, x, i=0, j=0), dde.grad.jacobian(y, x, i=0, j=1)
        return u_t + y * u_x - nu * dde.grad.hessian(y, x, i=0, j=0)

    return _evolution_case(
        "burgers",
        "nonlinear time-dependent",
        "Burgers nu = 0.01/pi, steep front (Raissi et al. 2019, PINNacle Burgers1d-C)",
        -1,
        1,
        lambda x, u: u.d("u", "t") + u["u"] * u.d("u", "x") - nu * u.d("u", "xx"),
        dde_residual,
        lambda x: -torch.sin(PI * x[:, 0]),
        0.0,
        lambda: _cached("burgers_reference", burgers_reference, 8),
    )


def allen_cahn_case(d: float = 1e-3, gamma: float = 5.0) -> Case:
    def dde_residual(dde, x, y):
        u_t = dde.grad.jacobian(y, x, i=0, j=1)
        return u_t - d * dde.grad.hessian(y, x, i=0, j=0) - gamma * (y - y**3)

    return _evolution_case(
        "allen_cahn",
        "nonlinear time-dependent",
        "Allen-Cahn d = 1e-3, gamma = 5, u(+-1) = -1 (DeepXDE example, PIKAN, PINNacle)",
        -1,
        1,
        lambda x, u: u.d("u", "t") - d * u.d("u", "xx") - gamma * (u["u"] - u["u"] ** 3),
        dde_residual,
        lambda x: x[:, 0] ** 2 * torch.cos(PI * x[:, 0]),
        -1.0,
        lambda: _cached("allen_cahn_reference", allen_cahn_reference, 8),
    )


def _kg_u(x):
    return x[:, 0] * torch.cos(5 * PI * x[:, 1]) + (x[:, 0] * x[:, 1]) ** 3


def _kg_f(x):  # u_tt - u_xx + u^3
    xs, t = x[:, 0], x[:, 1]
    u_tt = -25 * PI**2 * xs * torch.cos(5 * PI * t) + 6 * xs**3 * t
    u_xx = 6 * xs * t**3
    return u_tt - u_xx + _kg_u(x) ** 3


def klein_gordon_case() -> Case:
    def dde_residual(dde, x, y):
        u_tt, u_xx = dde.grad.hessian(y, x, i=1, j=1), dde.grad.hessian(y, x, i=0, j=0)
        return u_tt - u_xx + y**3 - _kg_f(x)[:, None]

    return _evolution_case(
        "klein_gordon",
        "nonlinear time-dependent; wave-type",
        "nonlinear Klein-Gordon u_tt - u_xx + u^3 = f, u = x cos(5 pi t) + (x t)^3 (PIKAN)",
        0,
        1,
        lambda x, u: u.d("u", "tt") - u.d("u", "xx") + u["u"] ** 3 - _kg_f(x),
        dde_residual,
        lambda x: x[:, 0],
        _kg_u,
        lambda: _exact_set(_grid([0, 0], [1, 1], [201, 101]), {"u": _kg_u}),
        exact=_kg_u,
        velocity=True,
    )


# ---- wave --------------------------------------------------------------------------------


def _wave_u(x, c=2.0):
    xs, t = x[:, 0], x[:, 1]
    return torch.sin(PI * xs) * torch.cos(c * PI * t) + 0.5 * torch.sin(4 * PI * xs) * torch.cos(
        4 * c * PI * t
    )


def wave1d_case() -> Case:
    def dde_residual(dde, x, y):
        return dde.grad.hessian(y, x, i=1, j=1) - 4 * dde.grad.hessian(y, x, i=0, j=0)

    return _evolution_case(
        "wave1d",
        "wave-type",
        "wave u_tt = 4 u_xx, u = sin(pi x) cos(2 pi t) + sin(4 pi x) cos(8 pi t) / 2 "
        "(PINNacle Wave1d-C, PIKAN)",
        0,
        1,
        lambda x, u: u.d("u", "tt") - 4 * u.d("u", "xx"),
        dde_residual,
        _wave_u,
        0.0,
        lambda: _exact_set(_grid([0, 0], [1, 1], [201, 101]), {"u": _wave_u}),
        exact=_wave_u,
        velocity=True,
    )


# ---- coupled systems ---------------------------------------------------------------------

RE = 20.0
LAM = RE / 2 - math.sqrt(RE**2 / 4 + 4 * PI**2)


def _kov(x):
    """Kovasznay flow ``(u, v, p)``: ``(N, 3)``."""
    e = torch.exp(LAM * x[:, 0])
    y = 2 * PI * x[:, 1]
    return torch.stack(
        [1 - e * torch.cos(y), LAM / (2 * PI) * e * torch.sin(y), 0.5 * (1 - e**2)], 1
    )


def _ns_residual(u, ux, uy, vx, vy, px, py, lap_u, lap_v, v):
    return (
        u * ux + v * uy + px - lap_u / RE,
        u * vx + v * vy + py - lap_v / RE,
        ux + vy,
    )


def kovasznay_case() -> Case:
    lo, hi = [-0.5, -0.5], [1.0, 1.5]

    def ev():
        pts = _grid(lo, hi, [121, 161])
        w = _kov(_t(pts)).numpy()
        return pts, {"u": w[:, 0], "v": w[:, 1], "p": w[:, 2]}

    def residual(x, f):
        r = _ns_residual(
            f["u"],
            f.d("u", "x"),
            f.d("u", "y"),
            f.d("v", "x"),
            f.d("v", "y"),
            f.d("p", "x"),
            f.d("p", "y"),
            f.laplacian("u"),
            f.laplacian("v"),
            f["v"],
        )
        return torch.stack(r, 1)

    def build():
        p = Problem(
            name="kovasznay",
            geometry=Rectangle(lo, hi),
            inputs=("x", "y"),
            fields=("u", "v", "p"),
            terms=[
                Residual(residual, hessian="diag"),
                Dirichlet("boundary", lambda x: _kov(x)[:, :2], fields=("u", "v")),
                Dirichlet("right", lambda x: _kov(x)[:, 2], fields="p"),
            ],
        )
        return _with_dense(p, ev, _kov)

    def dde_problem(dde):
        geom = dde.geometry.Rectangle(lo, hi)

        def pde(x, y):
            j = lambda c, i: dde.grad.jacobian(y, x, i=c, j=i)  # noqa: E731
            h = lambda c, i: dde.grad.hessian(y, x, component=c, i=i, j=i)  # noqa: E731
            return list(
                _ns_residual(
                    y[:, 0:1],
                    j(0, 0),
                    j(0, 1),
                    j(1, 0),
                    j(1, 1),
                    j(2, 0),
                    j(2, 1),
                    h(0, 0) + h(0, 1),
                    h(1, 0) + h(1, 1),
                    y[:, 1:2],
                )
            )

        def column(c):
            return lambda x: _kov(_t(x))[:, c : c + 1].numpy()

        on = lambda _, b: b  # noqa: E731
        right = lambda x, b: b and np.isclose(x[0], hi[0])  # noqa: E731
        bcs = [
            dde.icbc.DirichletBC(geom, column(0), on, component=0),
            dde.icbc.DirichletBC(geom, column(1), on, component=1),
            dde.icbc.DirichletBC(geom, column(2), right, component=2),
        ]
        return {"geom": geom, "pde": pde, "bcs": bcs, "num_domain": 2048, "num_boundary": 400}

    return Case(
        "kovasznay",
        "coupled system (Navier-Stokes)",
        build,
        "strong",
        {"n_interior": 2048, "n_boundary": 400},
        ev,
        dde_problem,
        ("u", "v", "p"),
        "Kovasznay flow Re = 20, steady incompressible NS (DeepXDE example, PINNacle NS)",
    )


def plate_hole_case() -> Case:
    from problems import plate_hole
    from problems.plate_hole import DATA as FEM
    from problems.plate_hole import NU, E

    def ev():
        d = np.load(FEM)
        return np.stack([d["x"], d["y"]], 1), {"ux": d["u_x"], "uy": d["u_y"]}

    def build():
        p = plate_hole(h=0.7)
        p._eval_set = None
        return p

    def dde_problem(dde):
        geom = dde.geometry.Rectangle([0, 0], [20, 20]) - dde.geometry.Disk([0, 0], 5)
        lam = E * NU / (1 - NU**2)  # plane stress
        mu = E / (2 * (1 + NU))

        def stress(x, y):
            exx = dde.grad.jacobian(y, x, i=0, j=0)
            eyy = dde.grad.jacobian(y, x, i=1, j=1)
            exy = 0.5 * (dde.grad.jacobian(y, x, i=0, j=1) + dde.grad.jacobian(y, x, i=1, j=0))
            tr = exx + eyy
            return lam * tr + 2 * mu * exx, lam * tr + 2 * mu * eyy, 2 * mu * exy

        def pde(x, y):
            sxx, syy, sxy = stress(x, y)
            d = lambda s, i: dde.grad.jacobian(s, x, i=0, j=i)  # noqa: E731
            return [d(sxx, 0) + d(sxy, 1), d(sxy, 0) + d(syy, 1)]

        def traction(normal, value, c):
            def fn(x, y, X):
                sxx, syy, sxy = stress(x, y)
                nx, ny = normal(X)
                t = (sxx * nx + sxy * ny, sxy * nx + syy * ny)[c]
                return t - value[c]

            return fn

        def hole_normal(X):
            r = np.linalg.norm(X, axis=1, keepdims=True)
            return (
                torch.as_tensor(-X[:, :1] / r, dtype=torch.float64),
                torch.as_tensor(-X[:, 1:] / r, dtype=torch.float64),
            )

        def on_right(x, b):
            return b and np.isclose(x[0], 20)

        def on_top(x, b):
            return b and np.isclose(x[1], 20)

        def on_hole(x, b):
            return b and np.isclose(np.hypot(x[0], x[1]), 5)

        bcs = []
        for c in (0, 1):
            bcs.append(dde.icbc.OperatorBC(geom, traction(lambda X: (1, 0), (100, 0), c), on_right))
            bcs.append(dde.icbc.OperatorBC(geom, traction(lambda X: (0, 1), (0, 0), c), on_top))
            bcs.append(dde.icbc.OperatorBC(geom, traction(hole_normal, (0, 0), c), on_hole))
        return {
            "geom": geom,
            "pde": pde,
            "bcs": bcs,
            "num_domain": 2048,
            "num_boundary": 512,
            "transform": lambda x, y: torch.cat(
                [x[:, :1] / 20 * y[:, :1], x[:, 1:] / 20 * y[:, 1:]], 1
            ),
        }

    return Case(
        "plate_hole",
        "energy form; coupled system (elasticity)",
        build,
        "energy",
        {},
        ev,
        dde_problem,
        ("ux", "uy"),
        "KINN plate with a hole, plane stress, Deep Energy Method (h = 0.7 rule); "
        "DeepXDE: strong form",
    )


def poisson2d_energy_case() -> Case:
    from problems import poisson2d

    base = poisson2d_case()
    return Case(
        "poisson2d_energy",
        "energy form",
        lambda: _with_dense(poisson2d(), base.evaluation, lambda x: _sin2(x)[:, None]),
        "energy",
        {"quadrature": ("gauss", 40)},
        base.evaluation,
        base.deepxde,
        ("u",),
        "poisson2d in the energy form (Deep Ritz / DEM), Gauss 40x40; DeepXDE: strong form",
    )


# ---- plane elasticity, manufactured --------------------------------------------------------

ELASTIC_E, ELASTIC_NU = 1.0, 0.3


def _elastic_u(x):
    """Manufactured displacement on the unit square, zero on its boundary: ``(N, 2)``."""
    s = torch.sin(PI * x[:, 0]) * torch.sin(PI * x[:, 1])
    return torch.stack([s, 0.5 * torch.sin(2 * PI * x[:, 0]) * torch.sin(PI * x[:, 1])], 1)


def _elastic_force(x):
    """Body force ``b = -div sigma(u)`` of :func:`_elastic_u` (plane stress): ``(N, 2)``,
    from the exact Hessians (``(lambda + mu) grad div u + mu lap u``)."""
    from kinn.pde.elasticity import lame

    lam, mu = lame(ELASTIC_E, ELASTIC_NU, "stress")
    one = lambda p: _elastic_u(p[None])[0]  # noqa: E731
    H = torch.vmap(torch.func.hessian(one))(x.detach().to(torch.float64))  # (N, 2, 2, 2)
    grad_div = torch.einsum("naai->ni", H)
    lap = torch.einsum("nijj->ni", H)
    return -((lam + mu) * grad_div + mu * lap).to(x.dtype)


def elasticity2d_energy_case(n: int = 40) -> Case:
    """Plane stress on the unit square with a body force, clamped on the whole boundary;
    energy ``integral(psi(eps(u)) - b . u)`` on a Gauss ``n x n`` rule."""
    from kinn.pde import Energy
    from kinn.pde.elasticity import equilibrium, lame, linear_elastic

    names = ("ux", "uy")
    exact = {"ux": lambda x: _elastic_u(x)[:, 0], "uy": lambda x: _elastic_u(x)[:, 1]}
    ev = lambda: _exact_set(_grid([0, 0], [1, 1], [120, 120]), exact)  # noqa: E731
    psi = linear_elastic(ELASTIC_E, ELASTIC_NU, names, "stress")
    div_sigma = equilibrium(ELASTIC_E, ELASTIC_NU, names, "stress")

    def build():
        problem = Problem(
            name="elasticity2d",
            geometry=Rectangle([0, 0], [1, 1]),
            inputs=("x", "y"),
            fields=names,
            terms=[
                Energy(lambda x, u: psi(x, u) - (_elastic_force(x) * u.vector(names)).sum(1), n=n),
                Residual(lambda x, u: div_sigma(x, u) + _elastic_force(x), name="equilibrium"),
                Dirichlet("boundary", 0.0, fields=names, hard=True),
            ],
            default_form="energy",
        )
        return _with_dense(problem, ev, _elastic_u)

    def dde_problem(dde):
        lam, mu = lame(ELASTIC_E, ELASTIC_NU, "stress")

        def pde(x, y):
            h = lambda c, i, j: dde.grad.hessian(y, x, component=c, i=i, j=j)  # noqa: E731
            b = _elastic_force(x.detach())
            return [
                (lam + 2 * mu) * h(0, 0, 0) + mu * h(0, 1, 1) + (lam + mu) * h(1, 0, 1) + b[:, :1],
                (lam + 2 * mu) * h(1, 1, 1) + mu * h(1, 0, 0) + (lam + mu) * h(0, 0, 1) + b[:, 1:],
            ]

        return _dde_unit_square(dde, pde, 1024)

    return Case(
        "elasticity2d_energy",
        "energy form; coupled system (elasticity)",
        build,
        "energy",
        {"quadrature": ("gauss", n)},
        ev,
        dde_problem,
        names,
        f"manufactured plane stress (E = 1, nu = 0.3), clamped unit square, Gauss {n}x{n} "
        "(Deep Energy Method); DeepXDE: strong form",
    )


# ---- inverse -----------------------------------------------------------------------------


def inverse_diffusion_case() -> Case:
    from problems import inverse_diffusion
    from problems.inverse_diffusion import K_TRUE, observations

    ev = lambda: _exact_set(_grid([0, 0], [1, 1], [120, 120]), {"u": _sin2})  # noqa: E731

    def dde_problem(dde):
        raw = dde.Variable(math.log(math.e - 1))  # softplus(raw) = 1, as kinn's k_init

        def pde(x, y):
            k = torch.nn.functional.softplus(raw)
            lap = dde.grad.hessian(y, x, i=0, j=0) + dde.grad.hessian(y, x, i=1, j=1)
            return -k * lap - 2 * K_TRUE * PI**2 * _sin2(x)[:, None]

        xo, uo = observations()
        geom = dde.geometry.Rectangle([0, 0], [1, 1])
        data = dde.icbc.PointSetBC(xo.numpy(), uo.numpy())
        return {
            "geom": geom,
            "pde": pde,
            "bcs": [data],
            "num_domain": 512,
            "num_boundary": 0,
            "anchors": xo.numpy(),
            "transform": _square_zero,
            "variables": {"k": (raw, lambda r: float(torch.nn.functional.softplus(r)), K_TRUE)},
            "weights": [1.0, 100.0],
        }

    return Case(
        "inverse_diffusion",
        "inverse",
        lambda: _with_dense(inverse_diffusion(), ev, lambda x: _sin2(x)[:, None]),
        "inverse",
        {"n_interior": 512},
        ev,
        dde_problem,
        ("u",),
        "identify k = 2 in -div(k grad u) = f from 200 noisy observations (PINNacle PInv)",
        {"parameter": "k"},
    )


CASES = {
    c.name: c
    for c in (
        poisson2d_case(),
        poisson2d_disk_case(),
        poisson3d_case(),
        boundary_layer_1d_case(),
        boundary_layer_2d_case(),
        multiscale_1d_case(),
        helmholtz2d_case(),
        burgers_case(),
        allen_cahn_case(),
        klein_gordon_case(),
        wave1d_case(),
        kovasznay_case(),
        poisson2d_energy_case(),
        elasticity2d_energy_case(),
        plate_hole_case(),
        inverse_diffusion_case(),
    )
}
