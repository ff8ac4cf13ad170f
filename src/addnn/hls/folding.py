"""Parallelism per layer, in FINN's terms: PE output channels and SIMD terms of the reduction
(KH x KW x CIN) per cycle. The folding file is FINN's format: ``{"Defaults": {}, "<node>":
{"PE": p, "SIMD": s}, ...}`` keyed by the integer graph's Adder2d/MacConv2d node names.

An entry ``{"PE": m}`` naming a BNRequantMap (or FloatBNRequant) node takes that map out of
its layer into a process of its own, with m map units (FINN's Thresholding PE): the layer
then needs no map unit per PE. ``"search": "serial"`` makes each unit search one level a
cycle (a progression map only): LOG2 times slower, a fraction of the logic.

A folding is legal when PE divides the output channels, SIMD divides KH x KW x CIN, and a
chunk of SIMD terms lies within one kernel tap (SIMD divides CIN) or covers whole taps (CIN
divides SIMD); packed SAD units also need SIMD to be a multiple of their lanes. Every legal
folding computes the same integers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from addnn.errors import AddnnError
from addnn.hls.stages import ConvStage, MapKind, MapStage, Op, StageGraph, fused_map_names

# Default balance point: about 7,600 frames/s at 250 MHz, the order of NN2FPGA's measured
# ResNet-20 on a KV260; the estimator chooses foldings properly.
DEFAULT_TARGET_CYCLES = 1 << 15

SAD_LANES = {"lut": 1, "quad12": 4, "octo8": 8}
SEARCHES = ("parallel", "serial")


@dataclass(frozen=True)
class Fold:
    pe: int
    simd: int
    serial: bool = False      # a separate progression map searching one level a cycle


@dataclass(frozen=True)
class Geometry:
    """Loop bounds of a convolution stage under a folding."""

    kkc: int          # reduction length
    nf: int           # output-channel groups
    sf: int           # SIMD chunks per window
    cw: int           # contiguous channels per chunk piece
    tpc: int          # taps per chunk
    cpt: int          # chunks per tap
    lb_rows: int      # line-buffer row banks: KH when a chunk spans taps, else 1
    lb_banks: int     # line-buffer column banks: KW when a chunk spans taps, else 1

    @property
    def f(self) -> int:
        return self.nf * self.sf


def geometry(stage: ConvStage, fold: Fold) -> Geometry:
    o, c, kh, kw = stage.weights.shape
    kkc = c * kh * kw
    if fold.simd >= c:
        cw, tpc, cpt = c, fold.simd // c, 1
    else:
        cw, tpc, cpt = fold.simd, 1, c // fold.simd
    # a chunk within one tap reads one word a step; one spanning taps reads a row's taps at
    # once, so the buffer splits into KH rows x KW column banks
    rows, banks = (kh, kw) if tpc > 1 else (1, 1)
    return Geometry(kkc, o // fold.pe, kkc // fold.simd, cw, tpc, cpt, rows, banks)


def legal_simd(stage: ConvStage, sad: str = "lut") -> list[int]:
    o, c, kh, kw = stage.weights.shape
    kkc = c * kh * kw
    lanes = SAD_LANES[sad] if stage.op is Op.SAD else 1
    return [s for s in range(1, kkc + 1) if kkc % s == 0 and (c % s == 0 or s % c == 0)
            and s % lanes == 0]


def check_fold(stage, fold: Fold, sad: str = "lut") -> None:
    if isinstance(stage, MapStage):
        what = f"folding of map {stage.name!r}"
        if fold.simd != 1:
            raise AddnnError(f"{what}: a map has PE only, not SIMD")
        if fold.serial and stage.map.kind is not MapKind.THRESHOLDS:
            raise AddnnError(f"{what}: a serial search needs a threshold map")
        ch = len(next(iter(stage.map.arrays.values())))      # every map array is per channel
        if fold.pe < 1 or ch % fold.pe:
            raise AddnnError(f"{what}: PE {fold.pe} does not divide its {ch} channels")
        return
    o, c, kh, kw = stage.weights.shape
    what = f"folding of layer {stage.name!r}"
    if fold.serial:
        raise AddnnError(f"{what}: \"search\" is for a separate map, not a layer")
    if fold.pe < 1 or o % fold.pe:
        raise AddnnError(f"{what}: PE {fold.pe} does not divide its {o} output channels")
    kkc = c * kh * kw
    if fold.simd < 1 or kkc % fold.simd:
        raise AddnnError(f"{what}: SIMD {fold.simd} does not divide its reduction of {kkc} "
                         f"terms ({c} channels x {kh}x{kw})")
    if c % fold.simd and fold.simd % c:
        raise AddnnError(f"{what}: SIMD {fold.simd} neither divides nor is a multiple of its "
                         f"{c} input channels")
    lanes = SAD_LANES[sad] if stage.op is Op.SAD else 1
    if fold.simd % lanes:
        raise AddnnError(f"{what}: SIMD {fold.simd} is not a multiple of the {lanes} lanes of "
                         f"a {sad} SAD unit")


def conv_cycles(graph: StageGraph, stage: ConvStage, fold: Fold) -> int:
    """Iterations of the stage's flat loop per frame: one per padded input position, F - 1
    more for each position that completes an output pixel (the kernel's ITERS)."""
    x, y = graph.tensors[stage.inputs[0]], graph.tensors[stage.outputs[0]]
    hp = x.height + stage.pads[0] + stage.pads[2]
    wp = x.width + stage.pads[1] + stage.pads[3]
    return hp * wp + y.pixels * (geometry(stage, fold).f - 1)


def map_cycles(graph: StageGraph, stage: MapStage, fold: Fold) -> int:
    """Iterations of a separate map per frame: each pixel's channels, PE a cycle (LOG2 cycles
    a group for a serial search)."""
    y = graph.tensors[stage.outputs[0]]
    return y.pixels * (y.channels // fold.pe) * (stage.map.levels if fold.serial else 1)


def default_folding(graph: StageGraph, sad: str = "lut",
                    target_cycles: int = DEFAULT_TARGET_CYCLES) -> dict[str, Fold]:
    """For each layer the fewest lanes (PE x SIMD) that meet ``target_cycles``, or the most
    parallel legal folding when none does."""
    folding = {}
    for stage in graph.conv_stages():
        o = stage.weights.shape[0]
        options = [Fold(pe, s) for pe in range(1, o + 1) if o % pe == 0
                   for s in legal_simd(stage, sad)]
        if not options:
            raise AddnnError(f"layer {stage.name!r}: no legal folding for a {sad} SAD unit")
        fast = [f for f in options if conv_cycles(graph, stage, f) <= target_cycles]
        if fast:
            folding[stage.name] = min(fast, key=lambda f: (f.pe * f.simd, f.pe))
        else:
            folding[stage.name] = max(options, key=lambda f: (f.pe * f.simd, f.simd))
    for stage in graph.map_stages():
        ch = graph.tensors[stage.outputs[0]].channels
        pes = [p for p in range(1, ch + 1) if ch % p == 0]
        folding[stage.name] = Fold(next((p for p in pes if map_cycles(
            graph, stage, Fold(p, 1)) <= target_cycles), pes[-1]), 1)
    return folding


def folding_maps(path: str | Path, graph: StageGraph) -> list[str]:
    """The fused BN maps a folding file takes out of their layers (entries naming them)."""
    fused = fused_map_names(graph)
    return [name for name in _load(Path(path)) if name in fused]


def read_folding(path: str | Path, graph: StageGraph, sad: str = "lut") -> dict[str, Fold]:
    """A folding file over the default: layers it names take its PE and SIMD (both, or the
    default's for the one left out). Unknown layers and illegal values are refused."""
    path = Path(path)
    data = _load(path)
    folding = default_folding(graph, sad)
    for name, entry in data.items():
        if name == "Defaults":
            continue
        if name not in folding:
            raise AddnnError(f"{path}: no Adder2d or MacConv2d layer named {name!r}, nor the BN "
                             f"map of one (layers: {', '.join(folding)})")
        search = entry.pop("search", "parallel") if isinstance(entry, dict) else None
        if not isinstance(entry, dict) or not set(entry) <= {"PE", "SIMD"} or not all(
                isinstance(v, int) for v in entry.values()) or search not in SEARCHES:
            raise AddnnError(f"{path}: layer {name!r} needs integer \"PE\" and/or \"SIMD\" "
                             f"(and for a map \"search\": {' or '.join(SEARCHES)})")
        folding[name] = Fold(entry.get("PE", folding[name].pe),
                             entry.get("SIMD", folding[name].simd), search == "serial")
    check_folding(graph, folding, sad)
    return folding


def _load(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError as err:
        raise AddnnError(f"{path}: no such folding file") from err
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise AddnnError(f"{path} is not a JSON folding file ({err})") from err
    if not isinstance(data, dict):
        raise AddnnError(f"{path}: a folding file is a JSON object of layers")
    return data


def check_folding(graph: StageGraph, folding: dict[str, Fold], sad: str = "lut") -> None:
    for stage in graph.folded_stages():
        if stage.name not in folding:
            raise AddnnError(f"the folding has no entry for layer {stage.name!r}")
        check_fold(stage, folding[stage.name], sad)


def folding_json(folding: dict[str, Fold], maps=()) -> str:
    """FINN's JSON; the separate maps (names in ``maps``) get PE only."""
    data = {"Defaults": {}}
    for name, f in folding.items():
        if name not in maps:
            data[name] = {"PE": f.pe, "SIMD": f.simd}
        else:
            data[name] = {"PE": f.pe, **({"search": "serial"} if f.serial else {})}
    return json.dumps(data, indent=2) + "\n"
