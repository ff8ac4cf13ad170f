"""The loop-iteration model (addnn.estimate.cycles) against the counting build of the
generated kernels, on random nets under random foldings and on ResNet-20."""

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import debug_loop_iterations
from netgen import random_resnet
from test_nets import random_folding

from addnn.estimate import stage_iterations
from addnn.hls.folding import folding_maps, read_folding
from addnn.hls.stages import build_stages, separate_maps

pytestmark = pytest.mark.gxx


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_model_equals_the_counting_build_on_random_nets(build, tmp_path, seed):
    model = random_resnet(seed, (4, 8), 8, 8 - 2 * seed, 1)
    path = tmp_path / "f.json"
    path.write_text(json.dumps(random_folding(model, np.random.default_rng(seed))))
    prj = build(model, folding_path=path, tb_frames=1)
    graph = separate_maps(build_stages(model), folding_maps(path, build_stages(model)))
    assert debug_loop_iterations(prj) == stage_iterations(graph, read_folding(path, graph))


def test_model_equals_the_counting_build_on_resnet20(build, tmp_path):
    from addnn.checkpoint import load_model
    from addnn.export import export_model
    from addnn.hls.folding import default_folding
    from addnn.hls.project import integer_graph

    root = Path(__file__).parents[2]
    model, _ = load_model(root / "assets" / "models" / "resnet20_adder_addnn_w8.pt")
    graph = integer_graph(export_model(model, tmp_path / "m.onnx"))
    prj = build(graph, tb_frames=1)
    stages = build_stages(graph)
    counted = debug_loop_iterations(prj)
    assert counted == stage_iterations(stages, default_folding(stages))
    assert len(counted) == len(stages.stages) and counted["Adder2d_0"] > 24 * 1024
