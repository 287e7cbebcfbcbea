"""Manufactured 2-D Poisson: error and wall time of KAN and MLP in each form (JSON lines).

python -m benchmarks.forms [--adam 200] [--lbfgs 40] [--threads 1] [--derivatives jet]

Inverse form: identify k (true 2) in -div(k grad u) = f from 200 noisy observations.
"""

import argparse
import json
import time

import torch

from kinn.nn import KAN, MLP
from kinn.problems import inverse_diffusion, poisson2d
from kinn.train import Stage, Trainer

NETWORKS = {
    # A wider hidden-layer domain keeps B-spline inputs on the grid (smooth second derivatives).
    "kan": lambda: KAN([2, 8, 1], grid=10, domain=[(-1, 1), (-4, 4)]),
    "mlp": lambda: MLP([2, 32, 32, 1], activation="tanh"),
}
FORMS = {
    "strong": (poisson2d, {"n_interior": 400}),
    "energy": (poisson2d, {"quadrature": ("gauss", 40)}),
    "inverse": (inverse_diffusion, {}),
}


def run(net: str, form: str, adam: int, lbfgs: int, derivatives: str) -> dict:
    factory, options = FORMS[form]
    problem = factory()
    torch.manual_seed(0)
    model = problem.model(NETWORKS[net]())
    objective = problem.objective(model, form, derivatives=derivatives, **options)
    stages = [Stage("adam", adam, 1e-2)] + ([Stage("lbfgs", lbfgs, 1.0)] if lbfgs else [])
    start = time.perf_counter()
    result = Trainer(
        model, objective, stages, validate_every=None, progress=False, dtype=torch.float64
    ).fit()
    wall = time.perf_counter() - start
    metrics = objective.validate(model)
    row = {
        "problem": problem.name,
        "form": form,
        "model": net,
        "params": sum(p.numel() for p in model.parameters()),
        "derivatives": derivatives,
        "steps": result.steps,
        "rel_l2_u": metrics["rel_l2_u"],
        "wall_s": round(wall, 2),
    }
    if "param_k" in metrics:
        row["k"], row["k_rel_err"] = metrics["param_k"], metrics["param_k_rel_err"]
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--adam", type=int, default=200)
    parser.add_argument("--lbfgs", type=int, default=40)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--derivatives", default="jet", choices=("jet", "autograd"))
    parser.add_argument("--forms", default="strong,energy,inverse")
    parser.add_argument("--models", default="kan,mlp")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_default_dtype(torch.float64)
    for form in args.forms.split(","):
        for net in args.models.split(","):
            print(json.dumps(run(net, form, args.adam, args.lbfgs, args.derivatives)), flush=True)


if __name__ == "__main__":
    main()
