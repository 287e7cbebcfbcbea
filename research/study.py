"""Why kinn's KAN loses after Adam: one suspect at a time, against kinn's MLP in the same run.

python -m research.study --arms NAME[,NAME] --problems a,b [--adam 1000] [--lbfgs 200]
       [--lr 5e-3] [--dtype float64] [--out research/results/study.jsonl]

Each arm is a network factory (``ARMS``) trained with the same stages, points and dtype on
every problem; one JSON line per (arm, problem): error after the Adam stage, after L-BFGS,
wall times, and the hidden activations' ranges relative to each layer's grid (at
initialisation and at the end).
"""

from __future__ import annotations

import argparse
import json
import math
import time

import torch
from torch import nn

from benchmarks.accuracy import run_kinn
from benchmarks.accuracy_problems import CASES
from kinn.nn import KAN, MLP
from kinn.nn.layers import BSplineKANLayer, ChebyshevKANLayer

H = [16, 16]


class TanhKAN(nn.Module):
    """KAN layers with ``tanh`` between them (cPIKAN style): hidden inputs stay in (-1, 1)."""

    def __init__(self, width, basis="bspline", scale=1.0, **kw):
        super().__init__()
        layers = []
        for i, (a, b) in enumerate(zip(width[:-1], width[1:])):
            if basis == "bspline":
                layers.append(BSplineKANLayer(a, b, **kw))
            else:
                layers.append(ChebyshevKANLayer(a, b, **kw))
            if i < len(width) - 2:
                layers.append(nn.Tanh())
        self.layers = nn.Sequential(*layers)

    def forward(self, x):
        return self.layers(x)


def _domains(first, hidden, n):
    return [first] + [hidden] * (n - 1)


def matched(net):
    """Re-initialise each layer so its outputs fill the next layer's grid (std = a third of
    the next domain's half-width) instead of its own: the prototype fix of the init."""
    layers = list(rough(net).layers)
    for layer, nxt in zip(layers[:-1], layers[1:]):
        own = (layer.domain_bounds()[:, 1] - layer.domain_bounds()[:, 0]).mean() / 2
        want = (nxt.domain_bounds()[:, 1] - nxt.domain_bounds()[:, 0]).mean() / 2
        layer.reset_parameters(gain=float(want / own), smooth=False)
    return net


def rough(net):
    """The original initialisation (random spline branch sharing the variance with the base),
    whatever kinn's default now is."""
    for layer in net.layers if hasattr(net, "layers") else []:
        if hasattr(layer, "spline_weight"):
            layer.reset_parameters(smooth=False)
    return net


def smooth(net, spline=0.0):
    """Start from smooth edge functions: the spline branch scaled by ``spline`` (0: silu MLP-like
    start, as pykan's small noise_scale), the base branch carrying the whole variance."""
    with torch.no_grad():
        for layer in net.layers if hasattr(net, "layers") else []:
            if not hasattr(layer, "spline_weight"):
                continue
            layer.spline_weight.mul_(spline)
            if layer.base_weight is not None:
                layer.base_weight.mul_(math.sqrt(2 - spline**2))
    return net


def smooth_chebyshev(net):
    """Chebyshev layers that start as ``c0 + c1 tanh(x)`` (a tanh MLP): higher degrees zero,
    the degree-1 coefficients carrying the layer's whole variance."""
    rough(net)
    with torch.no_grad():
        for layer in net.layers:
            w = layer.spline_weight
            var = (w**2).sum(1).mean()  # per edge, summed over degrees
            w[:, 2:] = 0
            w[:, 1] = torch.randn_like(w[:, 1]) * var.sqrt() / 0.53  # E[tanh(x)^2] ~ 0.28
            w[:, 0] = 0
    return net


def grid_updates(net, d, every=100, until=600, n=4096):
    """pykan-style grid updates from samples of the input box during early training."""
    z = torch.rand(n, d, generator=torch.Generator().manual_seed(0)) * 2 - 1
    state = {"last": 0}

    def callback(row):
        step = row["step"]
        if step <= until and step - state["last"] >= every:
            state["last"] = step
            p = next(net.parameters())
            net.update_grid(z.to(p))

    return callback


