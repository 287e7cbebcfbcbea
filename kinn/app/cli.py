"""The ``kinn`` command: Hydra composes the config, :func:`kinn.app.solve.solve` runs it.

User mistakes (unknown option, bad key or type, a problem that cannot be built) end with one
line on stderr and exit status 2; set ``KINN_DEBUG=1`` for the full traceback.
"""

from __future__ import annotations

import difflib
import os
import sys
from pathlib import Path

import hydra
import yaml
from hydra.errors import HydraException, MissingConfigException
from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException

from kinn.app import schema
from kinn.app.build import ConfigError, one_line, registry

CONF = Path(__file__).resolve().parent.parent / "conf"
GROUPS = ("problem", "model", "trainer", "sampler", "experiment")


class _Abort(BaseException):
    """Carries a user error out of Hydra's job runner, which would otherwise log it twice."""


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def _solve_job(cfg: DictConfig) -> None:
    from kinn.app.solve import solve

    try:
        solve(cfg)
    except ConfigError as err:
        raise _Abort(str(err)) from None


@hydra.main(version_base="1.3", config_path="../conf", config_name="fit")
def _fit_job(cfg: DictConfig) -> None:
    from kinn.app.fit import main_fit

    try:
        main_fit(cfg)
    except ConfigError as err:
        raise _Abort(str(err)) from None
    except (ValueError, OSError) as err:  # bad data file, column or option: the user's to fix
        raise _Abort(f"kinn fit: {err}") from None


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``kinn`` and ``python -m kinn``; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    job = _solve_job
    if argv[:1] == ["fit"]:
        job, argv = _fit_job, argv[1:]
    elif any(a in ("-h", "--help") for a in argv):
        print(help_text(_config_dir(argv)))
        return 0
    try:
        if job is _solve_job:
            argv = with_resume(argv)
        return _launch(job, argv)
    except _Abort as err:
        return _fail(str(err))
    except KeyboardInterrupt:
        return 130
    except Exception as err:
        if os.environ.get("KINN_DEBUG") or not _is_user_error(err):
            raise
        return _fail(describe(err))


def _fail(message: str) -> int:
    print(f"kinn: error: {one_line(message)}", file=sys.stderr)
    return 2


def _launch(job, argv: list[str]) -> int:
    schema.register()
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
        if saved_env is None:
            os.environ.pop("HYDRA_FULL_ERROR", None)
        else:
            os.environ["HYDRA_FULL_ERROR"] = saved_env
    return 0


def _is_user_error(err: BaseException) -> bool:
    if isinstance(err, ConfigError | HydraException | OmegaConfBaseException):
        return True
    # Hydra rejects conflicting flags (--cfg with -m, ...) with a plain ValueError.
    tb = err.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    origin = Path(tb.tb_frame.f_code.co_filename).parts if tb is not None else ()
    return isinstance(err, ValueError) and "hydra" in origin


def describe(err: BaseException) -> str:
    """One line naming the key or value at fault and what was expected."""
    if isinstance(err, MissingConfigException) and err.missing_cfg_file:
        group, _, name = str(err.missing_cfg_file).rpartition("/")
        if group and err.options is not None:
            options = ", ".join(sorted(o for o in err.options if not o.endswith("_schema")))
            return f"{group}={name}: unknown option; expected one of: {options}"
    if isinstance(err, OmegaConfBaseException):
        return _omegaconf_message(err)
    head = one_line(str(err)).replace("Error merging override ", "")
    cause = err.__cause__
    if not isinstance(cause, OmegaConfBaseException):
        return head
    key = getattr(cause, "full_key", None)
    if head.startswith("Could not override"):
        head = ""  # the cause names the key
    head_key = head.split("=", 1)[0].lstrip("+~")
    message = _omegaconf_message(cause, with_key=not head or head_key != key)
    return f"{head}: {message}" if head else message


def _omegaconf_message(err: OmegaConfBaseException, with_key: bool = True) -> str:
    key = getattr(err, "full_key", None)
    msg = getattr(err, "msg", None) or str(err)
    msg = msg.splitlines()[0] if msg else type(err).__name__
    parent = getattr(err, "parent_node", None)
    if "not in" in msg and parent is not None and hasattr(parent, "keys"):
        keys = [str(k) for k in parent.keys() if not str(k).startswith("_")]
        name = str(getattr(err, "key", "") or key or "").rsplit(".", 1)[-1]
        close = difflib.get_close_matches(name, keys, n=1)
        msg = f"unknown key {name!r}; expected one of: {', '.join(keys)}"
        if close:
            msg += f" (did you mean {close[0]!r}?)"
    return f"{key}: {msg}" if key and with_key else msg


def with_resume(argv: list[str]) -> list[str]:
    """Accept ``+resume=`` as ``resume=``, and replay the resumed run's own overrides first.

    A run directory keeps its command-line overrides in ``.hydra/overrides.yaml``; those the
    user does not give again are added, so ``kinn +resume=RUN`` rebuilds the same problem and
    model, and any override given now (e.g. more steps) wins.
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
    mine = {_override_key(a) for a in out if "=" in a and not a.startswith("-")}
    replay = [
        o
        for o in yaml.safe_load(saved.read_text()) or []
        if _override_key(o) not in mine and not _override_key(o).startswith("hydra.")
    ]
    return out + replay


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
    names = set()
    for root in (CONF, config_dir):
        if root is not None and (root / group).is_dir():
            names.update(p.stem for p in (root / group).glob("*.yaml"))
    return sorted(names)


def _problem_lines(config_dir: Path | None) -> list[str]:
    known = registry()
    names = sorted(set(options("problem", config_dir)) | set(known))
    lines = []
    for name in names:
        lines.append(f"  {name:<20} {_title(known.get(name))}".rstrip())
    return lines


def _title(factory) -> str:
    """A problem's title: the head of its module docstring (up to ': '), else of its own."""
    module = sys.modules.get(getattr(factory, "__module__", ""), None)
    for doc in (getattr(module, "__doc__", None), getattr(factory, "__doc__", None)):
        first = (doc or "").strip().splitlines()
        if first:
            return first[0].split(": ")[0].rstrip(".")
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
            "  form=strong|energy|inverse   derivatives=jet|autograd   model.hidden=[32,32]",
            "  model.grid=20   trainer.dtype=float64   trainer.device=cuda   trainer.seed=1",
            "  trainer.stages=[{optimizer:adam,steps:500,lr:1e-3},{optimizer:lbfgs,steps:50,lr:1}]",
            "  sampler.method=sobol   sampler.n_interior=2000   sampler.resample_every=100",
            "",
            "outputs: outputs/<problem>/<date>/<time>/  (sweeps: multirun/<date>/<time>/<job>/)",
            "Hydra's own flags: kinn --hydra-help.  Guide: docs/app.md",
        ]
    )
