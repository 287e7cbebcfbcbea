"""The KAN diagram: every edge's learned function drawn on its edge, faded by importance."""

from __future__ import annotations

import numpy as np
import torch

from ._figure import new_figure

__all__ = ["plot_kan"]

MAX_DRAWN_EDGES = 400  # beyond this the small edge plots are too small to read: lines only


def plot_kan(
    model,
    x: torch.Tensor | None = None,
    inputs: list[str] | None = None,
    outputs: list[str] | None = None,
    n: int = 100,
    title: str | None = None,
):
    """A KAN as a diagram: nodes in rows (inputs at the bottom), and on every unmasked edge a
    small plot of its learned function over the range its input reaches; line and plot
    opacity follow the edge's importance (:func:`kinn.symbolic.edge_scores`, 1 for the
    strongest edge of its layer). Edges locked to a symbolic function (a
    :class:`kinn.symbolic.SymbolicKAN`) show that function dashed and its name.

    ``model``: a KAN, a :class:`~kinn.symbolic.SymbolicKAN`, a
    :class:`~kinn.symbolic.SymbolicReport` (its network and standardised inputs), or a
    :class:`kinn.train.Result` whose network is a KAN (points sampled in its geometry).
    ``x (N, d)``: the network's inputs that set ranges and importance (default: from the
    report or result, else 256 points across the first layer's domain). Returns the figure.
    """
    from kinn.symbolic import SymbolicKAN, edge_scores

    sym, x, inputs, outputs, run = _network_and_inputs(model, x, inputs, outputs)
    sym = sym if isinstance(sym, SymbolicKAN) else SymbolicKAN(sym)
    layers = list(sym.kan.layers)  # type: ignore[arg-type]  # a ModuleList
    dtype = next(layers[0].parameters()).dtype
    x = x.to(dtype)
    widths = [layers[0].in_features] + [layer.out_features for layer in layers]
    with torch.no_grad():
        scores = [s.double().cpu().numpy() for s in edge_scores(sym, x)]
        hs, h = [], x
        for index in range(len(layers)):
            hs.append(h)
            h = sym.layer_forward(index, h)
    # Figure layout: layer l's nodes on the line y = l, its edge plots in a row at y = l + 1/2.
    most = max(w_in * w_out for w_in, w_out in zip(widths, widths[1:]))
    width = float(np.clip(0.55 * most, 6.5, 16.0))
    fig = new_figure(width, 2.3 * len(layers) + 0.8)
    fig.set_layout_engine("none")
    ax = fig.add_axes((0.02, 0.02, 0.96, 0.9))
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.25, len(layers) + 0.25)
    ax.axis("off")
    node_x = [_spread(w, 0.12, 0.88) for w in widths]
    total_edges = sum(int((layer.edge_mask > 0).sum()) for layer in layers)
    draw_plots = total_edges <= MAX_DRAWN_EDGES
    for index, layer in enumerate(layers):
        mask = layer.edge_mask.detach().cpu().numpy() > 0
        locked = sym.locked(index)
        edges = [(i, o) for i in range(widths[index]) for o in range(widths[index + 1])]
        box = min(0.9 / max(len(edges), 1), 0.11)
        slot_x = _spread(len(edges), box / 2 + 0.01, 1 - box / 2 - 0.01)
        h_in = hs[index]
        lo, hi = h_in.amin(0), h_in.amax(0)
        t = torch.linspace(0, 1, n, dtype=torch.float64)[:, None]
        grid = (lo.double() + (hi - lo).double() * t).to(dtype)  # (n, in)
        with torch.no_grad():
            values = layer.edge_values(grid).double().cpu().numpy()  # (n, in, out)
        for slot, (i, o) in enumerate(edges):
            if not mask[i, o]:
                continue
            alpha = float(np.clip(scores[index][i, o], 0.06, 1.0))
            sx, sy = slot_x[slot], index + 0.5
            color = "C3" if (i, o) in locked else "k"
            ax.plot([node_x[index][i], sx], [index, sy - 0.17], color=color, alpha=alpha, lw=1)
            ax.plot([sx, node_x[index + 1][o]], [sy + 0.17, index + 1], color=color, alpha=alpha)
            if not draw_plots:
                continue
            inset = _inset(fig, ax, sx, sy, box)
            gx = grid[:, i].double().cpu().numpy()
            inset.plot(gx, values[:, i, o], color="C0", lw=1.4, alpha=alpha)
            if (i, o) in locked:
                edge = locked[(i, o)]
                with torch.no_grad():
                    s = edge(grid[:, i].double()).cpu().numpy()
                inset.plot(gx, s, "--", color="C3", lw=1.1, alpha=max(alpha, 0.5))
                inset.text(0.04, 0.96, edge.candidate.name, transform=inset.transAxes,
                           ha="left", va="top", fontsize=7, color="C3")  # fmt: skip
            inset.patch.set_alpha(0.0)
            for spine in inset.spines.values():
                spine.set_alpha(alpha)
    for row, xs in enumerate(node_x):
        ax.scatter(xs, [row] * len(xs), s=110, color="w", edgecolor="k", zorder=3)
    for k, label in enumerate(inputs or []):
        ax.annotate(label, (node_x[0][k], 0), xytext=(0, -14), textcoords="offset points",
                    ha="center", va="top", fontsize=10)  # fmt: skip
    for k, label in enumerate(outputs or []):
        ax.annotate(label, (node_x[-1][k], len(layers)), xytext=(0, 12),
                    textcoords="offset points", ha="center", va="bottom", fontsize=10)  # fmt: skip
    shape = " x ".join(str(w) for w in widths)
    note = "" if draw_plots else f"; {total_edges} edges: lines only"
    head = title or (f"KAN {shape}  [{run}]" if run else f"KAN {shape}")
    fig.suptitle(
        f"{head}\nopacity = importance (1: strongest edge of its layer){note}", fontsize=11
    )
    return fig


