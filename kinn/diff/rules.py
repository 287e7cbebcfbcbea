"""How Taylor rows pass through modules: the jet protocol, and rules for torch's modules.

A module takes part in :func:`kinn.diff.jet` by one method::

    def jet_rows(self, J: Tensor, layout: RowLayout) -> Tensor:
        '''Stacked rows J (R, N, c) of this module's input -> (R, N, o) of its output.'''

``layout`` (:class:`kinn.nn.taylor.RowLayout`) says which rows J holds (value, gradient,
Hessian pairs) and has the chain rule for elementwise functions (``layout.pointwise``) and
linear maps (``layout.linear``). kinn's KAN, MLP and KAN layers implement it. Torch's own
modules (``nn.Linear``, ``nn.Sequential``, activation modules) get their rows from rules
registered here with :func:`register_jet_rule`. Any other module is unsupported: with
``derivatives="auto"`` its rows come from nested autograd (:func:`autograd_rows`), with
``"jet"`` the jet raises.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from kinn.nn.activations import activation_derivatives
from kinn.nn.taylor import RowLayout

__all__ = ["autograd_rows", "push_rows", "register_jet_rule", "supports_jet", "unsupported"]

# (module, rows J (R, N, in), layout) -> rows (R, N, out); the module is of the registered type
Rule = Callable[[Any, torch.Tensor, RowLayout], torch.Tensor]
_RULES: dict[type, tuple[Rule, Callable[[nn.Module], bool] | None]] = {}


def register_jet_rule(
    cls: type, rule: Rule, applies: Callable[[nn.Module], bool] | None = None
) -> None:
    """Jets through modules of type ``cls`` (exactly; subclasses may change ``forward``).

    ``rule(module, J, layout) -> rows`` as :meth:`jet_rows` above; ``applies(module)``, when
    given, says whether the rule holds for this instance (e.g. only exact GELU). Modules
    the rule pushes rows through (a container's children) must be its ``children()``.
    """
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise ValueError(f"cls must be a torch.nn.Module subclass, got {cls!r}")
    _RULES[cls] = (rule, applies)


def _rule(module: nn.Module) -> Rule | None:
    """The bound way rows pass through ``module`` itself, or None."""
    method = getattr(module, "jet_rows", None)
    if method is not None:
        return lambda _, J, layout: method(J, layout)
    rule, applies = _RULES.get(type(module), (None, None))
    if rule is None or (applies is not None and not applies(module)):
        return None
    return rule


def unsupported(module: nn.Module) -> nn.Module | None:
    """The first module in ``module`` that jets cannot pass natively, or None."""
    if getattr(module, "jet_rows", None) is not None:
        return None  # it pushes rows through its own children
    if _rule(module) is None:
        return module
    for child in module.children():
        bad = unsupported(child)
        if bad is not None:
            return bad
    return None


def supports_jet(net: nn.Module) -> bool:
    """Whether jets pass through every module of ``net`` natively (no autograd fallback)."""
    return unsupported(net) is None


def push_rows(module: nn.Module, J: torch.Tensor, layout: RowLayout) -> torch.Tensor:
    """Rows ``J (R, N, c)`` through ``module`` -> ``(R, N, o)``; autograd where it has no rule."""
    rule = _rule(module)
    if rule is None:
        return autograd_rows(module, J, layout)
    return rule(module, J, layout)


def autograd_rows(module: nn.Module, J: torch.Tensor, layout: RowLayout) -> torch.Tensor:
    """Rows through any pointwise module ``(N, c) -> (N, o)`` by nested autograd.

    Directional derivatives by the double-vjp trick: ``s = J_f^T w`` for a dummy w, then
    ``d s / d w`` along g_a is ``J_f g_a``; once more for ``f''[g_a, g_b]``. The graph is
    kept, so the rows back-propagate to the parameters. Slower than a rule (one backward per
    row), exact for any differentiable module.
    """
    v, g, H = layout.split(J)
    with torch.enable_grad():
        vin = v if v.requires_grad else v.detach().requires_grad_()
        y = module(vin)
        if layout.order == 0:
            return y.unsqueeze(0)
        w = torch.zeros_like(y, requires_grad=True)
        s = _grad(y, vin, w)  # J_f^T w: (N, c)
        first = [_grad(s, w, g[a]) for a in range(layout.d)]  # J_f g_a: (N, o)
        rows = [y, *first]
        for p, (a, b) in enumerate(zip(layout.pa, layout.pb)):
            w2 = torch.zeros_like(y, requires_grad=True)
            curvature = _grad(_grad(first[a], vin, w2), w2, g[b])  # f''[g_a, g_b]
            rows.append(curvature + _grad(s, w, H[p]))
    return torch.stack(rows)


def _grad(out: torch.Tensor, wrt: torch.Tensor, direction: torch.Tensor) -> torch.Tensor:
    """``(d out / d wrt)^T direction``, kept differentiable; zeros where out ignores wrt."""
    if not out.requires_grad:
        return torch.zeros_like(wrt)
    (g,) = torch.autograd.grad(out, wrt, direction, create_graph=True, allow_unused=True)
    return torch.zeros_like(wrt) if g is None else g


# ---- rules for torch's modules ---------------------------------------------------------------


def _linear(module: nn.Linear, J, layout: RowLayout):
    return layout.linear(J, module.weight, module.bias)


def _sequential(module: nn.Sequential, J, layout: RowLayout):
    for child in module:
        J = push_rows(child, J, layout)
    return J


def _activation(name: str) -> Rule:
    return lambda module, J, layout: layout.pointwise(
        J, lambda v, order: activation_derivatives(name, v, order)
    )


register_jet_rule(nn.Linear, _linear)
register_jet_rule(nn.Sequential, _sequential)
register_jet_rule(nn.Identity, lambda module, J, layout: J)
register_jet_rule(nn.Tanh, _activation("tanh"))
register_jet_rule(nn.SiLU, _activation("silu"))
register_jet_rule(nn.Sigmoid, _activation("sigmoid"))
register_jet_rule(nn.GELU, _activation("gelu"), lambda m: bool(m.approximate == "none"))
register_jet_rule(
    nn.Softplus, _activation("softplus"), lambda m: bool(m.beta == 1 and m.threshold == 20)
)
