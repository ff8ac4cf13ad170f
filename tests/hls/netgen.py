"""Integer graphs built directly (no Brevitas, no export): every op of the lowered graph with
random weights and random BN maps, typed from the contract's worst-case bounds, so that small
nets of any shape, width and layout can be generated in milliseconds."""

from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper, numpy_helper
from qonnx.core.modelwrapper import ModelWrapper

from addnn.custom_op import DOMAIN
from addnn.numeric import BNAffine, IntType, bn_requant_map
from addnn.transform.annotations import OUTPUT_EXPONENT, annotate
from addnn.transform.bounds import adder_bounds, mac_bounds


class NetBuilder:
    """Appends integer-graph nodes; each method returns the name of its output tensor."""

    def __init__(self, channels: int, size: int, bits: int = 8, signed: bool = True,
                 exponent: int = -5, seed: int = 0):
        self.rng = np.random.default_rng(seed)
        self.nodes, self.inits, self.types, self.shapes = [], [], {}, {}
        self.n = 0
        self.in_shape = [1, channels, size, size]
        self.calib = self.rng.normal(0, 2.5, size=(8, channels, size, size)).astype(np.float32)
        t = IntType(bits, signed, exponent)
        out = self._node("QuantizeInput", ["x"], self.in_shape, t, bits=bits,
                         signed=int(signed), out_exponent=exponent)
        self.input = out

    def _name(self, stem: str) -> str:
        self.n += 1
        return f"{stem}_{self.n}"

    def _node(self, op, inputs, shape, t: IntType, domain=DOMAIN, **attrs) -> str:
        name = self._name(op)
        out = name + "_out"
        self.nodes.append(helper.make_node(op, inputs, [out], name=name, domain=domain, **attrs))
        self.types[out], self.shapes[out] = t, shape
        return out

    def _const(self, stem: str, a: np.ndarray, t: IntType | None = None) -> str:
        name = self._name(stem)
        self.inits.append((name, np.asarray(a), t))
        return name

    def conv(self, x: str, cout: int, k: int, stride: int = 1, pad: int = 0,
             adder: bool = True, w_type: IntType | None = None) -> str:
        """Adder2d (weights on the input's grid, unsigned like it) or MacConv2d (int8)."""
        tx = self.types[x]
        n, c, h, w_ = self.shapes[x]
        if w_type is None:
            w_type = IntType(tx.bits, tx.signed, tx.exponent) if adder else IntType(8, True, -6)
        w = self.rng.integers(w_type.lo, w_type.hi + 1, size=(cout, c, k, k))
        wn = self._const("w", w, w_type)
        lo, hi = (adder_bounds if adder else mac_bounds)(tx, w)
        e = tx.exponent if adder else tx.exponent + w_type.exponent
        ho, wo = (h + 2 * pad - k) // stride + 1, (w_ + 2 * pad - k) // stride + 1
        return self._node("Adder2d" if adder else "MacConv2d", [x, wn], [1, cout, ho, wo],
                          IntType.for_range(lo, hi, e), kernel_shape=[k, k],
                          pads=[pad] * 4, strides=[stride] * 2)

    def bn(self, acc: str, out: IntType, relu: bool, kind: str | None = None,
           float32: bool = False) -> str:
        """A random BN map whose outputs, on random images, spread over ``out``'s range (the
        accumulator's statistics are measured by running the graph built so far)."""
        ta = self.types[acc]
        c = self.shapes[acc][1]
        from addnn.transform import integer_context

        v = integer_context(self.model(acc), self.calib)[acc].astype(np.float64)
        v = v.transpose(1, 0, 2, 3).reshape(c, -1) * 2.0 ** ta.exponent
        mean, std = v.mean(1), np.maximum(v.std(1), 2.0 ** ta.exponent)
        levels = (out.hi - out.lo) * 2.0 ** out.exponent
        a = levels / (4 * std) * self.rng.uniform(0.6, 1.6, c) * \
            self.rng.choice([-1.0, 1.0], c, p=[0.2, 0.8])
        centre = (out.lo + out.hi) / 2 * 2.0 ** out.exponent
        b = centre - a * mean + self.rng.uniform(-0.2, 0.2, c) * levels
        if float32:
            a32, b32 = BNAffine(a, b).float32()
            return self._node("FloatBNRequant", [acc, self._const("a", a32),
                                                  self._const("b", b32)],
                              self.shapes[acc], out, bits=out.bits, signed=int(out.signed),
                              out_exponent=out.exponent, in_exponent=ta.exponent,
                              relu=int(relu))
        m = bn_requant_map(BNAffine(a, b), ta, out, relu)
        if m.kind == "table":
            inputs = [acc, self._const("table", m.table)]
        else:
            inputs = [acc] + [self._const(k, v) for k, v in
                              (("thr", m.thresholds), ("start", m.start), ("dir", m.direction))]
        assert kind is None or kind == m.kind
        return self._node("BNRequantMap", inputs, self.shapes[acc], out, kind=m.kind,
                          in_bits=ta.bits, in_signed=int(ta.signed), in_exponent=ta.exponent,
                          bits=out.bits, signed=int(out.signed), out_exponent=out.exponent)

    def requantize(self, x: str, out: IntType, relu: bool = False) -> str:
        tx = self.types[x]
        return self._node("Requantize", [x], self.shapes[x], out, bits=out.bits,
                          signed=int(out.signed), in_exponent=tx.exponent,
                          out_exponent=out.exponent, relu=int(relu))

    def add(self, a: str, b: str) -> str:
        ta, tb = self.types[a], self.types[b]
        assert ta.exponent == tb.exponent
        return self._node("Add", [a, b], self.shapes[a],
                          IntType.for_range(ta.lo + tb.lo, ta.hi + tb.hi, ta.exponent),
                          domain="")

    def pool(self, x: str) -> str:
        n, c, h, w = self.shapes[x]
        return self._node("AvgPoolShift", [x], [1, c, 1, 1], self.types[x])

    def flatten(self, x: str) -> str:
        return self._node("Flatten", [x], [1, self.shapes[x][1]], self.types[x], domain="",
                          axis=1)

    def block(self, x: str, cout: int, stride: int, bits: int, stream: IntType) -> str:
        """The addnn residual block: adders on ``bits``-bit inputs (a requantization of the
        stream when narrower), BN maps, a shared residual type, ReLU requantization."""
        res = IntType(stream.bits + 1, True, stream.exponent)
        xa = x
        if bits < stream.bits:
            xa = self.requantize(x, IntType(bits, False, stream.exponent + stream.bits - bits))
        act = IntType(bits, False, self.types[xa].exponent - 1)
        h = self.bn(self.conv(xa, cout, 3, stride, 1), act, relu=True)
        out = self.bn(self.conv(h, cout, 3, 1, 1), res, relu=False)
        cin = self.shapes[x][1]
        if stride != 1 or cin != cout:
            skip = self.bn(self.conv(xa, cout, 1, stride, 0), res, relu=False)
        else:
            skip = self.requantize(x, res)
        return self.requantize(self.add(out, skip), stream, relu=True)

    def model(self, out: str) -> ModelWrapper:
        graph = helper.make_graph(
            self.nodes, "net",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, self.in_shape)],
            [helper.make_tensor_value_info(out, TensorProto.INT64, self.shapes[out])])
        for name, a, _ in self.inits:
            graph.initializer.append(numpy_helper.from_array(
                a.astype(np.float32 if a.dtype.kind == "f" else np.int64), name))
        m = ModelWrapper(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]))
        for name, a, t in self.inits:
            if t is not None:
                annotate(m, name, t)
        for name, t in self.types.items():
            vi = helper.make_tensor_value_info(name, TensorProto.INT64, self.shapes[name])
            if name != out:
                m.graph.value_info.append(vi)
            annotate(m, name, t)
        m.set_metadata_prop(OUTPUT_EXPONENT, str(self.types[out].exponent))
        return m


def random_resnet(seed: int, channels=(4, 8), size: int = 8, bits: int = 8,
                  blocks: int = 1, classes: int = 5) -> ModelWrapper:
    """A small addnn ResNet: MAC stem, stages of residual blocks (downsampling between
    stages), global pooling and an fc with 16-bit logits."""
    b = NetBuilder(3, size, seed=seed)
    stream = IntType(8, False, -4)
    x = b.bn(b.conv(b.input, channels[0], 3, 1, 1, adder=False), stream, relu=True)
    for stage, cout in enumerate(channels):
        for k in range(blocks):
            x = b.block(x, cout, 2 if stage > 0 and k == 0 else 1, bits, stream)
    p = b.pool(x)
    logits = b.bn(b.conv(p, classes, 1, adder=False), IntType(16, True, -8), relu=False)
    return b.model(b.flatten(logits))
