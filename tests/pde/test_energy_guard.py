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
