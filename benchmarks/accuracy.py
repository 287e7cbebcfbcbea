"""Accuracy suite: kinn's KANs and MLP against DeepXDE's tanh-MLP recipe on PDE problems.

python -m benchmarks.accuracy [--problems a,b] [--models kan,kan_chebyshev,mlp,deepxde]
       [--recipe default] [--quick | --scale S] [--threads 1] [--out benchmarks/results/accuracy]
       [--reuse earlier.json]

Every (problem, model) pair runs in its own process. kinn models come from the shipped
configs (``conf/model/<name>.yaml``, overrides as ``kan:degree=5:hidden=[32,32]``) and
train through the documented API (``Problem.objective``, ``Trainer``, ``Stage``) with a named
recipe (``RECIPES``); DeepXDE (``DDE_BACKEND=pytorch``, float64) trains a [64]*3 tanh MLP with
5000 Adam steps (lr 1e-3) then L-BFGS, on the same problem and points budget. Errors are
relative L2 on each problem's dense evaluation set (>= 10k points, never the training points),
recorded every few steps against the training's CPU time and wall time (validations' own cost
removed), so the error of every model at the DeepXDE run's time can be read off. Equal-time
figures use CPU seconds: on a shared machine other processes inflate wall time.

Writes ``<out>.json`` (every run with its history) and ``<out>.md`` (tables), and prints one
JSON object per run. ``--reuse`` takes the runs of an earlier ``<out>.json`` at the same scale
for the (problem, model) pairs this run does not run (DeepXDE's, say, while kinn changes),
and marks them ``reused`` in both files.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
CONF = Path(importlib.import_module("kinn.conf").__file__).resolve().parent  # conf/ in a checkout
MODELS = ("kan", "kan_chebyshev", "mlp", "deepxde")
QUICK = 0.06  # step scale of --quick
HISTORY_POINTS = 40  # validations per run


# ---- recipes -----------------------------------------------------------------------------


def _conf_trainer(name: str) -> dict:
    from omegaconf import OmegaConf

    cfg = OmegaConf.to_container(OmegaConf.load(CONF / "trainer" / f"{name}.yaml"))
    cfg.pop("defaults", None)
    return cfg


def _scaled(steps: int, scale: float) -> int:
    return max(10, round(steps * scale))


def _conf_recipe(name: str, scale: float) -> dict:
    """The stages of ``conf/trainer/<name>.yaml`` (options flattened, steps scaled) and its
    dtype (float32 where it sets none, as the app's schema)."""
    cfg = _conf_trainer(name)
    stages = []
    for s in cfg["stages"]:
        s = dict(s)
        options = s.pop("options", None) or {}
        stages.append({**s, **options, "steps": _scaled(s["steps"], scale)})
    return {"stages": stages, "dtype": cfg.get("dtype", "float32")}


def recipe_default(scale: float) -> dict:
    """The shipped ``trainer=adam_lbfgs`` config as the app runs it (float32 unless set)."""
    return _conf_recipe("adam_lbfgs", scale)


def recipe_dde(scale: float) -> dict:
    """DeepXDE's recipe: 5000 Adam steps at lr 1e-3, then L-BFGS (its tolerances), float64."""
    lbfgs = {"tolerance_grad": 1e-8, "tolerance_change": 0.0, "history_size": 100}
    return {
        "stages": [
            {"optimizer": "adam", "steps": _scaled(5000, scale), "lr": 1e-3},
            {"optimizer": "lbfgs", "steps": _scaled(LBFGS_ITERATIONS, scale), "lr": 1.0, **lbfgs},
        ],
        "dtype": "float64",
    }


LBFGS_ITERATIONS = 2000  # DeepXDE's L-BFGS iterations (its default 15000 runs for many minutes)


def recipe_study(scale: float) -> dict:
    """The recipe research/REPORT.md recommends with today's optimizers: float64, Adam at
    lr 5e-3 with a cosine schedule, then L-BFGS with 20 iterations per step (same iteration
    budget as DeepXDE's) and no early stop on small changes."""
    lbfgs = {"max_iter": 20, "tolerance_grad": 1e-10, "tolerance_change": 0.0, "history_size": 50}
    return {
        "stages": [
            {"optimizer": "adam", "steps": _scaled(5000, scale), "lr": 5e-3, "scheduler": "cosine"},
            {
                "optimizer": "lbfgs",
                "steps": _scaled(LBFGS_ITERATIONS // 20, scale),
                "lr": 1.0,
                **lbfgs,
            },
        ],
        "dtype": "float64",
    }


def recipe_accurate(scale: float) -> dict:
    """The shipped ``trainer=accurate`` preset (``kinn.train.accurate``), float64."""
    return _conf_recipe("accurate", scale)


RECIPES = {
    "default": recipe_default,
    "dde": recipe_dde,
    "study": recipe_study,
    "accurate": recipe_accurate,
}


# ---- kinn runs ---------------------------------------------------------------------------


def build_network(spec: str, in_dim: int, out_dim: int) -> torch.nn.Module:
    """A network from ``conf/model/<name>.yaml`` (``kinn.conf``) with ``:key=value`` overrides."""
    import yaml
    from omegaconf import OmegaConf

    from kinn.app.build import build_network as from_config

    name, *overrides = spec.split(":")
    cfg = OmegaConf.to_container(OmegaConf.load(CONF / "model" / f"{name}.yaml"))
    cfg.pop("defaults", None)
    for item in overrides:
        key, _, value = item.partition("=")
        cfg[key] = yaml.safe_load(value)
    net, _ = from_config(cfg, in_dim, out_dim)
    return net


class _Timed:
    """Wraps a validation function to time itself (wall and CPU), so reported times exclude it."""

    def __init__(self, fn):
        self.fn, self.wall, self.cpu = fn, 0.0, 0.0

    def __call__(self, *args):
        w, c = time.perf_counter(), time.process_time()
        out = self.fn(*args)
        self.wall += time.perf_counter() - w
        self.cpu += time.process_time() - c
        return out


class Clock:
    """Wall and CPU seconds since ``start()``, less the time spent in validations.

    On a shared machine CPU time is the fairer clock: other processes inflate wall time.
    """

    def start(self):
        self.wall0, self.cpu0 = time.perf_counter(), time.process_time()

    def read(self, timer) -> tuple[float, float]:
        wall = time.perf_counter() - self.wall0 - timer.wall
        return round(wall, 3), round(time.process_time() - self.cpu0 - timer.cpu, 3)


def headline(metrics: dict, fields) -> float:
    """Mean relative L2 error over ``fields`` (NaN if any is missing or non-finite)."""
    values = [metrics.get(f"rel_l2_{f}", math.nan) for f in fields]
    return float(np.mean(values))


def run_kinn(
    case_name: str,
    model: str | torch.nn.Module,
    recipe: str | dict = "default",
    scale: float = 1.0,
    *,
    seed: int = 0,
    trainer_options: dict | None = None,
    callbacks=(),
    points: dict | None = None,
) -> dict:
    """Train one kinn model on one suite problem; returns the run's record with its history.

    ``model`` is a config spec (``"kan:degree=5"``) or a bare network; ``recipe`` a name of
    ``RECIPES`` or a dict ``{"stages": [Stage kwargs], "dtype": ..., **Trainer kwargs}``;
    ``points`` overrides the case's collocation budget (``{"n_interior": 512}``).
    """
    from benchmarks.accuracy_problems import CASES
    from kinn.train import Stage, Trainer, seed_everything
    from kinn.train.recipes import energy_guards

    case = CASES[case_name]
    spec = RECIPES[recipe](scale) if isinstance(recipe, str) else dict(recipe)
    spec = {**spec, **(trainer_options or {})}
    dtype = {"float32": torch.float32, "float64": torch.float64}[str(spec.pop("dtype"))]
    stage_specs = spec.pop("stages")
    stages = [Stage(**dict(s)) for s in stage_specs]
    total = sum(s.steps for s in stages)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        problem = case.problem()
        seed_everything(seed)
        net = (
            build_network(model, problem.in_dim, problem.out_dim)
            if isinstance(model, str)
            else model
        )
        params = sum(p.numel() for p in net.parameters())
        wrapped = problem.model(net)
        objective = problem.objective(wrapped, case.form, **{**case.points, **(points or {})})
        timer, clock = _Timed(objective.validate), Clock()
        objective.validate = timer
        history = []

        def record(row):
            if any(k.startswith("rel_l2_") for k in row):
                wall, cpu = clock.read(timer)
                entry = {"step": row["step"], "time_s": wall, "cpu_s": cpu, "loss": row["loss"]}
                entry["err"] = headline(row, case.metrics)
                history.append(entry)

        # the accurate recipe refines the rule of an energy run that starts fitting it
        guards = energy_guards(wrapped, objective, total) if recipe == "accurate" else []
        trainer = Trainer(
            wrapped,
            objective,
            stages,
            dtype=dtype,
            seed=seed,
            validate_every=max(1, total // HISTORY_POINTS),
            log_every=max(1, total // HISTORY_POINTS),
            checkpoint_every=None,
            progress=False,
            callbacks=[record, *guards, *callbacks],
            **spec,
        )
        status, steps = "ok", 0
        clock.start()
        try:
            steps = trainer.fit().steps
        except Exception as err:  # noqa: BLE001 - a diverged run is a result too
            status = f"{type(err).__name__}: {str(err)[:200]}"
        wall, cpu = clock.read(timer)
        final = objective.validate(wrapped)
        # the final parameters may not be the last validated ones (the energy guard puts its
        # best back at the end): the history ends with what the run returns
        final_err = headline(final, case.metrics)
        if not history or history[-1]["err"] != final_err:
            last = {"step": steps, "time_s": wall, "cpu_s": cpu, "loss": None, "err": final_err}
            history.append(last)
    finally:
        torch.set_default_dtype(previous)
    out = {
        "problem": case_name,
        "model": model if isinstance(model, str) else type(model).__name__,
        "recipe": recipe if isinstance(recipe, str) else "custom",
        "seed": seed,
        "params": params,
        "status": status,
        "steps": steps,
        "wall_s": wall,
        "cpu_s": cpu,
        "err": final_err,
        "errors": {k: v for k, v in final.items() if k.startswith(("rel_l2_", "param_"))},
        "history": history,
    }
    return out


# ---- DeepXDE runs --------------------------------------------------------------------------


def run_deepxde(
    case_name: str,
    scale: float = 1.0,
    seed: int = 0,
    *,
    case=None,
    hidden: tuple[int, ...] = (64, 64, 64),
    adam_steps: int = 5000,
) -> dict:
    """DeepXDE's recipe on one suite problem (call in a fresh process: it sets a backend):
    a tanh MLP ``[d, *hidden, m]``, ``adam_steps`` Adam steps (lr 1e-3), then L-BFGS.
    ``case`` (an :class:`~benchmarks.accuracy_problems.Case`) replaces the suite's
    ``CASES[case_name]``, for problems outside the suite (``benchmarks.kinn_table``)."""
    os.environ["DDE_BACKEND"] = "pytorch"
    import deepxde as dde

    from benchmarks.accuracy_problems import CASES

    dde.config.set_default_float("float64")
    dde.config.set_random_seed(seed)
    case = CASES[case_name] if case is None else case
    spec = case.deepxde(dde)
    points, reference = case.evaluation()
    ref = {k: np.asarray(v) for k, v in reference.items()}
    kw = {"num_domain": spec["num_domain"], "num_boundary": spec.get("num_boundary", 0)}
    if "anchors" in spec:
        kw["anchors"] = spec["anchors"]
    if "num_initial" in spec:
        data = dde.data.TimePDE(
            spec["geom"], spec["pde"], spec["bcs"], num_initial=spec["num_initial"], **kw
        )
    else:
        data = dde.data.PDE(spec["geom"], spec["pde"], spec["bcs"], **kw)
    out_dim = len(case.problem().fields) if case.name != "plate_hole" else 2
    net = dde.nn.FNN([points.shape[1], *hidden, out_dim], "tanh", "Glorot uniform")
    if spec.get("transform") is not None:
        net.apply_output_transform(spec["transform"])
    model = dde.Model(data, net)
    variables = spec.get("variables", {})
    raw = [v[0] for v in variables.values()]
    names = case.problem().fields

    adam_steps = _scaled(adam_steps, scale)
    lbfgs_steps = _scaled(LBFGS_ITERATIONS, scale)
    every = max(1, (adam_steps + lbfgs_steps) // HISTORY_POINTS)
    history: list[dict] = []

    def errors() -> dict:
        pred = model.predict(points)
        if "combine" in spec:  # outputs -> the reference's fields (e.g. one per subdomain)
            fields = spec["combine"](points, pred)
        else:
            fields = {name: pred[:, i] for i, name in enumerate(names)}
        out = {}
        for name, value in fields.items():
            if name in ref:
                diff = np.linalg.norm(value - ref[name]) / np.linalg.norm(ref[name])
                out[f"rel_l2_{name}"] = float(diff)
        for key, (var, value, true) in variables.items():
            out[f"param_{key}"] = value(var)
            out[f"param_{key}_rel_err"] = abs(value(var) - true) / abs(true)
        return out

    timer, clock = _Timed(errors), Clock()

    class History(dde.callbacks.Callback):
        def on_epoch_end(self):
            step = model.train_state.step
            if step % every and not lbfgs_phase[0]:
                return
            wall, cpu = clock.read(timer)
            m = timer()
            entry = {"step": step, "time_s": wall, "cpu_s": cpu}
            history.append({**entry, "err": headline(m, case.metrics)})

    lbfgs_phase = [False]
    weights = spec.get("weights")
    status = "ok"
    clock.start()
    try:
        model.compile("adam", lr=1e-3, loss_weights=weights, external_trainable_variables=raw)
        model.train(iterations=adam_steps, callbacks=[History()], display_every=10**9, verbose=0)
        dde.optimizers.config.set_LBFGS_options(maxiter=lbfgs_steps)
        # DeepXDE reads a step of exactly one iteration as convergence: chunks of >= 2
        chunk = max(2, every)
        dde.optimizers.config.LBFGS_options["iter_per_step"] = chunk
        dde.optimizers.config.LBFGS_options["fun_per_step"] = int(chunk * 1.25)
        lbfgs_phase[0] = True
        model.compile("L-BFGS", loss_weights=weights, external_trainable_variables=raw)
        model.train(callbacks=[History()], display_every=10**9, verbose=0)
    except Exception as err:  # noqa: BLE001
        status = f"{type(err).__name__}: {str(err)[:200]}"
    wall, cpu = clock.read(timer)
    final = errors()
    return {
        "problem": case_name,
        "model": "deepxde",
        "recipe": "deepxde",
        "seed": seed,
        "params": sum(p.numel() for p in net.parameters()),
        "status": status,
        "steps": int(model.train_state.step),
        "wall_s": wall,
        "cpu_s": cpu,
        "err": headline(final, case.metrics),
        "errors": final,
        "history": history,
    }


# ---- the suite -----------------------------------------------------------------------------


def run_isolated(job: dict, threads: int) -> dict:
    """One job in a fresh process (its own backend, threads and memory)."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    env["DDE_BACKEND"] = "pytorch"
    cmd = [sys.executable, "-m", "benchmarks.accuracy", "--job", json.dumps(job)]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    if out.returncode != 0 or not lines:
        tail = (out.stderr.strip().splitlines() or ["failed"])[-1]
        return {**job, "status": f"crashed: {tail}", "err": math.nan, "history": []}
    return json.loads(lines[-1])


def _job(job: dict) -> dict:
    torch.set_num_threads(job["threads"])
    if job["model"] == "deepxde":
        return run_deepxde(job["problem"], job["scale"], job.get("seed", 0))
    return run_kinn(
        job["problem"], job["model"], job["recipe"], job["scale"], seed=job.get("seed", 0)
    )


CLOCK = "cpu_s"  # the clock of "equal time" comparisons (see Clock)


def error_at(history: list[dict], t: float) -> float:
    """The last validated error at or before time ``t`` (NaN if none was by then)."""
    before = [h["err"] for h in history if h[CLOCK] <= t]
    return before[-1] if before else math.nan


def time_to(history: list[dict], err: float) -> float:
    """Time at which the run first reached ``err`` (NaN if never)."""
    hit = [h[CLOCK] for h in history if h["err"] <= err]
    return hit[0] if hit else math.nan


def compare(runs: list[dict]) -> None:
    """Add each run's error at the DeepXDE run's wall time and its time to DeepXDE's error."""
    for problem in {r["problem"] for r in runs}:
        group = [r for r in runs if r["problem"] == problem]
        dde = next((r for r in group if r["model"] == "deepxde" and r.get("history")), None)
        for r in group:
            if dde is not None:
                r["err_at_dde_time"] = error_at(r.get("history", []), dde[CLOCK])
                r["time_to_dde_err"] = time_to(r.get("history", []), dde["err"])


def _fmt(v, spec=".2e") -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, spec)


def _budget(args) -> str:
    return "full" if args.scale == 1.0 else f"{'quick ' if args.quick else ''}{args.scale:g} x"


def markdown(runs: list[dict], args) -> str:
    from benchmarks.accuracy_problems import CASES

    models = sorted(
        dict.fromkeys(r["model"] for r in runs),
        key=lambda m: MODELS.index(m) if m in MODELS else len(MODELS),
    )
    lines = [
        "# kinn accuracy suite",
        "",
        f"recipe `{args.recipe}`, {_budget(args)} budgets, "
        f"{args.threads} thread(s). err: mean relative L2 error of the headline fields on the "
        "dense evaluation set; times are CPU seconds of training (validations excluded; on a "
        "shared machine CPU time is fairer than wall time, which is also in the JSON); "
        "@dde t: error when the run had used as much time as the whole DeepXDE run; "
        "t to dde: seconds to first reach DeepXDE's final error.",
        "",
        "| problem | class | " + " | ".join(models) + " |",
        "|---|---|" + "---|" * len(models),
    ]
    for problem in dict.fromkeys(r["problem"] for r in runs):
        cells = []
        for m in models:
            r = next((r for r in runs if r["problem"] == problem and r["model"] == m), None)
            cells.append(
                "-" if r is None else f"{_fmt(r['err'])} ({_fmt(r.get('cpu_s'), '.0f')} s)"
            )
        lines.append(f"| {problem} | {CASES[problem].cls} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "| problem | model | err | fields | cpu s | wall s | steps | @dde t | t to dde | params "
        "| status |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        fields = ", ".join(
            f"{k.removeprefix('rel_l2_').removeprefix('param_')} {_fmt(v, '.2e')}"
            for k, v in r.get("errors", {}).items()
            if isinstance(v, float)
        )
        lines.append(
            f"| {r['problem']} | {r['model']} | {_fmt(r['err'])} | {fields} | "
            f"{_fmt(r.get('cpu_s'), '.1f')} | {_fmt(r.get('wall_s'), '.1f')} | "
            f"{r.get('steps', '-')} | "
            f"{_fmt(r.get('err_at_dde_time'))} | {_fmt(r.get('time_to_dde_err'), '.1f')} | "
            f"{r.get('params', '-')} | {r['status']}{' (reused)' if r.get('reused') else ''} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None):
    from benchmarks.accuracy_problems import CASES

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", default=",".join(CASES))
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--recipe", default="default", help=f"one of {sorted(RECIPES)}")
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument("--quick", action="store_true", help=f"--scale {QUICK}: a smoke run")
    budget.add_argument(
        "--scale", type=float, default=1.0, help="fraction of every budget (kinn and DeepXDE)"
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="benchmarks/results/accuracy")
    parser.add_argument("--reuse", help="an earlier <out>.json: its runs of pairs not run here")
    parser.add_argument("--job", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.job:
        print(json.dumps(_job(json.loads(args.job))), flush=True)
        return
    if not 0 < args.scale <= 1:
        parser.error(f"--scale must be in (0, 1], got {args.scale!r}")
    if args.quick:
        args.scale = QUICK
    if args.recipe not in RECIPES:
        parser.error(f"--recipe must be one of {sorted(RECIPES)}, got {args.recipe!r}")
    problems = [p for p in args.problems.split(",") if p]
    unknown = [p for p in problems if p not in CASES]
    if unknown:
        parser.error(f"--problems must be names from {sorted(CASES)}, got {unknown!r}")
    have_dde = True
    try:
        import importlib.util

        have_dde = importlib.util.find_spec("deepxde") is not None
    except ValueError:
        have_dde = False
    runs = (
        reused_runs(args.reuse, args.scale, problems, args.models.split(",")) if args.reuse else []
    )
    for problem in problems:
        for model in args.models.split(","):
            if model == "deepxde" and (not have_dde or CASES[problem].deepxde is None):
                continue
            job = {
                "problem": problem,
                "model": model,
                "recipe": args.recipe,
                "scale": args.scale,
                "threads": args.threads,
                "seed": args.seed,
            }
            r = run_isolated(job, args.threads)
            runs.append(r)
            print(json.dumps({k: v for k, v in r.items() if k != "history"}), flush=True)
            write(runs, args)  # after every run: a stopped suite keeps what it measured
    print(f"wrote {args.out}.md and {args.out}.json", file=sys.stderr)


def reused_runs(path: str, scale: float, problems: list[str], models: list[str]) -> list[dict]:
    """The runs of an earlier suite file for ``problems`` whose model is not in ``models``,
    marked ``reused``; the file must have been run at ``scale``."""
    try:
        earlier = json.loads(Path(path).read_text())
    except (OSError, ValueError) as err:
        raise SystemExit(f"--reuse must name a suite JSON file, got {path!r}: {err}") from err
    if earlier.get("args", {}).get("scale") != scale:
        got = earlier.get("args", {}).get("scale")
        raise SystemExit(f"--reuse file {path!r} ran at scale {got!r}, this run at {scale!r}")
    keep = [
        {**r, "reused": path}
        for r in earlier["runs"]
        if r["problem"] in problems and r["model"] not in models
    ]
    return sorted(keep, key=lambda r: problems.index(r["problem"]))


def write(runs: list[dict], args) -> None:
    compare(runs)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    Path(f"{out}.json").write_text(json.dumps({"args": vars(args), "runs": runs}, indent=1))
    Path(f"{out}.md").write_text(markdown(runs, args))


if __name__ == "__main__":
    main()
