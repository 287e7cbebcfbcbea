"""Agreement of the interpreted Triton kernels with the PyTorch path, one JSON line per case.

    TRITON_INTERPRET=1 python tests/nn/triton_cases.py [--quick]

Run by tests/nn/test_triton.py in a subprocess: Triton reads ``TRITON_INTERPRET`` when it is
first imported, so the interpreted kernels need a process of their own. Each case runs a
small KAN's jet (or plain forward) and the backward of a loss of it with the kernels
(``KINN_TRITON=interpret``) and with the PyTorch path (``KINN_TRITON=0``, ``KINN_NATIVE=0``),
and prints the largest absolute and relative differences over the outputs, the gradient of
the input and the parameters' gradients.
"""

from __future__ import annotations

import json
import os
import sys
import time

import torch

from kinn.diff import jet
from kinn.nn import KAN, _triton

# (basis, degree, base) x (order, hessian) x dtype; sizes tiny: the interpreter is slow
NETS = [("bspline", k, "silu") for k in (1, 2, 3, 5, 7)] + [
    ("bspline", 3, None),
    ("bspline", 4, "tanh"),
    ("chebyshev", 3, None),
    ("chebyshev", 6, "silu"),
]
QUICK_FLOAT32 = [(1, "silu"), (3, "silu"), (7, "silu"), (6, "silu")]
ORDERS = [(0, "full"), (1, "full"), (2, "full"), (2, "diag")]
DTYPES = [torch.float64, torch.float32]


def _points(n: int, d: int, dtype) -> torch.Tensor:
    """Points inside and outside the domain [-1, 1], with a knot and an end among them."""
    x = torch.rand(n, d, dtype=dtype) * 2.6 - 1.3
    x[0, 0], x[1, :] = 0.5, 1.0
    return x


class _Counted:
    """A kernel entry point of :mod:`kinn.nn._triton` that counts its calls."""

    def __init__(self, fn):
        self.fn, self.calls = fn, 0

    def __call__(self, *args):
        self.calls += 1
        return self.fn(*args)


def _run(kernels: bool, net, x, order, hessian):
    os.environ["KINN_TRITON"] = "interpret" if kernels else "0"
    os.environ["KINN_NATIVE"] = "0"
    net.zero_grad(set_to_none=True)
    xg = x.clone().requires_grad_()
    if order == 0:
        outs = [net(xg)]
        loss = outs[0].square().sum() + outs[0].sin().sum()
    else:
        j = jet(net, xg, order=order, hessian=hessian, derivatives="jet")
        outs = [j.value, j.grad] + ([j.hess] if order == 2 else [])
        loss = j.value.square().sum() + (j.grad**3).sum() + outs[-1].square().sum()
    loss.backward()
    return [o.detach() for o in outs] + [xg.grad] + [p.grad for p in net.parameters()]


def case(basis, degree, base, order, hessian, dtype) -> dict:
    torch.manual_seed(degree + 10 * order)
    if basis == "bspline":
        net = KAN([2, 3, 2], grid=4, degree=degree, base=base)
    else:
        net = KAN([2, 3, 2], basis="chebyshev", degree=degree, base=base)
    net = net.to(dtype)
    with torch.no_grad():  # random coefficients: the smooth start has zero spline weights
        for p in net.parameters():
            p.normal_(0.0, 0.5)
    x = _points(20, 2, dtype)
    counted = [_Counted(_triton.forward), _Counted(_triton.backward)]
    _triton.forward, _triton.backward = counted
    t0 = time.perf_counter()
    try:
        got = _run(True, net, x, order, hessian)
    finally:
        _triton.forward, _triton.backward = counted[0].fn, counted[1].fn
    seconds = time.perf_counter() - t0
    ref = _run(False, net, x, order, hessian)
    abs_diff = max((a - b).abs().max().item() for a, b in zip(got, ref))
    rel_diff = max(
        ((a - b).abs().max() / b.abs().max().clamp_min(1e-30)).item() for a, b in zip(got, ref)
    )
    name = f"{basis}{degree}-{base}-order{order}{'-' + hessian if order == 2 else ''}"
    return dict(case=name, dtype=str(dtype).split(".")[1], max_abs=abs_diff, max_rel=rel_diff,
                kernel_calls=[c.calls for c in counted], seconds=round(seconds, 2))  # fmt: skip


def cases(quick: bool):
    """``(basis, degree, base, order, hessian, dtype)``; quick: float32 for fewer networks."""
    for dtype in DTYPES:
        for basis, degree, base in NETS:
            if quick and dtype == torch.float32 and (degree, base) not in QUICK_FLOAT32:
                continue
            for order, hessian in ORDERS:
                yield basis, degree, base, order, hessian, dtype


def main(argv=None) -> None:
    quick = "--quick" in (sys.argv[1:] if argv is None else argv)
    if os.environ.get("TRITON_INTERPRET") != "1":
        value = os.environ.get("TRITON_INTERPRET")
        raise SystemExit(f"TRITON_INTERPRET must be 1 (set before importing Triton), got {value!r}")
    for args in cases(quick):
        print(json.dumps(case(*args)), flush=True)


if __name__ == "__main__":
    main()
