"""kinn.train.accurate: one line, every network of the shipped configs, every form."""

import pytest
import torch
import yaml

from kinn.app.build import build_network
from kinn.app.cli import CONF
from kinn.train import Objective, Stage, Trainer, accurate, accurate_stages
from problems import inverse_diffusion, plate_hole, poisson2d

SMALL = {"kan": {"hidden": [6]}, "kan_chebyshev": {"hidden": [6]}, "mlp": {"hidden": [12, 12]}}


def _network(name: str, in_dim: int, out_dim: int) -> torch.nn.Module:
    spec = yaml.safe_load((CONF / "model" / f"{name}.yaml").read_text())
    spec.pop("defaults", None)
    return build_network({**spec, **SMALL[name]}, in_dim, out_dim)[0]


def test_the_app_preset_holds_the_same_stages_as_the_python_recipe():
    spec = yaml.safe_load((CONF / "trainer" / "accurate.yaml").read_text())
    assert spec["dtype"] == "float64"
    from_yaml = [
        Stage(**{k: v for k, v in s.items() if k != "options"}, **s.get("options", {}))
        for s in spec["stages"]
    ]
    assert [repr(s) for s in from_yaml] == [repr(s) for s in accurate_stages()]


def test_stage_lengths_are_checked():
    assert [s.optimizer for s in accurate_stages()] == ["adam", "ssbroyden"]
    with pytest.raises(ValueError, match="adam_steps must be a positive integer, got 0"):
        accurate_stages(adam_steps=0)


@pytest.mark.parametrize("model", ["kan", "kan_chebyshev", "mlp"])
@pytest.mark.parametrize(
    ("make", "form", "points"),
    [
        (lambda: poisson2d(hard=False), "strong", {"n_interior": 48, "n_boundary": 16}),
        (poisson2d, "energy", {"quadrature": ("gauss", 8)}),
        (lambda: plate_hole(quadrature_n=1, h=2.0), "energy", {}),
        (lambda: inverse_diffusion(n_obs=20), "inverse", {"n_interior": 48}),
    ],
    ids=["strong", "energy", "plate-energy", "inverse"],
)
def test_accurate_trains_every_network_in_every_form(model, make, form, points):
    problem = make()
    torch.manual_seed(0)
    net = _network(model, problem.in_dim, problem.out_dim)
    objective = problem.objective(net, form, **points)
    trainer = accurate(
        net, objective, adam_steps=4, polish_steps=2, progress=False, validate_every=None
    )
    assert isinstance(trainer, Trainer) and trainer.dtype == torch.float64
    result = trainer.fit()
    losses = [row["loss"] for row in result.history]
    assert result.steps == 6 and all(map(torch.isfinite, torch.tensor(losses)))
    assert losses[-1] < losses[0]
    assert next(net.parameters()).dtype == torch.float64


def test_a_network_too_large_for_the_dense_polish_is_polished_by_lbfgs():
    problem = poisson2d(hard=False)
    torch.manual_seed(0)
    net = build_network({"_target_": "kinn.nn.MLP", "hidden": [80, 80]}, 2, 1)[0]  # 6801
    objective = problem.objective(net, "strong", n_interior=48, n_boundary=16)
    trainer = accurate(net, objective, adam_steps=3, polish_steps=2, progress=False)
    polish = trainer.stages[1]
    assert polish.optimizer == "ssbroyden" and polish.fallback == "lbfgs"
    with pytest.warns(RuntimeWarning, match=r"6801 parameters, more than max_params=6000"):
        optimizer, _ = polish.build(trainer.params)
    assert type(optimizer).__name__ == "LBFGS"
    result = trainer.fit()
    assert result.steps == 5 and result.history[-1]["loss"] < result.history[0]["loss"]


@pytest.mark.parametrize(
    ("make", "form", "points"),
    [
        (lambda: poisson2d(hard=False), "strong", {"n_interior": 48, "n_boundary": 16}),
        (lambda: plate_hole(quadrature_n=1, h=2.0), "energy", {}),
        (lambda: inverse_diffusion(n_obs=20), "inverse", {"n_interior": 48}),
    ],
    ids=["strong", "energy", "inverse"],
)
@pytest.mark.parametrize("method", ["gradnorm", "lra"])
def test_loss_balancing_works_with_the_recipe_in_every_form(make, form, points, method):
    problem = make()
    torch.manual_seed(0)
    net = _network("kan", problem.in_dim, problem.out_dim)
    objective = problem.objective(net, form, **points)
    adaptive = {"method": method, "update_every": 2}
    trainer = accurate(
        net,
        objective,
        adam_steps=4,
        polish_steps=1,
        progress=False,
        validate_every=None,
        adaptive=adaptive,
        log_every=1,
    )
    rows = trainer.fit().history
    weights = {k: v for k, v in rows[-1].items() if k.startswith("weight_")}
    assert len(weights) == len(objective.names)
    assert all(0 < w < float("inf") for w in weights.values())
    assert any(w != 1.0 for w in weights.values())  # the factors moved in the Adam stage
    assert rows[-1]["weight_" + objective.names[0]] == rows[3]["weight_" + objective.names[0]]


