"""Trainer behaviour: stages, validation, history files, stopping rules, dtype, bad input."""

import json

import pytest
import torch
from torch import nn
from train_helpers import SineFit, mlp

from kinn.train import Objective, Stage, Trainer


def test_adam_then_lbfgs_fits_and_lbfgs_keeps_improving(tmp_path):
    result = Trainer(
        mlp(),
        SineFit(),
        [Stage("adam", 40, 1e-2), Stage("lbfgs", 40, 1.0)],
        log_every=20,
        validate_every=40,
        out_dir=tmp_path,
        progress=False,
    ).fit()
    rows = {r["step"]: r for r in result.history}
    assert result.steps == 80 and result.stop_reason == "completed"
    assert rows[80]["loss"] < 0.1 * rows[40]["loss"]  # the line search does real work
    assert rows[80]["rel_l2_u"] < rows[40]["rel_l2_u"] and "rel_l2_du" in rows[80]
    assert [r["stage"] for r in result.history] == [0, 0, 1, 1]
    assert result.best["monitor"] == "rel_l2_u" and result.best["step"] == 80
    assert result.checkpoint_path == tmp_path / "last.pt"
    assert torch.load(tmp_path / "best.pt", weights_only=True)["step"] == 80
    on_disk = json.loads((tmp_path / "history.json").read_text())
    assert on_disk == result.history
    header = (tmp_path / "history.csv").read_text().splitlines()[0].split(",")
    assert header[:5] == ["step", "stage", "loss", "loss_fit", "loss_bc"]
    assert "rel_l2_u" in header


def test_function_objective_via_from_losses_float64_and_static_weights():
    x = torch.linspace(-1, 1, 20, dtype=torch.float64).unsqueeze(1)
    seen = {}

    def objective(model):
        seen["dtype"] = next(model.parameters()).dtype
        return {"fit": ((model(x) - x**2) ** 2).mean(), "zero": model(x[:1]).pow(2).sum()}

    result = Trainer(
        mlp(),
        Objective.from_losses(objective),
        Stage("adam", 30, 1e-2),
        weights={"zero": 10.0},
        dtype=torch.float64,
        log_every=30,
        progress=False,
    ).fit()
    assert seen["dtype"] == torch.float64
    row = result.history[-1]
    assert row["loss"] == pytest.approx(row["loss_fit"] + 10.0 * row["loss_zero"])


class Inverse(Objective):
    """Identify a physical constant c (true value 2) held by the objective, not the network."""

    def __init__(self):
        self.c = nn.Parameter(torch.tensor(0.5))

    def losses(self, model):
        return {"data": (self.c - 2.0) ** 2, "net": model(torch.zeros(1, 1)).pow(2).sum()}

    def parameters(self):
        return [self.c]

    def validate(self, model):
        return {"c": float(self.c.detach())}


def test_objective_parameters_are_trained_and_reported():
    result = Trainer(
        mlp(), Inverse(), Stage("adam", 60, 0.1), validate_every=60, progress=False
    ).fit()
    assert result.history[-1]["c"] == pytest.approx(2.0, abs=0.1)


def test_early_stopping_stops_after_patience_steps_without_improvement():
    flat = Objective.from_losses(lambda m: {"const": (m(torch.zeros(1, 1)) * 0).sum() + 1.0})
    result = Trainer(
        mlp(),
        flat,
        Stage("adam", 100, 1e-2),
        log_every=1,
        validate_every=None,
        early_stopping={"monitor": "loss", "patience": 5},
        progress=False,
    ).fit()
    assert result.stop_reason == "early_stopping" and result.steps == 6


def test_callback_returning_true_stops_and_sees_rows():
    rows = []
    result = Trainer(
        mlp(),
        SineFit(),
        Stage("adam", 50, 1e-2),
        log_every=2,
        progress=False,
        callbacks=[lambda row: rows.append(row) or row["step"] >= 6],
    ).fit()
    assert result.stop_reason == "callback" and result.steps == 6
    assert [r["step"] for r in rows] == [2, 4, 6]


