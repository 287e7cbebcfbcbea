"""Exact resume: an interrupted and resumed run equals an uninterrupted one, bit for bit."""

import pytest
import torch
from train_helpers import SineFit, mlp

from kinn.train import Objective, Stage, Trainer

N_ADAM, N_LBFGS = 20, 10


class Crash(Exception):
    pass


def make_trainer(
    out_dir, checkpoint_every=None, crash_at=None, init_seed=0, dtype=torch.float32, second="lbfgs"
):
    def crash(row):
        if row["step"] == crash_at:
            raise Crash

    stages = [
        Stage("adam", N_ADAM, 1e-2, scheduler="cosine"),
        Stage(second, N_LBFGS, **({"history_size": 5} if second == "lbfgs" else {})),
    ]
    return Trainer(
        mlp(seed=init_seed),
        SineFit(),
        stages,
        adaptive={"method": "gradnorm", "update_every": 3},
        resample_every=5,
        validate_every=7,
        log_every=1,
        checkpoint_every=checkpoint_every,
        out_dir=out_dir,
        progress=False,
        callbacks=[crash],
        dtype=dtype,
    )


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    return make_trainer(tmp_path_factory.mktemp("straight")).fit()


def _without_time(rows):
    return [{k: v for k, v in r.items() if k != "time_s"} for r in rows]


@pytest.mark.parametrize("k", [10, 20, 25], ids=["mid-adam", "stage-boundary", "mid-lbfgs"])
def test_resumed_run_equals_uninterrupted_run(straight, tmp_path, k):
    crashed = make_trainer(tmp_path, checkpoint_every=k, crash_at=k + 2)
    with pytest.raises(Crash):
        crashed.fit()
    # Crashed trainer's model is discarded; a new trainer picks up from disk.
    assert torch.load(tmp_path / "last.pt", weights_only=True)["step"] == k
    # Another init on purpose: resume must overwrite every parameter.
    resumed = make_trainer(tmp_path, checkpoint_every=k, init_seed=1).fit(resume=tmp_path)

    assert resumed.steps == straight.steps == N_ADAM + N_LBFGS
    for a, b in zip(straight.model.parameters(), resumed.model.parameters(), strict=True):
        assert torch.equal(a, b)
    assert _without_time(resumed.history) == _without_time(straight.history)
    assert resumed.final_loss == straight.final_loss


def test_float64_resume_mid_lbfgs_is_exact(tmp_path):
    straight = make_trainer(tmp_path / "a", dtype=torch.float64).fit()
    with pytest.raises(Crash):
        make_trainer(tmp_path / "b", checkpoint_every=24, crash_at=26, dtype=torch.float64).fit()
    resumed = make_trainer(tmp_path / "b", init_seed=1, dtype=torch.float64).fit(
        resume=tmp_path / "b" / "last.pt"
    )
    for a, b in zip(straight.model.parameters(), resumed.model.parameters(), strict=True):
        assert a.dtype == torch.float64 and torch.equal(a, b)


@pytest.mark.parametrize("second", ["ssbfgs", "ssbroyden", "gauss_newton"])
def test_resume_mid_second_order_stage_is_exact(tmp_path, second):
    straight = make_trainer(tmp_path / "a", second=second).fit()
    with pytest.raises(Crash):
        make_trainer(tmp_path / "b", checkpoint_every=24, crash_at=26, second=second).fit()
    state = torch.load(tmp_path / "b" / "last.pt", weights_only=True)["optimizer"]["state"]
    assert state["iterations"] > 0
    if second != "gauss_newton":  # the float32 model's inverse Hessian stays float64
        assert state["H"].dtype == torch.float64 and state["H"].shape == (25, 25)
    resumed = make_trainer(tmp_path / "b", init_seed=1, second=second).fit(resume=tmp_path / "b")
    for a, b in zip(straight.model.parameters(), resumed.model.parameters(), strict=True):
        assert torch.equal(a, b)
    assert _without_time(resumed.history) == _without_time(straight.history)
    assert straight.history[-1]["loss"] < straight.history[N_ADAM - 1]["loss"]


class Constant(Objective):
    """An inverse problem's constant c, held by an objective without a state_dict."""

    def __init__(self):
        self.c = torch.nn.Parameter(torch.tensor(0.0))

    def losses(self, model):
        return {"data": (self.c - 2.0) ** 2 + model(self.c.reshape(1, 1)).pow(2).sum()}

    def parameters(self):
        return [self.c]


def test_objective_parameters_resume_exactly(tmp_path):
    def trainer(out_dir, crash_at=None):
        def crash(row):
            if row["step"] == crash_at:
                raise Crash

        stages = [Stage("adam", 6, 0.1), Stage("lbfgs", 4, 1.0)]
        return Trainer(
            mlp(),
            Constant(),
            stages,
            out_dir=out_dir,
            checkpoint_every=5,
            log_every=1,
            progress=False,
            callbacks=[crash],
        )

    straight = trainer(tmp_path / "a")
    straight.fit()
    with pytest.raises(Crash):
        trainer(tmp_path / "b", crash_at=8).fit()
    resumed = trainer(tmp_path / "b")
    resumed.fit(resume=tmp_path / "b")
    assert float(straight.objective.c.detach()) != 0.0
    assert torch.equal(resumed.objective.c, straight.objective.c)
    for a, b in zip(straight.model.parameters(), resumed.model.parameters(), strict=True):
        assert torch.equal(a, b)


def test_resume_rejects_other_stages_and_dtype(straight, tmp_path):
    make_trainer(tmp_path, checkpoint_every=25).fit()
    other = Trainer(mlp(), SineFit(), [Stage("sgd", 5, 1e-2)], progress=False)
    with pytest.raises(ValueError, match="expected stages compatible"):
        other.fit(resume=tmp_path / "last.pt")
    wrong = Trainer(mlp(), SineFit(), [Stage("adam", 5, 1e-2)], dtype=torch.float64)
    with pytest.raises(ValueError, match="dtype"):
        wrong.fit(resume=tmp_path)
    with pytest.raises(ValueError, match="existing checkpoint"):
        wrong.fit(resume=tmp_path / "missing.pt")