class _ScriptedEnergy(Objective):
    """An energy-form stand-in whose validations report the scripted gaps."""

    form, energy_guard = "energy", 1e-3

    def __init__(self, gaps):
        self.gaps, self.x = list(gaps), torch.linspace(-1, 1, 16, dtype=torch.float64)[:, None]

    def losses(self, model):
        return {"energy": ((model(self.x) - self.x) ** 2).mean()}

    def validate(self, model):
        return {"energy_gap_energy": self.gaps.pop(0)}


def test_the_energy_guard_restores_the_last_good_parameters_and_stops():
    torch.manual_seed(0)
    net = torch.nn.Linear(1, 1)
    seen = {}

    def remember(row):
        seen[row["step"]] = [p.detach().clone() for p in net.parameters()]

    objective = _ScriptedEnergy([1e-5, 2e-5, 5e-2, 1e-5])
    trainer = accurate(
        net,
        objective,
        adam_steps=10,
        polish_steps=2,
        validate_every=2,
        callbacks=[remember],
        progress=False,
    )
    with pytest.warns(RuntimeWarning, match="energy_gap_energy=5.00e-02 at step 6 .*step 4"):
        result = trainer.fit()
    assert result.stop_reason == "callback" and result.steps == 6
    for p, good in zip(net.parameters(), seen[4]):
        assert torch.equal(p.detach(), good)


def test_a_restart_from_a_callback_starts_the_optimizer_afresh(tmp_path):
    from kinn.train.trainer import RESTART

    torch.manual_seed(0)
    net = torch.nn.Linear(1, 1)
    x = torch.linspace(-1, 1, 8)[:, None]
    fit = Objective.from_losses(lambda model: {"fit": ((model(x) - 2 * x) ** 2).mean()})
    trainer = Trainer(
        net,
        fit,
        [Stage("adam", 5, 1e-2)],
        log_every=1,
        validate_every=None,
        out_dir=tmp_path,
        progress=False,
        callbacks=[lambda row: RESTART if row["step"] == 3 else None],
    )
    assert trainer.fit().steps == 5
    state = torch.load(tmp_path / "last.pt", weights_only=False)["optimizer"]["state"]
    assert [float(s["step"]) for s in state.values()] == [2.0, 2.0]  # steps 4 and 5 only


def test_a_callback_answer_other_than_stop_or_restart_is_an_error():
    net = torch.nn.Linear(1, 1)
    fit = Objective.from_losses(lambda model: {"fit": model(torch.ones(1, 1)).pow(2).sum()})
    trainer = Trainer(
        net,
        fit,
        [Stage("adam", 2)],
        log_every=1,
        progress=False,
        validate_every=None,
        callbacks=[lambda row: 5],
    )
    with pytest.raises(ValueError, match="returned 5: expected True .*'restart'"):
        trainer.fit()


@pytest.mark.parametrize("form, guarded", [("energy", True), ("strong", False)])
def test_the_app_preset_guards_energy_forms_as_the_python_recipe_does(tmp_path, form, guarded):
    from omegaconf import OmegaConf

    from kinn.app.build import build_trainer
    from kinn.train import EnergyGuard

    spec = yaml.safe_load((CONF / "trainer" / "accurate.yaml").read_text())
    spec.pop("defaults")
    node = OmegaConf.create({"_target_": "kinn.train.Trainer", "_partial_": True, **spec})
    net = _network("kan", 2, 1)
    objective = poisson2d().objective(net, form)
    trainer = build_trainer(node, net, objective, resample_every=None, out_dir=tmp_path)
    from_python = accurate(net, objective)
    kinds = [type(cb) for cb in trainer.callbacks]
    assert kinds == [type(cb) for cb in from_python.callbacks]
    assert kinds == ([EnergyGuard] if guarded else [])
