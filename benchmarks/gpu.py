"""GPU timings of KAN layers and PINN steps: Triton kernels against the PyTorch paths.

    python -m benchmarks.gpu                      # on a CUDA machine: about 4 minutes
    python -m benchmarks.gpu --sizes 4096,1048576 --degrees 3
    python -m benchmarks.gpu --interpret          # tiny, on CPU through Triton's interpreter

Two benchmarks, each for N from 2^12 to 2^20 points, spline degrees 3 and 7, and float32
products in full float32 and in TF32 (``torch.backends.cuda.matmul.allow_tf32``):

- ``layer``: forward and backward (gradients of the input and of the weights) of one layer
  of width 64 -> 64, grid 10: kinn's B-spline layer on the Triton kernels (``kan_fused``) and
  on its PyTorch path (``kan_torch``), the same layer with bases from the Cox-de Boor
  recursion (``cox_de_boor``, the usual KAN implementation), the dense GEMM the layer amounts
  to (``gemm``: features (N, I (G+k+1)) times weights, forward and both backward products),
  and a tanh ``nn.Linear`` of the same width (``mlp``).
- ``pinn_step``: one Adam step on 2-D Poisson, widths [2, 32, 32, 1], the Laplacian by jets
  (diagonal Hessian) for ``kan_fused``, ``kan_torch``, ``cox_de_boor`` and ``mlp_jet``, and by
  nested autograd for ``mlp_autograd``.

One JSON line per case: the median time (``ms``), achieved FLOP/s and bytes/s, and their
fractions of the device's peak (a table for H100, H200 and A100; ``null`` elsewhere). The
FLOP count is that of the dense equivalent (the GEMM: 2 N F O per product, three products
with the backward, F = I (G + k + 1) features per point, times the rows of a jet), the same
for every KAN case so that FLOP/s compare as times do; bytes count the unavoidable traffic
(inputs, outputs, their gradients and the weights, once each). Then ``ratio`` lines at each
size: fused layer against its GEMM and against the PyTorch path, fused PINN step against the
MLP's. Cases past ``--budget`` seconds are skipped (and listed), so a run stays under 5
minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

PEAKS = {  # dense tensor-core and CUDA-core figures (no sparsity), TFLOP/s and TB/s
    "H200": {"float32": 67.0, "tf32": 494.7, "tb_per_s": 4.8},
    "H100 PCIe": {"float32": 51.2, "tf32": 378.0, "tb_per_s": 2.0},
    "H100": {"float32": 66.9, "tf32": 494.7, "tb_per_s": 3.35},
    "A100": {"float32": 19.5, "tf32": 156.0, "tb_per_s": 2.04},
}
LAYER_KINDS = ["kan_fused", "kan_torch", "cox_de_boor", "gemm", "mlp"]
PINN_KINDS = ["kan_fused", "kan_torch", "cox_de_boor", "mlp_jet", "mlp_autograd"]


def device_peaks(name: str) -> tuple[str, dict | None]:
    """The row of :data:`PEAKS` for a device name (``"NVIDIA H100 80GB HBM3"``), or unknown."""
    for key, peaks in PEAKS.items():
        if all(word in name for word in key.split()):
            return key, peaks
    return "unknown", None


class Timer:
    """Median milliseconds of a step, synchronising a CUDA device around each repetition."""

    def __init__(self, device, target_s: float):
        import torch

        self.sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
        self.target_s = target_s

    def __call__(self, step) -> float:
        step()  # compile kernels, fill caches
        self.sync()
        reps = 1
        if self.target_s > 0:
            t0 = time.perf_counter()
            step()
            self.sync()
            once = time.perf_counter() - t0
            reps = max(1, min(25, int(self.target_s / max(once, 1e-6))))
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            step()
            self.sync()
            times.append(time.perf_counter() - t0)
        times.sort()
        return 1e3 * times[len(times) // 2]


def _set_path(kind: str) -> None:
    """kinn's Triton kernels for ``kan_fused``; its PyTorch path for every other case."""
    fused = "interpret" if os.environ.get("TRITON_INTERPRET") == "1" else "auto"
    os.environ["KINN_TRITON"] = fused if kind == "kan_fused" else "0"


