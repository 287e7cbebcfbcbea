"""The fused CPU kernel of KAN layers (C, compiled on first use): building and calling it.

The PyTorch path builds dense ``(N, I*K)`` features and runs GEMMs over them; for B-splines
most of them are zeros (k + 1 of every G + k). The kernel in ``_native_kan.c`` touches only
the non-zero bases (all n + 1 for Chebyshev layers) and fuses the bases, the chain rule of
the Taylor rows and the products with the weights, forward and backward, allocating nothing
but its outputs. :mod:`kinn.nn._ops` registers it as torch ops and decides when it runs.

It is plain C with no Python or torch headers; its arguments are one struct, ``kan_args``
(``_native_kan.h``), mirrored here by :class:`Args` and checked field by field when a library
loads. The system C compiler (``cc``, or ``$CC``) builds one small library per number of
local bases L (B-spline degree + 1, Chebyshev degree + 1) and floating type, in about 3 s the
first time that combination runs, into ``$KINN_CACHE_DIR`` (default ``~/.cache/kinn``), keyed
by the source, the compiler and the CPU; later runs load it from there. Without a working
compiler, or with ``KINN_NATIVE=0``, kinn uses the PyTorch path: same results, slower.
Threads: the points are split over ``torch.get_num_threads()`` OpenMP threads; the kernel
links ``libgomp.so.1``, the runtime PyTorch has already loaded, so both share one thread pool
instead of competing.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile
import warnings
from pathlib import Path

import torch

__all__ = ["Args", "available", "call", "library", "parts"]

_SOURCE = Path(__file__).with_name("_native_kan.c")
_HEADER = Path(__file__).with_name("_native_kan.h")
_FLAGS = [
    "-O3",
    "-march=native",
    "-fno-math-errno",
    "-fassociative-math",
    "-fno-signed-zeros",
    "-fno-trapping-math",
    "-fPIC",
    "-shared",
]

_libs: dict[tuple[int, torch.dtype], tuple[ctypes.CDLL, bool]] = {}  # (L, dtype) ->
_failed: str | None = None
_openmp_works = True


def _cache_dir() -> Path:
    root = os.environ.get("KINN_CACHE_DIR")
    if root:
        return Path(root)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return Path(xdg) / "kinn" if xdg else Path.home() / ".cache" / "kinn"


def _cpu_id() -> str:
    """What -march=native depends on: a library built for one CPU may not run on another."""
    try:
        with open("/proc/cpuinfo") as f:
            lines = [ln for ln in f if ln.startswith(("model name", "flags"))]
        return "".join(sorted(set(lines)))
    except OSError:
        import platform

        return platform.processor() + platform.machine()


def _compiler() -> str | None:
    return os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")


def _build(flags: list[str]) -> Path:
    """The compiled library for ``flags`` (built once, then taken from the cache)."""
    cc = _compiler()
    if cc is None:
        raise RuntimeError("no C compiler found (set CC, or install gcc)")
    version = subprocess.run([cc, "--version"], capture_output=True, text=True, check=False)
    key = hashlib.sha256(
        _SOURCE.read_bytes()
        + _HEADER.read_bytes()
        + " ".join([cc, *flags]).encode()
        + version.stdout.encode()
        + _cpu_id().encode()
    ).hexdigest()[:16]
    target = _cache_dir() / f"kan_{key}.so"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # build beside the target and rename: concurrent processes never see a partial library
    fd, tmp = tempfile.mkstemp(suffix=".so", dir=target.parent)
    os.close(fd)
    try:
        out = subprocess.run(
            [cc, *flags, "-o", tmp, str(_SOURCE), "-lm"],
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode != 0:
            raise RuntimeError(f"{cc} failed: {out.stderr.strip()[-500:]}")
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


class Args(ctypes.Structure):
    """``kan_args`` of ``_native_kan.h``: every argument of one kernel call."""

    _fields_ = [
        *((name, ctypes.c_void_p) for name in ("J", "W", "bias", "F", "T", "lo", "inv_h")),
        *((name, ctypes.c_void_p) for name in ("M", "s0", "s1", "pa", "pb", "gy")),
        *((name, ctypes.c_void_p) for name in ("out", "gJ", "gW")),
        *((name, ctypes.c_int) for name in ("R", "N", "I", "O", "G", "L", "d", "order", "P")),
        *((name, ctypes.c_int) for name in ("silu", "basis", "parts")),
    ]


BSPLINE, CHEBYSHEV = 0, 1  # kan_args.basis


def _check_layout(lib: ctypes.CDLL) -> None:
    """The library's ``kan_args`` must be laid out exactly as :class:`Args`."""
    expected = [ctypes.sizeof(Args)] + [getattr(Args, name).offset for name, _ in Args._fields_]
    got = (ctypes.c_long * len(expected))()
    n = lib.kan_args_layout(got, len(expected))
    layout = list(got)[:n]
    if layout != expected:
        raise RuntimeError(f"kan_args layout mismatch: library {layout}, Python {expected}")


def available() -> bool:
    """Whether the kernel is enabled (``KINN_NATIVE`` != 0) and has not failed to build."""
    return os.environ.get("KINN_NATIVE", "1") != "0" and _failed is None


def library(n_local: int, dtype: torch.dtype):
    """``(lib, openmp)``: the kernel for L local bases and this type, built on first use;
    None where unavailable."""
    global _failed, _openmp_works
    if not available():
        return None
    key = (n_local, dtype)
    if key in _libs:
        return _libs[key]
    flags = [*_FLAGS, f"-DKINN_L={n_local}", f"-DKINN_DOUBLE={int(dtype == torch.float64)}"]
    # -fopenmp links libgomp.so.1, the soname PyTorch's own OpenMP runtime is loaded under:
    # the kernel then runs on PyTorch's thread pool instead of competing with it
    error = None
    for openmp in (True, False) if _openmp_works else (False,):
        try:
            lib = ctypes.CDLL(str(_build(flags + (["-fopenmp"] if openmp else []))))
            lib.kan_args_layout.argtypes = [ctypes.POINTER(ctypes.c_long), ctypes.c_int]
            lib.kan_args_layout.restype = ctypes.c_int
            _check_layout(lib)
        except (OSError, RuntimeError, subprocess.SubprocessError) as err:
            error = str(err)
            _openmp_works = False
            continue
        for fn in (lib.kan_forward, lib.kan_backward):
            fn.argtypes, fn.restype = [ctypes.POINTER(Args)], ctypes.c_int
        _libs[key] = (lib, openmp)
        return _libs[key]
    _failed = error
    warnings.warn(
        f"kinn: the fused CPU KAN kernel is unavailable ({error}); using the slower PyTorch path",
        RuntimeWarning,
        stacklevel=2,
    )
    return None


def parts(n: int, work: int, openmp: bool) -> int:
    """How many chunks (OpenMP threads) to split n points into; 1 when the work is small."""
    threads = max(1, torch.get_num_threads()) if openmp else 1
    return 1 if work < 1_000_000 else max(1, min(threads, n // 16))


def call(fn, args: Args) -> None:
    """Run ``lib.kan_forward`` or ``lib.kan_backward`` on ``args``."""
    code = fn(ctypes.byref(args))
    if code == 1:
        raise MemoryError("kinn: the fused KAN kernel could not allocate its scratch memory")
    if code:
        raise RuntimeError(f"kinn: the fused KAN kernel was called wrongly (code {code})")
