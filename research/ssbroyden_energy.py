"""The accurate preset's polish, self-scaled Broyden against L-BFGS, on one suite problem.

PYTHONPATH=. python research/ssbroyden_energy.py {preset|lbfgs|ssb|ssb1000} MODEL [CASE]

Runs :func:`benchmarks.accuracy.run_kinn` with ``recipe="accurate"`` (float64, the energy
guard) and, except for ``preset``, the stages replaced: ``lbfgs`` is the preset before
2026-12-03 (2000 Adam steps, 100 steps of 20 L-BFGS iterations), ``ssb1000`` the stages the
preset has had since (1000 Adam steps, 1000 SSBroyden iterations), ``ssb`` 2000 + 500.
Prints one JSON line with the final error, CPU and wall seconds and the last validations
(step, CPU s, error). Lines measured: ``research/results/elasticity2d_energy_ssbroyden.jsonl``
(before the dense update became one rank-2 product) and
``research/results/accurate_ssbroyden_full.jsonl`` (after; its ``preset`` line is the
L-BFGS preset of the time).
"""

import json
import sys

from benchmarks.accuracy import run_kinn

ADAM = {"optimizer": "adam", "lr": 5e-3, "scheduler": "cosine"}
STAGES = {
    "preset": None,
    "lbfgs": [
        {**ADAM, "steps": 2000},
        {"optimizer": "lbfgs", "steps": 100, "max_iter": 20, "history_size": 50},
    ],
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