def test_lra_weights_are_logged_and_move():
    result = Trainer(
        mlp(),
        SineFit(),
        Stage("adam", 20, 1e-2),
        adaptive={"method": "lra", "update_every": 5, "alpha": 0.5},
        log_every=20,
        progress=False,
    ).fit()
    row = result.history[-1]
    assert row["weight_fit"] == 1.0  # the reference term of LRA
    assert row["weight_bc"] != 1.0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"dtype": torch.float16}, "dtype"),
        ({"device": "cuda:0" if not torch.cuda.is_available() else "bogus"}, "device"),
        ({"early_stopping": {"patience": 0}}, "patience"),
        (
            {"early_stopping": {"patience": 3, "monitor": "rel_l2_u"}, "validate_every": None},
            "validate_every",
        ),
        ({"adaptive": "softmax"}, "adaptive"),
        ({"resample_every": 0}, "resample_every"),
        ({"weights": {"fit": -1.0}}, "non-negative"),
        ({"max_grad_norm": 0}, "max_grad_norm"),
        ({"callbacks": [3]}, "callback"),
    ],
)
def test_bad_trainer_arguments_raise_value_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Trainer(mlp(), SineFit(), Stage("adam", 5, 1e-2), **kwargs)


def test_bad_objective_output_and_unknown_weight_name_raise_value_error():
    with pytest.raises(ValueError, match="objective must be a kinn.train.Objective"):
        Trainer(mlp(), 42, Stage("adam", 5, 1e-2))
    vector = Objective.from_losses(lambda m: {"pde": m(torch.zeros(3, 1))})
    with pytest.raises(ValueError, match="'pde' is \\(3, 1\\): expected a scalar"):
        Trainer(mlp(), vector, Stage("adam", 5, 1e-2), progress=False).fit()
    with pytest.raises(ValueError, match="weights key 'pdee'"):
        Trainer(mlp(), SineFit(), Stage("adam", 5, 1e-2), weights={"pdee": 1.0}).fit()
    with pytest.raises(ValueError, match="momentum"):
        Trainer(mlp(), SineFit(), Stage("adam", 5, 1e-2, momentum=0.9))


def test_max_grad_norm_clips_the_update():
    model = nn.Linear(1, 1, bias=False)
    nn.init.constant_(model.weight, 0.0)
    Trainer(
        model,
        Objective.from_losses(lambda m: {"far": (m(torch.ones(1, 1)) - 1000.0).pow(2).sum()}),
        Stage("sgd", 1, 1.0),
        max_grad_norm=0.5,
        progress=False,
    ).fit()
    assert float(model.weight.detach()) == pytest.approx(0.5)


def test_dtype_none_follows_the_default_dtype_at_construction():
    model = mlp()  # built in float32
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        trainer = Trainer(model, SineFit(), Stage("adam", 2), progress=False)
    finally:
        torch.set_default_dtype(previous)
    assert trainer.dtype == torch.float64
    assert next(trainer.model.parameters()).dtype == torch.float64
    assert trainer.fit().history[-1]["loss"] > 0
    assert Trainer(mlp(), SineFit(), Stage("adam", 2)).dtype == torch.float32


def test_objective_is_an_objective_and_a_function_is_wrapped_explicitly():
    def fit(model):
        return {"fit": model(torch.zeros(2, 1)).square().mean()}

    class DuckTyped:
        def losses(self, model):
            return fit(model)

    for wrong in (fit, DuckTyped()):
        with pytest.raises(ValueError, match=r"must be a kinn.train.Objective .*from_losses"):
            Trainer(mlp(), wrong, Stage("adam", 2))
    wrapped = Objective.from_losses(fit)
    assert isinstance(wrapped, Objective) and set(wrapped.losses(mlp())) == {"fit"}
    assert Trainer(mlp(), wrapped, Stage("adam", 2), progress=False).fit().steps == 2
    with pytest.raises(ValueError, match="fn must be a callable"):
        Objective.from_losses({"fit": 1.0})
