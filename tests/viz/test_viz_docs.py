"""docs/viz.md's first example runs as written and its predictions are close to the exact
solution."""

import re
from pathlib import Path

import numpy as np

DOC = (Path(__file__).resolve().parents[2] / "docs" / "viz.md").read_text()


def test_the_result_example_runs_and_predicts_the_exact_solution():
    code = re.findall(r"```python\n(.*?)```", DOC, re.S)[0]
    scope: dict = {}
    exec(compile(code, "docs/viz.md", "exec"), scope)
    result, x = scope["result"], np.asarray(scope["x"])
    u, exact = result.predict(x)["u"], result.exact(x)["u"]
    assert np.abs(u - exact).max() < 0.05
    assert result.evaluate().rel_l2["u"] < 0.05
