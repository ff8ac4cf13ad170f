"""Small graph edits shared by the lowering passes."""

from __future__ import annotations

from onnx import helper
from qonnx.core.modelwrapper import ModelWrapper

from addnn.custom_op import DOMAIN
from addnn.errors import AddnnError


def addnn_node(op_type: str, inputs: list[str], output: str, name: str, **attrs):
    return helper.make_node(op_type, inputs, [output], name=name, domain=DOMAIN, **attrs)


def replace_chain(model: ModelWrapper, chain: list, new_node) -> None:
    """Put ``new_node`` where the first node of ``chain`` was and remove the chain."""
    index = list(model.graph.node).index(chain[0])
    for node in chain:
        model.graph.node.remove(node)
    model.graph.node.insert(index, new_node)


def single_consumer(model: ModelWrapper, tensor: str, op_type: str | None = None):
    """The only node reading ``tensor`` (of ``op_type`` if given), else None."""
    consumers = model.find_consumers(tensor) or []
    if len(consumers) != 1 or model.get_initializer(tensor) is not None:
        return None
    if op_type is not None and consumers[0].op_type != op_type:
        return None
    return consumers[0]


def constant(model: ModelWrapper, node, index: int, what: str):
    value = model.get_initializer(node.input[index])
    if value is None:
        raise AddnnError(f"node {node.name!r} ({node.op_type}): {what} must be a constant")
    return value
