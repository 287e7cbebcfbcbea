"""Second-order optimizers for PINN training, as ``torch.optim.Optimizer`` subclasses that
take a closure (like ``torch.optim.LBFGS``) and save their whole state in ``state_dict``.

- :class:`LBFGS`: limited-memory BFGS with a strong-Wolfe line search.
- :class:`SSBFGS`, :class:`SSBroyden`: dense self-scaled BFGS and Broyden updates (Al-Baali
  1998; Urbán, Stefanou & Pons 2025) for networks up to about 20k parameters.
- :class:`GaussNewton`: damped Gauss-Newton (the energy natural gradient of least-squares
  PINN losses, Müller & Zeinhofer 2023); its closure returns residuals, not a loss.

:func:`strong_wolfe` is the line search they share; :class:`ClosureOptimizer` is their base
(one flat float64 parameter vector, and ``closure_kind``, which tells the trainer what
closure to pass). In the trainer they are the stages
``"lbfgs"``, ``"ssbfgs"``, ``"ssbroyden"`` and ``"gauss_newton"``.
"""

from ._base import ClosureOptimizer
from .gauss_newton import GaussNewton
from .line_search import strong_wolfe
from .quasi_newton import LBFGS, SSBFGS, SSBroyden

__all__ = ["LBFGS", "SSBFGS", "ClosureOptimizer", "GaussNewton", "SSBroyden", "strong_wolfe"]
