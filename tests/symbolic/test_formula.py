import numpy as np
import sympy

from kinn.symbolic import SymbolicReport, fit_edge, r2_score
from kinn.symbolic.formula import numeric

x, y = sympy.symbols("x y", real=True)


def test_a_formula_evaluates_to_one_value_per_row_with_nan_where_undefined():
    X = np.array([[4.0, 1.0], [-4.0, 2.0], [1.0, 0.5]])
    assert numeric(sympy.Float(2.5), [x, y])(X).tolist() == [2.5, 2.5, 2.5]
    got = numeric(sympy.sqrt(x) + y, [x, y])(X)
    assert got[0] == 3.0 and np.isnan(got[1]) and got[2] == 1.5
    complex_valued = numeric(sympy.I * x + y, [x, y])(X)
    assert np.isnan(complex_valued).all()
    a = sympy.Symbol("a")
    assert numeric(a * x, [x, y], [a])(X, [2.0]).tolist() == [8.0, -8.0, 2.0]


def test_a_report_callable_uses_the_same_evaluation():
    report = SymbolicReport(formula=sympy.log(x) * y, inputs=[x, y], target="f", scores={})
    out = report.callable()(np.array([[1.0, 3.0], [-1.0, 3.0]]))
    assert out[0] == 0.0 and np.isnan(out[1])


def test_r2_does_not_depend_on_the_units_of_the_target():
    rng = np.random.default_rng(0)
    t = rng.standard_normal(200)
    pred = t + 0.1 * rng.standard_normal(200)
    assert np.isclose(r2_score(1e-15 * t, 1e-15 * pred), r2_score(t, pred), rtol=1e-12)
    assert r2_score(np.ones(5), np.ones(5)) == 1.0 and r2_score(np.ones(5), np.zeros(5)) == 0.0
    # an edge of tiny amplitude is still a sine, not the constant zero
    u = np.linspace(-1, 1, 500)
    assert fit_edge(u, 1e-14 * np.sin(3 * u)).chosen.name == "sin"
