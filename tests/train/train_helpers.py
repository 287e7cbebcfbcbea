"""Small objectives shared by the trainer tests (tiny MLPs keep every run well under a second)."""

import torch
from torch import nn

from kinn.train import Objective, field_errors


def mlp(seed: int = 0, width: int = 8) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(1, width), nn.Tanh(), nn.Linear(width, 1))


class SineFit(Objective):
    """Fit u(x) = sin(3x) on resampled points, with a two-point 'boundary' term.

    Both are mean squares, so ``residuals`` serves Gauss-Newton stages.

    Validation compares u and a derived field du/dx against the exact solution.
    ``nan_at`` makes the boundary term NaN from that call of ``losses`` on.
    """

    def __init__(self, n: int = 16, nan_at: int | None = None):
        self.x = torch.linspace(-1, 1, n).unsqueeze(1)
        self.xb = torch.tensor([[-1.0], [1.0]])
        self.calls, self.nan_at = 0, nan_at

    def losses(self, model):
        self.calls += 1
        fit = ((model(self.x) - torch.sin(3 * self.x)) ** 2).mean()
        bc = ((model(self.xb) - torch.sin(3 * self.xb)) ** 2).mean()
        if self.nan_at is not None and self.calls >= self.nan_at:
            bc = bc * float("nan")
        return {"fit": fit, "bc": bc}

    def residuals(self, model):
        return {
            "fit": model(self.x) - torch.sin(3 * self.x),
            "bc": model(self.xb) - torch.sin(3 * self.xb),
        }

    def resample(self, generator):
        self.x = 2 * torch.rand(self.x.shape, generator=generator, dtype=self.x.dtype) - 1

    def validate(self, model):
        x = torch.linspace(-1, 1, 50, dtype=self.x.dtype).unsqueeze(1).requires_grad_(True)
        u = model(x)
        (du,) = torch.autograd.grad(u.sum(), x)
        return field_errors({"u": u, "du": du}, {"u": torch.sin(3 * x), "du": 3 * torch.cos(3 * x)})

    def state_dict(self):
        return {"x": self.x}

    def load_state_dict(self, state):
        self.x = state["x"].clone()

    def to(self, device, dtype):
        self.x = self.x.to(device, dtype)
        self.xb = self.xb.to(device, dtype)
        return self
