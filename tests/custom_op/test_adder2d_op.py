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


def test_verify_node_reports_unsupported_attributes():
    w = np.zeros((2, 2, 3, 3), dtype=np.float32)
    model = one_node_model((1, 2, 5, 5), w, 3, group=2, dilations=[2, 2])
    report = getCustomOp(model.graph.node[0]).verify_node()
    assert "group must be 1" in report and "dilations must be [1, 1]" in report
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
