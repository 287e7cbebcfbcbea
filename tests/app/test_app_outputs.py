"""Output writers: VTU files meshio reads back, field plots, the sweep table."""

import json

import meshio
import numpy as np

from kinn.app.outputs import plot_field, write_vtu
from kinn.app.sweep import collect, format_table, write_csv


def test_vtu_without_cells_holds_one_vertex_per_point(tmp_path):
    x = np.random.default_rng(0).random((50, 2))
    write_vtu(tmp_path / "f.vtu", x, None, {"u": x[:, 0], "u_error": x[:, 1]})
    mesh = meshio.read(tmp_path / "f.vtu")
    np.testing.assert_allclose(mesh.points[:, :2], x)
    assert np.all(mesh.points[:, 2] == 0)
    assert mesh.cells[0].type == "vertex" and len(mesh.cells[0].data) == 50
    np.testing.assert_allclose(mesh.point_data["u"], x[:, 0])


def test_vtu_keeps_mesh_cells_and_extra_coordinates(tmp_path):
    x = np.array([[0, 0, 0, 0.5], [1, 0, 0, 0.5], [0, 1, 0, 0.5], [0, 0, 1, 0.5]], float)
    write_vtu(tmp_path / "t.vtu", x, [("tetra", np.array([[0, 1, 2, 3]]))], {"u": np.ones(4)})
    mesh = meshio.read(tmp_path / "t.vtu")
    assert mesh.cells[0].type == "tetra"
    np.testing.assert_allclose(mesh.point_data["x3"], 0.5)


def test_plots_for_curves_meshes_and_scattered_points_with_a_hole(tmp_path):
    x1 = np.linspace(0, 1, 30)[:, None]
    plot_field(tmp_path / "a.png", "u", x1, np.sin(x1[:, 0]), np.sin(x1[:, 0]) + 0.01)
    g = np.stack(np.meshgrid(np.linspace(-1, 1, 15), np.linspace(-1, 1, 15)), -1).reshape(-1, 2)
    g = g[np.hypot(g[:, 0], g[:, 1]) > 0.3]

    def outside_hole(c):
        return np.hypot(c[:, 0], c[:, 1]) > 0.3

    plot_field(tmp_path / "b.png", "s", g, g[:, 0], g[:, 0] * 1.1, inside=outside_hole)
    quads = [("quad", np.array([[0, 1, 16, 15]]))]
    plot_field(tmp_path / "c.png", "s", g, g[:, 0], g[:, 1], cells=quads)
    x3 = np.random.default_rng(1).random((40, 3))
    plot_field(tmp_path / "d.png", "v", x3, x3[:, 2], x3[:, 2])
    for name in "abcd":
        assert (tmp_path / f"{name}.png").stat().st_size > 1000


def test_sweep_table_has_one_row_per_job_in_job_order_failed_jobs_included(tmp_path):
    for job, model, err in (("10", "mlp", 0.5), ("2", "kan", 0.01)):
        (tmp_path / job).mkdir()
        metrics = {
            "status": "finished",
            "problem": "p",
            "model": model,
            "form": "strong",
            "parameters": 7,
            "rel_l2": {"u": err},
            "wall_time_s": 1.25,
            "overrides": [f"model={model}"],
        }
        (tmp_path / job / "metrics.json").write_text(json.dumps(metrics))
    (tmp_path / "3").mkdir()
    failed = {"status": "failed", "problem": "p", "model": "kan", "error": "diverged " * 20}
    (tmp_path / "3" / "metrics.json").write_text(json.dumps(failed))
    rows = collect(tmp_path)
    assert [r["job"] for r in rows] == ["2", "3", "10"]
    table = format_table(rows).splitlines()
    assert table[0].split() == [
        "job",
        "status",
        "problem",
        "model",
        "form",
        "params",
        "rel_l2_u",
        "wall_time_s",
        "error",
        "overrides",
    ]
    assert table[2].split()[:7] == ["2", "finished", "p", "kan", "strong", "7", "1.000e-02"]
    assert table[3].split()[:7] == ["3", "failed", "p", "kan", "-", "-", "-"]
    assert table[3].rstrip().endswith("...")  # the table shortens the error; the CSV keeps it
    lines = write_csv(rows, tmp_path / "sweep.csv").read_text().splitlines()
    assert lines[1].startswith("2,finished,p,kan,strong,7,0.01,1.25")
    assert lines[2].startswith("3,failed,p,kan,,,,,") and failed["error"].strip() in lines[2]
