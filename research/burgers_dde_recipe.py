"""Burgers with DeepXDE's recipe inside kinn: is it the preset or the network?

PYTHONPATH=. python research/burgers_dde_recipe.py {kan|kan_chebyshev|mlp}

Trains kinn's network on the suite's ``burgers`` problem with ``recipe="dde"`` (5000 Adam
steps at lr 1e-3, then L-BFGS, float64: DeepXDE's recipe) and prints one JSON line: final
error, CPU seconds, every fourth validation (step, CPU s, error). Lines measured:
``research/results/burgers_dde_recipe.jsonl``.
"""

import json
import sys

from benchmarks.accuracy import run_kinn


def main(model: str) -> None:
    run = run_kinn("burgers", model, "dde", 1.0)
    hist = [(h["step"], round(h["cpu_s"], 1), h["err"]) for h in run["history"][::4]]
    keys = ("err", "cpu_s", "steps")
    print(json.dumps({"model": model, "recipe": "dde", **{k: run[k] for k in keys}, "hist": hist}))


if __name__ == "__main__":
    main(*sys.argv[1:])
