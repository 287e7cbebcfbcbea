"""Training on several processes: what the trainer, objectives and optimizers exchange.

Every rank holds the whole model and a share of the collocation and quadrature points. A
sharded objective returns each loss term's *share* (a mean square divided by the number of
points over all ranks, an integral summed over its own quadrature points), so the sum over
the ranks is the loss of the union of the shards; the trainer sums the shares and the
gradients across ranks (one flat all-reduce, as DDP's buckets do) and every rank then takes
the same step, keeping the parameters identical.

The trainer does not wrap the model in ``torch.nn.parallel.DistributedDataParallel``: DDP
averages gradients from hooks armed by a forward pass through its wrapper followed by one
``backward()``, while a PINN loss evaluates the network through jets several times per step,
line searches call their closure many times, and Gauss-Newton differentiates with
``torch.autograd.grad``. The explicit all-reduce covers all of these.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist

__all__ = ["Communicator", "init_distributed"]


class Communicator:
    """This rank's view of the default process group.

    ``rank`` and ``world_size`` as in :mod:`torch.distributed`; tensors handed to the
    collectives live on ``device`` (CPU tensors with gloo, this rank's GPU with NCCL).
    Every method is a collective: all ranks call it, in the same order.
    """

    def __init__(self, device: torch.device | str = "cpu"):
        if not (dist.is_available() and dist.is_initialized()):
            raise ValueError(
                "torch.distributed must be initialised (run under torchrun and call "
                "kinn.train.init_distributed()), got no process group"
            )
        self.rank, self.world_size = dist.get_rank(), dist.get_world_size()
        self.device = torch.device(device)

    @property
    def is_main(self) -> bool:
        """Whether this is rank 0, the rank that writes files."""
        return self.rank == 0

    def block(self, n: int) -> slice:
        """This rank's contiguous block of ``n`` items; the blocks in rank order tile
        ``range(n)``, so rows gathered in rank order come back in their original order."""
        return slice(self.rank * n // self.world_size, (self.rank + 1) * n // self.world_size)

    def sum(self, tensor: torch.Tensor) -> torch.Tensor:
        """The element-wise sum over the ranks (``tensor`` is overwritten and returned)."""
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        return tensor

    def max(self, tensor: torch.Tensor) -> torch.Tensor:
        """The element-wise maximum over the ranks (``tensor`` is overwritten and returned)."""
        dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
        return tensor

    def gather_rows(self, x: torch.Tensor) -> torch.Tensor:
        """Every rank's ``x (n_r, ...)`` stacked in rank order: ``(sum n_r, ...)``; the row
        counts may differ between ranks."""
        count = torch.tensor([x.shape[0]], device=x.device)
        counts = [torch.zeros_like(count) for _ in range(self.world_size)]
        dist.all_gather(counts, count)
        sizes = [int(c) for c in counts]
        padded = x.new_zeros((max(sizes), *x.shape[1:]))
        padded[: x.shape[0]] = x
        parts = [torch.empty_like(padded) for _ in range(self.world_size)]
        dist.all_gather(parts, padded)
        return torch.cat([part[:size] for part, size in zip(parts, sizes)])

    def broadcast(self, tensor: torch.Tensor) -> torch.Tensor:
        """Rank 0's ``tensor`` on every rank (overwritten in place and returned)."""
        dist.broadcast(tensor, src=0)
        return tensor

    def barrier(self) -> None:
        """Wait until every rank gets here (after rank 0 wrote a file the others read)."""
        dist.barrier()

    def broadcast_object(self, obj):
        """Rank 0's picklable ``obj`` on every rank."""
        box = [obj if self.is_main else None]
        dist.broadcast_object_list(box, src=0)
        return box[0]


def init_distributed(device: str | torch.device = "cpu") -> torch.device:
    """Join the process group that ``torchrun`` describes in the environment (``RANK``,
    ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``) and return this rank's
    device: ``cuda:LOCAL_RANK`` for ``device="cuda"`` (backend NCCL), else the CPU (gloo).

    Without those variables (a plain ``python`` process) it forms a group of one. Joining
    twice is harmless; the group lives until the process ends (or
    ``torch.distributed.destroy_process_group()``).
    """
    dev = torch.device(device)
    if dev.type == "cuda" and dev.index is None:
        dev = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'cpu' or 'cuda' for distributed training, got {device!r}")
    if dev.type == "cuda":
        torch.cuda.set_device(dev)  # NCCL's objects and broadcast_object_list use it
    if dist.is_initialized():
        return dev
    backend = "nccl" if dev.type == "cuda" else "gloo"
    if "RANK" in os.environ and "WORLD_SIZE" in os.environ:
        dist.init_process_group(backend)
    else:
        dist.init_process_group(backend, store=dist.HashStore(), rank=0, world_size=1)
    return dev
