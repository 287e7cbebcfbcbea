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
    :class:`kinn.geometry.Mesh` keeps its own cells; any other geometry is a box of ``n``
    nodes per axis over its bounding box cut along the zero level set of the geometry's
    signed distance (a smooth boundary, not voxels). Point data: every field, and
    ``<field>_reference`` and ``<field>_error`` where the problem has an exact solution."""
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
        pad = (hi - lo) / (n - 1)
        lo, hi = lo - pad, hi + pad  # a layer of nodes outside, for the cut below
        box = pv.ImageData(dimensions=(n, n, n), spacing=(hi - lo) / (n - 1), origin=lo)
        nodes = np.asarray(box.points, dtype=np.float64)
        if hasattr(geometry, "distance"):
            d = geometry.distance(nodes)
            box.point_data["_distance"] = np.asarray(d.cpu() if hasattr(d, "cpu") else d)
        else:
            box.point_data["_distance"] = np.where(geometry.inside(nodes), -1.0, 1.0)
        # Cut the box along the zero level set of the signed distance: a smooth boundary.
        grid = box.clip_scalar(scalars="_distance", value=0.0, invert=True)
        grid.point_data.remove("_distance")
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
    (``isosurfaces`` level sets inside the translucent domain, cut open by that plane) or
    ``"surface"``. ``n``: grid nodes per axis (see :func:`grid3d`).

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
        x, y, z = centre
        # Unlit: a slice's colours read against the colour bar.
        plotter.add_mesh(grid.slice_orthogonal(x=x, y=y, z=z), lighting=False, **style)
    elif mode == "clip":
        plotter.add_mesh(grid.clip(normal=normal, origin=centre), **style)
    elif mode == "isosurfaces":
        levels = np.linspace(clim[0], clim[1], isosurfaces + 2)[1:-1]
        # Nested level sets hide each other: cut them open along the clipping plane.
        surface = grid.extract_surface(algorithm="dataset_surface")
        plotter.add_mesh(surface.clip(normal=normal, origin=centre), color="lightgray", opacity=0.2)
        plotter.add_mesh(
            grid.contour(levels, scalars=name).clip(normal=normal, origin=centre), **style
        )
    else:
        plotter.add_mesh(grid.extract_surface(algorithm="dataset_surface"), **style)
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
