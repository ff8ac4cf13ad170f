"""Passes: Adder2d and Conv on integer operands, with their worst-case accumulator types."""

from __future__ import annotations

from onnx import helper
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.transformation.base import Transformation

from addnn.errors import AddnnError
from addnn.numeric import IntType, adder_align
from addnn.transform.annotations import annotate, int_type, is_integer, set_int_initializer
from addnn.transform.bounds import adder_bounds, mac_bounds
from addnn.transform.rewrite import addnn_node, constant, replace_chain


def _ready(model: ModelWrapper, node, op_type: str) -> bool:
    return (node.op_type == op_type and all(is_integer(model, i) for i in node.input[:2])
            and not is_integer(model, node.output[0]))


class LowerAdder2d(Transformation):
    """Align input and weight to the smaller exponent (left shifts: the weight's offline, the
    input's by a ``Requantize``), then annotate ``-sum |x' - w'|``."""

    def apply(self, model: ModelWrapper):
        for node in model.graph.node:
            if not _ready(model, node, "Adder2d"):
                continue
            tx, tw = int_type(model, node.input[0]), int_type(model, node.input[1])
            w = constant(model, node, 1, "the weight")
            e, sx, sw = adder_align(tx.exponent, tw.exponent)
            # A shifted tensor is named by its source and shift: adders that read one tensor
            # (a block's first adder and its downsampling shortcut) share it at one shift and
            # never overwrite each other's at another.
            if sw:
                name = f"{node.input[1]}_aligned{sw}"
                if model.get_initializer(name) is None:
                    set_int_initializer(model, name, w << sw,
                                        IntType(tw.bits + sw, tw.signed, e))
                node.input[1] = name
                w = w << sw
            if sx:
                aligned = IntType(tx.bits + sx, tx.signed, e)
                name = f"{node.input[0]}_aligned{sx}"
                if model.find_producer(name) is None:
                    shift = addnn_node("Requantize", [node.input[0]], name,
                                       node.name + "_align", bits=aligned.bits,
                                       signed=int(aligned.signed), in_exponent=tx.exponent,
                                       out_exponent=e)
                    model.graph.node.insert(list(model.graph.node).index(node), shift)
                    annotate(model, name, aligned)
                node.input[0] = name
                tx = aligned
            lo, hi = adder_bounds(tx, w)
            annotate(model, node.output[0], IntType.for_range(lo, hi, e))
            return model, True
        return model, False


class LowerConv(Transformation):
    """``Conv`` on integers becomes ``MacConv2d`` at exponent ``ex + ew``."""

    def apply(self, model: ModelWrapper):
        for node in model.graph.node:
            if not _ready(model, node, "Conv"):
                continue
            if len(node.input) > 2 and node.input[2]:
                raise AddnnError(f"node {node.name!r} (Conv): a bias is not supported")
            tx, tw = int_type(model, node.input[0]), int_type(model, node.input[1])
            attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
            if attrs.get("group", 1) != 1 or any(d != 1 for d in attrs.get("dilations", [1])):
                raise AddnnError(f"node {node.name!r} (Conv): groups and dilations must be 1")
            new = addnn_node("MacConv2d", list(node.input[:2]), node.output[0], node.name,
                             **{k: v for k, v in attrs.items() if k != "auto_pad"})
            w = constant(model, node, 1, "the weight")
            lo, hi = mac_bounds(tx, w)
            replace_chain(model, [node], new)
            annotate(model, node.output[0],
                     IntType.for_range(lo, hi, tx.exponent + tw.exponent))
            return model, True
        return model, False
