"""Build the run's objects from the composed config: problem, network, trainer.

Every object comes from ``hydra.utils.instantiate`` on a ``_target_`` (the shipped problems
too: ``kinn.problems.poisson1d`` ...). Keyword arguments are checked against the target's
signature first, so a wrong key fails with a :class:`ConfigError` naming it. No torch import
here: the command sets its thread policy before torch loads.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hydra.errors import InstantiationException
from hydra.utils import get_object, instantiate
from omegaconf import DictConfig, OmegaConf

if TYPE_CHECKING:
    import torch


class ConfigError(ValueError):
    """A mistake in the user's configuration; reported as one line, without a traceback."""


def plain(node: Any) -> Any:
    """A config node as plain Python containers (enums as their names)."""
    if isinstance(node, DictConfig) or OmegaConf.is_list(node):
        return OmegaConf.to_container(node, resolve=True, enum_to_str=True)
    if isinstance(node, Enum):
        return node.name
    return node


def locate(path: str, where: str) -> Callable:
    """The callable at dotted ``path``; ``where`` names the config key for errors."""
    if not isinstance(path, str) or not path:
        raise ConfigError(f"{where}={path!r}: expected a dotted path such as 'mypkg.make'")
    try:
        target = get_object(path)
    except Exception as err:  # hydra wraps import failures in several types
        cause = err.__cause__ or err
        raise ConfigError(
            f"{where}={path!r}: cannot import it ({type(cause).__name__}: {cause}); expected "
            "an importable module.function (run kinn from the directory that holds it)"
        ) from None
    if not callable(target):
        raise ConfigError(f"{where}={path!r}: expected a callable, got {type(target).__name__}")
    return target


def check_kwargs(where: str, target: Callable, kwargs: dict, given: tuple[str, ...] = ()) -> None:
    """Fail if ``target`` cannot take ``kwargs`` (plus the names in ``given`` the app adds)."""
    try:
        params = inspect.signature(target).parameters
    except (TypeError, ValueError):
        return  # builtins without a signature: let the call decide
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    accepted = [n for n, p in params.items() if p.kind is not inspect.Parameter.VAR_POSITIONAL]
    name = getattr(target, "__qualname__", repr(target))
    for key in kwargs:
        if key not in accepted and not (key.startswith("_") and key.endswith("_")):
            choices = ", ".join(n for n in accepted if n not in given and n != "self")
            raise ConfigError(
                f"{where}.{key}: not an argument of {name}; expected one of: {choices}"
            )
    for key in given:
        if key not in accepted:
            raise ConfigError(f"{where}._target_: {name} must accept the argument {key!r}")


def call(where: str, target: Callable, kwargs: dict) -> Any:
    """``target(**kwargs)``, turning argument errors into :class:`ConfigError`."""
    try:
        return target(**kwargs)
    except (ValueError, TypeError) as err:
        raise ConfigError(f"{where}: {one_line(str(err))}") from None


def make(where: str, path: str, kwargs: dict, given: tuple[str, ...] = ()) -> Any:
    """``hydra.utils.instantiate`` of ``{_target_: path, **kwargs}`` after checking the keys.

    ``given`` names arguments the app passes itself (``width`` here, or later to a partial).
    """
    target = locate(path, f"{where}._target_")
    check_kwargs(where, target, {k: v for k, v in kwargs.items() if k not in given}, given)
    try:
        return instantiate({"_target_": path, **kwargs}, _convert_="all")
    except InstantiationException as err:
        cause = err.__cause__ if err.__cause__ is not None else err
        if not isinstance(cause, ValueError | TypeError | InstantiationException):
            raise
        raise ConfigError(f"{where}: {one_line(str(cause))}") from None


def innermost_code(err: BaseException):
    """The code object of the function that raised ``err`` (its innermost frame), or None."""
    tb = err.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb.tb_frame.f_code if tb is not None else None


def one_line(text: str) -> str:
    return " ".join(part.strip() for part in text.splitlines() if part.strip())


def build_problem(node: Any) -> tuple[Any, str]:
    """The problem and its display name from ``problem: {_target_, name, **kwargs}``."""
    spec = plain(node)
    if not isinstance(spec, dict) or "_target_" not in spec:
        raise ConfigError(
            f"problem must be a mapping with a '_target_' (a problem factory), got {spec!r}"
        )
    kwargs = {k: v for k, v in spec.items() if k not in ("name", "_target_")}
    name = spec.get("name") or str(spec["_target_"]).rsplit(".", 1)[-1]
    return make("problem", spec["_target_"], kwargs), str(name)


def build_network(node: Any, in_dim: int, out_dim: int) -> tuple[torch.nn.Module, str]:
    """The bare network ``width = [in_dim, *hidden, out_dim]`` and the model's display name."""
    spec = plain(node)
    if not isinstance(spec, dict) or "_target_" not in spec:
        raise ConfigError(f"model={spec!r}: expected a mapping with a '_target_'")
    name = str(spec.pop("name", None) or spec["_target_"].rsplit(".", 1)[-1])
    hidden = spec.pop("hidden", [])
    if not isinstance(hidden, list) or not all(isinstance(h, int) and h > 0 for h in hidden):
        raise ConfigError(f"model.hidden={hidden!r}: expected a list of positive integers")
    width = [int(in_dim), *hidden, int(out_dim)]
    return make("model", spec.pop("_target_"), {**spec, "width": width}, given=("width",)), name


def build_trainer(node: Any, model, objective, *, resample_every, out_dir: Path):
    """A :class:`kinn.train.Trainer` from ``trainer`` (a ``_partial_`` target) and its stages;
    ``trainer.energy_guard=true`` adds :func:`kinn.train.recipes.energy_guards`."""
    from kinn.train.recipes import energy_guards

    spec = plain(node)
    stages = []
    for i, stage in enumerate(spec.pop("stages", [])):
        options = stage.pop("options", None) or {}
        path = stage.pop("_target_", "kinn.train.Stage")
        stages.append(make(f"trainer.stages[{i}]", path, {**stage, **options}))
    if not stages:
        raise ConfigError("trainer.stages=[]: expected at least one stage")
    if not spec.get("_partial_", False):
        raise ConfigError("trainer._partial_=false: expected true (the app supplies the model)")
    path = spec.pop("_target_")
    guard = bool(spec.pop("energy_guard", False))
    given = ("stages", "resample_every", "out_dir", "callbacks")
    build = make("trainer", path, spec, given)  # a functools.partial of the Trainer
    return call(
        "trainer",
        build,
        {
            "model": model,
            "objective": objective,
            "stages": stages,
            "resample_every": resample_every,
            "out_dir": out_dir,
            "callbacks": energy_guards(model, objective, sum(s.steps for s in stages))
            if guard
            else [],
        },
    )
