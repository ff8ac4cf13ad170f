"""Accumulator widths: the annotated worst case is reached by adversarial operands, and a type
one bit narrower is caught on execution. Then the graphs at the edges of what the lowering
takes, against QONNX's execution of the graph before lowering or ONNX's reference evaluator."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator
from qonnx.core.datatype import DataType
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.core.onnx_exec import execute_onnx
from qonnx.custom_op.registry import getCustomOp
from qonnx.transformation.infer_shapes import InferShapes

from addnn.custom_op import DOMAIN
from addnn.errors import AddnnError
from addnn.transform import lower_to_integer, output_exponent, run_integer
from addnn.transform.execute import _flatten

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
        assert name == f"wq_aligned{shift}" and int_type(model, name).bits == 8 + shift
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


def bn_relu_quant(signed: bool, c: int = 3, k: int = 3, bits: int = 8,
                  seed: int = 0) -> ModelWrapper:
    """x -> Quant(``bits`` at 2**-1) -> Adder2d(k x k, pad k // 2) -> Mul(a) -> Add(0) -> Relu
    -> Quant(8 bits at 2**-3, ``signed``)."""
    rng = np.random.default_rng(seed)
    o, p = 4, k // 2
    w = rng.integers(-3, 4, (o, c, k, k)).astype(np.float32) * 0.5
    a = rng.uniform(0.5, 2.0, (1, o, 1, 1)).astype(np.float32) / (c * k * k)
    consts = {"s": np.array(0.5, np.float32), "z": np.array(0.0, np.float32),
              "bx": np.array(float(bits), np.float32), "b8": np.array(8.0, np.float32),
              "w": w, "a": a, "b": np.zeros((1, o, 1, 1), np.float32),
              "so": np.array(0.125, np.float32)}
    nodes = [
        helper.make_node("Quant", ["x", "s", "z", "bx"], ["xq"], domain=QONNX, signed=1,
                         narrow=0, rounding_mode="ROUND"),
        helper.make_node("Quant", ["w", "s", "z", "bx"], ["wq"], domain=QONNX, signed=1,
                         narrow=0, rounding_mode="ROUND"),
        helper.make_node("Adder2d", ["xq", "wq"], ["acc"], domain=DOMAIN, kernel_shape=[k, k],
                         pads=[p] * 4),
        helper.make_node("Mul", ["acc", "a"], ["m"]),
        helper.make_node("Add", ["m", "b"], ["bn"]),
        helper.make_node("Relu", ["bn"], ["r"]),
        helper.make_node("Quant", ["r", "so", "z", "b8"], ["y"], domain=QONNX,
                         signed=int(signed), narrow=0, rounding_mode="ROUND"),
    ]
    graph = helper.make_graph(
        nodes, "bnrelu", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, c, 5, 5])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, o, 5, 5])],
        [numpy_helper.from_array(v, n) for n, v in consts.items()])
    model = ModelWrapper(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]))
    return model.transform(InferShapes())


@pytest.mark.parametrize("signed", [True, False])
@pytest.mark.parametrize("mode, c, k, bits, kind", [
    ("integer", 3, 3, 8, "thresholds"), ("integer", 1, 1, 3, "table"),
    ("float32", 3, 3, 8, None)])
def test_relu_between_bn_and_a_signed_quant_is_kept(signed, mode, c, k, bits, kind):
    """With a signed output the ReLU is what makes the negative BN outputs 0; the lowered
    graph (each BN mode, and both kinds of integer map) gives QONNX's outputs exactly. The
    map's constants are named after the node and their role."""
    model = bn_relu_quant(signed, c, k, bits)
    x = np.random.default_rng(1).normal(0, 4, (2, c, 5, 5)).astype(np.float32)
    m = execute_onnx(model, {"x": x}, return_full_exec_context=True)["m"]
    model.set_initializer("b", (-np.median(m, axis=(0, 2, 3), keepdims=True) + 0.3)
                          .astype(np.float32))             # each channel's centre near 0
    expected = execute_onnx(model, {"x": x})["y"]
    bn = execute_onnx(model, {"x": x}, return_full_exec_context=True)["bn"]
    assert (bn < -0.0625).mean() > 0.2 and (expected > 0).mean() > 0.2    # both sides used
    low = lower_to_integer(model, mode)
    got = run_integer(low, x) * 2.0 ** output_exponent(low)
    assert np.array_equal(got, expected) and got.min() == 0
    if kind:
        node = next(n for n in low.graph.node if n.op_type == "BNRequantMap")
        assert getCustomOp(node).get_nodeattr("kind") == kind
        roles = ["table"] if kind == "table" else ["thresholds", "start", "direction"]
    else:
        node = next(n for n in low.graph.node if n.op_type == "FloatBNRequant")
        roles = ["a", "b"]
    assert list(node.input[1:]) == [f"{node.name}_{r}" for r in roles]


@pytest.mark.parametrize("signed", [True, False])
def test_relu_then_quant_on_integers_is_one_requantize(signed):
    """x -> Quant -> Relu -> Quant: the Relu and the second Quant become one Requantize
    whose ReLU is applied (visible with a signed output), exactly as QONNX computes it."""
    consts = {"s": np.array(0.5, np.float32), "s2": np.array(0.25, np.float32),
              "z": np.array(0.0, np.float32), "b": np.array(8.0, np.float32)}
    nodes = [helper.make_node("Quant", ["x", "s", "z", "b"], ["xq"], domain=QONNX, signed=1,
                              narrow=0, rounding_mode="ROUND"),
             helper.make_node("Relu", ["xq"], ["r"]),
             helper.make_node("Quant", ["r", "s2", "z", "b"], ["y"], domain=QONNX,
                              signed=int(signed), narrow=0, rounding_mode="ROUND")]
    graph = helper.make_graph(
        nodes, "rq", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 4, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, 4, 4])],
        [numpy_helper.from_array(v, n) for n, v in consts.items()])
    model = ModelWrapper(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]))
    model = model.transform(InferShapes())
    x = np.random.default_rng(2).normal(0, 8, (1, 2, 4, 4)).astype(np.float32)
    expected = execute_onnx(model, {"x": x})["y"]
    model.graph.node[2].name = "q_out"
    low = lower_to_integer(model)
    assert [(n.op_type, n.name) for n in low.graph.node][1] == ("Requantize", "q_out")
    assert [n.op_type for n in low.graph.node] == ["QuantizeInput", "Requantize"]
    got = run_integer(low, x) * 2.0 ** output_exponent(low)
    assert np.array_equal(got, expected) and got.min() == 0 and (x < -1).any()


