"""Hydra configs of the kinn command (a package so that installed copies find them)."""
