"""The strong-Wolfe line search: both conditions when it succeeds, and non-finite trial points."""

import math

import pytest
import torch

from kinn.train.optim.line_search import Point, strong_wolfe


def _along(f, df, calls=None):
    def phi(t):
        if calls is not None:
            calls.append(t)
        value = f(t)
        if not math.isfinite(value):
            return Point(t, math.inf, math.nan)
        return Point(t, value, df(t), torch.tensor([df(t)]))

    return phi


@pytest.mark.parametrize("t0", [1e-3, 1.0, 50.0], ids=["short", "unit", "far"])
def test_accepted_step_satisfies_both_strong_wolfe_conditions(t0):
    f = lambda t: (t - 2.0) ** 2 + 0.1 * math.sin(5 * t)  # noqa: E731
    df = lambda t: 2 * (t - 2.0) + 0.5 * math.cos(5 * t)  # noqa: E731
    start = Point(0.0, f(0.0), df(0.0))
    result = strong_wolfe(_along(f, df), start, t0, c1=1e-4, c2=0.9)
    p = result.point
    assert result.wolfe and p.t > 0 and result.evals <= 25
    assert p.f <= start.f + 1e-4 * p.t * start.d
    assert abs(p.d) <= 0.9 * abs(start.d)


def test_non_finite_trial_points_shrink_the_step_and_are_never_accepted():
    # The loss is NaN beyond t = 0.3 (a network leaving its domain, say).
    f = lambda t: (t - 1.0) ** 2 if t < 0.3 else math.nan  # noqa: E731
    df = lambda t: 2 * (t - 1.0)  # noqa: E731
    calls = []
    result = strong_wolfe(_along(f, df, calls), Point(0.0, 1.0, -2.0), 1.0, max_evals=30)
    assert calls[0] == 1.0 and any(not math.isfinite(f(t)) for t in calls)
    assert 0 < result.point.t < 0.3 and math.isfinite(result.point.f)
    assert result.point.f < 1.0


def test_no_decrease_anywhere_returns_the_start_point():
    flat_up = lambda t: 1.0 + t  # noqa: E731  (the slope at 0 lies: no decrease exists)
    result = strong_wolfe(_along(flat_up, lambda t: 1.0), Point(0.0, 1.0, -1.0), 1.0, max_evals=8)
    assert result.point.t == 0.0 and not result.wolfe and result.evals == 8


def test_ascent_direction_is_refused():
    with pytest.raises(ValueError, match="start.d must be a negative slope"):
        strong_wolfe(lambda t: Point(t, 0.0, 0.0), Point(0.0, 1.0, 0.5), 1.0)
