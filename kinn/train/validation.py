"""Validation against a reference solution: relative L2 errors per field."""

from __future__ import annotations

import torch


def relative_l2(pred: torch.Tensor, ref: torch.Tensor) -> float:
    """``||pred - ref||_2 / ||ref||_2`` over all entries; shapes must match, e.g. ``(N, m)``.

    Falls back to the absolute error ``||pred - ref||_2`` when the reference is identically 0.
    """
    if pred.shape != ref.shape:
        raise ValueError(
            f"prediction of shape {tuple(pred.shape)}: expected the reference shape "
            f"{tuple(ref.shape)}"
        )
    pred, ref = pred.detach(), ref.detach().to(pred)
    err = torch.linalg.vector_norm(pred - ref)
    scale = torch.linalg.vector_norm(ref)
    return float(err / scale) if scale > 0 else float(err)


def field_errors(pred: dict[str, torch.Tensor], ref: dict[str, torch.Tensor]) -> dict[str, float]:
    """``{"rel_l2_<name>": error}`` for every field in ``ref``.

    Fields may be primary outputs (``u: (N, 2)``) or derived ones computed from them by the
    caller (stresses, ``mises: (N,)``); each is compared over all its entries.
    """
    missing = [name for name in ref if name not in pred]
    if missing:
        raise ValueError(f"predicted fields {sorted(pred)}: expected also {missing}")
    return {f"rel_l2_{name}": relative_l2(pred[name], ref[name]) for name in ref}
