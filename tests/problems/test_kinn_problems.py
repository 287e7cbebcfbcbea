"""KINN's crack, Koch snowflake and multi-scale heat problems: exact where they claim to be,
and a short training run lowers each one's error well below where it starts."""

import math

import pytest
import torch

from kinn.nn import KAN
from kinn.pde.terms import Sampling
from kinn.train import Stage, Trainer
from problems import crack, heat_multiscale, koch
from problems.crack import _branch as crack_branch
from problems.crack import conforming_mesh
from problems.crack import dense_points as crack_dense_points
from problems.crack import exact as crack_exact
from problems.heat_multiscale import exact as heat_exact
from problems.koch import exact as koch_exact


class _Zero(torch.nn.Module):
    """A network that outputs zero: ``(N, d) -> (N, 1)``."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(()))

    def forward(self, z):
        return self.w * z[:, :1]


def _train(problem, net, form, stages, **points):
    torch.manual_seed(0)
    model = problem.model(net)
    objective = problem.objective(model, form, **points)
    before = objective.validate(model)["rel_l2_u"]
    Trainer(
        model, objective, stages, dtype=torch.float64, progress=False, checkpoint_every=None
    ).fit()
    return before, objective.validate(model)["rel_l2_u"], model


def test_crack_exact_solution_jumps_across_the_slit_and_is_continuous_on_the_ligament(f64):
    x = torch.tensor([[-0.5, 0.0], [-0.5, -0.0], [0.5, 0.0], [0.5, -0.0], [0.0, 1.0]])
    u = crack_exact(x)[:, 0]
    assert torch.allclose(u, torch.tensor([0.5**0.5, -(0.5**0.5), 0, 0, math.sin(math.pi / 4)]))


def test_crack_mesh_has_no_triangle_across_the_crack_line_and_covers_the_square(f64):
    mesh = conforming_mesh(6)
    tri = torch.as_tensor(mesh.points[mesh.cells["triangle"]])  # (m, 3, 2)
    y = tri[..., 1]
    assert bool(((y >= 0).all(1) | (y <= 0).all(1)).all())
    _, w = mesh.quadrature(2, "triangle")
    assert float(w.sum()) == pytest.approx(4.0)


def _lines(y: float, lo: float, hi: float, n: int = 9) -> torch.Tensor:
    s = torch.linspace(lo, hi, n + 2)[1:-1]
    return torch.stack([s, torch.full_like(s, y)], 1)


@pytest.mark.parametrize("subdomains", [False, True])
def test_crack_dirichlet_values_are_exact_on_the_outer_boundary_and_both_faces(f64, subdomains):
    problem = crack(cells=8, interface_points=16, subdomains=subdomains)
    model = problem.model(KAN([2, 4, 2 if subdomains else 1], grid=5))
    x, _ = problem.geometry.sample_boundary(400, seed=0)
    faces = torch.cat([_lines(0.0, -1, 0), _lines(-0.0, -1, 0)])  # +0.0 upper, -0.0 lower
    for points in (x, faces):
        u = problem.evaluate(model, points)["u"]
        assert torch.allclose(u, crack_exact(points)[:, 0], atol=1e-12)


def test_crack_one_field_is_continuous_across_the_ligament_and_its_lifting_is_not_the_solution(
    f64,
):
    problem = crack(cells=8, interface_points=16)
    model = problem.model(KAN([2, 4, 1], grid=5))
    above = problem.evaluate(model, _lines(1e-12, 0, 1))["u"]
    below = problem.evaluate(model, _lines(-1e-12, 0, 1))["u"]
    assert torch.allclose(above, below, atol=1e-9)
    # the jump across the faces is carried by the lifting, which is not the answer
    x = torch.as_tensor(crack_dense_points(40))
    lifting = problem.evaluate(problem.model(_Zero()), x)["u"]
    exact = crack_exact(x)[:, 0]
    assert float((lifting - exact).norm() / exact.norm()) > 0.03


def test_crack_tip_rule_integrates_the_exact_energy(f64):
    """The exact solution's energy ln(1 + sqrt 2): plain triangle rules miss the tip's 1/r
    density by 4.6e-3, Duffy's rule on the tip triangles by 3e-5."""
    x_exact = math.log(1 + math.sqrt(2))
    gaps = []
    for tip_rule in (False, True):
        problem = crack(tip_rule=tip_rule)
        energy = next(t for t in problem.terms if t.default_name == "energy")
        sampling = Sampling(problem.geometry, 0, 0, "uniform", 0, None, torch.float64)
        pts = energy.points(sampling, "energy")
        x = pts["x"].clone().requires_grad_(True)
        (g,) = torch.autograd.grad(crack_branch(x).sum(), x)  # |grad u| is even in y
        gaps.append(abs(float((0.5 * (g**2).sum(1) * pts["w"]).sum()) - x_exact))
    assert gaps[0] > 4e-3 and gaps[1] < 5e-5, gaps


