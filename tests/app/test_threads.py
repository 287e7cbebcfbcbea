"""The command's thread policy: `threads=auto|N`, sleeping OpenMP threads, nothing at import."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from kinn import _runtime

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


@pytest.mark.parametrize(("idle", "cpus", "expected"), [(0.1, 2, 1), (0.9, 2, 1), (1.85, 2, 2)])
def test_auto_threads_count_only_the_idle_cpus(monkeypatch, idle, cpus, expected):
    monkeypatch.setattr(_runtime, "idle_cpus", lambda interval: idle)
    monkeypatch.setattr(_runtime, "usable_cpus", lambda: list(range(cpus)))
    assert _runtime.thread_count("auto") == expected
    assert _runtime.thread_count(3) == 3


def test_idle_cpus_is_between_zero_and_the_usable_cpus():
    assert 0.0 <= _runtime.idle_cpus(0.05) <= len(_runtime.usable_cpus()) + 1e-9


def test_threads_key_sets_the_runs_thread_count_and_restores_it(run_kinn, toy_conf, tmp_path):
    before = torch.get_num_threads()
    run = tmp_path / "run"
    args = ("--config-dir", str(toy_conf), "problem=toy1d", "trainer=quick")
    code, out, err = run_kinn(
        *args, "trainer.stages.0.steps=2", "threads=2", f"hydra.run.dir={run}"
    )
    assert code == 0, out + err
    assert json.loads((run / "metrics.json").read_text())["threads"] == 2
    assert torch.get_num_threads() == before


@pytest.mark.parametrize("value", ["0", "-1", "many"])
def test_bad_threads_value_fails_with_one_line(run_kinn, toy_conf, tmp_path, value):
    args = ("--config-dir", str(toy_conf), "problem=toy1d", f"hydra.run.dir={tmp_path}")
    code, _, err = run_kinn(*args, f"threads={value}")
    assert code == 2 and err.count("\n") == 1
    assert "threads must be 'auto' or a positive integer, got" in err


def test_the_command_lets_openmp_threads_sleep_before_torch_loads(toy_conf, tmp_path):
    code = f"""
import json, os, sys
sys.path.insert(0, {str(HERE)!r})
from kinn.app import main
assert "torch" not in sys.modules  # the command module does not load torch itself
status = main(["--config-dir", {str(toy_conf)!r}, "problem=toy1d", "trainer=quick",
               "trainer.stages.0.steps=2", "hydra.run.dir={tmp_path / "run"}"])
print(json.dumps([status, os.environ.get("OMP_WAIT_POLICY")]))
"""
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "OMP_NUM_THREADS")}
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        env={**env, "PYTHONPATH": str(ROOT)},
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [0, "PASSIVE"]
    threads = json.loads((tmp_path / "run" / "metrics.json").read_text())["threads"]
    assert 1 <= threads <= len(_runtime.usable_cpus())
