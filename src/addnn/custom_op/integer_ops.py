"""Integer-graph ops (domain ``addnn.custom_op``): int64 in, int64 out, no float on the path.

Each op's arithmetic is a function of ``addnn.numeric``; the ops only read attributes and
initializers. Shapes follow a standard op (``make_shape_compatible_op``); datatypes are set by
the lowering passes from worst-case bounds (``addnn.transform``) and checked on execution
(``addnn.transform.execute``).
"""

from __future__ import annotations

import numpy as np
import torch
from onnx import TensorProto, helper
from qonnx.custom_op.base import CustomOp

from addnn.numeric import IntType, requantize, shift_round


def _int64(a: np.ndarray, what: str) -> np.ndarray:
    """The integers an op receives; a float carrier is accepted only if it holds integers."""
    a = np.asarray(a)
    if a.dtype.kind in "iu":
        return a.astype(np.int64, copy=False)
    r = np.rint(a)
    if not np.array_equal(r, a):
        raise ValueError(f"{what}: expected integers")
    return r.astype(np.int64)


class _IntOp(CustomOp):
    """Elementwise by default: the output has the input's shape."""

    def make_shape_compatible_op(self, model):
        # Same shape, and int64: the element type of every integer-graph tensor.
        node = self.onnx_node
        return helper.make_node("Cast", [node.input[0]], [node.output[0]], to=TensorProto.INT64)

    def infer_node_datatype(self, model):
        pass     # set by the lowering pass from the contract's bounds

    def out_type(self) -> IntType:
        return IntType(self.get_nodeattr("bits"), bool(self.get_nodeattr("signed")),
                       self.get_nodeattr("out_exponent"))

    def verify_node(self):
        return [f"{self.onnx_node.op_type}: attributes and inputs are valid"]


_OUT_ATTRS = {"bits": ("i", True, 8), "signed": ("i", True, 1),
              "out_exponent": ("i", True, 0)}


class QuantizeInput(_IntOp):
    """The graph's entry: a float input to integers at ``2**out_exponent``,
    ``clamp(round_half_even(x / 2**e))`` (Brevitas's activation quantizer on its input)."""

    def get_nodeattr_types(self):
        return dict(_OUT_ATTRS)

    def execute_node(self, context, graph):
        node = self.onnx_node
        t = self.out_type()
        x = np.asarray(context[node.input[0]], dtype=np.float64)
        q = np.rint(x * 2.0 ** -t.exponent)          # exact: a power-of-two scaling
        context[node.output[0]] = np.clip(q, t.lo, t.hi).astype(np.int64)


class Requantize(_IntOp):
    """Integers at ``2**in_exponent`` to the output type: optional ReLU, then shift with
    round-half-even and clamp (``addnn.numeric.requantize``)."""

    def get_nodeattr_types(self):
        return {**_OUT_ATTRS, "in_exponent": ("i", True, 0), "relu": ("i", False, 0)}

    def execute_node(self, context, graph):
        node = self.onnx_node
        q = _int64(context[node.input[0]], node.name)
        if self.get_nodeattr("relu"):
            q = np.maximum(q, 0)
        context[node.output[0]] = requantize(q, self.get_nodeattr("in_exponent"),
                                             self.out_type())


class AvgPoolShift(_IntOp):
    """Global average pool on integers: the sum over H x W (a power of two), then a rounded
    shift; the exponent is unchanged."""

    def get_nodeattr_types(self):
        return {}

    def make_shape_compatible_op(self, model):
        node = self.onnx_node
        return helper.make_node("ReduceMax", [node.input[0]], [node.output[0]], axes=[2, 3],
                                keepdims=1)

    def execute_node(self, context, graph):
        node = self.onnx_node
        q = _int64(context[node.input[0]], node.name)
        area = q.shape[2] * q.shape[3]
        if area & (area - 1):
            raise ValueError(f"{node.name}: pooling area {area} is not a power of two")
        total = q.sum(axis=(2, 3), keepdims=True)
        context[node.output[0]] = shift_round(total, -(area.bit_length() - 1))


class MacConv2d(_IntOp):
    """Integer convolution (the first layer and the fc): ``sum x * w`` at ``ex + ew``."""

    def get_nodeattr_types(self):
        return {"kernel_shape": ("ints", True, []), "pads": ("ints", False, [0, 0, 0, 0]),
                "strides": ("ints", False, [1, 1]), "dilations": ("ints", False, [1, 1]),
                "group": ("i", False, 1)}

    def make_shape_compatible_op(self, model):
        node = self.onnx_node
        return helper.make_node(
            "Conv", [node.input[0], node.input[1]], [node.output[0]],
            kernel_shape=self.get_nodeattr("kernel_shape"), pads=self.get_nodeattr("pads"),
            strides=self.get_nodeattr("strides"), dilations=self.get_nodeattr("dilations"),
            group=self.get_nodeattr("group"))

    def execute_node(self, context, graph):
        node = self.onnx_node
        x = _int64(context[node.input[0]], node.name)
        w = _int64(context[node.input[1]], node.name)
        top, left, bottom, right = self.get_nodeattr("pads")
        if top != bottom or left != right:
            raise ValueError(f"{node.name}: asymmetric padding is not supported")
        # float64 is exact while every partial sum stays below 2**53: check, then use it.
        bound = float(np.abs(x).max(initial=0)) * float(np.abs(w).reshape(len(w), -1)
                                                         .sum(1).max(initial=0))
        if bound >= 2.0 ** 52:
            raise ValueError(f"{node.name}: accumulator beyond 2**52")
        out = torch.nn.functional.conv2d(
            torch.from_numpy(x.astype(np.float64)), torch.from_numpy(w.astype(np.float64)),
            stride=tuple(self.get_nodeattr("strides")), padding=(top, left),
            dilation=tuple(self.get_nodeattr("dilations")), groups=self.get_nodeattr("group"))
        context[node.output[0]] = out.numpy().astype(np.int64)
