"""kinn: physics-informed Kolmogorov-Arnold networks."""

__version__ = "0.1.0"
