"""Validation against a reference: relative L2 of primary and derived fields."""

import pytest
import torch

from kinn.train import field_errors
from kinn.train.validation import relative_l2


def test_field_errors_cover_primary_and_derived_fields():
    ref = {"u": torch.tensor([[3.0, 4.0]]), "mises": torch.tensor([2.0, 0.0])}
    pred = {"u": torch.tensor([[3.0, 4.0]]) * 1.1, "mises": torch.tensor([2.0, 1.0])}
    errors = field_errors(pred, ref)
    assert errors["rel_l2_u"] == pytest.approx(0.1)
    assert errors["rel_l2_mises"] == pytest.approx(0.5)
    assert relative_l2(torch.ones(2), torch.zeros(2)) == pytest.approx(2**0.5)
    with pytest.raises(ValueError, match="expected also \\['mises'\\]"):
        field_errors({"u": pred["u"]}, ref)
    with pytest.raises(ValueError, match="expected the reference shape"):
        relative_l2(torch.ones(3), torch.ones(2))
