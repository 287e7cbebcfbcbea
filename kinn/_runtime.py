"""Process-level settings that make CPU training fast.

KAN layers allocate feature matrices of several MB on every step. glibc serves blocks that
large with fresh ``mmap`` calls and returns them on ``free``, so every step pays a page fault
per 4 KiB touched: on virtual machines that alone can cost more than the matrix products.
Raising the mmap and trim thresholds lets freed blocks be reused from the heap. This is the
allocator tuning PyTorch's CPU performance guide recommends; set ``KINN_TUNE_MALLOC=0`` to
leave the allocator alone.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD = 32 * 2**20  # glibc's largest allowed value
_TRIM_THRESHOLD = 512 * 2**20


def tune_allocator() -> bool:
    """Raise glibc's mmap/trim thresholds once per process; True when applied."""
    if os.environ.get("KINN_TUNE_MALLOC", "1") == "0" or not sys.platform.startswith("linux"):
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
