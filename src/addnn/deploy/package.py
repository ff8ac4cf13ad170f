"""``addnn deploy``: the board package of a generated HLS project, written atomically.

Layout::

    README.md          the board flow, step by step, and what was checked without a board
    build.sh           Vitis HLS (2023.2 or the 2024+ unified flow), then Vivado
    build_bd.tcl       the Vivado block design: PS, AXI DMA, the HLS IP, clock, reset, bitstream
    deploy.json        the package's settings and the result of the Tcl check
    hls/               a copy of the HLS project (the package builds on its own)
    pynq/              the overlay package: addnn_driver.py, accelerator.json, README.md,
                       samples.npz (with --samples); build.sh adds addnn.bit and addnn.hwh
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path


from addnn import __version__
from addnn.data.samples import normalisation
from addnn.deploy.pynq_driver import frame_bytes, max_batch
from addnn.deploy.tclcheck import check_block_design
from addnn.errors import AddnnError
from addnn.estimate.boards import load_board
from addnn.hls.project import load_project, template_environment, write_directory

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
DRIVER = HERE / "pynq_driver.py"
BASE = "addnn"                     # addnn.bit, addnn.hwh, addnn.xsa, the block design
DMA_LENGTH_BITS = 26               # the AXI DMA's widest length register: 64 MiB a transfer
MEM_BITS = 128                     # HP0 and the DMA's memory side (the PS port's native width)
CELLS = {"ps": "zynq_ultra_ps_e_0", "dma": "axi_dma_0", "acc": "addnn_0",
         "reset": "rst_pl0", "ctrl": "axi_ctrl", "mem": "axi_mem", "irq": "irq_concat"}
IP_CLASSIC = "addnn_prj/solution1/impl/ip"      # vitis_hls -f run_hls.tcl, export_design
UNIFIED_WORK = "addnn_hls"
IP_UNIFIED = f"{UNIFIED_WORK}/hls/impl/ip"      # v++ -c --mode hls, then --package
PACKAGE_FILE = "deploy.json"


def driver_config(meta: dict, dataset: str) -> dict:
    """``accelerator.json``: what the board-side driver needs to know of the accelerator."""
    _, mean, std = normalisation(dataset)
    keys = ("D", "EB", "EPW", "ELEMS", "WORDS", "CH", "BITS", "SIGNED", "exponent")
    return {"addnn_version": __version__, "top": meta["top"], "source": meta["source"],
            "dataset": dataset, "mean": list(mean), "std": list(std),
            "input": {**{k: meta["input"][k] for k in keys}, "shape": meta["input"]["shape"]},
            "output": {k: meta["output"][k] for k in keys},
            "dma": CELLS["dma"], "dma_length_bits": DMA_LENGTH_BITS,
            "bitfile": f"{BASE}.bit", "clock_mhz": round(1000.0 / meta["clock_ns"], 3)}


def render_package(meta: dict, board_name: str, dataset: str,
                   clock_mhz: float | None = None) -> dict[str, str]:
    """The package's generated text files by relative path."""
    board = load_board(board_name)
    if not board.deploy:
        raise AddnnError(f"board {board_name!r} has no deployment description (its Vivado "
                         "board part); `addnn deploy` supports: kv260")
    if board.part != meta["part"]:
        raise AddnnError(f"the HLS project targets {meta['part']}, board {board_name} is "
                         f"{board.part}: regenerate it with `addnn hls --board {board_name}`")
    config = driver_config(meta, dataset)
    if clock_mhz is None:
        clock_mhz = config["clock_mhz"]
    if not 10 <= clock_mhz <= 1000.0 / meta["clock_ns"] + 1e-6:
        raise AddnnError(f"PL clock {clock_mhz} MHz: the HLS IP was built for at most "
                         f"{1000.0 / meta['clock_ns']:.1f} MHz ({meta['clock_ns']} ns)")
    config["clock_mhz"] = clock_mhz
    frame = frame_bytes(config["input"])
    ctx = {"version": __version__, "board": {**board.deploy, "name": board.title},
           "part": board.part, "base": BASE, "top": meta["top"], "cells": CELLS,
           "ports": meta["ports"], "axis_in": _axis(meta, "slave"),
           "axis_out": _axis(meta, "master"), "axis_bits": config["input"]["D"],
           "mem_bits": MEM_BITS, "clock_mhz": _mhz(clock_mhz), "dma_length_bits": DMA_LENGTH_BITS,
           "frame_bytes": frame, "max_batch": max_batch(config),
           "ip_repo_candidates": [f"hls/{IP_CLASSIC}", f"hls/{IP_UNIFIED}"],
           "ip_classic": IP_CLASSIC, "ip_unified": IP_UNIFIED, "unified_work": UNIFIED_WORK,
           "config": config, "dataset": dataset}
    env = template_environment(TEMPLATES)
    return {"build_bd.tcl": env.get_template("build_bd.tcl.j2").render(**ctx),
            "build.sh": env.get_template("build.sh.j2").render(**ctx),
            "README.md": env.get_template("README.md.j2").render(**ctx),
            "pynq/README.md": env.get_template("pynq_README.md.j2").render(**ctx),
            "pynq/accelerator.json": json.dumps(config, indent=2) + "\n"}


