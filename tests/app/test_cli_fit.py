"""`kinn fit` end to end: a CSV in, the formula and its scores out."""

import json

import numpy as np
import sympy

from kinn.app.cli import main


def test_kinn_fit_recovers_a_product_from_a_csv(capsys, tmp_path):
    rng = np.random.default_rng(0)
    x = rng.uniform(1, 5, (400, 2))
    data = tmp_path / "data.csv"
    np.savetxt(
        data, np.column_stack([x, x[:, 0] * x[:, 1]]), delimiter=",", header="a,b,y", comments=""
    )
    run = tmp_path / "run"
    code = main(["fit", f"data={data}", "target=y", "plots=false", f"hydra.run.dir={run}"])
    assert code == 0, capsys.readouterr().err
    report = json.loads((run / "report.json").read_text())
    a, b = sympy.symbols("a b")
    assert sympy.simplify(sympy.sympify(report["formula"]) - a * b) == 0
    assert (run / "formula.tex").is_file() and (run / "formula.txt").is_file()


def test_kinn_fit_names_a_missing_column(capsys, tmp_path):
    data = tmp_path / "data.csv"
    np.savetxt(data, np.ones((5, 2)), delimiter=",", header="a,y", comments="")
    code = main(["fit", f"data={data}", "target=z", f"hydra.run.dir={tmp_path / 'run'}"])
    err = capsys.readouterr().err
    assert code == 2 and "z" in err and "Traceback" not in err
