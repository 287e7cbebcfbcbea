"""Scaling out: torchrun ranks, sweeps on joblib, SLURM (submitit) and Optuna, and how many
threads each process takes."""

import csv
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from kinn import _runtime
from kinn.app import cli
from kinn.app.sweep import objective

ROOT = Path(__file__).resolve().parents[2]
SMALL = [
    "problem=poisson1d",
    "problem.hard=false",
    "model=kan",
    "model.hidden=[4]",
    "model.grid=4",
    "sampler.n_interior=24",
    "sampler.n_boundary=2",
    "trainer.dtype=float64",
    "trainer.progress=false",
    "trainer.log_every=1",
    "trainer.validate_every=2",
    "trainer.stages=[{optimizer:adam,steps:3,lr:0.01},{optimizer:lbfgs,steps:2}]",
]


def _plugin(name: str) -> None:
    pytest.importorskip(f"hydra_plugins.{name}", reason='pip install "kinn[sweeps]"')


def test_torchrun_ranks_give_the_loss_history_of_one_process(run_kinn, tmp_path):
    """Two gloo ranks under torchrun write one run folder whose history is the one-process
    history on the same points."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    proc = subprocess.run(
        [*torchrun, "--nproc_per_node=2", "-m", "kinn", *SMALL, "trainer.distributed=true"],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (run,) = (tmp_path / "outputs" / "poisson1d").glob("*/*")  # one folder, by rank 0
    assert proc.stdout.count("kinn: done") == 1 and "| 2 ranks" in proc.stdout
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["status"] == "finished" and metrics["ranks"] == 2
    assert (run / ".hydra" / "overrides.yaml").is_file()

    code, out, err = run_kinn(*SMALL, f"hydra.run.dir={tmp_path / 'one'}")
    assert code == 0, out + err
    one = json.loads((tmp_path / "one" / "history.json").read_text())
    two = json.loads((run / "history.json").read_text())
    assert [r["step"] for r in one] == [r["step"] for r in two] == [1, 2, 3, 4, 5]
    for a, b in zip(one, two):
        for key in ("loss", "loss_pde", "loss_dirichlet_left", "rel_l2_u"):
            if key in a:
                assert abs(a[key] - b[key]) <= 1e-10 * abs(a[key]), (key, a[key], b[key])


def test_torchrun_without_trainer_distributed_fails_with_one_line(run_kinn, tmp_path, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    code, _, err = run_kinn("problem=poisson1d", "trainer=quick", f"hydra.run.dir={tmp_path}")
    assert code == 2 and err.count("\n") == 1
    assert "trainer.distributed must be true under torchrun (WORLD_SIZE=2), got false" in err


def test_auto_threads_share_the_idle_cores_among_a_nodes_ranks(monkeypatch):
    monkeypatch.setattr(_runtime, "idle_cpus", lambda interval: 15.9)
    monkeypatch.setattr(_runtime, "usable_cpus", lambda: list(range(16)))
    assert _runtime.thread_count("auto", share=4) == 4
    assert _runtime.thread_count("auto", share=32) == 1
    assert _runtime.thread_count(3, share=4) == 3
    # torchrun sets OMP_NUM_THREADS=1 for its workers itself: auto takes the node's share
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    before = torch.get_num_threads()
    with cli._thread_policy("auto") as threads:
        assert threads == 8
    assert torch.get_num_threads() == before
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "1")  # a user's OMP_NUM_THREADS is respected
    with cli._thread_policy("auto") as threads:
        assert threads == before


def test_the_sweep_objective_is_the_first_relative_error_else_the_loss():
    finished = {"status": "finished", "rel_l2": {"u": 0.25, "v": 0.5}, "final_loss": 3.0}
    assert objective(finished) == 0.25
    assert objective({**finished, "rel_l2": {}}) == 3.0
    assert math.isnan(objective({"status": "failed", "error": "..."}))


def _table(sweep: Path) -> list[dict]:
    with open(sweep / "sweep.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_joblib_sweep_runs_jobs_in_processes_with_a_share_of_the_cores(
    run_kinn, toy_conf, tmp_path, monkeypatch
):
    """Jobs run in joblib's worker processes; each takes cores / jobs threads (joblib sets
    OMP_NUM_THREADS in its workers), and a failed job still fails the command."""
    _plugin("hydra_joblib_launcher")
    import joblib

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    sweep = tmp_path / "sweep"
    code, out, err = run_kinn(
        "-m",
        "--config-dir",
        str(toy_conf),
        "problem=toy1d",
        "model=tiny_kan",
        "trainer=quick",
        "trainer.stages.0.steps=2",
        "trainer.stages.0.lr=1e-2,1e9",
        "trainer.progress=false",
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        f"hydra.sweep.dir={sweep}",
    )
    assert code == 1 and "kinn: 1 job(s) failed: job 1" in err, out + err
    rows = _table(sweep)
    assert [r["status"] for r in rows] == ["finished", "failed"]
    metrics = json.loads((sweep / "0" / "metrics.json").read_text())
    assert metrics["threads"] == max(1, joblib.cpu_count() // 2)


def test_optuna_sweeper_minimises_the_runs_error_from_the_shipped_experiment(run_kinn, tmp_path):
    _plugin("hydra_optuna_sweeper")
    import yaml

    sweep = tmp_path / "sweep"
    code, out, err = run_kinn(
        "-m",
        "experiment=poisson1d_optuna",
        "hydra.sweeper.n_trials=3",
        "trainer.stages.0.steps=3",
        "trainer.stages.1.steps=1",
        "trainer.progress=false",
        f"hydra.sweep.dir={sweep}",
    )
    assert code == 0, out + err
    rows = _table(sweep)
    assert len(rows) == 3 and all(r["status"] == "finished" for r in rows)
    assert all("model.grid=" in r["overrides"] and "model.degree=" in r["overrides"] for r in rows)
    best = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    assert best["best_value"] == pytest.approx(min(float(r["rel_l2_u"]) for r in rows))


def test_slurm_launcher_config_writes_an_array_job_for_sbatch(run_kinn, tmp_path, monkeypatch):
    """No cluster here: stand-ins for srun and sbatch keep the submission script, then
    refuse it; the script is what SLURM would run."""
    _plugin("hydra_submitit_launcher")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = tmp_path / "submitted.sh"
    (bin_dir / "srun").write_text("#!/bin/sh\nexit 1\n")
    (bin_dir / "sbatch").write_text(f'#!/bin/sh\ncp "$1" {script}\necho refused >&2\nexit 1\n')
    for tool in ("srun", "sbatch"):
        (bin_dir / tool).chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    sweep = tmp_path / "sweep"
    code, _, err = run_kinn(
        "-m",
        "problem=poisson1d",
        "model.grid=5,10,20",
        "trainer.device=cuda",
        "hydra/launcher=slurm",
        "hydra.launcher.partition=gpu",
        "hydra.launcher.gpus_per_node=1",
        f"hydra.sweep.dir={sweep}",
    )
    assert code == 2 and err.splitlines()[-1] == "kinn: error: refused"  # sbatch's message
    text = script.read_text()
    for line in (
        "#SBATCH --array=0-2%3",
        "#SBATCH --cpus-per-task=4",
        "#SBATCH --gpus-per-node=1",
        "#SBATCH --job-name=kinn",
        "#SBATCH --mem=16GB",
        "#SBATCH --partition=gpu",
        "#SBATCH --time=120",
        f"#SBATCH --output={sweep}/.submitit/%A_%a/%A_%a_0_log.out",
    ):
        assert line in text.splitlines(), (line, text)
    assert "srun" in text and "-m submitit.core._submit" in text


def test_an_unknown_launcher_names_the_plugins_extra(run_kinn):
    code, _, err = run_kinn("-m", "hydra/launcher=jobli")
    assert code == 2 and err.count("\n") == 1
    assert "hydra/launcher=jobli: unknown option" in err and "pip install 'kinn[sweeps]'" in err
