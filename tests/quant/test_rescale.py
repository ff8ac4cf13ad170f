"""Activation rescaling keeps a float AdderNet ResNet's function (float64 reference)."""

import copy

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from addnn.errors import AddnnError
from addnn.models import resnet20
from addnn.quant.rescale import blocks_of, rescale_activations


def _random_float64_resnet(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    model = resnet20("adder").double().eval()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.normal_(0, 5)
                m.running_var.uniform_(0.5, 30)
                m.weight.uniform_(0.2, 2)
                m.bias.normal_(0, 1)
    return model


FACTOR = st.floats(0.25, 4.0)


@settings(max_examples=8)
@given(stream=st.lists(FACTOR, min_size=3, max_size=3),
       inner=st.lists(FACTOR, min_size=9, max_size=9), seed=st.integers(0, 1000))
def test_logits_and_every_activation_scale_as_stated(stream, inner, seed):
    model = _random_float64_resnet(seed)
    scaled = copy.deepcopy(model)
    rescale_activations(scaled, stream, inner)
    x = torch.randn(2, 3, 12, 12, dtype=torch.float64)
    inner_out = {}       # (model tag, block) -> output of the block's first BN

    def hook_bn1(net, tag):
        return [b.bn1.register_forward_hook(
            lambda mod, args, out, key=(tag, i): inner_out.__setitem__(key, out.clone()))
            for i, (_, b) in enumerate(blocks_of(net))]
    handles = hook_bn1(model, "a") + hook_bn1(scaled, "b")
    with torch.no_grad():
        ref, got = model(x), scaled(x)
    for h in handles:
        h.remove()
    assert torch.allclose(got, ref, rtol=1e-9, atol=1e-9 * ref.abs().max().item())
    for i in range(9):   # the inner activation really carries its factor
        assert torch.allclose(inner_out["b", i], inner[i] * inner_out["a", i], rtol=1e-9, atol=1e-9)


def test_rejects_bad_factors():
    model = resnet20("adder")
    with pytest.raises(AddnnError, match="3 stream factors and 9 inner"):
        rescale_activations(model, [1.0, 1.0], [1.0] * 9)
    with pytest.raises(AddnnError, match="positive"):
        rescale_activations(model, [1.0, -1.0, 1.0], [1.0] * 9)
    with pytest.raises(AddnnError, match="float AdderNet"):
        rescale_activations(resnet20("cnn"), [1.0] * 3, [1.0] * 9)
