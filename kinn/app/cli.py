"""The ``kinn`` command: Hydra composes the config, :func:`kinn.app.solve.solve` runs it.

User mistakes (unknown option, bad key or type, a problem that cannot be built, a checkpoint
that does not fit, training that diverges) end with one line on stderr and exit status 2;
set ``KINN_DEBUG=1`` for the full traceback. Anything else is a bug: its traceback is printed
and kept in the run's ``error.log``, and the exit status is 1. In a sweep (``-m``) a failed
job is recorded as failed and the other jobs still run.

torch is imported only once the run's thread policy is set (``threads``, see
:mod:`kinn._runtime`), because OpenMP reads its wait policy when torch loads it.
"""

from __future__ import annotations

import csv
import dataclasses
import difflib
import importlib
import math
import os
import re
import shutil
import sys
import tempfile
import traceback
import typing
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import hydra
import yaml
from hydra.core.hydra_config import HydraConfig
from hydra.errors import HydraException, MissingConfigException
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from kinn import _runtime
from kinn.app import schema
from kinn.app.build import ConfigError, innermost_code, one_line, plain
from kinn.app.record import FAILED, record_failure, record_interrupt
from kinn.app.sweep import objective

CONF = Path(str(importlib.import_module("kinn.conf").__file__)).resolve().parent
CONFIG_PATH = "pkg://kinn.conf"
GROUPS = ("problem", "model", "trainer", "sampler", "experiment")


class _Abort(BaseException):
    """Carries a user error out of Hydra's job runner, which would otherwise log it twice."""


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``kinn`` and ``python -m kinn``; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    fit = argv[:1] == ["fit"]
    if fit:
        argv = argv[1:]
    elif any(a in ("-h", "--help") for a in argv):
        return _print_help(help_text(_config_dir(argv)))
    try:
        return _launch("fit", argv) if fit else _launch("config", with_resume(argv))
    except _Abort as err:
        return _fail(str(err))
    except KeyboardInterrupt:
        return 130
    except Exception as err:
        if os.environ.get("KINN_DEBUG"):
            raise
        if _is_user_error(err):
            return _fail(describe(err))
        return _report_bug(err)


def _fail(message: str) -> int:
    print(f"kinn: error: {one_line(message)}", file=sys.stderr)
    return 2


def _report_bug(err: BaseException) -> int:
    traceback.print_exception(err, file=sys.stderr)
    log = getattr(err, "_kinn_error_log", None)
    print(
        f"kinn: error: {type(err).__name__}: {one_line(str(err))}. This is not a config "
        "error but a bug, in kinn or in the problem's own code: please report it with the "
        "traceback above" + (f" (also in {log})" if log else ""),
        file=sys.stderr,
    )
    return 1


def _print_help(text: str) -> int:
    try:
        print(text, flush=True)
    except BrokenPipeError:  # `kinn --help | head -1`: the reader has gone, not an error
        # Point stdout at /dev/null so the interpreter's final flush does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    return 0


def _launch(config_name: str, argv: list[str]) -> int:
    schema.register()
    failures: list[str] = []
    task = _fit_job if config_name == "fit" else (lambda cfg: _solve_job(cfg, failures))
    job = hydra.main(version_base="1.3", config_path=CONFIG_PATH, config_name=config_name)(task)
    claimed: dict[str, str] = {}  # Hydra resolves the run folder more than once per run
    rank = _runtime.launcher_rank()
    scratch = None
    if rank > 0:
        # Under torchrun rank 0 claims the run folder and writes there; the other ranks learn
        # it from rank 0 (kinn.app.ranks) and give Hydra a scratch folder of their own.
        scratch = tempfile.mkdtemp(prefix=f"kinn-rank{rank}-")
        if not any(a.startswith("hydra.output_subdir=") for a in argv):
            argv = [*argv, "hydra.output_subdir=null"]

    def unique(base: str) -> str:
        if scratch is not None:
            return scratch
        if base not in claimed:
            claimed[base] = _claim(base)
        return claimed[base]

    OmegaConf.register_new_resolver("kinn.unique", unique, replace=True)
    saved_argv, saved_env = sys.argv, os.environ.get("HYDRA_FULL_ERROR")
    saved_path = list(sys.path)
    # Hydra then raises instead of printing its own multi-line report; we print one line.
    os.environ["HYDRA_FULL_ERROR"] = "1"
    sys.argv = ["kinn", *argv]
    if os.getcwd() not in sys.path:  # a user's `_target_: mymodule.make` next to their configs
        sys.path.append(os.getcwd())
    try:
        job()
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
        if saved_env is None:
            os.environ.pop("HYDRA_FULL_ERROR", None)
        else:
            os.environ["HYDRA_FULL_ERROR"] = saved_env
    # Jobs in other processes (joblib, submitit) cannot report to `failures`: their
    # metrics.json, gathered into the sweep's table, can.
    given = [a.split("=", 1)[1] for a in argv if a.startswith("hydra.sweep.dir=")]
    folders = [*claimed.values(), *given]
    failures += [f"job {j}" for j in _failed_jobs(folders) if f"job {j}" not in failures]
    if failures:
        print(f"kinn: {len(failures)} job(s) failed: {', '.join(failures)}", file=sys.stderr)
        return 1
    return 0


