"""Bindings to the C++ SAD kernels (``csrc/sad_kernels.cpp``) and the buffers they expect.

Tensors cross as contiguous NCHW; the kernels build their own padded and channels-last
copies. Python only transposes the small weight tensor so that a block of channels lies along
the SIMD lanes: ``[C*k*k, O]`` for the forward, ``[O, k, k, C]`` for the input gradient.
"""

from __future__ import annotations

import ctypes
import functools

import torch
import torch.nn.functional as F

from addnn.ops.kernel_build import library_path
from addnn.ops.shapes import output_hw

ABI_VERSION = 7
_SUFFIX = {torch.float32: "f32", torch.float64: "f64"}


@functools.lru_cache(maxsize=None)
def load_library(march: str = "native") -> ctypes.CDLL:
    """The kernels built for ``-march=<march>``, with their argument types declared."""
    lib = ctypes.CDLL(str(library_path(march)))
    if lib.addnn_sad_abi_version() != ABI_VERSION:
        raise RuntimeError("stale addnn SAD kernel library: delete ~/.cache/addnn/kernels")
    ptr, i64p, cint = ctypes.c_void_p, ctypes.POINTER(ctypes.c_int64), ctypes.c_int
    for suffix in _SUFFIX.values():
        getattr(lib, f"addnn_sad_forward_{suffix}").argtypes = [ptr] * 4 + [i64p, cint, cint]
        getattr(lib, f"addnn_sad_grad_input_{suffix}").argtypes = [ptr] * 4 + [i64p, cint, cint]
    return lib


def _library() -> ctypes.CDLL:
    return load_library("native")


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
    ho, wo = output_hw(h, w, k, stride, padding)
    lanes = simd_lanes(x.dtype)
    ov = _vectors_per_block(o, lanes, _library().addnn_sad_forward_max_vectors())
    wt = _lanes_last(weight.reshape(o, -1).t(), ov * lanes)               # [C*k*k, Op]
    sw = F.pad(weight.sum((1, 2, 3)), (0, wt.shape[1] - o)).contiguous()
    out = x.new_empty(n, o, ho, wo)
    _call("forward", x.dtype, x, wt, sw, out,
          dims=(n, c, o, wt.shape[1], k, stride, h, w, padding, ho, wo), block_vectors=ov)
    return out


def grad_input(x: torch.Tensor, weight: torch.Tensor, grad_out: torch.Tensor, stride: int,
               padding: int) -> torch.Tensor:
    """sum_o clamp(w - x, -1, 1) * g over every output that reads each input position."""
    n, c, h, w = x.shape
    o, _, k, _ = weight.shape
    ho, wo = grad_out.shape[2:]
    cv = _vectors_per_block(c, simd_lanes(x.dtype), 2)
    wt = _lanes_last(weight.permute(0, 2, 3, 1).reshape(-1, c), cv * simd_lanes(x.dtype))
    gi = torch.empty_like(x)
    _call("grad_input", x.dtype, x, grad_out, wt, gi,
          dims=(n, c, wt.shape[1], o, k, stride, h, w, padding, ho, wo), block_vectors=cv)
    return gi
