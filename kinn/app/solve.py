"""One run: build the problem, network and trainer from the config, train, write outputs.

Errors about the config (a bad value, a checkpoint that does not fit, training that
diverges) are raised as :class:`ConfigError`; anything else propagates with its traceback.
"""

from __future__ import annotations

import inspect
import sys
import time
from pathlib import Path

import torch
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from kinn._files import atomic_write_text
from kinn.app.build import (
    ConfigError,
    build_network,
    build_problem,
    build_trainer,
    innermost_code,
    one_line,
    plain,
)
from kinn.app.ranks import join_ranks
from kinn.app.record import FINISHED, write_json
from kinn.io import write_result, write_time_series
from kinn.train import DivergenceError, seed_everything
from kinn.train.checkpoint import CheckpointError, load_checkpoint
from kinn.train.weighting import TermWeights
from kinn.viz import plot_field, plot_history

NOTHING_TO_DO = "nothing to do"


def resume_checkpoint(path: str) -> Path:
    """The checkpoint file that ``resume=path`` (a run directory or a ``.pt`` file) means."""
    p = Path(path).expanduser()
    for candidate in (p, p / "checkpoints" / "last.pt", p / "last.pt"):
        if candidate.is_file():
            return candidate
    raise ConfigError(
        f"resume={path!r}: no checkpoint there; expected a run directory holding "
        "checkpoints/last.pt, or a checkpoint file"
    )


def read_resume(path: str) -> tuple[Path, dict]:
    """The checkpoint file ``resume=path`` means, and its content; a file that cannot be
    read is a :class:`ConfigError` naming it and, when there is one, the intact ``best.pt``."""
    file = resume_checkpoint(path)
    try:
        return file, load_checkpoint(file)
    except CheckpointError as err:
        message = f"resume={path!r}: {one_line(str(err))}"
    for best in (file.parent / "best.pt", file.parent / "checkpoints" / "best.pt"):
        if best != file and best.is_file():
            try:
                step = load_checkpoint(best)["step"]
            except CheckpointError:
                continue
            message += f"; {best} (step {step}) is intact: kinn +resume={best}"
            break
    raise ConfigError(message)


def build_model(cfg: DictConfig) -> tuple:
    """``(problem, problem name, form, model, model name, objective, derivatives)`` from a
    composed config: what a run trains, and what :func:`kinn.load` rebuilds before it loads
    the weights."""
    problem, problem_name = build_problem(cfg.problem)
    form = plain(cfg.form) or getattr(problem, "default_form", None)
    net, model_name = build_network(cfg.model, problem.in_dim, problem.out_dim)
    model = problem.model(net)
    sampler = {k: v for k, v in plain(cfg.sampler).items() if k != "resample_every"}
    sampler = {("sampler" if k == "method" else k): v for k, v in sampler.items() if v is not None}
    derivatives = plain(cfg.derivatives)
    if derivatives != "auto":  # auto: the problem's own default
        sampler["derivatives"] = derivatives
    objective = _call_user(
        "problem.objective", lambda: problem.objective(model, form=form, **sampler)
    )
    return problem, problem_name, form, model, model_name, objective, derivatives


