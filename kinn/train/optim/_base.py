"""What kinn's closure optimizers share: one flat float64 view of the parameters, and a
state dict that keeps float64 state in float64 (exact resume of float32 models too)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch


class ClosureOptimizer(torch.optim.Optimizer):
    """Base class: one parameter group, seen as one flat vector of ``n`` float64 numbers.

    Subclasses set ``closure_kind``: ``"loss"`` (``closure()`` zeroes the gradients, computes
    the loss, calls ``backward()`` and returns the loss, as for ``torch.optim.LBFGS``) or
    ``"residuals"`` (``closure()`` returns the residual vector ``(M,)`` whose squared norm is
    the loss, with its graph; no ``backward()``). The trainer reads it to know which closure
    to pass. Their state lives in ``self.state[first parameter]`` and is created on the first
    step, so building an optimizer allocates nothing.
    """

    closure_kind = "loss"
    #: Set by the trainer in distributed runs whose ranks hold shares of the points (a
    #: :class:`kinn.train.distributed.Communicator`). Loss closures need nothing from it:
    #: their closure returns the loss summed over the ranks and leaves the summed gradient.
    #: Residual closures return this rank's rows; the optimizer combines them through it.
    communicator = None

    def __init__(self, params: Iterable[torch.nn.Parameter], defaults: dict[str, Any]):
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError(
                f"{type(self).__name__} param groups must be one group, "
                f"got {len(self.param_groups)}"
            )
        self._params: list[torch.Tensor] = self.param_groups[0]["params"]
        self._numel = sum(p.numel() for p in self._params)

    @property
    def _store(self) -> dict:
        return self.state[self._params[0]]

    def _gather(self) -> torch.Tensor:
        """The parameters as one float64 vector ``(n,)``."""
        return torch.cat([p.detach().reshape(-1).to(torch.float64) for p in self._params])

    @torch.no_grad()
    def _scatter(self, x: torch.Tensor) -> None:
        """Write the float64 vector ``x (n,)`` into the parameters (cast to their dtype)."""
        offset = 0
        for p in self._params:
            n = p.numel()
            p.copy_(x[offset : offset + n].view_as(p))
            offset += n

    def _flat_grad(self) -> torch.Tensor:
        """The gradients as one float64 vector ``(n,)``; zeros for parameters without one."""
        parts = []
        for p in self._params:
            g = p.grad
            if g is None:
                parts.append(torch.zeros(p.numel(), dtype=torch.float64, device=p.device))
            else:
                parts.append(g.detach().reshape(-1).to(torch.float64))
        return torch.cat(parts)

    def state_dict(self) -> dict:
        """``{"state": ..., "param_groups": [hyperparameters]}``; tensors are copies, and
        float64 state stays float64 whatever the parameters' dtype."""
        group = {k: v for k, v in self.param_groups[0].items() if k != "params"}
        return {"state": _copy(self._store), "param_groups": [group]}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore what :meth:`state_dict` returned (hyperparameters such as ``lr`` too)."""
        groups = state_dict.get("param_groups") if isinstance(state_dict, dict) else None
        if not isinstance(groups, list) or len(groups) != 1 or "state" not in state_dict:
            raise ValueError(
                f"state_dict must be a {type(self).__name__} state dict with one param group, "
                f"got keys {sorted(state_dict) if isinstance(state_dict, dict) else state_dict!r}"
            )
        state = state_dict["state"]
        if state and "numel" not in state:
            raise ValueError(
                f"state_dict must come from a {type(self).__name__}, got a state without "
                f"'numel' (keys {sorted(map(str, state))}; another optimizer's?)"
            )
        numel = state.get("numel", self._numel)
        if numel != self._numel:
            raise ValueError(
                f"state_dict numel must be the optimizer's {self._numel} parameters, got {numel}"
            )
        device = self._params[0].device
        self.param_groups[0].update({k: v for k, v in groups[0].items() if k != "params"})
        self.state.clear()
        self.state[self._params[0]] = _copy(state_dict["state"], device)


def _copy(value: Any, device: torch.device | None = None) -> Any:
    if isinstance(value, torch.Tensor):
        return value.detach().clone() if device is None else value.detach().to(device).clone()
    if isinstance(value, dict):
        return {k: _copy(v, device) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_copy(v, device) for v in value]
    return value
