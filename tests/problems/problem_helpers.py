"""Shared by the problem smoke tests."""

import torch

from kinn.train import Trainer


def train_briefly(problem, model, stages, form=None, resample_every=None, **points):
    """Errors of ``model`` before and after a short float64 run: ``(before, after)`` dicts;
    ``points`` go to ``problem.objective`` (``n_interior=...``)."""
    objective = problem.objective(model, form, **points)
    before = objective.validate(model)
    trainer = Trainer(
        model,
        objective,
        stages,
        validate_every=None,
        progress=False,
        dtype=torch.float64,
        resample_every=resample_every,
    )
    trainer.fit()
    return before, objective.validate(model)
