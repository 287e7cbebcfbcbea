import json

import numpy as np
import pytest
import sympy
import torch

from kinn.symbolic import fit_arrays, fit_data, fit_model, write_report
from kinn.symbolic.io import load_table


def test_fit_and_regress_from_a_csv_writes_text_latex_json_and_edge_plots(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.uniform(1, 5, (400, 2))
    table = np.column_stack([X, X[:, 0] * X[:, 1]])
    table[3, 0] = table[7, 2] = table[9, 2] = np.nan  # an empty field and two "nan"s
    path = tmp_path / "data.csv"
    np.savetxt(path, table, delimiter=",", header="a,b,force", comments="")
    path.write_text(path.read_text().replace("nan,", ",", 1))
    report = fit_data(path, "force", steps=100, hidden=3, always_read_network=True)
    write_report(report, tmp_path / "out")
    a, b = report.inputs
    assert sympy.simplify(report.formula - a * b) == 0
    for key in ("data_inside", "data_outside", "network_inside"):
        assert report.scores[key] > 0.999, key
    assert report.scores["network_outside"] > 0.98  # splines extrapolate less well
    dropped = {"count": 3, "of": 400, "reason": "missing or non-finite value",
               "columns": {"a": 1, "force": 2}}  # fmt: skip
    assert report.dropped_rows == dropped
    saved = json.loads((tmp_path / "out" / "report.json").read_text())
    assert saved["formula"] == "a*b" and saved["scores"]["data_inside"] > 0.999
    assert saved["dropped_rows"] == dropped
    assert {c["source"] for c in saved["candidates"]} == {"separable", "network"}
    assert (tmp_path / "out" / "formula.tex").read_text().startswith("\\[ force =")
    assert "force = a*b" in (tmp_path / "out" / "formula.txt").read_text()
    assert len(list((tmp_path / "out" / "edges").glob("*.png"))) >= 2
    pred = report.callable()(X[:5])
    assert np.allclose(pred, X[:5, 0] * X[:5, 1])


def test_formula_of_a_solution_field_is_recovered():
    # a trained PDE solution is any model of x: (N, 2) -> (N, 1); here the exact one of
    # -Laplace u = 2 pi^2 sin(pi x) sin(pi y) on the unit square
    def field(x: torch.Tensor) -> torch.Tensor:
        return (torch.sin(torch.pi * x[:, 0]) * torch.sin(torch.pi * x[:, 1]))[:, None]

    report = fit_model(field, [(0, 1), (0, 1)], names=["x", "y"], n_points=1000, steps=200)
    x, y = report.inputs
    assert sympy.simplify(report.formula - sympy.sin(sympy.pi * x) * sympy.sin(sympy.pi * y)) == 0


def test_bad_data_raise_value_errors(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, x=np.arange(30.0), y=np.arange(30.0))
    with pytest.raises(ValueError, match="target 'z'"):
        fit_data(path, "z")
    with pytest.raises(ValueError, match="columns"):
        fit_data(path, "y", columns=["q"])
    other = tmp_path / "d.txt"
    other.write_text("x,y\n1,2\n")
    with pytest.raises(ValueError, match=".csv or .npz"):
        fit_data(other, "y")
    with pytest.raises(ValueError, match="inner"):
        fit_arrays(np.zeros((30, 1)), np.zeros(30), inner=0.0)


def test_a_text_column_is_named_with_its_first_bad_value(tmp_path):
    path = tmp_path / "d.csv"
    rows = [f"{i},{i % 3},{'low' if i % 2 else 'high'},{2 * i}" for i in range(30)]
    path.write_text("a,b,label,y\n" + "\n".join(rows) + "\n")
    table = load_table(path)
    assert table["a"].dtype == np.float64 and table["label"][:2].tolist() == ["high", "low"]
    with pytest.raises(ValueError, match="column 'label' of d.csv must hold numbers, got 'high' "
                       "in data row 1"):  # fmt: skip
        fit_data(path, "y")


def test_too_few_complete_rows_say_how_many_were_dropped_and_where(tmp_path):
    path = tmp_path / "d.npz"
    x = np.arange(30.0)
    np.savez(path, x=x, z=np.where(x < 25, np.nan, x), y=np.where(x == 0, np.inf, x))
    with pytest.raises(ValueError, match=r"got 5 of 30 \(rows with a missing or non-finite "
                       r"value: z: 25, y: 1\)"):  # fmt: skip
        fit_data(path, "y")
