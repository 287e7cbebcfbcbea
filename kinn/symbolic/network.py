"""Symbolic extraction acting on a KAN: sparsity, pruning, fitting every edge, locking.

Nothing here is a method of the network. The functions read a network through the layer
contract of :mod:`kinn.nn` (``edge_values``, ``edge_mask``, ``bias``, ``domain_bounds``) and
:class:`SymbolicKAN` wraps a network with its locked symbolic edges.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable

import numpy as np
import sympy
import torch
from torch import nn

from kinn.train import Objective, Stage, Trainer

from .fit import CandidateFit, EdgeFit, SelectionRule, fit_edge
from .library import Candidate, Library, default_library

__all__ = [
    "SymbolicEdge",
    "SymbolicKAN",
    "assemble_formula",
    "auto_symbolic",
    "edge_scores",
    "prune",
    "sparsity_penalty",
    "train_affine",
]


def _layers(model: nn.Module):
    kan = model.kan if isinstance(model, SymbolicKAN) else model
    layers = getattr(kan, "layers", None)
    if layers is None or not all(hasattr(layer, "edge_values") for layer in layers):
        raise ValueError(
            f"expected a KAN whose layers have edge_values/edge_mask, got {type(kan).__name__}"
        )
    return list(layers)


def _check_x(x: torch.Tensor, n_in: int) -> None:
    if not isinstance(x, torch.Tensor) or x.ndim != 2 or x.shape[1] != n_in:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"x must be a tensor (N, {n_in}), got {shape}")


def _layer_inputs(model: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """The input of every layer for the batch ``x: (N, d)`` (through symbolic edges if any)."""
    layers = _layers(model)
    _check_x(x, layers[0].in_features)
    sym = model if isinstance(model, SymbolicKAN) else None
    h, out = x, []
    for index, layer in enumerate(layers):
        out.append(h)
        h = sym.layer_forward(index, h) if sym is not None else layer(h)
    return out


def _edge_grids(sym: SymbolicKAN, x: torch.Tensor | None, n: int):
    """Per layer, ``(bounds, grid)``: each input's ``[lo, hi]`` ``(in, 2)`` and ``n`` uniform
    samples across it ``(n, in)``, both float64. The range is the one the batch ``x`` reaches
    at that layer through the plain network when ``x`` is given, else ``domain_bounds()``."""
    with torch.no_grad():
        if x is not None:
            inputs = _layer_inputs(SymbolicKAN(sym.kan), x)
            ranges = [torch.stack([h.amin(0), h.amax(0)], 1) for h in inputs]
        else:
            ranges = [layer.domain_bounds().detach() for layer in _layers(sym)]
    t = torch.linspace(0.0, 1.0, n, dtype=torch.float64)
    out = []
    for bounds in ranges:
        bounds = bounds.double()
        out.append((bounds, (bounds[:, :1] + (bounds[:, 1:] - bounds[:, :1]) * t).T))
    return out


def edge_scores(model: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """Importance of every edge: ``mean |phi_io(x_i)|`` over the batch, one ``(in, out)`` tensor
    per layer, divided by the largest score of its layer (so 1 is the strongest edge)."""
    scores = []
    with torch.no_grad():
        for layer, h in zip(_layers(model), _layer_inputs(model, x)):
            s = layer.edge_values(h).abs().mean(0) * layer.edge_mask
            scores.append(s / s.max().clamp_min(1e-30))
    return scores


def sparsity_penalty(
    model: nn.Module, x: torch.Tensor, l1: float = 1.0, entropy: float = 1.0
) -> torch.Tensor:
    """Differentiable L1 + entropy penalty on the mean edge magnitudes (KAN paper, eq. 2.20).

    Add ``lam * sparsity_penalty(kan, x)`` to a training loss to concentrate each layer on few
    edges before :func:`prune`. Returns a scalar tensor.
    """
    if l1 < 0 or entropy < 0:
        raise ValueError(f"l1 and entropy weights must be >= 0, got l1={l1}, entropy={entropy}")
    layers = _layers(model)
    _check_x(x, layers[0].in_features)
    total = x.new_zeros(())
    h = x
    for layer in layers:
        values = layer.edge_values(h)
        mag = values.abs().mean(0)
        norm = mag.sum()
        p = mag / norm.clamp_min(1e-12)
        total = total + l1 * norm - entropy * (p * torch.log(p + 1e-12)).sum()
        h = values.sum(1) + layer.bias
    return total


def prune(model: nn.Module, x: torch.Tensor, threshold: float = 0.03) -> list[torch.Tensor]:
    """Mask weak edges and dead hidden nodes in place; returns the new masks (one per layer).

    An edge is weak when its :func:`edge_scores` value is below ``threshold``. A hidden node is
    dead when it has no strong incoming or no strong outgoing edge; all its edges are masked.
    Masked edges contribute nothing (``edge_mask`` is set to 0).
    """
    if not 0.0 <= threshold < 1.0:
        raise ValueError(f"threshold must lie in [0, 1), got {threshold!r}")
    layers = _layers(model)
    scores = edge_scores(model, x)
    keep = [(s >= threshold).to(layers[0].edge_mask.dtype) for s in scores]
    for index in range(len(layers) - 1):
        alive = (keep[index].amax(0) > 0) & (keep[index + 1].amax(1) > 0)
        keep[index] = keep[index] * alive[None, :].to(keep[index].dtype)
        keep[index + 1] = keep[index + 1] * alive[:, None].to(keep[index + 1].dtype)
    with torch.no_grad():
        for layer, k in zip(layers, keep):
            layer.edge_mask.mul_(k)
    return [layer.edge_mask.clone() for layer in layers]


class SymbolicEdge(nn.Module):
    """A locked edge ``c * f(a * x + b) + d`` with trainable affine constants a, b, c, d."""

    def __init__(self, fit: CandidateFit):
        super().__init__()
        self.candidate: Candidate = fit.candidate
        self.a = nn.Parameter(torch.tensor(float(fit.a), dtype=torch.float64))
        self.b = nn.Parameter(torch.tensor(float(fit.b), dtype=torch.float64))
        self.c = nn.Parameter(torch.tensor(float(fit.c), dtype=torch.float64))
        self.d = nn.Parameter(torch.tensor(float(fit.d), dtype=torch.float64))
        fixed = {"none": "ab", "a": "b", "shift": "a", "ab": ""}[self.candidate.inner]
        for name in fixed:
            getattr(self, name).requires_grad_(False)
        if self.candidate.name == "0":
            self.c.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x: (N,) -> (N,)`` in the dtype of ``x``."""
        a, b, c, d = (p.to(x.dtype) for p in (self.a, self.b, self.c, self.d))
        return c * self.candidate.torch_fn(a * x + b) + d

    def fit(self) -> CandidateFit:
        """The current constants as a :class:`CandidateFit` (R^2 not re-evaluated: nan)."""
        a, b, c, d = (float(p.detach()) for p in (self.a, self.b, self.c, self.d))
        return CandidateFit(self.candidate, a, b, c, d, float("nan"))

    def sympy(self, x: sympy.Expr) -> sympy.Expr:
        return self.fit().sympy(x)

    def extra_repr(self) -> str:
        a, b, c, d = (float(p.detach()) for p in (self.a, self.b, self.c, self.d))
        return f"{c:.4g} * {self.candidate.name}({a:.4g} x + {b:.4g}) + {d:.4g}"