def _network_and_inputs(model, x, inputs, outputs):
    """(network, x, input names, output names, run label) from what the caller passed."""
    from kinn.symbolic import SymbolicReport

    run = ""
    if isinstance(model, SymbolicReport):
        run = f"{model.target} = {model.formula}"
        run = run if len(run) <= 70 else run[:67] + "..."
        x = model.model_inputs if x is None else x
        inputs = inputs or [str(s) for s in model.inputs]
        outputs = outputs or [model.target]
        net = model.model
        if net is None:
            raise ValueError("model must be a SymbolicReport that kept its network, got None")
    elif hasattr(model, "network") and hasattr(model, "history"):  # a kinn.train.Result
        result, net = model, model.network
        run = result.name
        inputs = inputs or list(getattr(result.problem, "inputs", ()) or ()) or None
        outputs = outputs or list(getattr(result.problem, "fields", ()) or ()) or None
        if x is None and result.geometry is not None:
            pts = result.geometry.sample_interior(256, "sobol", seed=0, dtype=torch.float64)
            normalize = getattr(result.model, "normalize", None)
            x = normalize(pts.to(result.model.center)) if normalize is not None else pts
    else:
        net = model
    kan = getattr(net, "kan", net)
    layers = getattr(kan, "layers", None)
    if layers is None or not all(hasattr(layer, "edge_values") for layer in layers):
        raise ValueError(f"model must be a KAN (layers with edge_values), got {type(kan).__name__}")
    if x is None:
        bounds = layers[0].domain_bounds().detach().double()
        t = torch.linspace(0, 1, 256, dtype=torch.float64)[:, None]
        x = bounds[:, 0] + (bounds[:, 1] - bounds[:, 0]) * t
    x = torch.as_tensor(x).detach().cpu()
    return net, x.to(next(layers[0].parameters()).device), inputs, outputs, run


def _spread(count: int, lo: float, hi: float) -> list[float]:
    if count == 1:
        return [(lo + hi) / 2]
    return list(np.linspace(lo, hi, count))


def _inset(fig, ax, x: float, y: float, size: float):
    """A small axes centred on data point ``(x, y)`` of ``ax``, ``size`` wide (axes fraction)."""
    ylo, yhi = ax.get_ylim()
    box = ax.get_position()
    fx = box.x0 + x * box.width
    fy = box.y0 + (y - ylo) / (yhi - ylo) * box.height
    w = size * box.width
    hgt = min(0.3 / (yhi - ylo) * box.height, w * fig.get_figwidth() / fig.get_figheight())
    inset = fig.add_axes((fx - w / 2, fy - hgt / 2, w, hgt))
    inset.set_xticks([])
    inset.set_yticks([])
    return inset
