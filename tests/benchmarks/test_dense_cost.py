"""benchmarks.optimizers --dense-sizes: times a real mid-run SSBroyden update and direction."""

import torch

from benchmarks.optimizers import dense_cost


def test_dense_cost_times_an_update_that_was_applied():
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        row = dense_cost(64, repeats=2)  # asserts inside: H built, no restart
    finally:
        torch.set_default_dtype(previous)
    assert row["n"] == 64 and row["update_ms"] >= 0 and row["direction_ms"] >= 0
