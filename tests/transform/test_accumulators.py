"""Accumulator widths: the annotated worst case is reached by adversarial operands, and a type
one bit narrower is caught on execution."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper
from qonnx.core.datatype import DataType
from qonnx.core.modelwrapper import ModelWrapper

from addnn.custom_op import DOMAIN
from addnn.errors import AddnnError
from addnn.transform import lower_to_integer, run_integer

QONNX = "qonnx.custom_op.general"


def one_layer(op: str, w: np.ndarray, signed: bool) -> ModelWrapper:
    """x -> Quant(8 bits, scale 1) -> op(Quant(w)) on a k x k input: one output position."""
    o, c, k, _ = w.shape
    consts = {"s": np.array(1.0, np.float32), "z": np.array(0.0, np.float32),
              "b": np.array(8.0, np.float32), "w": w.astype(np.float32)}
    nodes = [
        helper.make_node("Quant", ["x", "s", "z", "b"], ["xq"], domain=QONNX,
                         signed=int(signed), narrow=0, rounding_mode="ROUND"),
        helper.make_node("Quant", ["w", "s", "z", "b"], ["wq"], domain=QONNX,
                         signed=int(signed), narrow=0, rounding_mode="ROUND"),
        helper.make_node(op, ["xq", "wq"], ["acc"], kernel_shape=[k, k],
                         domain=DOMAIN if op == "Adder2d" else ""),
    ]
    graph = helper.make_graph(
        nodes, "one", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, c, k, k])],
        [helper.make_tensor_value_info("acc", TensorProto.FLOAT, [1, o, 1, 1])],
        [numpy_helper.from_array(v, n) for n, v in consts.items()])
    return ModelWrapper(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]))


def narrowed(model: ModelWrapper, tensor: str) -> ModelWrapper:
    dt = model.get_tensor_datatype(tensor)
    model.set_tensor_datatype(tensor, DataType[f"INT{dt.bitwidth() - 1}"])
    return model


extremes = st.sampled_from([(0, 255, False), (-128, 127, True)])


@settings(max_examples=20)
@given(ends=extremes, o=st.integers(1, 4), c=st.integers(1, 16), k=st.sampled_from([1, 3]),
       seed=st.integers(0, 10_000))
def test_adder_bound_is_reached_and_narrower_type_caught(ends, o, c, k, seed):
    lo, hi, signed = ends
    w = np.random.default_rng(seed).choice([lo, hi], size=(o, c, k, k))
    model = lower_to_integer(one_layer("Adder2d", w, signed))
    dt = model.get_tensor_datatype("acc")
    far = np.maximum(np.abs(hi - w), np.abs(w - lo)).reshape(o, -1).sum(1)
    worst = int(far.argmax())
    # The farthest input for the worst channel: the range end away from each weight.
    x = np.where(np.abs(w[worst] - lo) >= np.abs(hi - w[worst]), lo, hi)[None].astype(np.float32)
    acc = run_integer(model, x)
    assert acc[0, worst, 0, 0] == -far.max()                          # reached
    assert dt.allowed(acc).all() and DataType[f"INT{dt.bitwidth() - 1}"].min() > -far.max()
    with pytest.raises(AddnnError, match="'acc' leaves its type"):
        run_integer(narrowed(model, "acc"), x)


@settings(max_examples=20)
@given(o=st.integers(1, 4), c=st.integers(1, 8), k=st.sampled_from([1, 3]),
       seed=st.integers(0, 10_000))
def test_mac_bound_is_reached_and_narrower_type_caught(o, c, k, seed):
    w = np.random.default_rng(seed).choice([-128, 127], size=(o, c, k, k))
    model = lower_to_integer(one_layer("Conv", w, True))
    assert model.graph.node[-1].op_type == "MacConv2d"
    dt = model.get_tensor_datatype("acc")
    top = np.maximum(w * -128, w * 127).reshape(o, -1).sum(1)
    bottom = np.minimum(w * -128, w * 127).reshape(o, -1).sum(1)
    # Drive the channel and direction that set the width to its extreme.
    if top.max() + 1 > -bottom.min():
        ch, target = int(top.argmax()), top.max()
        x = np.where(w[ch] > 0, 127, -128)[None].astype(np.float32)
    else:
        ch, target = int(bottom.argmin()), bottom.min()
        x = np.where(w[ch] > 0, -128, 127)[None].astype(np.float32)
    acc = run_integer(model, x)
    assert acc[0, ch, 0, 0] == target                                  # reached
    assert dt.min() <= bottom.min() and dt.max() >= top.max()
    assert not DataType[f"INT{dt.bitwidth() - 1}"].allowed(np.array([target])).all()
    with pytest.raises(AddnnError, match="'acc' leaves its type"):
        run_integer(narrowed(model, "acc"), x)
