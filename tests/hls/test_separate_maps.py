"""BN maps in processes of their own (parallel and serial searches): bit-exact C simulation
in every build, loop counts equal to the model, and refusals of foldings they cannot take."""

import json

import pytest
from conftest import debug_csim, debug_loop_iterations, random_images
from netgen import random_resnet

from addnn.errors import AddnnError
from addnn.estimate import stage_iterations
from addnn.estimate.dataflow import simulate, simulate_unbounded
from addnn.hls.folding import folding_maps, read_folding
from addnn.hls.stages import MapStage, build_stages, fused_map_names, separate_maps

pytestmark = pytest.mark.gxx


def every_map(model, serial: bool) -> dict:
    graph = build_stages(model)
    out = {}
    for name, layer in fused_map_names(graph).items():
        o = graph.stage(layer).weights.shape[0]
        pe = max(p for p in (1, 2, 4) if o % p == 0)
        out[name] = {"PE": pe, **({"search": "serial"} if serial else {})}
    return out


@pytest.mark.parametrize("serial", [False, True])
def test_separate_maps_equal_the_integer_graph_and_the_loop_model(build, tmp_path, serial):
    model = random_resnet(31, (4, 8), 8, 8, 2)
    path = tmp_path / "fold.json"
    path.write_text(json.dumps(every_map(model, serial)))
    prj = build(model, folding_path=path, images=random_images(model, 3))
    for kw in ({}, {"bounded": True}, {"exact": True}):
        assert debug_csim(prj, **kw)["identical"] == 1.0, kw
    graph = build_stages(model)
    graph = separate_maps(graph, folding_maps(path, graph))
    folding = read_folding(path, graph)
    assert sum(isinstance(s, MapStage) for s in graph.stages) == len(every_map(model, serial))
    assert all(folding[s.name].serial == serial for s in graph.map_stages())
    assert debug_loop_iterations(prj) == stage_iterations(graph, folding)
    a, b = simulate(graph, folding, None, frames=2), simulate_unbounded(graph, folding, 2)
    assert a.frame_done == b.frame_done and a.max_occupancy == b.max_occupancy
    meta = json.loads((prj / "project.json").read_text())
    assert read_folding(prj / "folding.json", graph) == folding       # the project's own file
    top = (prj / "src" / "addnn_top.cpp").read_text()
    assert ("map_serial_layer<" in top) == serial and ("map_layer<" in top) == (not serial)
    assert {s["name"] for s in meta["stages"] if s["kind"] == "MapStage"} == \
        {s.name for s in graph.map_stages()}


def test_foldings_a_map_cannot_take_are_refused(build, tmp_path):
    from addnn.hls import generate_project

    model = random_resnet(31, (4, 8), 8, 8, 1)
    graph = build_stages(model)
    layer = graph.conv_stages()[1].name
    path = tmp_path / "f.json"
    path.write_text(json.dumps({layer: {"PE": 1, "search": "serial"}}))
    with pytest.raises(AddnnError, match="is for a separate map"):
        generate_project(model, tmp_path / "a", folding_path=path)
    name = next(iter(fused_map_names(graph)))
    path.write_text(json.dumps({name: {"PE": 1, "search": "serial"}}))
    with pytest.raises(AddnnError, match="needs thresholds that form a progression"):
        generate_project(model, tmp_path / "b", folding_path=path, thresholds="stored")
    path.write_text(json.dumps({name: {"PE": 1, "search": "sideways"}}))
    with pytest.raises(AddnnError, match="search"):
        generate_project(model, tmp_path / "c", folding_path=path)
    path.write_text(json.dumps({name: {"PE": 1, "SIMD": 2}}))
    with pytest.raises(AddnnError, match="PE only"):
        generate_project(model, tmp_path / "d", folding_path=path)
    assert not any((tmp_path / d).exists() for d in "abcd")
