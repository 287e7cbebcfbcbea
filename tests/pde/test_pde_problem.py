"""The Problem API: shapes, evaluation, jets vs autograd, resume, divergence, bad input."""

import math

import pytest
import torch

from kinn.geometry import Rectangle
from kinn.nn import KAN, MLP
from kinn.pde import Dirichlet, EvaluationSet, Problem, ProblemModel, Residual
from kinn.problems import inverse_diffusion, plate_hole, poisson1d, poisson2d
from kinn.train import DivergenceError, Stage, Trainer


def test_ready_problems_build_with_shapes_and_evaluation_sets(f64):
    for factory in (poisson1d, poisson2d, inverse_diffusion, plate_hole):
        problem = factory()
        assert problem.name == factory.__name__
        assert (problem.in_dim, problem.out_dim) == (len(problem.inputs), len(problem.fields))
        ev = problem.evaluation_set()
        assert isinstance(ev, EvaluationSet) and ev.points.shape[1] == problem.in_dim
        for key, value in ev.reference.items():
            assert value.shape == (len(ev.points),), key
        model = problem.model(MLP([problem.in_dim, 8, problem.out_dim]))
        out = problem.evaluate(model, ev.points[:50])
        assert set(out) == set(problem.fields) | set(problem.derived)
        assert all(v.shape == (50,) for v in out.values())


def test_plate_reference_and_exact_constraints(f64):
    problem = plate_hole()
    ev = problem.evaluation_set()
    assert ev.points.shape == (38004, 2)
    assert float(ev.reference["mises"].max()) == pytest.approx(353.128, rel=1e-4)
    assert problem.default_form == "energy" and problem.forms() == ["strong", "energy"]
    model = problem.model(KAN([2, 6, 2]))
    left, _ = problem.geometry.sample_boundary(64, part="left", seed=0)
    bottom, _ = problem.geometry.sample_boundary(64, part="bottom", seed=0)
    assert problem.evaluate(model, left)["ux"].abs().max() == 0
    assert problem.evaluate(model, bottom)["uy"].abs().max() == 0
    for form, terms in (
        ("energy", {"energy", "neumann_right"}),
        (
            "strong",
            {"equilibrium", "neumann_right", "neumann_top", "neumann_hole"}
            | {"shear_left", "shear_bottom"},
        ),
    ):
        losses = problem.objective(model, form).losses(model)
        assert set(losses) == terms and all(torch.isfinite(v) for v in losses.values())
    metrics = problem.objective(model).validate(model)
    assert {"rel_l2_u_mag", "rel_l2_mises", "rel_l2_ux", "rel_l2_uy"} <= set(metrics)


def test_plane_stress_energy_of_a_uniform_strain(f64):
    from kinn.pde.elasticity import lame, linear_elastic, linear_stress, von_mises

    # u = (a x, 0): sigma_xx = E a / (1 - nu^2), psi = E a^2 / (2 (1 - nu^2)).
    E, nu, a = 1000.0, 0.3, 1e-2
    problem = Problem("u", Rectangle([0, 0], [2, 1]), ("x", "y"), ("ux", "uy"), [])
    x = torch.rand(7, 2)
    model = ProblemModel(_Fn(lambda x: torch.stack([a * x[:, 0], 0 * x[:, 1]], 1)), [0, 0], [2, 1])
    u = problem.fields_at(model, x, 1)
    psi = linear_elastic(E, nu, ("ux", "uy"), "stress")(x, u)
    assert torch.allclose(psi, torch.full((7,), E * a**2 / (2 * (1 - nu**2))))
    sigma = linear_stress(u, ("ux", "uy"), E, nu, "stress")
    assert torch.allclose(sigma[:, 0, 0], torch.full((7,), E * a / (1 - nu**2)))
    sxx, syy = sigma[:, 0, 0], sigma[:, 1, 1]
    assert torch.allclose(syy, nu * sxx)  # uniaxial strain: the y-direction is held
    assert torch.allclose(von_mises(sigma), torch.sqrt(sxx**2 - sxx * syy + syy**2))
    assert lame(E, nu, "strain")[1] == pytest.approx(E / 2.6)
    with pytest.raises(ValueError, match="nu"):
        lame(E, 0.5)


def test_neo_hookean_energy_vanishes_undeformed_and_matches_small_strain(f64):
    from kinn.pde.elasticity import linear_elastic, neo_hookean

    problem = Problem("u", Rectangle([0, 0], [1, 1]), ("x", "y"), ("ux", "uy"), [])
    x = torch.rand(5, 2)
    for a, expect_zero in ((0.0, True), (1e-4, False)):
        model = ProblemModel(_Fn(lambda x, a=a: a * x), [0, 0], [1, 1])
        u = problem.fields_at(model, x, 1)
        nh = neo_hookean(1000.0, 0.3)(x, u)
        if expect_zero:
            assert nh.abs().max() < 1e-12
        else:  # agrees with plane-strain linear elasticity to O(strain^3)
            lin = linear_elastic(1000.0, 0.3, plane="strain")(x, u)
            assert torch.allclose(nh, lin, rtol=1e-3)