class SymbolicKAN(nn.Module):
    """A KAN with some edges replaced by locked symbolic functions.

    Layer ``l`` computes ``sum_i (mask_io (1 - L_io) phi_io(x_i) + mask_io L_io s_io(x_i)) +
    bias_o`` where ``L`` marks locked edges and ``s_io`` is the :class:`SymbolicEdge`. The
    wrapped network is used as is; its parameters stay its own.
    """

    def __init__(self, kan: nn.Module):
        super().__init__()
        self.kan = kan
        _layers(self)
        self.edges = nn.ModuleDict()

    @staticmethod
    def _key(layer: int, i: int, o: int) -> str:
        return f"{layer}_{i}_{o}"

    def lock(self, layer: int, i: int, o: int, fit: CandidateFit) -> SymbolicEdge:
        """Replace edge ``(i -> o)`` of ``layer`` by ``fit``; returns the new edge module."""
        layers = _layers(self)
        if not 0 <= layer < len(layers):
            raise ValueError(f"layer must be in [0, {len(layers)}), got {layer}")
        lay = layers[layer]
        if not (0 <= i < lay.in_features and 0 <= o < lay.out_features):
            raise ValueError(
                f"edge ({i}, {o}) outside layer {layer} of shape "
                f"({lay.in_features}, {lay.out_features})"
            )
        edge = SymbolicEdge(fit)
        self.edges[self._key(layer, i, o)] = edge
        return edge

    def unlock(self, layer: int, i: int, o: int) -> None:
        self.edges.pop(self._key(layer, i, o), None)

    def locked(self, layer: int) -> dict[tuple[int, int], SymbolicEdge]:
        out = {}
        for key, edge in self.edges.items():
            lay, i, o = (int(v) for v in key.split("_"))
            if lay == layer:
                out[(i, o)] = edge
        return out

    def is_symbolic(self) -> bool:
        """True when every unmasked edge is locked."""
        for index, layer in enumerate(_layers(self)):
            locked = self.locked(index)
            active = torch.nonzero(layer.edge_mask > 0).tolist()
            if any((i, o) not in locked for i, o in active):
                return False
        return True

    def layer_forward(self, index: int, h: torch.Tensor) -> torch.Tensor:
        """Layer ``index`` on ``h: (N, in) -> (N, out)`` with locked edges substituted."""
        layer = _layers(self)[index]
        locked = self.locked(index)
        values = layer.edge_values(h)
        if locked:
            lock = torch.zeros_like(layer.edge_mask)
            extra = torch.zeros_like(values)
            for (i, o), edge in locked.items():
                lock[i, o] = 1.0
                extra[:, i, o] = edge(h[:, i]) * layer.edge_mask[i, o]
            values = values * (1 - lock) + extra
        return values.sum(1) + layer.bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x: (N, d) -> (N, m)``."""
        h = x
        for index in range(len(_layers(self))):
            h = self.layer_forward(index, h)
        return h

    def formula(self, inputs: list[sympy.Expr] | None = None) -> list[sympy.Expr]:
        """One sympy expression per output; every unmasked edge must be locked."""
        if not self.is_symbolic():
            raise ValueError("formula needs every unmasked edge locked; run auto_symbolic first")
        layers = _layers(self)
        if inputs is None:
            inputs = list(sympy.symbols(f"x_1:{layers[0].in_features + 1}"))
        edges = [
            {io: e.sympy for io, e in self.locked(index).items()} for index in range(len(layers))
        ]
        masks = [layer.edge_mask.detach().cpu().numpy() for layer in layers]
        biases = [layer.bias.detach().cpu().double().numpy() for layer in layers]
        return assemble_formula(edges, masks, biases, inputs)


def assemble_formula(edges, masks, biases, inputs) -> list[sympy.Expr]:
    """Compose per-edge formulas into one sympy expression per network output.

    Args:
        edges: per layer, a dict ``{(i, o): callable expr -> expr}`` (e.g. ``fit.sympy``).
        masks: per layer, an ``(in, out)`` array of 0/1; masked edges are skipped.
        biases: per layer, an ``(out,)`` array.
        inputs: the sympy expressions of the network inputs (``len == in`` of layer 0).
    """
    if not len(edges) == len(masks) == len(biases):
        raise ValueError(
            f"edges, masks and biases need one entry per layer, got "
            f"{len(edges)}, {len(masks)}, {len(biases)}"
        )
    h = list(inputs)
    for index, (layer_edges, mask, bias) in enumerate(zip(edges, masks, biases)):
        mask = np.asarray(mask)
        if mask.shape[0] != len(h):
            raise ValueError(f"layer {index} mask has {mask.shape[0]} inputs, expected {len(h)}")
        out = []
        for o in range(mask.shape[1]):
            total = sympy.Float(float(bias[o])) if float(bias[o]) != 0.0 else sympy.Integer(0)
            for i in range(mask.shape[0]):
                if mask[i, o] == 0:
                    continue
                if (i, o) not in layer_edges:
                    raise ValueError(
                        f"layer {index} edge ({i}, {o}) is unmasked but has no formula"
                    )
                total = total + layer_edges[(i, o)](h[i])
            out.append(total)
        h = out
    return h


def auto_symbolic(
    model: nn.Module,
    x: torch.Tensor | None = None,
    library: Library | None = None,
    rule: SelectionRule | None = None,
    n_samples: int = 1000,
) -> tuple[SymbolicKAN, dict[tuple[int, int, int], EdgeFit]]:
    """Fit and lock every unmasked edge.

    Each edge ``phi_io`` is sampled on ``n_samples`` uniform points of its own input interval:
    the range the batch ``x: (N, d)`` reaches at that layer when ``x`` is given, otherwise the
    layer's ``domain_bounds()``. Nothing depends on earlier forward passes.

    Returns:
        ``(symbolic model, fits)`` with ``fits[(layer, i, o)]`` the :class:`EdgeFit` of each edge.
    """
    if n_samples < 16:
        raise ValueError(f"n_samples must be >= 16, got {n_samples}")
    sym = model if isinstance(model, SymbolicKAN) else SymbolicKAN(model)
    layers = _layers(sym)
    library = library or default_library()
    fits = {}
    for index, (layer, (bounds, grid)) in enumerate(zip(layers, _edge_grids(sym, x, n_samples))):
        param = next(layer.parameters(), None)
        dtype = param.dtype if param is not None else torch.float64
        with torch.no_grad():
            values = layer.edge_values(grid.to(dtype)).double()
        for i, o in torch.nonzero(layer.edge_mask > 0).tolist():
            if not bounds[i, 1] > bounds[i, 0]:
                continue
            fit = fit_edge(grid[:, i], values[:, i, o], library, rule)
            fits[(index, i, o)] = fit
            sym.lock(index, i, o, fit.chosen)
    return sym, fits


def train_affine(
    model: SymbolicKAN, x: torch.Tensor, y: torch.Tensor, steps: int = 50, biases: bool = True
) -> float:
    """Retrain only the affine constants of the locked edges (and the layer biases) by L-BFGS
    (``steps`` iterations) on the mean squared error of ``model(x)`` against ``y: (N, m)``.
    The constants take the network's dtype; they are never left worse than they were (nor
    non-finite). Returns the final MSE."""
    if not isinstance(model, SymbolicKAN):
        raise ValueError(f"train_affine needs a SymbolicKAN, got {type(model).__name__}")
    if not isinstance(y, torch.Tensor) or y.ndim != 2 or y.shape[0] != x.shape[0]:
        raise ValueError(f"y must be a tensor (N, m) with N = {x.shape[0]}")
    params = [p for p in model.edges.parameters() if p.requires_grad]
    if biases:
        params += [layer.bias for layer in _layers(model) if isinstance(layer.bias, nn.Parameter)]

    def mse() -> torch.Tensor:
        return torch.mean((model(x) - y) ** 2)

    if not params:
        with torch.no_grad():
            return float(mse())

    def losses(net: SymbolicKAN) -> dict[str, torch.Tensor]:
        loss = torch.mean((net(x) - y) ** 2)
        if not torch.isfinite(loss):
            # a line-search trial left some candidate's safe domain: a huge loss with no
            # slope sends the search back
            loss = _HUGE_LOSS + sum(0.0 * p.sum() for p in params)
        return {"mse": loss}

    frozen = list(model.kan.parameters())
    saved = [p.requires_grad for p in frozen]
    for p in frozen:
        p.requires_grad_(False)
    for p in params:
        p.requires_grad_(True)  # the trainer trains what requires a gradient
    start = [p.detach().clone() for p in params]
    with torch.no_grad():
        before = float(mse())
    try:
        stage = Stage("lbfgs", 1, 1.0, max_iter=steps, max_eval=2 * steps)
        _train(model, losses, stage, next(model.kan.parameters()).dtype)
    finally:
        for p, s in zip(frozen, saved):
            p.requires_grad_(s)
    with torch.no_grad():
        after = float(mse())
        if not after <= before:  # never leave the constants worse (or non-finite)
            for p, v in zip(params, start):
                p.copy_(v)
            after = before
    return after


# the loss reported for a trial step outside a candidate's domain
_HUGE_LOSS = 1e30
# Adam's learning rate when a network is trained on data (torch's 1e-3 is slow for the small
# networks here; hand-set)
_ADAM_LR = 1e-2


def _fit_network(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, steps: int, sparsity: float = 0.0
) -> None:
    """Train ``model`` on ``x: (N, d)``, ``y: (N, m)``: Adam for ``steps`` steps on the mean
    squared error plus ``sparsity * sparsity_penalty`` (which concentrates each layer on few
    edges before :func:`prune`), then L-BFGS for ``steps`` iterations on the error alone."""

    def misfit(net: nn.Module) -> dict[str, torch.Tensor]:
        return {"mse": torch.mean((net(x) - y) ** 2)}

    def penalised(net: nn.Module) -> dict[str, torch.Tensor]:
        terms = misfit(net)
        if sparsity > 0:
            terms["sparsity"] = sparsity * sparsity_penalty(net, x)
        return terms

    if steps < 1:
        return
    dtype = next(model.parameters()).dtype
    _train(model, penalised, Stage("adam", steps, _ADAM_LR), dtype)
    _train(model, misfit, Stage("lbfgs", 1, 1.0, max_iter=steps), dtype)


def _train(
    model: nn.Module, losses: Callable[[nn.Module], dict], stage: Stage, dtype: torch.dtype
) -> None:
    """One :class:`kinn.train.Trainer` stage, in memory and silent."""
    trainer = Trainer(
        model,
        Objective.from_losses(losses),
        stage,
        dtype=dtype,
        validate_every=None,
        log_every=None,
        checkpoint_every=None,
        progress=False,
    )
    with _global_rng_kept():
        trainer.fit()


@contextlib.contextmanager
def _global_rng_kept():
    """The trainer seeds python's, numpy's and torch's global generators for a reproducible
    run; a library call leaves the caller's random streams where they were."""
    py_state, np_state = random.getstate(), np.random.get_state()
    devices = range(torch.cuda.device_count()) if torch.cuda.is_initialized() else []
    try:
        with torch.random.fork_rng(devices=list(devices)):
            yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
