"""The training loop: stages, weights, resampling, validation, checkpoints, exact resume."""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from kinn.train.checkpoint import (
    FORMAT,
    CheckpointError,
    atomic_save,
    load_checkpoint,
    rng_state,
    seed_everything,
    set_rng_state,
)
from kinn.train.distributed import Communicator
from kinn.train.history import History
from kinn.train.monitor import main_metric, parse_early_stopping, should_stop, update_best
from kinn.train.objective import Objective, overrides
from kinn.train.progress import ProgressLine
from kinn.train.result import Result
from kinn.train.stages import Stage
from kinn.train.weighting import TermWeights

_DTYPES = {"float32": torch.float32, "float64": torch.float64}
RESTART = "restart"  # a callback's answer: parameters or objective changed, restart the optimizer


class DivergenceError(RuntimeError):
    """Training produced a non-finite loss, loss term, gradient or parameter.

    Attributes:
        step: the step (1-based) that failed; stage: its stage index; terms: what was
        non-finite; checkpoint: path of the last good checkpoint on disk, or ``None``.
    """

    def __init__(self, message: str, step: int, stage: int, terms: list[str], checkpoint):
        super().__init__(message)
        self.step, self.stage, self.terms, self.checkpoint = step, stage, terms, checkpoint


# The older name of the result object.
TrainResult = Result


class _NonFinite(Exception):
    def __init__(self, what: list[str]):
        super().__init__(what)
        self.what = what


@dataclass
class _Run:
    """Mutable progress of one run; everything here is saved in checkpoints."""

    step: int = 0
    stage: int = 0
    stage_step: int = 0
    elapsed_s: float = 0.0
    history: History = field(default_factory=History)
    best: dict = field(default_factory=dict)
    stopper: dict = field(default_factory=dict)
    last_checkpoint: str | None = None
    last_checkpoint_step: int | None = None


