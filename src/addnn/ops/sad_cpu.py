"""Bindings to the C++ SAD kernels (``csrc/sad_kernels.cpp``) and the buffers they expect.

Forward gets the zero-padded input, the weights transposed to ``[C*k*k, O]`` (output channels
along the SIMD lanes) and the window sums of x and w; see the C++ file for why.
"""

from __future__ import annotations

import ctypes
import functools

import torch
import torch.nn.functional as F

from addnn.ops.kernel_build import library_path

ABI_VERSION = 5
_SUFFIX = {torch.float32: "f32", torch.float64: "f64"}
_MAX_TILE = 24  # upper bound of positions per tile in the C++ kernels: column slack of gp


@functools.lru_cache(maxsize=1)
def _library() -> ctypes.CDLL:
    lib = ctypes.CDLL(str(library_path()))
    if lib.addnn_sad_abi_version() != ABI_VERSION:
        raise RuntimeError("stale addnn SAD kernel library: delete ~/.cache/addnn/kernels")
    ptr, i64p, cint = ctypes.c_void_p, ctypes.POINTER(ctypes.c_int64), ctypes.c_int
    for suffix in _SUFFIX.values():
        getattr(lib, f"addnn_sad_forward_{suffix}").argtypes = [ptr] * 5 + [i64p, cint, cint]
        getattr(lib, f"addnn_sad_grad_input_{suffix}").argtypes = [ptr] * 4 + [i64p, cint, cint]
    return lib


def available() -> bool:
    """True when the kernels are built (building them on first call)."""
    try:
        _library()
    except Exception:  # no compiler or a failed build: callers fall back to the torch path
        return False
    return True


def supports(x: torch.Tensor, weight: torch.Tensor) -> bool:
    return (x.device.type == "cpu" and weight.device.type == "cpu"
            and x.dtype in _SUFFIX and weight.dtype == x.dtype)


def simd_lanes(dtype: torch.dtype) -> int:
    """Elements of ``dtype`` per SIMD vector in the built kernels."""
    return getattr(_library(), f"addnn_sad_lanes_{_SUFFIX[dtype]}")()


def _vectors_per_block(channels: int, lanes: int, most: int) -> int:
    """Channel block of the micro-kernel, in SIMD vectors: 1 or 2."""
    return 2 if most >= 2 and channels > lanes else 1


def _lanes_last(w2d: torch.Tensor, block: int) -> torch.Tensor:
    """Pad the last dim of a 2-D weight view to a multiple of ``block`` with zeros."""
    pad = -w2d.shape[1] % block
    return F.pad(w2d, (0, pad)).contiguous()


def _call(name: str, dtype: torch.dtype, *tensors, dims, block_vectors: int) -> None:
    fn = getattr(_library(), f"addnn_sad_{name}_{_SUFFIX[dtype]}")
    args = [ctypes.c_void_p(t.data_ptr()) for t in tensors]
    fn(*args, (ctypes.c_int64 * len(dims))(*dims), block_vectors, torch.get_num_threads())


def forward(x: torch.Tensor, weight: torch.Tensor, stride: int, padding: int) -> torch.Tensor:
    n, c, h, w = x.shape
    o, _, k, _ = weight.shape
    ho = (h + 2 * padding - k) // stride + 1
    wo = (w + 2 * padding - k) // stride + 1
    lib = _library()
    ov = _vectors_per_block(o, simd_lanes(x.dtype), lib.addnn_sad_forward_max_vectors())
    wt = _lanes_last(weight.reshape(o, -1).t(), ov * simd_lanes(x.dtype))   # [C*k*k, Op]
    # Pad bottom and right so that whole tiles of R x Q outputs stay inside the buffer.
    rows, cols = lib.addnn_sad_forward_tile_rows(ov), lib.addnn_sad_forward_tile_cols()
    need_h = (-(-ho // rows) * rows - 1) * stride + k
    need_w = (-(-wo // cols) * cols - 1) * stride + k
    xp = F.pad(x, (padding, max(padding, need_w - w - padding),
                   padding, max(padding, need_h - h - padding)))
    # Window sums of x over channels and taps (padding counts as zero): exact on a grid.
    sx = F.avg_pool2d(xp.sum(1, keepdim=True), k, stride, divisor_override=1)
    sx = sx[:, :, :ho, :wo].contiguous()
    sw = F.pad(weight.sum((1, 2, 3)), (0, wt.shape[1] - o)).contiguous()
    out = x.new_empty(n, ho, wo, wt.shape[1])
    _call("forward", x.dtype, xp, wt, sx, sw, out,
          dims=(n, c, o, wt.shape[1], k, stride, xp.shape[2], xp.shape[3], ho, wo),
          block_vectors=ov)
    return out[..., :o].permute(0, 3, 1, 2).contiguous()


def grad_input(x: torch.Tensor, weight: torch.Tensor, grad_out: torch.Tensor, stride: int,
               padding: int) -> torch.Tensor:
    """sum_o clamp(w - x, -1, 1) * g over every output that reads each input position."""
    n, c, h, w = x.shape
    o, _, k, _ = weight.shape
    ho, wo = grad_out.shape[2:]
    cv = _vectors_per_block(c, simd_lanes(x.dtype), 2)
    wt = _lanes_last(weight.permute(0, 2, 3, 1).reshape(-1, c), cv * simd_lanes(x.dtype))
    m = (k - 1) // stride
    hg = max((h - 1 + padding) // stride + 1, ho) + m
    wg = max((w - 1 + padding) // stride + 1, wo) + m + _MAX_TILE
    gp = grad_out.new_zeros(n, o, hg, wg)
    gp[:, :, m:m + ho, m:m + wo] = grad_out
    cp = wt.shape[1]
    x_last = F.pad(x.permute(0, 2, 3, 1), (0, cp - c)).contiguous()     # [N, H, W, Cp]
    gi = torch.empty_like(x_last)
    _call("grad_input", x.dtype, x_last, gp, wt, gi,
          dims=(n, c, cp, o, k, stride, h, w, padding, hg, wg), block_vectors=cv)
    return gi[..., :c].permute(0, 3, 1, 2).contiguous()
