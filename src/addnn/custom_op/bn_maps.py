"""BatchNorm + requantization in the integer graph: the exact integer map (table or
thresholds), and the float32 BN of the reference design kept for comparison."""

from __future__ import annotations

import numpy as np
import torch

from addnn.custom_op.integer_ops import _OUT_ATTRS, _int64, _IntOp
from addnn.numeric import IntegerMap, IntType


class BNRequantMap(_IntOp):
    """``IntegerMap`` of ``addnn.numeric``. Inputs: the accumulator, then either ``table``
    [C, 2**in_bits] (kind "table") or ``thresholds`` [C, L], ``start`` [C] and ``direction``
    [C] (kind "thresholds")."""

    def get_nodeattr_types(self):
        return {**_OUT_ATTRS, "kind": ("s", True, "thresholds", {"table", "thresholds"}),
                "in_bits": ("i", True, 8), "in_signed": ("i", True, 1),
                "in_exponent": ("i", True, 0)}

    def integer_map(self, context) -> IntegerMap:
        node = self.onnx_node
        arrays = [np.array(_int64(context[name], node.name)) for name in node.input[1:]]
        in_type = IntType(self.get_nodeattr("in_bits"), bool(self.get_nodeattr("in_signed")),
                          self.get_nodeattr("in_exponent"))
        if self.get_nodeattr("kind") == "table":
            return IntegerMap(in_type, self.out_type(), table=arrays[0])
        thresholds, start, direction = arrays
        return IntegerMap(in_type, self.out_type(), start=start, direction=direction,
                          thresholds=thresholds)

    def execute_node(self, context, graph):
        node = self.onnx_node
        acc = torch.from_numpy(_int64(context[node.input[0]], node.name))
        context[node.output[0]] = self.integer_map(context)(acc).numpy()


class FloatBNRequant(_IntOp):
    """The reference design's float32 BN: ``v = acc * 2**in_exponent`` in float32, then
    ``v * a + b`` (two float32 roundings), optional ReLU, then rounding to the output grid.
    Inputs: the accumulator, ``a`` [C] and ``b`` [C] (float32)."""

    def get_nodeattr_types(self):
        return {**_OUT_ATTRS, "in_exponent": ("i", True, 0), "relu": ("i", False, 0)}

    def execute_node(self, context, graph):
        node = self.onnx_node
        acc = _int64(context[node.input[0]], node.name)
        if np.abs(acc).max(initial=0) >= 2 ** 24:
            raise ValueError(f"{node.name}: accumulator not exact in float32")
        shape = (1, -1) + (1,) * (acc.ndim - 2)
        a = np.asarray(context[node.input[1]], dtype=np.float32).reshape(shape)
        b = np.asarray(context[node.input[2]], dtype=np.float32).reshape(shape)
        v = acc.astype(np.float32) * np.float32(2.0 ** self.get_nodeattr("in_exponent"))
        y = v * a + b                         # numpy: two float32 operations, no fusion
        if self.get_nodeattr("relu"):
            y = np.maximum(y, np.float32(0))
        t = self.out_type()
        q = np.rint(y * np.float32(2.0 ** -t.exponent))
        context[node.output[0]] = np.clip(q, t.lo, t.hi).astype(np.int64)
