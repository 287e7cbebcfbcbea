"""Named training recipes: a :class:`Trainer` in one line.

``accurate`` is the recipe to use whenever accuracy matters (the app's ``trainer=accurate``,
``conf/trainer/accurate.yaml``, holds the same stages): float64, Adam with a cosine
schedule to find the basin, then self-scaled Broyden with a strong-Wolfe line search and
a dense inverse Hessian to polish (L-BFGS past ``POLISH_MAX_PARAMS`` parameters: see
:func:`accurate_stages`). It needs nothing of the network (KAN, Chebyshev KAN, MLP) nor of
the form (strong, energy, inverse)::

    result = kinn.train.accurate(model, objective).fit()
"""

from __future__ import annotations

import copy
import math
import warnings
from pathlib import Path
from typing import Any

from torch import nn

from kinn.train.objective import Objective
from kinn.train.stages import Stage
from kinn.train.trainer import RESTART, Trainer

ADAM_STEPS = 1000
ADAM_LR = 5e-3
POLISH_STEPS = 3000  # quasi-Newton iterations, one per trainer step
# Past this many parameters the polish runs L-BFGS: a dense update and direction cost ~64 ms
# at 4.5k parameters, ~210 ms at 8.6k and ~1.1 s at 20k (one CPU thread), against a loss
# evaluation of ~10-30 ms for the suite's networks.
POLISH_MAX_PARAMS = 6000
ROUND_OFF = 1e-9  # relative energy differences the energy guard takes for noise


