"""The integer-graph ops' node interface and their edge cases: required and optional
attributes (ONNX's Conv conventions for the geometry), integer carriers, global pooling on a
non-square map, and the Adder2d op outside the fast kernel's geometry."""

import numpy as np
import pytest
from onnx import TensorProto, helper
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp
from qonnx.transformation.infer_shapes import InferShapes

from addnn.custom_op import DOMAIN
from addnn.custom_op.adder2d import adder2d_fast, adder2d_np

OUT = dict(bits=8, signed=1, out_exponent=-3)
# op -> (its required attributes with legal values, its optional ones with their defaults),
# written out from the ops' docstrings and ONNX Conv, not read from the ops.
INTERFACE = {
    "QuantizeInput": (OUT, {}),
    "Requantize": ({**OUT, "in_exponent": -5}, {"relu": 0}),
    "AvgPoolShift": ({}, {}),
    "MacConv2d": ({"kernel_shape": [3, 3]},
                  {"pads": [0, 0, 0, 0], "strides": [1, 1], "dilations": [1, 1], "group": 1}),
    "Adder2d": ({"kernel_shape": [3, 3]},
                {"pads": [0, 0, 0, 0], "strides": [1, 1], "dilations": [1, 1], "group": 1}),
    "BNRequantMap": ({**OUT, "kind": "table", "in_bits": 6, "in_signed": 0,
                      "in_exponent": -4}, {}),
    "FloatBNRequant": ({**OUT, "in_exponent": -5}, {"relu": 0}),
}
REQUIRED = [(op, name) for op, (req, _) in INTERFACE.items() for name in req]


@pytest.mark.parametrize("op, missing", REQUIRED)
def test_a_missing_required_attribute_is_refused(op, missing):
    """A node without a required attribute never runs on a silent default."""
    required, _ = INTERFACE[op]
    attrs = {k: v for k, v in required.items() if k != missing}
    inst = getCustomOp(helper.make_node(op, ["x"], ["y"], domain=DOMAIN, **attrs))
    with pytest.raises(Exception, match=f"Required attribute {missing} unspecified"):
        inst.get_nodeattr(missing)
    full = getCustomOp(helper.make_node(op, ["x"], ["y"], domain=DOMAIN, **required))
    assert full.get_nodeattr(missing) == required[missing]


@pytest.mark.parametrize("op", list(INTERFACE))
def test_optional_attributes_take_their_documented_defaults(op):
    required, optional = INTERFACE[op]
    inst = getCustomOp(helper.make_node(op, ["x"], ["y"], domain=DOMAIN, **required))
    assert {k: inst.get_nodeattr(k) for k in optional} == optional
    assert set(inst.get_nodeattr_types()) == set(required) | set(optional)


def _run(op, inputs: dict, **attrs) -> np.ndarray:
    node = helper.make_node(op, list(inputs), ["y"], domain=DOMAIN, name=f"{op}_7", **attrs)
    context = dict(inputs)
    getCustomOp(node).execute_node(context, None)
    return context["y"]


def test_integers_carried_as_floats_are_taken_and_fractions_refused():
    """A float tensor holding integers is read as those integers (int64 out); one value off
    the integers is refused with the node's name."""
    q = np.array([[-9.0, -1.0, 0.0, 3.0, 2.0 ** 40]]).reshape(1, 5, 1, 1)
    out = _run("Requantize", {"x": q}, bits=48, signed=1, out_exponent=-5, in_exponent=-5)
    assert out.dtype == np.int64 and out.ravel().tolist() == [-9, -1, 0, 3, 2 ** 40]
    for bad in (0.5, -3.25, 1e-9):
        with pytest.raises(ValueError, match="^Requantize_7: expected integers$"):
            _run("Requantize", {"x": np.array([1.0, bad]).reshape(1, 2, 1, 1)},
                 bits=8, signed=1, out_exponent=-5, in_exponent=-5)


@pytest.mark.parametrize("h, w", [(2, 8), (8, 2), (1, 4), (4, 4), (1, 1)])
def test_global_pool_on_any_power_of_two_area(h, w):
    """The sum over H x W shifted right by log2(H * W), rounded half to even, on maps that
    need not be square; shape inference gives [N, C, 1, 1]."""
    rng = np.random.default_rng(h * 16 + w)
    q = rng.integers(-300, 300, (3, 2, h, w))
    out = _run("AvgPoolShift", {"x": q})
    from fractions import Fraction
    expected = [[round(Fraction(int(q[n, c].sum()), h * w)) for c in range(2)]
                for n in range(3)]                         # Python's round: half to even
    assert out.shape == (3, 2, 1, 1) and out[:, :, 0, 0].tolist() == expected

    node = helper.make_node("AvgPoolShift", ["x"], ["y"], domain=DOMAIN)
    graph = helper.make_graph(
        [node], "pool", [helper.make_tensor_value_info("x", TensorProto.INT64, [3, 2, h, w])],
        [helper.make_tensor_value_info("y", TensorProto.INT64, None)])
    model = ModelWrapper(helper.make_model(graph)).transform(InferShapes())
    assert model.get_tensor_shape("y") == [3, 2, 1, 1]


