import pytest
import torch
import torch.nn.functional as F

from addnn.models import lenet5
from addnn.nn import Adder2d
from addnn.ops import reference


@pytest.mark.parametrize("kind, adders", [("adder", 2), ("cnn", 0)])
def test_lenet_shapes(kind, adders):
    model = lenet5(kind, num_classes=7)
    assert model(torch.randn(3, 1, 28, 28)).shape == (3, 7)
    assert sum(isinstance(m, Adder2d) for m in model.modules()) == adders
    assert sum(isinstance(m, (torch.nn.BatchNorm2d, torch.nn.BatchNorm1d))
               for m in model.modules()) == 4


def _bn(x, bn):
    shape = (1, -1) + (1,) * (x.dim() - 2)
    return ((x - bn.running_mean.view(shape)) / (bn.running_var.view(shape) + bn.eps).sqrt()
            * bn.weight.view(shape) + bn.bias.view(shape))


@pytest.mark.parametrize("kind", ["adder", "cnn"])
def test_lenet_equals_the_paper_layout_written_out(kind):
    """LeNet-5-BN: 5x5 (pad 2) -> BN -> ReLU -> pool 2, 5x5 -> BN -> ReLU -> pool 2, then
    400-120-84-C with BN + ReLU, against the float64 adder reference and hand-written BN."""
    torch.manual_seed(0)
    model = lenet5(kind, num_classes=7).double().eval()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
                m.running_mean.normal_(0, 2), m.running_var.uniform_(0.5, 3)
                m.weight.normal_(1, 0.3), m.bias.normal_(0, 0.5)
    f, c = model.features, model.classifier
    conv = (lambda x, w, p: reference.forward(x, w, 1, p)) if kind == "adder" else \
        (lambda x, w, p: F.conv2d(x, w, padding=p))
    x = torch.randn(2, 1, 28, 28, dtype=torch.float64)
    h = F.max_pool2d(torch.relu(_bn(conv(x, f[0].weight, 2), f[1])), 2)        # 6 x 14 x 14
    h = F.max_pool2d(torch.relu(_bn(conv(h, f[4].weight, 0), f[5])), 2)        # 16 x 5 x 5
    h = h.flatten(1)
    h = torch.relu(_bn(h @ c[1].weight.T + c[1].bias, c[2]))
    h = torch.relu(_bn(h @ c[4].weight.T + c[4].bias, c[5]))
    expected = h @ c[7].weight.T + c[7].bias
    with torch.no_grad():
        assert torch.allclose(model(x), expected, rtol=0, atol=1e-9 * expected.abs().max())
