"""benchmarks.kinn_table: a quick row runs end to end through the app, and a row whose
experiment config is absent becomes an error row naming it."""

import json

import pytest

from benchmarks import kinn_table
from benchmarks.kinn_table import ROW, Row, main


def test_quick_row_runs_and_writes_json_and_markdown(tmp_path, capsys):
    out = tmp_path / "table"
    assert (
        main(["--quick", "--rows", "kinn_koch_energy", "--models", "kan", "--out", str(out)]) == 0
    )
    record = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert record["status"] == "ok", record
    assert record["steps"] == kinn_table.QUICK_STEPS and record["parameters"] > 0
    assert 0 < record["rel_l2"]["u"] < 1 and record["wall_s"] > 0
    saved = json.loads(out.with_suffix(".json").read_text())
    assert saved["runs"] == [record]
    table = out.with_suffix(".md").read_text()
    assert "| Koch snowflake | energy | kan |" in table and "u 1.56e-02" in table


def test_a_missing_experiment_is_an_error_row(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(ROW, "kinn_absent", Row("kinn_absent", "nothing", "strong", {}, {}, "-"))
    assert main(["--rows", "kinn_absent", "--out", str(tmp_path / "t")]) == 0
    record = json.loads(capsys.readouterr().out.strip())
    assert record["status"].startswith("error: missing config")
    assert "conf/experiment/kinn_absent.yaml" in record["status"]
    assert "kinn_absent.yaml" in (tmp_path / "t.md").read_text()


def test_the_cpinn_crack_row_runs_deepxde_with_one_output_per_half(tmp_path, capsys):
    pytest.importorskip("deepxde")  # a peer, never a dependency: skipped where absent
    out = tmp_path / "table"
    args = ["--quick", "--rows", "kinn_crack_cpinn", "--models", "deepxde", "--out", str(out)]
    assert main(args) == 0
    record = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert record["status"] == "ok", record
    assert record["parameters"] == 3 * 30 + 3 * 31 * 30 + 31 * 2  # [2, 30 x 4, 2]
    assert 0 < record["rel_l2"]["u"] < 1
