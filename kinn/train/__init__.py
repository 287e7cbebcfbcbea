"""Training engine: stages of optimizers over an objective's loss terms.

Public surface: :class:`Trainer`, :class:`Stage`, :func:`accurate` (the recipe to use
whenever accuracy matters, in one line), :class:`Result` (what ``fit`` returns;
``TrainResult`` is its older name), :class:`DivergenceError`, :class:`Objective`,
:func:`init_distributed` (training on the ranks torchrun starts), plus helpers the PDE layer
uses:
:func:`seed_everything`, :func:`residual_point_weights`, :func:`field_errors`. The
second-order optimizers behind the stages live in :mod:`kinn.train.optim`.
"""

from kinn.train.checkpoint import seed_everything
from kinn.train.distributed import init_distributed
from kinn.train.objective import Objective
from kinn.train.recipes import EnergyGuard, accurate, accurate_stages, energy_guards
from kinn.train.result import Evaluation, Result
from kinn.train.stages import Stage
from kinn.train.trainer import RESTART, DivergenceError, Trainer, TrainResult
from kinn.train.validation import field_errors
from kinn.train.weighting import residual_point_weights

__all__ = [
    "RESTART",
    "DivergenceError",
    "EnergyGuard",
    "Evaluation",
    "Objective",
    "Result",
    "Stage",
    "TrainResult",
    "Trainer",
    "accurate",
    "accurate_stages",
    "energy_guards",
    "field_errors",
    "init_distributed",
    "residual_point_weights",
    "seed_everything",
]