def adder_then(ops: list[tuple[str, str]]) -> ModelWrapper:
    """x -> Quant -> Adder2d(1x1) -> each (op, second operand or None) of ``ops`` -> Quant;
    operand "a" and "b" are constants [1, 2, 1, 1], "xq" the quantized input (not a
    constant)."""
    consts = {"s": np.array(0.5, np.float32), "z": np.array(0.0, np.float32),
              "b8": np.array(8.0, np.float32), "w": np.ones((2, 2, 1, 1), np.float32),
              "a": np.full((1, 2, 1, 1), 0.5, np.float32), "b": np.ones((1, 2, 1, 1), np.float32)}
    nodes = [helper.make_node("Quant", ["x", "s", "z", "b8"], ["xq"], domain=QONNX, signed=1,
                              narrow=0, rounding_mode="ROUND"),
             helper.make_node("Quant", ["w", "s", "z", "b8"], ["wq"], domain=QONNX, signed=1,
                              narrow=0, rounding_mode="ROUND"),
             helper.make_node("Adder2d", ["xq", "wq"], ["acc"], domain=DOMAIN,
                              kernel_shape=[1, 1])]
    t = "acc"
    for op, other in ops:
        nodes.append(helper.make_node(op, [t] + ([other] if other else []), [t + op],
                                      name=f"bn_{op}"))
        t += op
    nodes.append(helper.make_node("Quant", [t, "s", "z", "b8"], ["y"], domain=QONNX, signed=1,
                                  narrow=0, rounding_mode="ROUND"))
    graph = helper.make_graph(
        nodes, "c", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 3, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, 3, 3])],
        [numpy_helper.from_array(v, n) for n, v in consts.items()])
    model = ModelWrapper(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]))
    return model.transform(InferShapes())


