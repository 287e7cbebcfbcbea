"""kinn: physics-informed Kolmogorov-Arnold networks.

Importing kinn changes nothing in the process (and loads no torch). :func:`load` opens a run
the ``kinn`` command wrote as a :class:`kinn.train.Result`. :func:`tune_allocator` is the
opt-in allocator tuning that the ``kinn`` command applies to its own process.
"""

import sys as _sys
from importlib import metadata as _metadata
from pathlib import Path as _Path

# The oldest torch kinn runs on: torch.library.custom_op, register_fake and
# register_autograd (the fused kernel's op, kinn/nn/_ops.py) arrive in 2.4. Keep in step with
# pyproject.toml's dependency.
_TORCH_MIN = (2, 4)


def _torch_version(version: str) -> tuple[int, int]:
    """(major, minor) of a torch version string such as ``"2.13.0+cpu"``."""
    major, minor = version.split(".")[:2]
    return int(major), int("".join(c for c in minor if c.isdigit()) or 0)


def _check_torch(version: str) -> None:
    """Raise ``ImportError`` when ``version`` is older than ``_TORCH_MIN``."""
    if _torch_version(version) < _TORCH_MIN:
        need = ".".join(map(str, _TORCH_MIN))
        raise ImportError(f"kinn needs torch >= {need}, got {version}; pip install 'torch>={need}'")


def _installed_torch() -> str:
    """The torch version, without importing torch (the ``kinn`` command sets OpenMP's wait
    policy before torch starts its thread pool): the loaded module's when torch is imported,
    else the installed distribution's."""
    loaded = _sys.modules.get("torch")
    if loaded is not None:
        return str(loaded.__version__)
    try:
        return _metadata.version("torch")
    except _metadata.PackageNotFoundError:
        raise ImportError("kinn needs torch; pip install torch") from None


_check_torch(_installed_torch())

from ._runtime import tune_allocator  # noqa: E402

__version__ = "0.1.0"
__all__ = ["load", "tune_allocator"]


def __getattr__(name: str):
    # kinn.load imports torch: only when it is used, so `import kinn` stays light.
    if name == "load":
        from kinn.app.load import load

        return load
    raise AttributeError(f"module 'kinn' has no attribute {name!r}")


# An install maps the repository's top-level conf/ and problems/ to kinn.conf and
# kinn.problems (pyproject.toml); a source checkout run without installing (a worktree, a
# clean clone under pytest) finds them beside this package instead.
_checkout = _Path(__file__).resolve().parent.parent
if all(
    (_checkout / marker).is_file()
    for marker in ("pyproject.toml", "conf/config.yaml", "problems/__init__.py")
):
    __path__.append(str(_checkout))
del _checkout, _Path