def layer_case(kind, n, degree, width, grid, device, dtype):
    """``(step, flops, bytes)`` of one layer's forward and backward."""
    import torch

    from kinn.nn import BSplineKANLayer

    _set_path(kind)
    x = (torch.rand(n, width, device=device, dtype=dtype) * 2 - 1).requires_grad_()
    gy = torch.randn(n, width, device=device, dtype=dtype)
    F = width * (grid + degree + 1)  # dense features per point (bases and base branch)
    elt = x.element_size()
    flops = 3 * 2 * n * F * width
    traffic = elt * (4 * n * width + 3 * F * width)
    if kind == "gemm":
        feats = torch.rand(n, F, device=device, dtype=dtype, requires_grad=True)
        w = torch.randn(F, width, device=device, dtype=dtype, requires_grad=True)

        def step():
            feats.grad = w.grad = None
            (feats @ w).backward(gy)

        return step, flops, elt * (2 * n * F + 2 * n * width + 3 * F * width)
    if kind == "mlp":
        module = torch.nn.Sequential(torch.nn.Linear(width, width), torch.nn.Tanh())
        flops = 3 * 2 * n * width * width
        traffic = elt * (4 * n * width + 3 * width * width)
    else:
        module = BSplineKANLayer(width, width, grid=grid, degree=degree)
        if kind == "cox_de_boor":
            module.uniform = False  # the general path: bases by the recursion over degrees
    module = module.to(device=device, dtype=dtype)

    def step():
        x.grad = None
        module.zero_grad(set_to_none=True)
        module(x).backward(gy)

    return step, flops, traffic


def pinn_case(kind, n, degree, widths, grid, device, dtype):
    """``(step, flops, bytes)`` of one Adam step on 2-D Poisson (residual and boundary)."""
    from benchmarks.common import poisson_pinn_step
    from kinn.nn import KAN, MLP

    _set_path(kind)
    if kind.startswith("mlp"):
        net = MLP(widths, activation="tanh")
    else:
        net = KAN(widths, grid=grid, degree=degree)
        if kind == "cox_de_boor":
            for layer in net.modules():
                if hasattr(layer, "uniform"):
                    layer.uniform = False
    net = net.to(device=device, dtype=dtype)
    step, x, xb = poisson_pinn_step(net, n, kind != "mlp_autograd", device, dtype)

    rows = 1 + 2 * widths[0]  # value, gradient and diagonal Hessian rows of the jet
    per_point = 0
    moved = 0
    for i, o in zip(widths[:-1], widths[1:]):
        features = i if kind.startswith("mlp") else i * (grid + degree + 1)
        per_point += 2 * features * o
        moved += 2 * (i + o)
    elt = x.element_size()
    points = rows * n + xb.shape[0]
    return step, 3 * points * per_point, elt * points * moved


