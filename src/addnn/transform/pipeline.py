"""``lower_to_integer``: the exported QONNX graph to the integer graph, pass by pass."""

from __future__ import annotations

from onnx import TensorProto
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.transformation.general import RemoveUnusedTensors
from qonnx.transformation.infer_shapes import InferShapes

from addnn.custom_op import DOMAIN
from addnn.errors import AddnnError
from addnn.transform.annotations import OUTPUT_EXPONENT, exponent, is_integer
from addnn.transform.lower_bn import LowerBNRequant
from addnn.transform.lower_elementwise import (
    LowerPoolAndFlatten,
    LowerRequantize,
    LowerResidualAdd,
)
from addnn.transform.lower_layers import LowerAdder2d, LowerConv
from addnn.transform.quant_input import QuantizeGraphInput
from addnn.transform.quant_weights import QuantWeightsToIntegers

INTEGER_STANDARD_OPS = ("Add", "Flatten")


def lowering_passes(bn: str = "integer") -> list:
    """In order; each pass rewrites nodes whose inputs are already integers, so the list is
    applied until none changes anything."""
    return [QuantWeightsToIntegers(), QuantizeGraphInput(), LowerConv(), LowerAdder2d(),
            LowerBNRequant(bn), LowerRequantize(), LowerResidualAdd(), LowerPoolAndFlatten()]


def check_integer_graph(model: ModelWrapper) -> None:
    """Every node must be an integer op with integer outputs; name the first that is not."""
    for node in model.graph.node:
        integer_op = node.domain == DOMAIN or node.op_type in INTEGER_STANDARD_OPS
        if not integer_op or not all(is_integer(model, o) for o in node.output):
            raise AddnnError(f"cannot lower node {node.name!r} ({node.op_type}) to integers: "
                             "no pass handles it with these inputs")


def lower_to_integer(model: ModelWrapper, bn: str = "integer") -> ModelWrapper:
    """The integer graph of an exported ``addnn``-preset QONNX graph.

    ``bn="integer"``: BN + requantization as exact integer maps; ``bn="float32"``: the
    reference design's float32 BN, for comparison."""
    model = model.transform(InferShapes())
    passes = lowering_passes(bn)
    changed = True
    while changed:
        changed = False
        for p in passes:
            model, ran = p.apply(model)
            changed |= ran
    check_integer_graph(model)
    model = model.transform(RemoveUnusedTensors()).transform(InferShapes())
    out = model.graph.output[0]
    out.type.tensor_type.elem_type = TensorProto.INT64
    model.set_metadata_prop(OUTPUT_EXPONENT, str(exponent(model, out.name)))
    return model
