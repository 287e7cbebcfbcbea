import numpy as np
import pytest
import sympy

from kinn.symbolic import default_library, round_constants, separable_search, snap_constants

x, y, z = sympy.symbols("x y z", real=True)


@pytest.mark.parametrize(
    "truth, box",
    [
        (sympy.sqrt(x**2 + y**2), [(1, 5), (1, 5)]),
        (sympy.exp(sympy.sin(sympy.pi * x) + y**2), [(-1, 1), (-1, 1)]),
        (x * (1 + y * sympy.cos(z)), [(1, 5), (1, 5), (1, 5)]),
    ],
    ids=["hypot", "exp_sum", "product_plus_constant"],
)
def test_separable_search_then_snapping_recovers_the_exact_formula(truth, box):
    syms = [x, y, z][: len(box)]
    f = sympy.lambdify(syms, truth, "numpy")
    lo, hi = np.array(box, float).T
    X = lo + (hi - lo) * np.random.default_rng(0).random((500, len(box)))
    found = separable_search(lambda a: f(*a.T), lo, hi, syms, default_library(), tol=1e-3)
    assert found is not None
    formula, rmse = snap_constants(found, syms, X, f(*X.T))
    assert rmse < 1e-9
    assert sympy.simplify(formula - truth) == 0


def test_snapping_rounds_simple_constants_and_keeps_the_others():
    X = np.linspace(1, 2, 200)[:, None]
    y_data = 0.5 * X[:, 0] ** 2 + 0.7213 * X[:, 0]
    formula, _ = snap_constants(0.49999 * x**2 + 0.72 * x, [x], X, y_data)
    formula = sympy.expand(formula)
    assert formula.coeff(x, 2) == sympy.Rational(1, 2)
    assert abs(float(formula.coeff(x, 1)) - 0.7213) < 1e-9


def test_search_rejects_an_inconsistent_box():
    with pytest.raises(ValueError, match="hi > lo"):
        separable_search(lambda a: a[:, 0], [1.0], [0.0], [x], default_library())


def test_rounding_merges_floats_with_pi_and_keeps_exact_pi():
    expr = round_constants(0.3183098861837907 * sympy.pi * x / y + sympy.sin(sympy.pi * x), 4)
    assert expr == sympy.Float(1.0, 4) * x / y + sympy.sin(sympy.pi * x)


def test_search_reduces_a_pair_of_inputs_to_their_ratio():
    # sin(x / y) separates neither as a sum nor as a product: only the scale invariance
    # x -> lam x, y -> lam y reduces it to one variable
    truth = z * sympy.sin(x / y)
    syms = [x, y, z]
    f = sympy.lambdify(syms, truth, "numpy")
    lo, hi = np.array([(1, 3), (1, 3), (1, 2)], float).T
    X = lo + (hi - lo) * np.random.default_rng(0).random((500, 3))
    found = separable_search(
        lambda a: f(*a.T), lo, hi, syms, default_library(), tol=1e-3, alternatives=True
    )
    assert found
    formula, rmse = snap_constants(found[0], syms, X, f(*X.T))
    assert rmse < 1e-9
    assert formula.has(sympy.sin(x / y))
