"""Quantization presets, chosen by name. Each names its Brevitas quantizers explicitly.

- ``thesis``: the reference design (Int8 fixed-point adders in and out, float BN, shared Int8
  QuantIdentity on both residual operands, QuantConv2d first and last layers).
- ``thesis-dwbn``: the same with every inner BN replaced by its depthwise 1x1 convolution,
  quantized per channel.
- ``addnn``: integer only. Adder weights are clamped losslessly into the input's unsigned range
  and quantized on the input's own grid (activation-oriented), BN + requantization become
  integer maps (``addnn.numeric``), residual operands share one power-of-two quantizer. Below
  8 bits the residual stream stays 8 bits wide and each block requantizes it (a shift) to the
  preset's width for its adders: "W4A4" means 4-bit adder weights and adder inputs.
"""

from __future__ import annotations

from dataclasses import dataclass

from brevitas.quant import (
    Int8ActPerTensorFixedPoint,
    Int8WeightPerTensorFixedPoint,
    Uint8ActPerTensorFixedPoint,
)
from brevitas.quant.fixed_point import (
    Int8WeightPerChannelFixedPoint,
    Uint8ActPerTensorFixedPointMSE,
)

from addnn.errors import AddnnError


@dataclass(frozen=True)
class Preset:
    name: str
    bits: int
    conv_weight: type = Int8WeightPerTensorFixedPoint     # first conv and fc
    act_signed: type = Int8ActPerTensorFixedPoint         # image, adder in/out, residual
    act_unsigned: type = Uint8ActPerTensorFixedPoint      # after ReLU
    adder_weight: type | str = Int8WeightPerTensorFixedPoint  # or "input": on the input grid
    dw_weight: type = Int8WeightPerChannelFixedPoint      # thesis-dwbn's BN convolutions
    bn: str = "float"                                     # float | dwconv | integer
    stream_bits: int = 8              # addnn: block outputs; the residual quantizer has 1 more
    logit_bits: int = 16                                  # addnn: integer logits


PRESETS = ("thesis", "thesis-dwbn", "addnn")


def get_preset(name: str, bits: int = 8) -> Preset:
    if name not in PRESETS:
        raise AddnnError(f"unknown preset {name!r}: expected one of {', '.join(PRESETS)}")
    if not 2 <= bits <= 8:
        raise AddnnError(f"bit width {bits} unsupported: 2..8")
    if name == "thesis":
        return Preset(name, bits)
    if name == "thesis-dwbn":
        return Preset(name, bits, bn="dwconv")
    # The residual stream (block outputs) stays 8 bits wide below 8 bits: each block's adders
    # read it requantized (a shift) to ``bits``, so every adder still subtracts ``bits``-bit
    # operands. Measured on val-exact (benchmarks/quant_ptq.py): W4A4 PTQ 93.31% with a 4-bit
    # stream, 97.84% with the 8-bit one; W6A6 99.21% -> 99.51%.
    # The residual quantizer has one bit more than the stream: it keeps BN2's negative outputs
    # without clipping them against the unsigned block input sharing its exponent. The
    # unsigned activations take the power-of-two range that minimises the quantization MSE
    # instead of the 99.999th percentile: measured on val-exact with the 4-bit stream, W4A4
    # PTQ 72.37% -> 93.31%, W8A8 unchanged (99.41%).
    return Preset(name, bits, act_unsigned=Uint8ActPerTensorFixedPointMSE, adder_weight="input",
                  bn="integer", stream_bits=max(bits, 8))
