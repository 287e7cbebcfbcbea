"""Pictures of results: fields beside their references and errors, space-time solutions,
training histories, sweeps, the KAN diagram (matplotlib) and 3-D fields (pyvista).

Every function returns a matplotlib ``Figure`` made off pyplot: the active backend and
pyplot's figures are left as they were, a notebook shows the figure as a cell's value, and
``fig.savefig(path)`` writes it. See docs/viz.md.
"""

from .fields import field_figure, plot_field, plot_spacetime
from .history import plot_history, plot_sweep
from .kan import plot_kan
from .three_d import grid3d, show3d

__all__ = [
    "field_figure",
    "grid3d",
    "plot_field",
    "plot_history",
    "plot_kan",
    "plot_spacetime",
    "plot_sweep",
    "show3d",
]
