"""Bad input to `addnn hls` and `addnn csim`: one line naming the node, exit 2, no partial
project; a g++ failure shows the compiler's first error lines."""

import json

import pytest
from netgen import NetBuilder, random_resnet
from onnx import helper
from qonnx.core.datatype import DataType

from addnn.cli import main
from addnn.errors import AddnnError
from addnn.hls import generate_project
from addnn.hls.csim import build_flags, compile_project
from addnn.numeric import IntType


def leftovers(path):
    return [p.name for p in path.iterdir() if p.name.startswith(".")]


def refused(tmp_path, model, match, **kw):
    with pytest.raises(AddnnError, match=match):
        generate_project(model, tmp_path / "prj", **kw)
    assert not (tmp_path / "prj").exists() and not leftovers(tmp_path)


def small():
    b = NetBuilder(2, 4, bits=8, signed=False, exponent=-3, seed=1)
    acc = b.conv(b.input, 4, 3, 1, 1)
    return b, b.bn(acc, IntType(8, False, -4), relu=True)


def test_unsupported_op_names_the_node(tmp_path):
    b, y = small()
    model = b.model(y)
    model.graph.node.append(helper.make_node("MaxPool", [y], ["mp"], name="pool_9",
                                             kernel_shape=[2, 2]))
    refused(tmp_path, model, r"node 'pool_9' \(MaxPool\): no HLS kernel")


def test_graph_that_is_not_an_integer_graph(tmp_path):
    """A float graph that the lowering cannot make integer: the node is named."""
    import torch

    from addnn.export import export_model
    from addnn.nn import Adder2d

    graph = export_model(torch.nn.Sequential(Adder2d(3, 4, 3, padding=1)), tmp_path / "f.onnx",
                         shape=(3, 6, 6))
    refused(tmp_path, graph, r"cannot lower node .*\(Adder2d\)")


def test_missing_datatype_names_node_and_tensor(tmp_path):
    b, y = small()
    model = b.model(y)
    acc = model.graph.node[1].output[0]
    model.set_tensor_datatype(acc, DataType["FLOAT32"])
    refused(tmp_path, model, f"tensor '{acc}' has no integer DataType")


@pytest.mark.parametrize("fold,match", [
    ({"PE": 3}, "PE 3 does not divide its 4 output channels"),
    ({"SIMD": 5}, "SIMD 5 does not divide its reduction of 18 terms"),
    ({"SIMD": 9}, "SIMD 9 neither divides nor is a multiple of its 2 input channels"),
])
def test_illegal_folding_names_the_layer(tmp_path, fold, match):
    b, y = small()
    model = b.model(y)
    layer = model.graph.node[1].name
    path = tmp_path / "f.json"
    path.write_text(json.dumps({layer: fold}))
    refused(tmp_path, model, f"folding of layer '{layer}': {match}", folding_path=path)


def test_folding_file_errors(tmp_path):
    b, y = small()
    model = b.model(y)
    path = tmp_path / "f.json"
    path.write_text(json.dumps({"nonexistent": {"PE": 1}}))
    refused(tmp_path, model, "no Adder2d or MacConv2d layer named 'nonexistent'",
            folding_path=path)
    path.write_text("{not json")
    refused(tmp_path, model, "is not a JSON folding file", folding_path=path)


def test_existing_foreign_directory_is_not_replaced(tmp_path):
    (tmp_path / "prj").mkdir()
    (tmp_path / "prj" / "mine.txt").write_text("keep")
    b, y = small()
    with pytest.raises(AddnnError, match="is not an addnn HLS project"):
        generate_project(b.model(y), tmp_path / "prj")
    assert (tmp_path / "prj" / "mine.txt").read_text() == "keep"


@pytest.mark.gxx
def test_compiler_failure_shows_its_first_error_lines(tmp_path, gxx):
    b, y = small()
    generate_project(b.model(y), tmp_path / "prj")
    top = tmp_path / "prj" / "src" / "addnn_top.cpp"
    top.write_text(top.read_text() + "\nint broken = undeclared_name;\n")
    with pytest.raises(AddnnError, match=r"(?s)g\+\+ failed.*undeclared_name"):
        compile_project(tmp_path / "prj")


def test_cli_prints_one_line_and_exits_2(tmp_path, capsys):
    b, y = small()
    model = b.model(y)
    model.graph.node.append(helper.make_node("MaxPool", [y], ["mp"], name="pool_9",
                                             kernel_shape=[2, 2]))
    model.save(str(tmp_path / "bad.onnx"))
    assert main(["hls", str(tmp_path / "bad.onnx"), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pool_9" in err[0] and err[0].startswith("addnn: error:")
    assert not (tmp_path / "out").exists()
    (tmp_path / "junk.onnx").write_text("not onnx")
    assert main(["hls", str(tmp_path / "junk.onnx"), "-o", str(tmp_path / "out")]) == 2
    assert main(["csim", str(tmp_path)]) == 2
    assert "not an addnn HLS project" in capsys.readouterr().err


@pytest.mark.gxx
def test_cli_generates_and_simulates(tmp_path, capsys, gxx):
    model = random_resnet(4, (2, 4), 4, 8, 1)
    model.save(str(tmp_path / "net.onnx"))
    assert main(["hls", str(tmp_path / "net.onnx"), "-o", str(tmp_path / "prj"),
                 "--tb-images", "3"]) == 0
    assert main(["csim", str(tmp_path / "prj"), "--json", str(tmp_path / "r.json")]) == 0
    out = capsys.readouterr().out
    assert "identical outputs 100.00%" in out
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["images"] == 3 and report["identical"] == 1.0 and report["build"] == "fast"
    # The debug build (-O0): the same bits, from a binary of its own.
    assert main(["csim", str(tmp_path / "prj"), "--debug-build", "--json",
                 str(tmp_path / "d.json")]) == 0
    debug = json.loads((tmp_path / "d.json").read_text())
    assert debug["build"] == "fast debug" and debug["identical"] == 1.0
    assert "fast debug build" in capsys.readouterr().out
    optimised, _ = compile_project(tmp_path / "prj")
    unoptimised, seconds = compile_project(tmp_path / "prj", optimize=False)
    assert seconds == 0.0 and optimised != unoptimised          # both cached, apart
    assert "-O0" in build_flags(False, False, optimize=False)
    assert "-O2" in build_flags(False, False) and "-O0" not in build_flags(False, False)
