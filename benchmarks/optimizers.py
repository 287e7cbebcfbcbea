"""Second-order optimizers after Adam: final loss and error, iterations, wall time (JSON lines).

python -m benchmarks.optimizers [--adam 300] [--iters 500] [--gn-iters 100] [--threads 1]
    [--problems poisson1d,poisson2d,inverse] [--models kan,mlp]
    [--optimizers lbfgs,lbfgs_torch,ssbfgs,ssbroyden,gauss_newton]
python -m benchmarks.optimizers --dense-sizes 2300,4500,8600,20000 [--threads 1]

Every case trains the same float64 network (same seed, same points) with Adam, then runs one
second-order stage for ``--iters`` iterations (``--gn-iters`` for Gauss-Newton, whose
iterations cost a Jacobian each). ``lbfgs_torch`` is ``torch.optim.LBFGS`` with its
strong-Wolfe line search, one iteration per step, as kinn's stages used before. ``wall_s`` is
the second stage's wall time; ``evals`` its loss (or residual) evaluations. The inverse
problem identifies k in -div(k grad u) = f from 100 noise-free observations (noise would put
a floor under every optimizer's loss).

``--dense-sizes`` times instead what a dense self-scaled Broyden iteration adds to its loss
evaluations at each parameter count n: the inverse-Hessian update and the direction
``-H g`` (``update_ms``, ``direction_ms``; one line per n), the n^2 cost that sets
``kinn.train.recipes.POLISH_MAX_PARAMS``.
"""

import argparse
import json
import tempfile
import time

import torch

from kinn.nn import KAN, MLP
from kinn.train import Stage, Trainer
from problems import inverse_diffusion, poisson1d, poisson2d

# A wider hidden-layer domain keeps B-spline inputs on the grid: outside it the splines
# continue linearly, and the jump of their second derivative makes strong-form losses
# discontinuous in the parameters (line searches then stall at the jumps).
NETWORKS = {
    "kan": lambda d: KAN([d, 6, 1], grid=5, domain=[(-1, 1), (-4, 4)]),
    "mlp": lambda d: MLP([d, 16, 16, 1], activation="tanh"),
}
PROBLEMS = {
    "poisson1d": (poisson1d, "strong", {"n_interior": 128}),
    "poisson2d": (poisson2d, "strong", {"n_interior": 256}),
    "inverse": (lambda: inverse_diffusion(n_obs=100, noise=0.0), "inverse", {"n_interior": 256}),
}


def run(problem_name: str, net: str, optimizer: str, adam: int, iters: int) -> dict:
    factory, form, options = PROBLEMS[problem_name]
    problem = factory()
    torch.manual_seed(0)
    model = problem.model(NETWORKS[net](problem.in_dim))
    objective = problem.objective(model, form, **options)
    Trainer(model, objective, Stage("adam", adam, 1e-2), validate_every=None, progress=False).fit()
    start = time.perf_counter()
    if optimizer == "lbfgs_torch":
        evals = _torch_lbfgs(model, objective, iters)
    else:
        with tempfile.TemporaryDirectory() as out_dir:  # the last checkpoint holds the counts
            stage = Stage(optimizer, iters)
            Trainer(
                model,
                objective,
                stage,
                validate_every=None,
                progress=False,
                out_dir=out_dir,
                checkpoint_every=None,
            ).fit()
            state = torch.load(f"{out_dir}/last.pt", weights_only=True)["optimizer"]["state"]
        evals = state["evals"]
    wall = time.perf_counter() - start
    losses = objective.losses(model)
    metrics = objective.validate(model)
    row = {
        "problem": problem.name,
        "form": form,
        "model": net,
        "params": sum(p.numel() for p in model.parameters()),
        "adam": adam,
        "optimizer": optimizer,
        "iters": iters,
        "loss": float(sum(v.detach() for v in losses.values())),
        "rel_l2_u": metrics["rel_l2_u"],
        "wall_s": round(wall, 2),
    }
    row["evals"] = evals
    if "param_k_rel_err" in metrics:
        row["k_rel_err"] = metrics["param_k_rel_err"]
    return row


def _torch_lbfgs(model, objective, iters: int) -> int:
    params = list(model.parameters()) + list(objective.parameters())
    opt = torch.optim.LBFGS(params, max_iter=1, max_eval=26, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = sum(objective.losses(model).values())
        loss.backward()
        return loss

    for _ in range(iters):
        opt.step(closure)
    return opt.state[params[0]]["func_evals"]


def dense_cost(n: int, repeats: int = 5) -> dict:
    """Milliseconds per SSBroyden update and direction at ``n`` parameters (a mid-run ``H``)."""
    from kinn.train.optim import SSBroyden

    gen = torch.Generator().manual_seed(0)
    f64 = torch.float64
    x = torch.nn.Parameter(torch.zeros(n, dtype=f64))
    opt = SSBroyden([x])
    opt._init_state(opt._store)
    g = torch.randn(n, generator=gen, dtype=f64)
    s = 1e-3 * torch.randn(n, generator=gen, dtype=f64)
    opt._update(s, 2.0 * s, 1.0, -s)  # the first update builds H = (y.s / y.y) I
    updates, directions = [], []
    for _ in range(repeats):
        s = 1e-3 * opt._direction(g)  # t p, p = -H g
        y = 2.0 * s + 1e-4 * torch.randn(n, generator=gen, dtype=f64)
        t0 = time.perf_counter()
        opt._update(s, y, 1e-3, g)
        t1 = time.perf_counter()
        opt._direction(g)
        updates.append(t1 - t0)
        directions.append(time.perf_counter() - t1)
    assert opt._store["H"] is not None and opt._store["restarts"] == 0
    return {
        "n": n,
        "update_ms": round(1e3 * min(updates), 2),
        "direction_ms": round(1e3 * min(directions), 2),
        "matrix_mib": round(8 * n * n / 2**20),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--adam", type=int, default=300)
    parser.add_argument("--iters", type=int, default=500)
    parser.add_argument("--gn-iters", type=int, default=100)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--problems", default=",".join(PROBLEMS))
    parser.add_argument("--models", default=",".join(NETWORKS))
    parser.add_argument("--optimizers", default="lbfgs,lbfgs_torch,ssbfgs,ssbroyden,gauss_newton")
    parser.add_argument("--dense-sizes", help="time the dense update at these n instead")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_default_dtype(torch.float64)
    if args.dense_sizes:
        for n in args.dense_sizes.split(","):
            print(json.dumps(dense_cost(int(n))), flush=True)
        return
    for name in args.problems.split(","):
        for net in args.models.split(","):
            for optimizer in args.optimizers.split(","):
                iters = args.gn_iters if optimizer == "gauss_newton" else args.iters
                print(json.dumps(run(name, net, optimizer, args.adam, iters)), flush=True)


if __name__ == "__main__":
    main()
