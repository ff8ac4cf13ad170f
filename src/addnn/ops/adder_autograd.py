"""``adder2d``: the AdderNet layer as an autograd op.

Forward:      out[n,o,i,j] = -sum_{c,u,v} |x_pad[n,c,i*s+u,j*s+v] - w[o,c,u,v]|
              (zero padding takes part: a padded position adds |w|).
grad_input:   sum_o clamp(w - x, -1, 1) * g, gathered from every output that reads the input
              position (HardTanh-clamped full-precision gradient; padding gets none).
grad_weight:  sum (x_pad - w) * g, rescaled to norm sqrt(numel(w)) * eta (adaptive learning
              rate of AdderNet; eta=None keeps the raw gradient).

The forward and grad_input run in the C++ kernels on CPU float32/float64 and in a chunked torch
loop elsewhere (CUDA, other dtypes, no compiler). grad_weight is linear in x and so is a
convolution-weight gradient: sum x_pad*g - w * sum g.
"""

from __future__ import annotations

import math
import warnings

import torch
from torch.nn.grad import conv2d_weight

from addnn.ops import sad_cpu, sad_torch
from addnn.ops.shapes import output_hw


def _int(value, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"adder2d: {name} must be an int, got {value!r}")
    return value


def _single(value, name: str) -> int:
    """Accept an int or a pair of equal ints (the kernels are square and isotropic)."""
    if not isinstance(value, (tuple, list)):
        return _int(value, name)
    if len(value) != 2 or value[0] != value[1]:
        raise ValueError(f"adder2d: {name}={tuple(value)} must be the same in both "
                         "dimensions")
    # Both are checked: (2, 2.0) and (True, 1) are equal pairs, but not of ints.
    first, _ = (_int(v, name) for v in value)
    return first


def _backend(x: torch.Tensor, weight: torch.Tensor):
    if sad_cpu.supports(x, weight):
        if sad_cpu.available():
            return sad_cpu
        if not _backend.warned:
            # stacklevel 5: past _backend, forward, Function.apply and adder2d, to the line
            # of the caller's code.
            warnings.warn("addnn: C++ SAD kernels unavailable, using the slower torch path",
                          RuntimeWarning, stacklevel=5)
            _backend.warned = True
    return sad_torch


_backend.warned = False


def scale_weight_grad(grad_w: torch.Tensor, eta: float | None) -> torch.Tensor:
    """AdderNet's adaptive learning-rate scaling: norm becomes sqrt(numel) * eta."""
    if eta is None:
        return grad_w
    return grad_w / grad_w.norm(p=2).clamp(min=1e-12) * (math.sqrt(grad_w.numel()) * eta)


class Adder2dFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, stride: int, padding: int, eta):
        ctx.save_for_backward(x, weight)
        ctx.conf = (stride, padding, eta)
        # ONNX export records this op through ``symbolic``; its body must stay out of the
        # trace, whose passes trip over the kernel's internal reshapes.
        state = torch._C._get_tracing_state()
        torch._C._set_tracing_state(None)
        try:
            return _backend(x, weight).forward(x.contiguous(), weight.contiguous(), stride,
                                               padding)
        finally:
            torch._C._set_tracing_state(state)

    @staticmethod
    def backward(ctx, grad_out):
        x, weight = ctx.saved_tensors
        stride, padding, eta = ctx.conf
        grad_out = grad_out.contiguous()
        grad_x = grad_w = None
        if ctx.needs_input_grad[0]:
            grad_x = _backend(x, weight).grad_input(x.contiguous(), weight, grad_out, stride,
                                                    padding)
        if ctx.needs_input_grad[1]:
            grad_w = conv2d_weight(x, weight.shape, grad_out, stride=stride, padding=padding)
            grad_w = grad_w - weight * grad_out.sum((0, 2, 3)).view(-1, 1, 1, 1)
            grad_w = scale_weight_grad(grad_w, eta)
        return grad_x, grad_w, None, None, None

    @staticmethod
    def symbolic(g, x, weight, stride: int, padding: int, eta):
        """TorchScript ONNX export: one ``Adder2d`` node of the ``addnn.custom_op`` domain,
        with ONNX Conv's attributes."""
        from torch.onnx import symbolic_helper

        n, _, h, w = symbolic_helper._get_tensor_sizes(x)
        o, _, k, _ = symbolic_helper._get_tensor_sizes(weight)
        out = g.op("addnn.custom_op::Adder2d", x, weight, kernel_shape_i=[k, k],
                   pads_i=[padding] * 4, strides_i=[stride, stride], dilations_i=[1, 1],
                   group_i=1)
        out.setType(x.type().with_sizes([n, o, *output_hw(h, w, k, stride, padding)]))
        return out


def adder2d(x: torch.Tensor, weight: torch.Tensor, stride=1, padding=0, eta: float | None = 0.2,
            dilation=1, groups: int = 1) -> torch.Tensor:
    """AdderNet 2-D layer: negative sum of absolute differences between windows and filters.

    Args:
        x: input ``[N, C, H, W]``.
        weight: filters ``[O, C, k, k]``.
        stride, padding: as in ``F.conv2d`` (equal in both dimensions).
        eta: AdderNet's adaptive weight-gradient scale; ``None`` disables it.
        dilation, groups: only 1 is supported.
    """
    stride, padding = _single(stride, "stride"), _single(padding, "padding")
    if _single(dilation, "dilation") != 1:
        raise NotImplementedError("adder2d: dilation other than 1 is not supported")
    if groups != 1:
        raise NotImplementedError("adder2d: groups other than 1 are not supported")
    if x.dim() != 4 or weight.dim() != 4:
        raise ValueError(f"adder2d: expected 4-D input and weight, got {tuple(x.shape)} and "
                         f"{tuple(weight.shape)}")
    if weight.shape[2] != weight.shape[3]:
        raise ValueError(f"adder2d: kernel must be square, got {tuple(weight.shape[2:])}")
    if x.shape[1] != weight.shape[1]:
        raise ValueError(f"adder2d: input has {x.shape[1]} channels but weight expects "
                         f"{weight.shape[1]}")
    if stride < 1 or padding < 0:
        raise ValueError(f"adder2d: need stride >= 1 and padding >= 0, got {stride}, {padding}")
    if x.dtype != weight.dtype or x.device != weight.device:
        raise ValueError(f"adder2d: input is {x.dtype} on {x.device}, weight is {weight.dtype} "
                         f"on {weight.device}")
    k = weight.shape[2]
    if min(x.shape[2:]) + 2 * padding < k:
        raise ValueError(f"adder2d: input {tuple(x.shape[2:])} with padding {padding} is smaller "
                         f"than the kernel {k}")
    return Adder2dFunction.apply(x, weight, stride, padding, eta)
