import math

import numpy as np
import pytest
import torch
from conftest import PLATE_AREA, plate_with_hole

from kinn.geometry import METHODS, Disk, Rectangle, sample


@pytest.mark.parametrize("method", METHODS)
def test_unit_cube_samplers_are_seeded_and_reproducible(method):
    a = sample(100, 3, method, seed=7)
    b = sample(100, 3, method, seed=7)
    assert a.shape == (100, 3) and torch.equal(a, b)
    assert (a >= 0).all() and (a < 1).all()


def test_grid_is_a_full_grid_for_perfect_powers():
    x = sample(16, 2, "grid")
    assert sorted(set(x[:, 0].tolist())) == [0.125, 0.375, 0.625, 0.875]


def test_latin_hypercube_hits_every_stratum_once():
    x = sample(50, 2, "lhs", seed=0)
    for axis in range(2):
        assert sorted((x[:, axis] * 50).floor().int().tolist()) == list(range(50))


@pytest.mark.parametrize("method", METHODS)
def test_every_sampler_is_honoured_by_csg_shapes(method):
    plate = plate_with_hole()
    x = plate.sample_interior(128, method, seed=1)
    assert x.shape == (128, 2) and plate.inside(x).all()
    assert len(torch.unique(x, dim=0)) == 128
    assert torch.equal(x, plate.sample_interior(128, method, seed=1))


def local_discrepancy(x):
    """Max over anchored boxes [0,a]x[0,b] (a, b >= 5) of |fraction - exact area fraction|."""
    grid = torch.linspace(5, 20, 31)
    worst = 0.0
    for a in grid:
        for b in grid:
            frac = ((x[:, 0] <= a) & (x[:, 1] <= b)).double().mean().item()
            exact = (a * b - 25 * math.pi / 4).item() / PLATE_AREA
            worst = max(worst, abs(frac - exact))
    return worst


def test_sobol_has_lower_discrepancy_than_pseudo_random_on_csg():
    plate = plate_with_hole()
    sobol = np.mean([local_discrepancy(plate.sample_interior(512, "sobol", s)) for s in range(4)])
    rand = np.mean([local_discrepancy(plate.sample_interior(512, "random", s)) for s in range(4)])
    assert sobol < 0.5 * rand


def test_mapped_shapes_keep_quasi_random_structure():
    # The polar map is area-preserving, so Sobol points stay evenly spread over the disk.
    x = Disk([0, 0], 1).sample_interior(1024, "sobol", seed=0)
    inner = (x.norm(dim=1) < math.sqrt(0.5)).double().mean().item()
    assert abs(inner - 0.5) < 0.01


def test_unseeded_draws_differ_and_boundary_sampling_is_seeded():
    r = Rectangle([0, 0], [1, 1])
    assert not torch.equal(r.sample_interior(8, "random"), r.sample_interior(8, "random"))
    a, _ = r.sample_boundary(16, "halton", seed=3)
    b, _ = r.sample_boundary(16, "halton", seed=3)
    assert torch.equal(a, b)
