"""`kinn fit` end to end: a CSV in, the formula and its scores out."""

import json

import numpy as np
import pytest
import sympy

from kinn.app.cli import main
from kinn.app.fit import main_fit


def test_kinn_fit_recovers_a_product_from_a_csv(capsys, tmp_path):
    rng = np.random.default_rng(0)
    x = rng.uniform(1, 5, (400, 2))
    table = np.column_stack([x, x[:, 0] * x[:, 1]])
    table[5, 1] = np.nan
    data = tmp_path / "data.csv"
    np.savetxt(data, table, delimiter=",", header="a,b,y", comments="")
    run = tmp_path / "run"
    code = main(["fit", f"data={data}", "target=y", "plots=false", f"hydra.run.dir={run}"])
    out, err = capsys.readouterr()
    assert code == 0, err
    report = json.loads((run / "report.json").read_text())
    a, b = sympy.symbols("a b")
    assert sympy.simplify(sympy.sympify(report["formula"]) - a * b) == 0
    assert (run / "formula.tex").is_file() and (run / "formula.txt").is_file()
    assert report["dropped_rows"]["count"] == 1 and report["dropped_rows"]["columns"] == {"b": 1}
    assert "dropped 1 of 400 rows with a missing or non-finite value (b: 1)" in out
    assert f"outputs: {run.resolve()}" in out
    assert "formula.txt formula.tex report.json" in out


def test_kinn_fit_names_a_missing_column(capsys, tmp_path):
    data = tmp_path / "data.csv"
    np.savetxt(data, np.ones((5, 2)), delimiter=",", header="a,y", comments="")
    code = main(["fit", f"data={data}", "target=z", f"hydra.run.dir={tmp_path / 'run'}"])
    err = capsys.readouterr().err
    assert code == 2 and "z" in err and "Traceback" not in err


def test_kinn_fit_names_a_text_column_instead_of_counting_zero_samples(capsys, tmp_path):
    data = tmp_path / "data.csv"
    rows = [f"{i},{'red' if i % 2 else 'blue'},{2 * i}" for i in range(40)]
    data.write_text("a,colour,y\n" + "\n".join(rows) + "\n")
    code = main(["fit", f"data={data}", "target=y", f"hydra.run.dir={tmp_path / 'run'}"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "column 'colour' of data.csv must hold numbers, got 'blue' in data row 1" in err
    assert "samples" not in err


def test_main_fit_needs_data_and_target():
    with pytest.raises(ValueError, match="data=FILE"):
        main_fit({"target": "y"})
