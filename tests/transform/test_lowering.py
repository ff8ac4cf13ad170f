"""Lowering the exported QONNX graph to the integer graph: exactness against PyTorch, every
pass on small random nets, checked execution, and refusals."""

from unittest import mock

import numpy as np
import pytest
import torch
from brevitas.nn import QuantConv2d
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from qonnx.core.onnx_exec import execute_onnx
from qonnx.custom_op.registry import getCustomOp
from torch import nn

from addnn.errors import AddnnError
from addnn.export import export_model, with_batch_size
from addnn.nn import Adder2d
from addnn.nn.quant_adder import QuantAdder2d
from addnn.quant.calibrate import calibrate
from addnn.quant.layers import AvgPoolToGrid, BNAct, scale_of, value_of
from addnn.quant.presets import get_preset
from addnn.quant.resnet import AddnnBlock, _act, _adder_acc, _mac_acc
from addnn.transform import lower_to_integer, output_exponent, run_integer
from addnn.transform.annotations import exponent


class TinyAddnn(nn.Module):
    """Every layer kind of the ``addnn`` preset: MAC stem, a free-standing adder of any
    kernel and padding, a residual block (stride, 1x1 downsample), pooling and the fc."""

    def __init__(self, c0, c1, k, pad, stride, bits, stem_k, adder_weight="input"):
        super().__init__()
        p = get_preset("addnn", bits)
        self.input_quant = _act(p.act_signed, 8)
        self.stem = QuantConv2d(3, c0, stem_k, padding=stem_k // 2, bias=False,
                                weight_quant=p.conv_weight, return_quant_tensor=True)
        self.bn0 = BNAct(nn.BatchNorm2d(c0), _act(p.act_unsigned, bits), True,
                         _mac_acc(3 * stem_k ** 2, 8, 8))
        self.adder = QuantAdder2d(c0, c0, k, 1, pad, weight_quant=adder_weight)
        self.bn1 = BNAct(nn.BatchNorm2d(c0), _act(p.act_unsigned, bits), True,
                         _adder_acc(c0 * k * k, bits))
        self.block = AddnnBlock(p, c0, c1, stride)
        self.pool = AvgPoolToGrid()
        self.fc = QuantConv2d(c1, 4, 1, bias=False, weight_quant=p.conv_weight,
                              return_quant_tensor=True)
        self.bn2 = BNAct(nn.BatchNorm2d(4), _act(p.act_signed, p.logit_bits), False,
                         _mac_acc(c1, p.stream_bits + 1, 8))

    def forward(self, x):
        x = self.input_quant(x)
        acc = self.stem(x)
        x = self.bn0(acc, scale_of(acc))
        x = self.bn1(self.adder(x), scale_of(x))
        acc = self.fc(self.pool(self.block(x)))
        return value_of(self.bn2(acc, scale_of(acc))).flatten(1)

    def set_integer(self, on: bool):
        for m in self.modules():
            if isinstance(m, BNAct):
                m.integer = on


