"""Passes: the residual Add, requantizations (Quant, Relu + Quant), the average pool and
Flatten on integer tensors."""

from __future__ import annotations

from qonnx.core.modelwrapper import ModelWrapper
from qonnx.transformation.base import Transformation

from addnn.errors import AddnnError
from addnn.numeric import IntType
from addnn.transform.annotations import annotate, int_type, is_integer, quant_params
from addnn.transform.rewrite import addnn_node, replace_chain, single_consumer


def _unlowered(model: ModelWrapper, node) -> bool:
    return not is_integer(model, node.output[0]) and all(
        is_integer(model, i) for i in node.input if model.get_initializer(i) is None)


class LowerResidualAdd(Transformation):
    """An integer add of two operands at one exponent (they share a quantizer)."""

    def apply(self, model: ModelWrapper):
        for node in model.graph.node:
            if node.op_type != "Add" or not _unlowered(model, node) or len(node.input) != 2:
                continue
            if any(model.get_initializer(i) is not None for i in node.input):
                continue
            ta, tb = (int_type(model, i) for i in node.input)
            if ta.exponent != tb.exponent:
                raise AddnnError(f"node {node.name!r} (Add): operands at exponents "
                                 f"{ta.exponent} and {tb.exponent}; they must share one")
            annotate(model, node.output[0],
                     IntType.for_range(ta.lo + tb.lo, ta.hi + tb.hi, ta.exponent))
            return model, True
        return model, False


class LowerRequantize(Transformation):
    """``Quant`` on an integer tensor, or ``Relu -> Quant``, becomes ``Requantize``."""

    def apply(self, model: ModelWrapper):
        for node in model.graph.node:
            if node.op_type not in ("Quant", "Relu") or not is_integer(model, node.input[0]):
                continue
            if is_integer(model, node.output[0]):
                continue
            chain = [node]
            if node.op_type == "Relu":
                quant = single_consumer(model, node.output[0], "Quant")
                if quant is None:
                    raise AddnnError(f"node {node.name!r} (Relu): expected one Quant after it")
                chain.append(quant)
            out, narrow = quant_params(model, chain[-1])
            if narrow:
                raise AddnnError(f"Quant node {chain[-1].name!r}: narrow-range activations are "
                                 "not supported")
            t_in = int_type(model, node.input[0])
            new = addnn_node("Requantize", [node.input[0]], chain[-1].output[0],
                             chain[-1].name, bits=out.bits, signed=int(out.signed),
                             in_exponent=t_in.exponent, out_exponent=out.exponent,
                             relu=int(node.op_type == "Relu"))
            replace_chain(model, chain, new)
            annotate(model, chain[-1].output[0], out)
            return model, True
        return model, False


class LowerPoolAndFlatten(Transformation):
    """GlobalAveragePool becomes ``AvgPoolShift`` (sum, rounded shift); Flatten keeps its
    input's type. Both keep the exponent and the range."""

    def apply(self, model: ModelWrapper):
        for node in model.graph.node:
            if node.op_type not in ("GlobalAveragePool", "Flatten"):
                continue
            if not _unlowered(model, node):
                continue
            t = int_type(model, node.input[0])
            if node.op_type == "GlobalAveragePool":
                h, w = model.get_tensor_shape(node.input[0])[2:]
                if (h * w) & (h * w - 1):
                    raise AddnnError(f"node {node.name!r} (GlobalAveragePool): area {h}x{w} is "
                                     "not a power of two")
                replace_chain(model, [node], addnn_node("AvgPoolShift", [node.input[0]],
                                                        node.output[0], node.name))
            annotate(model, node.output[0], t)
            return model, True
        return model, False
