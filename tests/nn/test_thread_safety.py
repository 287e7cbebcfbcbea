"""Networks running in several threads at once compute what they compute alone."""

import threading

import pytest
import torch

from kinn.diff import jet
from kinn.nn import KAN


def _work(net, x, repeat):
    """Jets, a loss and its parameter gradients, ``repeat`` times."""
    out = []
    for _ in range(repeat):
        j = jet(net, x, order=2, hessian="diag")
        loss = (j.laplacian() + j.value).square().mean()
        grads = torch.autograd.grad(loss, list(net.parameters()))
        out.append([j.value.detach(), j.hess.detach(), *grads])
    return out


@pytest.mark.parametrize("native", ["0", "1"], ids=["torch_path", "kernel"])
def test_two_threads_running_different_networks_match_serial_runs(monkeypatch, native):
    monkeypatch.setenv("KINN_NATIVE", native)
    nets = [
        KAN([2, 24, 24, 1], grid=8).double(),
        KAN([2, 16, 8, 1], basis="chebyshev", degree=6).double(),
    ]
    xs = [torch.rand(700, 2, dtype=torch.float64) * 2 - 1 for _ in nets]
    serial = [_work(net, x, 1)[0] for net, x in zip(nets, xs)]
    results = [None, None]
    barrier = threading.Barrier(2)

    def run(i):
        barrier.wait()
        results[i] = _work(nets[i], xs[i], 30)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for ref, runs in zip(serial, results):
        for got in runs:
            assert all(torch.equal(a, b) for a, b in zip(got, ref))
