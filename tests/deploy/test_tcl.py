"""build_bd.tcl without Vivado: its names checked against the IPs' ports (tclcheck), each
check shown to catch its error, and the script run in real tclsh with Vivado's commands
stubbed (vivado_stub.tcl), which tests the parse independently and the script's own logic."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from addnn.deploy.package import render_package
from addnn.deploy.tclcheck import check_block_design, parse
from addnn.errors import AddnnError

HERE = Path(__file__).parent
IPDEFS = ("xilinx.com:ip:zynq_ultra_ps_e:3.5 xilinx.com:ip:axi_dma:7.0 xilinx.com:ip:axi_dma:7.1 "
          "xilinx.com:ip:proc_sys_reset:5.0 xilinx.com:ip:smartconnect:1.0 "
          "xilinx.com:ip:xlconcat:2.1 xilinx.com:hls:addnn_top:1.0")
BOARD_PARTS = "xilinx.com:kv260_som:part0:1.4 xilinx.com:kv260_carrier:part0:1.3"


@pytest.fixture(scope="module")
def meta(shipped_project):
    return json.loads((shipped_project / "project.json").read_text())


@pytest.fixture(scope="module")
def script(meta):
    return render_package(meta, "kv260", "cifar10")["build_bd.tcl"]


def test_the_generated_block_design_names_only_existing_ports(script, meta):
    r = check_block_design(script, meta)
    assert r["errors"] == []
    assert {"addnn_0/s_axis", "addnn_0/m_axis", "axi_dma_0/M_AXIS_MM2S",
            "axi_dma_0/S_AXIS_S2MM"} <= set(r["interfaces"])
    assert {"addnn_0/ap_clk", "addnn_0/ap_rst_n"} <= set(r["pins"])
    assert len(r["cells"]) == 7


# (what the edit does, old text, new text, the error it must give)
MUTATIONS = [
    ("a misspelled DMA interface", "axi_dma_0/M_AXIS_MM2S]", "axi_dma_0/M_AXIS_MM2SX]",
     "axi_dma_0 has no interface M_AXIS_MM2SX"),
    ("the HLS port as Vitis would rename `in`", "addnn_0/s_axis]", "addnn_0/in_r]",
     "addnn_0 has no interface in_r"),
    ("a pin asked for as an interface", "get_bd_intf_pins axi_dma_0/S_AXI_LITE",
     "get_bd_intf_pins axi_dma_0/s_axi_lite_aclk", "no interface s_axi_lite_aclk"),
    ("the accelerator's reset left open", "    [get_bd_pins addnn_0/ap_rst_n] \\\n", "",
     "addnn_0/ap_rst_n is not connected"),
    ("a second PS master enabled but unclocked", "CONFIG.PSU__USE__M_AXI_GP1 {0}",
     "CONFIG.PSU__USE__M_AXI_GP1 {1}", "maxihpm1_fpd_aclk is enabled"),
    ("HP0 disabled but used", "CONFIG.PSU__USE__S_AXI_GP2 {1}", "CONFIG.PSU__USE__S_AXI_GP2 {0}",
     "S_AXI_HP0_FPD is used but CONFIG.PSU__USE__S_AXI_GP2 is 0"),
    ("a stream width the accelerator lacks", "CONFIG.c_m_axis_mm2s_tdata_width 64",
     "CONFIG.c_m_axis_mm2s_tdata_width 32", "c_m_axis_mm2s_tdata_width 32"),
    ("a length register too short for a frame", "CONFIG.c_sg_length_width 26",
     "CONFIG.c_sg_length_width 10", "10-bit length register"),
    ("a parameter the IP does not have", "CONFIG.c_include_sg {0}", "CONFIG.c_use_sg {0}",
     "no parameter CONFIG.c_use_sg"),
    ("master joined to master",
     "[get_bd_intf_pins addnn_0/m_axis] [get_bd_intf_pins axi_dma_0/S_AXIS_S2MM]",
     "[get_bd_intf_pins addnn_0/m_axis] [get_bd_intf_pins axi_dma_0/M_AXI_S2MM]",
     "needs one master and one slave"),
    ("a third SmartConnect slave port on a two-port instance", "axi_mem/S01_AXI]",
     "axi_mem/S02_AXI]", "axi_mem has no interface S02_AXI"),
    ("a cell that was never created", "[get_bd_pins irq_concat/dout]", "[get_bd_pins irq_cat/dout]",
     "no cell irq_cat"),
]


@pytest.mark.parametrize("what,old,new,error", MUTATIONS, ids=[m[0] for m in MUTATIONS])
def test_each_check_catches_its_error(script, meta, what, old, new, error):
    assert script.count(old) >= 1, what
    errors = check_block_design(script.replace(old, new, 1), meta)["errors"]
    assert any(error in e for e in errors), errors


@pytest.mark.parametrize("text", ["set a {b", "puts [list a", 'puts "a'])
def test_unbalanced_tcl_is_refused(text):
    with pytest.raises(AddnnError, match="Tcl:"):
        parse(text)


def test_the_parser_reads_words_as_tcl_does():
    cmds = parse('# c\nset x {a [b] c} ;# a comment, as in Tcl\nputs "q [f {1 2}] r" \\\n  z\n')
    assert [[w.text for w in c] for c in cmds] == [
        ["set", "x", "a [b] c"], ["puts", "q [...] r", "z"]]
    assert [w.text for w in cmds[1][1].commands[0]] == ["f", "1 2"]


def _tclsh():
    tclsh = shutil.which("tclsh")
    if tclsh is None:
        pytest.skip("tclsh not installed (Debian package tcl)")
    return tclsh


def _run(tmp_path, script, env, args=()):
    pkg = tmp_path / "pkg"
    (pkg / "pynq").mkdir(parents=True, exist_ok=True)
    (pkg / "build_bd.tcl").write_text(script)
    res = subprocess.run([_tclsh(), str(HERE / "vivado_stub.tcl"), str(pkg / "build_bd.tcl"),
                          *args], capture_output=True, text=True, env=env)
    calls = [parse(line)[0] for line in res.stdout.splitlines() if line.startswith("CALL ")]
    return res, [[w.text for w in c[1:]] for c in calls], pkg


def _env(**kw):
    import os

    return {**os.environ, "STUB_BOARD_PARTS": BOARD_PARTS, "STUB_IPDEFS": IPDEFS, **kw}


def test_the_script_runs_in_tclsh_and_wires_what_the_check_read(tmp_path, script, meta):
    ip = tmp_path / "ip"
    ip.mkdir()
    res, calls, pkg = _run(tmp_path, script, _env(), [str(ip)])
    assert res.returncode == 0, res.stdout + res.stderr
    # The same interface connections as tclcheck found, seen by real Tcl.
    intf = {tuple(c[1:]) for c in calls if c[0] == "connect_bd_intf_net"}
    assert ("axi_dma_0/M_AXIS_MM2S", "addnn_0/s_axis") in intf
    assert ("addnn_0/m_axis", "axi_dma_0/S_AXIS_S2MM") in intf
    assert len(intf) == 7
    seen = {p for c in calls if c[0].startswith("connect_bd") for p in c[1:]}
    r = check_block_design(script, meta)
    assert seen == set(r["interfaces"]) | set(r["pins"])
    cells = {c[-1]: c[c.index("-vlnv") + 1] for c in calls if c[0] == "create_bd_cell"}
    assert cells["axi_dma_0"] == "xilinx.com:ip:axi_dma:7.1"          # the newest version
    assert cells["addnn_0"] == "xilinx.com:hls:addnn_top:1.0"
    props = [c for c in calls if c[0] == "set_property"]
    assert ["board_part", "xilinx.com:kv260_som:part0:1.4"] == props[0][1:3]
    assert props[1][1:3] == ["board_connections",
                             "som240_1_connector xilinx.com:kv260_carrier:som240_1_connector:1.3"]
    assert ["ip_repo_paths", str(ip)] == props[2][1:3]
    # The bitstream and the handoff under one base name, where PYNQ looks for them.
    assert (pkg / "pynq" / "addnn.bit").is_file() and (pkg / "pynq" / "addnn.hwh").is_file()


def test_a_missing_board_part_stops_with_how_to_install_it(tmp_path, script):
    ip = tmp_path / "ip"
    ip.mkdir()
    res, calls, _ = _run(tmp_path, script, _env(STUB_BOARD_PARTS=""), [str(ip)])
    assert res.returncode == 1
    assert "no board part matches *:kv260_som:*" in res.stdout and "Vivado Store" in res.stdout
    assert not any(c[0] == "create_bd_design" for c in calls)


def test_a_missing_ip_or_hls_export_stops_with_a_message(tmp_path, script):
    res, _, _ = _run(tmp_path, script, _env(STUB_IPDEFS=IPDEFS.replace("axi_dma", "axi_dmx")),
                     [str(tmp_path)])
    assert res.returncode == 1 and "no IP matches xilinx.com:ip:axi_dma:*" in res.stdout
    res, _, _ = _run(tmp_path, script, _env())          # no IP_REPO, no export under hls/
    assert res.returncode == 1 and "no exported HLS IP found" in res.stdout


def test_a_board_without_a_deployment_description_is_refused(meta):
    with pytest.raises(AddnnError, match="no deployment description"):
        render_package(meta, "zcu104", "cifar10")
