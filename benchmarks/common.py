"""Shared timing and memory helpers for the benchmarks (one JSON object per line)."""

from __future__ import annotations

import importlib.util
import json
import resource
import statistics
import subprocess
import sys
import time


def timeit(fn, repeat: int = 20, warmup: int = 3) -> float:
    """Median wall time of ``fn()`` in milliseconds."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_isolated(module: str, case: dict) -> dict:
    """Run ``python -m module --case JSON`` in a fresh process; return its JSON line.

    A fresh process per case gives an honest peak-memory figure (the high-water mark of the
    resident set above the level before the case ran).
    """
    out = subprocess.run(
        [sys.executable, "-m", module, "--case", json.dumps(case)],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        return {**case, "error": out.stderr.strip().splitlines()[-1:] or ["failed"]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(step, repeat: int = 20) -> dict:
    """Peak memory of one ``step()`` above the level before it, then its median time."""
    before = rss_mib()
    step()
    peak = peak_rss_mib() - before
    return {"ms": round(timeit(step, repeat=repeat), 3), "peak_mib": round(peak, 1)}


def pykan_available(benchmark: str) -> bool:
    """Whether pykan is installed; prints a note line when it is not.

    Looked up without importing it: importing pykan sets process-wide OpenMP variables
    (``KMP_INIT_AT_FORK``, ...) that the case subprocesses would inherit, which changed the
    MLP's and kinn's timings and peak memory.
    """
    if importlib.util.find_spec("kan") is None:
        print(json.dumps({"benchmark": benchmark, "note": "pykan not installed; skipped"}))
        return False
    return True


def poisson_pinn_step(net, n: int, use_jet: bool, device=None, dtype=None):
    """``(step, x, xb)``: one Adam step (lr 1e-3) of a 2-D Poisson PINN on ``net``, the
    residual of ``-Laplace(u) = f`` at ``n`` interior points ``x (n, 2)`` in ``[-1, 1]^2``
    plus ``u = 0`` at ``n / 2`` boundary points ``xb``; the Laplacian by one jet pass
    (``use_jet``) or by nested autograd (the usual PINN practice)."""
    import math

    import torch

    from kinn.diff import jet, laplacian

    x = torch.rand(n, 2, device=device, dtype=dtype) * 2 - 1
    f = 2 * math.pi**2 * torch.sin(math.pi * x[:, :1]) * torch.sin(math.pi * x[:, 1:])
    t = torch.rand(n // 4, 1, device=device, dtype=dtype) * 2 - 1
    xb = torch.cat([torch.cat([t, torch.full_like(t, s)], 1) for s in (-1.0, 1.0)], 0)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)

    def step():
        opt.zero_grad(set_to_none=True)
        if use_jet:
            lap = jet(net, x, order=2, hessian="diag", derivatives="jet").laplacian()
        else:
            xg = x.detach().requires_grad_()
            lap = laplacian(net(xg), xg)
        loss = (lap + f).square().mean() + net(xb).square().mean()
        loss.backward()
        opt.step()

    return step, x, xb
