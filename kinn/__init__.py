"""kinn: physics-informed Kolmogorov-Arnold networks."""

from ._runtime import tune_allocator

__version__ = "0.1.0"

tune_allocator()