@pytest.mark.parametrize(
    "kw", [{"faces": "traction_free"}, {"hard": False}, {"faces": "open"}, {"quadrature": "gauss"}]
)
def test_crack_rejects_settings_it_cannot_honour(kw):
    with pytest.raises(ValueError, match="must be|needs subdomains=True"):
        crack(**kw)


@pytest.mark.parametrize(
    "form, kw",
    [
        ("energy", {}),
        ("energy", {"subdomains": True}),
        ("strong", {"subdomains": True, "hard": False}),  # KINN's CPINN
        ("energy", {"subdomains": True, "faces": "traction_free"}),
    ],
)
def test_crack_training_lowers_the_error(f64, form, kw):
    problem = crack(cells=8, interface_points=32, **kw)
    stages = [Stage("adam", 120, 1e-2, scheduler="cosine")]
    out = 2 if kw.get("subdomains") else 1
    before, after, _ = _train(problem, KAN([2, 5, 5, out], grid=5), form, stages, n_interior=256)
    # the strong form (CPINN) sees the tip's singularity pointwise and learns more slowly
    assert after < (0.4 if form == "energy" else 0.6) * before, (before, after)


def test_crack_monte_carlo_energy_trains(f64):
    problem = crack(quadrature="montecarlo", n=512, interface_points=32)
    stages = [Stage("adam", 120, 1e-2, scheduler="cosine")]
    before, after, _ = _train(problem, KAN([2, 5, 5, 1], grid=5), "energy", stages)
    assert after < 0.4 * before, (before, after)


def test_koch_hard_boundary_values_are_exact_and_the_lifting_is_not_the_solution(f64):
    problem = koch(hard=True)
    model = problem.model(_Zero())  # u = g + D * 0: the lifting alone
    x, _ = problem.geometry.sample_boundary(300, seed=0)
    assert torch.allclose(problem.evaluate(model, x)["u"], koch_exact(x)[:, 0], atol=1e-8)
    dense = problem.evaluation_set()
    assert len(dense.points) > 10_000  # dense, independent of the training points
    lifting = problem.evaluate(model, dense.points)["u"]
    assert torch.linalg.norm(lifting - dense.reference["u"]) > 1e-2 * torch.linalg.norm(
        dense.reference["u"]
    )


@pytest.mark.parametrize("form", ["energy", "strong"])
def test_koch_training_lowers_the_error(f64, form):
    problem = koch(h=0.2, hard=form == "energy")
    stages = [Stage("adam", 150, 1e-2, scheduler="cosine")]
    net = KAN([2, 6, 1], basis="chebyshev", degree=5)
    before, after, _ = _train(problem, net, form, stages, n_interior=256, n_boundary=128)
    # the hard variant starts from the blended lifting, already within a few percent
    assert after < (0.5 if form == "energy" else 0.1) * before, (before, after)


def test_heat_initial_and_boundary_values_are_exact(f64):
    problem = heat_multiscale()
    model = problem.model(KAN([2, 4, 1], grid=5))
    x0 = problem.geometry.sample_initial(50, seed=0)
    assert torch.allclose(problem.evaluate(model, x0)["u"], heat_exact(x0)[:, 0], atol=1e-10)
    xb, _ = problem.geometry.sample_boundary(50, part="left", seed=0)
    assert problem.evaluate(model, xb)["u"].abs().max() < 1e-10


def test_heat_training_lowers_the_residual_loss(f64):
    # Only the loss: at these budgets the error of this problem stays where the lifting puts
    # it (0.62, KINN publishes no figure for it either); see benchmarks/kinn_table.py.
    problem = heat_multiscale()
    torch.manual_seed(0)
    model = problem.model(KAN([2, 5, 5, 1], grid=100))
    objective = problem.objective(model, "strong", n_interior=1024)
    stages = [Stage("adam", 100, 1e-2)]
    result = Trainer(
        model, objective, stages, dtype=torch.float64, progress=False, checkpoint_every=None
    ).fit()
    losses = [row["loss"] for row in result.history if "loss" in row]
    assert losses[-1] < 0.2 * losses[0], losses


def test_a_singular_point_must_be_a_vertex_of_a_triangle_region():
    from kinn.geometry import Rectangle
    from problems._region import RegionEnergy

    def density(x, u):
        return (u.grad_of("u") ** 2).sum(1)

    with pytest.raises(ValueError, match="needs a region made of triangles"):
        RegionEnergy(density, Rectangle([0, 0], [1, 1]), singular=(0.0, 0.0))
    with pytest.raises(ValueError, match=r"singular must be a vertex.*\[0.5, 0.01\]"):
        RegionEnergy(density, conforming_mesh(4), singular=(0.5, 0.01))
