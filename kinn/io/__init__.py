"""Files for other tools: fields as VTK unstructured grids (``.vtu`` with real cells: lines,
triangles, tetrahedra, or a mesh's own cells) and ``.pvd`` time series ParaView opens.

:func:`write_result` writes a :class:`kinn.train.Result` on its evaluation set (every field,
its reference and its error); :func:`write_time_series` writes slices of a space-time result.
"""

from .vtk import cells_of, space_mesh, write_pvd, write_result, write_time_series, write_vtu

__all__ = [
    "cells_of",
    "space_mesh",
    "write_pvd",
    "write_result",
    "write_time_series",
    "write_vtu",
]
