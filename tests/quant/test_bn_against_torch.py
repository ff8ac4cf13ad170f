"""BN constants and maps against torch.nn.BatchNorm2d in eval mode, the independent reference.

torch, QONNX and the integer graph all take ``a`` and ``b`` from ``BNParams.affine``, so
comparing them with each other cannot catch a wrong formula there; ``nn.BatchNorm2d`` can.
Tolerances: float64 affine vs float64 BatchNorm2d to 1e-12 of the output magnitude (two
roundings of reordered arithmetic); integer maps equal wherever the exact value is more than
1e-9 output steps from a rounding boundary.
"""

import pytest
import torch
from brevitas.nn import QuantIdentity
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from addnn.numeric import BNParams, IntType, bn_requant_map
from addnn.quant.layers import BNAct


def _bn(channels: int, seed: int, eps: float, affine: bool = True) -> nn.BatchNorm2d:
    gen = torch.Generator().manual_seed(seed)
    bn = nn.BatchNorm2d(channels, eps=eps, affine=affine).double().eval()
    with torch.no_grad():
        bn.running_mean.copy_(torch.randn(channels, generator=gen, dtype=torch.float64) * 30)
        # Small variances make eps matter: a misplaced eps moves the result.
        bn.running_var.copy_(torch.rand(channels, generator=gen, dtype=torch.float64) ** 3 + 1e-4)
        if affine:
            bn.weight.copy_(torch.randn(channels, generator=gen, dtype=torch.float64))
            bn.bias.copy_(torch.randn(channels, generator=gen, dtype=torch.float64) * 3)
    return bn


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), channels=st.integers(1, 16),
       eps=st.sampled_from([1e-5, 1e-3, 0.1]), affine=st.booleans())
def test_affine_constants_equal_batchnorm2d_eval(seed, channels, eps, affine):
    bn = _bn(channels, seed, eps, affine)
    x = torch.randn(3, channels, 4, 5, generator=torch.Generator().manual_seed(seed),
                    dtype=torch.float64) * 50
    aff = BNParams.from_module(bn).affine()
    shape = (1, -1, 1, 1)
    ours = x * torch.from_numpy(aff.a).view(shape) + torch.from_numpy(aff.b).view(shape)
    ref = bn(x)
    assert (ours - ref).abs().max().item() <= 1e-12 * max(ref.abs().max().item(), 1.0)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), relu=st.booleans(), e_in=st.integers(-6, -1),
       e_out=st.integers(-4, 0), in_bits=st.sampled_from([8, 12]))
def test_integer_map_equals_rounded_batchnorm2d(seed, relu, e_in, e_out, in_bits):
    bn = _bn(6, seed, 1e-3)
    in_type, out = IntType(in_bits, True, e_in), IntType(8, not relu, e_out)
    grid = torch.arange(in_type.lo, in_type.hi + 1, dtype=torch.int64)
    acc = grid.view(1, 1, -1, 1).expand(1, 6, -1, 1).contiguous()     # every input, each channel
    y = bn(acc.double() * 2.0 ** e_in)
    if relu:
        y = torch.relu(y)
    steps = y / 2.0 ** e_out
    expected = torch.round(steps).clamp(out.lo, out.hi).long()
    clear = ((steps - steps.floor() - 0.5).abs() > 1e-9) | (steps.round() < out.lo) | \
        (steps.round() > out.hi)
    got = bn_requant_map(BNParams.from_module(bn), in_type, out, relu)(acc)
    assert clear.float().mean() > 0.99
    assert torch.equal(got[clear], expected[clear])


def test_bnact_eval_float_path_equals_batchnorm2d_then_quantizer():
    """BNAct in eval (float path, the one the graph exports) = BatchNorm2d.eval() + ReLU, then
    the same quantizer, up to float32 rounding of the BN output."""
    bn = _bn(8, 3, 1e-5).float()
    act = QuantIdentity(return_quant_tensor=True)
    layer = BNAct(bn, act, relu=True).eval()
    x = torch.randn(4, 8, 6, 6, generator=torch.Generator().manual_seed(1)) * 40
    ours = layer.float_path(x)
    ref_float = torch.relu(bn(x))
    assert (layer.bn.running_mean == bn.running_mean).all()
    pre = (ours.value - act(ref_float).value).abs()
    assert pre.max().item() <= ours.scale.item() + 1e-6            # at most one step apart
    assert (pre == 0).float().mean().item() > 0.99                 # and almost always equal


@pytest.mark.parametrize("eps", [1e-5, 0.5])
def test_affine_a_b_formula(eps):
    """A concrete channel by hand: gamma 2, beta 1, mean 3, var 4 - eps."""
    bn = nn.BatchNorm2d(1, eps=eps).eval()
    with torch.no_grad():
        bn.weight.fill_(2.0), bn.bias.fill_(1.0), bn.running_mean.fill_(3.0)
        bn.running_var.fill_(4.0 - eps)
    aff = BNParams.from_module(bn).affine()
    assert aff.a.tolist() == pytest.approx([1.0], rel=1e-7)      # 2 / sqrt(4)
    assert aff.b.tolist() == pytest.approx([-2.0], rel=1e-7)     # 1 - 3 * 1
