"""Process-level settings for fast CPU training: the ``kinn`` command applies them to its own
process; importing kinn applies none of them.

Allocator. KAN layers allocate feature matrices of several MB on every step. glibc serves
blocks that large with fresh ``mmap`` calls and returns them on ``free``, so every step pays a
page fault per 4 KiB touched: on virtual machines that alone can cost more than the matrix
products. Raising the mmap and trim thresholds lets freed blocks be reused from the heap. This
is the allocator tuning PyTorch's CPU performance guide recommends; :func:`tune_allocator`
applies it (library users call it themselves; ``KINN_TUNE_MALLOC=0`` keeps the ``kinn``
command from applying it).

Threads. An OpenMP team is only as fast as its slowest thread: when another process holds a
core, the thread scheduled on it falls a time slice behind and the others spin at every
barrier, which makes a small network many times slower than one thread would be.
:func:`thread_count` sizes the team to the cores that are idle now, and
:data:`WAIT_POLICY_ENV` lets waiting threads sleep instead of spinning.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
import time

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD = 32 * 2**20  # glibc's largest allowed value
_TRIM_THRESHOLD = 512 * 2**20

# Read by libgomp when it is loaded (with torch): it must be in the environment before that.
WAIT_POLICY_ENV = "OMP_WAIT_POLICY"


def tune_allocator() -> bool:
    """Raise glibc's mmap/trim thresholds for this process; True when applied.

    Process-wide and irreversible: call it once at the start of a training script (the
    ``kinn`` command does, unless ``KINN_TUNE_MALLOC=0``). Does nothing off glibc.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl, ...): nothing to tune
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD)
    )


def usable_cpus() -> list[int]:
    """The CPUs this process may run on (its affinity mask where the platform has one)."""
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    return list(range(os.cpu_count() or 1))


def _cpu_times(cpus: list[int]) -> tuple[float, float] | None:
    """(idle, total) jiffies summed over ``cpus`` from /proc/stat, or None off Linux."""
    try:
        with open("/proc/stat") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    wanted = {f"cpu{c}" for c in cpus}
    idle = total = 0.0
    for line in lines:
        name, *values = line.split()
        if name in wanted:
            ticks = [float(v) for v in values[:8]]  # user .. steal; guest is inside user
            idle += ticks[3] + ticks[4]  # idle + iowait
            total += sum(ticks)
    return (idle, total) if total else None


def idle_cpus(interval: float = 0.1) -> float:
    """How many of :func:`usable_cpus` sat idle over the next ``interval`` seconds.

    Falls back to the number of usable CPUs where ``/proc/stat`` cannot be read.
    """
    cpus = usable_cpus()
    before = _cpu_times(cpus)
    if before is None:
        return float(len(cpus))
    time.sleep(interval)
    after = _cpu_times(cpus)
    if after is None or after[1] <= before[1]:
        return float(len(cpus))
    return len(cpus) * (after[0] - before[0]) / (after[1] - before[1])


def launcher_rank() -> int:
    """This process's rank under ``torchrun`` (its ``RANK`` variable), else 0."""
    return int(os.environ.get("RANK", "0"))


def local_ranks() -> int:
    """How many ranks ``torchrun`` started on this machine (``LOCAL_WORLD_SIZE``), else 1."""
    return max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))


def thread_count(threads: int | str = "auto", interval: float = 0.1, share: int = 1) -> int:
    """The number of intra-op threads for a run.

    ``threads`` is a positive integer (taken as is) or ``"auto"``: one thread per usable CPU
    that is at least 80 % idle now, divided among the ``share`` processes that start
    together on this machine (the ranks of a torchrun node), and at least one. Another busy
    process then costs this run its core instead of stalling every parallel region.
    """
    if threads == "auto":
        cpus = len(usable_cpus())
        return max(1, min(cpus, int(idle_cpus(interval) + 0.2)) // share)
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be 'auto' or a positive integer, got {threads!r}")
    return threads
