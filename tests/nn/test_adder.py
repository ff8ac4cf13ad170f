import pytest
import torch

from addnn.nn import Adder2d
from addnn.ops import reference


def test_module_matches_reference_and_has_weight():
    torch.manual_seed(0)
    layer = Adder2d(3, 5, 3, stride=2, padding=1, bias=True).double()
    with torch.no_grad():
        layer.bias.copy_(torch.arange(5.0))
    x = torch.randn(2, 3, 9, 9, dtype=torch.float64)
    expected = reference.forward(x, layer.weight.detach(), 2, 1) + torch.arange(5.0).view(1, 5,
                                                                                       1, 1)
    assert torch.allclose(layer(x), expected, rtol=0, atol=1e-12)
    assert [n for n, _ in layer.named_parameters()] == ["weight", "bias"]
    assert layer.weight.shape == (5, 3, 3, 3)


def test_init_is_standard_normal():
    torch.manual_seed(0)
    w = Adder2d(64, 64, 3).weight.detach()
    # 36,864 samples: the standard errors of mean and std are about 0.005 and 0.004.
    assert abs(w.mean().item()) < 0.03
    assert abs(w.std().item() - 1.0) < 0.03


def test_no_bias_by_default_and_gradients_equal_the_reference():
    """Gradients of the module: grad_input is AdderNet's HardTanh(w - x) back-propagation and
    grad_weight the full-precision (x - w) one, rescaled by eta (reference.backward)."""
    torch.manual_seed(2)
    layer = Adder2d(2, 4, 3, padding=1, eta=None).double()
    assert layer.bias is None
    x = torch.randn(1, 2, 4, 4, dtype=torch.float64, requires_grad=True)
    g = torch.randn(1, 4, 4, 4, dtype=torch.float64)
    layer(x).backward(g)
    ref_gx, ref_gw = reference.backward(x.detach(), layer.weight.detach(), g, 1, 1,
                                        eta=None)
    assert torch.allclose(x.grad, ref_gx, rtol=0, atol=1e-12)
    assert torch.allclose(layer.weight.grad, ref_gw, rtol=0, atol=1e-12)


def test_repr_names_the_configuration():
    assert "stride=2" in repr(Adder2d(2, 4, 3, stride=2, padding=1))


@pytest.mark.parametrize("eta", [None, 0.1])
def test_eta_reaches_the_op(eta):
    torch.manual_seed(1)
    layer = Adder2d(2, 3, 3, padding=1, eta=eta).double()
    x = torch.randn(2, 2, 5, 5, dtype=torch.float64)
    layer(x).sum().backward()
    raw = reference.backward(x, layer.weight.detach(), torch.ones(2, 3, 5, 5,
                                                                  dtype=torch.float64), 1, 1,
                             eta=None)[1]
    if eta is None:     # no rescaling: the raw full-precision gradient
        assert torch.allclose(layer.weight.grad, raw, rtol=0, atol=1e-12)
    else:               # the same direction, with norm eta * sqrt(numel)
        assert abs(layer.weight.grad.norm().item() - eta * layer.weight.numel() ** 0.5) < 1e-9
        expected = raw / raw.norm() * eta * layer.weight.numel() ** 0.5
        assert torch.allclose(layer.weight.grad, expected, rtol=0, atol=1e-12)
