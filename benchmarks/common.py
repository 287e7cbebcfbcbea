"""Shared timing and memory helpers for the benchmarks (one JSON object per line)."""

from __future__ import annotations

import importlib.util
import json
import resource
import statistics
import subprocess
import sys
import time


def timeit(fn, repeat: int = 20, warmup: int = 3) -> float:
    """Median wall time of ``fn()`` in milliseconds."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_isolated(module: str, case: dict) -> dict:
    """Run ``python -m module --case JSON`` in a fresh process; return its JSON line.

    A fresh process per case gives an honest peak-memory figure (the high-water mark of the
    resident set above the level before the case ran).
    """
    out = subprocess.run(
        [sys.executable, "-m", module, "--case", json.dumps(case)],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        return {**case, "error": out.stderr.strip().splitlines()[-1:] or ["failed"]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(step, repeat: int = 20) -> dict:
    """Peak memory of one ``step()`` above the level before it, then its median time."""
    before = rss_mib()
    step()
    peak = peak_rss_mib() - before
    return {"ms": round(timeit(step, repeat=repeat), 3), "peak_mib": round(peak, 1)}


def pykan_available(benchmark: str) -> bool:
    """Whether pykan is installed; prints a note line when it is not.

    Looked up without importing it: importing pykan sets process-wide OpenMP variables
    (``KMP_INIT_AT_FORK``, ...) that the case subprocesses would inherit, which changed the
    MLP's and kinn's timings and peak memory.
    """
    if importlib.util.find_spec("kan") is None:
        print(json.dumps({"benchmark": benchmark, "note": "pykan not installed; skipped"}))
        return False
    return True
