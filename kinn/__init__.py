"""kinn: physics-informed Kolmogorov-Arnold networks.

Importing kinn changes nothing in the process (and loads no torch). :func:`load` opens a run
the ``kinn`` command wrote as a :class:`kinn.train.Result`. :func:`tune_allocator` is the
opt-in allocator tuning that the ``kinn`` command applies to its own process.
"""

from pathlib import Path as _Path

from ._runtime import tune_allocator

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
