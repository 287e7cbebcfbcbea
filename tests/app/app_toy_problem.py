"""A small Poisson problem with the kinn.pde Problem interface, used to drive the CLI in tests.

-Laplace(u) = d pi^2 prod sin(pi x_i) on [-1, 1]^d, u = 0 on the boundary; exact
u = prod sin(pi x_i). Strong form with autograd second derivatives.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from kinn.geometry import Interval, Rectangle, sample
from kinn.train import Objective, field_errors


@dataclass
class EvaluationSet:
    points: torch.Tensor
    reference: dict
    cells: list | None = None


OBJECTIVE_CALLS: list[dict] = []  # the keyword arguments of every objective(), for the tests


@dataclass
class ToyPoisson:
    dim: int = 1
    name: str = "toy_poisson"
    default_form: str = "strong"
    fields: list = field(default_factory=lambda: ["u"])
    parameters: dict = field(default_factory=dict)
    bug_at_step: int | None = None  # losses() raises a ValueError there, like a library bug

    def __post_init__(self):
        if self.dim not in (1, 2):
            raise ValueError(f"dim={self.dim!r}: expected 1 or 2")
        self.geometry = Interval(-1, 1) if self.dim == 1 else Rectangle((-1, -1), (1, 1))
        self.in_dim, self.out_dim = self.dim, 1

    def exact(self, x):
        return torch.prod(torch.sin(math.pi * x), dim=1)

    def model(self, net):
        return net

    def objective(self, model, form=None, n_interior=64, n_boundary=16, sampler="sobol", **kw):
        OBJECTIVE_CALLS.append({"form": form, **kw})
        if form not in (None, "strong"):
            raise ValueError(f"form={form!r}: expected 'strong' for {self.name}")
        return _Objective(self, n_interior, n_boundary, sampler)

    def evaluate(self, model, x):
        return {"u": model(x)[:, 0]}

    def evaluation_set(self):
        if self.dim == 1:
            x = torch.linspace(-1, 1, 101).unsqueeze(1)
        else:
            g = torch.linspace(-1, 1, 21)
            x = torch.cartesian_prod(g, g)
        return EvaluationSet(points=x, reference={"u": self.exact(x)})


class _Objective(Objective):
    def __init__(self, problem, n_interior, n_boundary, method):
        d = problem.dim
        self.problem, self.calls = problem, 0
        self.x = 2 * sample(n_interior, d, method, seed=0) - 1
        if d == 2:
            self.xb = problem.geometry.sample_boundary(n_boundary, seed=0)[0]
        else:
            self.xb = torch.tensor([[-1.0], [1.0]])

    def losses(self, model):
        self.calls += 1
        if self.calls == self.problem.bug_at_step:
            raise ValueError("an internal invariant broke (this stands for a library bug)")
        x = self.x.clone().requires_grad_(True)
        u = model(x)[:, 0]
        (g,) = torch.autograd.grad(u.sum(), x, create_graph=True)
        lap = sum(
            torch.autograd.grad(g[:, i].sum(), x, create_graph=True)[0][:, i]
            for i in range(x.shape[1])
        )
        f = x.shape[1] * math.pi**2 * self.problem.exact(x)
        return {"pde": ((lap + f) ** 2).mean(), "bc": (model(self.xb) ** 2).mean()}

    def validate(self, model):
        es = self.problem.evaluation_set()
        x = es.points.to(self.x)
        return field_errors({"u": model(x)[:, 0]}, {"u": es.reference["u"].to(self.x)})

    def to(self, device, dtype):
        self.x, self.xb = self.x.to(device, dtype), self.xb.to(device, dtype)
        return self
