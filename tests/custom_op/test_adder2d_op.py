"""The Adder2d QONNX custom op: qonnx execution, shape and datatype inference, checks."""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from onnx import TensorProto, helper
from qonnx.core.datatype import DataType
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.core.onnx_exec import execute_onnx
from qonnx.custom_op.registry import getCustomOp
from qonnx.transformation.infer_datatypes import InferDataTypes
from qonnx.transformation.infer_shapes import InferShapes

from addnn.custom_op import DOMAIN
from addnn.custom_op.adder2d import adder2d_np
from addnn.ops import reference


def one_node_model(x_shape, w, k, strides=(1, 1), pads=(0, 0, 0, 0), **attrs):
    node = helper.make_node("Adder2d", ["x", "w"], ["y"], domain=DOMAIN, kernel_shape=[k, k],
                            strides=list(strides), pads=list(pads), **attrs)
    graph = helper.make_graph(
        [node], "adder", [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [helper.make_tensor("w", TensorProto.FLOAT, w.shape, w.flatten().tolist())])
    model = ModelWrapper(helper.make_model(graph))
    return model.transform(InferShapes())


@given(seed=st.integers(0, 10_000), k=st.sampled_from([1, 3]), s=st.sampled_from([1, 2]),
       p=st.sampled_from([0, 1]))
def test_qonnx_execution_matches_the_reference(seed, k, s, p):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(2, 3, 7, 7)).astype(np.float32)
    w = rng.normal(size=(4, 3, k, k)).astype(np.float32)
    model = one_node_model(x.shape, w, k, (s, s), (p, p, p, p))
    out = execute_onnx(model, {"x": x})["y"]
    ref = reference.forward(torch.from_numpy(x).double(), torch.from_numpy(w).double(), s, p)
    assert out.shape == tuple(ref.shape)
    assert model.get_tensor_shape("y") == list(ref.shape)
    assert np.allclose(out, ref.numpy(), rtol=1e-6, atol=1e-4)


def test_asymmetric_padding_and_integer_values_are_exact():
    x = np.arange(2 * 5 * 5, dtype=np.float64).reshape(1, 2, 5, 5) % 7
    w = np.arange(3 * 2 * 9, dtype=np.float64).reshape(3, 2, 3, 3) % 5
    out = adder2d_np(x, w, (1, 1), (1, 0, 0, 1))           # top 1, right 1
    padded = np.pad(x, ((0, 0), (0, 0), (1, 0), (0, 1)))
    expected = adder2d_np(padded, w)
    assert np.array_equal(out, expected) and out.shape == (1, 3, 4, 4)


def test_integer_datatypes_give_the_worst_case_accumulator():
    w = np.full((2, 4, 3, 3), -128, dtype=np.float32)
    model = one_node_model((1, 4, 5, 5), w, 3, pads=(1, 1, 1, 1))
    model.set_tensor_datatype("x", DataType["UINT8"])
    model.set_tensor_datatype("w", DataType["INT8"])
    model = model.transform(InferDataTypes())
    dt = model.get_tensor_datatype("y")
    bound = (255 + 128) * 4 * 9
    assert dt.min() <= -bound and dt.max() >= 0
    assert DataType[f"INT{dt.bitwidth() - 1}"].min() > -bound      # one bit less is too narrow
    x = np.full((1, 4, 5, 5), 255, dtype=np.float32)
    out = execute_onnx(model, {"x": x})["y"]
    assert out.min() == -bound and dt.allowed(out).all()


@pytest.mark.parametrize("x_dt, w_dt, c, k", [
    ("INT1", "INT8", 2, 3), ("UINT8", "INT8", 2, 3), ("INT2", "UINT4", 2, 3),
    ("UINT1", "INT3", 2, 3), ("INT4", "INT4", 2, 3), ("INT1", "UINT1", 2, 3),
    ("INT1", "INT2", 16, 1)])     # largest 2 on 16 terms: -32 is INT6, where 3 would be INT7
