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
    auto = "auto"
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
    ssbfgs = "ssbfgs"
    ssbroyden = "ssbroyden"
    gauss_newton = "gauss_newton"


class Basis(str, Enum):
    bspline = "bspline"
    chebyshev = "chebyshev"


@dataclass
class StageConfig:
    """One :class:`kinn.train.Stage`; ``options`` go to the optimizer. ``optimizer`` and
    ``steps`` are required; ``lr: null`` (the default) takes the optimizer's own default."""

    _target_: str = "kinn.train.Stage"
    optimizer: Optimizer = MISSING
    steps: int = MISSING
    lr: float | None = None
    scheduler: Any = None  # None, "cosine", "exponential", "step" or {"name": ..., ...}
    grid: int | None = None  # grid extension of B-spline KANs before the stage
    fallback: str | None = None  # ssbfgs/ssbroyden: "lbfgs" past options.max_params
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class TrainerConfig:
    """Arguments of :class:`kinn.train.Trainer` (model, objective and out_dir come from the app)."""

    _target_: str = "kinn.train.Trainer"
    _partial_: bool = True
    stages: list[StageConfig] = MISSING
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
    distributed: bool = False  # train on the ranks torchrun starts (see docs/app.md)
    # energy form: refine the quadrature (or stop) when the network starts to fit the rule
    energy_guard: bool = False


@dataclass
class SamplerConfig:
    """Collocation points; ``None`` keeps the problem's own default."""

    method: str = "sobol"
    n_interior: int | None = None
    n_boundary: int | None = None
    resample_every: int | None = None
    adaptive: str | None = None  # None or "rad": resampled interior points by RAD
    point_weights: str | None = None  # None or "rba": residual-based attention
    causal: float | None = None  # epsilon of causal weighting (space-time problems)


@dataclass
class KANConfig:
    _target_: str = "kinn.nn.KAN"
    name: str = "kan"
    hidden: list[int] = field(default_factory=lambda: [16, 16])
    basis: Basis = Basis.bspline
    grid: int = 5
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
    """The whole run. ``problem``/``model`` hold a ``_target_`` and its keyword arguments."""

    problem: Any = MISSING
    model: Any = MISSING
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    sampler: SamplerConfig = field(default_factory=SamplerConfig)
    form: Form | None = None  # None: the problem's default form
    derivatives: Derivatives = Derivatives.auto  # auto: the problem's own choice
    threads: Any = "auto"  # "auto" or a positive integer (checked when the run starts)
    resume: str | None = None  # a run directory or checkpoint file to continue


def register() -> None:
    """Put the schemas in Hydra's ConfigStore (idempotent)."""
    cs = ConfigStore.instance()
    cs.store(name="kinn_schema", node=Config)
    cs.store(group="model", name="kan_schema", node=KANConfig)
    cs.store(group="model", name="mlp_schema", node=MLPConfig)
    cs.store(group="trainer", name="trainer_schema", node=TrainerConfig)
    cs.store(group="sampler", name="sampler_schema", node=SamplerConfig)
