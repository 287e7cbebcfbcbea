"""benchmarks.optimizers --dense-sizes: times a real mid-run SSBroyden update and direction."""

from benchmarks.optimizers import dense_cost


def test_dense_cost_times_an_update_that_was_applied():
    row = dense_cost(64, repeats=2)  # asserts inside: H built, no restart
    assert row["n"] == 64 and row["update_ms"] >= 0 and row["direction_ms"] >= 0