def test_accumulator_type_is_the_brute_force_worst_case(x_dt, w_dt, c, k):
    """The output datatype holds -largest * window, largest the widest |x - w| over every
    input value (and padding's 0) and every weight value, enumerated; and nothing narrower."""
    xd, wd = DataType[x_dt], DataType[w_dt]
    xs = range(min(int(xd.min()), 0), max(int(xd.max()), 0) + 1)
    largest = max(abs(x - w) for x in xs for w in range(int(wd.min()), int(wd.max()) + 1))
    model = one_node_model((1, c, 4, 4), np.zeros((3, c, k, k), np.float32), k,
                           pads=(k // 2,) * 4)
    model.set_tensor_datatype("x", xd)
    model.set_tensor_datatype("w", wd)
    dt = model.transform(InferDataTypes()).get_tensor_datatype("y")
    assert dt == DataType.get_smallest_possible(-largest * c * k * k)


@pytest.mark.parametrize("x_dt, w_dt", [("FLOAT32", "INT8"), ("INT8", "FLOAT32")])
def test_a_float_operand_gives_a_float_accumulator(x_dt, w_dt):
    model = one_node_model((1, 2, 4, 4), np.zeros((3, 2, 3, 3), np.float32), 3)
    model.set_tensor_datatype("x", DataType[x_dt])
    model.set_tensor_datatype("w", DataType[w_dt])
    assert model.transform(InferDataTypes()).get_tensor_datatype("y") == DataType["FLOAT32"]


def test_verify_node_reports_unsupported_attributes():
    w = np.zeros((2, 2, 3, 3), dtype=np.float32)
    model = one_node_model((1, 2, 5, 5), w, 3, group=2, dilations=[2, 2])
    report = getCustomOp(model.graph.node[0]).verify_node()
    assert report == ["group must be 1", "dilations must be [1, 1]"]
    # Shape inference follows the attributes as a Conv would (dilation 2: a 5x5 reach), so
    # the report above, not a shape error, is what reaches the user.
    assert model.get_tensor_shape("y") == [1, 2, 1, 1]
    node = helper.make_node("Adder2d", ["x", "w", "b"], ["y"], domain=DOMAIN, kernel_shape=[3])
    assert getCustomOp(node).verify_node() == ["expects 2 inputs, has 3",
                                               "kernel_shape must have 2 entries"]
    ok = getCustomOp(one_node_model((1, 2, 5, 5), w, 3).graph.node[0]).verify_node()
    assert ok == ["Adder2d: attributes and inputs are valid"]


def test_channel_mismatch_raises():
    with pytest.raises(ValueError, match="channels"):
        adder2d_np(np.zeros((1, 2, 4, 4)), np.zeros((3, 5, 1, 1)))


@given(seed=st.integers(0, 10_000), e=st.integers(-12, 4), k=st.sampled_from([1, 3]),
       s=st.sampled_from([1, 2]), p=st.sampled_from([0, 1]), signed=st.booleans())
def test_fast_execution_is_the_reference_on_grid_values(seed, e, k, s, p, signed):
    """Quantized operands (integers at 2**e): the C++ path gives the reference's exact bits."""
    from addnn.custom_op.adder2d import _exact_in_float64, adder2d_fast

    rng = np.random.default_rng(seed)
    lo = -128 if signed else 0
    x = (rng.integers(lo, lo + 256, size=(2, 5, 6, 6)) * 2.0 ** e).astype(np.float32)
    w = (rng.integers(lo, lo + 256, size=(3, 5, k, k)) * 2.0 ** e).astype(np.float32)
    assert _exact_in_float64(x, w, 5 * k * k)
    fast = adder2d_fast(x, w, (s, s), (p,) * 4)
    assert np.array_equal(fast, adder2d_np(x, w, (s, s), (p,) * 4))


def test_fast_execution_falls_back_when_not_provably_exact():
    from addnn.custom_op.adder2d import _exact_in_float64, adder2d_fast

    x = np.array([1e30, 1e-30], dtype=np.float32).reshape(1, 1, 1, 2)
    w = np.ones((1, 1, 1, 1), dtype=np.float32)
    assert not _exact_in_float64(x, w, 1)
    assert np.array_equal(adder2d_fast(x, w, (1, 1), (0,) * 4), adder2d_np(x, w))
    assert not _exact_in_float64(x.astype(np.float64), w.astype(np.float64), 1)


@pytest.mark.parametrize("pads", [(1, 0, 0, 0), (0, 1, 0, 0), (0, 0, 1, 0), (0, 0, 0, 1)])
def test_mac_conv2d_refuses_padding_uneven_on_either_axis(pads):
    node = helper.make_node("MacConv2d", ["x", "w"], ["y"], domain=DOMAIN, kernel_shape=[1, 1],
                            pads=list(pads), name="MacConv2d_9")
    context = {"x": np.ones((1, 2, 3, 3), dtype=np.int64),
               "w": np.ones((2, 2, 1, 1), dtype=np.int64)}
    with pytest.raises(ValueError, match="^MacConv2d_9: asymmetric padding is not supported$"):
        getCustomOp(node).execute_node(context, None)


def _direct_conv(x, w, stride, pad, dilation):
    """Integer convolution by its definition, in Python ints (the reference for MacConv2d)."""
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad))).astype(object)
    ho = (h + 2 * pad - dilation * (kh - 1) - 1) // stride + 1
    wo = (wd + 2 * pad - dilation * (kw - 1) - 1) // stride + 1
    out = np.zeros((n, o, ho, wo), dtype=object)
    for i in range(ho):
        for j in range(wo):
            win = xp[:, :, i * stride:i * stride + dilation * (kh - 1) + 1:dilation,
                     j * stride:j * stride + dilation * (kw - 1) + 1:dilation]
            out[:, :, i, j] = np.tensordot(win, w.astype(object), axes=([1, 2, 3], [1, 2, 3]))
    return out.astype(np.int64)


