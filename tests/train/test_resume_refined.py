"""Resuming into a network whose grid the checkpoint changed trains the loaded parameters."""

import torch
from train_helpers import SineFit

from kinn.nn import KAN
from kinn.train import Stage, Trainer


def refined_kan() -> KAN:
    torch.manual_seed(0)
    return KAN([1, 4, 1], grid=5).refine(10)


def trainer(model, out_dir, steps):
    stage = Stage("adam", steps, 1e-2)
    return Trainer(model, SineFit(), stage, validate_every=None, out_dir=out_dir, progress=False)


def test_resume_from_a_refined_checkpoint_into_a_coarse_network_continues_the_run(tmp_path):
    straight = trainer(refined_kan(), tmp_path / "straight", 8).fit()
    trainer(refined_kan(), tmp_path / "first", 4).fit()

    torch.manual_seed(1)
    coarse = KAN([1, 4, 1], grid=5)  # as a config rebuilds it: the checkpoint holds grid 10
    resumed = trainer(coarse, tmp_path / "second", 8)
    result = resumed.fit(resume=tmp_path / "first")
    layer = coarse.layers[0]
    assert layer.grid_size == 10
    params = {id(p) for p in coarse.parameters()}
    assert all(id(p) in params for p in resumed.params)  # the optimizer holds the live tensors
    assert result.final_loss == straight.final_loss  # bit for bit, as without the refine
