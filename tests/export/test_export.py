"""QONNX export: one Adder2d node per adder layer, checks, and agreement with PyTorch."""

import numpy as np
import onnx
import pytest
import torch
from brevitas.nn import QuantIdentity
from brevitas.quant import (
    Int8ActPerTensorFixedPoint,
    Int8WeightPerTensorFixedPoint,
    Uint8ActPerTensorFixedPoint,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from qonnx.core.datatype import DataType
from qonnx.core.onnx_exec import execute_onnx
from torch import nn

from addnn.data import synthetic
from addnn.errors import AddnnError
from addnn.export import count_ops, export_model, load_graph, strict_check, with_batch_size
from addnn.nn import Adder2d
from addnn.nn.quant_adder import QuantAdder2d
from addnn.quant.pipeline import quantize_model


def run(graph, x: torch.Tensor) -> np.ndarray:
    g = with_batch_size(graph, x.shape[0])
    return execute_onnx(g, {g.graph.input[0].name: x.numpy()})[g.graph.output[0].name]


@pytest.fixture(scope="module")
def data():
    return synthetic("cifar10", n=48)


@pytest.mark.parametrize("preset", ["addnn", "thesis", "thesis-dwbn"])
def test_resnet20_exports_20_adder_nodes_and_agrees(preset, data, calibrated_float_resnet20,
                                                    tmp_path):
    q, _ = quantize_model(calibrated_float_resnet20(data), preset, 8, data)
    graph = export_model(q, tmp_path / "m.onnx")
    ops = count_ops(graph)
    assert ops["Adder2d"] == 20 and ops["Quant"] > 20
    assert "BatchNormalization" not in ops if preset == "addnn" else True
    adders = [n for n in graph.graph.node if n.op_type == "Adder2d"]
    kernels = sorted((tuple(a.ints) for n in adders for a in n.attribute
                      if a.name == "kernel_shape"))
    assert kernels.count((1, 1)) == 2 and kernels.count((3, 3)) == 18
    for node in adders:    # inputs: a quantized activation and a quantized weight
        producers = [graph.find_producer(i) for i in node.input]
        assert all(p is not None and p.op_type == "Quant" for p in producers)
        if preset == "addnn":   # activation-oriented: both operands on one unsigned grid
            x_q, w_q = producers
            assert graph.get_initializer(x_q.input[1]) == graph.get_initializer(w_q.input[1])
            assert all(a.i == 0 for p in producers for a in p.attribute if a.name == "signed")
    strict_check(load_graph(tmp_path / "m.onnx"))
    x = data.normalize(data.images[:8])
    q.eval()
    if hasattr(q, "set_integer"):
        q.set_integer(False)
    with torch.no_grad():
        expected = q(x).numpy()
    got = run(graph, x)
    span = expected.max() - expected.min()
    if preset == "addnn":
        # BN is a float32 multiply and add on both sides: the same bits.
        assert np.array_equal(got, expected)
    else:
        # onnxruntime's BatchNormalization evaluates in another order than PyTorch's: float32
        # ulps (measured 8.1e-8 of the span for thesis, 0 for thesis-dwbn), never a flipped
        # quantization step, and the same argmax on every image.
        assert np.abs(got - expected).max() <= 1e-6 * span
        assert (got.argmax(1) == expected.argmax(1)).all()


class OneAdder(nn.Module):
    def __init__(self, cin, cout, k, stride, pad, thesis: bool):
        super().__init__()
        self.inp = QuantIdentity(act_quant=Int8ActPerTensorFixedPoint if thesis
                                 else Uint8ActPerTensorFixedPoint, return_quant_tensor=True)
        if thesis:
            self.adder = QuantAdder2d(cin, cout, k, stride, pad,
                                      weight_quant=Int8WeightPerTensorFixedPoint)
        else:
            self.adder = QuantAdder2d(cin, cout, k, stride, pad, weight_quant="input")

    def forward(self, x):
        return self.adder(self.inp(x))


@settings(max_examples=15)
@given(cin=st.integers(1, 5), cout=st.integers(1, 6), k=st.sampled_from([1, 3]),
       stride=st.sampled_from([1, 2]), pad=st.sampled_from([0, 1]), size=st.integers(3, 9),
       thesis=st.booleans(), seed=st.integers(0, 1000))
def test_small_adders_export_and_match_bit_for_bit(cin, cout, k, stride, pad, size, thesis,
                                                    seed, tmp_path_factory):
    torch.manual_seed(seed)
    model = OneAdder(cin, cout, k, stride, pad, thesis).eval()
    with torch.no_grad():
        model.adder.weight.uniform_(-2, 4)
    path = tmp_path_factory.mktemp("small") / "a.onnx"
    graph = export_model(model, path, shape=(cin, size, size))
    (node,) = [n for n in graph.graph.node if n.op_type == "Adder2d"]
    attrs = {a.name: list(a.ints) if a.ints else a.i for a in node.attribute}
    assert attrs == {"kernel_shape": [k, k], "pads": [pad] * 4, "strides": [stride, stride],
                     "dilations": [1, 1], "group": 1}
    x = torch.randn(3, cin, size, size) * 2
    with torch.no_grad():
        expected = model(x).numpy()
    assert np.array_equal(run(graph, x), expected)       # exact: values on one grid


def test_float_adder_model_exports_without_brevitas(tmp_path):
    torch.manual_seed(0)
    model = nn.Sequential(Adder2d(3, 4, 3, stride=2, padding=1), nn.BatchNorm2d(4),
                          nn.ReLU()).eval()
    graph = export_model(model, tmp_path / "f.onnx", shape=(3, 8, 8))
    assert count_ops(graph)["Adder2d"] == 1
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        expected = model(x).numpy()
    assert np.allclose(run(graph, x), expected, rtol=1e-5, atol=1e-4)
    assert graph.get_tensor_datatype(graph.graph.node[0].output[0]) == DataType["FLOAT32"]


def test_qcdq_of_an_8_bit_model_and_refusal_of_wider(data, calibrated_float_resnet20,
                                                      tmp_path):
    model = OneAdder(3, 4, 3, 1, 1, thesis=True).eval()
    graph = export_model(model, tmp_path / "q.onnx", "qcdq", shape=(3, 6, 6))
    ops = count_ops(graph)
    assert ops["Adder2d"] == 1 and ops["QuantizeLinear"] >= 1 and "Quant" not in ops
    # It runs, and gives the model's outputs bit for bit (all values on 8-bit grids).
    x = torch.randn(4, 3, 6, 6) * 2
    with torch.no_grad():
        expected = model(x).numpy()
    assert np.array_equal(run(graph, x), expected)
    q, _ = quantize_model(calibrated_float_resnet20(data), "addnn", 8, data)
    out = tmp_path / "wide.onnx"
    with pytest.raises(AddnnError, match="use --format qonnx"):
        export_model(q, out, "qcdq")
    assert not out.exists() and list(tmp_path.iterdir()) == [tmp_path / "q.onnx"]


def test_export_leaves_the_model_usable_after_a_failure(tmp_path):
    """The exporter runs on a copy: a failed export does not poison the instance."""
    model = OneAdder(3, 4, 1, 1, 0, thesis=False).eval()
    x = torch.randn(2, 3, 5, 5)
    with torch.no_grad():
        before = model(x)
    with pytest.raises(AddnnError, match="format"):
        export_model(model, tmp_path / "x.onnx", "onnx")
    with pytest.raises(Exception):
        export_model(model, tmp_path / "x.onnx", shape=(7, 5, 5))     # wrong channels
    with torch.no_grad():
        assert torch.equal(model(x), before)
    export_model(model, tmp_path / "ok.onnx", shape=(3, 5, 5))
    assert not (tmp_path / "x.onnx").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["ok.onnx"]


def test_bad_graphs_are_refused_with_the_node_named(tmp_path):
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x00\x01 definitely not protobuf" * 10)
    with pytest.raises(AddnnError, match="not an ONNX model"):
        load_graph(junk)
    with pytest.raises(AddnnError, match="no such file"):
        load_graph(tmp_path / "missing.onnx")
    from onnx import TensorProto, helper

    def one(node):
        g = helper.make_graph([node], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])])
        path = tmp_path / f"{node.op_type}.onnx"
        onnx.save(helper.make_model(g), str(path))
        return path

    cases = [(helper.make_node("Adder3d", ["x"], ["y"], domain="addnn.custom_op", name="a3"),
              "a3.*Adder3d"),
             (helper.make_node("Frobnicate", ["x"], ["y"], name="fz"), "fz.*Frobnicate"),
             (helper.make_node("Mystery", ["x"], ["y"], domain="com.example", name="my"),
              "my.*domain 'com.example'"),
             (helper.make_node("Adder2d", ["x"], ["y"], domain="addnn.custom_op", name="ad",
                               kernel_shape=[3, 3], group=2), "ad.*group must be 1")]
    for node, message in cases:
        with pytest.raises(AddnnError, match=message):
            load_graph(one(node))