def solve(cfg: DictConfig, out_dir: Path | None = None, threads: int | None = None) -> dict:
    """Solve the configured problem; returns the metrics also written to ``metrics.json``
    (written last, with ``"status": "finished"``), or ``{"status": "nothing to do"}`` when
    ``resume`` names a run that already holds every configured step (no new directory)."""
    start = time.perf_counter()
    out = Path(out_dir or HydraConfig.get().runtime.output_dir).resolve()
    ranks = join_ranks(cfg, out)  # trainer.distributed: rank 0's folder, rank 0 writes
    out, main = (out, True) if ranks is None else (ranks.out_dir, ranks.is_main)
    out.mkdir(parents=True, exist_ok=True)
    resume, ckpt = read_resume(cfg.resume) if cfg.resume else (None, None)
    stages = plain(cfg.trainer.stages)
    if ckpt is not None and ckpt["step"] >= sum(s["steps"] for s in stages):
        if not main:
            return {"status": NOTHING_TO_DO}
        return _nothing_to_do(out, cfg.resume, resume, ckpt["step"], stages)
    if main:
        atomic_write_text(OmegaConf.to_yaml(cfg, resolve=True), out / "config.yaml")

    t = cfg.trainer
    seed_everything(int(t.seed))  # before the network exists: its initialisation repeats
    problem, problem_name, form, model, model_name, objective, derivatives = build_model(cfg)
    trainer = build_trainer(
        t,
        model,
        objective,
        resample_every=cfg.sampler.resample_every,
        out_dir=out / "checkpoints",
    )
    total = sum(s.steps for s in trainer.stages)
    parameters = sum(p.numel() for p in model.parameters() if p.requires_grad)
    if main:
        print(
            f"kinn: {problem_name} | {model_name} | form={form} | {parameters} parameters | "
            f"{total} steps"
            + (f" | {ranks.world_size} ranks" if ranks else "")
            + (f" | resuming {resume} at step {ckpt['step']}" if resume else ""),
            flush=True,
        )
    try:
        result = trainer.fit(resume=resume)
    except DivergenceError as err:
        raise ConfigError(str(err)) from None
    except CheckpointError as err:  # stages or dtype that do not match the checkpoint
        raise ConfigError(f"resume={cfg.resume!r}: {one_line(str(err))}") from None
    except ValueError as err:
        # The loss-term names are known only at the first step, where the trainer checks the
        # configured weights against them; any other ValueError is a bug and keeps its trace.
        if innermost_code(err) is not TermWeights.check_terms.__code__:
            raise
        raise ConfigError(f"trainer.weights: {one_line(str(err))}") from None
    except RuntimeError as err:
        if resume is None or "state_dict" not in str(err):
            raise
        raise ConfigError(
            f"resume={cfg.resume!r}: its network does not fit model={model_name} "
            f"({str(err).splitlines()[0].strip()}); expected the model the run was trained with"
        ) from None
    if not main:  # rank 0 evaluates the model and writes the outputs
        return {"status": FINISHED, "rank": ranks.rank, "final_loss": result.final_loss}
    _move_history(out)

    # The result the trainer returned, completed with the run: what kinn.load rebuilds.
    result.problem, result.config, result.run_dir = problem, plain(cfg), out
    evaluation = result.evaluate()
    validation = {}
    for row in result.history:
        validation.update({k: v for k, v in row.items() if not _is_training_column(k)})
    _write_fields(out, result, evaluation)
    metrics = {
        "status": FINISHED,
        "problem": problem_name,
        "model": model_name,
        "form": form,
        "derivatives": derivatives,
        "rel_l2": evaluation.rel_l2,
        "steps": result.steps,
        "wall_time_s": result.wall_time_s,
        "total_time_s": time.perf_counter() - start,
        "final_loss": result.final_loss,
        "best": result.best,
        "stop_reason": result.stop_reason,
        "parameters": parameters,
        "identified": _identified(problem),
        "validation": validation,
        "evaluation_points": int(evaluation.points.shape[0]),
        "dtype": plain(t.dtype),
        "device": str(trainer.device),
        "threads": threads,
        "ranks": ranks.world_size if ranks else 1,
        "seed": int(t.seed),
        "resumed_from": str(resume) if resume else None,
        "overrides": _overrides(),
        "run_dir": str(out),
    }
    result.metrics = metrics
    write_json(metrics, out / "metrics.json")
    _print_summary(metrics, out)
    return metrics


