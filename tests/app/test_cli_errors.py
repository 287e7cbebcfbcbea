"""Bad configurations end with one line on stderr naming the key, exit status 2, no traceback."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("trainer.stpes=10", "trainer.stpes: unknown key 'stpes'"),
        ("trainer.seed=abc", "trainer.seed=abc"),
        ("trainer.dtype=float16", "expected one of [float32, float64]"),
        ("form=weak", "form=weak"),
        ("problem=nosuch", "problem=nosuch: unknown option; expected one of:"),
        ("model=nosuch", "model=nosuch: unknown option; expected one of: kan, kan_chebyshev, mlp"),
        ("model.grdi=3", "unknown key 'grdi'"),
        ("trainer.stages=[{optimizer:adm,steps:3,lr:1}]", "'adm', expected one of [adam"),
    ],
)
def test_bad_override_fails_with_one_line_naming_it(run_kinn, override, expected):
    code, out, err = run_kinn(override)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("kinn: error: ")
    assert expected in err
    assert "Traceback" not in err + out


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("problem.dim=3", "problem: dim=3: expected 1 or 2"),
        ("+problem.size=3", "problem.size: not an argument of ToyPoisson"),
        ("problem._target_=nowhere.make", "problem._target_='nowhere.make': cannot import it"),
        ("+model.colour=red", "model.colour: not an argument of KAN"),
        ("trainer.stages.0.lr=-1", "trainer.stages[0]: lr=-1.0: expected a positive"),
        ("trainer.validate_every=0", "trainer: validate_every=0: expected a positive integer"),
        ("+trainer.weights.nosuch=2", "nosuch"),
        ("resume=/no/such/run", "resume='/no/such/run': no checkpoint there"),
    ],
)
def test_config_that_cannot_be_built_fails_with_one_line(
    run_kinn, toy_conf, tmp_path, override, expected
):
    run_dir = tmp_path / "run"
    code, out, err = run_kinn(
        "--config-dir",
        str(toy_conf),
        "problem=toy1d",
        "trainer=quick",
        f"hydra.run.dir={run_dir}",
        override,
    )
    assert code == 2, out + err
    assert err.count("\n") == 1 and err.startswith("kinn: error: ")
    assert expected in err
    assert "Traceback" not in err + out


def test_problem_config_without_a_target_fails_with_one_line(run_kinn, tmp_path):
    (tmp_path / "problem").mkdir()
    (tmp_path / "problem" / "bare.yaml").write_text("name: bare\n")
    code, _, err = run_kinn(
        "--config-dir", str(tmp_path), "problem=bare", f"hydra.run.dir={tmp_path / 'run'}"
    )
    assert code == 2 and err.count("\n") == 1
    assert "problem must be a mapping with a '_target_' (a problem factory), got" in err


def test_console_command_exits_non_zero_without_traceback(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "kinn", "trainer.stpes=10"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert (
        proc.stderr.strip().splitlines() == [proc.stderr.strip()] and "trainer.stpes" in proc.stderr
    )
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "outputs").exists()


def test_help_lists_problems_and_models(run_kinn, toy_conf):
    code, out, _ = run_kinn("--help", "--config-dir", str(toy_conf))
    assert code == 0
    for name in ("plate_hole", "poisson1d", "toy1d", "kan", "kan_chebyshev", "mlp"):
        assert name in out


def test_fit_is_dispatched_to_its_own_config(run_kinn, tmp_path):
    code, _, err = run_kinn("fit", "data=x.csv", "target=y", f"hydra.run.dir={tmp_path}")
    assert code == 2 and "x.csv" in err and err.count("\n") == 1  # fit's own one-line error
    code, _, err = run_kinn("fit", "trainer.seed=1", f"hydra.run.dir={tmp_path}")
    assert code == 2 and "trainer" in err  # fit.yaml has no trainer group


@pytest.mark.parametrize(
    ("override", "hint"),
    [
        ("trainer.lr=1e9", "(did you mean 'trainer.stages.0.lr'?)"),
        ("trainer.steps=10", "(did you mean 'trainer.stages.0.steps'?)"),
        ("problem=poison2d", "(did you mean 'poisson2d'?)"),
        ("model=mpl", "(did you mean 'mlp'?)"),
    ],
)
def test_unknown_key_or_option_suggests_the_right_one(run_kinn, override, hint):
    code, _, err = run_kinn(override)
    assert code == 2 and err.count("\n") == 1
    assert err.rstrip().endswith(hint)


def test_adding_a_key_the_config_has_says_to_drop_the_plus(run_kinn, tmp_path):
    code, _, err = run_kinn("problem=poisson1d", "+problem.hard=false", f"hydra.run.dir={tmp_path}")
    assert code == 2 and err.count("\n") == 1
    assert "+problem.hard=false: problem.hard is already in the config" in err
    assert "write problem.hard=false (no '+')" in err


def test_docs_use_the_override_forms_that_work():
    lines = ((ROOT / "README.md").read_text() + (ROOT / "docs" / "app.md").read_text()).split("\n")
    assert any("kinn problem=poisson1d problem.hard=false" in line for line in lines)
    for i, line in enumerate(lines):  # `+problem.hard` only in the example of its error
        if "+problem.hard" in line:
            assert "kinn: error:" in line or lines[i + 1].startswith("kinn: error:"), line


def test_help_into_a_closed_pipe_ends_quietly(tmp_path):
    read, write = os.pipe()
    os.close(read)  # like `kinn --help | head -1` after head has exited
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "kinn", "--help"],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            cwd=tmp_path,
        )
    finally:
        os.close(write)
    assert proc.returncode == 0 and proc.stderr == ""
