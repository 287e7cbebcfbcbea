"""How runs end: finished, failed or interrupted, each visible in metrics.json; failed sweep
jobs do not stop the others; run folders and temporary files are never shared; resuming a
finished run or from a broken checkpoint says what is wrong in one line; bugs keep their
traceback."""

import csv
import json
import threading

import pytest
import torch

from kinn.app import cli
from kinn.train import Trainer
from kinn.train.checkpoint import atomic_save


def toy(toy_conf, *overrides):
    return ("--config-dir", str(toy_conf), "problem=toy1d", "trainer=quick", *overrides)


def status(run):
    return json.loads((run / "metrics.json").read_text())


def test_a_diverging_sweep_job_is_recorded_and_the_others_run(run_kinn, toy_conf, tmp_path):
    sweep = tmp_path / "sweep"
    code, out, err = run_kinn(
        "-m", *toy(toy_conf, "trainer.stages.0.lr=1e-2,1e9,1e-3", f"hydra.sweep.dir={sweep}")
    )
    assert code == 1, out + err
    assert "job 1: Training diverged" in err and "1 job(s) failed: job 1" in err
    rows = list(csv.DictReader(open(sweep / "sweep.csv")))
    assert [r["status"] for r in rows] == ["finished", "failed", "finished"]
    assert rows[1]["error"].startswith("Training diverged at step")
    assert rows[1]["rel_l2_u"] == "" and float(rows[2]["rel_l2_u"]) > 0
    assert "sweep of 3 runs" in out and "failed" in out[out.index("sweep of 3 runs") :]
    assert status(sweep / "1")["status"] == "failed"


def test_a_bug_in_one_sweep_job_keeps_its_traceback_and_the_others_run(
    run_kinn, toy_conf, tmp_path
):
    sweep = tmp_path / "sweep"
    code, out, err = run_kinn(
        "-m", *toy(toy_conf, "+problem.bug_at_step=null,3", f"hydra.sweep.dir={sweep}")
    )
    assert code == 1
    assert "Traceback" in err and "this stands for a library bug" in err
    rows = list(csv.DictReader(open(sweep / "sweep.csv")))
    assert [r["status"] for r in rows] == ["finished", "failed"]
    assert "Traceback" in (sweep / "1" / "error.log").read_text()


def test_a_bug_during_training_is_not_reported_as_a_config_error(run_kinn, toy_conf, tmp_path):
    run = tmp_path / "run"
    code, out, err = run_kinn(*toy(toy_conf, "+problem.bug_at_step=3", f"hydra.run.dir={run}"))
    assert code == 1
    assert "Traceback" in err and "not a config error but a bug" in err
    assert str(run / "error.log") in err
    assert "ValueError: an internal invariant broke" in (run / "error.log").read_text()
    record = status(run)
    assert record["status"] == "failed" and record["error_log"] == str(run / "error.log")


def test_a_weight_naming_no_loss_term_is_still_a_config_error(run_kinn, toy_conf, tmp_path):
    code, _, err = run_kinn(
        *toy(toy_conf, "+trainer.weights.nosuch=2", f"hydra.run.dir={tmp_path}")
    )
    assert code == 2 and err.count("\n") == 1
    assert "trainer.weights: weights key 'nosuch'" in err


def test_finished_failed_and_interrupted_runs_say_so(run_kinn, toy_conf, tmp_path, monkeypatch):
    finished, failed, stopped = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    assert run_kinn(*toy(toy_conf, f"hydra.run.dir={finished}"))[0] == 0
    assert status(finished)["status"] == "finished"

    assert run_kinn(*toy(toy_conf, "problem.dim=3", f"hydra.run.dir={failed}"))[0] == 2
    record = status(failed)
    assert record["status"] == "failed" and "dim=3: expected 1 or 2" in record["error"]
    assert record["problem"] == "toy1d" and record["run_dir"] == str(failed)

    def interrupt(self, resume=None):
        raise KeyboardInterrupt

    monkeypatch.setattr(Trainer, "fit", interrupt)
    code, _, err = run_kinn(*toy(toy_conf, f"hydra.run.dir={stopped}"))
    assert code == 130 and "interrupted; no checkpoint yet" in err
    assert status(stopped)["status"] == "interrupted"


