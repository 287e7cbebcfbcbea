"""Geometry, collocation samplers and quadrature for physics-informed networks."""
