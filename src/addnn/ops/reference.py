"""The reference AdderNet layer, written the slow obvious way with unfold.

It materialises the ``[N, Cout, Cin*k*k, L]`` difference tensor, exactly the blow-up the fast
kernels avoid. It exists to check them (in float64) and as the benchmark baseline.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from addnn.ops.shapes import output_hw


def _columns(x: torch.Tensor, weight: torch.Tensor, stride: int, padding: int):
    o = weight.shape[0]
    k = weight.shape[2]
    cols = F.unfold(x, k, padding=padding, stride=stride)              # [N, CKK, L]
    diff = cols[:, None] - weight.reshape(o, -1)[None, :, :, None]     # [N, O, CKK, L]
    return cols, diff


def forward(x: torch.Tensor, weight: torch.Tensor, stride: int = 1,
            padding: int = 0) -> torch.Tensor:
    _, diff = _columns(x, weight, stride, padding)
    ho, wo = output_hw(*x.shape[2:], weight.shape[2], stride, padding)
    return -diff.abs().sum(2).reshape(x.shape[0], weight.shape[0], ho, wo)


def backward(x: torch.Tensor, weight: torch.Tensor, grad_out: torch.Tensor, stride: int = 1,
             padding: int = 0, eta: float | None = 0.2) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (grad_input, grad_weight) with the AdderNet rules."""
    n, o = grad_out.shape[:2]
    k = weight.shape[2]
    _, diff = _columns(x, weight, stride, padding)
    g = grad_out.reshape(n, o, 1, -1)                                  # [N, O, 1, L]
    grad_w = (diff * g).sum((0, 3)).reshape(weight.shape)
    if eta is not None:
        grad_w = grad_w / grad_w.norm(p=2).clamp(min=1e-12) * math.sqrt(weight.numel()) * eta
    grad_cols = ((-diff).clamp(-1, 1) * g).sum(1)                      # [N, CKK, L]
    grad_x = F.fold(grad_cols, x.shape[2:], k, padding=padding, stride=stride)
    return grad_x, grad_w
