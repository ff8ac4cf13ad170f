import pytest
import torch

from addnn.models import lenet5
from addnn.nn import Adder2d


@pytest.mark.parametrize("kind, adders", [("adder", 2), ("cnn", 0)])
def test_lenet_shapes(kind, adders):
    model = lenet5(kind, num_classes=7)
    assert model(torch.randn(3, 1, 28, 28)).shape == (3, 7)
    assert sum(isinstance(m, Adder2d) for m in model.modules()) == adders
    assert sum(isinstance(m, (torch.nn.BatchNorm2d, torch.nn.BatchNorm1d))
               for m in model.modules()) == 4
