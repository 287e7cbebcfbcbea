"""``trainer.distributed=true``: the ranks that ``torchrun`` started join one process group
and share rank 0's run directory, where rank 0 alone writes.

Each rank composes the config itself. Rank 0 claims the run folder as usual; the others
run Hydra in a scratch folder of their own (:mod:`kinn.app.cli`) and learn rank 0's folder
here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from omegaconf import DictConfig

from kinn.app.build import ConfigError, one_line, plain


@dataclass
class Ranks:
    """This process's place in a distributed run: ``rank``, ``world_size``, and the run
    directory of rank 0 that every rank uses."""

    rank: int
    world_size: int
    out_dir: Path

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def join_ranks(cfg: DictConfig, out: Path) -> Ranks | None:
    """Join torchrun's process group when ``trainer.distributed`` is true, and put this rank's
    device (``cuda:LOCAL_RANK`` for ``trainer.device=cuda``) into ``cfg.trainer.device``;
    ``None`` for a run of one process.

    Raises:
        ConfigError: torchrun started several processes but ``trainer.distributed`` is
            false (each would train alone and write into the same folder), or the device
            cannot be used.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if not cfg.trainer.distributed:
        if world > 1:
            raise ConfigError(
                f"trainer.distributed must be true under torchrun (WORLD_SIZE={world}), got "
                "false; add trainer.distributed=true"
            )
        return None
    from kinn.train import init_distributed
    from kinn.train.distributed import Communicator

    try:
        device = init_distributed(plain(cfg.trainer.device))
    except (ValueError, RuntimeError) as err:
        raise ConfigError(f"trainer.device={cfg.trainer.device!r}: {one_line(str(err))}") from None
    cfg.trainer.device = str(device)
    comm = Communicator(device)
    return Ranks(comm.rank, comm.world_size, Path(comm.broadcast_object(str(out))))