@pytest.mark.parametrize("ops, node", [
    ([("Mul", "a")], "bn_Mul"),                       # a scale and no shift
    ([("Add", "b")], "bn_Add"),                       # a shift and no scale
    ([("Mul", "a"), ("Add", "xq")], "bn_Mul"),        # the shift is no constant
    ([("Mul", "xq"), ("Add", "b")], "bn_Mul"),        # the scale is no constant
    ([("Mul", "a"), ("Relu", None)], "bn_Mul"),       # something else after the scale
    ([("Mul", "acc"), ("Add", "b")], "bn_Mul"),       # the accumulator squared
    ([("Mul", "a"), ("Add", "b"), ("GlobalAveragePool", None)], "bn_Mul"),  # no Quant next
])
def test_a_bn_chain_that_is_not_one_is_refused_naming_the_node(ops, node):
    """Only accumulator -> Mul(constant) -> Add(constant) -> Quant is a BN map; any part of
    one is left alone by that pass, and the lowering then names the node it cannot take."""
    with pytest.raises(AddnnError, match=f"^cannot lower node '{node}' \\((Mul|Add)\\) to "
                                         "integers: no pass handles it"):
        lower_to_integer(adder_then(ops))
    assert lower_to_integer(adder_then([("Mul", "a"), ("Add", "b")])) is not None


def _after(model: ModelWrapper, ops: list[tuple]) -> ModelWrapper:
    """``model`` with nodes appended: (op_type, inputs, output, attributes)."""
    for op, inputs, out, attrs in ops:
        model.graph.node.append(helper.make_node(op, inputs, [out], name=f"{op}_9", **attrs))
    model.graph.output[0].name = ops[-1][2]
    return model.transform(InferShapes())


@pytest.mark.parametrize("attrs", [dict(group=2), dict(dilations=[2, 2])])
def test_a_grouped_or_dilated_conv_is_refused(attrs):
    model = one_layer("Conv", np.ones((2, 2, 1, 1)), True, size=5)
    conv = model.graph.node[-1]
    conv.name = "conv_3"
    if "group" in attrs:
        model.set_initializer("w", np.ones((2, 1, 1, 1), np.float32))
    conv.attribute.extend(helper.make_attribute(k, v) for k, v in attrs.items())
    model.graph.output[0].type.tensor_type.shape.Clear()
    _refusal(model, r"^node 'conv_3' \(Conv\): groups and dilations must be 1$")


def test_a_relu_without_its_quant_is_refused():
    model = _after(one_layer("Adder2d", np.ones((1, 1, 1, 1)), True),
                   [("Relu", ["acc"], "r", {})])
    _refusal(model, r"^node 'Relu_9' \(Relu\): expected one Quant after it$")


def test_a_relu_read_by_another_op_is_refused():
    model = _after(one_layer("Adder2d", np.ones((1, 1, 1, 1)), True),
                   [("Relu", ["acc"], "r", {}), ("Flatten", ["r"], "f", {})])
    _refusal(model, r"^node 'Relu_9' \(Relu\): expected one Quant after it$")


def test_a_narrow_range_requantization_is_refused():
    """A Quant straight after an integer tensor (no BN, no Relu) with narrow=1."""
    model = _after(one_layer("Adder2d", np.ones((1, 1, 1, 1)), True),
                   [("Quant", ["acc", "s", "z", "b"], "y",
                     dict(domain=QONNX, signed=1, narrow=1, rounding_mode="ROUND"))])
    _refusal(model, r"^Quant node 'Quant_9': narrow-range activations are not supported$")


