"""``QuantAdder2d``: the adder layer with Brevitas input, weight and output quantizers.

It is a Brevitas ``QuantWeightBiasInputOutputLayer`` like ``QuantConv2d``: the weight goes
through the layer's weight-quant proxy, inputs and outputs through activation quantizers, and
plain tensors (export mode) as well as QuantTensors are accepted. The arithmetic is the fast
``addnn.ops.adder2d`` on the dequantized values, which is exact because quantized values lie on
power-of-two grids.

``weight_quant="input"`` selects the activation-oriented scheme of the ``addnn`` preset: the
weight is clamped into the input quantizer's range and quantized with the input's own scale, so
input and weight are integers at one exponent (see ``addnn.quant``).
"""

from __future__ import annotations

from typing import Optional, Union

import torch
from brevitas.nn.quant_layer import QuantWeightBiasInputOutputLayer as QuantWBIOL
from brevitas.quant_tensor import QuantTensor
from torch import Tensor

from addnn.nn.adder import Adder2d
from addnn.nn.grid import round_to_grid
from addnn.ops import adder2d


def _value(t: Union[Tensor, QuantTensor]) -> Tensor:
    return t.value if isinstance(t, QuantTensor) else t


class QuantAdder2d(QuantWBIOL, Adder2d):
    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 padding: int = 0, bias: bool = False, eta: Optional[float] = 0.2,
                 weight_quant=None, bias_quant=None, input_quant=None, output_quant=None,
                 return_quant_tensor: bool = False, **kwargs):
        Adder2d.__init__(self, in_channels, out_channels, kernel_size, stride, padding, bias,
                         eta)
        self.weight_from_input = weight_quant == "input"
        QuantWBIOL.__init__(self, weight_quant=None if self.weight_from_input else weight_quant,
                            bias_quant=bias_quant, input_quant=input_quant,
                            output_quant=output_quant, return_quant_tensor=return_quant_tensor,
                            **kwargs)

    @property
    def output_channel_dim(self) -> int:
        return 0

    @property
    def channelwise_separable(self) -> bool:
        return False

    @property
    def per_elem_ops(self) -> int:
        return 2 * self.kernel_size * self.kernel_size * self.in_channels

    def max_acc_bit_width(self, input_bit_width: Tensor, weight_bit_width: Tensor) -> Tensor:
        # |x - w| needs one bit more than the wider operand; the sum adds log2(window) bits.
        window = self.in_channels * self.kernel_size * self.kernel_size
        return torch.max(input_bit_width, weight_bit_width) + 1 + torch.tensor(
            float(window)).log2().ceil()

    def weight_on_input_grid(self, quant_input: QuantTensor) -> Tensor:
        """Activation-oriented weight: clamp into the input's unsigned range, round onto its
        grid (straight-through gradient). A plain-tensor input (quantizers disabled, as during
        Brevitas calibration) leaves the weight in float."""
        if not isinstance(quant_input, QuantTensor):
            return self.weight
        return round_to_grid(self.weight, quant_input.scale, quant_input.bit_width, False)

    def quant_weight(self, quant_input=None, *args, **kwargs):
        if self.weight_from_input:
            if quant_input is None:
                raise ValueError("weight_quant='input': the weight grid comes from the input")
            return self.weight_on_input_grid(quant_input)
        return super().quant_weight(quant_input, *args, **kwargs)

    def inner_forward_impl(self, x, quant_weight, quant_bias):
        out = adder2d(_value(x), _value(quant_weight), self.stride, self.padding, self.eta)
        if quant_bias is not None:
            out = out + _value(quant_bias).view(1, -1, 1, 1)
        return out

    def forward(self, input):
        return self.forward_impl(input)
