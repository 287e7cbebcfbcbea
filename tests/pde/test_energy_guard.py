"""The energy guard: an energy on the training rule is checked against a finer rule."""

import warnings

import pytest
import torch

from kinn.nn import KAN
from problems import poisson2d


def _objective(rule, **kw):
    problem = poisson2d()
    torch.manual_seed(0)
    model = KAN([2, 6, 1], grid=5, domain=[(-1, 1), (-4, 4)])
    return model, problem.objective(model, "energy", quadrature=rule, **kw)


def test_a_resolving_rule_reports_a_small_gap_and_no_warning(f64):
    model, objective = _objective(("gauss", 24))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        metrics = objective.validate(model)
    assert 0 <= metrics["energy_gap_energy"] < 1e-4
    assert objective.energy_gap(model) == {"energy": metrics["energy_gap_energy"]}


def test_a_rule_the_network_outruns_is_named_in_a_warning(f64):
    model, objective = _objective(("gauss", 2))
    with pytest.warns(RuntimeWarning, match=r"energy term 'energy' .*energy_guard=0.001"):
        metrics = objective.validate(model)
    assert metrics["energy_gap_energy"] > 1e-3
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once per objective
        objective.validate(model)


def test_monte_carlo_rules_are_checked_against_a_larger_fresh_draw(f64):
    model, objective = _objective(("montecarlo", 64), energy_guard=None)
    assert "energy_gap_energy" not in objective.validate(model)
    gap = objective.energy_gap(model)["energy"]
    assert len(objective._fine["energy"]["x"]) == 4 * 64 and 0 < gap < 1


def test_energy_guard_must_be_positive_or_none():
    with pytest.raises(ValueError, match="energy_guard must be a positive number or None, got 0"):
        _objective(("gauss", 4), energy_guard=0)


def test_refining_trains_on_the_finer_rule_and_checks_against_one_finer_again(f64):
    model, objective = _objective(("gauss", 6))
    assert len(objective.points["energy"]["x"]) == 36
    objective.energy_gap(model)
    objective.refine_quadrature()
    assert objective.refine == 2 and len(objective.points["energy"]["x"]) == 144
    objective.energy_gap(model)
    assert len(objective._fine["energy"]["x"]) == 576
    # the refinement is part of the objective's state: a resumed run trains on the same rule
    _, again = _objective(("gauss", 6))
    again.load_state_dict(objective.state_dict())
    assert again.refine == 2
    assert torch.equal(again.points["energy"]["x"], objective.points["energy"]["x"])
    assert again.energy_gap(model) == objective.energy_gap(model)


def test_the_guard_refines_the_rule_twice_then_stops(f64):
    from kinn.train import EnergyGuard
    from kinn.train.trainer import RESTART

    model, objective = _objective(("gauss", 4))
    guard = EnergyGuard(model, objective, 1e-3)
    assert guard({"step": 10, "energy_gap_energy": 1e-5}) is False
    good = [p.detach().clone() for p in model.parameters()]
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    with pytest.warns(RuntimeWarning, match="step 20 .*step 10 restored, training goes on"):
        assert guard({"step": 20, "energy_gap_energy": 0.5}) == RESTART
    assert all(torch.equal(p, g) for p, g in zip(model.parameters(), good))
    assert objective.refine == 2 and len(objective.points["energy"]["x"]) == 64
    with pytest.warns(RuntimeWarning, match="training goes on"):
        assert guard({"step": 30, "energy_gap_energy": 0.5}) == RESTART
    assert objective.refine == 4
    with pytest.warns(RuntimeWarning, match="training stopped"):
        assert guard({"step": 40, "energy_gap_energy": 0.5}) is True
    assert objective.refine == 4
    with pytest.raises(ValueError, match="refinements must be an integer >= 0, got -1"):
        EnergyGuard(model, objective, 1e-3, refinements=-1)


def test_the_fine_energy_is_the_objective_on_the_finer_rule(f64):
    model, objective = _objective(("gauss", 6))
    _, finer = _objective(("gauss", 6))
    finer.refine_quadrature()
    expected = float(sum(finer.losses(model).values()))
    assert objective.fine_energy(model) == pytest.approx(expected, rel=1e-12)
    assert objective.validate(model)["energy_fine"] == pytest.approx(expected, rel=1e-12)


def test_the_guard_keeps_the_lowest_fine_energy_and_puts_it_back_at_the_end(f64):
    from kinn.train import EnergyGuard

    model, objective = _objective(("gauss", 6))
    guard = EnergyGuard(model, objective, 1e-3, final_step=30)
    snapshots = {}
    for step, energy in ((10, -1.0), (20, -0.9), (30, -0.95)):
        with torch.no_grad():
            for p in model.parameters():
                p.add_(0.01)
        snapshots[step] = [p.detach().clone() for p in model.parameters()]
        row = {"step": step, "energy_gap_energy": 1e-5, "energy_fine": energy}
        if step < 30:
            assert guard(row) is False
    with pytest.warns(RuntimeWarning, match=r"last step 30 \(-0.95\) is above step 10's \(-1\)"):
        assert guard(row) is False
    assert all(torch.equal(p, g) for p, g in zip(model.parameters(), snapshots[10]))


def test_the_guard_takes_round_off_differences_at_the_end_for_noise(f64):
    from kinn.train import EnergyGuard

    model, objective = _objective(("gauss", 6))
    guard = EnergyGuard(model, objective, 1e-3, final_step=20)
    assert guard({"step": 10, "energy_gap_energy": 1e-5, "energy_fine": -2.64363618135}) is False
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.01)
    final = [p.detach().clone() for p in model.parameters()]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        row = {"step": 20, "energy_gap_energy": 1e-5, "energy_fine": -2.64363618133}
        assert guard(row) is False
    assert all(torch.equal(p, f) for p, f in zip(model.parameters(), final))