def test_a_narrow_range_input_quantizer_is_refused():
    model = one_layer("Adder2d", np.ones((1, 1, 1, 1)), True)
    model.graph.node[0].name = "q_in"
    next(a for a in model.graph.node[0].attribute if a.name == "narrow").i = 1
    _refusal(model, r"^Quant node 'q_in': narrow-range activations are not supported$")


@pytest.mark.filterwarnings("ignore:The values of tensor acc can't be represented")
@pytest.mark.parametrize("fast", [True, False])
def test_an_intermediate_tensor_outside_its_type_is_caught_on_both_paths(fast):
    """The check covers every tensor, not only the output, through qonnx's executor too."""
    model = _after(one_layer("Adder2d", np.ones((1, 1, 1, 1)), True, size=3),
                   [("Relu", ["acc"], "r", {}),
                    ("Quant", ["r", "s", "z", "b"], "y",
                     dict(domain=QONNX, signed=1, narrow=0, rounding_mode="ROUND"))])
    low = lower_to_integer(model)
    x = np.arange(-4, 5, dtype=np.float32).reshape(1, 1, 3, 3) * 20
    assert run_integer(low, x, fast=fast).shape == (1, 1, 3, 3)
    low.set_tensor_datatype("acc", DataType["INT2"])
    with pytest.raises(AddnnError, match="^tensor 'acc' leaves its type INT2"):
        run_integer(low, x, fast=fast)
    assert run_integer(low, x, check=False, fast=fast).shape == (1, 1, 3, 3)


@pytest.mark.parametrize("size", [1, 2, 4])
def test_a_global_pool_over_a_power_of_two_area_is_qonnxs_average(size):
    """1x1 (the average is the value), 2x2, 4x4: AvgPoolShift gives QONNX's
    GlobalAveragePool followed by its Quant."""
    model = _after(one_layer("Adder2d", np.ones((1, 1, 1, 1)), True, size=size),
                   [("GlobalAveragePool", ["acc"], "p", {}),
                    ("Quant", ["p", "s", "z", "b"], "y",
                     dict(domain=QONNX, signed=1, narrow=0, rounding_mode="ROUND"))])
    x = np.random.default_rng(size).integers(-60, 60, (1, 1, size, size)).astype(np.float32)
    low = lowered_like_qonnx(model, x, "y")
    assert "AvgPoolShift" in [n.op_type for n in low.graph.node]


def test_a_global_pool_over_an_area_not_a_power_of_two_is_refused():
    model = _after(one_layer("Adder2d", np.ones((1, 1, 1, 1)), True, size=3),
                   [("GlobalAveragePool", ["acc"], "p", {})])
    _refusal(model, r"^node 'GlobalAveragePool_9' \(GlobalAveragePool\): area 3x3 is not a "
                    r"power of two$")


def test_each_pass_reports_a_change_until_its_fixed_point():
    """FINN's pass contract: apply returns (model, True) while it rewrites something and
    (model, False) once nothing is left for it; the defaults build the integer-map mode."""
    from addnn.transform.lower_bn import LowerBNRequant
    from addnn.transform.lower_layers import LowerConv
    from addnn.transform.pipeline import lowering_passes
    from addnn.transform.quant_input import QuantizeGraphInput
    from addnn.transform.quant_weights import QuantWeightsToIntegers
    model = one_layer("Conv", np.ones((2, 2, 1, 1)), True).transform(InferShapes())
    model = model.transform(QuantWeightsToIntegers()).transform(QuantizeGraphInput())
    model, changed = LowerConv().apply(model)
    assert changed and [n.op_type for n in model.graph.node][-1] == "MacConv2d"
    assert LowerConv().apply(model)[1] is False
    bn = adder_then([("Mul", "a"), ("Add", "b")]).transform(InferShapes())
    for p in lowering_passes()[:4]:                    # up to the adder: its accumulator
        bn = bn.transform(p)
    bn, changed = LowerBNRequant().apply(bn)
    assert changed and "BNRequantMap" in [n.op_type for n in bn.graph.node]
    assert LowerBNRequant().apply(bn)[1] is False
    from addnn.transform.lower_layers import LowerAdder2d
    adder = adder_then([("Mul", "a"), ("Add", "b")]).transform(InferShapes())
    for p in lowering_passes()[:3]:
        adder = adder.transform(p)
    adder, changed = LowerAdder2d().apply(adder)
    assert changed and LowerAdder2d().apply(adder)[1] is False
    assert LowerBNRequant().mode == "integer"
    assert [p.mode for p in lowering_passes() if isinstance(p, LowerBNRequant)] == ["integer"]