def _claim(base: str) -> str:
    """Create the run folder ``base``, or ``base-2``, ``base-3``... if another run has it.

    ``mkdir`` is atomic, so two runs started in the same second never share a folder.
    """
    path = Path(base)
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 1
    while True:
        candidate = path if n == 1 else path.with_name(f"{path.name}-{n}")
        try:
            candidate.mkdir()
        except FileExistsError:
            n += 1
            continue
        return str(candidate)


def _failed_jobs(folders) -> list[str]:
    """Jobs marked failed in the ``sweep.csv`` of any of ``folders`` (this sweep's own)."""
    failed = []
    for folder in folders:
        table = Path(folder) / "sweep.csv"
        if table.is_file():
            with open(table, newline="") as f:
                failed += [row["job"] for row in csv.DictReader(f) if row["status"] == FAILED]
    return failed


def _solve_job(cfg: DictConfig, failures: list[str]) -> float:
    """Run one job; returns its sweep objective (:func:`kinn.app.sweep.objective`, NaN when
    it failed), which Hydra's Optuna sweeper minimises."""
    hc = HydraConfig.get()
    out, overrides = Path(hc.runtime.output_dir), list(hc.overrides.task)
    sweep = hc.mode == RunMode.MULTIRUN
    main_rank = _runtime.launcher_rank() == 0  # under torchrun, rank 0 alone writes files
    try:
        with _thread_policy(plain(cfg.threads)) as threads:
            from kinn.app.solve import solve  # imports torch: after the thread policy

            return objective(solve(cfg, out, threads=threads))
    except KeyboardInterrupt:
        hint = record_interrupt(cfg, out, overrides) if main_rank else ""
        print(f"\nkinn: interrupted; {hint}", file=sys.stderr, flush=True)
        raise
    except ConfigError as err:
        if main_rank:
            record_failure(cfg, out, one_line(str(err)), overrides, bug=False)
        if not sweep:
            raise _Abort(str(err)) from None
        failures.append(f"job {hc.job.num}")
        print(f"kinn: error: job {hc.job.num}: {one_line(str(err))}", file=sys.stderr)
    except Exception as err:
        if main_rank:
            record = record_failure(cfg, out, f"{type(err).__name__}: {err}", overrides, bug=True)
            try:
                err._kinn_error_log = record["error_log"]  # type: ignore[attr-defined]
            except AttributeError:  # an exception type without a __dict__
                pass
        if not sweep:
            raise
        failures.append(f"job {hc.job.num}")
        print(f"kinn: job {hc.job.num} failed:", file=sys.stderr)
        _report_bug(err)
    return math.nan


@contextmanager
def _thread_policy(threads) -> Iterator[int]:
    """Size torch's thread pool for this run (restored afterwards) and, if torch is not loaded
    yet, let idle OpenMP threads sleep instead of spinning (``OMP_WAIT_POLICY=PASSIVE``
    unless the environment already sets it).

    Under torchrun, ``auto`` gives each of the node's ranks its share of the idle cores
    (torchrun's own ``OMP_NUM_THREADS=1`` is not the user's choice). joblib's workers get
    ``OMP_NUM_THREADS`` = cores / jobs from joblib, which ``auto`` follows like a user's."""
    share = _runtime.local_ranks()
    if threads == "auto" and os.environ.get("OMP_NUM_THREADS") and share == 1:
        threads = None  # the user chose for the whole machine: torch follows OMP_NUM_THREADS
    try:
        count = None if threads is None else _runtime.thread_count(threads, share=share)
    except ValueError as err:
        raise ConfigError(str(err)) from None
    if "torch" not in sys.modules:
        os.environ.setdefault(_runtime.WAIT_POLICY_ENV, "PASSIVE")
    import torch

    saved = torch.get_num_threads()
    if count is not None:
        torch.set_num_threads(count)
    try:
        yield torch.get_num_threads()
    finally:
        torch.set_num_threads(saved)


def _fit_job(cfg: DictConfig) -> None:
    from kinn.app.fit import main_fit

    try:
        main_fit(cfg)
    except ConfigError as err:
        raise _Abort(str(err)) from None
    except (ValueError, OSError) as err:  # bad data file, column or option: the user's to fix
        raise _Abort(f"kinn fit: {err}") from None