def _axis(meta: dict, mode: str) -> str:
    names = [n for n, i in meta["ports"]["interfaces"].items() if i["mode"] == mode]
    if len(names) != 1:
        raise AddnnError(f"the HLS project has {len(names)} AXI4-Stream {mode} ports, not one: "
                         "regenerate it with this addnn")
    return names[0]


def _mhz(f: float) -> str:
    return f"{f:.3f}".rstrip("0").rstrip(".")


def deploy(project: str | Path, out: str | Path | None = None, board: str = "kv260",
           dataset: str = "cifar10", samples: str | Path | None = None,
           clock_mhz: float | None = None, check_driver: int | None = None,
           batch: int = 8) -> dict:
    """Write the board package of HLS project ``project`` to ``out`` (default: beside the
    project, ``<project>_<board>``); return deploy.json's contents. ``check_driver``: run the
    packaged driver on that many of the ``samples`` through the C simulation (``batch``
    frames a transfer) before the package is published, and record the result."""
    project = Path(project)
    meta = load_project(project)
    if "ports" not in meta:
        raise AddnnError(f"{project} was generated before `addnn deploy` existed (no ports in "
                         "project.json): regenerate it with `addnn hls`")
    out = Path(out) if out is not None else project.with_name(f"{project.name}_{board}")
    if out.resolve() == project.resolve() or project.resolve() in out.resolve().parents:
        raise AddnnError(f"the package {out} cannot be inside the HLS project {project}")
    if out.exists() and not (out / PACKAGE_FILE).is_file():
        raise AddnnError(f"{out} exists and is not an addnn deploy package; choose another -o")
    files = render_package(meta, board, dataset, clock_mhz)
    check = check_block_design(files["build_bd.tcl"], meta)
    if check["errors"]:
        raise AddnnError("the block design names what does not exist:\n  " +
                         "\n  ".join(check["errors"]))
    if samples is not None:
        _check_samples(samples, meta)
    elif check_driver:
        raise AddnnError("the driver check needs --samples (images with labels)")
    record = {"addnn_version": __version__, "project": str(project), "board": board,
              "dataset": dataset, "clock_mhz": json.loads(files["pynq/accelerator.json"])
              ["clock_mhz"], "tcl_check": check,
              "checked_here": ["Tcl parsed; every cell, pin, interface and CONFIG name checked "
                               "against the IPs' documented ports and the HLS IP's ports"],
              "needs_vivado": ["synthesis, implementation, timing, the bitstream"]}

    def write(tmp: Path) -> None:
        shutil.copytree(project, tmp / "hls", ignore=shutil.ignore_patterns(
            "addnn_prj", "addnn_hls", ".*"))
        (tmp / "pynq").mkdir()
        for rel, text in files.items():
            (tmp / rel).write_text(text)
        (tmp / "build.sh").chmod(0o755)
        shutil.copy2(DRIVER, tmp / "pynq" / "addnn_driver.py")
        if samples is not None:
            shutil.copy2(samples, tmp / "pynq" / "samples.npz")
        if check_driver:
            from addnn.deploy.simulate import check_identical, driver_against_csim

            record["driver_check"] = driver_against_csim(tmp, samples, check_driver, batch)
            check_identical(record["driver_check"])
        (tmp / PACKAGE_FILE).write_text(json.dumps(record, indent=2) + "\n")

    write_directory(out, write)
    return {**record, "output": str(out)}


def _check_samples(path: str | Path, meta: dict) -> None:
    from addnn.data.samples import load_samples

    ds = load_samples(path)
    if list(ds.images.shape[1:]) != meta["input"]["shape"]:
        raise AddnnError(f"samples {path} hold {list(ds.images.shape[1:])} images, the "
                         f"accelerator takes {meta['input']['shape']}")
