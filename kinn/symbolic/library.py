"""Candidate functions for symbolic edges.

Each candidate ``f`` is used as ``c * f(a * x + b) + d``. A candidate carries matching torch and
sympy forms, the open interval of ``u = a * x + b`` on which both forms are real and agree (its
safe domain), a complexity, and which of the inner constants ``a``, ``b`` are free. Fixing a
redundant inner constant (``a`` for powers, where ``(a x + b)^p = a^p (x + b / a)^p``; ``b`` for
``exp``) keeps every fit well posed and every formula short.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import sympy
import torch

__all__ = ["Candidate", "Library", "default_library"]

_INNER = ("ab", "a", "shift", "none")


@dataclass(frozen=True)
class Candidate:
    """One named 1-D function with its torch and sympy forms.

    Attributes:
        name: unique name, e.g. ``"sin"``.
        torch_fn: elementwise ``u -> f(u)`` on tensors.
        sympy_fn: ``u -> f(u)`` on sympy expressions; must equal ``torch_fn`` on ``domain``.
        complexity: a small positive integer; simpler functions win ties.
        domain: open interval ``(lo, hi)`` of admissible ``u``; the fitter never evaluates a
            candidate outside it, so the formula is valid on the whole edge domain.
        inner: which inner constants are free: ``"ab"`` (``u = a x + b``), ``"a"``
            (``u = a x``), ``"shift"`` (``u = s (x + b)`` with a fixed sign ``s = +-1``) or
            ``"none"`` (``u = x``).
        periodic: True for functions with period ``2 pi`` (changes how ``b`` is searched).
        numpy_fn: optional elementwise numpy form used by the fitter; by default it is
            generated from ``sympy_fn`` with ``sympy.lambdify``.
    """

    name: str
    torch_fn: Callable[[torch.Tensor], torch.Tensor]
    sympy_fn: Callable[[sympy.Expr], sympy.Expr]
    complexity: int
    domain: tuple[float, float] = (-math.inf, math.inf)
    inner: str = "ab"
    periodic: bool = False
    numpy_fn: Callable[[np.ndarray], np.ndarray] | None = None

    def __post_init__(self) -> None:
        if not self.name or not isinstance(self.name, str):
            raise ValueError(f"candidate name must be a non-empty string, got {self.name!r}")
        if self.inner not in _INNER:
            raise ValueError(f"candidate inner must be one of {_INNER}, got {self.inner!r}")
        if not (isinstance(self.complexity, int) and self.complexity >= 0):
            raise ValueError(
                f"candidate complexity must be a non-negative int, got {self.complexity!r}"
            )
        lo, hi = self.domain
        if not lo < hi:
            raise ValueError(f"candidate domain must satisfy lo < hi, got {self.domain!r}")
        if self.numpy_fn is None:
            u = sympy.Symbol("u", real=True)
            form = sympy.lambdify(u, self.sympy_fn(u), modules="numpy")
            object.__setattr__(self, "numpy_fn", lambda v: np.broadcast_to(form(v), np.shape(v)))

    def in_domain(self, u):
        """Boolean mask (same type as ``u``) of points strictly inside the safe domain."""
        lo, hi = self.domain
        return (u > lo) & (u < hi)


class Library:
    """An ordered, name-indexed collection of candidates. Users may add their own."""

    def __init__(self, candidates: Iterable[Candidate] = ()):
        self._by_name: dict[str, Candidate] = {}
        for cand in candidates:
            self.add(cand)

    def add(self, candidate: Candidate) -> Library:
        """Add ``candidate`` (a :class:`Candidate`); its name must be new. Returns self."""
        if not isinstance(candidate, Candidate):
            raise ValueError(f"expected a Candidate, got {type(candidate).__name__}")
        if candidate.name in self._by_name:
            raise ValueError(f"candidate name {candidate.name!r} already in the library")
        self._by_name[candidate.name] = candidate
        return self

    def subset(self, names: Iterable[str]) -> Library:
        """A new library with only ``names`` (in the given order)."""
        return Library(self[n] for n in names)

    def __getitem__(self, name: str) -> Candidate:
        if name not in self._by_name:
            raise ValueError(f"unknown candidate {name!r}; the library has {sorted(self._by_name)}")
        return self._by_name[name]

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __iter__(self):
        return iter(self._by_name.values())

    def __len__(self) -> int:
        return len(self._by_name)

    def names(self) -> list[str]:
        return list(self._by_name)


_POS = (0.0, math.inf)
_UNIT = (-1.0, 1.0)


def _pow(p: int):
    return lambda u: u**p


def default_library() -> Library:
    """The standard library: powers and inverse powers, sqrt, exp, log, trigonometric and
    hyperbolic functions, gaussian, abs, 0 and x. Returns a fresh, user-extendable copy."""
    return Library(_defaults())


@functools.cache
def _defaults() -> tuple[Candidate, ...]:
    return tuple(
        [
            Candidate("0", torch.zeros_like, lambda u: sympy.Integer(0), 0, inner="none"),
            Candidate("x", lambda u: u, lambda u: u, 1, inner="none"),
            Candidate("x^2", _pow(2), _pow(2), 2, inner="shift"),
            Candidate("x^3", _pow(3), _pow(3), 3, inner="shift"),
            Candidate("x^4", _pow(4), _pow(4), 3, inner="shift"),
            Candidate("1/x", lambda u: 1 / u, lambda u: 1 / u, 2, _POS, "shift"),
            Candidate("1/x^2", lambda u: u**-2, lambda u: u**-2, 3, _POS, "shift"),
            Candidate("1/x^3", lambda u: u**-3, lambda u: u**-3, 4, _POS, "shift"),
            Candidate("sqrt", torch.sqrt, sympy.sqrt, 2, _POS, "shift"),
            Candidate("1/sqrt", torch.rsqrt, lambda u: 1 / sympy.sqrt(u), 3, _POS, "shift"),
            Candidate(
                "x^1.5", lambda u: u**1.5, lambda u: u ** sympy.Rational(3, 2), 3, _POS, "shift"
            ),
            Candidate("exp", torch.exp, sympy.exp, 2, inner="a"),
            Candidate("log", torch.log, sympy.log, 2, _POS, "shift"),
            Candidate("sin", torch.sin, sympy.sin, 3, periodic=True),
            Candidate("cos", torch.cos, sympy.cos, 3, periodic=True),
            Candidate("tanh", torch.tanh, sympy.tanh, 3),
            Candidate("tan", torch.tan, sympy.tan, 3, (-math.pi / 2, math.pi / 2)),
            Candidate("gaussian", lambda u: torch.exp(-(u**2)), lambda u: sympy.exp(-(u**2)), 3),
            Candidate("abs", torch.abs, sympy.Abs, 3, inner="shift"),
            Candidate("arctan", torch.atan, sympy.atan, 4),
            Candidate("arcsin", torch.asin, sympy.asin, 4, _UNIT),
            Candidate("arctanh", torch.atanh, sympy.atanh, 4, _UNIT),
        ]
    )
