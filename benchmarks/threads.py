"""The ``kinn`` command's thread policy on a busy machine (one JSON object per line).

python -m benchmarks.threads [--cpus 0,1] [--steps 200] [--busy 0,1] [--repeat 1]

Runs ``kinn problem=poisson2d model=mlp`` (the case of issue #11.2) in a fresh process for
each thread setting, alone and beside ``--busy`` competing processes that each keep one core
busy (a Python spin loop), all pinned to ``--cpus``. Settings: the default (``threads=auto``:
as many threads as idle cores, waiting OpenMP threads sleep), and the manual ones a user could
pick: one thread; one thread per CPU with sleeping, spinning (``OMP_WAIT_POLICY=ACTIVE``) or
libgomp's default short spin (``GOMP_SPINCOUNT=300000``: what the command did before it had a
thread policy). Each line gives the training wall time (``metrics.json``'s ``wall_time_s``)
and its ratio to the best setting for the same number of competitors; a ``summary`` line per
competitor count says whether the default stays within 1.5x of the best.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SPIN = "while True: pass"


def settings(cpus: int) -> dict[str, dict[str, str]]:
    """Name -> environment additions; the default sets nothing."""
    n = str(cpus)
    return {
        "default (threads=auto)": {},
        "OMP_NUM_THREADS=1": {"OMP_NUM_THREADS": "1"},
        f"OMP_NUM_THREADS={n} (passive)": {"OMP_NUM_THREADS": n},
        f"OMP_NUM_THREADS={n} OMP_WAIT_POLICY=ACTIVE": {
            "OMP_NUM_THREADS": n,
            "OMP_WAIT_POLICY": "ACTIVE",
        },
        f"OMP_NUM_THREADS={n} GOMP_SPINCOUNT=300000 (before)": {
            "OMP_NUM_THREADS": n,
            "GOMP_SPINCOUNT": "300000",
        },
    }


def pinned(cpus: list[int]):
    return lambda: os.sched_setaffinity(0, cpus)


def run_kinn(env_extra: dict, cpus: list[int], steps: int, workdir: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMP_", "GOMP_", "MKL_"))}
    env.update(env_extra)
    env["PYTHONPATH"] = os.pathsep.join([str(Path.cwd()), env.get("PYTHONPATH", "")])
    run_dir = Path(tempfile.mkdtemp(dir=workdir))
    cmd = [
        sys.executable,
        "-m",
        "kinn",
        "problem=poisson2d",
        "model=mlp",
        f"trainer.stages.0.steps={steps}",
        "trainer.progress=false",
        f"hydra.run.dir={run_dir}",
    ]
    start = time.perf_counter()
    proc = subprocess.run(
        cmd, env=env, capture_output=True, text=True, preexec_fn=pinned(cpus), check=False
    )
    total = time.perf_counter() - start
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1]}
    metrics = json.loads((run_dir / "metrics.json").read_text())
    return {
        "train_s": round(metrics["wall_time_s"], 2),
        "process_s": round(total, 2),
        "threads": metrics.get("threads"),
        "rel_l2_u": metrics["rel_l2"]["u"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    usable = sorted(os.sched_getaffinity(0))
    parser.add_argument("--cpus", default=",".join(map(str, usable[:2])))
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--busy", default="0,1", help="numbers of competing busy processes")
    parser.add_argument("--repeat", type=int, default=1, help="runs per case (the best counts)")
    args = parser.parse_args()
    cpus = [int(c) for c in args.cpus.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        for busy in (int(b) for b in args.busy.split(",")):
            spinners = [
                subprocess.Popen([sys.executable, "-c", SPIN], preexec_fn=pinned(cpus))
                for _ in range(busy)
            ]
            try:
                time.sleep(1.0 if busy else 0.0)  # let the load show in /proc/stat
                rows = []
                for name, env in settings(len(cpus)).items():
                    runs = [run_kinn(env, cpus, args.steps, Path(tmp)) for _ in range(args.repeat)]
                    ok = [r for r in runs if "error" not in r]
                    best = min(ok, key=lambda r: r["train_s"]) if ok else runs[0]
                    rows.append({"setting": name, **best})
            finally:
                for p in spinners:
                    p.kill()
                    p.wait()
            times = [r["train_s"] for r in rows if "train_s" in r]
            fastest = min(times) if times else None
            for row in rows:
                if fastest and "train_s" in row:
                    row["ratio_to_best"] = round(row["train_s"] / fastest, 2)
                print(json.dumps({"cpus": cpus, "busy": busy, "steps": args.steps, **row}))
            default = rows[0].get("ratio_to_best")
            summary = {"default_ratio_to_best": default}
            summary["within_1.5x"] = default is not None and default <= 1.5
            print(json.dumps({"summary": True, "cpus": cpus, "busy": busy, **summary}), flush=True)


if __name__ == "__main__":
    main()
