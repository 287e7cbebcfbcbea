"""kinn.viz figures: what each panel shows, on short real results."""

import csv
import math

import numpy as np
import pytest
import torch

import kinn.viz as viz
from kinn.geometry import Disk, Interval, Rectangle, Sphere, TimeDomain
from kinn.nn import KAN, MLP
from kinn.pde import Problem, Residual
from kinn.symbolic import SymbolicKAN, fit_edge
from kinn.train import Result


def _result(problem, net, history=()):
    torch.manual_seed(0)
    model = problem.model(net.double())
    return Result(model, list(history), math.nan, {}, 0.0, len(history), None, problem=problem)


def _texts(fig):
    return [fig.get_suptitle()] + [ax.get_title() for ax in fig.axes]


def _plate():
    """A square with a hole and u = x y (exact)."""
    return Problem(
        name="holed",
        geometry=Rectangle([0, 0], [2, 2]) - Disk([1, 1], 0.5),
        inputs=("x", "y"),
        fields=("u",),
        terms=[Residual(lambda x, u: u.laplacian("u"))],
        reference=lambda x: (x[:, 0] * x[:, 1])[:, None],
    )


def test_a_2d_field_shows_model_reference_and_error_with_colour_bars_and_a_title():
    result = _result(_plate(), MLP([2, 8, 1]))
    fig = viz.plot_field(result)
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in panels] == [
        "u (model)",
        "u (reference)",
        "error u (model - ref.)",
    ]
    assert len(fig.axes) == 6  # three panels, three colour bars
    rel = result.evaluate().rel_l2["u"]
    assert fig.get_suptitle().startswith(f"u: relative L2 error {rel:.3e}")
    assert "holed" in fig.get_suptitle()
    assert all(ax.get_xlabel() == "x" and ax.get_ylabel() == "y" for ax in panels)
    # Shared scale: model and reference colour bars span the same range.
    bars = [ax for ax in fig.axes if not ax.get_title()]
    assert bars[0].get_ylim() == bars[1].get_ylim()
    lo, hi = bars[2].get_ylim()
    assert lo == pytest.approx(-hi)  # the error's scale is symmetric


def test_field_figure_of_1d_and_3d_points_and_a_field_without_reference():
    x = np.linspace(0, 1, 50)[:, None]
    fig = viz.field_figure(x, np.sin(x[:, 0]), "u", reference=np.sin(x[:, 0]) + 0.01)
    assert len(fig.axes) == 3 and fig.axes[0].get_ylim() == fig.axes[1].get_ylim()
    x3 = np.random.default_rng(0).random((60, 3))
    fig = viz.field_figure(x3, x3[:, 0], "v", inputs=("a", "b", "c"))
    assert len(fig.axes) == 2 and fig.axes[0].get_xlabel() == "a"
    with pytest.raises(ValueError, match="field must be one of"):
        viz.plot_field(_result(_plate(), MLP([2, 4, 1])), "w")


def _heat():
    def exact(x):
        return (torch.exp(-x[:, 1]) * torch.sin(math.pi * x[:, 0]))[:, None]

    return Problem(
        name="heat",
        geometry=Interval(0, 1) * TimeDomain(0, 2),
        inputs=("x", "t"),
        fields=("u",),
        terms=[Residual(lambda x, u: u.d("u", "t"))],
        reference=exact,
    )


def test_spacetime_shows_the_image_the_error_and_slices_at_the_chosen_times():
    result = _result(_heat(), MLP([2, 8, 1]))
    fig = viz.plot_spacetime(result, times=[0.0, 1.0, 2.0], n=41)
    image, error, slices = (ax for ax in fig.axes if ax.get_title())
    assert image.get_title() == "u(x, t) (model)" and image.get_ylabel() == "t"
    assert image.get_images()[0].get_array().shape == (41, 41)
    assert error.get_title() == "error u (model - exact)"
    assert [t.get_text() for t in slices.get_legend().get_texts()] == ["t = 0", "t = 1", "t = 2"]
    assert len(slices.get_lines()) == 6  # model and exact at each time
    with pytest.raises(ValueError, match="1-D problem in space and time"):
        viz.plot_spacetime(_result(_plate(), MLP([2, 4, 1])))


def test_history_has_loss_terms_errors_and_identified_parameters_and_marks_stages():
    rows = [
        {"step": s, "stage": int(s > 5), "loss": 10.0 / s, "loss_pde": 8.0 / s, "loss_bc": 2.0 / s}
        for s in range(1, 11)
    ]
    rows[4].update(rel_l2_u=0.5, param_k=1.5, param_k_rel_err=0.25)
    rows[9].update(rel_l2_u=0.1, param_k=1.9, param_k_rel_err=0.05)
    fig = viz.plot_history(rows)
    losses, errors, params = fig.axes
    assert [t.get_text() for t in losses.get_legend().get_texts()] == [
        "total (weighted)",
        "pde",
        "bc",
    ]
    assert losses.get_yscale() == "log" and errors.get_yscale() == "log"
    assert [t.get_text() for t in errors.get_legend().get_texts()] == [
        "rel_l2_u",
        "param_k_rel_err",
    ]
    assert params.get_title() == "identified parameters"
    assert params.get_lines()[0].get_ydata().tolist() == [1.5, 1.9]
    stage_lines = [ln for ln in losses.get_lines() if ln.get_linestyle() == "--"]
    assert len(stage_lines) == 1 and stage_lines[0].get_xdata()[0] == 6
    with pytest.raises(ValueError, match="non-empty history"):
        viz.plot_history([])


