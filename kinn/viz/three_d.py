"""3-D fields with pyvista: slices, clipping and isosurfaces, offscreen when there is no display.

pyvista is optional (``pip install kinn[viz]``); it is imported when a function here runs.
"""

from __future__ import annotations

import os

import numpy as np

from ._figure import new_figure

__all__ = ["MODES", "grid3d", "show3d"]

MODES = ("slices", "clip", "isosurfaces", "surface")


def _pyvista():
    try:
        import pyvista
    except ImportError as err:
        raise ImportError(
            "kinn.viz.show3d needs pyvista: pip install 'kinn[viz]' (or pip install pyvista)"
        ) from err
    return pyvista


def grid3d(result, n: int = 40):
    """The result's fields on its 3-D domain as a pyvista ``UnstructuredGrid``: a
    :class:`kinn.geometry.Mesh` keeps its own cells; any other geometry is covered by an
    ``n``-per-axis box of hexahedra over its bounding box, keeping the cells whose corners
    are all inside. Point data: every field, and ``<field>_reference`` and ``<field>_error``
    where the problem has an exact solution."""
    pv = _pyvista()
    geometry = result.geometry
    if geometry is None or getattr(geometry, "dim", None) != 3:
        raise ValueError(
            f"result must have a 3-D geometry, got {type(geometry).__name__} "
            f"of dim {getattr(geometry, 'dim', None)}"
        )
    cells = getattr(geometry, "cells", None)
    if isinstance(cells, dict):
        points = np.asarray(geometry.points, dtype=np.float64)
        blocks = {pv.CellType.TETRA if k == "tetra" else pv.CellType.HEXAHEDRON: np.asarray(c)
                  for k, c in cells.items() if k in ("tetra", "hexahedron")}  # fmt: skip
        grid = pv.UnstructuredGrid(blocks, points)
    else:
        lo, hi = (np.asarray(b, dtype=np.float64) for b in geometry.bbox)
        box = pv.ImageData(dimensions=(n, n, n), spacing=(hi - lo) / (n - 1), origin=lo)
        inside = np.asarray(geometry.inside(np.asarray(box.points, dtype=np.float64)), bool)
        box.point_data["_inside"] = inside.astype(np.float64)
        grid = box.threshold(0.999, scalars="_inside", all_scalars=True)
        grid.point_data.remove("_inside")
        points = np.asarray(grid.points, dtype=np.float64)
    values = result.predict(points)
    for name, v in values.items():
        grid.point_data[name] = v
    for name, ref in result.exact(points).items():
        grid.point_data[f"{name}_reference"] = ref
        grid.point_data[f"{name}_error"] = values[name] - ref
    return grid


def show3d(
    result,
    field: str | None = None,
    mode: str = "slices",
    *,
    n: int = 40,
    normal: str | tuple = "x",
    isosurfaces: int = 6,
    window_size: tuple[int, int] = (900, 700),
    cmap: str = "viridis",
    interactive: bool = False,
    title: str | None = None,
):
    """Render ``field`` (a field, derived field, ``<field>_error`` or ``<field>_reference``;
    default the first field) of a 3-D :class:`kinn.train.Result` with pyvista.

    ``mode``: ``"slices"`` (three orthogonal slices through the centre), ``"clip"`` (the
    domain cut by the plane through the centre with normal ``normal``), ``"isosurfaces"``
    (``isosurfaces`` level sets inside the translucent domain) or ``"surface"``.

    Returns a matplotlib figure holding the rendered image, a title and the field's
    colour bar: rendering is offscreen, so it works without a display, saves with
    ``fig.savefig`` and shows as a static image in a notebook. ``interactive=True`` (with a
    display) opens a pyvista window instead and returns the ``pyvista.Plotter``.
    """
    pv = _pyvista()
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    grid = grid3d(result, n)
    names = list(grid.point_data.keys())
    name = names[0] if field is None else field
    if name not in grid.point_data:
        raise ValueError(f"field must be one of {names}, got {field!r}")
    values = np.asarray(grid.point_data[name])
    error = name.endswith("_error")
    if error:
        emax = float(np.abs(values).max()) or 1.0
        clim, cmap = (-emax, emax), "RdBu_r"
    else:
        clim = (float(values.min()), float(values.max()))
        clim = clim if clim[1] > clim[0] else (clim[0] - 1e-12, clim[1] + 1e-12)
    off_screen = not interactive or not _has_display()
    plotter = pv.Plotter(off_screen=off_screen, window_size=list(window_size))
    style = {"scalars": name, "cmap": cmap, "clim": clim, "show_scalar_bar": False}
    plotter.add_mesh(grid.outline(), color="black", line_width=1.5)
    centre = grid.center
    if mode == "slices":
        plotter.add_mesh(grid.slice_orthogonal(*centre), **style)
    elif mode == "clip":
        plotter.add_mesh(grid.clip(normal=normal, origin=centre), **style)
    elif mode == "isosurfaces":
        levels = np.linspace(clim[0], clim[1], isosurfaces + 2)[1:-1]
        plotter.add_mesh(grid.extract_surface(), color="lightgray", opacity=0.15)
        plotter.add_mesh(grid.contour(levels, scalars=name), **style)
    else:
        plotter.add_mesh(grid.extract_surface(), **style)
    plotter.show_axes()
    plotter.camera_position = "iso"
    plotter.camera.zoom(1.1)
    heading = title or f"{name} ({mode})" + (f"  [{result.name}]" if result.name else "")
    if not off_screen:
        plotter.add_scalar_bar(title=name)
        plotter.add_text(heading, font_size=10)
        plotter.show()
        return plotter
    image = plotter.screenshot(return_img=True)
    plotter.close()
    return _image_figure(image, name, clim, cmap, heading)


def _has_display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) or (os.name == "nt")


def _image_figure(image: np.ndarray, name: str, clim, cmap: str, title: str):
    """A matplotlib figure of a rendered image with the colour bar of ``name``."""
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    height, width = image.shape[:2]
    fig = new_figure(7.0, 7.0 * height / width * 0.92 + 0.4)
    ax = fig.add_subplot()
    ax.imshow(image)
    ax.set_axis_off()
    bar = fig.colorbar(ScalarMappable(Normalize(*clim), cmap), ax=ax, shrink=0.8)
    bar.set_label(name)
    ax.set_title(title)
    return fig