def test_a_conv_with_a_bias_is_refused():
    model = one_layer("Conv", np.ones((2, 2, 1, 1)), True)
    conv = model.graph.node[-1]
    conv.name = "conv_5"
    model.graph.initializer.append(numpy_helper.from_array(np.zeros(2, np.float32), "bias"))
    conv.input.append("bias")
    _refusal(model, r"^node 'conv_5' \(Conv\): a bias is not supported$")


def test_running_a_graph_that_is_not_lowered_names_the_node():
    from addnn.transform.execute import integer_context
    model = one_layer("Adder2d", np.ones((1, 1, 1, 1)), True)
    model.graph.node[0].name = "q_0"
    with pytest.raises(AddnnError, match="^node 'q_0' \\(Quant\\) is not an integer-graph op$"):
        integer_context(model, np.zeros((1, 1, 1, 1), np.float32))


def test_bn_constants_of_another_channel_count_are_refused():
    model = adder_then([("Mul", "a"), ("Add", "b")])
    model.set_initializer("a", np.full((1, 3, 1, 1), 0.5, np.float32))
    _refusal(model, r"^node 'bn_Mul': BN constants do not match the 2 channels of 'acc'$")


def test_a_narrow_range_activation_after_bn_is_refused():
    model = adder_then([("Mul", "a"), ("Add", "b")])
    last = model.graph.node[-1]
    last.name = "q_out"
    next(a for a in last.attribute if a.name == "narrow").i = 1
    _refusal(model, r"^Quant node 'q_out': narrow-range activations are not supported$")


def test_an_adder_whose_weight_is_no_constant_is_refused():
    model = one_layer("Adder2d", np.ones((1, 1, 1, 1)), True)
    adder = model.graph.node[-1]
    adder.name = "adder_4"
    adder.input[1] = "xq"                          # an integer stream, not a constant
    _refusal(model, r"^node 'adder_4' \(Adder2d\): the weight must be a constant$")


def test_the_input_quantizer_keeps_its_name():
    model = one_layer("Adder2d", np.ones((1, 1, 1, 1)), True)
    model.graph.node[0].name = "input_quant"
    low = lower_to_integer(model)
    assert [(n.op_type, n.name) for n in low.graph.node][0] == ("QuantizeInput", "input_quant")


def lowered_like_qonnx(model: ModelWrapper, x: np.ndarray, out: str) -> ModelWrapper:
    """The integer graph of ``model``, checked first: its output times 2**e equals QONNX's
    execution of tensor ``out`` (the graph before lowering) on ``x``."""
    expected = execute_onnx(model, {"x": x})[out]
    low = lower_to_integer(model)
    assert np.array_equal(run_integer(low, x) * 2.0 ** output_exponent(low), expected)
    return low


def _refusal(model: ModelWrapper, match: str) -> None:
    with pytest.raises(AddnnError, match=match):
        lower_to_integer(model)