def _is_user_error(err: BaseException) -> bool:
    if isinstance(err, ConfigError | HydraException | OmegaConfBaseException):
        return True
    if type(err).__module__.startswith("submitit"):
        return True  # sbatch refused the job array: a partition, account or limit to fix
    # Hydra rejects conflicting flags (--cfg with -m, ...) with a plain ValueError.
    code = innermost_code(err)
    origin = Path(code.co_filename).parts if code is not None else ()
    return isinstance(err, ValueError) and "hydra" in origin


def describe(err: BaseException) -> str:
    """One line naming the key or value at fault and what was expected."""
    if isinstance(err, MissingConfigException) and err.missing_cfg_file:
        group, _, name = str(err.missing_cfg_file).rpartition("/")
        if group and err.options is not None:
            known = sorted(o for o in err.options if not o.endswith("_schema"))
            message = f"{group}={name}: unknown option; expected one of: {', '.join(known)}"
            if group.startswith("hydra/"):  # joblib, submitit_*, optuna come from plugins
                message += " (Hydra's launcher and sweeper plugins: pip install 'kinn[sweeps]')"
            return message + _did_you_mean(name, known)
    if isinstance(err, OmegaConfBaseException):
        return _omegaconf_message(err)
    head = one_line(str(err)).replace("Error merging override ", "")
    if head.startswith("Could not append to config"):
        return _append_message(head)
    cause = err.__cause__
    if not isinstance(cause, OmegaConfBaseException):
        return head
    key = getattr(cause, "full_key", None)
    if head.startswith("Could not override"):
        head = ""  # the cause names the key
    head_key = head.split("=", 1)[0].lstrip("+~")
    message = _omegaconf_message(cause, with_key=not head or head_key != key)
    return f"{head}: {message}" if head else message


