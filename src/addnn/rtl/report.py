"""Synthesis report of the SAD processing element: yosys ``synth_xilinx -family xcup`` for each
PE size and variant, the cell counts from ``stat``, and per-lane costs, as JSON and Markdown.

Yosys 0.23 maps carry chains to CARRY4 cells even for UltraScale+ (it has no CARRY8 mapping),
and it counts the two halves of a LUT6_2 as two LUTs, so its LUT figures are an upper bound
on what Vivado packs. INV cells are counted as LUTs (Vivado implements them as LUT1).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from addnn.atomic import atomic_write_text
from addnn.errors import AddnnError
from addnn.machine import command_line, describe
from addnn.rtl.model import Variant
from addnn.rtl.sim import DESIGN

SIZES = (8, 16, 32, 64)
YOSYS_FLAGS = "-family xcup -top sad_pe -flatten -noiopad -noclkbuf"
LUT_CELLS = re.compile(r"^(LUT[1-6]|INV)$")
FF_CELLS = re.compile(r"^FD[A-Z]*$")
CARRY_CELLS = re.compile(r"^CARRY(4|8)$")


@dataclass
class SynthResult:
    lanes: int
    variant: str
    dsp48e2: int
    lut: int
    carry4: int
    carry8: int
    ff: int
    srl: int
    cells: dict
    seconds: float

    @property
    def lut_per_lane(self) -> float:
        return self.lut / self.lanes

    @property
    def lanes_per_dsp(self) -> float | None:
        return self.lanes / self.dsp48e2 if self.dsp48e2 else None


def yosys_script(lanes: int, variant: Variant, stat_path: Path) -> str:
    files = " ".join(str(p) for p in DESIGN)
    return (f"read_verilog -sv {files}; "
            f"chparam -set P {lanes} -set VARIANT {int(variant)} sad_pe; "
            f"synth_xilinx {YOSYS_FLAGS}; "
            f"tee -q -o {stat_path} stat")


def parse_stat(text: str) -> dict[str, int]:
    """Cell counts of the last module block of a yosys ``stat`` output."""
    blocks = text.split("Number of cells:")
    if len(blocks) < 2:
        raise AddnnError("yosys stat output has no cell counts")
    cells = {}
    for line in blocks[-1].splitlines()[1:]:
        m = re.match(r"^\s+(\$?[A-Za-z_][\w$]*)\s+(\d+)\s*$", line)
        if m:
            cells[m.group(1)] = int(m.group(2))
        elif line.strip():
            break
    return cells


def summarise(lanes: int, variant: Variant, cells: dict[str, int],
              seconds: float = 0.0) -> SynthResult:
    total = lambda pat: sum(n for c, n in cells.items() if pat.match(c))  # noqa: E731
    return SynthResult(
        lanes=lanes, variant=variant.name, dsp48e2=cells.get("DSP48E2", 0),
        lut=total(LUT_CELLS), carry4=cells.get("CARRY4", 0), carry8=cells.get("CARRY8", 0),
        ff=total(FF_CELLS), srl=sum(n for c, n in cells.items() if c.startswith("SRL")),
        cells=dict(sorted(cells.items())), seconds=round(seconds, 2))


def yosys_version(exe: str) -> str:
    return subprocess.run([exe, "-V"], capture_output=True, text=True).stdout.strip()


def synthesize(lanes: int, variant: Variant, workdir: Path) -> SynthResult:
    """One yosys run; raises AddnnError (one line) when yosys is missing or fails."""
    exe = shutil.which("yosys")
    if exe is None:
        raise AddnnError("yosys not found on PATH (Debian: apt-get install yosys)")
    stat = Path(workdir) / f"stat_p{lanes}_{variant.name.lower()}.txt"
    start = time.perf_counter()
    proc = subprocess.run([exe, "-q", "-p", yosys_script(lanes, variant, stat)],
                          capture_output=True, text=True)
    if proc.returncode != 0 or not stat.exists():
        lines = [ln for ln in (proc.stderr + proc.stdout).splitlines() if ln.strip()]
        why = lines[-1].strip() if lines else "no output"
        raise AddnnError(f"yosys failed on P={lanes} {variant.name} "
                         f"(exit {proc.returncode}): {why}")
    return summarise(lanes, variant, parse_stat(stat.read_text()),
                     time.perf_counter() - start)


def derived(results: list[SynthResult]) -> list[dict]:
    """Per size: LUT per lane of each variant, lanes per DSP, and the Octo-INT8 packing
    overhead, i.e. the LUTs it needs per DSP beyond Quad-INT12 (whose DSP forms the whole
    difference, so the rest of the lane logic is the same in both)."""
    by = {(r.lanes, r.variant): r for r in results}
    rows = []
    for lanes in sorted({r.lanes for r in results}):
        row = {"lanes": lanes}
        for v in Variant:
            r = by.get((lanes, v.name))
            if r:
                row[f"{v.name.lower()}_lut_per_lane"] = round(r.lut_per_lane, 2)
                row[f"{v.name.lower()}_lanes_per_dsp"] = r.lanes_per_dsp
        quad, octo = by.get((lanes, "QUAD12")), by.get((lanes, "OCTO8"))
        if quad and octo and octo.dsp48e2:
            row["octo8_extra_lut_per_dsp_vs_quad12"] = round((octo.lut - quad.lut)
                                                             / octo.dsp48e2, 2)
        rows.append(row)
    return rows


def markdown(record: dict) -> str:
    out = [f"# SAD PE on DSP48E2: yosys `synth_xilinx {YOSYS_FLAGS}`", "",
           f"{record['yosys']}; command `{record['command']}`.", "",
           "| P | variant | DSP48E2 | LUT | LUT/lane | CARRY4 | FF | SRL | lanes/DSP |",
           "|---|---|---|---|---|---|---|---|---|"]
    for r in record["results"]:
        lpd = r["lanes"] / r["dsp48e2"] if r["dsp48e2"] else "-"
        out.append(f"| {r['lanes']} | {r['variant']} | {r['dsp48e2']} | {r['lut']} | "
                   f"{r['lut'] / r['lanes']:.2f} | {r['carry4']} | {r['ff']} | {r['srl']} | "
                   f"{lpd} |")
    out += ["", "| P | Octo8 extra LUT per DSP vs Quad12 |", "|---|---|"]
    out += [f"| {d['lanes']} | {d.get('octo8_extra_lut_per_dsp_vs_quad12', '-')} |"
            for d in record["derived"]]
    out += ["", record["notes"], ""]
    return "\n".join(out)


def run_report(sizes=SIZES, out_dir: Path = Path("benchmarks/results"),
               variants=tuple(Variant), name: str = "rtl_report") -> dict:
    """Synthesize every (size, variant), write ``NAME.json`` and ``NAME.md`` in ``out_dir``."""
    sizes = [int(s) for s in sizes]
    bad = [s for s in sizes if s <= 0 or s % 8]
    if bad:
        raise AddnnError(f"PE sizes must be positive multiples of 8, not {bad}")
    exe = shutil.which("yosys")
    if exe is None:
        raise AddnnError("yosys not found on PATH (Debian: apt-get install yosys)")
    with tempfile.TemporaryDirectory(prefix="addnn-rtl-") as tmp:
        results = [synthesize(s, v, Path(tmp)) for s in sizes for v in variants]
    record = {
        "benchmark": name,
        "command": command_line(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "machine": describe(),
        "yosys": yosys_version(exe), "yosys_flags": YOSYS_FLAGS,
        "results": [asdict(r) for r in results], "derived": derived(results),
        "notes": ("LUT = LUT1..LUT6 + INV as yosys counts them (no LUT6_2 packing); yosys "
                  "0.23 has no CARRY8 mapping, so carry chains are CARRY4 (one CARRY8 = two "
                  "CARRY4). Each lane: 18-bit accumulator; DSP variants form x - w in the DSP "
                  "(Octo8: all but the low 5 bits of odd lanes, 3 + 2 in DSP lane 0, which LUT "
                  "subtractors form before the DSP), LUTs do |.| + accumulate."),
    }
    out_dir = Path(out_dir)
    atomic_write_text(out_dir / f"{name}.json", json.dumps(record, indent=2) + "\n")
    atomic_write_text(out_dir / f"{name}.md", markdown(record))
    return record