def test_sweep_draws_one_line_per_job_against_steps_and_wall_time(tmp_path):
    jobs = [("0", "kan", "model=kan"), ("1", "mlp", "model=mlp"), ("2", "kan", "model=kan grid=9")]
    with open(tmp_path / "sweep.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["job", "status", "model", "overrides"])
        for job, model, overrides in jobs:
            writer.writerow([job, "finished", model, overrides])
            (tmp_path / job).mkdir()
            history = "step,time_s,loss,rel_l2_u\n1,0.1,1,\n10,1.0,0.5,0.3\n20,2.0,0.2,0.1\n"
            (tmp_path / job / "history.csv").write_text(history)
        writer.writerow(["3", "failed", "kan", ""])
    fig = viz.plot_sweep(tmp_path / "sweep.csv")
    by_steps, by_time = fig.axes
    labels = [t.get_text() for t in by_steps.get_legend().get_texts()]
    assert labels == ["kan (job 0)", "mlp", "kan (grid=9)"]
    assert by_steps.get_lines()[0].get_xdata().tolist() == [10, 20]
    assert by_time.get_lines()[0].get_xdata().tolist() == [1.0, 2.0]
    assert by_time.get_xlabel() == "wall time (s)" and by_steps.get_yscale() == "log"
    assert "3 finished jobs" in fig.get_suptitle()


def test_kan_diagram_draws_each_unmasked_edge_and_names_locked_ones():
    torch.manual_seed(0)
    kan = KAN([2, 3, 1]).double()
    x = torch.rand(64, 2, dtype=torch.float64) * 2 - 1
    fig = viz.plot_kan(kan, x, inputs=["a", "b"], outputs=["f"])
    assert len(fig.axes) == 1 + 2 * 3 + 3 * 1  # the diagram and one plot per edge
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts == ["a", "b", "f"]
    with torch.no_grad():
        kan.layers[0].edge_mask[1, 2] = 0.0  # a pruned edge is not drawn
    sym = SymbolicKAN(kan)
    grid = torch.linspace(-1, 1, 50, dtype=torch.float64)
    fit = fit_edge(grid.numpy(), np.sin(2 * grid.numpy()))
    sym.lock(1, 0, 0, fit.chosen)
    fig = viz.plot_kan(sym, x)
    assert len(fig.axes) == 1 + 5 + 3
    labels = [t.get_text() for ax in fig.axes[1:] for t in ax.texts]
    assert labels == [fit.chosen.candidate.name]
    assert "KAN 2 x 3 x 1" in fig.get_suptitle()
    with pytest.raises(ValueError, match="must be a KAN"):
        viz.plot_kan(MLP([2, 3, 1]))


def test_kan_diagram_of_a_result_uses_its_inputs_and_fields():
    result = _result(_plate(), KAN([2, 2, 1]))
    fig = viz.plot_kan(result)
    assert [t.get_text() for t in fig.axes[0].texts] == ["x", "y", "u"]


pyvista = pytest.importorskip("pyvista")


def _ball():
    return Problem(
        name="ball",
        geometry=Sphere([0, 0, 0], 1.0),
        inputs=("x", "y", "z"),
        fields=("u",),
        terms=[Residual(lambda x, u: u.laplacian("u") + 1.0)],
        reference=lambda x: (1 - (x**2).sum(1, keepdim=True)) / 6,
    )


def test_grid3d_cuts_the_box_to_the_ball_with_fields_reference_and_error():
    grid = viz.grid3d(_result(_ball(), MLP([3, 6, 1])), n=16)
    radius = np.linalg.norm(np.asarray(grid.points), axis=1)
    assert radius.max() <= 1 + 1e-6 and radius.max() > 0.99
    assert {"u", "u_reference", "u_error"} <= set(grid.point_data.keys())
    assert abs(grid.volume - 4 / 3 * math.pi) / (4 / 3 * math.pi) < 0.03


@pytest.mark.parametrize("mode", viz.three_d.MODES)
def test_show3d_renders_offscreen_into_a_figure_with_a_colour_bar(mode):
    fig = viz.show3d(
        _result(_ball(), MLP([3, 6, 1])), "u_error", mode, n=16, window_size=(300, 240)
    )
    image = fig.axes[0].get_images()[0].get_array()
    assert image.shape[:2] == (240, 300) and np.asarray(image).std() > 5  # not a blank frame
    assert fig.axes[1].get_ylabel() == "u_error"
    assert fig.axes[0].get_title().startswith(f"u_error ({mode})")
    with pytest.raises(ValueError, match="mode must be one of"):
        viz.show3d(_result(_ball(), MLP([3, 6, 1])), "u", "volume")
