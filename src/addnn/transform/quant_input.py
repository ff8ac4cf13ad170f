"""Pass: the Quant on the graph input becomes ``QuantizeInput``, the graph's only float op."""

from __future__ import annotations

from qonnx.core.modelwrapper import ModelWrapper
from qonnx.transformation.base import Transformation

from addnn.errors import AddnnError
from addnn.transform.annotations import annotate, quant_params
from addnn.transform.rewrite import addnn_node, replace_chain


class QuantizeGraphInput(Transformation):
    def apply(self, model: ModelWrapper):
        inputs = {i.name for i in model.graph.input}
        for node in model.graph.node:
            if node.op_type != "Quant" or node.input[0] not in inputs:
                continue
            t, narrow = quant_params(model, node)
            if narrow:
                raise AddnnError(f"Quant node {node.name!r}: narrow-range activations are not "
                                 "supported")
            new = addnn_node("QuantizeInput", [node.input[0]], node.output[0], node.name,
                             bits=t.bits, signed=int(t.signed), out_exponent=t.exponent)
            replace_chain(model, [node], new)
            annotate(model, node.output[0], t)
            return model, True
        return model, False
