"""The kinn command end to end on a toy problem: outputs, sweep table, resume."""

import csv
import json

import meshio
import numpy as np
import pytest
import torch

from kinn.app import main


def solve(capsys, conf, run_dir, *overrides, model="tiny_kan"):
    model = [f"model={model}"] if model else []
    code = main(["--config-dir", str(conf), f"hydra.run.dir={run_dir}", *model, *overrides])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    return out


@pytest.mark.parametrize(("problem", "n_points"), [("toy1d", 101), ("toy2d", 441)])
def test_run_writes_metrics_fields_plots_history_and_checkpoints(
    capsys, toy_conf, tmp_path, problem, n_points
):
    run = tmp_path / "run"
    out = solve(capsys, toy_conf, run, f"problem={problem}", "trainer=quick")
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["problem"] == problem and metrics["model"] == "tiny_kan"
    assert metrics["form"] == "strong" and metrics["steps"] == 20
    assert set(metrics["rel_l2"]) == {"u"} and np.isfinite(metrics["rel_l2"]["u"])
    assert metrics["parameters"] > 0 and metrics["wall_time_s"] > 0
    assert np.isfinite(metrics["final_loss"])
    assert metrics["overrides"] == ["model=tiny_kan", f"problem={problem}", "trainer=quick"]

    mesh = meshio.read(run / "fields.vtu")
    assert mesh.points.shape == (n_points, 3)
    assert {"u", "u_reference", "u_error"} <= set(mesh.point_data)
    err = mesh.point_data["u"] - mesh.point_data["u_reference"]
    np.testing.assert_allclose(mesh.point_data["u_error"], err, atol=1e-6)
    rel = np.linalg.norm(err) / np.linalg.norm(mesh.point_data["u_reference"])
    assert rel == pytest.approx(metrics["rel_l2"]["u"], rel=1e-4)

    assert (run / "plots" / "u.png").stat().st_size > 1000
    assert "trainer:" in (run / "config.yaml").read_text()
    assert (run / ".hydra" / "config.yaml").is_file()
    rows = list(csv.DictReader(open(run / "history.csv")))
    assert rows[-1]["step"] == "20" and "rel_l2_u" in rows[0]
    assert (run / "checkpoints" / "last.pt").is_file()
    assert (run / "checkpoints" / "best.pt").is_file()
    assert str(run) in out and "rel_l2_u=" in out


def test_same_seed_gives_the_same_result(capsys, toy_conf, tmp_path):
    for name in ("a", "b"):
        solve(capsys, toy_conf, tmp_path / name, "problem=toy1d", "trainer=quick")
    a, b = (json.loads((tmp_path / n / "metrics.json").read_text()) for n in ("a", "b"))
    assert a["final_loss"] == b["final_loss"] and a["rel_l2"] == b["rel_l2"]


def test_overrides_reach_model_sampler_and_trainer(capsys, toy_conf, tmp_path):
    run = tmp_path / "run"
    solve(
        capsys,
        toy_conf,
        run,
        "problem=toy1d",
        "model=mlp",
        "model.hidden=[8]",
        "sampler.n_interior=16",
        "trainer.dtype=float64",
        "trainer.stages=[{optimizer:adam,steps:3,lr:1e-3},{optimizer:lbfgs,steps:2,lr:1}]",
    )
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["model"] == "mlp" and metrics["parameters"] == 1 * 8 + 8 + 8 * 1 + 1
    assert metrics["steps"] == 5 and metrics["dtype"] == "float64"
    ckpt = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
    assert ckpt["objective"] == {} and ckpt["dtype"] == "float64"


def test_sweep_prints_a_table_and_writes_sweep_csv(run_kinn, toy_conf, tmp_path):
    sweep = tmp_path / "sweep"
    code, out, err = run_kinn(
        "-m",
        "--config-dir",
        str(toy_conf),
        "problem=toy1d",
        "trainer=quick",
        "model=tiny_kan,mlp",
        f"hydra.sweep.dir={sweep}",
    )
    assert code == 0, out + err
    rows = list(csv.DictReader(open(sweep / "sweep.csv")))
    assert [r["model"] for r in rows] == ["tiny_kan", "mlp"]
    assert {"problem", "form", "params", "rel_l2_u", "wall_time_s"} <= set(rows[0])
    table = out[out.index("sweep of 2 runs") :]
    assert "rel_l2_u" in table and "tiny_kan" in table and "mlp" in table
    for job in ("0", "1"):
        assert (sweep / job / "metrics.json").is_file()
        assert (sweep / job / "fields.vtu").is_file()


