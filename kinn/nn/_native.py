"""The fused CPU kernel of uniform-grid B-spline KAN layers (C, compiled on first use).

The PyTorch path builds dense ``(N, I*(G+k))`` features and runs GEMMs over them; most of
them are zeros (k + 1 of every G + k). The kernel in ``_native_kan.c`` touches only the
non-zero bases and fuses the bases, the chain rule of the Taylor rows and the products with
the weights, forward and backward, so it does about (k + 2) / (G + k + 1) of the work and
allocates nothing but its outputs.

It is plain C with no Python or torch headers. The system C compiler (``cc``, or ``$CC``)
builds one small library per spline degree and floating type, in about 3 s the first time
that combination runs, into ``$KINN_CACHE_DIR`` (default ``~/.cache/kinn``), keyed by the
source, the compiler and the CPU; later runs load it from there. Without a working compiler,
or with ``KINN_NATIVE=0``, kinn uses the PyTorch path: same results, slower. Threads: the
points are split over ``torch.get_num_threads()`` OpenMP threads; the kernel links
``libgomp.so.1``, the runtime PyTorch has already loaded, so both share one thread pool
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

__all__ = ["available", "library", "forward", "backward", "Spec"]

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

_libs: dict[tuple[int, torch.dtype], tuple[ctypes.CDLL, bool]] = {}
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


_P, _I = ctypes.c_void_p, ctypes.c_int
_FORWARD_ARGS = [_P] * 11 + [_I] * 11 + [_P]
_BACKWARD_ARGS = [_P] * 10 + [_I] * 11 + [_P] * 3


def available() -> bool:
    """Whether the kernel is enabled (``KINN_NATIVE`` != 0) and has not failed to build."""
    return os.environ.get("KINN_NATIVE", "1") != "0" and _failed is None


def library(degree: int, dtype: torch.dtype):
    """The kernel for this degree and type, built on first use; None where unavailable."""
    global _failed, _openmp_works
    if not available():
        return None
    key = (degree, dtype)
    if key in _libs:
        return _libs[key]
    flags = [*_FLAGS, f"-DKINN_L={degree + 1}", f"-DKINN_DOUBLE={int(dtype == torch.float64)}"]
    # -fopenmp links libgomp.so.1, the soname PyTorch's own OpenMP runtime is loaded under:
    # the kernel then runs on PyTorch's thread pool instead of competing with it
    error = None
    for openmp in (True, False) if _openmp_works else (False,):
        try:
            lib = ctypes.CDLL(str(_build(flags + (["-fopenmp"] if openmp else []))))
        except (OSError, RuntimeError, subprocess.SubprocessError) as err:
            error = str(err)
            _openmp_works = False
            continue
        lib.kan_forward.argtypes, lib.kan_forward.restype = _FORWARD_ARGS, ctypes.c_int
        lib.kan_backward.argtypes, lib.kan_backward.restype = _BACKWARD_ARGS, ctypes.c_int
        _libs[key] = (lib, openmp)
        return _libs[key]
    _failed = error
    warnings.warn(
        f"kinn: the fused CPU KAN kernel is unavailable ({error}); using the slower PyTorch path",
        RuntimeWarning,
        stacklevel=2,
    )
    return None


def _ptr(t: torch.Tensor | None) -> int | None:
    return None if t is None else t.data_ptr()


def _parts(n: int, work: int, openmp: bool) -> int:
    """How many chunks (OpenMP threads) to split n points into; 1 when the work is small."""
    threads = max(1, torch.get_num_threads()) if openmp else 1
    return 1 if work < 1_000_000 else max(1, min(threads, n // 16))


def _check(code: int) -> None:
    if code == 1:
        raise MemoryError("kinn: the fused KAN kernel could not allocate its scratch memory")
    if code:
        raise RuntimeError(f"kinn: the fused KAN kernel was called wrongly (code {code})")


class Spec:
    """The fixed arguments of one layer call: grid, matrices, layout, base branch."""

    def __init__(self, lib, lo, inv_h, M, s0, s1, pa, pb, grid, degree, d, order, silu):
        self.lib, self.openmp = lib
        self.lo, self.inv_h, self.M, self.s0, self.s1 = lo, inv_h, M, s0, s1
        self.pa, self.pb = pa, pb
        self.grid, self.degree, self.d, self.order = grid, degree, d, order
        self.silu = silu  # the base table F is sigmoid(v); the kernel derives SiLU from it

    def args(self, J: torch.Tensor, O: int) -> list:
        """The pointer and size arguments the two kernels share, after their own leading ones."""
        R, N, I = J.shape
        tables = (self.lo, self.inv_h, self.M, self.s0, self.s1, self.pa, self.pb)
        sizes = [R, N, I, O, self.grid, self.degree, self.d, self.order, self.pa.numel()]
        return [*(_ptr(t) for t in tables), *sizes, self.silu]

    def work(self, J: torch.Tensor, O: int) -> int:
        """Multiply-adds of one pass over the weights: R N I (k + 2) O."""
        return J.numel() * (self.degree + 2) * O


def forward(spec: Spec, J, W, bias, F) -> torch.Tensor:
    """``(R, N, I)`` rows -> ``(R, N, O)``; F: base derivatives ``(order+1, N, I)`` or None."""
    R, N, _ = J.shape
    O = W.shape[1]
    out = J.new_empty(R, N, O)
    parts = _parts(N, spec.work(J, O), spec.openmp)
    args = [_ptr(J), _ptr(W), _ptr(bias), _ptr(F), *spec.args(J, O), parts]
    _check(spec.lib.kan_forward(*args, _ptr(out)))
    return out


def backward(spec: Spec, J, W, F, gy, need_j: bool, need_w: bool):
    """Gradients ``(gJ (R, N, I) or None, gW (IK + I, O) or None)`` from gy ``(R, N, O)``."""
    N = J.shape[1]
    O = W.shape[1]
    gJ = torch.empty_like(J) if need_j else None  # the kernel writes every entry
    parts = _parts(N, spec.work(J, O) * (int(need_j) + int(need_w)), spec.openmp)
    gWs = W.new_zeros(parts, *W.shape) if need_w else None
    args = [_ptr(J), _ptr(W), _ptr(F), *spec.args(J, O), parts]
    _check(spec.lib.kan_backward(*args, _ptr(gy), _ptr(gJ), _ptr(gWs)))
    gW = None if gWs is None else (gWs[0] if parts == 1 else gWs.sum(0))
    return gJ, gW
