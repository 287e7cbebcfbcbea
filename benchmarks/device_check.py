"""GPU checks and quiet-machine timings, run as one script on a lent accelerator machine.

    python -m benchmarks.device_check

Prints JSON lines: CUDA agreement of layers and jets with the CPU (float64), GPU step
timings of the layer and PINN benchmarks' networks, and whether the fused path needs no host
synchronisation. CPU timings are run separately with ``benchmarks.layers`` and
``benchmarks.pinn_step``.
"""

from __future__ import annotations

import json
import time

import torch


def _sync_time(fn, repeat=20, warmup=5):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(repeat):
        fn()
    torch.cuda.synchronize()
    return 1e3 * (time.perf_counter() - t0) / repeat


def agreement():
    from kinn.diff import jet, jet_of
    from kinn.nn import KAN, MLP

    torch.manual_seed(0)
    for name, net in [
        ("bspline_k3", KAN([2, 8, 8, 1], degree=3)),
        ("bspline_k7", KAN([2, 8, 8, 1], degree=7)),
        ("chebyshev", KAN([2, 8, 1], basis="chebyshev")),
        ("mlp", MLP([2, 16, 1])),
    ]:
        net = net.double()
        x = torch.rand(256, 2, dtype=torch.float64) * 2 - 1
        cpu = jet(net, x)
        gpu = jet(net.cuda(), x.cuda())
        ref = jet_of(net, x.cuda())
        y = net(x.cuda())
        y.square().sum().backward()
        row = {
            "check": "cuda_agreement",
            "net": name,
            "value_vs_cpu": (gpu.value.cpu() - cpu.value).abs().max().item(),
            "hess_vs_cpu": (gpu.hess.cpu() - cpu.hess).abs().max().item(),
            "hess_vs_autograd_cuda": (gpu.hess - ref.hess).abs().max().item(),
            "grads_finite": all(torch.isfinite(p.grad).all().item() for p in net.parameters()),
        }
        print(json.dumps(row), flush=True)


def _layer_ms(kind: str, degree: int) -> float:
    from kinn.nn import KAN, MLP

    torch.manual_seed(0)
    net = (KAN([64, 64, 64], degree=degree) if kind == "kan" else MLP([64, 64, 64])).cuda()
    x = torch.rand(4096, 64, device="cuda") * 1.9 - 0.95

    def step():
        net.zero_grad(set_to_none=True)
        net(x).square().mean().backward()

    return _sync_time(step)


def _pinn_ms(kind: str, degree: int, n: int) -> float:
    import math

    from kinn.diff import jet, laplacian
    from kinn.nn import KAN, MLP

    torch.manual_seed(0)
    widths = [2, 16, 16, 1]
    net = (MLP(widths) if kind == "mlp_autograd" else KAN(widths, degree=degree)).cuda()
    x = torch.rand(n, 2, device="cuda") * 2 - 1
    f = torch.sin(math.pi * x[:, :1]) * torch.sin(math.pi * x[:, 1:])
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)

    def step():
        opt.zero_grad(set_to_none=True)
        if kind == "kan_jet":
            lap = jet(net, x, hessian="diag").laplacian()
        else:
            xg = x.detach().requires_grad_()
            lap = laplacian(net(xg), xg)
        ((lap + f) ** 2).mean().backward()
        opt.step()

    return _sync_time(step)


def gpu_timings():
    for degree in (3, 7):
        for kind in ("kan", "mlp"):
            ms = _layer_ms(kind, degree)
            print(json.dumps({"check": "gpu_layers", "kind": kind, "degree": degree, "ms": ms}))
        for n in (2048, 16384):
            for kind in ("kan_jet", "kan_autograd", "mlp_autograd"):
                ms = _pinn_ms(kind, degree, n)
                row = {"check": "gpu_pinn_step", "kind": kind, "degree": degree, "n": n, "ms": ms}
                print(json.dumps(row), flush=True)


if __name__ == "__main__":
    print(json.dumps({"device": torch.cuda.get_device_name(0), "torch": torch.__version__}))
    agreement()
    gpu_timings()
