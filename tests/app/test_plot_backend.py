"""Plotting never switches a live matplotlib backend (a notebook's inline plots stay on)."""

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
    import numpy as np
    import torch

    from kinn.app.outputs import plot_field
    from kinn.nn import KAN
    from kinn.symbolic import plot_edges

    backend = matplotlib.get_backend()
    plt.figure()  # the user's own open figure
    out = Path(sys.argv[1])
    x = np.random.default_rng(0).random((40, 2))
    plot_field(out / "field.png", "u", x, x[:, 0], x[:, 1])
    written = plot_edges(KAN([1, 2, 1]).double(), out / "edges", torch.rand(30, 1).double())
    print(backend, matplotlib.get_backend(), plt.get_fignums(), len(written))
    """
)


def test_field_and_edge_plots_keep_the_backend_and_pyplot_figures(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    before, after, figures, edges = proc.stdout.split(maxsplit=3)
    assert before.lower() != "agg" and after == before
    assert figures == "[1]"  # nothing opened in or closed from pyplot
    assert int(edges) == 4
    assert (tmp_path / "field.png").stat().st_size > 0
    assert len(list((tmp_path / "edges").glob("layer*_*_*.png"))) == 4
