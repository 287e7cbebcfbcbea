"""Atomic files, checkpoint loading and RNG capture."""

import random

import numpy as np
import pytest
import torch

from kinn.train.checkpoint import atomic_save, load_checkpoint, rng_state, set_rng_state


def test_atomic_save_replaces_without_leaving_temp_files(tmp_path):
    path = tmp_path / "last.pt"
    atomic_save({"step": 1}, path)
    atomic_save({"step": 2, "w": torch.ones(2)}, path)
    assert torch.load(path, weights_only=True)["step"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.pt"]


def test_load_checkpoint_rejects_foreign_files(tmp_path):
    atomic_save({"step": 1}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="format"):
        load_checkpoint(tmp_path / "other.pt")
    with pytest.raises(ValueError, match="existing checkpoint"):
        load_checkpoint(tmp_path)  # a directory without last.pt


def test_rng_state_round_trips_every_generator_through_weights_only_load(tmp_path):
    gen = torch.Generator().manual_seed(3)
    torch.manual_seed(1), np.random.seed(1), random.seed(1)
    np.random.normal()  # leaves a cached Gaussian in numpy's state
    atomic_save({"rng": rng_state(gen)}, tmp_path / "rng.pt")
    first = (torch.rand(2), torch.rand(2, generator=gen), np.random.rand(), random.random())
    set_rng_state(torch.load(tmp_path / "rng.pt", weights_only=True)["rng"], gen)
    again = (torch.rand(2), torch.rand(2, generator=gen), np.random.rand(), random.random())
    assert torch.equal(first[0], again[0]) and torch.equal(first[1], again[1])
    assert first[2:] == again[2:]