def test_quant_with_per_channel_scales_is_refused():
    model = one_layer("Adder2d", np.ones((2, 1, 1, 1)), True)
    model.set_initializer("sw", np.array([1.0, 0.5], np.float32).reshape(2, 1, 1, 1))
    _refusal(model, r"^Quant node '\w*' \(output 'wq'\): per-channel scales are not "
                    r"supported$")
    same = one_layer("Adder2d", np.ones((2, 1, 1, 1)), True)
    same.set_initializer("sw", np.array([0.5, 0.5], np.float32).reshape(2, 1, 1, 1))
    assert lower_to_integer(same) is not None          # one value, stored per channel


def test_quant_with_a_computed_scale_is_refused():
    model = one_layer("Adder2d", np.ones((1, 1, 1, 1)), True)
    model.graph.node.insert(0, helper.make_node("Identity", ["sw"], ["sw_copy"]))
    model.graph.node[2].input[1] = "sw_copy"           # the weight's Quant
    _refusal(model, r"^Quant node '\w*' \(output 'wq'\): scale, zero point and bit width "
                    r"must be constants$")


def test_quant_with_a_zero_point_is_refused():
    model = one_layer("Adder2d", np.ones((1, 1, 1, 1)), True)
    model.set_initializer("z", np.array(1.0, np.float32))
    _refusal(model, r"\(output '[xw]q'\): zero point must be 0$")


@pytest.mark.parametrize("axis", [None, 0, 1, 2, 3, 4])
def test_flatten_as_onnx_defines_it(axis):
    """The integer graph's Flatten (default axis 1) against ONNX's reference evaluator."""
    x = np.arange(2 * 3 * 4 * 5, dtype=np.int64).reshape(2, 3, 4, 5)
    attrs = {} if axis is None else {"axis": axis}
    node = helper.make_node("Flatten", ["x"], ["y"], **attrs)
    graph = helper.make_graph(
        [node], "f", [helper.make_tensor_value_info("x", TensorProto.INT64, x.shape)],
        [helper.make_tensor_value_info("y", TensorProto.INT64, None)])
    expected = ReferenceEvaluator(helper.make_model(graph)).run(None, {"x": x})[0]
    got = _flatten(node, x)
    assert got.shape == expected.shape and np.array_equal(got, expected)


def test_adders_sharing_a_tensor_keep_their_own_shifts():
    """One input read by adders on different grids (a block's first adder and its shortcut),
    and one weight read at two input exponents: each adder gets its own shifted copy, named
    by the shift, and adders at one shift share one Requantize. Every accumulator times
    2**e equals QONNX's execution; the graph stays single-assignment."""
    from addnn.transform.annotations import int_type
    from addnn.transform.execute import integer_context
    rng = np.random.default_rng(7)
    scales = {"wa": 0.5, "wb": 0.25, "wc": 0.5, "ws": 2.0}
    consts = {"s": np.array(1.0, np.float32), "s2": np.array(0.25, np.float32),
              "z": np.array(0.0, np.float32), "b": np.array(8.0, np.float32),
              **{f"s_{k}": np.array(v, np.float32) for k, v in scales.items()},
              **{k: (rng.integers(-100, 100, (2, 2, 1, 1)) * v).astype(np.float32)
                 for k, v in scales.items()}}
    quant = dict(domain=QONNX, signed=1, narrow=0, rounding_mode="ROUND")
    nodes = [helper.make_node("Quant", ["x", "s", "z", "b"], ["xq"], **quant),
             helper.make_node("Quant", ["xq", "s2", "z", "b"], ["xq2"], **quant)]
    nodes += [helper.make_node("Quant", [k, f"s_{k}", "z", "b"], [k + "q"], **quant)
              for k in scales]
    reads = {"a1": ("xq", "waq"), "a2": ("xq", "wbq"), "a3": ("xq", "wcq"),
             "b1": ("xq", "wsq"), "b2": ("xq2", "wsq")}
    nodes += [helper.make_node("Adder2d", list(ins), [out], name="adder_" + out, domain=DOMAIN,
                               kernel_shape=[1, 1]) for out, ins in reads.items()]
    graph = helper.make_graph(
        nodes, "shared", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 3, 3])],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, [1, 2, 3, 3]) for o in reads],
        [numpy_helper.from_array(v, n) for n, v in consts.items()])
    model = ModelWrapper(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]))
    model = model.transform(InferShapes())
    x = rng.normal(0, 30, (1, 2, 3, 3)).astype(np.float32)
    expected = execute_onnx(model, {"x": x})
    low = lower_to_integer(model)
    context = integer_context(low, x)
    for out in reads:
        got = context[out] * 2.0 ** int_type(low, out).exponent
        assert np.array_equal(got, expected[out]), out
    produced = [o for n in low.graph.node for o in n.output]
    assert len(produced) == len(set(produced))
    inputs = {n.name: list(n.input) for n in low.graph.node if n.op_type == "Adder2d"}
    assert inputs == {"adder_a1": ["xq_aligned1", "waq"], "adder_a2": ["xq_aligned2", "wbq"],
                      "adder_a3": ["xq_aligned1", "wcq"], "adder_b1": ["xq", "wsq_aligned1"],
                      "adder_b2": ["xq2", "wsq_aligned3"]}


