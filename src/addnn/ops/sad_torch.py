"""The SAD forward and input gradient in plain torch, for any device and dtype.

This is the path used on CUDA and wherever the C++ kernels cannot be built. It loops over the
kernel offsets and over chunks of input channels, so its temporaries stay near
``chunk_bytes`` instead of the reference's ``[Cout, Cin*k*k, N*Ho*Wo]`` blow-up.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from addnn.ops.shapes import output_hw

_CHUNK_BYTES = 64 << 20


def _channel_chunk(n: int, o: int, ho: int, wo: int, c: int, itemsize: int) -> int:
    per_channel = max(1, n * o * ho * wo * itemsize)
    return max(1, min(c, _CHUNK_BYTES // per_channel))


def _window(x_pad: torch.Tensor, u: int, v: int, stride: int, ho: int, wo: int) -> torch.Tensor:
    """The input values that kernel offset (u, v) meets, as [N, C, Ho, Wo]."""
    return x_pad[:, :, u:u + stride * (ho - 1) + 1:stride, v:v + stride * (wo - 1) + 1:stride]


def forward(x: torch.Tensor, weight: torch.Tensor, stride: int, padding: int) -> torch.Tensor:
    n, c, h, w = x.shape
    o, _, k, _ = weight.shape
    ho, wo = output_hw(h, w, k, stride, padding)
    x_pad = F.pad(x, (padding,) * 4)
    out = x.new_zeros(n, o, ho, wo)
    step = _channel_chunk(n, o, ho, wo, c, x.element_size())
    for u in range(k):
        for v in range(k):
            win = _window(x_pad, u, v, stride, ho, wo)
            for c0 in range(0, c, step):
                xs = win[:, None, c0:c0 + step]                        # [N, 1, Cb, Ho, Wo]
                ws = weight[None, :, c0:c0 + step, u, v, None, None]   # [1, O, Cb, 1, 1]
                out -= (xs - ws).abs().sum(2)
    return out


def grad_input(x: torch.Tensor, weight: torch.Tensor, grad_out: torch.Tensor, stride: int,
               padding: int) -> torch.Tensor:
    n, c, h, w = x.shape
    o, _, k, _ = weight.shape
    ho, wo = grad_out.shape[2:]
    x_pad = F.pad(x, (padding,) * 4)
    gi_pad = torch.zeros_like(x_pad)
    step = _channel_chunk(n, o, ho, wo, c, x.element_size())
    g = grad_out[:, :, None]                                            # [N, O, 1, Ho, Wo]
    for u in range(k):
        for v in range(k):
            win = _window(x_pad, u, v, stride, ho, wo)
            dst = _window(gi_pad, u, v, stride, ho, wo)
            for c0 in range(0, c, step):
                xs = win[:, None, c0:c0 + step]
                ws = weight[None, :, c0:c0 + step, u, v, None, None]
                dst[:, c0:c0 + step] += ((ws - xs).clamp(-1, 1) * g).sum(1)
    # Gradient that lands on padding is dropped, as col2im does in the reference.
    return gi_pad[:, :, padding:padding + h, padding:padding + w]
