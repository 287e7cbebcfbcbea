"""Named training recipes: a :class:`Trainer` in one line.

``accurate`` is the recipe to use whenever accuracy matters (the app's ``trainer=accurate``,
``conf/trainer/accurate.yaml``, holds the same stages): float64, Adam with a cosine
schedule to find the basin, then a self-scaled quasi-Newton method with a strong-Wolfe line
search to polish. It needs nothing of the network (KAN, Chebyshev KAN, MLP) nor of the form
(strong, energy, inverse)::

    result = kinn.train.accurate(model, objective).fit()
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import nn

from kinn.train.objective import Objective
from kinn.train.stages import Stage
from kinn.train.trainer import Trainer

ADAM_STEPS = 2000
ADAM_LR = 5e-3
POLISH = "ssbroyden"
POLISH_STEPS = 100
POLISH_ITER = 20  # quasi-Newton iterations per trainer step
DENSE_LIMIT = 20_000  # the dense inverse Hessian of SSBroyden: (n, n) float64


def accurate_stages(
    n_params: int | None = None, *, adam_steps: int = ADAM_STEPS, polish_steps: int = POLISH_STEPS
) -> list[Stage]:
    """The stages of :func:`accurate`: ``adam_steps`` Adam steps (lr 5e-3, cosine), then
    ``polish_steps`` steps of ``POLISH_ITER`` self-scaled Broyden iterations (L-BFGS with
    a 50-pair history instead when ``n_params`` exceeds ``DENSE_LIMIT``, where a dense
    inverse Hessian would not fit)."""
    for key, value in (("adam_steps", adam_steps), ("polish_steps", polish_steps)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{key} must be a positive integer, got {value!r}")
    stages = [Stage("adam", adam_steps, ADAM_LR, scheduler="cosine")]
    if n_params is not None and n_params > DENSE_LIMIT:
        stages.append(Stage("lbfgs", polish_steps, max_iter=POLISH_ITER, history_size=50))
    else:
        stages.append(Stage(POLISH, polish_steps, max_iter=POLISH_ITER))
    return stages


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
            ``callbacks``, ``resample_every``, ...); ``dtype`` defaults to float64.
    """
    if "stages" in options:
        raise ValueError(
            f"stages must not be given to accurate() (it chooses them), got {options['stages']!r}"
        )
    n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    n_params += sum(p.numel() for p in objective.parameters() if p.requires_grad)
    options = {"dtype": "float64", "validate_every": 500, "checkpoint_every": 500, **options}
    stages = accurate_stages(n_params, adam_steps=adam_steps, polish_steps=polish_steps)
    return Trainer(model, objective, stages, out_dir=out_dir, **options)
