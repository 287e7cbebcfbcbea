"""Best-value tracking and early stopping on history rows."""

import pytest

from kinn.train.monitor import parse_early_stopping, should_stop, update_best


def test_best_follows_loss_until_a_validation_error_appears():
    best = update_best({}, {"step": 1, "loss": 1.0}, None)
    assert best == {"monitor": "loss", "value": 1.0, "step": 1}
    assert update_best(best, {"step": 2, "loss": 2.0}, None) is None
    best = update_best(best, {"step": 3, "loss": 3.0, "rel_l2_u": 0.5}, None)
    assert best == {"monitor": "rel_l2_u", "value": 0.5, "step": 3}
    assert update_best(best, {"step": 4, "loss": 0.1}, None) is None


def test_early_stopping_respects_min_delta_and_max_mode():
    spec = parse_early_stopping({"monitor": "r2", "patience": 2, "min_delta": 0.1, "mode": "max"})
    state: dict = {}
    values = {1: 0.5, 2: 0.55, 3: 0.58, 4: 0.7}
    stops = [should_stop(state, {"step": s, "r2": v}, spec, True) for s, v in values.items()]
    assert stops == [False, False, True, False]
    with pytest.raises(ValueError, match="monitor='r2'"):
        should_stop(state, {"step": 5, "loss": 1.0}, spec, validated=True)
    assert not should_stop(state, {"step": 5, "loss": 1.0}, spec, validated=False)


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ({"patience": 3, "monitr": "loss"}, "monitr"),
        ({"patience": 3, "mode": "up"}, "mode='up'"),
        ({"patience": 3, "min_delta": -1}, "min_delta=-1"),
        ([("patience", 3)], "expected None or a dict"),
    ],
)
def test_bad_early_stopping_spec_raises_value_error(spec, match):
    with pytest.raises(ValueError, match=match):
        parse_early_stopping(spec)
