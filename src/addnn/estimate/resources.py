"""Resources of each dataflow stage under a folding, as the HLS kernels build it.

Provenance of every figure:
- **measured** (yosys ``synth_xilinx -family xcup`` on ``rtl/sv/sad_tree.sv``, fitted in
  ``data/lane_calibration.json`` by ``addnn rtl calibrate``): the SAD lanes (subtract, |.|,
  adder tree, accumulator) at 4, 6 and 8 bits, the comparators and adders of the BN maps and
  the per-pixel stages. Other widths are interpolated linearly in the bit width.
- **modelled** (stated rules and constants): memories (``memory.py``: FINN's rules), the
  window registers and multiplexers, DSP counts of MAC and packed-SAD lanes, control.

Control overhead: ``CONTROL_LUT`` per convolution stage is FINN's ``c0 = 300`` of the MVAU LUT
model (``MVAU_hls.lut_estimation``, from the FINN-R paper); the flip-flops beside it and the
per-pixel stages' constants are this model's assumption, of the same order.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, fields
from functools import lru_cache
from importlib import resources as importlib_resources

from addnn.errors import AddnnError
from addnn.estimate import memory
from addnn.hls.folding import SAD_LANES, Fold, geometry
from addnn.hls.progression import stage_progression
from addnn.hls.render import io_fields
from addnn.numeric import IntType
from addnn.hls.stages import (
    AddStage,
    ConvStage,
    ForkStage,
    InputStage,
    MapKind,
    Op,
    OutputStage,
    PoolStage,
    RequantStage,
    StageGraph,
)

CONTROL_LUT, CONTROL_FF = 300, 300            # per convolution stage
PIXEL_CONTROL_LUT, PIXEL_CONTROL_FF = 50, 50  # per per-pixel stage (assumed)
IO_LUT, IO_FF = 100, 150                      # AXI4-Stream (un)packing of a 64-bit word
# Float32 BN (the reference design's realbn), per PE: a float multiply and an add at full DSP
# usage (Vitis HLS defaults: fmul 3 DSP48E2, fadd 2) and their fabric; order of PG060's tables.
FLOAT_BN = {"dsp": 5, "lut": 500, "ff": 700}


@dataclass
class Res:
    lut: float = 0.0
    ff: float = 0.0
    dsp: float = 0.0
    bram18: float = 0.0
    uram: float = 0.0

    def __add__(self, other: "Res") -> "Res":
        return Res(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(Res)))

    def scaled(self, k: float) -> "Res":
        return Res(*(getattr(self, f.name) * k for f in fields(Res)))

    @property
    def bram36(self) -> float:
        return self.bram18 / 2

    def board_dict(self) -> dict[str, float]:
        """In the units of a board description (BRAM as 36 Kb blocks)."""
        return {"lut": self.lut, "ff": self.ff, "dsp": self.dsp, "bram36": self.bram36,
                "uram": self.uram}


def mem(m: memory.Memory) -> Res:
    return Res(lut=m.lut, ff=m.ff, bram18=m.bram18)


@lru_cache(maxsize=1)
def calibration() -> dict:
    path = importlib_resources.files("addnn.estimate") / "data" / "lane_calibration.json"
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise AddnnError(f"the lane calibration data {path} is missing or broken ({err}); "
                         f"regenerate it with `addnn rtl calibrate`") from err


def _interp(points: dict[int, float], b: int) -> float:
    """Linear in the bit width between calibrated widths, extended beyond them."""
    xs = sorted(points)
    if b in points:
        return points[b]
    lo = max([x for x in xs if x < b], default=xs[0])
    hi = min([x for x in xs if x > b], default=xs[-1])
    if lo == hi:                       # outside the grid: extend the nearest segment
        lo, hi = (xs[0], xs[1]) if b < xs[0] else (xs[-2], xs[-1])
    return points[lo] + (points[hi] - points[lo]) * (b - lo) / (hi - lo)


def sad_lane_cost(bits: int, diff_in: bool) -> dict[str, tuple[float, float]]:
    """Per resource: (per lane, per PE), yosys-calibrated."""
    fits = calibration()["fits"]
    out = {}
    for r in ("lut", "ff"):
        per_lane = {f["B"]: f[r]["per_lane"] for f in fits.values() if f["DIFF_IN"] == diff_in}
        per_pe = {f["B"]: f[r]["per_pe"] for f in fits.values() if f["DIFF_IN"] == diff_in}
        out[r] = (_interp(per_lane, bits), _interp(per_pe, bits))
    return out


def _per_bit(fit: dict, bits: int) -> Res:
    """A calibrated per-bit fit of LUT and FF at ``bits``."""
    return Res(*(max(0.0, fit[r]["per_bit"] * bits + fit[r]["constant"]) for r in ("lut", "ff")))


def adder_cost(bits: int, saturating: bool = False) -> Res:
    return _per_bit(calibration()["adder"]["fit"]["SAT1" if saturating else "SAT0"], bits)


def comparator_cost(bits: int) -> Res:
    return _per_bit(calibration()["comparator"]["fit"], bits)


def _lanes(graph: StageGraph, s: ConvStage, fold: Fold, sad: str) -> Res:
    x = graph.tensors[s.inputs[0]]
    lanes = fold.pe * fold.simd
    if s.op is Op.MAC:
        # Two products sharing x in one DSP48E2 when both operands have <= 8 bits (pairs of
        # PEs), else one; the adder tree of the products and the accumulator in fabric.
        pair = x.type.bits <= 8 and s.weight_type.bits <= 8 and fold.pe % 2 == 0
        dsp = lanes // 2 if pair else lanes
        prod = x.type.bits + s.weight_type.bits
        tree = adder_cost(prod + math.ceil(math.log2(max(fold.simd, 2))))
        return Res(dsp=dsp) + tree.scaled(fold.pe * max(fold.simd - 1, 0)) + \
            adder_cost(s.acc.bits).scaled(fold.pe)
    bits = max(x.type.bits, s.weight_type.bits)
    packed = sad != "lut"
    cost = sad_lane_cost(bits, diff_in=packed)
    r = Res(lut=fold.pe * (cost["lut"][0] * fold.simd + cost["lut"][1]),
            ff=fold.pe * (cost["ff"][0] * fold.simd + cost["ff"][1]))
    if packed:
        dsps = lanes / SAD_LANES[sad]
        r = r + Res(dsp=dsps)
        if sad == "octo8":
            r = r + Res(lut=calibration()["octo8_extra_lut_per_dsp"] * dsps)
    return r


def map_impl(s) -> tuple[str, int]:
    """The BN map the generator emits for the layer, and its fraction bits (progression)."""
    if s.map.kind is not MapKind.THRESHOLDS:
        return s.map.kind.value, 0
    fit = stage_progression(s)
    return ("progression", fit.frac) if fit is not None else ("thresholds", 0)


def map_units(graph: StageGraph, s, units: int, impl: tuple[str, int],
              serial: bool = False) -> Res:
    """``units`` map units of layer (or map stage) ``s``, each serving COUT / units channels;
    ``serial``: one search level a cycle (a progression map only)."""
    y = graph.tensors[s.outputs[0]]
    nf = y.channels // units
    kind, frac = impl
    if kind == "none":
        return Res()
    if kind == "float32":
        return Res(**FLOAT_BN).scaled(units)
    if kind == "table":
        return mem(memory.rom(nf * (s.acc.hi - s.acc.lo + 1), y.type.bits)).scaled(units)
    levels = s.map.levels
    start = mem(memory.rom(nf, y.type.bits + 2))      # start and direction per channel
    if kind == "progression":
        wide = s.acc.bits + frac + 2       # K0 + k DN stays within twice acc's range
        # a level: the remainder's subtractor (its sign is the comparison) and the select of
        # the remainder, two 2:1 multiplexers a LUT6_2; K0, DN and the count's cap per
        # channel, and the cap's comparator
        level = adder_cost(wide) + Res(lut=math.ceil(wide / 2))
        # serial: one level, with DN << b in a register that loads or shifts each cycle
        search = level + Res(lut=wide, ff=wide) if serial else level.scaled(levels)
        per_pe = search + comparator_cost(levels) + \
            mem(memory.rom(nf, 2 * wide + levels)) + start
    else:   # stored thresholds, binary search: one read per level an iteration
        per_pe = comparator_cost(s.acc.bits).scaled(levels) + \
            mem(memory.rom(nf * (1 << levels), s.acc.bits, ports=levels)) + start
    return per_pe.scaled(units)


def map_stage_parts(graph: StageGraph, s, units: int, impl: tuple[str, int],
                    serial: bool = False) -> dict[str, Res]:
    """A BN map in a process of its own: its map units and its control."""
    return {"map": map_units(graph, s, units, impl, serial),
            "control": Res(lut=PIXEL_CONTROL_LUT, ff=PIXEL_CONTROL_FF)}


def conv_parts(graph: StageGraph, s: ConvStage, fold: Fold, sad: str = "lut",
               impl: tuple[str, int] | None = None) -> dict[str, Res]:
    """Resources of a convolution stage, by part."""
    x = graph.tensors[s.inputs[0]]
    g = geometry(s, fold)
    kh = s.kernel[0]
    wp = x.width + s.pads[1] + s.pads[3]
    rows, cols = g.lb_rows, g.lb_banks                 # the kernel's LB_ROWS, LB_BANKS
    xb = x.type.bits
    return {
        "lanes": _lanes(graph, s, fold, sad),
        "weights": mem(memory.rom(g.f, fold.pe * fold.simd * s.weight_type.bits)),
        "map": map_units(graph, s, fold.pe, impl or map_impl(s)),
        "line_buffer": mem(memory.ram(kh // rows * math.ceil(wp / cols), x.channels * xb)
                           ).scaled(rows * cols),
        # each SIMD operand picks its channel chunk among CPT in the word read and, with
        # banks, its row among KH rotating rows and its column bank among KW (LUT6 as 4:1
        # multiplexers)
        "gather": Res(lut=fold.simd * xb * (_mux(g.cpt) + _mux(rows) + _mux(cols))),
        "control": Res(lut=CONTROL_LUT, ff=CONTROL_FF),
    }


def _mux(n: int) -> int:
    """LUT6 levels of an n:1 multiplexer per bit, as 4:1 muxes (3 more inputs each)."""
    return math.ceil((n - 1) / 3)


def total(parts) -> Res:
    """The sum of a dict's (or an iterable's) resources."""
    out = Res()
    for r in (parts.values() if isinstance(parts, dict) else parts):
        out = out + r
    return out


def pixel_stage(graph: StageGraph, s) -> Res:
    """Resources of a per-pixel stage, the I/O stages included."""
    ctrl = Res(lut=PIXEL_CONTROL_LUT, ff=PIXEL_CONTROL_FF)
    if isinstance(s, (InputStage, OutputStage)):
        t = graph.tensors[(s.outputs if isinstance(s, InputStage) else s.inputs)[0]]
        return Res(lut=IO_LUT, ff=IO_FF + io_fields(t)["D"] + t.channels * t.type.bits)
    y = graph.tensors[s.outputs[0]]
    if isinstance(s, RequantStage):
        return ctrl + requant_cost(graph.tensors[s.inputs[0]].type, y.type, s.shift, s.relu
                                   ).scaled(y.channels)
    if isinstance(s, AddStage):
        return ctrl + adder_cost(y.type.bits, saturating=False).scaled(y.channels)
    if isinstance(s, PoolStage):
        x = graph.tensors[s.inputs[0]]
        sum_bits = x.type.bits + int(math.log2(max(x.pixels, 1))) + 2
        return ctrl + adder_cost(sum_bits).scaled(x.channels)
    if isinstance(s, ForkStage):
        return ctrl
    raise AddnnError(f"resource model: no model for stage {s.name!r} ({s.kind})")


def requant_cost(x: IntType, y: IntType, shift: int, relu: bool) -> Res:
    """One channel of requantize_value: a right shift rounds (an increment of the kept bits),
    a left shift is wiring; ReLU and a clamp that can bite select each output bit among the
    value and the bounds (one LUT a bit, with the comparisons on the high bits)."""
    lo, hi = (max(x.lo, 0) if relu else x.lo), x.hi
    lo, hi = (lo << shift, hi << shift) if shift >= 0 else (lo >> -shift, (hi >> -shift) + 1)
    r = adder_cost(x.bits + shift) if shift < 0 else Res()
    if relu or lo < y.lo or hi > y.hi:
        r = r + Res(lut=y.bits)
    return r + Res(ff=y.bits)


def stream_cost(graph: StageGraph, depths: dict[str, int]) -> dict[str, Res]:
    out = {}
    for t, d in depths.items():
        tensor = graph.tensors[t]
        out[t] = mem(memory.fifo(d, tensor.channels * tensor.type.bits))
    return out
