"""Training runs for the distributed tests, the same code in one process or on every rank.

Each run trains a tiny KAN on 1-D Poisson (soft boundary values, so that mean squares and,
in the energy form, an integral share the loss) and returns its history and parameters.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
import torch.distributed as dist

from kinn.nn import KAN
from kinn.train import Stage, Trainer

STAGES = [
    Stage("adam", 4, 1e-2),
    Stage("lbfgs", 3),
    Stage("ssbroyden", 3),
    Stage("gauss_newton", 2),
]
CASES = ("strong", "energy", "attention", "resume", "replicated", "resume_other_world")


def _problem():
    import problems

    return problems.poisson1d(hard=False)


def _net() -> torch.nn.Module:
    torch.manual_seed(0)
    return KAN([1, 4, 1], grid=4, domain=[(-1, 1), (-4, 4)])


def run_case(case: str, out_dir: Path, distributed: bool) -> dict:
    """Train ``case``; returns ``{"history", "params", "warnings"}``."""
    torch.set_default_dtype(torch.float64)
    problem, net = _problem(), _net()
    options = dict(
        log_every=1, validate_every=3, checkpoint_every=5, progress=False, dtype=torch.float64
    )
    options["distributed"] = distributed
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if case == "energy":
            pde = problem.objective(net, "energy", n_boundary=2, quadrature=("gauss", 20))
            trainer = Trainer(net, pde, STAGES[:2], out_dir=out_dir, **options)
            result = trainer.fit()
        elif case == "attention":  # point weights, adaptive term weights, resampling
            pde = problem.objective(net, "strong", n_interior=24, point_weights="rba")
            adaptive = {"method": "gradnorm", "update_every": 2}
            trainer = Trainer(
                net, pde, Stage("adam", 6, 1e-2), adaptive=adaptive, resample_every=2, **options
            )
            result = trainer.fit()
        elif case.startswith("resume"):  # two stages, then all four from that checkpoint
            pde = problem.objective(net, "strong", n_interior=24)
            Trainer(net, pde, STAGES[:2], out_dir=out_dir, **options).fit()
            checkpoint = out_dir / "last.pt"
            if case == "resume_other_world":  # the one-process run's checkpoint
                checkpoint = out_dir.parent / "resume_single" / "last.pt"
            net = _net()
            pde = problem.objective(net, "strong", n_interior=24)
            trainer = Trainer(net, pde, STAGES, out_dir=out_dir, **options)
            result = trainer.fit(resume=checkpoint)
        elif case == "replicated":  # an objective without shard(): every rank does it all
            from train_helpers import SineFit, mlp

            net = mlp()
            trainer = Trainer(net, SineFit(), STAGES, out_dir=out_dir, **options)
            result = trainer.fit()
        else:
            pde = problem.objective(net, "strong", n_interior=24)
            result = Trainer(net, pde, STAGES, out_dir=out_dir, **options).fit()
    params = torch.cat([p.detach().reshape(-1) for p in net.parameters()])
    points = {}
    if case != "replicated":
        points = {name: pde._local(name)["x"].clone() for name in pde.points}
    return {
        "points": points,
        "history": result.history,
        "params": params,
        "warnings": [str(w.message) for w in caught],
    }


def worker(rank: int, world: int, root: str) -> None:
    """``torch.multiprocessing.spawn`` target: every case on a gloo group of ``world``."""
    torch.set_num_threads(1)
    root_path = Path(root)
    store = root_path / "store"
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=world)
    try:
        for case in CASES:
            out = run_case(case, root_path / f"{case}_distributed", distributed=True)
            torch.save(out, root_path / f"{case}_rank{rank}.pt")
    finally:
        dist.destroy_process_group()