def _nothing_to_do(out: Path, given: str, resume: Path, step: int, stages: list[dict]) -> dict:
    """Say that the resumed run is complete; remove the folder Hydra made for this one."""
    last = len(stages) - 1
    print(
        f"kinn: nothing to do: {resume} is at step {step}, the end of this config's "
        f"{sum(s['steps'] for s in stages)} steps; to train longer, give more steps, e.g. "
        f"kinn +resume={given} trainer.stages.{last}.steps={stages[last]['steps'] + 500}",
        flush=True,
    )
    hydra_dir, hydra_files = out / ".hydra", {"config.yaml", "hydra.yaml", "overrides.yaml"}
    fresh = {p.name for p in out.iterdir()} <= {".hydra"} and (
        not hydra_dir.is_dir() or {p.name for p in hydra_dir.iterdir()} <= hydra_files
    )
    if fresh:  # only what Hydra wrote for this run: never a folder the user reused
        for name in hydra_files:
            (hydra_dir / name).unlink(missing_ok=True)
        if hydra_dir.is_dir():
            hydra_dir.rmdir()
        out.rmdir()
    return {"status": NOTHING_TO_DO, "resumed_from": str(resume), "steps": step}


def _call_user(where: str, fn):
    try:
        return fn()
    except (ValueError, TypeError) as err:
        raise ConfigError(f"{where}: {' '.join(str(err).split())}") from None


def _is_training_column(key: str) -> bool:
    fixed = ("step", "stage", "loss", "lr", "time_s")
    return key in fixed or key.startswith(("loss_", "weight_"))


def _move_history(out: Path) -> None:
    """The trainer keeps history beside its checkpoints; the run directory gets the final copy."""
    for name in ("history.csv", "history.json"):
        src = out / "checkpoints" / name
        if src.is_file():
            src.replace(out / name)


def _identified(problem) -> dict:
    """Unknown scalar constants an inverse problem learned: ``{name: {"value", "true"}}``."""
    params = getattr(problem, "parameters", None)
    if inspect.ismethod(params):
        params = params()
    if not hasattr(params, "items"):
        return {}
    out = {}
    for name, param in params.items():
        value = param.value() if callable(getattr(param, "value", None)) else param
        if getattr(param, "field", False) or not isinstance(value, torch.Tensor | int | float):
            continue  # a field k(x) has no single value
        if isinstance(value, torch.Tensor) and value.numel() != 1:
            continue
        true = getattr(param, "true", None)
        out[name] = {
            "value": float(value.detach() if isinstance(value, torch.Tensor) else value),
            "true": float(true) if isinstance(true, int | float) else None,
        }
    return out


def _overrides() -> list[str]:
    if not HydraConfig.initialized():
        return []
    return list(HydraConfig.get().overrides.task)


def _write_fields(out: Path, result, evaluation) -> None:
    """``fields.vtu`` (real cells; every field, reference and error), ``plots/<field>.png``
    for every field with a reference, ``plots/history.png``, and for a problem in space and
    time the slices ``fields_t/fields.pvd``."""
    write_result(result, out / "fields.vtu", evaluation)
    if hasattr(result.geometry, "timedomain"):
        write_time_series(result, out / "fields_t")
    plots = out / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    for name in evaluation.reference:
        figure = plot_field(result, name, evaluation)
        figure.savefig(plots / f"{name}.png", dpi=110)
    if result.history:
        plot_history(result).savefig(plots / "history.png", dpi=110)


def _print_summary(metrics: dict, out: Path) -> None:
    errors = "  ".join(f"rel_l2_{k}={v:.3e}" for k, v in metrics["rel_l2"].items())
    written = [
        name
        for name in (
            "metrics.json",
            "config.yaml",
            "history.csv",
            "fields.vtu",
            "fields_t/",
            "plots/",
        )
        if (out / name).exists()
    ]
    last = out / "checkpoints" / "last.pt"
    lines = [
        f"kinn: done in {metrics['wall_time_s']:.1f} s ({metrics['steps']} steps), "
        f"final loss {metrics['final_loss']:.4e}",
        f"  {errors}" if errors else "  (no reference solution: no errors)",
        *[
            f"  identified {k} = {v['value']:.6g}"
            + (f" (true {v['true']:.6g})" if v["true"] is not None else "")
            for k, v in metrics["identified"].items()
        ],
        f"  outputs: {out}",
        "    " + " ".join(written + ["checkpoints/last.pt"] * last.is_file()),
        *([f"  resume:  kinn +resume={out}"] if last.is_file() else []),
    ]
    print("\n".join(lines), file=sys.stdout, flush=True)