def test_global_pool_refuses_an_area_that_is_not_a_power_of_two():
    with pytest.raises(ValueError, match="^AvgPoolShift_7: pooling area 12 is not a power"):
        _run("AvgPoolShift", {"x": np.zeros((1, 1, 3, 4), np.int64)})


def test_mixed_operands_are_computed_in_float():
    """Only two integer operands make the integer graph's int64 result; an integer input
    against a float weight (or the reverse) gives float32, as two float operands do."""
    rng = np.random.default_rng(3)
    xi = rng.integers(-8, 8, (1, 2, 5, 5))
    wf = rng.integers(-8, 8, (3, 2, 3, 3)).astype(np.float32)
    for x, w in ((xi, wf), (xi.astype(np.float32), wf.astype(np.int64))):
        out = adder2d_fast(x, w, (1, 1), (1, 1, 1, 1))
        assert out.dtype == np.float32
        assert np.array_equal(out, adder2d_np(x, w, (1, 1), (1, 1, 1, 1)).astype(np.float32))
    both = adder2d_fast(xi, wf.astype(np.int64), (1, 1), (1, 1, 1, 1))
    assert both.dtype == np.int64


@pytest.mark.parametrize("kh, kw", [(1, 3), (3, 1), (2, 3)])
@pytest.mark.parametrize("integer", [False, True])
def test_non_square_kernels_execute_as_the_reference(kh, kw, integer):
    """A kernel that is not square is outside the fast kernel (square windows only): the
    op gives the reference's result, bit for bit."""
    rng = np.random.default_rng(kh * 10 + kw)
    dtype = np.int64 if integer else np.float32
    x = rng.integers(-8, 8, (2, 3, 6, 7)).astype(dtype)
    w = rng.integers(-8, 8, (4, 3, kh, kw)).astype(dtype)
    out = _run("Adder2d", {"x": x, "w": w}, kernel_shape=[kh, kw], pads=[1, 1, 1, 1])
    expected = adder2d_np(x, w, (1, 1), (1, 1, 1, 1))
    assert out.shape == expected.shape and np.array_equal(out, expected.astype(out.dtype))
    assert out.dtype == dtype


def test_mac_conv2d_refuses_sums_that_float64_might_not_hold():
    """Partial sums are computed in float64: a bound of max|x| * max row sum |w| at 2**52 or
    beyond is refused with the node's name; just below it runs exactly."""
    w = np.full((1, 1, 1, 1), 2 ** 26, dtype=np.int64)
    for x_max, ok in ((2 ** 26, False), (2 ** 26 - 1, True), (2 ** 40, False)):
        x = np.full((1, 1, 2, 2), x_max, dtype=np.int64)
        if ok:
            out = _run("MacConv2d", {"x": x, "w": w}, kernel_shape=[1, 1])
            assert out.dtype == np.int64 and (out == x_max * 2 ** 26).all()
        else:
            with pytest.raises(ValueError, match="^MacConv2d_7: accumulator beyond 2\\*\\*52$"):
                _run("MacConv2d", {"x": x, "w": w}, kernel_shape=[1, 1])


@pytest.mark.parametrize("zero", ["x", "w"])
def test_a_zero_operand_never_trips_the_float64_guard(zero):
    """The bound is a product: with one operand all 0 it is 0 however large the other (every
    partial sum is 0), so the node runs and gives 0."""
    big = np.full((1, 2, 2, 2), 2 ** 55, dtype=np.int64)      # 8 terms: sums of 2**58
    ops = {"x": big.copy(), "w": big.copy()}
    ops[zero] = np.zeros_like(big)
    out = _run("MacConv2d", ops, kernel_shape=[2, 2])
    assert out.dtype == np.int64 and out.shape == (1, 1, 1, 1) and out.item() == 0


@pytest.mark.parametrize("dtype", [np.int64, np.float32])
def test_an_adder_without_filters_gives_an_empty_map(dtype):
    """O = 0 (as F.conv2d allows): an empty [N, 0, H', W'] of the operands' result type, the
    reference's; the fast kernels cannot take such a weight, so the reference runs."""
    x = np.ones((2, 3, 4, 4), dtype)
    out = _run("Adder2d", {"x": x, "w": np.zeros((0, 3, 3, 3), dtype)}, kernel_shape=[3, 3],
               pads=[1, 1, 1, 1])
    assert out.shape == (2, 0, 4, 4) and out.dtype == dtype


