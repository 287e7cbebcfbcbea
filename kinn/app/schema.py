"""Structured-config schema: the types and allowed values of every key the app reads.

Hydra merges each YAML file and command-line override into these dataclasses, so a typo
(``trainer.stpes=10``) or a wrong type (``trainer.seed=abc``) fails before anything runs,
with the full key in the message. ``problem`` and ``model`` stay open (``Any``) because a
user's own ``_target_`` may take any arguments; the shipped models get their own schemas
(``model/kan.yaml`` lists ``kan_schema`` in its defaults) and the app checks every
``_target_``'s keyword arguments against its signature before building it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING


class Form(str, Enum):
    strong = "strong"
    energy = "energy"
    inverse = "inverse"


class Derivatives(str, Enum):
    jet = "jet"
    autograd = "autograd"


class DType(str, Enum):
    float32 = "float32"
    float64 = "float64"


class Optimizer(str, Enum):
    adam = "adam"
    adamw = "adamw"
    sgd = "sgd"
    lbfgs = "lbfgs"


class Basis(str, Enum):
    bspline = "bspline"
    chebyshev = "chebyshev"


@dataclass
class StageConfig:
    """One :class:`kinn.train.Stage`; ``options`` go to the torch optimizer."""

    _target_: str = "kinn.train.Stage"
    optimizer: Optimizer = Optimizer.adam
    steps: int = 1000
    lr: float = 1e-3
    scheduler: Any = None  # None, "cosine", "exponential", "step" or {"name": ..., ...}
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class TrainerConfig:
    """Arguments of :class:`kinn.train.Trainer` (model, objective and out_dir come from the app)."""

    _target_: str = "kinn.train.Trainer"
    _partial_: bool = True
    stages: list[StageConfig] = field(default_factory=lambda: [StageConfig()])
    weights: dict[str, float] = field(default_factory=dict)
    adaptive: Any = None  # None, "gradnorm", "lra" or {"method": ..., ...}
    validate_every: int | None = 100
    log_every: int = 10
    checkpoint_every: int | None = 500
    seed: int = 0
    dtype: DType = DType.float32
    device: str = "cpu"
    progress: bool = True
    max_grad_norm: float | None = None
    early_stopping: dict[str, Any] | None = None


@dataclass
class SamplerConfig:
    """Collocation points; ``None`` keeps the problem's own default."""

    method: str = "sobol"
    n_interior: int | None = None
    n_boundary: int | None = None
    resample_every: int | None = None


@dataclass
class KANConfig:
    _target_: str = "kinn.nn.KAN"
    name: str = "kan"
    hidden: list[int] = field(default_factory=lambda: [16, 16])
    basis: Basis = Basis.bspline
    grid: int = 10
    degree: int = 3
    domain: list[float] = field(default_factory=lambda: [-1.0, 1.0])
    hidden_domain: list[float] | None = None  # None: kinn.nn.KAN's default
    base: str | None = "default"
    bias: bool = True


@dataclass
class MLPConfig:
    _target_: str = "kinn.nn.MLP"
    name: str = "mlp"
    hidden: list[int] = field(default_factory=lambda: [64, 64])
    activation: str = "tanh"


@dataclass
class Config:
    """The whole run. ``problem``/``model`` hold ``_target_`` (or a registry ``name``) + kwargs."""

    problem: Any = MISSING
    model: Any = MISSING
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    sampler: SamplerConfig = field(default_factory=SamplerConfig)
    form: Form | None = None  # None: the problem's default form
    derivatives: Derivatives = Derivatives.jet
    resume: str | None = None  # a run directory or checkpoint file to continue


def register() -> None:
    """Put the schemas in Hydra's ConfigStore (idempotent)."""
    cs = ConfigStore.instance()
    cs.store(name="kinn_schema", node=Config)
    cs.store(group="model", name="kan_schema", node=KANConfig)
    cs.store(group="model", name="mlp_schema", node=MLPConfig)
    cs.store(group="trainer", name="trainer_schema", node=TrainerConfig)
    cs.store(group="sampler", name="sampler_schema", node=SamplerConfig)