@pytest.mark.parametrize("per_tensor", ["a", "b", "ab"])
def test_bn_constants_given_once_for_all_channels(per_tensor):
    """A scale or shift of one value (per tensor) applies to every channel, as the Mul/Add
    broadcast does in QONNX's execution; the map node is named after its Quant."""
    model = adder_then([("Mul", "a"), ("Add", "b")])
    model.set_initializer("a", np.array([[[[0.75, 0.5]]]], np.float32).reshape(1, 2, 1, 1))
    for name, value in (("a", 0.75), ("b", 1.5)):
        if name in per_tensor:
            model.set_initializer(name, np.full((1, 1, 1, 1), value, np.float32))
    model.graph.node[-1].name = "q_out"
    x = np.random.default_rng(5).normal(0, 8, (1, 2, 3, 3)).astype(np.float32)
    low = lowered_like_qonnx(model, x, "y")
    assert [n.name for n in low.graph.node if n.op_type == "BNRequantMap"] == ["q_out_bn"]


def test_int_type_names_a_tensor_that_is_not_integer():
    from addnn.transform.annotations import int_type
    model = one_layer("Adder2d", np.ones((1, 1, 1, 1)), True)
    with pytest.raises(AddnnError, match="^tensor 'x' is not an integer tensor of the lowered "
                                         "graph$"):
        int_type(model, "x")


def test_the_pool_keeps_its_name_and_each_pass_reports_its_change():
    """GlobalAveragePool -> AvgPoolShift under the pool's own name; the input quantizer and
    the pool pass each report (model, True), then (model, False) at their fixed point."""
    from addnn.transform.lower_elementwise import LowerPoolAndFlatten
    from addnn.transform.pipeline import lowering_passes
    from addnn.transform.quant_input import QuantizeGraphInput
    model = _after(one_layer("Adder2d", np.ones((1, 1, 1, 1)), True, size=4),
                   [("GlobalAveragePool", ["acc"], "p", {})])
    model, changed = QuantizeGraphInput().apply(model)
    assert changed and QuantizeGraphInput().apply(model)[1] is False
    for p in lowering_passes()[:4]:
        model = model.transform(p)
    model, changed = LowerPoolAndFlatten().apply(model)
    assert changed and LowerPoolAndFlatten().apply(model)[1] is False
    assert [(n.op_type, n.name) for n in model.graph.node][-1] == ("AvgPoolShift",
                                                                  "GlobalAveragePool_9")


