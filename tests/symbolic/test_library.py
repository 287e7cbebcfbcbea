import math

import numpy as np
import pytest
import sympy
import torch

from kinn.symbolic import Candidate, Library, default_library


@pytest.mark.parametrize("cand", list(default_library()), ids=lambda c: c.name)
def test_torch_numpy_and_sympy_forms_agree_on_the_safe_domain_including_negatives(cand):
    lo, hi = cand.domain
    lo, hi = max(lo, -3.0), min(hi, 3.0)
    u = np.linspace(lo, hi, 101)[1:-1]
    sym = sympy.Symbol("u", real=True)
    expr = cand.sympy_fn(sym)
    ref = np.array([complex(expr.subs(sym, float(v)).evalf()) for v in u[::10]])
    assert np.allclose(ref.imag, 0.0, atol=1e-12), "sympy form leaves the reals"
    got_torch = cand.torch_fn(torch.tensor(u[::10], dtype=torch.float64)).numpy()
    got_numpy = cand.numpy_fn(u[::10])
    assert np.allclose(got_torch, ref.real, rtol=1e-10, atol=1e-12)
    assert np.allclose(got_numpy, ref.real, rtol=1e-10, atol=1e-12)


def test_default_library_holds_the_issue_list():
    names = set(default_library().names())
    wanted = {"0", "x", "x^2", "x^3", "1/x", "1/x^2", "sqrt", "exp", "log", "sin", "cos",
              "tan", "tanh", "arcsin", "arctan", "arctanh", "gaussian", "abs"}  # fmt: skip
    assert wanted <= names


def test_users_add_their_own_candidate_and_names_stay_unique():
    lib = default_library()
    lib.add(Candidate("softplus", torch.nn.functional.softplus,
                      lambda u: sympy.log(1 + sympy.exp(u)), 3))  # fmt: skip
    assert "softplus" in lib
    assert np.isclose(lib["softplus"].numpy_fn(np.array([0.0]))[0], math.log(2))
    with pytest.raises(ValueError, match="already"):
        lib.add(Candidate("sin", torch.sin, sympy.sin, 2))
    with pytest.raises(ValueError, match="unknown candidate 'nope'"):
        lib["nope"]


def test_bad_candidates_are_rejected_with_the_bad_value():
    with pytest.raises(ValueError, match="inner"):
        Candidate("f", torch.sin, sympy.sin, 2, inner="xy")
    with pytest.raises(ValueError, match="domain"):
        Candidate("f", torch.sin, sympy.sin, 2, domain=(1.0, 0.0))
    with pytest.raises(ValueError, match="complexity"):
        Candidate("f", torch.sin, sympy.sin, -1)
    with pytest.raises(ValueError, match="Candidate"):
        Library(["sin"])
