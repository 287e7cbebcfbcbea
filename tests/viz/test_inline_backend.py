"""Importing and using kinn.viz keeps a notebook's inline backend and pyplot's figures."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(
    """
    import sys
    from pathlib import Path

    import matplotlib

    try:  # what a Jupyter notebook runs; else any backend that is not Agg
        matplotlib.use("module://matplotlib_inline.backend_inline")
        import matplotlib.pyplot as plt
    except (ImportError, ValueError):  # matplotlib-inline is not installed
        matplotlib.use("svg")
        import matplotlib.pyplot as plt
    backend = matplotlib.get_backend()
    plt.figure()  # the user's own open figure

    import numpy as np
    import torch

    import kinn.viz as viz
    from kinn.nn import KAN
    from kinn.problems.poisson2d import poisson2d
    from kinn.train import Result

    out = Path(sys.argv[1])
    problem = poisson2d()
    model = problem.model(KAN([2, 3, 1]).double())
    history = [{"step": s, "stage": 0, "loss": 1.0 / s, "loss_pde": 1.0 / s} for s in (1, 2, 3)]
    history[-1]["rel_l2_u"] = 0.5
    result = Result(model, history, 1 / 3, {}, 0.1, 3, None, problem=problem)
    figures = [
        viz.plot_field(result, "u"),
        viz.plot_history(result),
        viz.plot_kan(result),
        viz.field_figure(np.random.default_rng(0).random((40, 2)), np.ones(40), "v"),
    ]
    for k, fig in enumerate(figures):
        fig.savefig(out / f"{k}.png")
    print(backend, matplotlib.get_backend(), plt.get_fignums(), len(figures))
    """
)


def test_viz_keeps_the_inline_backend_and_pyplot_figures(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        env={**os.environ, "MPLBACKEND": "", "PYTHONPATH": str(ROOT)},
    )
    assert proc.returncode == 0, proc.stderr
    before, after, figures, count = proc.stdout.split(maxsplit=3)
    assert before == "module://matplotlib_inline.backend_inline" or before == "svg"
    assert after == before
    assert figures == "[1]"  # nothing opened in or closed from pyplot
    for k in range(int(count)):
        assert (tmp_path / f"{k}.png").stat().st_size > 5_000
