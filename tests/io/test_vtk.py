"""fields.vtu with real cells, written by the kinn command and by kinn.io, read back by meshio."""

import math

import meshio
import numpy as np
import torch

from kinn.app import main
from kinn.geometry import Disk, Interval, Rectangle, Sphere, TimeDomain
from kinn.io import cells_of, write_pvd, write_result, write_time_series, write_vtu
from kinn.nn import MLP
from kinn.pde import Dirichlet, Problem, Residual
from kinn.train import Result


def _area(points: np.ndarray, triangles: np.ndarray) -> float:
    p = points[triangles]
    a, b = p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]
    return float(np.abs(a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]).sum() / 2)


def test_the_command_writes_triangles_covering_the_domain_within_one_percent(tmp_path):
    run = tmp_path / "run"
    argv = ["problem=poisson2d", "trainer=quick", "trainer.stages.0.steps=2", "threads=1"]
    assert main([*argv, "model.hidden=[3]", f"hydra.run.dir={run}"]) == 0
    mesh = meshio.read(run / "fields.vtu")
    assert [c.type for c in mesh.cells] == ["triangle"]
    assert abs(_area(mesh.points[:, :2], mesh.cells_dict["triangle"]) - 1.0) < 0.01
    assert {"u", "u_reference", "u_error"} <= set(mesh.point_data)
    assert (run / "plots" / "u.png").stat().st_size > 10_000
    assert (run / "plots" / "history.png").stat().st_size > 10_000


def test_plate_fields_are_triangles_around_the_hole_within_one_percent(tmp_path):
    """The FEM reference grid has no cells: Delaunay triangles kept outside the hole."""
    from kinn.problems.plate_hole import plate_hole

    problem = plate_hole()
    torch.manual_seed(0)
    model = problem.model(MLP([2, 6, 2]).double())
    result = Result(model, [], math.nan, {}, 0.0, 0, None, problem=problem)
    mesh = meshio.read(write_result(result, tmp_path / "fields.vtu"))
    triangles = mesh.cells_dict["triangle"]
    exact = 20 * 20 - math.pi * 5**2 / 4  # quarter plate minus a quarter disc
    assert abs(_area(mesh.points[:, :2], triangles) - exact) / exact < 0.01
    centroids = mesh.points[triangles].mean(axis=1)
    assert np.hypot(centroids[:, 0], centroids[:, 1]).min() > 5
    for name in ("ux", "uy", "mises", "mises_reference", "mises_error", "ux_error"):
        assert mesh.point_data[name].shape == (len(mesh.points),)
    np.testing.assert_allclose(
        mesh.point_data["mises_error"],
        mesh.point_data["mises"] - mesh.point_data["mises_reference"],
    )


def test_delaunay_cells_leave_the_hole_empty_and_cover_the_domain():
    geometry = Rectangle([0, 0], [2, 1]) - Disk([1, 0.5], 0.3)
    x = geometry.sample_interior(3000, "sobol", seed=0, dtype=torch.float64).numpy()
    x = np.concatenate([x, geometry.sample_boundary(600, "sobol", seed=1)[0].numpy()])
    ((kind, triangles),) = cells_of(x, geometry)
    assert kind == "triangle"
    centroids = x[triangles].mean(axis=1)
    assert np.all(np.hypot(centroids[:, 0] - 1, centroids[:, 1] - 0.5) > 0.3)
    exact = 2 - math.pi * 0.09
    assert abs(_area(x, triangles) - exact) / exact < 0.01


def test_tetrahedra_in_3d_and_lines_in_1d(tmp_path):
    ball = Sphere([0, 0, 0], 1.0)
    x = ball.sample_interior(800, "sobol", seed=0, dtype=torch.float64).numpy()
    ((kind, tets),) = cells_of(x, ball)
    assert kind == "tetra" and tets.shape[1] == 4
    write_vtu(tmp_path / "b.vtu", x, [(kind, tets)], {"r": np.linalg.norm(x, axis=1)})
    assert meshio.read(tmp_path / "b.vtu").cells[0].type == "tetra"
    ((kind, lines),) = cells_of(np.array([[0.5], [0.0], [1.0]]))
    assert kind == "line" and lines.tolist() == [[1, 0], [0, 2]]


