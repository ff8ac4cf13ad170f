"""``Adder2d``: the AdderNet layer as a module, a drop-in for ``nn.Conv2d``."""

from __future__ import annotations

import torch
from torch import nn

from addnn.ops import adder2d


class Adder2d(nn.Module):
    """out = -sum |x - w| over each window (AdderNet), with optional per-channel bias.

    The weight is initialised N(0, 1) as in the reference AdderNet, not with Kaiming: the layer
    measures distances, so weights live on the scale of the (batch-normalised) inputs.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 padding: int = 0, bias: bool = False, eta: float | None = 0.2):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding, self.eta = kernel_size, stride, padding, eta
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size,
                                               kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = adder2d(x, self.weight, self.stride, self.padding, self.eta)
        if self.bias is not None:
            out = out + self.bias.view(1, -1, 1, 1)
        return out

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, bias={self.bias is not None}, "
                f"eta={self.eta}")
