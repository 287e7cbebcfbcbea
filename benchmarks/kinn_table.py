"""The KINN benchmark table: every problem of KINN's paper, trained by kinn and beside it the
published figure (issue 13).

python -m benchmarks.kinn_table [--rows kinn_koch_strong,...] [--models kan,kan_chebyshev,...]
       [--quick] [--threads 1] [--out benchmarks/results/kinn_table]

Each row is an experiment config (``conf/experiment/kinn_*.yaml``) composed with Hydra's
compose API exactly as ``kinn experiment=<row>`` composes it, then trained by the app's own
:func:`kinn.app.solve.solve`. Per row, in its own process each:

- ``kan``: the experiment as it stands (KINN's B-spline KAN and budget);
- ``kan_chebyshev``: the same hidden widths and trainer with Chebyshev edge functions;
- ``mlp``: KINN's MLP baseline, tanh ``[in, 30, 30, 30, 30, out]``, the same trainer;
- ``kan_best``: kinn's best setting for the row (:data:`BEST`; float64, L-BFGS or
  self-scaled Broyden stages from ``conf/trainer/``), never more steps than KINN's budget;
- ``deepxde`` (strong-form rows with a DeepXDE version, when ``deepxde`` imports): DeepXDE's
  recipe, tanh ``[in, 30, 30, 30, 30, out]`` in float64, 2500 Adam steps (lr 1e-3) then
  2000 L-BFGS iterations (:func:`benchmarks.accuracy.run_deepxde`).

A row whose experiment config is missing from this checkout is reported as an error row naming
the config. Prints one JSON object per run, and writes ``<out>.json`` and ``<out>.md``.
Wall times are the training's own (validation included for kinn, the app's measure); on a
shared machine they grow with the load.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MODELS = ("kan", "kan_chebyshev", "mlp", "kan_best", "deepxde")
MLP30 = [30, 30, 30, 30]  # KINN's MLP baseline (without its residual adds) and DeepXDE's net
QUICK_STEPS = 6  # steps per stage with --quick


@dataclass
class Row:
    """One line of the issue's table.

    Args:
        experiment: the experiment config, ``kinn experiment=<experiment>``.
        problem, form: what the line is.
        kan, mlp: KINN's published relative L2 errors (``field -> error``; empty: none).
        budget: KINN's network and budget, as published.
        deepxde: a factory of the :class:`~benchmarks.accuracy_problems.Case` that DeepXDE
            solves (strong-form rows), or None.
    """

    experiment: str
    problem: str
    form: str
    kan: dict
    mlp: dict
    budget: str
    deepxde: object = None
    note: str = ""
    published: dict = field(default_factory=dict)


# ---- DeepXDE versions of the strong-form rows ---------------------------------------------


def koch_case():
    """The Koch snowflake for DeepXDE: soft Dirichlet values (its usual recipe)."""
    import torch

    from benchmarks.accuracy_problems import Case, _numpy
    from problems.koch import LEVEL, SIDE, dense_points, exact, koch
    from problems.koch import koch_snowflake as snowflake

    def evaluation():
        points = dense_points(snowflake(LEVEL, SIDE))
        return points, {"u": exact(torch.as_tensor(points))[:, 0].numpy()}

    def dde_problem(dde):
        geom = dde.geometry.Polygon(snowflake(LEVEL, SIDE).vertices)

        def pde(x, y):
            return dde.grad.hessian(y, x, i=0, j=0) + dde.grad.hessian(y, x, i=1, j=1)

        value = _numpy(lambda x: exact(x)[:, 0])
        bc = dde.icbc.DirichletBC(geom, value, lambda _, on: on)
        return {"geom": geom, "pde": pde, "bcs": [bc], "num_domain": 1024, "num_boundary": 256}

    return Case("koch", "KINN", koch, "strong", {}, evaluation, dde_problem, ("u",), "KINN")


def crack_case():
    """KINN's CPINN crack for DeepXDE: an MLP with one output per half, the Laplacian of the
    half's output at each point, soft values on the outer edges and the crack faces,
    continuity of ``u`` and ``du/dy`` at ligament points (DeepXDE's point-set conditions)."""
    import torch

    from benchmarks.accuracy_problems import Case, _numpy
    from problems.crack import _branch, crack, dense_points, exact

    n = 200
    s = (np.arange(n) + 0.5) / n
    face = np.stack([-s, np.zeros(n)], 1)
    ligament = np.stack([s, np.zeros(n)], 1)

    def evaluation():
        points = dense_points()
        return points, {"u": exact(torch.as_tensor(points))[:, 0].numpy()}

    def dde_problem(dde):
        geom = dde.geometry.Rectangle([-1, -1], [1, 1])
        branch = _numpy(_branch)

        def pde(x, y):
            lap = [
                dde.grad.hessian(y, x, component=k, i=0, j=0)
                + dde.grad.hessian(y, x, component=k, i=1, j=1)
                for k in (0, 1)
            ]
            return torch.where(x[:, 1:2] >= 0, lap[0], lap[1])

        def dy(k):
            return lambda x, y, _: dde.grad.jacobian(y, x, i=k, j=1)

        bcs = [
            dde.icbc.DirichletBC(geom, branch, lambda x, on: on and x[1] >= 0, component=0),
            dde.icbc.DirichletBC(
                geom, lambda x: -branch(x), lambda x, on: on and x[1] <= 0, component=1
            ),
            dde.icbc.PointSetBC(face, np.sqrt(s)[:, None], component=0),
            dde.icbc.PointSetBC(face, -np.sqrt(s)[:, None], component=1),
            dde.icbc.PointSetOperatorBC(
                ligament, np.zeros((n, 1)), lambda x, y, _: y[:, 0:1] - y[:, 1:2]
            ),
            dde.icbc.PointSetOperatorBC(
                ligament, np.zeros((n, 1)), lambda x, y, X: dy(0)(x, y, X) - dy(1)(x, y, X)
            ),
        ]

        def combine(points, pred):
            return {"u": np.where(points[:, 1] >= 0, pred[:, 0], pred[:, 1])}

        return {"geom": geom, "pde": pde, "bcs": bcs, "num_domain": 4096,
                "num_boundary": 256, "combine": combine}  # fmt: skip

    def problem():
        return crack(subdomains=True, hard=False)

    return Case("crack", "KINN", problem, "strong", {}, evaluation, dde_problem, ("u",), "KINN")


def heat_case():
    """The multi-scale heat equation for DeepXDE: soft initial and boundary values."""
    import torch

    from benchmarks.accuracy_problems import Case, _numpy
    from problems.heat_multiscale import K, dense_points, exact, heat_multiscale, initial

    def evaluation():
        points = dense_points()
        return points, {"u": exact(torch.as_tensor(points))[:, 0].numpy()}

    def dde_problem(dde):
        geom = dde.geometry.GeometryXTime(
            dde.geometry.Interval(0, 1), dde.geometry.TimeDomain(0, 1)
        )

        def pde(x, y):
            return dde.grad.jacobian(y, x, i=0, j=1) - dde.grad.hessian(y, x, i=0, j=0) / K**2

        on = lambda _, b: b  # noqa: E731
        bcs = [
            dde.icbc.DirichletBC(geom, lambda x: np.zeros((len(x), 1)), on),
            dde.icbc.IC(geom, _numpy(initial), on),
        ]
        return {
            "geom": geom,
            "pde": pde,
            "bcs": bcs,
            "num_domain": 2048,
            "num_boundary": 256,
            "num_initial": 256,
        }

    return Case(
        "heat_multiscale", "KINN", heat_multiscale, "strong", {}, evaluation, dde_problem,
        ("u",), "KINN",
    )  # fmt: skip


def plate_case():
    from benchmarks.accuracy_problems import plate_hole_case

    return plate_hole_case()


ROWS = [
    Row("kinn_crack_energy", "mode-III crack", "energy (triangles)", {"u": 6.55e-3},
        {"u": 1.94e-2}, "KAN [2,5,5,1] G10, Adam 1e-3, 2500 it"),
    Row("kinn_crack_energy_mc", "mode-III crack", "energy (Monte Carlo)", {"u": 1.13e-2},
        {"u": 2.43e-2}, "KAN [2,5,5,1] G10, Adam 1e-3, 2500 it"),
    Row("kinn_crack_cpinn", "mode-III crack", "strong, two subdomains (CPINN)", {"u": 2.99e-2},
        {"u": 6.25e-2}, "KAN [2,5,5,1] G10, Adam 1e-3, 2500 it", crack_case),
    Row("kinn_plate_energy", "plate with a hole", "energy", {"u_mag": 9.19e-4, "mises": 5.17e-3},
        {"u_mag": 1.54e-3, "mises": 1.15e-2}, "KAN [2,5,5,5,2] G15, 8000 it"),
    Row("kinn_plate_strong", "plate with a hole", "strong", {"u_mag": 6.30e-3, "mises": 4.81e-3},
        {"u_mag": 1.23e-2, "mises": 9.19e-3}, "KAN [2,8,8,8,2] G10, 30000 it", plate_case),
    Row("kinn_plate_inverse", "plate with a hole", "inverse (E)", {}, {},
        "not published: E within 0.5%"),
    Row("kinn_beam_energy", "Neo-Hookean beam", "energy (Simpson)",
        {"uy": 2.18e-3, "mises": 0.106}, {"uy": 1.75e-2, "mises": 0.119},
        "KAN [2,5,5,5,2] G15, L-BFGS 1000x20"),
    Row("kinn_composite_energy", "heterogeneous composite", "energy", {"u": 1.13e-2},
        {"u": 1.52e-1}, "KAN [2,5,5,1] G20, 100000 it"),
    Row("kinn_koch_strong", "Koch snowflake", "strong", {"u": 1.19e-2}, {"u": 1.94e-2},
        "KAN [2,5,5,5,1] G10 k2, 2500 it", koch_case),
    Row("kinn_koch_energy", "Koch snowflake", "energy", {"u": 1.56e-2}, {"u": 1.28e-2},
        "KAN [2,5,5,1] G3 k2, 2500 it"),
    Row("kinn_heat_strong", "multi-scale heat", "strong", {}, {},
        "KAN [2,5,5,1] G100, 5000 it", heat_case),
]  # fmt: skip
ROW = {r.experiment: r for r in ROWS}

# kinn's best setting per row: model overrides and float64 stages (never more steps than the
# row's budget), or AS_IS: the experiment's own model and stages in float64. Rows not listed
# take the experiment's model with conf/trainer/adam_lbfgs's stages in float64, the Adam steps
# cut to fit the budget.
AS_IS = "experiment"
BEST = {
    # the experiment's Adam on points redrawn every step (a line search would chase them)
    "kinn_heat_strong": AS_IS,
    # Chebyshev edges and self-scaled Broyden in float64; on the fixed collocation points the
    # error is lowest near here (6.7e-4 at step 2000, 1.7e-3 after 4500 steps)
    "kinn_crack_cpinn": {
        "model": {"name": "kan_chebyshev", "basis": "chebyshev", "hidden": [10, 10], "degree": 6},
        "stages": [
            {"optimizer": "adam", "steps": 500, "lr": 5e-3, "scheduler": "cosine"},
            {"optimizer": "ssbroyden", "steps": 2000},
        ],
    },
    # Adam alone: L-BFGS's line search on Monte Carlo points redrawn every 100 steps chases
    # their noise (2.6e-2 with conf/trainer/adam_lbfgs's stages, 2.1e-3 with Adam)
    "kinn_crack_energy_mc": AS_IS,
    # the experiment's 100 Adam + 1000 self-scaled Broyden steps (L-BFGS stalls on this
    # ill-conditioned strong form: README)
    "kinn_plate_strong": AS_IS,
    # as conf/experiment/kinn_koch_best.yaml. Soft boundary values, as DeepXDE's recipe: the
    # 48-edge hard lifting's blend has large second derivatives at the snowflake's corners,
    # which the strong form must then cancel
    "kinn_koch_strong": {
        "problem": {"hard": False},
        "model": {"name": "kan_chebyshev", "basis": "chebyshev", "hidden": [8, 8], "degree": 6},
        "stages": [
            {"optimizer": "adam", "steps": 300, "lr": 5e-3, "scheduler": "cosine"},
            {"optimizer": "ssbroyden", "steps": 500},
        ],
    },
    "kinn_koch_energy": {
        "model": {"name": "kan_chebyshev", "basis": "chebyshev", "hidden": [8, 8], "degree": 6},
        "stages": [
            {"optimizer": "adam", "steps": 300, "lr": 5e-3, "scheduler": "cosine"},
            {"optimizer": "ssbroyden", "steps": 700},
        ],
    },
}


# ---- composing a run -----------------------------------------------------------------------


def compose(overrides: list[str]):
    """The app's config for ``overrides`` (as ``kinn <overrides>`` composes it)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from kinn.app import schema

    schema.register()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        return hydra_compose(config_name="config", overrides=overrides)


def _trainer_stages(name: str) -> list[dict]:
    from omegaconf import OmegaConf

    cfg = OmegaConf.to_container(OmegaConf.load(ROOT / "conf" / "trainer" / f"{name}.yaml"))
    return cfg["stages"]


def _model_node(name: str) -> dict:
    from omegaconf import OmegaConf

    return OmegaConf.to_container(compose([f"model={name}"]).model)


def run_config(row: str, model: str, quick: bool):
    """The composed config of one run (an error string if the experiment is missing)."""
    from hydra.errors import MissingConfigException
    from omegaconf import OmegaConf

    try:
        cfg = compose([f"experiment={row}", "trainer.progress=false"])
    except MissingConfigException:
        return _missing(row)
    # plain containers: the runs below replace typed nodes (stages, the model) with new ones
    cfg = OmegaConf.create(OmegaConf.to_container(cfg, resolve=True, enum_to_str=True))
    hidden = list(cfg.model.hidden)
    budget = sum(int(s.steps) for s in cfg.trainer.stages)
    if model == "kan_chebyshev":
        cfg.model = {**_model_node("kan_chebyshev"), "hidden": hidden}
    elif model == "mlp":
        cfg.model = {**_model_node("mlp"), "hidden": MLP30, "activation": "tanh"}
    elif model == "kan_best":
        best = BEST.get(row)
        if best == AS_IS:
            stages = OmegaConf.to_container(cfg.trainer.stages)
        elif best is not None:
            node = _model_node(
                "kan_chebyshev" if best["model"].get("basis") == "chebyshev" else "kan"
            )
            cfg.model = {**node, **best["model"]}
            cfg.problem = {**cfg.problem, **best.get("problem", {})}
            stages = best["stages"]
        else:
            stages = [dict(s) for s in _trainer_stages("adam_lbfgs")]
            stages[0]["steps"] = max(1, min(stages[0]["steps"], budget - stages[1]["steps"]))
        cfg.trainer.stages = stages
        cfg.trainer.dtype = "float64"
    if quick:
        cfg.trainer.stages = [
            {**s, "steps": QUICK_STEPS} for s in OmegaConf.to_container(cfg.trainer.stages)
        ]
    total = sum(int(s.steps) for s in cfg.trainer.stages)
    # at least ten validations; more where the experiment asks (its energy guard acts there)
    every = max(1, total // 10)
    cfg.trainer.validate_every = total if quick else min(cfg.trainer.validate_every or every, every)
    cfg.trainer.checkpoint_every = None
    return cfg


def _missing(row: str) -> str:
    return f"missing config: conf/experiment/{row}.yaml is not in this checkout"


def run_kinn(row: str, model: str, quick: bool, threads: int) -> dict:
    """Train one (row, model) through :func:`kinn.app.solve.solve`; the run's record."""
    from kinn.app.solve import solve

    cfg = run_config(row, model, quick)
    if isinstance(cfg, str):
        return {"row": row, "model": model, "status": f"error: {cfg}"}
    with tempfile.TemporaryDirectory(prefix="kinn_table-") as out:
        with contextlib.redirect_stdout(sys.stderr):  # stdout carries the JSON record only
            metrics = solve(cfg, out_dir=Path(out), threads=threads)
    return {
        "row": row,
        "model": model,
        "status": "ok",
        "network": metrics["model"],
        "parameters": metrics["parameters"],
        "steps": metrics["steps"],
        "wall_s": metrics["wall_time_s"],
        "dtype": metrics["dtype"],
        "rel_l2": metrics["rel_l2"],
        "identified": metrics["identified"],
    }


def run_dde(row: str, quick: bool) -> dict:
    from benchmarks.accuracy import run_deepxde

    spec = ROW[row]
    if spec.deepxde is None:
        return {"row": row, "model": "deepxde", "status": "skipped: " + (spec.note or "no version")}
    case = spec.deepxde()
    scale = QUICK_STEPS / 2500 if quick else 1.0
    out = run_deepxde(case.name, scale, case=case, hidden=tuple(MLP30), adam_steps=2500)
    return {
        "row": row,
        "model": "deepxde",
        "status": out["status"],
        "network": "tanh MLP [30]*4 (DeepXDE)",
        "parameters": out["params"],
        "steps": out["steps"],
        "wall_s": out["wall_s"],
        "dtype": "float64",
        "rel_l2": {
            k[len("rel_l2_") :]: v for k, v in out["errors"].items() if k.startswith("rel_l2_")
        },
        "identified": {},
    }


def _job(job: dict) -> dict:
    import torch

    torch.set_num_threads(job["threads"])
    if job["model"] == "deepxde":
        return run_dde(job["row"], job["quick"])
    return run_kinn(job["row"], job["model"], job["quick"], job["threads"])


def run_isolated(job: dict) -> dict:
    """One job in a fresh process (its own backend, dtype and threads)."""
    threads = str(job["threads"])
    env = {**os.environ, "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
    env["DDE_BACKEND"] = "pytorch"
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    cmd = [sys.executable, "-m", "benchmarks.kinn_table", "--job", json.dumps(job)]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    if out.returncode != 0 or not lines:
        tail = (out.stderr.strip().splitlines() or ["failed"])[-1]
        return {"row": job["row"], "model": job["model"], "status": f"crashed: {tail}"}
    return json.loads(lines[-1])


# ---- the table -----------------------------------------------------------------------------


def _e(v) -> str:
    return "-" if v is None or (isinstance(v, float) and not math.isfinite(v)) else f"{v:.2e}"


def _errors(d: dict) -> str:
    return ", ".join(f"{k} {_e(v)}" for k, v in d.items()) or "-"


def markdown(runs: list[dict], meta: dict) -> str:
    lines = [
        f"KINN benchmark table, {meta['date']} on {meta['machine']} "
        f"({meta['threads']} thread(s){', quick budgets' if meta['quick'] else ''}).",
        "",
        "| problem | form | model | parameters | steps | wall s | rel. L2 (kinn) | KINN KAN | "
        "KINN MLP | KINN budget |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        row = ROW[r["row"]]
        if r["status"] != "ok":
            errors = r["status"]
        else:
            errors = _errors(r.get("rel_l2", {}))
            ident = r.get("identified") or {}
            errors += "".join(
                f"; {k} = {v['value']:.6g}" for k, v in ident.items() if isinstance(v, dict)
            )
        lines.append(
            f"| {row.problem} | {row.form} | {r['model']} | {r.get('parameters', '-')} | "
            f"{r.get('steps', '-')} | {_e(r.get('wall_s')) if 'wall_s' in r else '-'} | "
            f"{errors} | {_errors(row.kan)} | {_errors(row.mlp)} | {row.budget} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", default=",".join(ROW), help="comma-separated experiment names")
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--quick", action="store_true", help=f"{QUICK_STEPS} steps per stage")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "kinn_table"))
    ap.add_argument("--job", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.job:
        print(json.dumps(_job(json.loads(args.job))), flush=True)
        return 0
    rows, models = args.rows.split(","), args.models.split(",")
    for name, allowed, what in ((rows, ROW, "--rows"), (models, MODELS, "--models")):
        bad = [n for n in name if n not in allowed]
        if bad:
            ap.error(f"{what} must be among {list(allowed)}, got {bad[0]!r}")
    has_dde = _importable("deepxde")
    runs = []
    for row in rows:
        if not (ROOT / "conf" / "experiment" / f"{row}.yaml").exists():
            record = {"row": row, "model": "-", "status": f"error: {_missing(row)}"}
            print(json.dumps(record), flush=True)
            runs.append(record)
            continue
        for model in models:
            if model == "deepxde" and ROW[row].deepxde is None:
                continue
            if model == "deepxde" and not has_dde:
                record = {"row": row, "model": model, "status": "skipped: deepxde not installed"}
            else:
                job = {"row": row, "model": model, "quick": args.quick, "threads": args.threads}
                record = run_isolated(job)
            print(json.dumps(record), flush=True)
            runs.append(record)
    meta = {
        "date": datetime.date.today().isoformat(),
        "machine": f"{platform.machine()} {platform.processor() or platform.system()}, "
        f"{os.cpu_count()} cores",
        "threads": args.threads,
        "quick": args.quick,
    }
    from kinn._files import atomic_write_text

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(json.dumps({"meta": meta, "runs": runs}, indent=1), out.with_suffix(".json"))
    atomic_write_text(markdown(runs, meta), out.with_suffix(".md"))
    return 0


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


if __name__ == "__main__":
    sys.exit(main())
