"""Fields of a result: the model beside its reference and the pointwise error, and space-time
solutions as an image with slices."""

from __future__ import annotations

import numpy as np
from matplotlib.ticker import MaxNLocator

from ._figure import (
    new_figure,
    symmetric_limit,
    triangulation,
    value_range,
)

__all__ = ["field_figure", "plot_field", "plot_spacetime"]


def plot_field(result, field: str | None = None, evaluation=None, levels: int = 41):
    """The field ``field`` (default: the first field) of a :class:`kinn.train.Result` on
    its evaluation set: model | reference | error (model - reference), the first two on one
    colour scale, the error on a symmetric one. Without a reference: the model alone.

    2-D: filled contours on the evaluation set's cells, or on a Delaunay triangulation masked
    to the geometry (holes stay empty). 1-D: curves. 3-D: points coloured by value, seen
    from above (see :func:`kinn.viz.show3d` for slices and isosurfaces). Titled with the
    field, its relative L2 error and the run. ``evaluation``: ``result.evaluate()`` when
    already computed. Returns the figure.
    """
    ev = evaluation if evaluation is not None else result.evaluate()
    name = _field_name(result, field, ev.fields)
    ref = ev.reference.get(name)
    inputs = tuple(getattr(result.problem, "inputs", ()) or ())
    return field_figure(
        ev.points,
        ev.fields[name],
        name,
        reference=ref,
        cells=ev.cells,
        geometry=result.geometry,
        inputs=inputs,
        run=result.name,
        levels=levels,
    )


