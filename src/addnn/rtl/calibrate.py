"""Resource calibration of the SAD datapath for the estimator: yosys ``synth_xilinx -family xcup``
of ``sv/sad_tree.sv`` over operand widths, SIMD and the difference source (LUT subtractors or
DSP48E2 lanes), linear fits per (B, DIFF_IN), and the threshold comparator and residual adder
per bit. The record ships as ``addnn/estimate/data/lane_calibration.json``.

The cell counting rules and the stat parser are ``addnn.rtl.report``'s, so these figures share
its caveats: yosys LUTs are an upper bound on Vivado's (no LUT6_2 packing) and carry chains are
CARRY4, not CARRY8.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import addnn.estimate
from addnn.atomic import atomic_write_text
from addnn.errors import AddnnError
from addnn.machine import command_line, describe
from addnn.rtl.model import Variant
from addnn.rtl.report import parse_stat, summarise, yosys_version
from addnn.rtl.sim import SV_DIR

SOURCE = SV_DIR / "sad_tree.sv"
DATA_FILE = Path(addnn.estimate.__file__).parent / "data" / "lane_calibration.json"
NAME = "lane_calibration"
BITS = (4, 6, 8)
SIMDS = (1, 2, 4, 8, 16, 32, 64)
DIFF_INS = (0, 1)
CMP_WIDTHS = (12, 16, 20)
CMP_COUNT_BITS = 4          # 16 thresholds: 4-bit activations
ADD_WIDTHS = (8, 12, 16)
YOSYS_FLAGS = "-family xcup -flatten -noiopad -noclkbuf"
JOBS = 2
LONGEST_WINDOW = 576        # ResNet-20: 64 channels x 3 x 3 terms per output
QUANTITIES = ("lut", "ff", "carry4")
NOTE = ("Yosys 0.23 counts (LUT = LUT1..LUT6 + INV, FF = FD*): no LUT6_2 packing and CARRY4 "
        "chains (yosys has no CARRY8 mapping; one CARRY8 = two CARRY4), so LUT and CARRY "
        "figures are an upper bound on Vivado's. sad_tree per PE: operand registers (DIFF_IN=0 "
        "only; x is shared by all PEs in the kernel, so its SIMD*B FFs per PE are an "
        "overcount there), |d| = (d ^ s) + s with the +s as carry-ins of the tree adders and "
        "the accumulator, a binary adder tree (one bit wider per level) between the abs and "
        "tree-output registers, and an ACC_W = B + 11 bit accumulator. DIFF_IN=1 is the fabric "
        "part of the DSP-packed units (quad12, octo8): the DSP48E2 P register delivers x - w; "
        "octo8 adds its LUT subtractors before the DSP (octo8_extra_lut_per_dsp). Comparator: "
        "one binary-search step of the BN thresholds (t <= acc, count bit, acc carried on), "
        "without the threshold table. Adder: a registered signed N-bit add, SAT=0 exact "
        "(N+1-bit sum), SAT=1 clamped to N bits.")


def acc_width(bits: int) -> int:
    """Accumulator bits: a sign (the kernel's acc -= SAD) and 576 terms of 2**B - 1."""
    return bits + 1 + math.ceil(math.log2(LONGEST_WINDOW))


@dataclass(frozen=True)
class Job:
    top: str
    params: tuple[tuple[str, int], ...]

    @property
    def tag(self) -> str:
        return self.top + "".join(f"_{k}{v}" for k, v in self.params)


def yosys_script(job: Job, stat_path: Path) -> str:
    sets = " ".join(f"-set {k} {v}" for k, v in job.params)
    return (f"read_verilog -sv {SOURCE}; chparam {sets} {job.top}; "
            f"synth_xilinx {YOSYS_FLAGS} -top {job.top}; tee -q -o {stat_path} stat")


def _yosys() -> str:
    exe = shutil.which("yosys")
    if exe is None:
        raise AddnnError("yosys not found on PATH (Debian: apt-get install yosys)")
    return exe


def synthesize(job: Job, workdir: Path, exe: str | None = None) -> dict:
    """One yosys run: the parameters, the counts by report's rules and the seconds taken."""
    exe = exe or _yosys()
    stat = Path(workdir) / f"stat_{job.tag}.txt"
    start = time.perf_counter()
    proc = subprocess.run([exe, "-q", "-p", yosys_script(job, stat)],
                          capture_output=True, text=True)
    if proc.returncode != 0 or not stat.exists():
        lines = [ln for ln in (proc.stderr + proc.stdout).splitlines() if ln.strip()]
        why = lines[-1].strip() if lines else "no output"
        raise AddnnError(f"yosys failed on {job.tag} (exit {proc.returncode}): {why}")
    # summarise's variant only labels its result; the counts do not depend on it.
    r = summarise(1, Variant.LUT, parse_stat(stat.read_text()), time.perf_counter() - start)
    return {**dict(job.params), "lut": r.lut, "ff": r.ff, "carry4": r.carry4,
            "carry8": r.carry8, "dsp": r.dsp48e2, "seconds": r.seconds}


def linear_fit(x, y) -> dict:
    """Least-squares y = slope * x + intercept and the largest |fit - y| / y over the points."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    a = np.column_stack([x, np.ones_like(x)])
    (slope, intercept), *_ = np.linalg.lstsq(a, y, rcond=None)
    rel = np.abs(a @ [slope, intercept] - y) / np.maximum(np.abs(y), 1.0)
    return {"slope": round(float(slope), 4), "intercept": round(float(intercept), 4),
            "max_rel_residual": round(float(rel.max()), 4)}


def lane_key(bits: int, diff_in: int) -> str:
    return f"B{bits}_DIFF{diff_in}"


def fit_lanes(points: list[dict]) -> dict:
    """Per (B, DIFF_IN): LUT, FF and CARRY4 = per_lane * SIMD + per_pe."""
    fits = {}
    for b, d in sorted({(p["B"], p["DIFF_IN"]) for p in points}):
        pts = sorted((p for p in points if (p["B"], p["DIFF_IN"]) == (b, d)),
                     key=lambda p: p["SIMD"])
        fit = {"B": b, "DIFF_IN": d, "ACC_W": pts[0]["ACC_W"]}
        for q in QUANTITIES:
            f = linear_fit([p["SIMD"] for p in pts], [p[q] for p in pts])
            fit[q] = {"per_lane": f["slope"], "per_pe": f["intercept"],
                      "max_rel_residual": f["max_rel_residual"]}
        fits[lane_key(b, d)] = fit
    return fits


def fit_per_bit(points: list[dict], width: str) -> dict:
    """LUT, FF and CARRY4 = per_bit * width + constant."""
    out = {}
    for q in QUANTITIES:
        f = linear_fit([p[width] for p in points], [p[q] for p in points])
        out[q] = {"per_bit": f["slope"], "constant": f["intercept"],
                  "max_rel_residual": f["max_rel_residual"]}
    return out


def jobs(bits, simds, diff_ins, cmp_widths, add_widths) -> list[Job]:
    out = [Job("sad_tree", (("B", b), ("SIMD", s), ("DIFF_IN", d), ("ACC_W", acc_width(b))))
           for b in bits for d in diff_ins for s in simds]
    out += [Job("cmp_stage", (("W", w), ("CW", CMP_COUNT_BITS), ("BIT", 0)))
            for w in cmp_widths]
    out += [Job("add_sat", (("N", n), ("SAT", sat))) for sat in (0, 1) for n in add_widths]
    return out


def octo8_overhead(report_json: Path) -> float | None:
    """Octo8's LUTs per DSP beyond Quad12, from the rtl report beside the outputs, if any."""
    try:
        derived = json.loads(Path(report_json).read_text())["derived"]
        return max(d["octo8_extra_lut_per_dsp_vs_quad12"] for d in derived)
    except (OSError, KeyError, ValueError):
        return None


def markdown(record: dict) -> str:
    out = [f"# SAD datapath calibration: yosys `synth_xilinx {YOSYS_FLAGS}`", "",
           f"{record['yosys']}; command `{record['command']}`; "
           f"{record['seconds']:.0f} s on {record['machine']['cpu']}.", "",
           "Fits: count = per_lane * SIMD + per_pe (least squares over SIMD "
           f"{', '.join(map(str, record['grid']['SIMD']))}).", "",
           "| B | DIFF_IN | ACC_W | LUT/lane | LUT/PE | FF/lane | FF/PE | CARRY4/lane | "
           "CARRY4/PE | max rel. residual LUT / FF / CARRY4 |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for f in record["fits"].values():
        res = " / ".join(f"{f[q]['max_rel_residual']:.3f}" for q in QUANTITIES)
        out.append(f"| {f['B']} | {f['DIFF_IN']} | {f['ACC_W']} | "
                   + " | ".join(f"{f[q]['per_lane']:.2f} | {f[q]['per_pe']:.2f}"
                                for q in QUANTITIES) + f" | {res} |")
    out += ["", "| B | DIFF_IN | SIMD | LUT | FF | CARRY4 | DSP |", "|---|---|---|---|---|---|---|"]
    out += [f"| {p['B']} | {p['DIFF_IN']} | {p['SIMD']} | {p['lut']} | {p['ff']} | "
            f"{p['carry4']} | {p['dsp']} |" for p in record["points"]]
    for title, key, width in (("Threshold comparator step", "comparator", "W"),
                              ("Residual adder", "adder", "N")):
        sec = record[key]
        out += ["", f"## {title}", "", f"| {width} | " + ("SAT | " if key == "adder" else "")
                + "LUT | FF | CARRY4 |", "|---|---|---|---|" + ("---|" if key == "adder" else "")]
        out += [f"| {p[width]} | " + (f"{p['SAT']} | " if key == "adder" else "")
                + f"{p['lut']} | {p['ff']} | {p['carry4']} |" for p in sec["points"]]
        fits = sec["fit"] if key == "adder" else {"": sec["fit"]}
        for label, fit in fits.items():
            out.append("")
            out.append(f"Per bit{' (' + label + ')' if label else ''}: " + "; ".join(
                f"{q.upper()} {fit[q]['per_bit']:.2f} * {width} + {fit[q]['constant']:.2f}"
                for q in QUANTITIES) + ".")
    ov = record["octo8_extra_lut_per_dsp"]
    out += ["", f"Octo8 extra LUTs per DSP beyond Quad12 (rtl_report): "
            f"{ov if ov is not None else 'not available'}.", "", record["notes"], ""]
    return "\n".join(out)


def run_calibration(out_dir: Path = Path("benchmarks/results"), data_file: Path | None = DATA_FILE,
                    bits=BITS, simds=SIMDS, diff_ins=DIFF_INS, cmp_widths=CMP_WIDTHS,
                    add_widths=ADD_WIDTHS, jobs_parallel: int = JOBS) -> dict:
    """Synthesize the grid, fit it, write ``NAME.json`` and ``NAME.md`` in ``out_dir`` and the
    JSON to ``data_file`` too (None: not)."""
    exe = _yosys()
    bad = [b for b in bits if not 2 <= int(b) <= 16] + [s for s in simds if int(s) < 1]
    if bad:
        raise AddnnError(f"operand bits must be 2..16 and SIMD at least 1, not {bad}")
    grid = jobs(bits, simds, diff_ins, cmp_widths, add_widths)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="addnn-cal-") as tmp, \
            ThreadPoolExecutor(max_workers=max(1, min(jobs_parallel, JOBS))) as pool:
        results = list(pool.map(lambda j: synthesize(j, Path(tmp), exe), grid))
    seconds = time.perf_counter() - start
    tops = [j.top for j in grid]
    points = [r for r, t in zip(results, tops) if t == "sad_tree"]
    cmp_pts = [r for r, t in zip(results, tops) if t == "cmp_stage"]
    add_pts = [r for r, t in zip(results, tops) if t == "add_sat"]
    out_dir = Path(out_dir)
    record = {
        "benchmark": NAME,
        "command": command_line(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "seconds": round(seconds, 1),
        "machine": describe(), "yosys": yosys_version(exe), "yosys_flags": YOSYS_FLAGS,
        "yosys_script": (f"read_verilog -sv sad_tree.sv; chparam -set PARAM VALUE ... TOP; "
                         f"synth_xilinx {YOSYS_FLAGS} -top TOP; tee -q -o STAT stat"),
        "source": "addnn/rtl/sv/sad_tree.sv", "parallel_jobs": min(jobs_parallel, JOBS),
        "grid": {"B": list(bits), "SIMD": list(simds), "DIFF_IN": list(diff_ins),
                 "ACC_W": "B + 11"},
        "points": points,
        "fits": fit_lanes(points),
        "comparator": {"count_bits": CMP_COUNT_BITS, "points": cmp_pts,
                       "fit": fit_per_bit(cmp_pts, "W") if cmp_pts else None},
        "adder": {"points": add_pts,
                  "fit": {f"SAT{s}": fit_per_bit([p for p in add_pts if p["SAT"] == s], "N")
                          for s in (0, 1)} if add_pts else None},
        "octo8_extra_lut_per_dsp": octo8_overhead(out_dir / "rtl_report.json"),
        "notes": NOTE,
    }
    text = json.dumps(record, indent=2) + "\n"
    atomic_write_text(out_dir / f"{NAME}.json", text)
    atomic_write_text(out_dir / f"{NAME}.md", markdown(record))
    if data_file is not None:
        atomic_write_text(data_file, text)
    return record


def load(path: Path = DATA_FILE) -> dict:
    """The calibration record, its lane fits keyed by (B, DIFF_IN)."""
    try:
        record = json.loads(Path(path).read_text())
    except (OSError, ValueError) as err:
        raise AddnnError(f"cannot read the lane calibration {path}: {err}") from err
    record["fits"] = {(f["B"], f["DIFF_IN"]): f for f in record["fits"].values()}
    return record
