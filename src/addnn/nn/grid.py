"""Rounding onto a quantizer's power-of-two grid, with the straight-through gradient in
training and a QONNX ``Quant`` node in ONNX export."""

from __future__ import annotations

import torch
from brevitas.export.onnx.qonnx.function import BrevitasQuantTorchScriptFn
from brevitas.function.ops_ste import round_ste


def round_to_grid(x: torch.Tensor, scale: torch.Tensor, bit_width: torch.Tensor,
                  signed: bool) -> torch.Tensor:
    """``clamp(round_half_even(x / scale), lo, hi) * scale`` for a ``bit_width``-bit integer
    range (not narrow). Clamping before or after rounding is the same: the bounds are
    integers."""
    if torch.onnx.is_in_onnx_export():
        zero = torch.zeros((), dtype=x.dtype)
        return BrevitasQuantTorchScriptFn.apply(x, scale.reshape(()), zero,
                                                bit_width.reshape(()), False, signed, "ROUND")
    bits = bit_width.reshape(())
    lo = -(2.0 ** (bits - 1)) if signed else torch.zeros_like(bits)
    hi = 2.0 ** (bits - 1) - 1 if signed else 2.0 ** bits - 1
    scale = scale.reshape(())
    return round_ste(torch.clamp(x / scale, lo, hi)) * scale