def _did_you_mean(name: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(name, choices, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _append_message(head: str) -> str:
    """``+key=value`` for a key the config already has: say to drop the ``+``."""
    match = re.search(r"already at '([^']+)'.*remove \+ prefix: '([^']+)'", head)
    if match is None:
        return head
    key, fixed = match.groups()
    return f"+{fixed}: {key} is already in the config; to change it write {fixed} (no '+')"


def _omegaconf_message(err: OmegaConfBaseException, with_key: bool = True) -> str:
    key = getattr(err, "full_key", None)
    msg = getattr(err, "msg", None) or str(err)
    msg = msg.splitlines()[0] if msg else type(err).__name__
    parent = getattr(err, "parent_node", None)
    if "not in" in msg and parent is not None and hasattr(parent, "keys"):
        keys = [str(k) for k in parent.keys() if not str(k).startswith("_")]
        name = str(getattr(err, "key", "") or key or "").rsplit(".", 1)[-1]
        msg = f"unknown key {name!r}; expected one of: {', '.join(keys)}"
        nested = _nested_key(parent, str(key or name), name)
        msg += f" (did you mean {nested!r}?)" if nested else _did_you_mean(name, keys)
    return f"{key}: {msg}" if key and with_key else msg


def _nested_key(parent, full_key: str, name: str) -> str | None:
    """``trainer.stages.0.lr`` for ``trainer.lr``: ``name`` is a field of the schema of a list
    inside ``parent`` (a stage's ``lr``, ``steps``...)."""
    schema_type = OmegaConf.get_type(parent)
    if not dataclasses.is_dataclass(schema_type):
        return None
    prefix = full_key.rpartition(".")[0]
    for field_name, hint in typing.get_type_hints(schema_type).items():
        (item,) = typing.get_args(hint) if typing.get_origin(hint) is list else (None,)
        if dataclasses.is_dataclass(item) and name in {f.name for f in dataclasses.fields(item)}:
            return f"{prefix}.{field_name}.0.{name}" if prefix else f"{field_name}.0.{name}"
    return None


def with_resume(argv: list[str]) -> list[str]:
    """Accept ``+resume=`` as ``resume=``, and replay the resumed run's own overrides first.

    A run directory keeps its command-line overrides in ``.hydra/overrides.yaml``; they are
    replayed before the ones given now, so ``kinn +resume=RUN`` rebuilds the same problem and
    model, and any override given now (e.g. more steps) wins. A replayed override is dropped
    when one given now sets the same key or a key above it (``trainer.stages=[...]`` now
    replaces the run's ``trainer.stages.0.steps=...``); one given now below a replayed key
    (``trainer.stages.0.steps=800`` after the run's ``trainer.stages=[...]``) applies to it.
    """
    out, resume = [], None
    for arg in argv:
        key, eq, value = arg.partition("=")
        if eq and key.lstrip("+") == "resume":
            arg, resume = f"resume={value}", value
        out.append(arg)
    if not resume:
        return out
    path = Path(resume).expanduser()
    run_dir = path if path.is_dir() else path.parent
    if run_dir.name == "checkpoints":
        run_dir = run_dir.parent
    saved = run_dir / ".hydra" / "overrides.yaml"
    if not saved.is_file():
        return out
    given = [i for i, a in enumerate(out) if "=" in a and not a.startswith("-")]
    mine = {_override_key(out[i]) for i in given}
    replay = [
        o
        for o in yaml.safe_load(saved.read_text()) or []
        if not _override_key(o).startswith("hydra.")
        and not any(_override_key(o) == k or _override_key(o).startswith(k + ".") for k in mine)
    ]
    first = given[0]  # Hydra applies overrides in order: the run's first, then the user's
    return out[:first] + replay + out[first:]


def _override_key(override: str) -> str:
    return override.split("=", 1)[0].lstrip("+~")


def _config_dir(argv: list[str]) -> Path | None:
    for i, arg in enumerate(argv):
        if arg in ("--config-dir", "-cd") and i + 1 < len(argv):
            return Path(argv[i + 1])
        if arg.startswith("--config-dir="):
            return Path(arg.split("=", 1)[1])
    return None


def options(group: str, config_dir: Path | None = None) -> list[str]:
    """Config names of ``group`` in the shipped ``conf/`` and in ``config_dir``."""
    return sorted(_config_files(group, config_dir))


def _config_files(group: str, config_dir: Path | None) -> dict[str, Path]:
    files = {}
    for root in (CONF, config_dir):  # the user's directory wins, as in Hydra's search path
        if root is not None and (root / group).is_dir():
            files.update({p.stem: p for p in (root / group).glob("*.yaml")})
    return files


def _problem_lines(config_dir: Path | None) -> list[str]:
    files = _config_files("problem", config_dir)
    return [f"  {name:<20} {_title(files[name])}".rstrip() for name in sorted(files)]


def _title(path: Path) -> str:
    """A config's title: its first comment line, else its ``_target_``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    for line in lines:
        if line.startswith("#") and not line.startswith("# @package"):
            return line.lstrip("# ").rstrip()
        if line.strip() and not line.startswith("#"):
            break
    for line in lines:
        if line.startswith("_target_:"):
            return line.split(":", 1)[1].split("#")[0].strip()
    return ""


def help_text(config_dir: Path | None = None) -> str:
    def listing(group: str) -> str:
        return ", ".join(options(group, config_dir)) or "(none)"

    return "\n".join(
        [
            "kinn: physics-informed Kolmogorov-Arnold networks from the command line",
            "",
            "usage:",
            "  kinn [KEY=VALUE ...]                 solve (default: problem=plate_hole model=kan)",
            "  kinn -m model=kan,mlp [KEY=VALUE]    sweep; prints a comparison table at the end",
            "  kinn -m ... hydra/launcher=joblib    run a sweep's jobs in parallel (or =slurm)",
            "  kinn -m experiment=poisson1d_optuna  an Optuna search (plugins: kinn[sweeps])",
            "  torchrun --nproc_per_node=N -m kinn trainer.distributed=true   one run, N processes",
            "  kinn +resume=RUN_DIR [KEY=VALUE]     continue a run from its checkpoints/last.pt",
            "  kinn --config-dir DIR problem=NAME   add your own configs (DIR/problem/NAME.yaml)",
            "  kinn --cfg job [KEY=VALUE ...]       print the composed config and stop",
            "  kinn fit data=FILE target=COLUMN     symbolic regression of a data column",
            "",
            "problems (problem=NAME):",
            *_problem_lines(config_dir),
            "",
            f"models (model=NAME):           {listing('model')}",
            f"trainers (trainer=NAME):       {listing('trainer')}",
            f"samplers (sampler=NAME):       {listing('sampler')}",
            f"experiments (experiment=NAME): {listing('experiment')}",
            "",
            "common keys:",
            "  form=strong|energy|inverse   derivatives=auto|jet|autograd   threads=auto|N",
            "  model.hidden=[32,32]   model.grid=20   problem.hard=false   trainer.seed=1",
            "  trainer.dtype=float64   trainer.device=cuda   trainer.stages.0.lr=1e-3",
            "  trainer.stages=[{optimizer:adam,steps:500,lr:1e-3},{optimizer:lbfgs,steps:50,lr:1}]",
            "  sampler.method=sobol   sampler.n_interior=2000   sampler.resample_every=100",
            "  +KEY=VALUE adds a key the config does not have (+problem.<factory argument>=...)",
            "",
            "outputs: outputs/<problem>/<date>/<time>/  (sweeps: multirun/<date>/<time>/<job>/)",
            "Hydra's own flags: kinn --hydra-help.  Guide: docs/app.md",
        ]
    )
