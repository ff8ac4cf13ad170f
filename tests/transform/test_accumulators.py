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


def one_layer(op: str, w: np.ndarray, signed: bool, x_scale: float = 1.0,
              w_scale: float = 1.0, size: int | None = None, **quant) -> ModelWrapper:
    """x -> Quant(8 bits, scale 1) -> op(Quant(w)) on a k x k input: one output position
    (or a ``size`` x ``size`` input). ``quant``: Quant attributes over rounding_mode="ROUND"
    (None leaves an attribute out)."""
    o, c, k, _ = w.shape
    size = size or k
    quant = {k: v for k, v in {"rounding_mode": "ROUND", **quant}.items() if v is not None}
    consts = {"s": np.array(x_scale, np.float32), "z": np.array(0.0, np.float32),
              "b": np.array(8.0, np.float32), "w": w.astype(np.float32),
              "sw": np.array(w_scale, np.float32)}
    nodes = [
        helper.make_node("Quant", ["x", "s", "z", "b"], ["xq"], domain=QONNX,
                         signed=int(signed), narrow=0, **quant),
        helper.make_node("Quant", ["w", "sw", "z", "b"], ["wq"], domain=QONNX,
                         signed=int(signed), narrow=0, **quant),
        helper.make_node(op, ["xq", "wq"], ["acc"], kernel_shape=[k, k],
                         domain=DOMAIN if op == "Adder2d" else ""),
    ]
    graph = helper.make_graph(
        nodes, "one", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                     [1, c, size, size])],
        [helper.make_tensor_value_info("acc", TensorProto.FLOAT,
                                       [1, o, size - k + 1, size - k + 1])],
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


@pytest.mark.parametrize("x_scale, w_scale", [(2.0 ** -3, 1.0), (1.0, 2.0 ** -2),
                                              (2.0 ** -1, 2.0 ** 2)])
def test_adder_operands_on_different_grids_meet_on_the_finer(x_scale, w_scale):
    """The coarser operand is shifted left onto the finer grid (the weight offline, the input
    by a Requantize node); the integer result times 2**e equals QONNX's float execution, and
    the shifted tensors keep their values within their annotated types."""
    from qonnx.core.onnx_exec import execute_onnx
    from qonnx.transformation.infer_shapes import InferShapes

    from addnn.transform import output_exponent
    from addnn.transform.annotations import int_type
    rng = np.random.default_rng(4)
    w = rng.integers(-128, 128, (3, 2, 3, 3)) * w_scale
    float_model = one_layer("Adder2d", w, True, x_scale, w_scale, size=5)
    model = lower_to_integer(float_model)
    float_model = float_model.transform(InferShapes())
    x = (rng.integers(-128, 128, (4, 2, 5, 5)) * x_scale).astype(np.float32)
    for i in range(len(x)):
        ref = execute_onnx(float_model, {"x": x[i:i + 1]})["acc"]
        out = run_integer(model, x[i:i + 1])            # checks every tensor's type
        assert np.array_equal(out * 2.0 ** output_exponent(model), ref)
    finer = min(np.log2(x_scale), np.log2(w_scale))
    assert int_type(model, model.graph.node[-1].input[0]).exponent == finer
    assert int_type(model, model.graph.node[-1].input[1]).exponent == finer
    shift = int(np.log2(w_scale) - finer)
    if shift:       # the weight, shifted: 8 + shift bits, its values w / 2**finer
        name = model.graph.node[-1].input[1]
        assert name.endswith("_aligned") and int_type(model, name).bits == 8 + shift
        assert np.array_equal(model.get_initializer(name), w / 2.0 ** finer)
        dt = model.get_tensor_datatype(name)
        assert dt.min() == -(2 ** (7 + shift)) and dt.max() == 2 ** (7 + shift) - 1


def test_quant_without_rounding_mode_is_round():
    """QONNX's Quant defaults rounding_mode to ROUND: a node without it lowers."""
    w = np.ones((1, 1, 1, 1))
    model = lower_to_integer(one_layer("Adder2d", w, True, rounding_mode=None))
    assert run_integer(model, np.full((1, 1, 1, 1), 3.0, np.float32)).item() == -2


def test_quant_with_another_rounding_mode_is_refused():
    with pytest.raises(AddnnError, match="rounding mode 'FLOOR' is not ROUND"):
        lower_to_integer(one_layer("Adder2d", np.ones((1, 1, 1, 1)), True,
                                   rounding_mode="FLOOR"))


def test_output_exponent_of_a_graph_not_lowered():
    from addnn.transform import output_exponent
    with pytest.raises(AddnnError, match="^not an integer graph \\(no output exponent\\): run "
                                         "the lowering first$"):
        output_exponent(one_layer("Adder2d", np.ones((1, 1, 1, 1)), True))


def test_single_consumer_skips_constants():
    """An initializer read by one node is a constant, not a stream: no single consumer."""
    from addnn.transform.rewrite import single_consumer
    model = one_layer("Adder2d", np.ones((1, 1, 1, 1)), True)
    assert single_consumer(model, "w") is None                 # initializer, one reader
    assert single_consumer(model, "xq").op_type == "Adder2d"
    assert single_consumer(model, "xq", "Conv") is None
    assert single_consumer(model, "s") is None                 # two readers
