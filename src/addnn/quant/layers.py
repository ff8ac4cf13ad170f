"""Layers of the integer-only (``addnn``) quantized models.

``BNAct`` is BatchNorm (+ ReLU) followed by a Brevitas activation quantizer. It runs the float
path while calibrating and training; with ``integer=True`` in eval mode it computes exactly what
the hardware computes, the per-channel integer map of ``addnn.numeric``, on the integer
accumulator of the layer before it. In training the float path's gradient is kept
(straight-through) so that fine-tuning sees the integer result.
"""

from __future__ import annotations

import torch
from brevitas.quant_tensor import IntQuantTensor, QuantTensor
from torch import nn
from torch.nn import functional as F

from addnn.nn.grid import round_to_grid
from addnn.numeric import (
    BNParams,
    IntegerMap,
    IntType,
    bn_requant_map,
    bn_requant_torch,
    exponent_of,
)


def scale_of(t) -> torch.Tensor | None:
    """The scale of a QuantTensor; None for a plain tensor (quantizers off)."""
    return t.scale if isinstance(t, QuantTensor) else None


def value_of(t) -> torch.Tensor:
    return t.value if isinstance(t, QuantTensor) else t


class BNAct(nn.Module):
    def __init__(self, bn: nn.BatchNorm2d, act: nn.Module, relu: bool, acc_type_fn=None):
        """``act``: a Brevitas QuantReLU/QuantIdentity returning QuantTensors.
        ``acc_type_fn(input_exponent) -> IntType``: the worst-case type of the accumulator
        feeding this layer (needed for the integer map)."""
        super().__init__()
        self.bn, self.act, self.relu = bn, act, relu
        self.acc_type_fn = acc_type_fn
        self.integer = False

    def float_path(self, acc: torch.Tensor):
        if self.training:
            y = self.bn(acc)        # batch statistics, running averages updated
        else:
            # Eval: the affine form the exported graph holds (Cast, Mul, Add, Cast in double
            # precision), so that the graph's executor reproduces this path bit for bit.
            aff = BNParams.from_module(self.bn).affine()
            shape = (1, -1) + (1,) * (acc.dim() - 2)
            y64 = (acc.double() * torch.from_numpy(aff.a).view(shape)
                   + torch.from_numpy(aff.b).view(shape))
            y = y64.to(acc.dtype)
        return self.act(torch.relu(y) if self.relu else y)

    def integer_map(self, in_exponent: int, out: IntType) -> IntegerMap:
        """This layer's map in the hardware's form (table or thresholds on the accumulator)."""
        return bn_requant_map(BNParams.from_module(self.bn), self.acc_type_fn(in_exponent), out,
                              self.relu)

    def output_type(self, reference: QuantTensor) -> IntType:
        return IntType(int(reference.bit_width.item()), bool(reference.signed),
                       exponent_of(reference.scale.item(), f"{self.act.__class__.__name__} "
                                                           "output scale"))

    def forward(self, acc, in_scale: torch.Tensor | None):
        acc = acc.value if isinstance(acc, QuantTensor) else acc
        ref = self.float_path(acc)
        if not self.integer or in_scale is None or not isinstance(ref, QuantTensor):
            return ref      # float path; also while calibrating, when quantizers are off
        e_in = exponent_of(in_scale.item(), "accumulator scale")
        out_type = self.output_type(ref)
        q_acc = torch.round(acc.detach().double() / 2.0 ** e_in).long()
        acc_type = self.acc_type_fn(e_in)
        if not acc_type.contains(q_acc):
            raise ValueError(f"accumulator outside its worst-case type {acc_type}")
        # The map in its float64 definition; its hardware form (``integer_map``) is built
        # from the same function and tested equal to it on every input.
        q = bn_requant_torch(q_acc, e_in, BNParams.from_module(self.bn), out_type, self.relu)
        value = q.to(acc.dtype) * ref.scale
        if self.training:   # straight-through: integer forward, float-path gradient
            value = ref.value + (value - ref.value).detach()
        return IntQuantTensor(value, ref.scale, ref.zero_point, ref.bit_width, ref.signed_t,
                              self.training)


class AvgPoolToGrid(nn.Module):
    """Global average pool that stays on its input's grid: sum, then round half-even (the
    hardware's sum and rounded shift)."""

    def forward(self, x):
        if not isinstance(x, QuantTensor):
            return x.mean((2, 3), keepdim=True)
        # adaptive_avg_pool2d to 1x1 exports as GlobalAveragePool.
        mean = F.adaptive_avg_pool2d(x.value, 1)
        value = round_to_grid(mean, x.scale, x.bit_width, bool(x.signed))
        return IntQuantTensor(value, x.scale, x.zero_point, x.bit_width, x.signed_t,
                              self.training)
