"""Distributed training: 2 gloo processes give the loss history of 1 process on the same points."""

import os
import warnings

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from distributed_helpers import CASES, run_case, worker

from kinn.train import Stage, Trainer
from kinn.train.distributed import Communicator

WORLD = 2


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """``{case: (one process, [rank 0, rank 1])}``: every case in one process here, and on a
    gloo group of two spawned processes."""
    root = tmp_path_factory.mktemp("distributed")
    dtype = torch.get_default_dtype()
    try:
        single = {case: run_case(case, root / f"{case}_single", False) for case in CASES}
    finally:
        torch.set_default_dtype(dtype)
    saved = os.environ.get("OMP_NUM_THREADS")
    os.environ["OMP_NUM_THREADS"] = "1"  # the children inherit it
    try:
        # fork: the children start with kinn and torch imported (spawn would import them
        # again, seconds each); they use one OpenMP thread, so no stale thread pool matters
        mp.start_processes(worker, (WORLD, str(root)), WORLD, join=True, start_method="fork")
    finally:
        if saved is None:
            os.environ.pop("OMP_NUM_THREADS")
        else:
            os.environ["OMP_NUM_THREADS"] = saved
    ranks = {
        case: [torch.load(root / f"{case}_rank{r}.pt", weights_only=False) for r in range(WORLD)]
        for case in CASES
    }
    return {case: (single[case], ranks[case]) for case in CASES}, root


def _close(a: float, b: float, scale: float = 0.0) -> bool:
    """``a == b`` to 1e-10 relative to the larger of them and ``scale`` (the step's total loss:
    a term 1e-3 of the loss carries the total's rounding, 1e-13 here, amplified by 10 steps)."""
    return abs(a - b) <= 1e-10 * max(abs(a), abs(b), abs(scale), 1e-300)


@pytest.mark.parametrize("case", CASES)
def test_two_processes_give_the_loss_history_of_one(runs, case):
    single, ranks = runs[0][case]
    rows = single["history"]
    assert len(rows) >= 6
    for rank in ranks:
        assert [r["step"] for r in rank["history"]] == [r["step"] for r in rows]
        for one, many in zip(rows, rank["history"]):
            for key, value in one.items():
                if key.startswith(("loss", "rel_l2", "weight_")):
                    assert _close(many[key], value, one.get("loss", 0.0)), (
                        case,
                        one["step"],
                        key,
                        many[key],
                        value,
                    )
    assert torch.allclose(ranks[0]["params"], single["params"], rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("case", ["strong", "energy"])
def test_each_rank_computes_on_its_block_and_the_blocks_are_the_whole_set(runs, case):
    single, ranks = runs[0][case]
    assert set(single["points"]) == {"pde" if case == "strong" else "energy"} | {
        "dirichlet_left",
        "dirichlet_right",
    }
    for name, x in single["points"].items():
        blocks = [rank["points"][name] for rank in ranks]
        assert all(0 < len(b) < len(x) for b in blocks)
        assert torch.equal(torch.cat(blocks), x)


@pytest.mark.parametrize("case", CASES)
def test_parameters_stay_bit_identical_across_ranks(runs, case):
    _, ranks = runs[0][case]
    assert torch.equal(ranks[0]["params"], ranks[1]["params"])


def test_every_stage_ran_and_trained(runs):
    single, _ = runs[0]["strong"]
    stages = {row["stage"] for row in single["history"]}
    assert stages == {0, 1, 2, 3}
    losses = [row["loss"] for row in single["history"]]
    assert losses[-1] < 0.1 * losses[0]


@pytest.mark.parametrize("case", ["resume", "resume_other_world"])
def test_resume_continues_a_run_exactly_on_two_ranks(runs, case):
    """From the two ranks' own checkpoint, or from one process's: checkpoints hold the whole
    point set, whatever the number of ranks that wrote them."""
    uninterrupted, _ = runs[0]["strong"]
    _, resumed = runs[0][case]
    a = [row["loss"] for row in uninterrupted["history"]]
    b = [row["loss"] for row in resumed[0]["history"]]
    assert len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b))


def test_rank_zero_alone_writes_files_and_an_objective_without_shard_is_replicated(runs):
    results, root = runs
    assert {p.name for p in (root / "strong_distributed").iterdir()} >= {
        "last.pt",
        "best.pt",
        "history.csv",
        "history.json",
    }
    assert not list(root.glob("strong_distributed/*.tmp"))
    single, ranks = results["replicated"]
    assert any("has no shard()" in w for w in ranks[0]["warnings"])
    assert torch.equal(ranks[0]["params"], single["params"])


def test_distributed_without_a_process_group_fails_with_a_clear_message():
    assert not dist.is_initialized()
    with pytest.raises(ValueError, match="torch.distributed must be initialised"):
        Communicator()
    model = torch.nn.Linear(1, 1)
    from kinn.train import Objective

    fit = Objective.from_losses(lambda m: {"fit": m(torch.ones(1, 1)).square().mean()})
    with pytest.raises(ValueError, match="torch.distributed must be initialised"):
        Trainer(model, fit, Stage("adam", 1), distributed=True)
    with pytest.raises(ValueError, match="distributed must be True or False, got 'yes'"):
        Trainer(model, fit, Stage("adam", 1), distributed="yes")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Trainer(model, fit, Stage("adam", 1), distributed=False, progress=False).fit()
