"""Simulation runner: builds the testbenches with Verilator or Icarus and the C++ model driver
with g++ (each once per source version, cached), writes vector files and reads results back.

Builds are keyed on the sources, the tool's version and the arguments, live in
``~/.cache/addnn/rtl/<key>/`` and are made in a temporary directory renamed into place, so an
interrupted build never leaves a broken binary behind.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from addnn.errors import AddnnError
from addnn.rtl.model import ACC_BITS, Variant

HERE = Path(__file__).parent
SV_DIR = HERE / "sv"
TB_DIR = SV_DIR / "tb"
CMODEL_DIR = HERE / "cmodel"
# Synthesisable sources in dependency order; the DSP48E2 model is for simulation only.
DESIGN = [SV_DIR / f"{m}.sv" for m in ("sad_ctrl", "sad_absacc", "sad_lut", "sad_dsp_sub4",
                                        "sad_lowsub", "sad_quad12", "sad_octo8_diff",
                                        "sad_octo8", "sad_pe")]
DSP_MODEL = SV_DIR / "dsp48e2_simd_model.sv"
KINDS = [(v, s) for v in Variant for s in (False, True)]   # the testbench's PE order


class SimulatorMissing(AddnnError):
    """A simulator or compiler is not installed."""


class SimulationError(AddnnError):
    """A build or a simulation failed."""


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise SimulatorMissing(f"{name} not found on PATH")
    return path


def run_checked(args: list[str], what: str, cwd: Path | None = None) -> str:
    """Run a command from an argument list; raise with the end of stderr when it fails."""
    proc = subprocess.run(args, capture_output=True, text=True, cwd=cwd)
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
        raise SimulationError(f"{what} failed (exit {proc.returncode}): {tail}")
    return proc.stdout


def _version(exe: str, flag: str) -> str:
    return subprocess.run([exe, flag], capture_output=True, text=True).stdout.strip()


def cache_root() -> Path:
    return Path.home() / ".cache" / "addnn" / "rtl"


def _cached(name: str, inputs: list[str], build) -> Path:
    """``build(tmpdir)`` once per distinct ``inputs``; return the cached directory."""
    key = hashlib.sha256("\0".join(inputs).encode()).hexdigest()[:16]
    target = cache_root() / f"{name}-{key}"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=target.parent))
    try:
        build(tmp)
        try:
            os.replace(tmp, target)
        except OSError:           # another process finished the same build first
            if not target.exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _texts(paths: list[Path]) -> list[str]:
    return [p.read_text() for p in paths]


def yosys_share() -> Path:
    """Yosys's data directory (``yosys-config --datdir``, else next to the yosys binary)."""
    cfg = shutil.which("yosys-config")
    if cfg:
        out = subprocess.run([cfg, "--datdir"], capture_output=True, text=True).stdout.strip()
        if out and Path(out).is_dir():
            return Path(out)
    exe = shutil.which("yosys")
    if exe is None:
        raise SimulatorMissing("yosys not found on PATH (its share folder holds DSP48E1)")
    share = Path(exe).resolve().parents[1] / "share" / "yosys"
    if not (share / "xilinx" / "cells_sim.v").exists():
        raise SimulatorMissing(f"no xilinx/cells_sim.v under {share}")
    return share


def extract_module(text: str, name: str) -> str:
    """The text of one module (``module NAME`` up to its ``endmodule``)."""
    start = text.find(f"module {name} ")
    if start < 0:
        start = text.find(f"module {name}(")
    end = text.find("endmodule", start)
    if start < 0 or end < 0:
        raise SimulationError(f"module {name} not found")
    return text[start:end + len("endmodule")] + "\n"


def verilator_pe_tb(lanes: int) -> Path:
    """The Verilator build of ``tb_sad_pe`` for P = ``lanes``."""
    exe = tool("verilator")
    sources = [DSP_MODEL, *DESIGN, TB_DIR / "tb_sad_pe.sv"]
    args = ["--binary", "--timing", "-j", "2", "-Wno-fatal", "-Wno-lint", "-Wno-style",
            "--top-module", "tb_sad_pe", f"-GP={lanes}", "-o", "tb"]

    def build(d: Path):
        run_checked([exe, *args, "--Mdir", str(d / "obj"), *map(str, sources)],
                    "verilator build of tb_sad_pe")
        shutil.move(d / "obj" / "tb", d / "tb")
        shutil.rmtree(d / "obj")

    key = [_version(exe, "--version"), *args, *_texts(sources)]
    return _cached(f"verilator-pe{lanes}", key, build) / "tb"


def iverilog_tb(top: str, sources: list[Path], params: dict[str, int] | None = None) -> Path:
    """An Icarus (``-g2012``) build of ``top``; returns the .vvp file."""
    exe = tool("iverilog")
    tool("vvp")
    args = ["-g2012", "-s", top, *[f"-P{top}.{k}={v}" for k, v in (params or {}).items()]]

    def build(d: Path):
        run_checked([exe, *args, "-o", str(d / "tb.vvp"), *map(str, sources)],
                    f"iverilog build of {top}")

    key = [_version(exe, "-V"), *args, *_texts(sources)]
    return _cached(f"iverilog-{top}-{'-'.join(map(str, (params or {}).values()))}", key,
                   build) / "tb.vvp"


def iverilog_pe_tb(lanes: int) -> Path:
    return iverilog_tb("tb_sad_pe", [DSP_MODEL, *DESIGN, TB_DIR / "tb_sad_pe.sv"],
                       {"P": lanes})