def run(args) -> None:
    import torch

    device = torch.device("cpu" if args.interpret else "cuda")
    name = "cpu (Triton interpreter)" if args.interpret else torch.cuda.get_device_name(device)
    key, peaks = device_peaks(name)
    from kinn.nn import _triton

    fused_ok = _triton.available()
    timer = Timer(device, args.target_s)
    started = time.perf_counter()
    skipped = []
    sizes = [int(s) for s in args.sizes.split(",")]
    degrees = [int(d) for d in args.degrees.split(",")]
    precisions = ["float32"] if args.interpret else ["float32", "tf32"]
    head = {"device": name, "peaks": key}
    print(json.dumps({"benchmark": "gpu", **head, "triton": fused_ok}), flush=True)
    for precision in precisions:
        torch.backends.cuda.matmul.allow_tf32 = precision == "tf32"
        for degree in degrees:
            for n in sizes:
                times = {}
                for bench, kinds in (("layer", LAYER_KINDS), ("pinn_step", PINN_KINDS)):
                    for kind in kinds:
                        case = dict(benchmark=bench, kind=kind, n=n, degree=degree,
                                    precision=precision)  # fmt: skip
                        if time.perf_counter() - started > args.budget:
                            skipped.append(case)
                            continue
                        if kind == "kan_fused" and not fused_ok:
                            print(json.dumps({**case, "error": "triton is not installed"}))
                            continue
                        try:
                            if bench == "layer":
                                made = layer_case(kind, n, degree, args.width, args.grid,
                                                  device, torch.float32)  # fmt: skip
                            else:
                                made = pinn_case(kind, n, degree, args.widths, args.grid,
                                                 device, torch.float32)  # fmt: skip
                            step, flops, traffic = made
                            ms = timer(step)
                        except torch.cuda.OutOfMemoryError:
                            print(json.dumps({**case, "error": "out of memory"}), flush=True)
                            torch.cuda.empty_cache()
                            continue
                        times[bench, kind] = ms
                        row = {**case, "ms": round(ms, 4), "tflops": flops / ms / 1e9,
                               "tb_per_s": traffic / ms / 1e9}  # fmt: skip
                        if peaks is not None:
                            row["flops_of_peak"] = row["tflops"] / peaks[precision]
                            row["bytes_of_peak"] = row["tb_per_s"] / peaks["tb_per_s"]
                        print(json.dumps({**row, **head}), flush=True)
                        del step
                        if device.type == "cuda":
                            torch.cuda.empty_cache()
                ratio = {"benchmark": "ratio", "n": n, "degree": degree, "precision": precision}
                for label, a, b in [
                    ("layer_fused_vs_gemm", ("layer", "kan_fused"), ("layer", "gemm")),
                    ("layer_torch_vs_fused", ("layer", "kan_torch"), ("layer", "kan_fused")),
                    ("layer_cox_vs_fused", ("layer", "cox_de_boor"), ("layer", "kan_fused")),
                    ("pinn_fused_vs_mlp_jet", ("pinn_step", "kan_fused"), ("pinn_step", "mlp_jet")),
                    ("pinn_fused_vs_mlp_autograd", ("pinn_step", "kan_fused"),
                     ("pinn_step", "mlp_autograd")),
                    ("pinn_torch_vs_fused", ("pinn_step", "kan_torch"), ("pinn_step", "kan_fused")),
                ]:  # fmt: skip
                    if a in times and b in times:
                        ratio[label] = round(times[a] / times[b], 3)
                print(json.dumps(ratio), flush=True)
    if skipped:
        print(json.dumps({"benchmark": "skipped", "budget_s": args.budget, "cases": skipped}))
    print(json.dumps({"benchmark": "done", "seconds": round(time.perf_counter() - started, 1)}))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=",".join(str(2**e) for e in range(12, 21, 2)))
    parser.add_argument("--degrees", default="3,7")
    parser.add_argument("--width", type=int, default=64, help="layer benchmark: I = O")
    parser.add_argument("--grid", type=int, default=10)
    parser.add_argument("--budget", type=float, default=240, help="seconds; later cases skip")
    parser.add_argument("--target-s", type=float, default=0.15, help="time per case")
    parser.add_argument(
        "--interpret", action="store_true", help="tiny sizes on CPU through Triton's interpreter"
    )
    args = parser.parse_args(argv)
    args.widths = [2, 32, 32, 1]
    if args.interpret:
        # Triton reads this when first imported: before anything imports it
        os.environ["TRITON_INTERPRET"] = "1"
        os.environ["KINN_NATIVE"] = "0"
        args.sizes, args.degrees, args.width, args.widths = "16", "3", 2, [2, 2, 1]
        args.grid, args.target_s = 4, 0.0
    else:
        import torch

        if not torch.cuda.is_available():
            print(
                "benchmarks/gpu.py: no CUDA device here (torch.cuda.is_available() is False); "
                "run it on a GPU machine, or with --interpret for a tiny run on CPU",
                file=sys.stderr,
            )
            return 0
    run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