def _mac_model(x_shape, w, **attrs):
    node = helper.make_node("MacConv2d", ["x", "w"], ["y"], domain=DOMAIN, name="MacConv2d_0",
                            kernel_shape=list(w.shape[2:]), **attrs)
    graph = helper.make_graph(
        [node], "mac", [helper.make_tensor_value_info("x", TensorProto.INT64, x_shape)],
        [helper.make_tensor_value_info("y", TensorProto.INT64, None)],
        [helper.make_tensor("w", TensorProto.INT64, w.shape, w.flatten().tolist())])
    return ModelWrapper(helper.make_model(graph)).transform(InferShapes())


@given(seed=st.integers(0, 10_000), s=st.sampled_from([1, 2]), p=st.sampled_from([0, 1, 2]),
       d=st.sampled_from([1, 2]), n=st.sampled_from([0, 1, 2]))
def test_mac_conv2d_is_the_integer_convolution(seed, s, p, d, n):
    """Strides, padding, dilation and an empty batch, against the definition in Python
    ints; shape inference gives the executed shape."""
    rng = np.random.default_rng(seed)
    x = rng.integers(-128, 128, (n, 3, 7, 6))
    w = rng.integers(-128, 128, (4, 3, 3, 3))
    model = _mac_model(list(x.shape), w, strides=[s, s], pads=[p] * 4, dilations=[d, d])
    out = execute_onnx(model, {"x": x})["y"]
    expected = _direct_conv(x, w, s, p, d)
    assert out.dtype == np.int64 and np.array_equal(out, expected)
    assert model.get_tensor_shape("y") == list(expected.shape)


@pytest.mark.parametrize("op, attrs", [
    ("Requantize", dict(bits=8, signed=1, out_exponent=-3, in_exponent=-5)),
    ("QuantizeInput", dict(bits=8, signed=1, out_exponent=-3)),
])
def test_elementwise_int_ops_infer_the_input_shape_as_int64(op, attrs):
    node = helper.make_node(op, ["x"], ["y"], domain=DOMAIN, **attrs)
    graph = helper.make_graph(
        [node], "e", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 4, 5])],
        [helper.make_tensor_value_info("y", TensorProto.INT64, None)])
    model = ModelWrapper(helper.make_model(graph)).transform(InferShapes())
    assert model.get_tensor_shape("y") == [2, 3, 4, 5]
    vi = [v for v in list(model.graph.value_info) + list(model.graph.output) if v.name == "y"]
    assert vi[0].type.tensor_type.elem_type == TensorProto.INT64