def accurate_stages(
    *, adam_steps: int = ADAM_STEPS, polish_steps: int = POLISH_STEPS
) -> list[Stage]:
    """The stages of :func:`accurate`: ``adam_steps`` Adam steps (lr 5e-3, cosine), then
    ``polish_steps`` iterations of self-scaled Broyden (:class:`kinn.train.optim.SSBroyden`,
    strong-Wolfe line search, dense float64 inverse Hessian), or of L-BFGS when the network
    has more than ``POLISH_MAX_PARAMS`` parameters (the stage's ``fallback``, with a warning).

    Why self-scaled Broyden: with the same 1000 Adam steps before it, 1000 of its
    iterations took the suite's problems (``benchmarks.accuracy``, full budget, one CPU
    thread, 2026-12-03) to 1.8e-6 on 2-D Poisson (B-spline KAN, 110 s; 2000 Adam + 2000
    L-BFGS iterations: 9.2e-6 in 76 s), 4.6e-7 on 2-D Poisson in the energy form (Chebyshev
    KAN, 82 s; L-BFGS: 5.2e-6 in 108 s) and 2.1e-6 on plane elasticity in the energy form
    (Chebyshev KAN, 420 s; L-BFGS: 1.6e-5 in 493 s).

    Why 3000 iterations: at a quarter of the budget (250 Adam steps, then 750 iterations;
    ``benchmarks.accuracy --scale 0.25``, 2026-12-03, one CPU thread) the B-spline KAN's
    errors (grid 10) kept falling past the 250 iterations of a quarter of the former 1000:
    allen_cahn 0.32 -> 0.029, klein_gordon 0.090 -> 0.022, wave1d 0.38 -> 0.096,
    multiscale_1d 0.37 -> 0.042, poisson3d 1.3e-4 -> 2.8e-5, every one still in less CPU
    time than DeepXDE's recipe at the same scale.
    """
    for key, value in (("adam_steps", adam_steps), ("polish_steps", polish_steps)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{key} must be a positive integer, got {value!r}")
    return [
        Stage("adam", adam_steps, ADAM_LR, scheduler="cosine"),
        Stage("ssbroyden", polish_steps, fallback="lbfgs", max_params=POLISH_MAX_PARAMS),
    ]


def accurate(
    model: nn.Module,
    objective: Objective,
    *,
    adam_steps: int = ADAM_STEPS,
    polish_steps: int = POLISH_STEPS,
    out_dir: str | Path | None = None,
    **options: Any,
) -> Trainer:
    """A :class:`Trainer` with the accurate recipe (:func:`accurate_stages`) in float64.

    Args:
        model, objective: as for :class:`Trainer`.
        adam_steps, polish_steps: lengths of the two stages.
        out_dir: where checkpoints and history go (``None``: nowhere).
        **options: any other :class:`Trainer` keyword (``validate_every``, ``device``,
            ``callbacks``, ``resample_every``, ...); ``dtype`` defaults to float64,
            ``validate_every`` to 50.

    In the energy form (an objective with ``form == "energy"`` and an ``energy_guard``)
    the trainer also gets an :class:`EnergyGuard` callback.
    """
    if "stages" in options:
        raise ValueError(
            f"stages must not be given to accurate() (it chooses them), got {options['stages']!r}"
        )
    options = {"dtype": "float64", "validate_every": 50, "checkpoint_every": 500, **options}
    stages = accurate_stages(adam_steps=adam_steps, polish_steps=polish_steps)
    guards = energy_guards(model, objective, final_step=sum(s.steps for s in stages))
    options["callbacks"] = [*options.get("callbacks", ()), *guards]
    return Trainer(model, objective, stages, out_dir=out_dir, **options)


def energy_guards(
    model: nn.Module, objective: Objective, final_step: int | None = None
) -> list[EnergyGuard]:
    """``[EnergyGuard(...)]`` for an energy-form objective with an ``energy_guard``
    tolerance, else ``[]``: the callbacks :func:`accurate` (and the app's
    ``trainer.energy_guard=true``) add; ``final_step`` is the run's last step."""
    tolerance = getattr(objective, "energy_guard", None)
    if tolerance is None or getattr(objective, "form", None) != "energy":
        return []
    return [EnergyGuard(model, objective, tolerance, final_step=final_step)]


class EnergyGuard:
    """A trainer callback for the energy form. At every validation row that holds
    ``energy_gap_<term>`` metrics (see :meth:`kinn.pde.PDEObjective.energy_gap`) it keeps a
    copy of the parameters with the lowest ``energy_fine`` (the energy on the finer rule,
    the best estimate of the true one) among those whose gaps are all within
    ``tolerance``. Once a gap exceeds it the optimizer has started to lower the energy by
    fitting the quadrature points, not the physics: the guard puts the kept parameters back
    and, ``refinements`` times at most, trains on from there on the finer rule (the
    objective's ``refine_quadrature``; the optimizer restarts), else stops the run
    (``stop_reason="callback"``), with a warning each time. At ``final_step``, if the
    parameters' energy on the finer rule is above the kept one by more than ``ROUND_OFF``
    of it (the rule was fitted by less than the tolerance, yet fitted: the true energy rose
    while the training energy fell), the kept parameters are put back, with a warning.
    :func:`accurate` adds it in the energy form.

    Args:
        model, objective: the trainer's.
        tolerance: the largest gap accepted (the objective's ``energy_guard``).
        refinements: how many times the rule may be refined (each doubles the points per
            direction: 4x the points in 2-D); 0 only stops.
        final_step: the run's last step (``None``: no check at the end).
    """

    def __init__(
        self,
        model: nn.Module,
        objective: Objective,
        tolerance: float,
        refinements: int = 2,
        final_step: int | None = None,
    ):
        if isinstance(refinements, bool) or not isinstance(refinements, int) or refinements < 0:
            raise ValueError(f"refinements must be an integer >= 0, got {refinements!r}")
        self.model, self.objective, self.tolerance = model, objective, float(tolerance)
        self.refinements, self.final_step = refinements, final_step
        self.good: tuple[dict, list] | None = None
        self.good_step: int | None = None
        self.good_energy = math.inf

    def _keep(self, step: int, energy: float) -> None:
        params = list(self.objective.parameters())
        state = copy.deepcopy(self.model.state_dict())
        self.good = (state, [p.detach().clone() for p in params])
        self.good_step, self.good_energy = step, energy

    def _restore(self) -> str:
        if self.good is None:
            return "no earlier validation to return to"
        state, values = self.good
        self.model.load_state_dict(state)
        for p, value in zip(self.objective.parameters(), values):
            p.data.copy_(value)
        return f"parameters of step {self.good_step} restored"

    def __call__(self, row: dict) -> bool | str:
        gaps = {k: v for k, v in row.items() if k.startswith("energy_gap_")}
        if not gaps:
            return False
        energy = float(row.get("energy_fine", math.nan))
        if max(gaps.values()) <= self.tolerance:
            if self.good is None or not energy > self.good_energy:  # NaN: no energy, keep
                self._keep(row["step"], energy)
            elif (
                self.final_step is not None
                and row["step"] >= self.final_step
                and energy - self.good_energy > ROUND_OFF * abs(self.good_energy)
            ):
                warnings.warn(
                    f"energy on the finer rule at the last step {row['step']} ({energy:.12g}) "
                    f"is above step {self.good_step}'s ({self.good_energy:.12g}): the network "
                    f"fitted the rule; {self._restore()}",
                    RuntimeWarning,
                    stacklevel=2,
                )
            return False
        where = self._restore()
        worst = max(gaps, key=lambda k: gaps[k])
        refine = getattr(self.objective, "refine_quadrature", None)
        sharded = getattr(self.objective, "comm", None) is not None
        refined = getattr(self.objective, "refine", 1)  # kept in the objective's checkpoint
        going_on = refine is not None and not sharded and refined < 2**self.refinements
        what = "training goes on with the rule refined" if going_on else "training stopped"
        warnings.warn(
            f"{worst}={gaps[worst]:.2e} at step {row['step']} exceeds energy_guard="
            f"{self.tolerance:g}: {where}, {what}",
            RuntimeWarning,
            stacklevel=2,
        )
        if not going_on or refine is None:
            return True
        refine()
        return RESTART
