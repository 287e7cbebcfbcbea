"""The accurate preset with self-scaled Broyden instead of L-BFGS on one suite problem.

PYTHONPATH=. python research/ssbroyden_energy.py {preset|ssb|ssb1000} MODEL [CASE]

Runs :func:`benchmarks.accuracy.run_kinn` with ``recipe="accurate"`` (float64, the energy
guard) and, for ``ssb``/``ssb1000``, the stages replaced; prints one JSON line with the final
error, CPU and wall seconds and the last validations (step, CPU s, error).
"""

import json
import sys

from benchmarks.accuracy import run_kinn

ADAM = {"optimizer": "adam", "lr": 5e-3, "scheduler": "cosine"}
STAGES = {
    "preset": None,
    "ssb": [{**ADAM, "steps": 2000}, {"optimizer": "ssbroyden", "steps": 500}],
    "ssb1000": [{**ADAM, "steps": 1000}, {"optimizer": "ssbroyden", "steps": 1000}],
}


def main(variant: str, model: str, case: str = "elasticity2d_energy") -> None:
    stages = STAGES[variant]
    run = run_kinn(
        case, model, "accurate", 1.0, trainer_options={"stages": stages} if stages else None
    )
    last = [(e["step"], round(e["cpu_s"], 1), e["err"]) for e in run["history"][-8:]]
    keys = ("err", "cpu_s", "wall_s", "steps", "params")
    record = {"variant": variant, "model": model, "case": case, **{k: run.get(k) for k in keys}}
    print(json.dumps({**record, "hist": last}))


if __name__ == "__main__":
    main(*sys.argv[1:])
