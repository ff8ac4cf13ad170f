"""``addnn estimate`` end to end on a small net: its files, the folding `addnn hls` then uses,
the project-directory form, and one-line errors."""

import json

import pytest
from netgen import random_resnet

from addnn.cli import main
from addnn.estimate.boards import load_board
from addnn.estimate.estimate import estimate
from addnn.hls.folding import folding_maps, read_folding
from addnn.hls.stages import build_stages, separate_maps


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    d = tmp_path_factory.mktemp("est")
    model = random_resnet(7, (4, 8), 8, 8, 1)
    model.save(str(d / "net.onnx"))
    return d, model


def test_estimate_writes_folding_json_and_charts(small, capsys):
    d, model = small
    assert main(["estimate", str(d / "net.onnx"), "-o", str(d / "fold.json")]) == 0
    out = capsys.readouterr().out
    assert "frames/s" in out and "% of kv260" in out and "NN2FPGA" in out
    assert "Modelled, not measured" in out
    rec = json.loads((d / "fold.estimate.json").read_text())
    graph = build_stages(model)
    graph = separate_maps(graph, folding_maps(d / "fold.json", graph))
    folding = read_folding(d / "fold.json", graph)            # legal FINN-format folding
    assert json.loads((d / "fold.json").read_text()) == rec["folding"]
    assert set(folding) == {s.name for s in graph.folded_stages()}
    assert [s["name"] for s in rec["stages"] if s["kind"] == "MapStage"] == \
        [s.name for s in graph.map_stages()]
    assert len(rec["stages"]) == len(graph.stages)
    assert rec["fps"] == pytest.approx(250e6 / rec["period_cycles"])
    assert all(rec["fraction_of_board"][r] <= 0.8 + 1e-9 for r in rec["fraction_of_board"])
    assert {r["design"].split(" ")[0] for r in rec["comparison"]} == {"reference", "NN2FPGA",
                                                                      "addnn"}
    for png in ("fold.cycles.png", "fold.resources.png"):
        assert (d / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_chosen_folding_is_the_fastest_within_budget(small):
    d, model = small
    graph = build_stages(model)
    board = load_board("kv260")
    best = estimate(graph, board)
    tight = estimate(graph, board, util=0.15)
    assert tight.period >= best.period
    assert all(tight.totals[r] <= 0.15 * board.resources[r] + 1e-6
               for r in ("lut", "ff", "dsp", "bram36", "uram"))
    # a frame-rate target is met at no more resources than the fastest design uses
    target = estimate(graph, board, fps_target=0.5 * best.fps)
    assert target.fps >= 0.5 * best.fps - 1e-6
    assert target.totals["lut"] <= best.totals["lut"] + 1e-6


def test_hls_generates_what_was_estimated_and_a_project_can_be_estimated(small, capsys):
    d, model = small
    assert main(["estimate", str(d / "net.onnx"), "-o", str(d / "f2.json")]) == 0
    assert main(["hls", str(d / "net.onnx"), "-o", str(d / "prj"), "--folding",
                 str(d / "f2.json"), "--tb-images", "1"]) == 0
    prj = json.loads((d / "prj" / "project.json").read_text())
    est = json.loads((d / "f2.estimate.json").read_text())
    assert prj["fifo_depths"] == "sim"
    assert {s["tensor"]: s["depth"] for s in prj["streams"]} == \
        {t: v["depth"] for t, v in est["streams"].items()}
    capsys.readouterr()
    assert main(["estimate", str(d / "prj"), "-o", str(d / "again.json")]) == 0
    again = json.loads((d / "again.estimate.json").read_text())
    assert again["folding"] == est["folding"] and again["solver"] == "folding given"
    assert again["period_cycles"] == est["period_cycles"]


@pytest.mark.parametrize("argv, message", [
    (["--util", "0"], "--util 0.0 outside"),
    (["--util", "0.0001"], "nothing fits"),
    (["--fps-target", "-5"], "--fps-target must be positive"),
    (["--fps-target", "1e12"], "frames/s needs"),
])
def test_bad_input_is_one_line(small, capsys, argv, message):
    d, _ = small
    assert main(["estimate", str(d / "net.onnx"), "-o", str(d / "x.json"), *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and "Traceback" not in err
    assert not (d / "x.json").exists()


def test_not_an_onnx_file_or_missing_model(tmp_path, capsys):
    bad = tmp_path / "bad.onnx"
    bad.write_text("not onnx")
    assert main(["estimate", str(bad), "-o", str(tmp_path / "f.json")]) == 2
    assert main(["estimate", str(tmp_path / "none.onnx"), "-o", str(tmp_path / "f.json")]) == 2
    assert main(["estimate", str(tmp_path), "-o", str(tmp_path / "f.json")]) == 2
    errs = capsys.readouterr().err.strip().splitlines()
    assert len(errs) == 3 and all(e.startswith("addnn: error:") for e in errs)


@pytest.mark.parametrize("kind", ["table", "float32"])
def test_every_map_kind_is_costed(kind):
    """Table and float32 maps (the reference design's realbn) fused and separate."""
    from netgen import NetBuilder

    from addnn.numeric import IntType

    if kind == "table":
        b = NetBuilder(2, 4, bits=2, signed=False, exponent=-2, seed=3)
        acc = b.conv(b.input, 3, 1, 1, 0)
        model = b.model(b.bn(acc, IntType(4, True, -1), relu=False, kind="table"))
    else:
        b = NetBuilder(4, 5, bits=8, signed=False, exponent=-4, seed=1)
        acc = b.conv(b.input, 6, 3, 1, 1)
        model = b.model(b.bn(acc, IntType(8, False, -4), relu=True, float32=True))
    graph = build_stages(model)
    est = estimate(graph, load_board("kv260"))
    maps = {r.map for r in est.rows if r.kind in ("ConvStage", "MapStage")}
    assert maps - {"none"} == {kind}          # "none": a layer whose map runs apart
    layer = next(r for r in est.rows if r.map == kind)
    cost = layer.parts["map"]
    if kind == "float32":
        assert cost["dsp"] == 5 * layer.pe           # fmul + fadd a map unit
    else:
        assert cost["lut"] > 0 and cost["dsp"] == 0
