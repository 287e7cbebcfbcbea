"""kinn's closure optimizers on their own: convergence, state round trip, guards, sizes."""

import io
import math

import pytest
import torch

import problems
from kinn.nn import KAN, MLP
from kinn.train.optim import LBFGS, SSBFGS, GaussNewton, SSBroyden

QUASI_NEWTON = [LBFGS, SSBFGS, SSBroyden]
ALL = [*QUASI_NEWTON, GaussNewton]


def rosenbrock_residuals(x):
    return torch.cat([1 - x[:-1], 10 * (x[1:] - x[:-1] ** 2)])  # loss = sum(r**2)


def closure_for(opt, x, residuals=rosenbrock_residuals):
    if isinstance(opt, GaussNewton):
        return lambda: residuals(x)

    def closure():
        opt.zero_grad()
        loss = residuals(x).square().sum()
        loss.backward()
        return loss

    return closure


def run(cls, x, steps, **kw):
    opt = cls([x], **kw)
    closure = closure_for(opt, x)
    for _ in range(steps):
        opt.step(closure)
    return opt


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_minimises_the_rosenbrock_function_to_round_off(cls):
    x = torch.nn.Parameter(torch.full((10,), -1.2, dtype=torch.float64))
    opt = run(cls, x, 60 if cls is GaussNewton else 150)
    assert float(rosenbrock_residuals(x.detach()).square().sum()) < 1e-20
    assert torch.allclose(x.detach(), torch.ones(10, dtype=torch.float64), atol=1e-10)
    assert opt.state_dict()["state"]["iterations"] > 0


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_state_dict_round_trip_continues_bit_for_bit_in_float32(cls):
    x = torch.nn.Parameter(torch.full((6,), -1.2))
    opt = run(cls, x, 8)
    buffer = io.BytesIO()
    torch.save(opt.state_dict(), buffer)
    buffer.seek(0)
    y = torch.nn.Parameter(x.detach().clone())
    other = cls([y])
    other.load_state_dict(torch.load(buffer, weights_only=True))
    if cls in (SSBFGS, SSBroyden):  # float32 parameters, float64 curvature
        assert other.state_dict()["state"]["H"].dtype == torch.float64
    for o, p in ((opt, x), (other, y)):
        closure = closure_for(o, p)
        for _ in range(8):
            o.step(closure)
    assert torch.equal(x, y) and not torch.equal(x, torch.full((6,), -1.2))


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_non_finite_trial_points_never_reach_the_parameters(cls):
    # The residuals are NaN once any x >= 1; the minimiser x = 3 lies beyond that wall.
    def walled(x):
        r = x - 3.0
        return torch.where(x < 1.0, r, torch.full_like(r, math.nan))

    x = torch.nn.Parameter(torch.zeros(3, dtype=torch.float64))
    opt = cls([x])
    closure = closure_for(opt, x, walled)
    losses = [float(walled(x.detach()).square().sum())]
    for _ in range(15):
        opt.step(closure)
        losses.append(float(walled(x.detach()).square().sum()))
    assert torch.isfinite(x).all() and (x < 1.0).all()
    assert all(math.isfinite(v) for v in losses) and losses[-1] < 0.5 * losses[0]


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_non_finite_loss_at_the_start_leaves_the_parameters_alone(cls):
    x = torch.nn.Parameter(torch.ones(4, dtype=torch.float64))
    opt = cls([x])
    opt.step(closure_for(opt, x, lambda p: p * math.nan))
    assert torch.equal(x, torch.ones(4, dtype=torch.float64))


@pytest.mark.parametrize("cls", [SSBFGS, SSBroyden], ids=lambda c: c.__name__)
def test_an_inverse_hessian_that_is_not_positive_definite_restarts_from_the_gradient(cls):
    x = torch.nn.Parameter(torch.full((4,), -1.2, dtype=torch.float64))
    opt = run(cls, x, 3)
    state = opt.state_dict()
    state["state"]["H"] = -torch.eye(4, dtype=torch.float64)  # -H g is an ascent direction
    opt.load_state_dict(state)
    before = float(rosenbrock_residuals(x.detach()).square().sum())
    opt.step(closure_for(opt, x))
    after = opt.state_dict()["state"]
    assert after["restarts"] == state["state"]["restarts"] + 1
    assert float(rosenbrock_residuals(x.detach()).square().sum()) < before


@pytest.mark.parametrize("cls", [SSBFGS, SSBroyden], ids=lambda c: c.__name__)
def test_update_without_positive_curvature_is_skipped(cls):
    x = torch.nn.Parameter(torch.full((4,), -1.2, dtype=torch.float64))
    opt = run(cls, x, 3)
    H = opt.state_dict()["state"]["H"]
    s = torch.tensor([1e-3, 0.0, 0.0, 0.0], dtype=torch.float64)
    opt._update(s, -s, 1.0, torch.ones(4, dtype=torch.float64))  # y.s < 0: concave along s
    opt._update(s, s * math.nan, 1.0, torch.ones(4, dtype=torch.float64))
    state = opt.state_dict()["state"]
    assert torch.equal(state["H"], H) and state["skipped"] == 2


