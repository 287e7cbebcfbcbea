"""Forward+backward time and peak memory of KAN layers against references.

    python -m benchmarks.layers            # all cases, one JSON line each, then ratio lines

    python -m benchmarks.layers --kinds kinn_bspline,kinn_bspline_loaded --threads 1

Cases (N=4096, widths [64, 64, 64], grid 10, degrees 3, 5, 7; Chebyshev degree = grid +
degree): kinn's B-spline KAN (fused CPU kernel; ``_loaded``: a network that received another's
``state_dict``, as on resume; ``_refined``: grid 5 extended to 10 by ``refine``; ``_torch``: the
PyTorch path), kinn's Chebyshev KAN, a tanh MLP of the same widths, a Cox-de Boor recursive
reference (efficient-kan's algorithm, written here), and pykan's KANLayer when pykan is
installed. Each case runs in its own process, so peak memory is its own.
"""

from __future__ import annotations

import argparse
import json
import os

import torch
import torch.nn.functional as F
from torch import nn

from benchmarks.common import measure, pykan_available, run_isolated

N, WIDTHS, GRID = 4096, [64, 64, 64], 10
KINDS = [
    "kinn_bspline",
    "kinn_bspline_loaded",
    "kinn_bspline_refined",
    "kinn_bspline_torch",
    "kinn_chebyshev",
    "mlp",
    "recursive",
    "pykan",
]


class RecursiveKANLayer(nn.Module):
    """Reference: bases by the Cox-de Boor recursion under plain autograd (efficient-kan)."""

    def __init__(self, i, o, grid, degree):
        super().__init__()
        h = 2.0 / grid
        knots = torch.arange(-degree, grid + degree + 1) * h - 1.0
        self.register_buffer("knots", knots.expand(i, -1).contiguous())
        self.degree = degree
        self.base_weight = nn.Parameter(torch.randn(o, i) / i**0.5)
        self.spline_weight = nn.Parameter(torch.randn(o, i, grid + degree) * 0.1)

    def bases(self, x):
        t = self.knots
        x = x.unsqueeze(-1)
        b = ((x >= t[:, :-1]) & (x < t[:, 1:])).to(x.dtype)
        for p in range(1, self.degree + 1):
            b = (x - t[:, : -(p + 1)]) / (t[:, p:-1] - t[:, : -(p + 1)]) * b[..., :-1] + (
                t[:, p + 1 :] - x
            ) / (t[:, p + 1 :] - t[:, 1:-p]) * b[..., 1:]
        return b

    def forward(self, x):
        base = F.linear(F.silu(x), self.base_weight)
        return base + F.linear(self.bases(x).flatten(1), self.spline_weight.flatten(1))


def build(kind: str, degree: int) -> nn.Module:
    from kinn.nn import KAN, MLP

    if kind in ("kinn_bspline", "kinn_bspline_torch"):
        return KAN(WIDTHS, grid=GRID, degree=degree)
    if kind == "kinn_bspline_loaded":
        net = KAN(WIDTHS, grid=GRID, degree=degree)
        net.load_state_dict(KAN(WIDTHS, grid=GRID, degree=degree).state_dict())
        return net
    if kind == "kinn_bspline_refined":
        return KAN(WIDTHS, grid=GRID // 2, degree=degree).refine(GRID)
    if kind == "kinn_chebyshev":
        return KAN(WIDTHS, basis="chebyshev", degree=GRID + degree)
    if kind == "mlp":
        return MLP(WIDTHS, activation="tanh")
    if kind == "recursive":
        return nn.Sequential(
            *(RecursiveKANLayer(i, o, GRID, degree) for i, o in zip(WIDTHS[:-1], WIDTHS[1:]))
        )
    if kind == "pykan":
        from kan import KANLayer  # noqa: PLC0415 - optional dependency

        class PyKAN(nn.Module):
            def __init__(self):
                super().__init__()
                self.layers = nn.ModuleList(
                    KANLayer(i, o, num=GRID, k=degree) for i, o in zip(WIDTHS[:-1], WIDTHS[1:])
                )

            def forward(self, x):
                for layer in self.layers:
                    x = layer(x)[0]
                return x

        return PyKAN()
    raise ValueError(f"unknown case kind {kind!r}")


def run_case(case: dict) -> dict:
    if case["kind"].endswith("_torch"):
        os.environ["KINN_NATIVE"] = "0"  # kinn's PyTorch path instead of the fused kernel
    torch.manual_seed(0)
    torch.set_num_threads(case.get("threads", 2))
    model = build(case["kind"], case["degree"])
    x = torch.rand(N, WIDTHS[0]) * 1.9 - 0.95

    def step():
        model.zero_grad(set_to_none=True)
        model(x).square().mean().backward()

    return {**case, "benchmark": "layers", **measure(step, repeat=case.get("repeat", 20))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--case", help="run one case (JSON) in this process")
    parser.add_argument("--degrees", default="3,5,7")
    parser.add_argument("--kinds", default=",".join(KINDS), help="comma-separated cases")
    parser.add_argument("--threads", type=int, default=2, help="torch threads per case")
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(json.loads(args.case))))
        return
    kinds = args.kinds.split(",")
    if "pykan" in kinds and not pykan_available("layers"):
        kinds.remove("pykan")
    for degree in (int(d) for d in args.degrees.split(",")):
        rows = {}
        for kind in kinds:
            case = {"kind": kind, "degree": degree, "threads": args.threads}
            rows[kind] = run_isolated("benchmarks.layers", case)
            print(json.dumps(rows[kind]), flush=True)
        if not {"kinn_bspline", "kinn_bspline_torch", "mlp", "recursive"} <= rows.keys():
            continue
        ours = rows["kinn_bspline"]
        ratios = {
            "benchmark": "layers_ratio",
            "degree": degree,
            "speedup_vs_recursive": rows["recursive"]["ms"] / ours["ms"],
            "memory_vs_recursive": ours["peak_mib"] / max(rows["recursive"]["peak_mib"], 1e-9),
            "slowdown_vs_mlp": ours["ms"] / rows["mlp"]["ms"],
            "kernel_vs_torch_path": rows["kinn_bspline_torch"]["ms"] / ours["ms"],
        }
        for kind in ("kinn_bspline_loaded", "kinn_bspline_refined"):
            if "ms" in rows.get(kind, {}):
                ratios[f"{kind.removeprefix('kinn_bspline_')}_vs_fresh"] = (
                    rows[kind]["ms"] / ours["ms"]
                )
        if "pykan" in rows and "ms" in rows["pykan"]:
            ratios["speedup_vs_pykan"] = rows["pykan"]["ms"] / ours["ms"]
        print(
            json.dumps({k: round(v, 2) if isinstance(v, float) else v for k, v in ratios.items()})
        )


if __name__ == "__main__":
    main()
