"""Time of one full PINN training step for a 2-D Poisson problem, KAN vs MLP.

    python -m benchmarks.pinn_step                # N=2048 and N=16384, degrees 3 and 7
    python -m benchmarks.pinn_step --sizes 2048 --kinds kan_jet,chebyshev_jet --threads 1

A step is: the residual of -Laplace(u) = f at N interior points plus a Dirichlet term at N/4
boundary points, ``loss.backward()`` and an Adam step. Cases: kinn KAN with jets (fused CPU
kernel, and ``kan_jet_torch``: the PyTorch path), kinn KAN with nested autograd, kinn
Chebyshev KAN with jets (degree grid + degree, and ``chebyshev6``: degree 6 as in the shipped
``kan_chebyshev`` config), a tanh MLP of the same widths with nested autograd (the usual PINN
practice), and pykan when installed. Widths [2, 16, 16, 1], grid 10. One JSON line per case
(median ms, peak MiB in its own process), then ratio lines.
"""

from __future__ import annotations

import argparse
import json
import os

import torch

from benchmarks.common import measure, poisson_pinn_step, pykan_available, run_isolated

WIDTHS, GRID = [2, 16, 16, 1], 10
KINDS = [
    "kan_jet",
    "kan_jet_torch",
    "kan_autograd",
    "chebyshev_jet",
    "chebyshev6_jet",
    "mlp_autograd",
    "pykan_autograd",
]


def build(kind: str, degree: int):
    from kinn.nn import KAN, MLP

    if kind in ("kan_jet", "kan_jet_torch", "kan_autograd"):
        return KAN(WIDTHS, grid=GRID, degree=degree)
    if kind == "chebyshev_jet":
        return KAN(WIDTHS, basis="chebyshev", degree=GRID + degree)
    if kind == "chebyshev6_jet":  # the shipped kan_chebyshev config
        return KAN(WIDTHS, basis="chebyshev", degree=6)
    if kind == "mlp_autograd":
        return MLP(WIDTHS, activation="tanh")
    if kind == "pykan_autograd":
        from kan import KAN as PyKAN  # optional dependency

        net = PyKAN(width=WIDTHS, grid=GRID, k=degree, auto_save=False)
        return net
    raise ValueError(f"unknown kind {kind!r}")


def run_case(case: dict) -> dict:
    if case["kind"].endswith("_torch"):
        os.environ["KINN_NATIVE"] = "0"  # kinn's PyTorch path instead of the fused kernel
    torch.manual_seed(0)
    torch.set_num_threads(case.get("threads", 2))
    net = build(case["kind"], case["degree"])
    step, _, _ = poisson_pinn_step(net, case["n"], use_jet="_jet" in case["kind"])

    return {**case, "benchmark": "pinn_step", **measure(step, repeat=case.get("repeat", 20))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--case", help="run one case (JSON) in this process")
    parser.add_argument("--sizes", default="2048,16384")
    parser.add_argument("--degrees", default="3,7")
    parser.add_argument("--kinds", default=",".join(KINDS), help="comma-separated cases")
    parser.add_argument("--threads", type=int, default=2, help="torch threads per case")
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(json.loads(args.case))))
        return
    kinds = args.kinds.split(",")
    if "pykan_autograd" in kinds and not pykan_available("pinn_step"):
        kinds.remove("pykan_autograd")
    for n in (int(s) for s in args.sizes.split(",")):
        for degree in (int(d) for d in args.degrees.split(",")):
            rows = {}
            for kind in kinds:
                repeat = 20 if n < 10000 else 5
                case = {"kind": kind, "degree": degree, "n": n, "repeat": repeat}
                rows[kind] = run_isolated("benchmarks.pinn_step", {**case, "threads": args.threads})
                print(json.dumps(rows[kind]), flush=True)
            needed = {"kan_jet", "kan_jet_torch", "kan_autograd", "mlp_autograd"}
            if not all("ms" in rows.get(k, {}) for k in needed):
                continue
            ours, mlp = rows["kan_jet"]["ms"], rows["mlp_autograd"]["ms"]
            ratio = {
                "benchmark": "pinn_step_ratio",
                "n": n,
                "degree": degree,
                "kan_jet_vs_mlp": round(ours / mlp, 2),
                "kan_autograd_vs_kan_jet": round(rows["kan_autograd"]["ms"] / ours, 2),
                "torch_path_vs_kernel": round(rows["kan_jet_torch"]["ms"] / ours, 2),
            }
            if "ms" in rows.get("chebyshev6_jet", {}):
                ratio["chebyshev6_vs_kan_jet"] = round(rows["chebyshev6_jet"]["ms"] / ours, 2)
            if "ms" in rows.get("pykan_autograd", {}):
                ratio["pykan_vs_kan_jet"] = round(rows["pykan_autograd"]["ms"] / ours, 2)
            print(json.dumps(ratio), flush=True)


if __name__ == "__main__":
    main()