def field_figure(
    points: np.ndarray,
    values: np.ndarray,
    name: str,
    reference: np.ndarray | None = None,
    cells: list | None = None,
    geometry=None,
    inputs: tuple[str, ...] = (),
    run: str = "",
    levels: int = 41,
):
    """:func:`plot_field` on arrays: ``points (n, d)``, ``values (n,)``, ``reference (n,)``;
    ``cells`` meshio-style (without them in 2-D: Delaunay triangles kept inside
    ``geometry``); ``inputs`` the axis names. Returns the figure."""
    points = np.asarray(points, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    d = points.shape[1]
    names = tuple(inputs) if len(inputs) == d else ("x", "y", "z", "t")[:d]
    panels = [(values, f"{name} (model)")]
    title = name
    if reference is not None:
        reference = np.asarray(reference, dtype=np.float64).reshape(-1)
        error = values - reference
        norm = np.linalg.norm(reference)
        rel = np.linalg.norm(error) / norm if norm > 0 else np.linalg.norm(error)
        panels += [(reference, f"{name} (reference)"), (error, f"error {name} (model - ref.)")]
        title = f"{name}: relative L2 error {rel:.3e}"
    if run:
        title += f"  [{run}]"
    if d == 1:
        fig = new_figure(4.2 * len(panels), 3.4)
        axes = fig.subplots(1, len(panels), squeeze=False)[0]
        order: np.ndarray | slice = np.argsort(points[:, 0])
        lim = value_range(*(v for v, _ in panels[:2]))
        for k, (ax, (v, label)) in enumerate(zip(axes, panels)):
            ax.plot(points[order, 0], v[order], lw=1.6, color="C3" if k == 2 else "C0")
            ax.set_title(label)
            ax.set_xlabel(names[0])
            ax.set_ylabel(label.split(" (")[0] if k < 2 else f"error {name}")
            ax.grid(alpha=0.3)
            if k < 2:
                pad = 0.05 * (lim[1] - lim[0])
                ax.set_ylim(lim[0] - pad, lim[1] + pad)
        fig.suptitle(title)
        return fig
    height = 3.9 if d == 2 else 3.7
    ratio = 1.0
    if d >= 2:
        span = np.ptp(points[:, :2], axis=0)
        ratio = float(np.clip(span[1] / span[0], 0.35, 2.5)) if span[0] > 0 else 1.0
    fig = new_figure(max(3.2, 3.6 / ratio) * len(panels) + 0.8, height)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    lo, hi = value_range(*(v for v, _ in panels[:2]))
    tri = triangulation(points, cells, geometry) if d == 2 else None
    for k, (ax, (v, label)) in enumerate(zip(axes, panels)):
        if k == 2:
            emax = symmetric_limit(v)
            vmin, vmax, cmap = -emax, emax, "RdBu_r"
        else:
            vmin, vmax, cmap = lo, hi, "viridis"
        if tri is not None:
            # The scales cover every value: clipping only removes rounding at the ends.
            shown = np.clip(v, vmin, vmax)
            art = ax.tricontourf(tri, shown, levels=np.linspace(vmin, vmax, levels), cmap=cmap)
        else:
            order = np.argsort(points[:, 2]) if d >= 3 else slice(None)
            art = ax.scatter(
                points[order, 0], points[order, 1], c=v[order], s=6, cmap=cmap, vmin=vmin, vmax=vmax
            )
        bar = fig.colorbar(art, ax=ax, shrink=0.9, ticks=MaxNLocator(7))
        bar.set_label(label.split(" (")[0])
        ax.set_title(label)
        ax.set_aspect("equal")
        ax.set_xlabel(names[0])
        ax.set_ylabel(names[1])
    fig.suptitle(title)
    return fig


def plot_spacetime(result, field: str | None = None, times=None, n: int = 201):
    """A solution ``u(x, t)`` of a 1-D space-time problem (inputs ``(x, t)``, time last): an
    image over the space-time rectangle (with the error beside it when the problem has an
    exact solution), and the model at chosen ``times`` (default: 4 instants) with the exact
    solution dashed. ``n``: grid points per axis. Returns the figure."""
    geometry = result.geometry
    if getattr(geometry, "timedomain", None) is None or geometry.dim != 2:
        raise ValueError(
            "result must be a 1-D problem in space and time (Interval * TimeDomain), got a "
            f"{type(geometry).__name__} of dim {getattr(geometry, 'dim', None)}"
        )
    lo, hi = (np.asarray(b, dtype=np.float64).reshape(-1) for b in geometry.bbox)
    names = tuple(getattr(result.problem, "inputs", ()) or ("x", "t"))
    xs, ts = np.linspace(lo[0], hi[0], n), np.linspace(lo[1], hi[1], n)
    grid = np.stack(np.meshgrid(xs, ts, indexing="xy"), -1).reshape(-1, 2)
    pred = result.predict(grid)
    name = _field_name(result, field, pred)
    u = pred[name].reshape(n, n)  # rows: time, columns: space
    exact = _exact_values(result, grid, name)
    times = np.linspace(lo[1], hi[1], 4) if times is None else np.asarray(times, float)
    panels = 2 + (exact is not None)
    fig = new_figure(4.6 * panels, 3.8)
    axes = fig.subplots(1, panels)
    extent = (lo[0], hi[0], lo[1], hi[1])
    image = axes[0].imshow(u, origin="lower", extent=extent, aspect="auto", cmap="viridis")
    fig.colorbar(image, ax=axes[0]).set_label(name)
    axes[0].set_title(f"{name}({names[0]}, {names[1]}) (model)")
    for t in times:
        axes[0].axhline(t, color="w", lw=0.8, ls=":")
    title = name
    if exact is not None:
        err = u - exact.reshape(n, n)
        emax = symmetric_limit(err)
        image = axes[1].imshow(
            err, origin="lower", extent=extent, aspect="auto", cmap="RdBu_r", vmin=-emax, vmax=emax
        )
        fig.colorbar(image, ax=axes[1]).set_label(f"error {name}")
        axes[1].set_title(f"error {name} (model - exact)")
        rel = np.linalg.norm(err) / max(np.linalg.norm(exact), 1e-300)
        title = f"{name}: relative L2 error {rel:.3e}"
    for ax in axes[: panels - 1]:
        ax.set_xlabel(names[0])
        ax.set_ylabel(names[1])
    ax = axes[-1]
    for k, t in enumerate(times):
        xt = np.stack([xs, np.full_like(xs, t)], 1)
        ax.plot(xs, result.predict(xt)[name], color=f"C{k}", label=f"{names[1]} = {t:.3g}")
        if exact is not None:
            ax.plot(xs, _exact_values(result, xt, name), "k--", lw=0.9)
    ax.set_xlabel(names[0])
    ax.set_ylabel(name)
    ax.set_title(f"{name} at chosen times" + (" (exact dashed)" if exact is not None else ""))
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.suptitle(f"{title}  [{result.name}]" if result.name else title)
    return fig


def _field_name(result, field: str | None, available) -> str:
    names = list(available)
    if field is None:
        if not names:
            raise ValueError("result has no fields to plot")
        return names[0]
    if field not in available:
        raise ValueError(f"field must be one of {names}, got {field!r}")
    return field


def _exact_values(result, x: np.ndarray, name: str) -> np.ndarray | None:
    return result.exact(x).get(name)
