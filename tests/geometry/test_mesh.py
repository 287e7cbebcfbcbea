import numpy as np
import pytest
import torch
from conftest import hex_mesh

from kinn.geometry import Disk, Mesh, Rectangle


@pytest.mark.parametrize("suffix", [".vtu", ".msh", ".vtk"])
def test_meshio_file_round_trips(tmp_path, suffix):
    mesh = (Rectangle([0, 0], [2, 1]) - Disk([2, 1], 0.5)).triangulate(0.25)
    path = tmp_path / f"plate{suffix}"
    mesh.write(path)
    back = Mesh.from_file(path)
    assert back.dim == 2
    assert np.allclose(back.points, mesh.points)
    assert np.array_equal(back.cells["triangle"], mesh.cells["triangle"])
    assert np.isclose(back.measure, mesh.measure, rtol=1e-14)


def test_hexahedral_mesh_round_trips_and_keeps_volume(tmp_path):
    mesh = hex_mesh()
    mesh.write(tmp_path / "hex.vtu")
    back = Mesh.from_file(tmp_path / "hex.vtu")
    assert back.dim == 3 and np.isclose(back.measure, 2.0)
    _, _, w = back.boundary_quadrature(2)
    assert np.isclose(w.sum().item(), 10.0)  # the internal face is not boundary


def test_mesh_from_arrays_infers_cell_type():
    pts = np.array([(0, 0), (1, 0), (1, 1), (0, 1)], float)
    tri = Mesh(pts, np.array([[0, 1, 2], [0, 2, 3]]))
    quad = Mesh(pts, np.array([[0, 1, 2, 3]]))
    tet = Mesh(np.array([(0, 0, 0), (1, 0, 0), (0, 1, 0), (0, 0, 1)], float), [[0, 1, 2, 3]])
    assert tri.measure == pytest.approx(1) and quad.measure == pytest.approx(1)
    assert tet.dim == 3 and tet.measure == pytest.approx(1 / 6)


def test_interior_samples_are_spread_by_cell_volume():
    mesh = hex_mesh()
    x = mesh.sample_interior(4000, "sobol", seed=0)
    assert abs((x[:, 0] < 1).double().mean().item() - 0.5) < 0.01
    assert torch.allclose(x.mean(0), torch.tensor([1.0, 0.5, 0.5]), atol=0.01)


def test_bad_meshes_raise():
    with pytest.raises(ValueError, match="index points outside"):
        Mesh(np.zeros((3, 2)), {"triangle": np.array([[0, 1, 5]])})
    with pytest.raises(ValueError, match="degenerate"):
        Mesh(np.array([(0, 0), (1, 0), (2, 0)], float), {"triangle": np.array([[0, 1, 2]])})