def test_runs_started_in_the_same_second_get_their_own_folders(run_kinn, toy_conf, tmp_path):
    (tmp_path / "taken").mkdir()
    assert cli._claim(str(tmp_path / "taken")) == str(tmp_path / "taken-2")
    assert cli._claim(str(tmp_path / "taken")) == str(tmp_path / "taken-3")
    now = "hydra.run.dir=${kinn.unique:" + str(tmp_path / "outputs") + "/same-second}"
    for _ in range(2):
        code, out, err = run_kinn(*toy(toy_conf, now, "trainer.stages.0.steps=2"))
        assert code == 0, out + err
    runs = sorted(p.name for p in (tmp_path / "outputs").iterdir())
    assert runs == ["same-second", "same-second-2"]
    assert all(status(tmp_path / "outputs" / r)["status"] == "finished" for r in runs)


def test_printing_the_config_creates_no_run_folder(run_kinn, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run_kinn("--cfg", "job")[0] == 0
    assert list(tmp_path.iterdir()) == []


def test_concurrent_writers_of_one_checkpoint_never_share_a_temporary_file(tmp_path):
    path, errors = tmp_path / "best.pt", []

    def write(k):
        try:
            for i in range(20):
                atomic_save({"writer": k, "i": i, "w": torch.full((1000,), float(k))}, path)
        except Exception as err:  # the old fixed `best.pt.tmp` made one writer lose its file
            errors.append(err)

    threads = [threading.Thread(target=write, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert torch.load(path, weights_only=True)["i"] == 19
    assert [p.name for p in tmp_path.iterdir()] == ["best.pt"]


def test_resuming_a_finished_run_says_there_is_nothing_to_do(run_kinn, toy_conf, tmp_path):
    first, again = tmp_path / "first", tmp_path / "again"
    assert run_kinn(*toy(toy_conf, f"hydra.run.dir={first}"))[0] == 0
    code, out, err = run_kinn(
        "--config-dir", str(toy_conf), f"+resume={first}", f"hydra.run.dir={again}"
    )
    assert code == 0, out + err
    assert "nothing to do" in out and "at step 20" in out
    assert "trainer.stages.0.steps=520" in out and "done in" not in out
    assert not again.exists()  # no folder without a run in it

    more = tmp_path / "more"
    code, out, _ = run_kinn(
        "--config-dir",
        str(toy_conf),
        f"+resume={first}",
        "trainer.stages.0.steps=25",
        f"hydra.run.dir={more}",
    )
    assert code == 0 and status(more)["steps"] == 25
    listed = out.split("outputs:", 1)[1].splitlines()[1].split()
    assert listed and all((more / name).exists() for name in listed)


def test_summary_lists_only_files_that_exist(tmp_path, capsys):
    from kinn.app.solve import _print_summary

    (tmp_path / "metrics.json").write_text("{}")
    metrics = {"wall_time_s": 1.0, "steps": 0, "final_loss": 1.0, "rel_l2": {}, "identified": {}}
    _print_summary(metrics, tmp_path)
    out = capsys.readouterr().out
    assert "metrics.json" in out
    for missing in ("history.csv", "fields.vtu", "checkpoints/last.pt", "resume:"):
        assert missing not in out


@pytest.mark.parametrize("damage", ["truncate", "config"])
def test_a_broken_checkpoint_fails_in_one_line_pointing_to_best(
    run_kinn, toy_conf, tmp_path, damage
):
    first = tmp_path / "first"
    assert run_kinn(*toy(toy_conf, f"hydra.run.dir={first}"))[0] == 0
    last = first / "checkpoints" / "last.pt"
    if damage == "truncate":
        data = last.read_bytes()
        last.write_bytes(data[: len(data) // 2])
        resume, named = first, last
    else:
        resume = named = first / "config.yaml"
    code, out, err = run_kinn(
        "--config-dir", str(toy_conf), f"+resume={resume}", f"hydra.run.dir={tmp_path / 'r'}"
    )
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in out + err
    assert f"checkpoint '{named}' cannot be read" in err
    best = first / "checkpoints" / "best.pt"
    assert f"is intact: kinn +resume={best}" in err
    assert status(tmp_path / "r")["status"] == "failed"
