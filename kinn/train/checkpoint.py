"""Atomic checkpoint files and random-number-generator state capture.

A checkpoint is a plain dict of tensors, numbers, strings, lists and dicts, so it loads with
``torch.load(path, weights_only=True)``. Files are written to a temporary file of their own
and moved into place with ``os.replace`` (:mod:`kinn._files`): a crash mid-write leaves the
previous file intact, and concurrent writers never collide.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from kinn._files import atomic_write, atomic_write_text

__all__ = [
    "FORMAT",
    "CheckpointError",
    "atomic_save",
    "atomic_write_text",
    "load_checkpoint",
    "rng_state",
    "seed_everything",
    "set_rng_state",
]

FORMAT = "kinn.train/1"


def atomic_save(obj: Any, path: str | os.PathLike) -> Path:
    """``torch.save`` ``obj`` to ``path`` atomically; returns the path."""
    return atomic_write(path, lambda f: torch.save(obj, f))


class CheckpointError(ValueError):
    """A checkpoint that cannot be read, or that does not fit the run resuming from it."""


def load_checkpoint(path: str | os.PathLike, map_location: Any = "cpu") -> dict:
    """Load a trainer checkpoint (a file, or a run directory holding ``last.pt``).

    Raises:
        CheckpointError: (a ``ValueError``) if the path does not exist, cannot be read
            (truncated, not a ``torch.save`` file) or is not a kinn.train checkpoint; the
            message is one line naming the file.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "last.pt"
    if not path.is_file():
        raise CheckpointError(f"resume={str(path)!r}: expected an existing checkpoint file")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # torch.load fails in many ways: truncated zip, pickle, OSError
        reason = " ".join(str(err).split()) or type(err).__name__
        if len(reason) > 120:
            reason = reason[:117] + "..."
        raise CheckpointError(
            f"checkpoint {str(path)!r} cannot be read: it is truncated, corrupt or not a "
            f"torch.save file ({type(err).__name__}: {reason})"
        ) from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise CheckpointError(
            f"checkpoint {str(path)!r}: expected a checkpoint with format {FORMAT!r}"
        )
    return ckpt


def rng_state(generator: torch.Generator) -> dict:
    """Every RNG the run may draw from, as tensors and lists (weights_only-loadable)."""
    np_name, np_keys, np_pos, np_has_gauss, np_gauss = np.random.get_state()
    py_version, py_internal, py_gauss = random.getstate()
    state = {
        "torch": torch.get_rng_state(),
        "generator": generator.get_state(),
        "numpy": {
            "name": np_name,
            "keys": torch.from_numpy(np.asarray(np_keys, dtype=np.int64)),
            "pos": int(np_pos),
            "has_gauss": int(np_has_gauss),
            "gauss": float(np_gauss),
        },
        "python": {"version": py_version, "internal": list(py_internal), "gauss": py_gauss},
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict, generator: torch.Generator) -> None:
    """Restore what :func:`rng_state` captured."""
    torch.set_rng_state(state["torch"].cpu())
    generator.set_state(state["generator"].cpu())
    npy = state["numpy"]
    np.random.set_state(
        (
            npy["name"],
            npy["keys"].cpu().numpy().astype(np.uint32),
            npy["pos"],
            npy["has_gauss"],
            npy["gauss"],
        )
    )
    py = state["python"]
    random.setstate((py["version"], tuple(py["internal"]), py["gauss"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])


def seed_everything(seed: int) -> None:
    """Seed python ``random``, numpy and torch (CPU and CUDA) global generators.

    Call it before building the model so that its initialisation is reproducible too.
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
