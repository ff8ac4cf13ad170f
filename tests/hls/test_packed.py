"""DSP-packed SAD (`--sad quad12|octo8`): the black-box RTL against plain subtraction, the
generated project's black-box files, and C simulation identical to `--sad lut`."""

import json
import shutil

import numpy as np
import pytest
from conftest import debug_csim, random_images
from netgen import NetBuilder, random_resnet

from addnn.errors import AddnnError
from addnn.hls import generate_project
from addnn.numeric import IntType


def lanes9(hexword: str, n: int) -> np.ndarray:
    v = int(hexword, 16)
    d = np.array([(v >> (9 * k)) & 0x1FF for k in range(n)])
    return np.where(d >= 256, d - 512, d)


def test_blackbox_rtl_differences_equal_subtraction(tmp_path):
    if shutil.which("iverilog") is None:
        pytest.skip("iverilog not installed")
    from addnn.rtl import sim

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (3000, 8), dtype=np.uint64)
    w = rng.integers(0, 256, (3000, 8), dtype=np.uint64)
    edges = np.array([0, 1, 2, 3, 4, 7, 8, 31, 32, 127, 128, 254, 255], dtype=np.uint64)
    ex, ew = np.meshgrid(edges, edges)
    x[:ex.size] = ex.reshape(-1, 1)           # every edge pair in every lane
    w[:ex.size] = ew.reshape(-1, 1)
    pack = (x << (8 * np.arange(8, dtype=np.uint64))).sum(1)
    packw = (w << (8 * np.arange(8, dtype=np.uint64))).sum(1)
    (tmp_path / "v.txt").write_text("".join(f"{a:016x} {b:016x}\n" for a, b in zip(pack, packw)))
    sim.run_checked([sim.tool("vvp"), "-n", str(sim.iverilog_blackbox_tb()),
                     f"+vectors={tmp_path / 'v.txt'}", f"+out={tmp_path / 'o.txt'}"], "vvp")
    rows = [line.split() for line in (tmp_path / "o.txt").read_text().split("\n") if line]
    assert len(rows) == len(x)
    want = x.astype(np.int64) - w.astype(np.int64)
    quad = np.array([lanes9(q, 4) for q, _ in rows])
    octo = np.array([lanes9(o, 8) for _, o in rows])
    assert np.array_equal(quad, want[:, :4]) and np.array_equal(octo, want)


@pytest.mark.gxx
@pytest.mark.parametrize("bits", [8, 4])
def test_packed_variants_equal_lut(build, bits):
    model = random_resnet(3, (8, 8), 8, bits, 1)
    images = random_images(model, 3)
    outs = {}
    for sad in ("lut", "quad12", "octo8"):
        prj = build(model, images=images, sad=sad)
        assert debug_csim(prj)["identical"] == 1.0
        outs[sad] = prj
    for sad in ("quad12", "octo8"):
        assert debug_csim(outs[sad], exact=True)["identical"] == 1.0
        cfg = (outs[sad] / "src" / "addnn_config.h").read_text()
        assert f"addnn::op_sad_{sad}" in cfg and "addnn::op_sad;" not in cfg


def test_project_carries_the_blackbox(tmp_path):
    model = random_resnet(3, (8, 8), 8, 8, 1)
    generate_project(model, tmp_path / "p", sad="octo8")
    bb = json.loads((tmp_path / "p" / "src" / "rtl" / "sad_bb_octo8.json").read_text())
    assert bb["c_function_name"] == bb["rtl_top_module_name"] == "sad_bb_octo8"
    assert bb["rtl_performance"] == {"latency": "1", "II": "1"}
    for f in bb["rtl_files"] + [c["c_file"] for c in bb["c_files"]]:
        assert (tmp_path / "p" / f).is_file()
    assert "dsp48e2" not in " ".join(bb["rtl_files"]).lower()    # Vivado's primitive, not ours
    assert "add_files -blackbox src/rtl/sad_bb_octo8.json" in \
        (tmp_path / "p" / "run_hls.tcl").read_text()
    assert "syn.blackbox.file=src/rtl/sad_bb_octo8.json" in \
        (tmp_path / "p" / "hls_config.cfg").read_text()


def test_packed_needs_byte_operands_and_lane_multiples(tmp_path):
    b = NetBuilder(8, 4, bits=9, signed=False, exponent=-3, seed=1)
    model = b.model(b.bn(b.conv(b.input, 4, 1), IntType(8, False, -4), relu=True))
    with pytest.raises(AddnnError, match="subtracts bytes"):
        generate_project(model, tmp_path / "p", sad="quad12")
    b = NetBuilder(2, 4, bits=8, signed=False, exponent=-3, seed=1)
    model = b.model(b.bn(b.conv(b.input, 4, 1), IntType(8, False, -4), relu=True))
    with pytest.raises(AddnnError, match="no legal folding"):
        generate_project(model, tmp_path / "p", sad="octo8")
    assert not (tmp_path / "p").exists()
