"""Stages: optimizer and scheduler factories, and their validation."""

import pytest
import torch

from kinn.train import Stage
from kinn.train.optim import LBFGS, SSBFGS, GaussNewton, SSBroyden
from kinn.train.stages import default_lr


def _params():
    return [torch.nn.Parameter(torch.zeros(3))]


def test_lbfgs_is_kinns_own_single_iteration_with_room_to_search():
    opt, sched = Stage("lbfgs", 10).build(_params())
    group = opt.param_groups[0]
    assert isinstance(opt, LBFGS) and sched is None
    assert group["max_iter"] == 1 and group["max_evals"] > 1 and group["lr"] == 1.0
    opt, _ = Stage("lbfgs", 10, 1.0, max_iter=5, history_size=7).build(_params())
    assert opt.param_groups[0]["max_iter"] == 5 and opt.param_groups[0]["history_size"] == 7


@pytest.mark.parametrize(
    ("name", "cls", "lr"),
    [
        ("adam", torch.optim.Adam, 1e-3),
        ("sgd", torch.optim.SGD, 1e-3),
        ("lbfgs", LBFGS, 1.0),
        ("ssbfgs", SSBFGS, 1.0),
        ("ssbroyden", SSBroyden, 1.0),
        ("gauss_newton", GaussNewton, 1.0),
    ],
)
def test_lr_none_takes_the_optimizers_own_default(name, cls, lr):
    stage = Stage(name, 3)
    assert stage.lr == lr == default_lr(name) and stage.to_dict()["lr"] == lr
    opt, _ = stage.build(_params())
    assert isinstance(opt, cls) and opt.param_groups[0]["lr"] == lr


def test_second_order_stages_keep_the_objective_fixed():
    kinds = {n: Stage(n, 1).closure_kind for n in ("adam", "lbfgs", "ssbroyden", "gauss_newton")}
    assert kinds == {
        "adam": None,
        "lbfgs": "loss",
        "ssbroyden": "loss",
        "gauss_newton": "residuals",
    }
    assert not Stage("adam", 1).fixed_objective and Stage("ssbfgs", 1).fixed_objective


@pytest.mark.parametrize(
    ("name", "cls"),
    [("adam", torch.optim.Adam), ("adamw", torch.optim.AdamW), ("sgd", torch.optim.SGD)],
)
def test_first_order_optimizers_get_lr_and_options(name, cls):
    opt, _ = Stage(name, 5, 0.3, weight_decay=0.01).build(_params())
    assert isinstance(opt, cls)
    assert opt.param_groups[0]["lr"] == 0.3 and opt.param_groups[0]["weight_decay"] == 0.01


def _lr_after(stage):
    opt, sched = stage.build(_params())
    for _ in range(stage.steps):
        opt.step()
        sched.step()
    return opt.param_groups[0]["lr"]


def test_scheduler_defaults_span_the_stage():
    assert _lr_after(Stage("adam", 30, 1.0, scheduler="exponential")) == pytest.approx(0.1)
    assert _lr_after(Stage("adam", 30, 1.0, scheduler="cosine")) == pytest.approx(0.0, abs=1e-12)
    assert _lr_after(Stage("adam", 30, 1.0, scheduler="step")) == pytest.approx(1e-3)
    spec = {"name": "multistep", "milestones": [5], "gamma": 0.5}
    assert _lr_after(Stage("adam", 10, 1.0, scheduler=spec)) == pytest.approx(0.5)
    spec = {"name": "cosine", "T_max": 60}
    assert _lr_after(Stage("adam", 30, 1.0, scheduler=spec)) == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        (("Adam", 5, 1e-3), {}, "optimizer='Adam'"),
        (("adam", 0, 1e-3), {}, "steps=0"),
        (("adam", 2.5, 1e-3), {}, "steps=2.5"),
        (("adam", 5, -1.0), {}, "lr=-1.0"),
        (("adam", 5, float("nan")), {}, "lr=nan"),
        (("adam", 5, 1e-3), {"scheduler": "linear"}, "'linear'"),
        (("adam", 5, 1e-3), {"scheduler": {"T_max": 3}}, "'name' key"),
        (("adam", 5, 1e-3), {"scheduler": {"name": "multistep"}}, "milestones"),
    ],
)
def test_bad_stage_raises_value_error_naming_the_value(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        Stage(*args, **kwargs)


def test_bad_options_surface_when_built():
    with pytest.raises(ValueError, match="betas"):
        Stage("sgd", 5, 1e-3, betas=(0.9, 0.99)).build(_params())
    with pytest.raises(ValueError, match="scheduler="):
        Stage("adam", 5, 1e-3, scheduler={"name": "step", "bogus": 1}).build(_params())


def test_a_dense_stage_falls_back_past_max_params_with_a_warning():
    small, large = [torch.nn.Parameter(torch.zeros(10))], [torch.nn.Parameter(torch.zeros(11))]
    stage = Stage("ssbroyden", 5, fallback="lbfgs", max_params=10, max_iter=2)
    opt, _ = stage.build(small)
    assert type(opt) is SSBroyden
    with pytest.warns(RuntimeWarning, match=r"11 parameters, more than max_params=10.*'lbfgs'"):
        opt, _ = stage.build(large)
    assert type(opt) is LBFGS and opt.defaults["max_iter"] == 2
    assert "max_params" not in opt.defaults
    assert stage.to_dict()["fallback"] == "lbfgs" and "fallback='lbfgs'" in repr(stage)
    with pytest.raises(ValueError, match=r"max_params=10, got 11"):  # no fallback: refused
        Stage("ssbroyden", 5, max_params=10).build(large)


@pytest.mark.parametrize(
    ("optimizer", "fallback", "match"),
    [
        ("lbfgs", "adam", r"fallback='adam': only \['ssbfgs', 'ssbroyden'\] stages fall back"),
        ("ssbroyden", "adam", r"fallback='adam': expected one of \['lbfgs'\] or None"),
        ("ssbfgs", "ssbroyden", r"fallback='ssbroyden': expected one of \['lbfgs'\]"),
        ("ssbroyden", "bfgs", r"fallback='bfgs': expected one of \['lbfgs'\] or None"),
    ],
)
def test_bad_fallback_is_refused_naming_it(optimizer, fallback, match):
    with pytest.raises(ValueError, match=match):
        Stage(optimizer, 5, fallback=fallback)
