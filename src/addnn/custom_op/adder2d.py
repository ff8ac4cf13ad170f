"""The ``Adder2d`` QONNX custom op (domain ``addnn.custom_op``).

Attributes follow ONNX Conv: ``kernel_shape``, ``pads`` ([top, left, bottom, right]),
``strides``, ``dilations`` and ``group``. Inputs: activation [N, C, H, W] and weight
[O, C, kH, kW]. Output: ``-sum |x_pad - w|`` over channels and the window, zero padding taking
part (the numeric contract of ``addnn.numeric``).
"""

from __future__ import annotations

import numpy as np
from onnx import helper
from qonnx.core.datatype import DataType
from qonnx.custom_op.base import CustomOp


def adder2d_np(x: np.ndarray, w: np.ndarray, strides=(1, 1), pads=(0, 0, 0, 0)) -> np.ndarray:
    """Numpy reference of the op, in float64 (exact for integer values below 2**53)."""
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    top, left, bottom, right = pads
    xp = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    n, c, hp, wp = xp.shape
    o, cw, kh, kw = w.shape
    if cw != c:
        raise ValueError(f"Adder2d: input has {c} channels, weight {cw}")
    sh, sw = strides
    ho, wo = (hp - kh) // sh + 1, (wp - kw) // sw + 1
    out = np.zeros((n, o, ho, wo))
    for u in range(kh):
        for v in range(kw):
            win = xp[:, :, u:u + sh * (ho - 1) + 1:sh, v:v + sw * (wo - 1) + 1:sw]
            out -= np.abs(win[:, None] - w[None, :, :, u, v, None, None]).sum(2)
    return out


def _exact_in_float64(x: np.ndarray, w: np.ndarray, window: int) -> bool:
    """True when every |x - w| and every window sum is exact in float64 however it is
    computed: all values are integers on one power-of-two grid, small enough that the largest
    sum stays below 2**52."""
    if x.dtype.kind in "iu" and w.dtype.kind in "iu":      # the integer graph
        largest = max(int(np.abs(x).max(initial=0)), int(np.abs(w).max(initial=0)))
        return float(largest) * 2 * window < 2.0 ** 52
    if x.dtype != np.float32 or w.dtype != np.float32:
        return False
    both = np.concatenate([x.ravel(), w.ravel()])
    nonzero = np.abs(both[both != 0]).astype(np.float64)
    if nonzero.size == 0 or not np.isfinite(nonzero).all():
        return nonzero.size == 0
    # A float32 value v is an integer multiple of 2**(exponent(v) - 24).
    grid = np.frexp(nonzero.min())[1] - 24
    return float(nonzero.max()) * 2.0 ** -grid * 2 * window < 2.0 ** 52


def adder2d_fast(x: np.ndarray, w: np.ndarray, strides, pads) -> np.ndarray:
    """``adder2d_np`` through addnn's C++ kernels in float64 when that is provably exact (see
    ``_exact_in_float64``), else the reference itself. Same result either way: float32 for
    float operands, int64 for integer ones (the integer graph)."""
    integer = x.dtype.kind in "iu" and w.dtype.kind in "iu"
    if integer:
        return np.rint(_adder2d_float64(x, w, strides, pads)).astype(np.int64)
    return _adder2d_float64(x, w, strides, pads).astype(np.float32)


def _adder2d_float64(x: np.ndarray, w: np.ndarray, strides, pads) -> np.ndarray:
    top, left, bottom, right = pads
    square = (strides[0] == strides[1] and top == left == bottom == right
              and w.shape[2] == w.shape[3])
    # The torch kernels cannot reshape a weight without filters: the reference takes those.
    if not (square and w.size and _exact_in_float64(x, w, int(np.prod(w.shape[1:])))):
        return adder2d_np(x, w, strides, pads)
    import torch

    from addnn.ops import adder2d

    with torch.no_grad():
        out = adder2d(torch.from_numpy(x.astype(np.float64)),
                      torch.from_numpy(w.astype(np.float64)), strides[0], top)
    return out.numpy()


class Adder2d(CustomOp):
    def get_nodeattr_types(self):
        return {
            "kernel_shape": ("ints", True, []),
            "pads": ("ints", False, [0, 0, 0, 0]),
            "strides": ("ints", False, [1, 1]),
            "dilations": ("ints", False, [1, 1]),
            "group": ("i", False, 1),
        }

    def make_shape_compatible_op(self, model):
        # Same geometry as a Conv with the same attributes and weight shape.
        node = self.onnx_node
        return helper.make_node(
            "Conv", [node.input[0], node.input[1]], [node.output[0]],
            kernel_shape=self.get_nodeattr("kernel_shape"), pads=self.get_nodeattr("pads"),
            strides=self.get_nodeattr("strides"), dilations=self.get_nodeattr("dilations"),
            group=self.get_nodeattr("group"))

    def infer_node_datatype(self, model):
        node = self.onnx_node
        x_dt = model.get_tensor_datatype(node.input[0])
        w_dt = model.get_tensor_datatype(node.input[1])
        if not (x_dt.is_integer() and w_dt.is_integer()):
            model.set_tensor_datatype(node.output[0], DataType["FLOAT32"])
            return
        # Worst case: every term as far apart as the two ranges (and padding's 0) allow.
        w_shape = model.get_tensor_shape(node.input[1])
        window = int(np.prod(w_shape[1:]))
        x_lo, x_hi = min(x_dt.min(), 0), max(x_dt.max(), 0)
        largest = max(abs(x_hi - w_dt.min()), abs(w_dt.max() - x_lo))
        model.set_tensor_datatype(node.output[0],
                                  DataType.get_smallest_possible(-largest * window))

    def execute_node(self, context, graph):
        node = self.onnx_node
        out = adder2d_fast(context[node.input[0]], context[node.input[1]],
                           self.get_nodeattr("strides"), self.get_nodeattr("pads"))
        context[node.output[0]] = out

    def verify_node(self):
        problems = []
        if len(self.onnx_node.input) != 2:
            problems.append(f"expects 2 inputs, has {len(self.onnx_node.input)}")
        if self.get_nodeattr("group") != 1:
            problems.append("group must be 1")
        if list(self.get_nodeattr("dilations")) != [1, 1]:
            problems.append("dilations must be [1, 1]")
        if len(self.get_nodeattr("kernel_shape")) != 2:
            problems.append("kernel_shape must have 2 entries")
        return problems or ["Adder2d: attributes and inputs are valid"]