def _kan(hidden_domain=None, **kw):
    """``KAN([i, 16, 16, o], **kw)`` with the hidden layers on ``hidden_domain``."""

    def make(i, o):
        domain = _domains((-1, 1), hidden_domain, 3) if hidden_domain else (-1, 1)
        return KAN([i, *H, o], domain=domain, **kw)

    return make


def _with(make, *wraps):
    def build(i, o):
        net = make(i, o)
        for wrap in wraps:
            net = wrap(net)
        return net

    return build


APP = (-4, 4)  # the app's hidden_domain (model/kan.yaml)
ARMS = {
    "mlp": lambda i, o: MLP([i, 64, 64, 64, o], "tanh"),
    "mlp_small": lambda i, o: MLP([i, 32, 32, o], "tanh"),
    # the shipped KAN with the original (rough) initialisation
    "kan_app": _with(_kan(APP), rough),
    "kan_py": _with(_kan(), rough),  # the Python default KAN(...): every layer on (-1, 1)
    "kan_h2": _with(_kan((-2, 2)), rough),
    "kan_d5": _with(_kan(degree=5), rough),
    "kan_g5": _with(_kan(grid=5), rough),
    "kan_g20": _with(_kan(grid=20), rough),
    "kan_nobase": _with(_kan(base=None), rough),
    "kan_app_match": _with(_kan(APP), matched),
    "kan_h2_match": _with(_kan((-2, 2)), matched),
    "kan_py_update": _with(_kan(), rough),
    "kan_app_update": _with(_kan(APP), rough),
    "kan_tanh": _with(lambda i, o: TanhKAN([i, *H, o]), rough),
    # smooth starts applied by hand on top of the rough one
    "kan_py_smooth": _with(_kan(), rough, smooth),
    "kan_py_smooth01": _with(_kan(), rough, lambda n: smooth(n, 0.1)),
    "kan_app_smooth": _with(_kan(APP), rough, smooth),
    "kan_h2_smooth": _with(_kan((-2, 2)), rough, smooth),
    "kan_h2m_smooth": _with(_kan((-2, 2)), matched, smooth),
    "kan_d5_smooth": _with(_kan(degree=5), rough, smooth),
    "kan_app_d5_smooth": _with(_kan(APP, degree=5), rough, smooth),
    "cheb6": _with(lambda i, o: KAN([i, *H, o], "chebyshev", degree=6), rough),
    "cheb6_smooth": _with(lambda i, o: KAN([i, *H, o], "chebyshev", degree=6), smooth_chebyshev),
    # kinn's new default initialisation (prototype commit): smooth
    "kan_app_new": _kan(APP),
    "kan_app_d5_new": _kan(APP, degree=5),
    "kan_app_g20_new": _kan(APP, grid=20),
    "kan_app_d5_g5_new": _kan(APP, degree=5, grid=5),
    "kan_app_w32_new": lambda i, o: KAN([i, 32, 32, o], degree=5, domain=_domains((-1, 1), APP, 3)),
    "kan_py_new": _kan(),
    "kan_h2_new": _kan((-2, 2)),
    "cheb6_new": lambda i, o: KAN([i, *H, o], "chebyshev", degree=6),
    "cheb4_new": lambda i, o: KAN([i, *H, o], "chebyshev", degree=4),
}


def grid_use(net, x) -> list[dict]:
    """For each B-spline layer after the first: where its inputs fall relative to its grid.

    ``used``: (p99 - p1) of the inputs over the grid width; ``out``: fraction outside.
    """
    layers = [m for m in net.modules() if isinstance(m, BSplineKANLayer)]
    out = []
    h = x
    with torch.no_grad():
        for k, layer in enumerate(layers):
            if k:
                lo, hi = float(layer.grid[0, 0]), float(layer.grid[0, -1])
                q = torch.quantile(h.flatten().double(), torch.tensor([0.01, 0.99]).double())
                outside = ((h < lo) | (h > hi)).double().mean()
                out.append(
                    {
                        "used": round(float(q[1] - q[0]) / (hi - lo), 3),
                        "out": round(float(outside), 3),
                    }
                )
            h = layer(h)
            nxt = _after(net, layer)
            if nxt is not None:
                h = nxt(h)
    return out


