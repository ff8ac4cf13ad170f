"""The bounded-FIFO run (deadlocks) and the reference design's float32 BN kernels."""

import numpy as np
import pytest
from conftest import debug_csim, random_images
from netgen import NetBuilder, random_resnet

from addnn.errors import AddnnError
from addnn.hls.csim import CsimFailure
from addnn.hls.depths import stream_depths
from addnn.hls.stages import AddStage, build_stages
from addnn.numeric import IntType

pytestmark = pytest.mark.gxx


def skip_streams(model) -> list[str]:
    """The operand of each residual add that comes straight from a fork's branch (the skip)."""
    graph = build_stages(model)
    depths = stream_depths(graph)
    return [max(s.inputs, key=depths.get) for s in graph.stages if isinstance(s, AddStage)], \
        depths


def test_generated_depths_pass_the_bounded_run(build):
    model = random_resnet(11, (4, 8), 8, 8, 2)
    prj = build(model, images=random_images(model, 3))
    report = debug_csim(prj, bounded=True)
    assert report["identical"] == 1.0 and "bounded" in report["build"]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_simulated_depths_under_random_foldings_pass_the_bounded_run(build, tmp_path, seed):
    """The dataflow simulation's depths (the default of `addnn hls`) never fall below the
    untimed deadlock-free ones, and the threaded bounded run passes with them."""
    import json

    from test_nets import random_folding

    from addnn.estimate.dataflow import fifo_depths
    from addnn.hls.folding import folding_maps, read_folding
    from addnn.hls.stages import separate_maps

    model = random_resnet(20 + seed, (4, 8), 8, 8, 2)
    path = tmp_path / "fold.json"
    path.write_text(json.dumps(random_folding(model, np.random.default_rng(seed))))
    prj = build(model, folding_path=path, images=random_images(model, 2))
    graph = build_stages(model)
    graph = separate_maps(graph, folding_maps(path, graph))
    want = fifo_depths(graph, read_folding(path, graph), floor=stream_depths(graph)).depths
    meta = json.loads((prj / "project.json").read_text())
    assert {s["tensor"]: s["depth"] for s in meta["streams"]} == want
    assert all(want[t] >= d for t, d in stream_depths(graph).items())
    assert debug_csim(prj, bounded=True)["identical"] == 1.0


def test_too_shallow_skip_fifo_is_reported_as_a_deadlock(build):
    model = random_resnet(11, (4, 8), 8, 8, 1)
    skips, depths = skip_streams(model)
    assert depths[skips[0]] > 4          # an 8x8 3x3 pair needs about two rows of lead
    prj = build(model, images=random_images(model, 2),
                depth_overrides={skips[0]: depths[skips[0]] // 3})
    with pytest.raises(CsimFailure, match="deadlock") as err:
        debug_csim(prj, bounded=True)
    message = str(err.value)
    var = "s_" + skips[0]
    assert f"full stream '{var}'" in message and "read from empty" in message
    # The sequential build (Vitis csim's model: unbounded streams) does not see it.
    assert debug_csim(prj)["identical"] == 1.0


def test_depth_overrides_are_checked(build):
    model = random_resnet(1, (2, 4), 4, 8, 1)
    with pytest.raises(AddnnError, match="no stream 'nope'"):
        build(model, depth_overrides={"nope": 3})


@pytest.mark.parametrize("relu,k", [(True, 3), (False, 1)])
def test_float32_bn_kernel_equals_the_graphs_float_bn(build, relu, k):
    b = NetBuilder(4, 5, bits=8, signed=False, exponent=-4, seed=k)
    acc = b.conv(b.input, 6, k, 1, k // 2)
    out = IntType(8, False, -4) if relu else IntType(8, True, -3)
    model = b.model(b.bn(acc, out, relu=relu, float32=True))
    images = random_images(model, 6)
    prj = build(model, images=images, bn="float32")
    expected = np.fromfile(prj / "tb" / "expected.bin", dtype="<i4")
    assert len(np.unique(expected)) > 5
    for exact in (False, True):
        assert debug_csim(prj, exact=exact)["identical"] == 1.0


def test_float32_bn_of_an_exported_graph(build, tmp_path, calibrated_float_resnet20):
    """--bn float32 lowers an exported QONNX graph with FloatBNRequant and csims it."""
    from addnn.data import synthetic
    from addnn.export import export_model, load_graph
    from addnn.quant.pipeline import quantize_model

    data = synthetic("cifar10", n=16)
    q, _ = quantize_model(calibrated_float_resnet20(data, seed=2), "addnn", 8, data)
    graph = export_model(q, tmp_path / "m.onnx")
    prj = build(graph, bn="float32", images=data.normalize(data.images[:3]).numpy())
    ops = {n.op_type for n in load_graph(prj / "graph" / "model_int.onnx").graph.node}
    assert "FloatBNRequant" in ops and "BNRequantMap" not in ops
    assert debug_csim(prj)["identical"] == 1.0


def test_integer_graph_with_the_other_bn_is_refused(tmp_path):
    from addnn.hls import generate_project

    model = random_resnet(1, (2, 4), 4, 8, 1)
    with pytest.raises(AddnnError, match="BN is integer, not float32"):
        generate_project(model, tmp_path / "p", bn="float32")
    assert not (tmp_path / "p").exists()
