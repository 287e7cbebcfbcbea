import math

import pytest
import torch

from kinn.geometry import Disk, GeometryXTime, Interval, TimeDomain, koch_snowflake


def test_space_time_samples_lie_in_the_cylinder():
    st = Disk([0, 0], 1) * TimeDomain(0, 2)
    x = st.sample_interior(100, seed=0)
    assert x.shape == (100, 3) and st.inside(x).all()
    xb, n = st.sample_boundary(50, seed=0)
    assert st.on_boundary(xb).all() and (n[:, 2] == 0).all()
    assert torch.allclose(n[:, :2], xb[:, :2])
    x0 = st.sample_initial(20, seed=0)
    assert (x0[:, 2] == 0).all() and st.inside(x0).all()
    assert st.distance(xb).abs().max() < 1e-12 and set(st.boundary_part_of(xb)) == {"boundary"}
    assert st.bbox[1].tolist() == [1, 1, 2]


def test_space_time_quadrature_sums_to_area_times_duration():
    st = GeometryXTime(koch_snowflake(1, 1.0), TimeDomain(1, 3))
    _, w = st.quadrature(2)
    assert math.isclose(w.sum().item(), 2 * st.geometry.measure, rel_tol=1e-12)


def test_time_domain_parts_are_initial_and_final():
    assert list(TimeDomain(0, 1).boundary_parts) == ["initial", "final"]
    with pytest.raises(ValueError, match="t0 < t1"):
        TimeDomain(1, 0)
    with pytest.raises(ValueError, match="TimeDomain"):
        Disk([0, 0], 1) * Interval(0, 1)