def _after(net, layer):
    seq = getattr(net, "layers", None)
    if isinstance(seq, nn.Sequential):
        mods = list(seq)
        i = mods.index(layer)
        if i + 1 < len(mods) and not isinstance(mods[i + 1], BSplineKANLayer):
            return mods[i + 1]
    return None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--arms", required=True)
    parser.add_argument("--problems", required=True)
    parser.add_argument("--adam", type=int, default=1000)
    parser.add_argument("--lbfgs", type=int, default=200)
    parser.add_argument("--lr", type=float, default=5e-3)
    parser.add_argument("--scheduler", default="cosine")
    parser.add_argument("--dtype", default="float64")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tag", default="")
    parser.add_argument("--n-interior", type=int, default=None, help="override the case's")
    parser.add_argument("--resample", type=int, default=None, help="resample_every (Adam)")
    parser.add_argument("--out", default="research/results/study.jsonl")
    args = parser.parse_args()
    torch.set_num_threads(1)
    stages = [
        {
            "optimizer": "adam",
            "steps": args.adam,
            "lr": args.lr,
            "scheduler": None if args.scheduler == "none" else args.scheduler,
        }
    ]
    if args.lbfgs:
        stages.append(
            {
                "optimizer": "lbfgs",
                "steps": args.lbfgs,
                "lr": 1.0,
                "tolerance_grad": 1e-10,
                "tolerance_change": 0.0,
                "history_size": 50,
            }
        )
    for problem in args.problems.split(","):
        case = CASES[problem]
        p = case.problem()
        for arm in args.arms.split(","):
            torch.manual_seed(args.seed)
            net = ARMS[arm](p.in_dim, p.out_dim).to(getattr(torch, args.dtype))
            ev = p.evaluation_set().points
            lo, hi = p.geometry.bbox
            z = (2 * (ev - lo.to(ev)) / (hi - lo).to(ev) - 1).to(getattr(torch, args.dtype))
            zs = z[:: max(1, len(z) // 4000)]
            use0 = grid_use(net, zs)
            t0 = time.perf_counter()
            callbacks = [grid_updates(net, p.in_dim)] if arm.endswith("_update") else []
            rec = run_kinn(
                problem,
                net,
                {"stages": stages, "dtype": args.dtype},
                seed=args.seed,
                callbacks=callbacks,
                points={"n_interior": args.n_interior} if args.n_interior else None,
                trainer_options={"resample_every": args.resample},
            )
            adam_end = [h for h in rec["history"] if h["step"] == args.adam]
            row = {
                "tag": args.tag,
                "problem": problem,
                "arm": arm,
                "dtype": args.dtype,
                "lr": args.lr,
                "adam": args.adam,
                "lbfgs": args.lbfgs,
                "seed": args.seed,
                "n_interior": args.n_interior,
                "resample": args.resample,
                "params": rec["params"],
                "err_adam": adam_end[0]["err"] if adam_end else math.nan,
                "t_adam": adam_end[0]["time_s"] if adam_end else math.nan,
                "err": rec["err"],
                "wall_s": rec["wall_s"],
                "status": rec["status"],
                "grid_use_init": use0,
                "grid_use_end": grid_use(
                    net, z[:: max(1, len(z) // 4000)].to(next(net.parameters()))
                ),
                "errors": rec["errors"],
                "cpu_s": rec["cpu_s"],
                "history": [(h["step"], h["cpu_s"], h["err"]) for h in rec["history"]],
                "elapsed": round(time.perf_counter() - t0, 1),
            }
            with open(args.out, "a") as f:
                f.write(json.dumps(row) + "\n")
            short = {k: row[k] for k in ("problem", "arm", "dtype", "err_adam", "err", "wall_s")}
            print(json.dumps({**short, "use": row["grid_use_end"]}), flush=True)


if __name__ == "__main__":
    main()