def test_vtu_keeps_given_cells_and_puts_a_fourth_coordinate_in_point_data(tmp_path):
    x = np.array([[0, 0, 0, 0.5], [1, 0, 0, 0.5], [0, 1, 0, 0.5], [0, 0, 1, 0.5]], float)
    write_vtu(tmp_path / "t.vtu", x, [("tetra", np.array([[0, 1, 2, 3]]))], {"u": np.ones(4)})
    mesh = meshio.read(tmp_path / "t.vtu")
    assert mesh.cells[0].type == "tetra"
    np.testing.assert_allclose(mesh.point_data["x3"], 0.5)
    assert [p.name for p in tmp_path.iterdir()] == ["t.vtu"]  # no temporary file left


def _heat_result():
    """u = exp(-t) sin(pi x): a space-time problem and a network that is not trained."""
    geometry = Interval(0, 1) * TimeDomain(0, 1)

    def exact(x):
        return (torch.exp(-x[:, 1]) * torch.sin(math.pi * x[:, 0]))[:, None]

    problem = Problem(
        name="heat",
        geometry=geometry,
        inputs=("x", "t"),
        fields=("u",),
        terms=[Residual(lambda x, u: u.d("u", "t")), Dirichlet("boundary", 0.0)],
        reference=exact,
    )
    torch.manual_seed(0)
    model = problem.model(MLP([2, 8, 1]).double())
    return Result(model, [], math.nan, {}, 0.0, 0, None, problem=problem)


def test_time_series_is_a_pvd_of_slices_with_reference_and_error(tmp_path):
    result = _heat_result()
    pvd = write_time_series(result, tmp_path / "series", times=[0.0, 0.5, 1.0])
    text = pvd.read_text()
    assert text.count("<DataSet") == 3 and 'file="fields_0002.vtu"' in text
    mesh = meshio.read(tmp_path / "series" / "fields_0001.vtu")
    assert mesh.cells[0].type == "line" and len(mesh.points) == 201
    x = mesh.points[:, 0]
    np.testing.assert_allclose(mesh.point_data["u_reference"], np.exp(-0.5) * np.sin(math.pi * x))
    np.testing.assert_allclose(
        mesh.point_data["u_error"], mesh.point_data["u"] - mesh.point_data["u_reference"]
    )


def test_write_result_and_pvd_paths_are_relative(tmp_path):
    result = _heat_result()
    path = write_result(result, tmp_path / "f.vtu")
    mesh = meshio.read(path)
    assert mesh.cells[0].type == "triangle"  # the (x, t) rectangle
    assert {"u", "u_reference", "u_error"} <= set(mesh.point_data)
    pvd = write_pvd(tmp_path / "sub" / "s.pvd", [(0.0, path)])
    assert 'file="../f.vtu"' in pvd.read_text()


HEAT = """
import math

import torch

from kinn.geometry import Interval, TimeDomain
from kinn.pde import Dirichlet, Problem, Residual


def exact(x):
    return (torch.exp(-x[:, 1]) * torch.sin(math.pi * x[:, 0]))[:, None]


def heat():
    return Problem(
        name="heat",
        geometry=Interval(0, 1) * TimeDomain(0, 1),
        inputs=("x", "t"),
        fields=("u",),
        terms=[Residual(lambda x, u: u.d("u", "t") - u.d("u", "xx") / math.pi**2)],
        reference=exact,
        defaults={"n_interior": 64},
    )
"""


def test_the_command_writes_a_time_series_for_a_space_time_problem(tmp_path, monkeypatch):
    (tmp_path / "heat_problem.py").write_text(HEAT)
    monkeypatch.syspath_prepend(str(tmp_path))
    conf = tmp_path / "conf" / "problem"
    conf.mkdir(parents=True)
    (conf / "heat.yaml").write_text("_target_: heat_problem.heat\nname: heat\n")
    run = tmp_path / "run"
    argv = ["--config-dir", str(tmp_path / "conf"), "problem=heat", "trainer=quick"]
    argv += ["trainer.stages.0.steps=2", "model.hidden=[3]", "threads=1", f"hydra.run.dir={run}"]
    assert main(argv) == 0
    pvd = (run / "fields_t" / "fields.pvd").read_text()
    assert pvd.count("<DataSet") == 11
    mesh = meshio.read(run / "fields_t" / "fields_0010.vtu")  # t = 1
    x = mesh.points[:, 0]
    np.testing.assert_allclose(mesh.point_data["u_reference"], np.exp(-1) * np.sin(math.pi * x))
    assert meshio.read(run / "fields.vtu").cells[0].type == "triangle"  # the (x, t) rectangle
