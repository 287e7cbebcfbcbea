"""NaN/Inf guard: a diverging run stops with a clear message and keeps the last good checkpoint."""

import pytest
import torch
from torch import nn
from train_helpers import SineFit, mlp

from kinn.train import DivergenceError, Objective, Stage, Trainer


def test_nan_term_stops_with_message_and_keeps_last_good_checkpoint(tmp_path):
    trainer = Trainer(
        mlp(),
        SineFit(nan_at=13),  # Adam evaluates the losses once per step: step 13 turns NaN
        [Stage("adam", 30, 1e-2)],
        checkpoint_every=5,
        out_dir=tmp_path,
        progress=False,
    )
    with pytest.raises(DivergenceError) as info:
        trainer.fit()
    err = info.value
    message = str(err)
    last = tmp_path / "last.pt"
    assert "step 13" in message and "stage 0" in message and "adam" in message
    assert "'bc'" in message and "'fit'" not in message
    assert str(last) in message and "(step 10)" in message
    assert "lower this stage's learning rate" in message
    assert (err.step, err.stage, err.terms, err.checkpoint) == (13, 0, ["bc"], str(last))

    ckpt = torch.load(last, weights_only=True)
    assert ckpt["step"] == 10
    assert all(torch.isfinite(v).all() for v in ckpt["model"].values())
    assert not (tmp_path / "last.pt.tmp").exists()
    assert (tmp_path / "history.json").is_file()


class Quartic(nn.Module):
    """min w^4 is unstable under plain gradient descent with a large step: w overshoots."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.tensor([1.0]))


def test_huge_learning_rate_diverges_and_names_the_remedy(tmp_path):
    model = Quartic()
    trainer = Trainer(
        model,
        Objective.from_losses(lambda m: {"quartic": (m.w**4).sum()}),
        [Stage("sgd", 50, 10.0)],
        validate_every=None,
        out_dir=tmp_path,
        progress=False,
    )
    with pytest.raises(DivergenceError, match="non-finite .*'quartic'") as info:
        trainer.fit()
    assert "No checkpoint had been written yet" in str(info.value)
    assert "lr=10" in str(info.value)
    assert not (tmp_path / "last.pt").exists()


def test_guard_without_out_dir_says_nothing_was_kept():
    with pytest.raises(DivergenceError, match="out_dir=None"):
        Trainer(mlp(), SineFit(nan_at=2), [Stage("adam", 5, 1e-2)], progress=False).fit()


def test_non_finite_parameter_is_never_written_to_a_checkpoint(tmp_path):
    model = nn.Linear(1, 1, bias=False)
    nn.init.constant_(model.weight, 1.0)
    trainer = Trainer(
        model,
        Objective.from_losses(lambda m: {"steep": 1e30 * m(torch.ones(1, 1)).sum()}),
        [Stage("sgd", 3, 1e30)],  # finite loss and gradient, but the step overflows to -inf
        checkpoint_every=1,
        out_dir=tmp_path,
        progress=False,
    )
    with pytest.raises(DivergenceError, match="step 1 .*'parameter weight'") as info:
        trainer.fit()
    assert info.value.checkpoint is None
    assert not (tmp_path / "last.pt").exists() and not (tmp_path / "best.pt").exists()


def test_resampling_objective_without_state_warns_that_resume_is_inexact():
    x = torch.linspace(-1, 1, 8).unsqueeze(1)

    class Stateless(Objective):
        def losses(self, model):
            return {"fit": (model(x) ** 2).mean()}

        def resample(self, generator):
            pass

    trainer = Trainer(mlp(), Stateless(), Stage("adam", 2, 1e-3), resample_every=1)
    with pytest.warns(UserWarning, match="no state_dict"):
        trainer.fit()
