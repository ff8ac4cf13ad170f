"""DSP-packed SAD units (``--sad quad12|octo8``) as Vitis RTL black boxes.

The kernel (``kernels/addnn_packed.h``) calls ``sad_bb_quad12`` / ``sad_bb_octo8``: the byte
differences of 4 or 8 lanes, formed by one DSP48E2 (plus the Octo8 LUT subtractors), with |d|
and the accumulation left to the kernel. For Vitis each function is an RTL black box: a JSON
description (UG1399 "JSON File for RTL Blackbox", the layout of Xilinx's rtl_as_blackbox
example, with no block-level handshake: a pipelined unit of latency 1 and II 1) naming the
RTL of ``addnn.rtl`` (Verilog-2005 code, copied as ``.v``) and the C model used by C
simulation (``rtl/sad_bb.cpp`` over ``rtl/cmodel/sad_units.h``, the model the RTL is simulated
against). The DSP48E2 primitive itself comes from Vivado's library, never from the project.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

RTL_SV = Path(__file__).parents[1] / "rtl" / "sv"
CMODEL = Path(__file__).parents[1] / "rtl" / "cmodel" / "sad_units.h"
C_MODEL = Path(__file__).parent / "rtl" / "sad_bb.cpp"

UNITS = {
    "quad12": {"module": "sad_bb_quad12", "rtl": ["sad_bb_quad12", "sad_dsp_sub4"],
               "dsp": 1, "lut": 0},
    "octo8": {"module": "sad_bb_octo8",
              "rtl": ["sad_bb_octo8", "sad_octo8_diff", "sad_dsp_sub4", "sad_lowsub"],
              "dsp": 1, "lut": 15},
}


def blackbox_files(sad: str) -> list[str]:
    """The black-box JSON files of a project (paths relative to it); none for ``lut``."""
    return [f"src/rtl/{UNITS[sad]['module']}.json"] if sad in UNITS else []


def blackbox_json(sad: str) -> dict:
    u = UNITS[sad]
    return {
        "c_function_name": u["module"],
        "rtl_top_module_name": u["module"],
        "c_files": [{"c_file": "src/rtl/sad_bb.cpp", "cflag": ""}],
        "rtl_files": [f"src/rtl/{name}.v" for name in u["rtl"]],
        "c_parameters": [
            {"c_name": "x", "c_port_direction": "in", "rtl_ports": {"data_read_in": "x"}},
            {"c_name": "w", "c_port_direction": "in", "rtl_ports": {"data_read_in": "w"}},
        ],
        "c_return": {"c_port_direction": "out", "rtl_ports": {"data_write_out": "d"}},
        "rtl_common_signal": {
            "module_clock": "ap_clk", "module_reset": "ap_rst", "module_clock_enable": "ap_ce",
            "ap_ctrl_chain_protocol_idle": "", "ap_ctrl_chain_protocol_start": "",
            "ap_ctrl_chain_protocol_ready": "", "ap_ctrl_chain_protocol_done": "",
            "ap_ctrl_chain_protocol_continue": "",
        },
        "rtl_performance": {"latency": "1", "II": "1"},
        "rtl_resource_usage": {"FF": "0", "LUT": str(u["lut"]), "BRAM": "0", "URAM": "0",
                               "DSP": str(u["dsp"])},
    }


def copy_blackboxes(sad: str, project: Path) -> None:
    """The RTL, the C model and the JSON of the variant into ``project/src/rtl``."""
    if sad not in UNITS:
        return
    rtl = project / "src" / "rtl"
    rtl.mkdir(parents=True, exist_ok=True)
    for name in UNITS[sad]["rtl"]:
        shutil.copy2(RTL_SV / f"{name}.sv", rtl / f"{name}.v")
    shutil.copy2(C_MODEL, rtl / C_MODEL.name)
    shutil.copy2(CMODEL, rtl / CMODEL.name)
    path = project / blackbox_files(sad)[0]
    path.write_text(json.dumps(blackbox_json(sad), indent=2) + "\n")
