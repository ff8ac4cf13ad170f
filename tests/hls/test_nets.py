"""Whole networks through `addnn hls` and g++ C simulation: random small addnn ResNets under
random legal foldings, a quantized ResNet-32 from the real export flow, and the shipped
default on the shipped samples. The reference is always the integer graph."""

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import debug_csim, random_images
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from netgen import random_resnet

from addnn.hls.csim import csim
from addnn.hls.folding import legal_simd
from addnn.hls.progression import stage_progression
from addnn.hls.stages import build_stages

pytestmark = pytest.mark.gxx
ROOT = Path(__file__).parents[2]


def random_folding(model, rng, maps: bool = True) -> dict:
    """A legal PE and SIMD drawn at random for every layer, and (``maps``) about half the BN
    maps taken out of their layers with a random PE, half of those (progression maps) with a
    serial search."""
    fold = {}
    for s in build_stages(model).conv_stages():
        o = s.weights.shape[0]
        divisors = [p for p in range(1, o + 1) if o % p == 0]
        fold[s.name] = {"PE": int(rng.choice(divisors)), "SIMD": int(rng.choice(legal_simd(s)))}
        if maps and len(s.nodes) > 1 and rng.random() < 0.5:
            fold[s.nodes[1]] = {"PE": int(rng.choice(divisors))}
            if rng.random() < 0.5 and stage_progression(s) is not None:
                fold[s.nodes[1]]["search"] = "serial"
    return fold


# 20 nets: one g++ build each (~5 s); the cycle, bounded-FIFO, progression and packed tests
# compile random nets of their own on top.
@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), c0=st.sampled_from([2, 3, 4]),
       c1=st.sampled_from([4, 6]), size=st.sampled_from([4, 8]),
       bits=st.sampled_from([4, 6, 8]), blocks=st.integers(1, 2))
def test_random_nets_under_random_foldings_equal_the_integer_graph(
        seed, c0, c1, size, bits, blocks, build, tmp_path_factory):
    model = random_resnet(seed, (c0, c1), size, bits, blocks)
    path = tmp_path_factory.mktemp("fold") / "folding.json"
    path.write_text(json.dumps(random_folding(model, np.random.default_rng(seed))))
    prj = build(model, images=random_images(model, 3, seed), folding_path=path)
    report = debug_csim(prj)
    assert report["identical"] == 1.0, (report["mismatches"], report.get("first_difference"))
    ops = {n.op_type for n in model.graph.node}
    assert {"Adder2d", "MacConv2d", "Add", "AvgPoolShift", "BNRequantMap"} <= ops


def test_every_folding_gives_the_same_bits(build, tmp_path):
    """Three random foldings of one net, each equal to the integer graph bit for bit (so to
    each other; expected.bin comes from the graph, whatever the folding)."""
    model = random_resnet(7, (4, 4), 4, 8, 1)
    images = random_images(model, 2)
    for k in range(3):
        path = tmp_path / f"f{k}.json"
        path.write_text(json.dumps(random_folding(model, np.random.default_rng(k))))
        prj = build(model, images=images, folding_path=path)
        assert debug_csim(prj)["identical"] == 1.0


@pytest.mark.slow
def test_quantized_resnet32_with_random_weights(build, tmp_path, calibrated_float_resnet20):
    """Nothing is tied to ResNet-20: ResNet-32 through quantize, export, lower and hls."""
    from addnn.data import synthetic
    from addnn.export import export_model
    from addnn.quant.pipeline import quantize_model

    data = synthetic("cifar10", n=32)
    model = calibrated_float_resnet20(data, "resnet32", seed=3)
    q, _ = quantize_model(model, "addnn", 8, data)
    graph = export_model(q, tmp_path / "r32.onnx")
    assert sum(n.op_type == "Adder2d" for n in graph.graph.node) == 32
    prj = build(graph, images=data.normalize(data.images[:4]).numpy())
    report = debug_csim(prj)
    assert report["images"] == 4 and report["identical"] == 1.0


SAMPLES = ROOT / "assets" / "samples" / "cifar10_val_exact_256.npz"


def test_shipped_default_on_the_shipped_samples_fast_build(shipped_project):
    report = csim(shipped_project, data=str(SAMPLES))
    assert report["images"] == 256 and report["identical"] == 1.0
    assert report["accuracy"] > 0.95


@pytest.mark.slow
def test_shipped_default_on_the_shipped_samples_exact_types(shipped_project):
    # The ap_int build runs ~6 images/s: 64 of the 256 (the fast build above takes all).
    report = csim(shipped_project, data=str(SAMPLES), images=64, exact=True)
    assert report["images"] == 64 and report["identical"] == 1.0


def test_a_mismatch_names_the_first_stream_that_differs(build):
    """A wrong weight (w -> 255 - w, uint8) in the generated parameters: csim fails and
    points at that layer's output stream."""
    import re

    model = random_resnet(5, (2, 4), 4, 8, 1)
    prj = build(model, images=random_images(model, 3))
    params = prj / "src" / "addnn_params.h"
    text = params.read_text()
    layer = build_stages(model).conv_stages()[2]
    name = next(n for n in re.findall(r"static const \w+ (w_l\d+_\w+)\[", text)
                if n.endswith(layer.name))
    start = text.index("{", text.index(name))
    first = re.match(r"[{\s]*(\d+)", text[start:])
    value = int(first.group(1))
    text = text[:start + first.start(1)] + str(255 - value) + text[start + first.end(1):]
    params.write_text(text)
    report = debug_csim(prj)
    assert report["identical"] < 1.0 and report["mismatches"]
    diff = report["first_difference"]
    assert diff["tensor"] == layer.outputs[0] and diff["got"] != diff["expected"]