def test_resume_continues_from_the_checkpoint_with_the_runs_own_overrides(
    capsys, toy_conf, tmp_path
):
    first, second, straight = tmp_path / "first", tmp_path / "second", tmp_path / "straight"
    stages = "trainer.stages=[{optimizer:adam,steps:%d,lr:1e-2}]"
    solve(capsys, toy_conf, first, "problem=toy1d", "model=mlp", "trainer=quick", stages % 10)
    # Only the resume and the longer stage are given: problem and model come from the run.
    out = solve(capsys, toy_conf, second, f"+resume={first}", stages % 20, model=None)
    assert "resuming" in out
    solve(capsys, toy_conf, straight, "problem=toy1d", "model=mlp", "trainer=quick", stages % 20)
    resumed = json.loads((second / "metrics.json").read_text())
    whole = json.loads((straight / "metrics.json").read_text())
    assert resumed["model"] == "mlp" and resumed["steps"] == 20
    assert resumed["resumed_from"] == str(first / "checkpoints" / "last.pt")
    assert resumed["final_loss"] == whole["final_loss"]  # bit-for-bit on CPU
    rows = list(csv.DictReader(open(second / "history.csv")))
    assert rows[0]["step"] == "1" and rows[-1]["step"] == "20"


def test_resume_with_another_network_fails_with_one_line(capsys, toy_conf, tmp_path):
    first = tmp_path / "first"
    solve(capsys, toy_conf, first, "problem=toy1d", "trainer=quick", "trainer.stages.0.steps=2")
    code = main(
        [
            "--config-dir",
            str(toy_conf),
            f"hydra.run.dir={tmp_path / 'second'}",
            f"+resume={first}",
            "trainer.stages.0.steps=4",
            "model=mlp",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "its network does not fit model=mlp" in err


def test_shipped_problems_solve_end_to_end_from_their_targets(capsys, tmp_path):
    for problem in ("poisson1d", "inverse_diffusion"):
        run = tmp_path / problem
        code = main(
            [
                f"problem={problem}",
                "model=mlp",
                "model.hidden=[8]",
                "trainer=quick",
                "trainer.stages.0.steps=3",
                "sampler.n_interior=32",
                f"hydra.run.dir={run}",
                *(["form=strong"] if problem == "poisson1d" else []),  # a form from the config
            ]
        )
        out = capsys.readouterr().out
        assert code == 0
        metrics = json.loads((run / "metrics.json").read_text())
        assert metrics["problem"] == problem and "u" in metrics["rel_l2"]
        assert f"| form={metrics['form']} |" in out  # the form's name, not its enum
        assert meshio.read(run / "fields.vtu").point_data["u_error"].ndim == 1
    assert metrics["form"] == "inverse" and set(metrics["identified"]) == {"k"}
    assert metrics["identified"]["k"]["true"] == 2.0 and "identified k =" in out


def test_no_arguments_means_the_plate_with_a_kan(capsys):
    assert main(["--cfg", "job"]) == 0
    out = capsys.readouterr().out
    assert "name: plate_hole" in out and "_target_: kinn.nn.KAN" in out


def test_derivatives_key_defaults_to_auto_and_passes_jet_or_autograd_through(
    capsys, toy_conf, tmp_path
):
    from app_toy_problem import OBJECTIVE_CALLS

    OBJECTIVE_CALLS.clear()
    for value in ("auto", "jet", "autograd"):
        run = tmp_path / value
        derivatives = [] if value == "auto" else [f"derivatives={value}"]
        solve(capsys, toy_conf, run, "problem=toy1d", "trainer.stages.0.steps=1", *derivatives)
        assert json.loads((run / "metrics.json").read_text())["derivatives"] == value
    # auto leaves the choice to the problem; the others reach its objective(derivatives=...)
    assert [c.get("derivatives") for c in OBJECTIVE_CALLS] == [None, "jet", "autograd"]
