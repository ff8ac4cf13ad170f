"""What the integer graph records about each tensor: its qonnx DataType (bits and sign, from
worst-case bounds) and its power-of-two exponent (a metadata property of the model)."""

from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper, numpy_helper
from qonnx.core.datatype import DataType
from qonnx.core.modelwrapper import ModelWrapper

from addnn.errors import AddnnError
from addnn.numeric import IntType, exponent_of

_KEY = "addnn.exponent."
OUTPUT_EXPONENT = "addnn.output_exponent"


def exponent(model: ModelWrapper, tensor: str) -> int | None:
    value = model.get_metadata_prop(_KEY + tensor)
    return None if value is None else int(value)


def is_integer(model: ModelWrapper, tensor: str) -> bool:
    return exponent(model, tensor) is not None


def datatype_of(t: IntType) -> DataType:
    return DataType[f"{'INT' if t.signed else 'UINT'}{t.bits}"]


def annotate(model: ModelWrapper, tensor: str, t: IntType) -> None:
    """Record ``tensor`` as integers of type ``t`` (DataType, exponent, int64 container)."""
    model.set_tensor_datatype(tensor, datatype_of(t))
    model.set_metadata_prop(_KEY + tensor, str(t.exponent))
    vi = model.get_tensor_valueinfo(tensor)
    if vi is not None:
        vi.type.tensor_type.elem_type = TensorProto.INT64


def int_type(model: ModelWrapper, tensor: str) -> IntType:
    """The IntType of an annotated tensor: bits and sign from its DataType."""
    dt = model.get_tensor_datatype(tensor)
    e = exponent(model, tensor)
    if e is None or not dt.is_integer():
        raise AddnnError(f"tensor {tensor!r} is not an integer tensor of the lowered graph")
    return IntType(dt.bitwidth(), dt.signed(), e)


def set_int_initializer(model: ModelWrapper, name: str, q: np.ndarray, t: IntType) -> None:
    model.graph.initializer.append(numpy_helper.from_array(q.astype(np.int64), name))
    annotate(model, name, t)


def quant_params(model: ModelWrapper, node) -> tuple[IntType, bool]:
    """The IntType a QONNX ``Quant`` node quantizes to, and whether its range is narrow;
    refused unless its scale is a power of two and its zero point 0 (names the tensor)."""
    scale = model.get_initializer(node.input[1])
    zero = model.get_initializer(node.input[2])
    bits = model.get_initializer(node.input[3])
    what = f"Quant node {node.name!r} (output {node.output[0]!r})"
    if scale is None or zero is None or bits is None:
        raise AddnnError(f"{what}: scale, zero point and bit width must be constants")
    if np.unique(scale).size != 1:
        raise AddnnError(f"{what}: per-channel scales are not supported")
    if np.any(zero != 0):
        raise AddnnError(f"{what}: zero point must be 0")
    try:
        e = exponent_of(float(np.ravel(scale)[0]), f"{what}: scale")
    except ValueError as err:
        raise AddnnError(str(err)) from err
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    missing = [a for a in ("signed", "narrow") if a not in attrs]    # QONNX requires both
    if missing:
        raise AddnnError(f"{what}: required attribute {missing[0]!r} is missing")
    # onnx gives a STRING attribute as bytes; ROUND is QONNX's default.
    mode = attrs.get("rounding_mode", b"ROUND").decode()
    if mode != "ROUND":
        raise AddnnError(f"{what}: rounding mode {mode!r} is not ROUND")
    return IntType(int(np.ravel(bits)[0]), bool(attrs["signed"]), e), bool(attrs["narrow"])
