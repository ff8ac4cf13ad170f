"""Loading and checking exported graphs: what a QONNX file must satisfy before addnn uses it."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import onnx
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp
from qonnx.transformation.change_batchsize import ChangeBatchSize
from qonnx.transformation.infer_shapes import InferShapes

from addnn.custom_op import DOMAIN as ADDNN_DOMAIN
from addnn.errors import AddnnError

QONNX_DOMAIN = "qonnx.custom_op.general"
SUPPORTED_DOMAINS = ("", "ai.onnx", QONNX_DOMAIN, ADDNN_DOMAIN)


def _node_label(node: onnx.NodeProto) -> str:
    return f"node {node.name or node.output[0]!r} ({node.domain + '.' if node.domain else ''}" \
           f"{node.op_type})"


def check_ops(model: ModelWrapper, source: str) -> None:
    """Every node must be a standard ONNX op or a qonnx/addnn custom op that can execute."""
    for node in model.graph.node:
        if node.domain not in SUPPORTED_DOMAINS:
            raise AddnnError(f"{source}: {_node_label(node)} is from domain {node.domain!r}, "
                             "which addnn cannot execute")
        if node.domain in ("", "ai.onnx"):
            if not onnx.defs.has(node.op_type):
                raise AddnnError(f"{source}: {_node_label(node)} is not an ONNX operator")
            continue
        try:
            op = getCustomOp(node)
        except Exception as err:   # qonnx raises several types for an unknown op
            raise AddnnError(f"{source}: {_node_label(node)} is not an op addnn can execute "
                             f"({str(err).splitlines()[0]})") from err
        if node.domain != ADDNN_DOMAIN:
            continue
        problems = [p for p in op.verify_node() if not p.endswith("are valid")]
        if problems:
            raise AddnnError(f"{source}: {_node_label(node)}: {'; '.join(problems)}")


def read_onnx(path: str | Path) -> onnx.ModelProto:
    """The ONNX model in ``path``; a one-line error for a missing or non-ONNX file."""
    path = Path(path)
    if not path.is_file():
        raise AddnnError(f"{path}: no such file")
    try:
        return onnx.load(str(path))
    except Exception as err:   # protobuf's DecodeError and friends
        raise AddnnError(f"{path} is not an ONNX model ({type(err).__name__})") from err


def load_graph(path: str | Path) -> ModelWrapper:
    """Read an ONNX file for execution, with a one-line error for anything addnn cannot run."""
    proto = read_onnx(path)
    if not proto.graph.node:
        raise AddnnError(f"{path} is not an ONNX model (no graph nodes)")
    model = ModelWrapper(proto)
    if len(model.graph.input) != 1 or len(model.graph.output) != 1:
        raise AddnnError(f"{path}: expected one graph input and one output, found "
                         f"{len(model.graph.input)} and {len(model.graph.output)}")
    check_ops(model, str(path))
    return model


def count_ops(model: ModelWrapper) -> Counter:
    return Counter(n.op_type for n in model.graph.node)


def _shape_compatible(model: ModelWrapper) -> onnx.ModelProto:
    """The graph with each custom op replaced by its shape-compatible standard op, which is what
    ONNX's own checker and shape inference understand."""
    proto = onnx.ModelProto()
    proto.CopyFrom(model.model)
    nodes = []
    for node in proto.graph.node:
        if node.domain in ("", "ai.onnx"):
            nodes.append(node)
            continue
        subst = getCustomOp(node).make_shape_compatible_op(model)
        if isinstance(subst, list):
            nodes.extend(subst)
        else:
            nodes.append(subst)
    del proto.graph.node[:]
    proto.graph.node.extend(nodes)
    del proto.graph.value_info[:]
    standard = [op for op in proto.opset_import if op.domain in ("", "ai.onnx")]
    del proto.opset_import[:]
    proto.opset_import.extend(standard)
    return proto


def strict_check(model: ModelWrapper) -> None:
    """``onnx.checker`` with full check and strict shape inference (with type checks)."""
    proto = _shape_compatible(model)
    try:
        onnx.checker.check_model(model.model)
        onnx.checker.check_model(proto, full_check=True)
        onnx.shape_inference.infer_shapes(proto, check_type=True, strict_mode=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as err:
        raise AddnnError(f"ONNX check failed: {str(err).splitlines()[0]}") from err


def with_batch_size(model: ModelWrapper, batch: int) -> ModelWrapper:
    """A copy of the graph with batch size ``batch`` (exported graphs have batch 1)."""
    return model.transform(ChangeBatchSize(batch)).transform(InferShapes())
