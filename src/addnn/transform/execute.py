"""Running the integer graph: qonnx's executor, then every tensor checked against its
annotated DataType."""

from __future__ import annotations

import numpy as np
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.core.onnx_exec import execute_onnx
from qonnx.custom_op.registry import getCustomOp

from addnn.custom_op import DOMAIN
from addnn.errors import AddnnError
from addnn.transform.annotations import OUTPUT_EXPONENT, is_integer


def output_exponent(model: ModelWrapper) -> int:
    value = model.get_metadata_prop(OUTPUT_EXPONENT)
    if value is None:
        raise AddnnError("not an integer graph (no output exponent): run the lowering first")
    return int(value)


def check_types(model: ModelWrapper, context: dict) -> None:
    """Every integer tensor within its DataType, or an error naming the tensor."""
    for name, value in context.items():
        if not is_integer(model, name):
            continue
        value = np.asarray(value)
        dt = model.get_tensor_datatype(name)
        if value.dtype.kind not in "iu" or value.size and (value.min() < dt.min()
                                                           or value.max() > dt.max()):
            raise AddnnError(f"tensor {name!r} leaves its type {dt.name}: values in "
                             f"[{value.min()}, {value.max()}] ({value.dtype})")


def _flatten(node, x: np.ndarray) -> np.ndarray:
    axis = next((a.i for a in node.attribute if a.name == "axis"), 1)
    return x.reshape(int(np.prod(x.shape[:axis])), -1)


_STANDARD = {"Add": lambda node, a, b: a + b, "Flatten": _flatten}


def integer_context(model: ModelWrapper, x: np.ndarray) -> dict:
    """Every tensor of the integer graph on float input ``x``: the batch path of
    ``run_integer``, which runs the op implementations node by node."""
    name_in = model.graph.input[0].name
    context = {i.name: model.get_initializer(i.name) for i in model.graph.initializer}
    context[name_in] = x
    for node in model.graph.node:
        if node.domain == DOMAIN:
            getCustomOp(node).execute_node(context, model.graph)
        elif node.op_type in _STANDARD:
            context[node.output[0]] = _STANDARD[node.op_type](
                node, *(context[i] for i in node.input))
        else:
            raise AddnnError(f"node {node.name!r} ({node.op_type}) is not an integer-graph op")
    return context


def run_integer(model: ModelWrapper, x: np.ndarray, check: bool = True,
                fast: bool = True) -> np.ndarray:
    """Integer logits (int64) of the integer graph on float input ``x``; their value is
    ``q * 2**output_exponent(model)``.

    ``fast=False`` runs ``qonnx.core.onnx_exec.execute_onnx``. ``fast=True`` (the batch path,
    ``integer_context``) runs the same op implementations node by node without qonnx's
    per-tensor float sanitisation, which costs more than the arithmetic; the results are the
    same bits (tested). With ``check`` every integer tensor is checked against its DataType."""
    name_in, name_out = model.graph.input[0].name, model.graph.output[0].name
    if not fast:
        context = execute_onnx(model, {name_in: x}, return_full_exec_context=check)
    else:
        context = integer_context(model, x)
    if check:
        check_types(model, context)
    return np.asarray(context[name_out])
