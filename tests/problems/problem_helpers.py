"""Shared by the problem smoke tests."""

import torch

from kinn.train import Trainer


def train_briefly(problem, model, stages, form=None):
    """Errors of ``model`` before and after a short float64 run: ``(before, after)`` dicts."""
    objective = problem.objective(model, form)
    before = objective.validate(model)
    trainer = Trainer(
        model, objective, stages, validate_every=None, progress=False, dtype=torch.float64
    )
    trainer.fit()
    return before, objective.validate(model)