@pytest.mark.parametrize("cls", [SSBFGS, SSBroyden], ids=lambda c: c.__name__)
def test_dense_update_is_the_self_scaled_broyden_formula_and_keeps_the_secant_equation(cls):
    torch.manual_seed(0)
    x = torch.nn.Parameter(torch.full((6,), -1.2, dtype=torch.float64))
    opt = run(cls, x, 2)
    H = opt.state_dict()["state"]["H"].clone()
    g = torch.randn(6, dtype=torch.float64)
    t = 0.5
    s = -t * (H @ g)  # a step along the quasi-Newton direction, as the iteration takes
    By = torch.linalg.solve(H, s)  # the current model's gradient change, perturbed
    y = 1.5 * By + 0.2 * By.norm() * torch.randn(6, dtype=torch.float64)
    ys, Hy = float(y @ s), H @ y
    assert ys > 0
    yHy = float(y @ Hy)
    tau, phi = opt._scaling(-t * float(s @ g) / ys, yHy / ys)
    v = (s / ys - Hy / yHy) * math.sqrt(yHy)
    textbook = (H - torch.outer(Hy, Hy) / yHy + phi * torch.outer(v, v)) / tau
    textbook += torch.outer(s, s) / ys
    opt._update(s, y, t, g)
    updated = opt.state_dict()["state"]["H"]
    assert torch.allclose(updated, textbook, rtol=1e-12, atol=1e-12)
    assert torch.allclose(updated @ y, s, rtol=1e-12, atol=1e-14)  # H+ y = s


@pytest.mark.parametrize("cls", [SSBFGS, SSBroyden, GaussNewton], ids=lambda c: c.__name__)
def test_too_many_parameters_for_a_dense_matrix_are_refused_with_sizes(cls):
    big = torch.nn.Parameter(torch.zeros(20_001))
    with pytest.raises(ValueError, match=r"max_params=20000, got 20001.*GiB.*Stage\('"):
        cls([big])
    cls([big], max_params=20_001)  # allowed on request; nothing is allocated before a step


def test_gauss_newton_closure_must_return_the_residual_vector():
    x = torch.nn.Parameter(torch.ones(3))
    opt = GaussNewton([x])
    with pytest.raises(ValueError, match=r"residual vector \(M,\), got \(\)"):
        opt.step(lambda: x.square().sum())


def test_load_state_dict_rejects_another_parameter_count_or_optimizer():
    opt = run(SSBFGS, torch.nn.Parameter(torch.full((4,), -1.2, dtype=torch.float64)), 2)
    with pytest.raises(ValueError, match="numel must be the optimizer's 5 parameters, got 4"):
        SSBFGS([torch.nn.Parameter(torch.zeros(5))]).load_state_dict(opt.state_dict())
    x = torch.nn.Parameter(torch.full((4,), -1.2, dtype=torch.float64))
    old = torch.optim.LBFGS([x])  # a checkpoint of an L-BFGS stage from before kinn's own
    old.step(closure_for(old, x))
    with pytest.raises(ValueError, match="state_dict must come from a LBFGS"):
        LBFGS([x]).load_state_dict(old.state_dict())


@pytest.mark.parametrize(
    "net",
    [
        lambda: KAN([1, 4, 1], "bspline", grid=4, degree=3),
        lambda: KAN([1, 4, 1], "chebyshev", degree=4),
        lambda: MLP([1, 6, 6, 1]),
    ],
    ids=["kan-bspline", "kan-chebyshev", "mlp"],
)
def test_jacobian_rows_and_columns_agree_through_pde_jets(net):
    torch.manual_seed(0)
    model = net().double()
    problem = problems.poisson1d(hard=False)  # u'' at 12 points, u at 2 + 2 boundary points
    objective = problem.objective(model, "strong", n_interior=12).to("cpu", torch.float64)

    def residuals():
        return torch.cat([r.reshape(-1) for r in objective.residuals(model).values()])

    opt = GaussNewton(list(model.parameters()))
    r = residuals()
    rows, columns = opt._jacobian(r, "rows"), opt._jacobian(r, "columns")
    assert rows.shape == (12 + 2 + 2, sum(p.numel() for p in model.parameters()))
    torch.testing.assert_close(rows, columns, rtol=1e-10, atol=1e-12)
    grads = torch.autograd.grad(r.square().sum(), list(model.parameters()))
    torch.testing.assert_close(2 * rows.T @ r.detach(), torch.cat([g.reshape(-1) for g in grads]))
    assert rows.abs().max() > 0