@pytest.mark.parametrize("strides, pads", [
    ((1, 2), (0, 0, 0, 0)), ((2, 1), (1, 1, 1, 1)),
    ((1, 1), (1, 1, 1, 0)), ((1, 1), (0, 1, 1, 1)), ((1, 1), (1, 0, 1, 1)),
    ((1, 1), (1, 1, 0, 1)), ((2, 2), (1, 0, 1, 0)),
])
def test_anisotropic_geometry_executes_exactly(strides, pads):
    """Strides or pads that differ by axis or side are outside the fast kernel's isotropic
    geometry: the result is the reference's, bit for bit, on integer values."""
    rng = np.random.default_rng(5)
    x = rng.integers(-8, 8, (2, 3, 7, 6)).astype(np.float32)
    w = rng.integers(-8, 8, (4, 3, 3, 3)).astype(np.float32)
    model = one_node_model(x.shape, w, 3, strides, pads)
    out = execute_onnx(model, {"x": x})["y"]
    assert np.array_equal(out, adder2d_np(x, w, strides, pads).astype(np.float32))


def test_float64_exactness_bound_is_strictly_below_2_52():
    """The documented bound: the largest possible sum, 2 * largest * window, below 2**52."""
    from addnn.custom_op.adder2d import _exact_in_float64

    window = 9
    edge = np.array([2 ** 52 // (2 * window)], dtype=np.int64)     # 2 * edge * 9 < 2**52
    assert 2 * int(edge[0]) * window < 2 ** 52
    assert _exact_in_float64(edge, np.zeros(1, np.int64), window)
    top = np.array([2 ** 49], dtype=np.int64)                     # 2 * 2**49 * 8 == 2**53
    assert not _exact_in_float64(top, np.zeros(1, np.int64), 8)
    assert not _exact_in_float64(np.array([2 ** 48]), np.array([0]), 8)   # == 2**52
    assert _exact_in_float64(np.array([2 ** 48 - 1]), np.array([0]), 8)
    # float32: counted in steps of the finest grid, 2**(exponent of the smallest - 24):
    # 2**-20 (frexp exponent -19) puts 2**8 at 2**51 steps of 2**-43, 2**7 at 2**50.
    zero = np.zeros(1, np.float32)
    assert not _exact_in_float64(np.array([2.0 ** -20, 2.0 ** 8], np.float32), zero, 1)
    assert _exact_in_float64(np.array([2.0 ** -20, 2.0 ** 7], np.float32), zero, 1)
    assert not _exact_in_float64(np.array([2.0 ** -20, 2.0 ** 7], np.float32), zero, 2)
    assert _exact_in_float64(np.array([3, -5], np.int32), np.array([7], np.uint8), 9)
    assert not _exact_in_float64(np.array([3.0], np.float32), np.array([7], np.int64), 9)


@pytest.mark.parametrize("kind", ["table", "thresholds"])
def test_bn_requant_map_node_carries_its_input_type(kind):
    """The node's IntegerMap reads in_bits, in_signed and in_exponent, and maps as built."""
    from addnn.numeric import IntType
    attrs = dict(bits=4, signed=0, out_exponent=-2, kind=kind, in_bits=3, in_signed=1,
                 in_exponent=-7)
    if kind == "table":
        inputs = {"t": np.array([[0, 0, 1, 2, 3, 5, 8, 15]])}
    else:
        inputs = {"t": np.array([[-2, 1, 3]]), "s": np.array([1]), "d": np.array([1])}
    node = helper.make_node("BNRequantMap", ["acc", *inputs], ["y"], domain=DOMAIN,
                            name="bn_0", **attrs)
    context = {"acc": np.arange(-4, 4).reshape(1, 1, 1, 8), **inputs}
    op = getCustomOp(node)
    m = op.integer_map(context)
    assert m.input_type == IntType(3, True, -7) and m.output_type == IntType(4, False, -2)
    op.execute_node(context, None)
    expected = [0, 0, 1, 2, 3, 5, 8, 15] if kind == "table" else [1, 1, 2, 2, 2, 3, 3, 4]
    assert context["y"].ravel().tolist() == expected