def test_float64_exactness_of_zeros_and_of_non_finite_values():
    """All-zero operands are exact (every difference is 0); an inf or a NaN is not."""
    from addnn.custom_op.adder2d import _exact_in_float64
    zero = np.zeros((1, 1, 2, 2), np.float32)
    assert _exact_in_float64(zero, np.zeros((1, 1, 1, 1), np.float32), 1)
    for bad in (np.inf, -np.inf, np.nan):
        assert not _exact_in_float64(np.array([bad], np.float32), np.zeros(1, np.float32), 1)
        assert not _exact_in_float64(np.array([bad, 1.0], np.float32),
                                     np.zeros(1, np.float32), 1)


def test_float_bn_rounds_its_constants_to_float32():
    """The reference design's BN is float32 throughout: float64 constants are rounded to
    float32 first, then v * a + b in two float32 roundings (against a float32 emulation)."""
    rng = np.random.default_rng(4)
    acc = rng.integers(-3000, 3000, (2, 3, 4, 4))
    a = rng.normal(0, 1, 3) / 3          # float64, most not representable in float32
    b = rng.normal(0, 1, 3) / 7
    out = _run("FloatBNRequant", {"acc": acc, "a": a, "b": b}, bits=32, signed=1,
               out_exponent=-20, in_exponent=-9)
    v = acc.astype(np.float32) * np.float32(2.0 ** -9)
    y = v * a.astype(np.float32).reshape(1, 3, 1, 1) + b.astype(np.float32).reshape(1, 3, 1, 1)
    expected = np.rint(y * np.float32(2.0 ** 20)).astype(np.int64)       # no clamp reached
    assert np.array_equal(out, expected)
    exact = np.rint((acc * 2.0 ** -9 * a.reshape(1, 3, 1, 1) + b.reshape(1, 3, 1, 1)) * 2 ** 20)
    assert not np.array_equal(out, exact)        # float32 is visible at 2**-20


@pytest.mark.parametrize("op, extra, attrs", [
    ("BNRequantMap", {"t": np.array([[0, 1, 2, 3]])},
     dict(OUT, kind="table", in_bits=2, in_signed=0, in_exponent=0)),
    ("FloatBNRequant", {"a": np.ones(1), "b": np.zeros(1)}, dict(OUT, in_exponent=0)),
    ("AvgPoolShift", {}, {}),
])
def test_a_fractional_accumulator_is_refused_naming_the_node(op, extra, attrs):
    with pytest.raises(ValueError, match=f"^{op}_7: expected integers$"):
        _run(op, {"acc": np.full((1, 1, 2, 2), 1.5), **extra}, **attrs)


@pytest.mark.parametrize("which", [0, 1])
def test_a_fractional_mac_operand_is_refused_naming_the_node(which):
    """Activation or weight: either one off the integers is named, not truncated."""
    x, w = np.ones((1, 1, 3, 3)), np.ones((1, 1, 3, 3))
    (x, w)[which][0, 0, 1, 1] = 0.5
    with pytest.raises(ValueError, match="^MacConv2d_7: expected integers$"):
        _run("MacConv2d", {"x": x, "w": w}, kernel_shape=[3, 3])
    out = _run("MacConv2d", {"x": np.rint(x), "w": np.rint(w)}, kernel_shape=[3, 3])
    assert out.dtype == np.int64 and out.ravel().tolist() == [8]     # rint(0.5) is 0


def test_integer_carriers_keep_values_beyond_float64():
    """An int64 tensor is taken as it is, never through float64 (2**60 + 1 would round)."""
    big = np.array([2 ** 60 + 1, -(2 ** 60) - 1], dtype=np.int64).reshape(1, 2, 1, 1)
    out = _run("Requantize", {"x": big}, bits=62, signed=1, out_exponent=0, in_exponent=0)
    assert out.ravel().tolist() == [2 ** 60 + 1, -(2 ** 60) - 1]


def test_mac_conv2d_names_itself_on_fractional_operands():
    with pytest.raises(ValueError, match="^MacConv2d_7: expected integers$"):
        _run("MacConv2d", {"x": np.full((1, 1, 2, 2), 0.5), "w": np.ones((1, 1, 1, 1))},
             kernel_shape=[1, 1])


def test_float_bn_refuses_accumulators_float32_cannot_hold():
    """|acc| < 2**24 is exact in float32; 2**24 and beyond is refused; an empty accumulator
    passes."""
    attrs = dict(OUT, in_exponent=0)
    one = {"a": np.ones(1, np.float32), "b": np.zeros(1, np.float32)}
    ok = _run("FloatBNRequant", {"acc": np.full((1, 1, 1, 1), 2 ** 24 - 1), **one}, **attrs)
    assert ok.item() == 127
    with pytest.raises(ValueError, match="^FloatBNRequant_7: accumulator not exact in float32$"):
        _run("FloatBNRequant", {"acc": np.full((1, 1, 1, 1), -(2 ** 24)), **one}, **attrs)
    empty = _run("FloatBNRequant", {"acc": np.zeros((0, 1, 2, 2), np.int64), **one}, **attrs)
    assert empty.shape == (0, 1, 2, 2)