@pytest.mark.parametrize("bits", [8, 3])
def test_narrow_range_weights_stop_one_above_the_minimum(bits):
    """A narrow signed weight quantizer (Brevitas's default for weights) clamps at
    -(2**(b-1) - 1): the integer weights equal QONNX's Quant, and the accumulator
    QONNX's execution."""
    w = np.array([-1000.0, -(2.0 ** (bits - 1)), -3.0, 0.0, 2.0, 1000.0]).reshape(6, 1, 1, 1)
    model = one_layer("Adder2d", w, True, size=2)
    wq = next(n for n in model.graph.node if n.output[0] == "wq")
    next(a for a in wq.attribute if a.name == "narrow").i = 1
    model.set_initializer("b", np.array(float(bits), np.float32))
    model = model.transform(InferShapes())
    x = np.random.default_rng(6).integers(-4, 4, (1, 1, 2, 2)).astype(np.float32)
    full = execute_onnx(model, {"x": x}, return_full_exec_context=True)
    low = lower_to_integer(model)
    ints = low.get_initializer(next(n for n in low.graph.node if n.op_type == "Adder2d").input[1])
    assert ints.min() == -(2 ** (bits - 1) - 1) and np.array_equal(ints, full["wq"])
    assert np.array_equal(run_integer(low, x) * 2.0 ** output_exponent(low), full["acc"])


@given(bits=st.integers(1, 4), signed=st.booleans(), o=st.integers(1, 3),
       n=st.integers(1, 4), data=st.data())
def test_the_bounds_are_the_brute_force_range(bits, signed, o, n, data):
    """adder_bounds and mac_bounds against every term's extremes enumerated over the input
    type (the terms read independent inputs), summed per output channel: the lowest and
    highest channel sums, weights inside and outside the input range."""
    from addnn.numeric import IntType
    from addnn.transform.bounds import adder_bounds, mac_bounds
    x = IntType(bits, signed)
    w = np.array(data.draw(st.lists(st.integers(-20, 20), min_size=o * n, max_size=o * n)),
                 dtype=np.int64).reshape(o, n, 1, 1)
    xs = range(x.lo, x.hi + 1)
    for bounds, term in ((adder_bounds, lambda v, k: -abs(v - k)),
                         (mac_bounds, lambda v, k: v * k)):
        lows = [sum(min(term(v, int(k)) for v in xs) for k in row) for row in w[:, :, 0, 0]]
        highs = [sum(max(term(v, int(k)) for v in xs) for k in row) for row in w[:, :, 0, 0]]
        assert bounds(x, w) == (min(lows), max(highs))


@pytest.mark.parametrize("attr", ["signed", "narrow"])
@pytest.mark.parametrize("which", [0, 1])
def test_a_quant_without_a_required_attribute_is_refused(attr, which):
    """QONNX's Quant requires signed and narrow (its execution refuses a node without them);
    the lowering names the node and the attribute rather than guess."""
    model = one_layer("Adder2d", np.ones((1, 1, 1, 1)), True)
    node = model.graph.node[which]
    node.name = "q_7"
    node.attribute.remove(next(a for a in node.attribute if a.name == attr))
    _refusal(model, f"^Quant node 'q_7' \\(output '[xw]q'\\): required attribute '{attr}' "
                    "is missing$")


def test_the_residual_add_pass_reports_its_change():
    from addnn.transform.lower_elementwise import LowerResidualAdd
    from addnn.transform.quant_input import QuantizeGraphInput
    model = _after(one_layer("Adder2d", np.ones((1, 1, 1, 1)), True),
                   [("Add", ["xq", "xq"], "y", {})]).transform(QuantizeGraphInput())
    model, changed = LowerResidualAdd().apply(model)
    assert changed and LowerResidualAdd().apply(model)[1] is False


def test_a_conv_with_an_omitted_bias_input_lowers_to_two_inputs():
    """ONNX writes an omitted optional input as the empty name: the MacConv2d reads x and w
    only, and computes QONNX's result."""
    model = one_layer("Conv", np.ones((2, 2, 1, 1)), True)
    model.graph.node[-1].input.append("")
    model = model.transform(InferShapes())
    x = np.random.default_rng(3).integers(-9, 9, (1, 2, 1, 1)).astype(np.float32)
    low = lowered_like_qonnx(model, x, "acc")
    mac = next(n for n in low.graph.node if n.op_type == "MacConv2d")
    assert list(mac.input) == ["xq", "wq"]
