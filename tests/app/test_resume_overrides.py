"""`kinn +resume=RUN` replays the run's overrides so that the ones given now win."""

import json

import yaml

from kinn.app import main
from kinn.app.cli import with_resume


def _run_with(tmp_path, overrides):
    run = tmp_path / "run"
    (run / ".hydra").mkdir(parents=True)
    (run / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    return run


def test_a_stage_field_given_on_resume_applies_after_the_runs_stage_list(tmp_path):
    stages = "trainer.stages=[{optimizer:adam,steps:10}]"
    run = _run_with(tmp_path, ["problem=poisson1d", stages])
    argv = with_resume([f"+resume={run}", "trainer.stages.0.steps=20"])
    assert argv == ["problem=poisson1d", stages, f"resume={run}", "trainer.stages.0.steps=20"]


def test_a_stage_list_given_on_resume_replaces_the_runs_stage_fields(tmp_path):
    run = _run_with(tmp_path, ["problem=poisson1d", "trainer.stages.0.steps=800", "seed=1"])
    stages = "trainer.stages=[{optimizer:adam,steps:900},{optimizer:lbfgs,steps:5}]"
    argv = with_resume(["--config-dir", "conf", f"+resume={run}", stages])
    assert argv == ["--config-dir", "conf", "problem=poisson1d", "seed=1", f"resume={run}", stages]


def test_resume_trains_the_longer_stage_given_after_a_stage_list(capsys, toy_conf, tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    common = ["--config-dir", str(toy_conf)]
    stages = "trainer.stages=[{optimizer:adam,steps:4,lr:1e-2}]"
    assert main([*common, f"hydra.run.dir={first}", "problem=toy1d", "model=mlp", stages]) == 0
    code = main(
        [*common, f"hydra.run.dir={second}", f"+resume={first}", "trainer.stages.0.steps=8"]
    )
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert json.loads((second / "metrics.json").read_text())["steps"] == 8