def iverilog_blackbox_tb() -> Path:
    """tb_sad_bb: the HLS black-box difference units (sad_bb_quad12, sad_bb_octo8)."""
    units = [SV_DIR / f"{m}.sv" for m in ("sad_dsp_sub4", "sad_lowsub", "sad_octo8_diff",
                                          "sad_bb_quad12", "sad_bb_octo8")]
    return iverilog_tb("tb_sad_bb", [DSP_MODEL, *units, TB_DIR / "tb_sad_bb.sv"])


def iverilog_xcheck_tb() -> Path:
    """tb_dsp_xcheck with our DSP48E2 model and yosys's DSP48E1 model, under Icarus."""
    e1 = extract_module((yosys_share() / "xilinx" / "cells_sim.v").read_text(), "DSP48E1")
    cache = cache_root()
    cache.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(e1.encode()).hexdigest()[:16]
    e1_path = cache / f"yosys_dsp48e1_{digest}.v"
    if not e1_path.exists():
        fd, tmp = tempfile.mkstemp(suffix=".v", dir=cache)
        with os.fdopen(fd, "w") as f:
            f.write(e1)
        os.replace(tmp, e1_path)
    return iverilog_tb("tb_dsp_xcheck", [DSP_MODEL, e1_path, TB_DIR / "tb_dsp_xcheck.sv"])


def cmodel_driver() -> Path:
    """g++ build of the C++ model driver (``cmodel/sad_driver.cpp``)."""
    cxx = shutil.which("g++") or shutil.which("c++")
    if cxx is None:
        raise SimulatorMissing("no C++ compiler found (install g++)")
    src = CMODEL_DIR / "sad_driver.cpp"
    flags = ["-O2", "-std=c++17", "-Wall", "-Wextra", "-Werror", f"-I{CMODEL_DIR}"]

    def build(d: Path):
        run_checked([cxx, *flags, "-o", str(d / "sad_driver"), str(src)], "g++ sad_driver")

    key = [_version(cxx, "--version"), *flags, *_texts([src, CMODEL_DIR / "sad_units.h"])]
    return _cached("cmodel", key, build) / "sad_driver"


def _hex_rows(a: np.ndarray) -> list[str]:
    """Rows of a [T, P] uint8 array as hex with lane 0 in the last two digits."""
    a = np.ascontiguousarray(np.asarray(a, dtype=np.uint8)[:, ::-1])
    flat = a.tobytes().hex()
    n = 2 * a.shape[1]
    return [flat[i:i + n] for i in range(0, len(flat), n)]


def write_pe_vectors(path: Path, ctrl, x, w) -> None:
    ctrl = np.asarray(ctrl, dtype=np.int64)
    lines = [f"{c:x} {xs} {ws}\n" for c, xs, ws in zip(ctrl.tolist(), _hex_rows(x), _hex_rows(w))]
    Path(path).write_text("".join(lines))


def read_packed(path: Path, lanes: int, bits: int = ACC_BITS) -> np.ndarray:
    """Hex lines of ``lanes`` fields of ``bits`` (lane 0 lowest) -> [n, lanes] int64."""
    lines = Path(path).read_text().split()
    if not lines:
        return np.zeros((0, lanes), dtype=np.int64)
    if any(set(ln) - set("0123456789abcdefABCDEF") for ln in lines):
        raise SimulationError(f"{Path(path).name}: unknown (x/z) bits in the simulator output")
    digits = (lanes * bits + 3) // 4
    text = "".join(ln.zfill(digits + digits % 2)[-(digits + digits % 2):] for ln in lines)
    raw = np.frombuffer(bytes.fromhex(text), dtype=np.uint8).reshape(len(lines), -1)
    le_bits = np.unpackbits(raw, axis=1)[:, ::-1][:, :lanes * bits]   # LSB first
    weights = 1 << np.arange(bits, dtype=np.int64)
    return le_bits.reshape(len(lines), lanes, bits).astype(np.int64) @ weights


def _outputs(prefix: Path, lanes: int) -> dict[tuple[Variant, bool], np.ndarray]:
    return {(v, s): read_packed(Path(f"{prefix}_v{int(v)}_s{int(s)}.txt"), lanes)
            for v, s in KINDS}


def simulate_pe(simulator: str, lanes: int, vectors: Path, workdir: Path):
    """Run tb_sad_pe on a vector file; returns {(variant, signed): SADs [n, lanes]}."""
    prefix = Path(workdir) / f"{simulator}_pe{lanes}"
    plus = [f"+vectors={vectors}", f"+out={prefix}"]
    if simulator == "verilator":
        run_checked([str(verilator_pe_tb(lanes)), *plus], "verilator simulation")
    elif simulator == "iverilog":
        run_checked([tool("vvp"), "-n", str(iverilog_pe_tb(lanes)), *plus], "vvp simulation")
    else:
        raise ValueError(f"unknown simulator {simulator!r}")
    return _outputs(prefix, lanes)


def cmodel_pe(lanes: int, vectors: Path, workdir: Path):
    """The C++ model on the same vector file, in the same form as ``simulate_pe``."""
    prefix = Path(workdir) / f"cmodel_pe{lanes}"
    run_checked([str(cmodel_driver()), str(lanes), str(vectors), str(prefix)], "sad_driver")
    return _outputs(prefix, lanes)