def calibrated(model: nn.Module, x: torch.Tensor) -> nn.Module:
    """BN statistics from the data (cumulative), then calibrated activation ranges."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.momentum = None
    with torch.no_grad():
        model.train()(x)
    calibrate(model.eval(), x)
    return model


def torch_logits(model, x, integer: bool) -> np.ndarray:
    model.set_integer(integer)
    with torch.no_grad():
        return model.eval()(x).numpy()


@settings(max_examples=10)
@given(c0=st.integers(2, 6), c1=st.integers(2, 8), k=st.sampled_from([1, 3]),
       pad=st.sampled_from([0, 1]), stride=st.sampled_from([1, 2]),
       bits=st.sampled_from([4, 6, 8]), stem_k=st.sampled_from([1, 3]),
       size=st.sampled_from([4, 5, 6, 8, 9]), seed=st.integers(0, 1000))
def test_every_pass_on_small_nets_is_exact(c0, c1, k, pad, stride, bits, stem_k, size, seed,
                                           tmp_path_factory):
    after_adder = size - (k - 1) + 2 * pad
    assume(after_adder >= 1)
    side = -(-after_adder // stride)
    assume(side & (side - 1) == 0)                # the pool needs a power-of-two area
    torch.manual_seed(seed)
    model = TinyAddnn(c0, c1, k, pad, stride, bits, stem_k)
    x = torch.randn(12, 3, size, size)
    calibrated(model, x)
    graph = export_model(model, tmp_path_factory.mktemp("tiny") / "t.onnx",
                         shape=(3, size, size))
    g = with_batch_size(graph, len(x))
    qonnx_out = execute_onnx(g, {g.graph.input[0].name: x.numpy()})[g.graph.output[0].name]
    float_ref = torch_logits(model, x, integer=False)
    assert np.array_equal(qonnx_out, float_ref)

    integer = lower_to_integer(g)
    scale = 2.0 ** output_exponent(integer)
    q = run_integer(integer, x.numpy())
    assert q.dtype == np.int64
    assert np.array_equal(q * scale, torch_logits(model, x, integer=True))
    # The slow path (qonnx's executor) gives the same integers as the batch path.
    assert np.array_equal(run_integer(integer, x.numpy(), fast=False), q)
    # float32-BN mode (the reference design's arithmetic) equals the model with its BN maps
    # evaluated the same way in torch float32.
    fbn = run_integer(lower_to_integer(g, "float32"), x.numpy())
    assert fbn.dtype == np.int64
    with mock.patch("addnn.quant.layers.bn_requant_torch", bn_requant_float32_torch):
        assert np.array_equal(fbn * scale, torch_logits(model, x, integer=True))


def test_adder_weight_on_a_finer_grid_aligns_the_input_exactly(tmp_path):
    """An adder whose weight has a fixed-point grid of its own (Brevitas Int8 weights, as the
    thesis preset's), finer than the input's: the input is shifted onto the weight's grid by a
    ``Requantize`` node, and the integer logits equal QONNX's execution of the exported graph.
    (TinyAddnn's torch integer mode is no reference here: it hands bn1 the input's scale, the
    ``addnn`` preset's, where this accumulator is on the weight's finer grid.)"""
    from brevitas.quant import Int8WeightPerTensorFixedPoint

    torch.manual_seed(3)
    model = TinyAddnn(3, 4, 3, 1, 1, 8, 3, adder_weight=Int8WeightPerTensorFixedPoint)
    with torch.no_grad():
        model.adder.weight.mul_(1 / 64)
    x = torch.randn(6, 3, 8, 8)
    calibrated(model, x)
    g = with_batch_size(export_model(model, tmp_path / "t.onnx", shape=(3, 8, 8)), len(x))
    integer = lower_to_integer(g)
    align = [n for n in integer.graph.node if n.name.endswith("_align")]
    assert [n.op_type for n in align] == ["Requantize"]
    q = run_integer(integer, x.numpy())
    qonnx_out = execute_onnx(g, {g.graph.input[0].name: x.numpy()})[g.graph.output[0].name]
    assert np.array_equal(q * 2.0 ** output_exponent(integer), qonnx_out)
    assert np.array_equal(run_integer(integer, x.numpy(), fast=False), q)


def bn_requant_float32_torch(acc, exponent, bn, out, relu):
    """The reference design's BN in torch float32: v = acc 2^e, then v a + b (two float32
    roundings), ReLU, round half-even onto the output grid, clamp."""
    a, b = (torch.from_numpy(t).view(1, -1, *(1,) * (acc.dim() - 2))
            for t in bn.affine().float32())
    v = acc.float() * 2.0 ** exponent
    y = v * a + b
    if relu:
        y = torch.relu(y)
    return torch.round(y / 2.0 ** out.exponent).clamp(out.lo, out.hi).long()


@given(seed=st.integers(0, 10_000), relu=st.booleans(), e_in=st.integers(-8, 0),
       e_out=st.integers(-6, 0))
def test_float_bn_op_is_float32_multiply_then_add(seed, relu, e_in, e_out):
    """FloatBNRequant against torch float32 arithmetic, operation for operation."""
    from onnx import TensorProto, helper, numpy_helper
    from qonnx.core.modelwrapper import ModelWrapper

    from addnn.custom_op import DOMAIN

    rng = np.random.default_rng(seed)
    acc = rng.integers(-4000, 1, size=(2, 3, 4, 4))
    a = rng.normal(0, 0.05, 3).astype(np.float32)
    b = rng.normal(0, 3, 3).astype(np.float32)
    node = helper.make_node("FloatBNRequant", ["acc", "a", "b"], ["y"], domain=DOMAIN, bits=8,
                            signed=1, out_exponent=e_out, in_exponent=e_in, relu=int(relu))
    graph = helper.make_graph(
        [node], "bn", [helper.make_tensor_value_info("acc", TensorProto.INT64, acc.shape)],
        [helper.make_tensor_value_info("y", TensorProto.INT64, acc.shape)],
        [numpy_helper.from_array(a, "a"), numpy_helper.from_array(b, "b")])
    got = execute_onnx(ModelWrapper(helper.make_model(graph)), {"acc": acc})["y"]
    v = torch.from_numpy(acc).float() * 2.0 ** e_in
    y = v * torch.from_numpy(a).view(1, 3, 1, 1) + torch.from_numpy(b).view(1, 3, 1, 1)
    y = torch.relu(y) if relu else y
    expected = torch.round(y / 2.0 ** e_out).clamp(-128, 127).long().numpy()
    assert np.array_equal(got, expected)


def test_lowered_graph_has_only_integer_ops_and_annotations(tmp_path):
    torch.manual_seed(1)
    model = TinyAddnn(4, 8, 3, 1, 2, 8, 3)
    calibrated(model, torch.randn(16, 3, 8, 8))
    graph = lower_to_integer(export_model(model, tmp_path / "t.onnx", shape=(3, 8, 8)))
    ops = {n.op_type for n in graph.graph.node}
    assert ops <= {"QuantizeInput", "MacConv2d", "Adder2d", "BNRequantMap", "Requantize", "Add",
                   "AvgPoolShift", "Flatten"}
    for node in graph.graph.node:
        for t in list(node.output) + [i for i in node.input if graph.get_initializer(i) is not None
                                      and node.op_type in ("Adder2d", "MacConv2d")]:
            assert exponent(graph, t) is not None and graph.get_tensor_datatype(t).is_integer()
    adder = next(n for n in graph.graph.node if n.op_type == "Adder2d")
    w = graph.get_initializer(adder.input[1])
    assert w.dtype == np.int64 and graph.get_tensor_datatype(adder.input[1]).name == "UINT8"
    # Activation-oriented adders: input and weight at one exponent, no alignment shift.
    assert exponent(graph, adder.input[0]) == exponent(graph, adder.input[1])
    # Each BN map's constants are named after the node and their role (read in Netron).
    roles = {"table": ["table"], "thresholds": ["thresholds", "start", "direction"]}
    maps = [n for n in graph.graph.node if n.op_type == "BNRequantMap"]
    for node in maps:
        kind = getCustomOp(node).get_nodeattr("kind")
        assert list(node.input[1:]) == [f"{node.name}_{r}" for r in roles[kind]]
    assert maps     # (the table kind: tests/transform/test_accumulators.py)


def test_unlowerable_graph_names_the_node(tmp_path):
    model = nn.Sequential(Adder2d(3, 4, 3, padding=1), nn.BatchNorm2d(4)).eval()
    graph = export_model(model, tmp_path / "f.onnx", shape=(3, 6, 6))
    with pytest.raises(AddnnError, match=r"cannot lower node .*\(Adder2d\)"):
        lower_to_integer(graph)


def test_non_power_of_two_scale_is_refused_naming_the_tensor(tmp_path):
    torch.manual_seed(2)
    model = TinyAddnn(3, 3, 3, 1, 1, 8, 3)
    calibrated(model, torch.randn(8, 3, 4, 4))
    graph = export_model(model, tmp_path / "t.onnx", shape=(3, 4, 4))
    quant = [n for n in graph.graph.node if n.op_type == "Quant"][5]
    graph.set_initializer(quant.input[1], np.array(0.3, dtype=np.float32))
    with pytest.raises(AddnnError, match=f"{quant.output[0]}.*not a power of two"):
        lower_to_integer(graph)


def test_unknown_bn_mode_is_refused(tmp_path):
    with pytest.raises(AddnnError, match="BN mode"):
        lower_to_integer(export_model(nn.Sequential(Adder2d(1, 1, 1)), tmp_path / "a.onnx",
                                      shape=(1, 2, 2)), "float16")
