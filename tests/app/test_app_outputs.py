"""The sweep table (fields.vtu and plots: tests/io, tests/viz)."""

import json

from kinn.app.sweep import collect, format_table, write_csv


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