class _Fn(torch.nn.Module):
    """A fixed function of the physical coordinates behind the normalised input."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, z):
        return self.fn(z)


def test_jet_and_autograd_derivatives_give_the_same_losses(f64):
    problem = poisson2d()
    for net in (KAN([2, 5, 1]), MLP([2, 16, 1])):
        model = problem.model(net)
        for form in ("strong", "energy"):
            jet = problem.objective(model, form, derivatives="jet").losses(model)
            auto = problem.objective(model, form, derivatives="autograd").losses(model)
            for key in jet:
                assert torch.allclose(jet[key], auto[key], rtol=1e-10, atol=1e-12), (form, key)


def _trainer(out_dir, crash_at=None, init_seed=0):
    problem = poisson2d(hard=False)

    def crash(row):
        if row["step"] == crash_at:
            raise KeyboardInterrupt

    torch.manual_seed(init_seed)
    model = problem.model(KAN([2, 4, 1]))
    objective = problem.objective(
        model, "strong", n_interior=64, n_boundary=32, point_weights="rba"
    )
    return Trainer(
        model,
        objective,
        [Stage("adam", 12, 1e-2), Stage("lbfgs", 4, 1.0)],
        resample_every=3,
        validate_every=5,
        log_every=1,
        checkpoint_every=6,
        out_dir=out_dir,
        progress=False,
        callbacks=[crash],
        dtype=torch.float64,
    )


def test_resumed_pde_run_equals_uninterrupted_run(f64, tmp_path):
    straight = _trainer(tmp_path / "a").fit()
    with pytest.raises(KeyboardInterrupt):
        _trainer(tmp_path / "b", crash_at=8).fit()
    resumed = _trainer(tmp_path / "b", init_seed=1).fit(resume=tmp_path / "b")
    strip = lambda rows: [{k: v for k, v in r.items() if k != "time_s"} for r in rows]  # noqa: E731
    assert strip(resumed.history) == strip(straight.history)
    for p, q in zip(straight.model.parameters(), resumed.model.parameters()):
        assert torch.equal(p, q)


def test_diverging_run_stops_with_the_guard_message(f64, tmp_path):
    problem = poisson2d(hard=False)
    model = problem.model(MLP([2, 8, 1]))
    objective = problem.objective(model, "strong", n_interior=64, n_boundary=32)
    trainer = Trainer(
        model, objective, Stage("sgd", 50, 1e12), out_dir=tmp_path, progress=False,
        checkpoint_every=1, dtype=torch.float64,
    )  # fmt: skip
    with pytest.raises(DivergenceError, match="non-finite|NaN|Inf") as err:
        trainer.fit()
    assert err.value.step > 1 and err.value.terms
    assert "lr" in str(err.value)


def test_bad_input_raises_value_error_naming_it(f64):
    geom = Rectangle([0, 0], [1, 1])
    with pytest.raises(ValueError, match="on must be a boundary part of.*got 'middle'"):
        Problem("p", geom, ("x", "y"), ("u",), [Dirichlet("middle", 0.0)])
    with pytest.raises(ValueError, match="inputs"):
        Problem("p", geom, ("x",), ("u",), [])
    with pytest.raises(ValueError, match="fields must be among.*got 'v'"):
        Problem("p", geom, ("x", "y"), ("u",), [Dirichlet("left", 0.0, fields="v")])
    problem = poisson2d()
    model = problem.model(MLP([2, 4, 1]))
    with pytest.raises(ValueError, match="form must be one of.*got 'weak'"):
        problem.objective(model, "weak")
    with pytest.raises(ValueError, match="derivatives must be one of.*got 'forward'"):
        problem.objective(model, derivatives="forward")
    with pytest.raises(ValueError, match="no inverse parameters"):
        problem.objective(model, "inverse")
    with pytest.raises(ValueError, match=r"must have shape \(N, 2\)"):
        problem.evaluate(model, torch.rand(4, 3))
    with pytest.raises(ValueError, match="unknown field 'w'"):
        bad = Problem("p", geom, ("x", "y"), ("u",), [Residual(lambda x, u: u["w"])])
        bad.objective(model).losses(model)
    with pytest.raises(ValueError, match="'crack' is claimed by a predicate.*distance="):
        cracked = Rectangle([0, 0], [1, 1]).add_boundary_part("crack", lambda x: x[:, 1] == 0)
        claimed = Problem("p", cracked, ("x", "y"), ("u",), [Dirichlet("crack", 0.0, hard=True)])
        claimed.model(MLP([2, 4, 1]))


def test_energy_quadrature_rules_are_selectable(f64):
    from kinn.problems.poisson2d import exact

    problem = poisson2d(hard=False)
    scale = problem.output_scale
    model = problem.model(_Fn(lambda z: exact((z + 1) / 2) / scale))  # the square's z = 2x - 1
    values = {}
    for quadrature in (("gauss", 12), ("simpson", 13), ("trapezoid", 41), ("montecarlo", 4096)):
        obj = problem.objective(model, "energy", quadrature=quadrature)
        values[quadrature[0]] = float(obj.losses(model)["energy"].detach())
    ref = values["gauss"]
    assert ref == pytest.approx(-(math.pi**2) / 4, rel=1e-10)
    assert values["simpson"] == pytest.approx(ref, rel=1e-3)
    assert values["trapezoid"] == pytest.approx(ref, rel=1e-2)
    assert values["montecarlo"] == pytest.approx(ref, rel=5e-2)
    assert not math.isnan(ref)
