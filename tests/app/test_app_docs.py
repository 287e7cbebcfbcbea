"""docs/app.md's own-problem example runs as written."""

import json

from doc_blocks import ROOT, blocks


def block(first_line: str) -> str:
    """The block of docs/app.md whose first line is ``first_line``."""
    (found,) = [b.code for b in blocks(ROOT / "docs" / "app.md") if b.code.startswith(first_line)]
    return found


def test_own_problem_from_the_guide_solves(run_kinn, tmp_path, monkeypatch):
    (tmp_path / "myconf" / "problem").mkdir(parents=True)
    (tmp_path / "myconf" / "problem" / "bar.yaml").write_text(block("# myconf/problem/bar.yaml"))
    (tmp_path / "mybar.py").write_text(block("# mybar.py"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delitem(__import__("sys").modules, "mybar", raising=False)
    run = tmp_path / "run"
    code, out, err = run_kinn(
        "--config-dir",
        "myconf",
        "problem=bar",
        "problem.length=3",
        "model=mlp",
        "model.hidden=[8]",
        "trainer=quick",
        "trainer.stages.0.steps=3",
        f"hydra.run.dir={run}",
    )
    assert code == 0, out + err
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["problem"] == "bar" and "u" in metrics["rel_l2"]
    assert metrics["evaluation_points"] > 0
