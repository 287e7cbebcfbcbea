"""Trainer stages from the config: the library's own learning-rate defaults, second-order stages."""

import json

from kinn.app import main


def test_stage_without_lr_takes_the_optimizers_own_default(capsys, toy_conf, tmp_path):
    stages = "trainer.stages=[{optimizer:adam,steps:2},{optimizer:lbfgs,steps:2}]"
    code = main(
        [
            "--config-dir",
            str(toy_conf),
            f"hydra.run.dir={tmp_path}",
            "problem=toy1d",
            "model=tiny_kan",
            "trainer=quick",
            "trainer.log_every=1",
            stages,
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, out + err
    rows = json.loads((tmp_path / "history.json").read_text())
    assert [(row["stage"], row["lr"]) for row in rows] == [(0, 1e-3), (0, 1e-3), (1, 1.0), (1, 1.0)]


def test_second_order_optimizers_are_config_choices(capsys, toy_conf, tmp_path):
    for optimizer in ("ssbfgs", "ssbroyden"):
        code = main(
            [
                "--config-dir",
                str(toy_conf),
                f"hydra.run.dir={tmp_path / optimizer}",
                "problem=toy1d",
                "model=tiny_kan",
                "trainer=quick",
                "trainer.dtype=float64",
                f"trainer.stages=[{{optimizer:{optimizer},steps:3}}]",
            ]
        )
        out, err = capsys.readouterr()
        assert code == 0, out + err
        rows = json.loads((tmp_path / optimizer / "history.json").read_text())
        assert rows[-1]["step"] == 3 and rows[-1]["lr"] == 1.0


def test_trainer_accurate_preset_runs_in_float64(capsys, toy_conf, tmp_path):
    code = main(
        [
            "--config-dir",
            str(toy_conf),
            f"hydra.run.dir={tmp_path}",
            "problem=toy1d",
            "model=tiny_kan",
            "trainer=accurate",
            "trainer.stages.0.steps=3",
            "trainer.stages.1.steps=2",
            "trainer.log_every=1",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, out + err
    rows = json.loads((tmp_path / "history.json").read_text())
    assert [row["stage"] for row in rows] == [0, 0, 0, 1, 1]
    assert rows[-1]["loss"] < rows[0]["loss"]