class Trainer:
    """Trains ``model`` on ``objective`` through a sequence of :class:`Stage`.

    Args:
        model: the network; moved to ``device``/``dtype``.
        objective: an :class:`Objective` (wrap a plain function ``fn(model) -> dict[str,
            Tensor]`` of unweighted scalar loss terms as ``Objective.from_losses(fn)``).
        stages: one :class:`Stage` or a sequence, run in order (e.g. Adam then L-BFGS).
        weights: static weight per term name (default 1 for each).
        adaptive: ``None``, ``"gradnorm"``, ``"lra"`` or a dict with ``method``, ``alpha``,
            ``update_every``, ``reference`` (see :mod:`kinn.train.weighting`).
        resample_every: call ``objective.resample(generator)`` every k steps of first-order
            stages (quasi-Newton and Gauss-Newton stages keep their points: line searches
            and curvature pairs need a fixed loss).
        validate_every: call ``objective.validate(model)`` every k steps, at the end of each
            stage and at the end (``None``: never).
        log_every: add a history row every k steps (and at every validation and stage end).
        checkpoint_every: write ``last.pt`` every k steps, at stage ends and at the end.
        out_dir: directory for ``last.pt``, ``best.pt``, ``history.csv``, ``history.json``
            (``None``: keep nothing on disk).
        seed: seeds python, numpy and torch at the start of a fresh run, and the trainer's
            own CPU ``torch.Generator`` handed to ``resample``.
        device: where to train.
        dtype: ``torch.float32`` or ``torch.float64`` (or their names); ``None`` follows
            ``torch.get_default_dtype()`` at construction.
        early_stopping: ``{"monitor": "loss" or a metric, "patience": steps,
            "min_delta": 0.0, "mode": "min" or "max"}``; stops the whole run once the monitor
            has not improved by ``min_delta`` for ``patience`` steps.
        progress: show a one-line progress display on stderr (only when it is a TTY).
        max_grad_norm: clip the total gradient norm to this value in first-order stages
            (a line search and curvature pairs need the loss's true gradient).
        callbacks: callables ``cb(row)`` run after each history row; returning ``True``
            stops the run, returning ``RESTART`` (``"restart"``) says the callback changed
            the parameters or the objective (e.g. :class:`EnergyGuard` refining the
            quadrature): the optimizer forgets its state (moments, curvature pairs) and the
            stage goes on; ``None``/``False`` change nothing.
        distributed: train on every rank of the initialised ``torch.distributed`` process
            group (see :func:`kinn.train.init_distributed`). An objective with ``shard``
            keeps one share of the points per rank; loss terms and gradients are summed
            across ranks, so every rank takes the same step as one process on all the points
            would. Rank 0 alone validates, runs the callbacks, shows progress and writes
            files (all ranks read a checkpoint to resume).
    """

    def __init__(
        self,
        model: nn.Module,
        objective: Objective,
        stages: Stage | Sequence[Stage],
        *,
        weights: dict[str, float] | None = None,
        adaptive: str | dict | None = None,
        resample_every: int | None = None,
        validate_every: int | None = 100,
        log_every: int = 10,
        checkpoint_every: int | None = 500,
        out_dir: str | Path | None = None,
        seed: int = 0,
        device: str | torch.device = "cpu",
        dtype: torch.dtype | str | None = None,
        early_stopping: dict | None = None,
        progress: bool = True,
        max_grad_norm: float | None = None,
        callbacks: Iterable[Callable[[dict], bool | str | None]] = (),
        distributed: bool = False,
    ):
        if not isinstance(model, nn.Module):
            raise ValueError(f"model={type(model).__name__}: expected a torch.nn.Module")
        self.stages = [stages] if isinstance(stages, Stage) else list(stages)
        if not self.stages or not all(isinstance(s, Stage) for s in self.stages):
            raise ValueError(f"stages={stages!r}: expected a Stage or a non-empty list of Stage")
        self.resample_every = _positive_or_none("resample_every", resample_every)
        self.validate_every = _positive_or_none("validate_every", validate_every)
        self.log_every = _positive_or_none("log_every", log_every) or 0
        self.checkpoint_every = _positive_or_none("checkpoint_every", checkpoint_every)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ValueError(f"seed={seed!r}: expected an integer")
        self.seed = seed
        self.device = _device(device)
        if dtype is None:
            dtype = torch.get_default_dtype()
            if dtype not in (torch.float32, torch.float64):
                raise ValueError(
                    "dtype=None follows torch.get_default_dtype(), which must be torch.float32 "
                    f"or torch.float64, got {dtype}; pass dtype= explicitly"
                )
        self.dtype = _DTYPES.get(dtype, dtype) if isinstance(dtype, str) else dtype
        if self.dtype not in (torch.float32, torch.float64):
            raise ValueError(f"dtype={dtype!r}: expected torch.float32 or torch.float64")
        if max_grad_norm is not None and not (
            isinstance(max_grad_norm, int | float) and max_grad_norm > 0
        ):
            raise ValueError(f"max_grad_norm={max_grad_norm!r}: expected a positive number")
        self.max_grad_norm = max_grad_norm
        self.early_stopping = parse_early_stopping(early_stopping)
        if self.early_stopping and self.early_stopping["monitor"] != "loss" and not validate_every:
            raise ValueError(
                f"early_stopping monitor={self.early_stopping['monitor']!r}: a validation "
                "metric needs validate_every set; expected monitor='loss' otherwise"
            )
        self.callbacks = list(callbacks)
        for cb in self.callbacks:
            if not callable(cb):
                raise ValueError(f"callback {cb!r}: expected a callable cb(row)")
        self.term_weights = TermWeights(weights, adaptive)
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.progress = progress

        if not isinstance(objective, Objective):
            raise ValueError(
                f"objective must be a kinn.train.Objective (wrap a function fn(model) -> "
                f"dict[str, Tensor] as Objective.from_losses(fn)), got {objective!r}"
            )
        self.model = model.to(device=self.device, dtype=self.dtype)
        self.objective = objective
        self.objective.to(self.device, self.dtype)
        if not isinstance(distributed, bool):
            raise ValueError(f"distributed must be True or False, got {distributed!r}")
        # comm: the ranks of a distributed run (None: one process). sharded: each rank has
        # a share of the points, so terms and gradients are summed across ranks; otherwise
        # every rank computes the same whole loss and nothing needs exchanging.
        self.comm = Communicator(self.device) if distributed else None
        self.sharded = self.comm is not None and overrides(self.objective, "shard")
        if self.sharded:
            self.objective.shard(self.comm)
        elif self.comm is not None and self.comm.world_size > 1:
            warnings.warn(
                f"objective {type(self.objective).__name__} has no shard(): every rank "
                "computes the whole loss (no speed-up)",
                stacklevel=2,
            )
        self.is_main = self.comm is None or self.comm.is_main
        self._objective_params = list(self.objective.parameters())
        with torch.no_grad():
            for p in self._objective_params:
                if p.device != self.device or p.dtype != self.dtype:
                    p.data = p.data.to(device=self.device, dtype=self.dtype)
        self._collect_params()
        for stage in self.stages:
            stage.build(self.params)  # surface bad optimizer/scheduler options now
        if any(s.closure_kind == "residuals" for s in self.stages):
            self._check_residuals()

    def _collect_params(self) -> None:
        """``self.params``: the model's and the objective's parameters, each once (again
        whenever tensors were replaced: a refined grid, a loaded checkpoint)."""
        self.params = _unique(list(self.model.parameters()) + self._objective_params)

    # ------------------------------------------------------------------ public API

    def fit(self, resume: str | Path | None = None) -> Result:
        """Train through all stages; with ``resume`` (a checkpoint or run directory), continue
        that run exactly where it stopped (bit-for-bit on CPU).

        Raises:
            DivergenceError: a loss term, the gradient or a parameter became NaN/Inf; the last
                good checkpoint on disk is left untouched.
        """
        generator = torch.Generator()
        run = _Run()
        saved_opt = None
        if resume is not None:
            saved_opt = self._restore(load_checkpoint(resume, self.device), run, generator)
        # Collected now, not only when built: loading a checkpoint (or a refine() since) may
        # have replaced parameter tensors, e.g. a B-spline layer whose grid size changed.
        self._collect_params()
        if resume is None:
            seed_everything(self.seed)
            generator.manual_seed(self.seed)
            self.term_weights.load_state_dict({"factors": {}})  # a second fit starts afresh
            if self.comm is not None:  # every rank starts from rank 0's parameters
                with torch.no_grad():
                    for p in self.params:
                        p.copy_(self.comm.broadcast(p.detach().clone()))
        if self.out_dir is not None and self.is_main:
            self.out_dir.mkdir(parents=True, exist_ok=True)
        if self.resample_every and not overrides(self.objective, "state_dict"):
            warnings.warn(
                "resample_every is set but the objective has no state_dict(): a resumed run "
                "will not see the same collocation points",
                stacklevel=2,
            )
        total = sum(s.steps for s in self.stages)
        bar = ProgressLine(total, self.progress and self.is_main)
        start_step, start = run.step, time.perf_counter()
        elapsed0 = run.elapsed_s
        stop_reason, final_loss = "completed", math.nan
        try:
            for index in range(run.stage, len(self.stages)):
                stage = self.stages[index]
                if index != run.stage:
                    run.stage, run.stage_step = index, 0
                if stage.grid is not None and _extend_grids(self.model, stage.grid):
                    self._collect_params()
                opt, sched = stage.build(self.params)
                if self.sharded and hasattr(opt, "communicator"):
                    opt.communicator = self.comm  # it gathers the ranks' residual rows
                if saved_opt is not None:
                    opt.load_state_dict(saved_opt["optimizer"])
                    if sched is not None:
                        sched.load_state_dict(saved_opt["scheduler"])
                    saved_opt = None
                while run.stage_step < stage.steps:
                    record = self._step(run, stage, opt, sched, generator)
                    final_loss = record["loss"]
                    run.elapsed_s = elapsed0 + time.perf_counter() - start
                    stop_reason = self._after_step(run, stage, opt, sched, generator, record)
                    bar.update(run.step, stage.optimizer, final_loss, main_metric(run.history.rows))
                    if stop_reason != "completed":
                        break
                if stop_reason != "completed":
                    break
        except _NonFinite as bad:
            run.elapsed_s = elapsed0 + time.perf_counter() - start
            self._write_history(run)
            raise self._divergence(run, bad.what) from None
        finally:
            bar.close()
        if math.isnan(final_loss) and run.history.rows:
            final_loss = run.history.rows[-1]["loss"]
        if run.step > start_step:
            self._write_history(run)
        path = Path(run.last_checkpoint) if run.last_checkpoint else None
        return Result(
            model=self.model,
            history=[dict(r) for r in run.history.rows],
            final_loss=final_loss,
            best=dict(run.best),
            wall_time_s=run.elapsed_s,
            steps=run.step,
            checkpoint_path=path,
            stop_reason=stop_reason,
            problem=getattr(self.objective, "problem", None),
        )

    # ------------------------------------------------------------------ one step

    def _losses(self) -> dict[str, torch.Tensor]:
        terms = self.objective.losses(self.model)
        if not isinstance(terms, dict) or not terms:
            raise ValueError(
                f"objective returned {type(terms).__name__}: expected a non-empty dict of "
                "scalar tensors"
            )
        for name, value in terms.items():
            if not isinstance(value, torch.Tensor) or value.numel() != 1:
                shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value)
                raise ValueError(f"loss term {name!r} is {shape}: expected a scalar tensor")
        self.term_weights.check_terms(list(terms))
        return {name: value.reshape(()) for name, value in terms.items()}

    def _residuals(self) -> dict[str, torch.Tensor]:
        terms = self.objective.residuals(self.model)
        if not isinstance(terms, dict) or not terms:
            raise ValueError(
                "objective.residuals(model) must return a non-empty dict of (n,) or (n, k) "
                f"tensors, got {type(terms).__name__}"
            )
        for name, value in terms.items():
            if not isinstance(value, torch.Tensor) or value.ndim not in (1, 2) or not value.numel():
                shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value)
                raise ValueError(f"residual {name!r} must be an (n,) or (n, k) tensor, got {shape}")
        self.term_weights.check_terms(list(terms))
        return terms

    def _check_residuals(self) -> None:
        """Fail at construction, not after hours of Adam, when Gauss-Newton cannot run."""
        if not overrides(self.objective, "residuals"):
            raise ValueError(
                f"objective {type(self.objective).__name__} must implement residuals(model) "
                "for a 'gauss_newton' stage (pointwise residuals of least-squares terms, see "
                "kinn.train.Objective.residuals), got none"
            )
        self._residuals()  # one evaluation: an energy term, say, raises here

    def _step(self, run: _Run, stage: Stage, opt, sched, generator) -> dict:
        first_order = not stage.fixed_objective
        if first_order and self.resample_every and run.step and run.step % self.resample_every == 0:
            self.objective.resample(generator)
        update_weights = first_order and self.term_weights.due(run.step)
        if first_order:
            self.objective.adapt()  # point weights move once per step, never in a line search
        record: dict = {}

        def check(terms: dict[str, torch.Tensor]) -> None:
            # Only the step's starting point is checked: a line-search trial point with an
            # infinite loss is rejected by the line search itself.
            values = torch.stack([t.detach() for t in terms.values()])
            if not torch.isfinite(values).all():
                raise _NonFinite([k for k, v in terms.items() if not torch.isfinite(v)])

        def closure():
            opt.zero_grad(set_to_none=True)
            terms = self._losses()
            totals = self._sum_terms(terms)
            first = not record
            if first:
                check(totals)
                if update_weights:
                    reduce = self._sum_grads if self.sharded else None
                    self.term_weights.update(terms, self.params, reduce=reduce)
            loss = sum(self.term_weights[name] * value for name, value in terms.items())
            loss.backward()
            if self.sharded:
                grads = self._sum_grads([p.grad for p in self.params])
                for p, g in zip(self.params, grads):
                    p.grad = g
                loss = sum(self.term_weights[name] * value for name, value in totals.items())
            if first:
                grads = [p.grad for p in self.params if p.grad is not None]
                norms = [torch.linalg.vector_norm(g) for g in grads]
                if norms and not torch.isfinite(torch.stack(norms)).all():
                    raise _NonFinite(["gradient"])
            if self.max_grad_norm is not None and first_order:
                torch.nn.utils.clip_grad_norm_(self.params, self.max_grad_norm)
            if first:
                record["loss"] = float(loss.detach())
                record["terms"] = {name: float(value.detach()) for name, value in totals.items()}
            return loss

        def residual_closure():
            residuals = self._residuals()
            counts = {name: r.numel() for name, r in residuals.items()}
            if self.sharded:  # means and row counts over the union of the shards
                sums = [r.detach().square().sum() for r in residuals.values()]
                sizes = [torch.tensor(float(n), device=self.device) for n in counts.values()]
                stats = self.comm.sum(torch.stack(sums + sizes).to(torch.float64))
                k = len(counts)
                counts = {name: int(n) for name, n in zip(counts, stats[k:].tolist())}
                means = {name: stats[i] / counts[name] for i, name in enumerate(counts)}
            if not record:
                if not self.sharded:
                    means = {name: r.detach().square().mean() for name, r in residuals.items()}
                terms = means
                check(terms)
                weighted = {k: self.term_weights[k] * float(v) for k, v in terms.items()}
                record["loss"] = sum(weighted.values())
                record["terms"] = {name: float(value) for name, value in terms.items()}
            return torch.cat(
                [
                    math.sqrt(self.term_weights[name] / counts[name]) * r.reshape(-1)
                    for name, r in residuals.items()
                ]
            )

        lr = float(opt.param_groups[0]["lr"])
        if stage.closure_kind == "residuals":
            opt.step(residual_closure)
        elif stage.closure_kind == "loss":
            opt.step(closure)
        else:
            closure()
            opt.step()
        if sched is not None:
            sched.step()
        record["lr"] = lr
        run.step += 1
        run.stage_step += 1
        return record

    # ------------------------------------------------------------------ several ranks

    def _sum_terms(self, terms: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The loss terms over all ranks (detached); ``terms`` itself in one process."""
        if not self.sharded:
            return terms
        totals = self.comm.sum(torch.stack([t.detach() for t in terms.values()]))
        return dict(zip(terms, totals))

    def _sum_grads(self, grads: list[torch.Tensor | None]) -> list[torch.Tensor | None]:
        """Gradients w.r.t. ``self.params`` summed over the ranks in one all-reduce; ``None``
        where no rank has one (so that Adam leaves such parameters alone, as in one process)."""
        flat = [
            (g if g is not None else torch.zeros_like(p)).reshape(-1)
            for g, p in zip(grads, self.params)
        ]
        used = torch.tensor([g is not None for g in grads], dtype=self.dtype, device=self.device)
        total = self.comm.sum(torch.cat([*flat, used]))
        out, offset = [], 0
        for p, u in zip(self.params, total[-len(grads) :].tolist()):
            n = p.numel()
            out.append(total[offset : offset + n].view_as(p) if u > 0 else None)
            offset += n
        return out

    def _on_main(self, fn: Callable[[], object]):
        """``fn()`` on rank 0, its result on every rank."""
        if self.comm is None:
            return fn()
        return self.comm.broadcast_object(fn() if self.is_main else None)

    # ------------------------------------------------------------------ bookkeeping

    def _after_step(self, run: _Run, stage: Stage, opt, sched, generator, record: dict) -> str:
        """Log, validate, check stopping rules and checkpoint; returns the stop reason."""
        stage_end = run.stage_step == stage.steps
        validate = self.validate_every is not None and (
            run.step % self.validate_every == 0 or stage_end
        )
        log = validate or stage_end or (self.log_every and run.step % self.log_every == 0)
        reason = "completed"
        if log:
            row = {"step": run.step, "stage": run.stage, "loss": record["loss"]}
            row.update({f"loss_{k}": v for k, v in record["terms"].items()})
            if self.term_weights.method is not None:
                row.update({f"weight_{k}": self.term_weights[k] for k in record["terms"]})
            row["lr"] = record["lr"]
            row["time_s"] = run.elapsed_s
            if validate:
                metrics = self._on_main(lambda: dict(self.objective.validate(self.model)))
                for key, value in metrics.items():
                    if key in row:
                        raise ValueError(
                            f"validation metric {key!r}: clashes with a history column"
                        )
                    row[key] = float(value)
            run.history.append(row)
            es = self.early_stopping
            best = update_best(run.best, row, es and es["monitor"], es["mode"] if es else "min")
            if best is not None:
                run.best = best
                if self.out_dir is not None:
                    self._save(run, opt, sched, generator, self.out_dir / "best.pt")
            if es is not None and should_stop(run.stopper, row, es, validate):
                reason = "early_stopping"
            if self.callbacks:
                said = self._on_main(lambda: [_said(cb, dict(row)) for cb in self.callbacks])
                if True in said:
                    reason = "callback"
                elif RESTART in said:
                    opt.state.clear()  # the next step starts the optimizer afresh
        every = self.checkpoint_every is not None and run.step % self.checkpoint_every == 0
        if self.out_dir is not None and (every or stage_end or reason != "completed"):
            path = self._save(run, opt, sched, generator, self.out_dir / "last.pt")
            run.last_checkpoint, run.last_checkpoint_step = str(path), run.step
            self._write_history(run)
        elif validate:
            self._write_history(run)
        return reason

    def _write_history(self, run: _Run) -> None:
        if self.out_dir is not None and run.history.rows and self.is_main:
            run.history.write(self.out_dir)

    # ------------------------------------------------------------------ checkpoints

    def _save(self, run: _Run, opt, sched, generator, path: Path) -> Path:
        with torch.no_grad():
            bad = [n for n, p in self.model.named_parameters() if not torch.isfinite(p).all()]
            bad += ["objective parameter"] * any(
                not torch.isfinite(p).all() for p in self._objective_params
            )
        if bad:
            # Never replace a good checkpoint with a broken model.
            raise _NonFinite([f"parameter {n}" for n in bad])
        ckpt = {
            "format": FORMAT,
            "step": run.step,
            "stage": run.stage,
            "stage_step": run.stage_step,
            "elapsed_s": run.elapsed_s,
            "stages": [s.to_dict() for s in self.stages],
            "dtype": str(self.dtype).removeprefix("torch."),
            "model": self.model.state_dict(),
            "objective": self.objective.state_dict(),
            "objective_parameters": [p.detach() for p in self._objective_params],
            "optimizer": opt.state_dict(),
            "scheduler": sched.state_dict() if sched is not None else {},
            "term_weights": self.term_weights.state_dict(),
            "rng": rng_state(generator),
            "history": run.history.rows,
            "best": run.best,
            "stopper": run.stopper,
        }
        if self.is_main:
            atomic_save(ckpt, path)
        if self.comm is not None:
            self.comm.barrier()  # the file is complete before any rank may read it
        return path

    def _restore(self, ckpt: dict, run: _Run, generator: torch.Generator) -> dict:
        """Load ``ckpt`` into the model, objective and ``run``; returns optimizer state."""
        dtype = str(self.dtype).removeprefix("torch.")
        if ckpt["dtype"] != dtype:
            raise CheckpointError(f"checkpoint dtype {ckpt['dtype']!r}: expected {dtype!r}")
        stage, stage_step = ckpt["stage"], ckpt["stage_step"]
        saved = [(s["optimizer"], s.get("grid")) for s in ckpt["stages"][: stage + 1]]
        current = [(s.optimizer, s.grid) for s in self.stages[: stage + 1]]
        if saved != current or stage_step > self.stages[stage].steps:
            raise CheckpointError(
                f"checkpoint stages {ckpt['stages']} at stage {stage}, step {stage_step}: "
                f"expected stages compatible with {[s.to_dict() for s in self.stages]}"
            )
        for done in self.stages[: stage + 1]:  # the grids the checkpoint's model was on
            if done.grid is not None:
                _extend_grids(self.model, done.grid)
        self.model.load_state_dict(ckpt["model"])
        self.objective.load_state_dict(ckpt["objective"])
        with torch.no_grad():
            for p, value in zip(self._objective_params, ckpt["objective_parameters"]):
                p.copy_(value)
        self.term_weights.load_state_dict(ckpt["term_weights"])
        set_rng_state(ckpt["rng"], generator)
        run.step, run.stage, run.stage_step = ckpt["step"], stage, stage_step
        run.elapsed_s = ckpt["elapsed_s"]
        run.history = History(ckpt["history"])
        run.best, run.stopper = dict(ckpt["best"]), dict(ckpt["stopper"])
        return {"optimizer": ckpt["optimizer"], "scheduler": ckpt["scheduler"]}

    def _divergence(self, run: _Run, what: list[str]) -> DivergenceError:
        step, stage = run.step + 1, self.stages[run.stage]
        if what and what[0].startswith("parameter"):
            step = run.step  # parameters are checked after the step that broke them
        where = f"step {step} (stage {run.stage}, {stage.optimizer}, lr={stage.lr:g})"
        if run.last_checkpoint is not None:
            kept = (
                f"The last good checkpoint is {run.last_checkpoint} "
                f"(step {run.last_checkpoint_step}); it was not overwritten."
            )
        elif self.out_dir is None:
            kept = "No checkpoint was kept (out_dir=None)."
        else:
            kept = "No checkpoint had been written yet."
        message = (
            f"Training diverged at {where}: non-finite {', '.join(map(repr, what))}. {kept} "
            "Remedy: lower this stage's learning rate, set max_grad_norm, or rescale the "
            "offending term (weights=...)."
        )
        return DivergenceError(message, step, run.stage, what, run.last_checkpoint)


def _said(callback: Callable[[dict], object], row: dict) -> bool | str | None:
    """What ``callback(row)`` asks for: ``True`` (stop), ``RESTART`` or ``None``."""
    answer = callback(row)
    if answer is True or answer == RESTART:
        return answer  # type: ignore[return-value]
    if answer is None or answer is False:
        return None
    raise ValueError(
        f"callback {callback!r} returned {answer!r}: expected True (stop), {RESTART!r} "
        "(restart the optimizer) or None"
    )


def _extend_grids(model: nn.Module, grid: int) -> bool:
    """Refine every B-spline KAN layer of ``model`` whose grid is not ``grid`` intervals;
    whether any was."""
    changed = False
    for module in model.modules():
        if hasattr(module, "refine") and getattr(module, "grid_size", grid) != grid:
            module.refine(grid)
            changed = True
    return changed


def _positive_or_none(name: str, value: int | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name}={value!r}: expected a positive integer or None")
    return value


def _device(device: str | torch.device) -> torch.device:
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"device={device!r}: expected 'cpu', 'cuda' or 'cuda:N'") from err
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r}: CUDA is not available here; expected 'cpu'")
    return dev


def _unique(params: list[nn.Parameter]) -> list[nn.Parameter]:
    seen: set[int] = set()
    out = []
    for p in params:
        if id(p) not in seen and p.requires_grad:
            seen.add(id(p))
            out.append(p)
    return out
