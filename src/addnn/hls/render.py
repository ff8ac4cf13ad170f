"""What the templates render: each stage's config values, its call site, its constant arrays and
the streams of the top level, from the stage graph, the folding and the depths."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from addnn.errors import AddnnError
from addnn.hls import carrays as ca
from addnn.hls.folding import Fold, conv_cycles, geometry
from addnn.hls.progression import stage_progression
from addnn.hls.storage import fifo_impl
from addnn.hls.stages import (
    AddStage,
    ConvStage,
    ForkStage,
    InputStage,
    MapKind,
    MapStage,
    Op,
    OutputStage,
    PoolStage,
    RequantStage,
    StageGraph,
    Tensor,
    source_tensor,
)
from addnn.numeric import IntType

AXIS_BITS = 64
TOP = "addnn_top"
# The top's AXI4-Stream arguments. Not `in`/`out`: Vitis HLS renames ports that are HDL
# keywords (`in_r`), and the block design names these interfaces.
AXIS_IN, AXIS_OUT = "s_axis", "m_axis"
# The side stream that carries each input frame's TLAST to its output frame.
LAST_STREAM = "frame_last"


def ident(name: str) -> str:
    return re.sub(r"[^0-9A-Za-z_]", "_", name)


@dataclass
class Array:
    name: str
    ctype: str
    dims: str
    init: str


@dataclass
class StageCtx:
    kind: str             # the config template's macro
    label: str            # the process name in reports
    cfg: str              # config struct
    kernel: str
    args: list[str]
    fields: dict = field(default_factory=dict)


def stream_var(tensor: str) -> str:
    return "s_" + ident(tensor)


def vec_type(t: Tensor) -> str:
    return "v_" + ident(source_tensor(t.name))


def io_fields(t: Tensor) -> dict:
    eb = 1 if t.type.bits <= 8 else 2
    epw = AXIS_BITS // 8 // eb
    elems = t.pixels * t.channels
    return {"D": AXIS_BITS, "EB": eb, "EPW": epw, "ELEMS": elems, "WORDS": -(-elems // epw),
            "CH": t.channels, "BITS": t.type.bits, "SIGNED": int(t.type.signed),
            "elem_t": ca.switch_type(t.type), "vec_t": vec_type(t)}


def _pow2_float(e: int) -> str:
    return repr(2.0 ** e) + "f"


def _conv(graph: StageGraph, s: ConvStage, fold: Fold, sad: str, uid: str,
          arrays: list[Array], thresholds: str = "auto") -> StageCtx:
    x, y = graph.tensors[s.inputs[0]], graph.tensors[s.outputs[0]]
    o, c, kh, kw = s.weights.shape
    g = geometry(s, fold)
    wt = s.weight_type
    f = {"CIN": c, "H": x.height, "W": x.width, "COUT": o, "HO": y.height, "WO": y.width,
         "KH": kh, "KW": kw, "SH": s.strides[0], "SW": s.strides[1], "PT": s.pads[0],
         "PL": s.pads[1], "PB": s.pads[2], "PR": s.pads[3],
         "HP": x.height + s.pads[0] + s.pads[2], "WP": x.width + s.pads[1] + s.pads[3],
         "KKC": g.kkc, "PE": fold.pe, "SIMD": fold.simd, "NF": g.nf, "SF": g.sf, "F": g.f,
         "ITERS": conv_cycles(graph, s, fold), "LB_ROWS": g.lb_rows, "LB_BANKS": g.lb_banks,
         "CW": g.cw, "TPC": g.tpc, "CPT": g.cpt, "x_t": ca.switch_type(x.type),
         "w_t": ca.native_of(wt), "wx_t": ca.switch_type(wt), "acc_t": ca.switch_type(s.acc),
         "out_elem": ca.switch_type(y.type), "in_vec": vec_type(x), "out_vec": vec_type(y)}
    xlo, xhi = min(x.type.lo, 0), max(x.type.hi, 0)
    f["OPS_SIGNED"] = int(x.type.signed)
    if s.op is Op.SAD:
        f["op"] = "addnn::op_sad" if sad == "lut" else f"addnn::op_sad_{sad}"
        if sad != "lut" and (x.type.bits > 8 or wt.bits > 8 or x.type.signed != wt.signed):
            raise AddnnError(f"layer {s.name!r}: a {sad} SAD unit subtracts bytes of one "
                             f"signedness; the layer has {x.type.bits}-bit inputs and "
                             f"{wt.bits}-bit weights ({'signed' if x.type.signed else 'unsigned'}"
                             f" / {'signed' if wt.signed else 'unsigned'})")
        f["diff_t"] = f"addnn::uint_t<{ca.unsigned_width(max(xhi - wt.lo, wt.hi - xlo))}>"
        f["prod_t"] = f["diff_t"]
    else:
        if x.type.bits + wt.bits > 30:
            raise AddnnError(f"layer {s.name!r}: a MAC of {x.type.bits}-bit inputs and "
                             f"{wt.bits}-bit weights is wider than the kernels support")
        f["op"] = "addnn::op_mac"
        width = max(x.type.bits + (not x.type.signed), wt.bits + (not wt.signed))
        f["prod_t"] = f"addnn::int_t<{width}>"
        f["diff_t"] = f["prod_t"]
    # Weights as [F][PE][SIMD]: f = nf * SF + sf, reduction order (ky, kx, ci).
    w = s.weights.transpose(0, 2, 3, 1).reshape(g.nf, fold.pe, g.sf, fold.simd)
    w = w.transpose(0, 2, 1, 3).reshape(g.f, fold.pe, fold.simd)
    wname = f"w_{uid}"
    arrays.append(Array(wname, f["w_t"], ca.dims(w), ca.initializer(w)))
    p = _map_arrays(s, y, uid, f, arrays, thresholds)
    return StageCtx("conv", s.name, f"cfg_{uid}", "conv_layer",
                    [stream_var(s.inputs[0]), stream_var(s.outputs[0]), wname] + p, f)


def _map_stage(graph: StageGraph, s: MapStage, fold: Fold, uid: str, arrays: list[Array],
               thresholds: str = "auto") -> StageCtx:
    x, y = graph.tensors[s.inputs[0]], graph.tensors[s.outputs[0]]
    f = {"PIXELS": y.pixels, "COUT": y.channels, "PE": fold.pe, "NF": y.channels // fold.pe,
         "acc_t": ca.switch_type(s.acc), "out_elem": ca.switch_type(y.type),
         "in_vec": vec_type(x), "out_vec": vec_type(y)}
    p = _map_arrays(s, y, uid, f, arrays, thresholds)
    if fold.serial and f["map"] != "addnn::map_progression":
        raise AddnnError(f"map {s.name!r}: a serial search needs thresholds that form a "
                         f"progression (this map is {f['map'].removeprefix('addnn::')})")
    return StageCtx("map", s.name, f"cfg_{uid}",
                    "map_serial_layer" if fold.serial else "map_layer",
                    [stream_var(s.inputs[0]), stream_var(s.outputs[0])] + p, f)


def _map_arrays(s: ConvStage | MapStage, y: Tensor, uid: str, f: dict, arrays: list[Array],
                thresholds: str = "auto") -> list[str]:
    """The map's p0, p1, p2 (see addnn_maps.h) as arrays, and their types and the map's
    constants (accumulator and output ranges, scales, search size) into ``f``. A
    threshold map becomes ``map_progression`` when its thresholds fit one (``thresholds`` =
    "auto"), else, or with "stored", ``map_thresholds``."""
    m = s.map
    f.update(IN_LO=s.acc.lo, OUT_LO=y.type.lo, OUT_HI=y.type.hi, RELU=0, LOG2=1, FRAC=0,
             NTHR=1, IN_SCALE=_pow2_float(s.acc.exponent),
             OUT_SCALE=_pow2_float(-y.type.exponent))
    unused2, unused1 = "addnn_unused2", "addnn_unused1"
    shapes = {"p0": (1, 1), "p1": (1,), "p2": (1,)}
    types = {"p0": "int8_t", "p1": "int8_t", "p2": "int8_t"}
    names = {"p0": unused2, "p1": unused1, "p2": unused1}
    values: dict[str, np.ndarray] = {}
    prog = stage_progression(s) if thresholds == "auto" else None
    if m.kind is MapKind.THRESHOLDS:
        thr = np.asarray(m.arrays["thresholds"], dtype=np.int64)
        log2 = m.levels
    if m.kind is MapKind.NONE:
        f["map"] = "addnn::map_none"
    elif prog is not None:
        f["map"] = "addnn::map_progression"
        values["p0"] = np.stack([prog.k0, prog.dn, prog.cap], axis=1)
        values["p1"] = np.asarray(m.arrays["start"], dtype=np.int64)
        values["p2"] = np.asarray(m.arrays["direction"], dtype=np.int64)
        f.update(LOG2=log2, FRAC=prog.frac, NTHR=prog.n)
        types.update(p0="int64_t",
                     p1=ca.native_type(int(values["p1"].min()), int(values["p1"].max())),
                     p2="int8_t")
    elif m.kind is MapKind.THRESHOLDS:
        f["map"] = "addnn::map_thresholds"
        pad = np.full((thr.shape[0], (1 << log2) - 1 - thr.shape[1]), s.acc.hi + 1)
        values["p0"] = np.concatenate([thr, pad], axis=1)
        values["p1"] = np.asarray(m.arrays["start"], dtype=np.int64)
        values["p2"] = np.asarray(m.arrays["direction"], dtype=np.int64)
        f["LOG2"] = log2
        types.update(p0=ca.native_type(s.acc.lo, s.acc.hi + 1),
                     p1=ca.native_type(int(values["p1"].min()), int(values["p1"].max())),
                     p2="int8_t")
    elif m.kind is MapKind.TABLE:
        f["map"] = "addnn::map_table"
        table = np.asarray(m.arrays["table"], dtype=np.int64)
        if table.shape[1] != s.acc.hi - s.acc.lo + 1:
            raise AddnnError(f"layer {s.name!r}: its BN table has {table.shape[1]} entries per "
                             f"channel for an accumulator of {s.acc.hi - s.acc.lo + 1} values")
        values["p0"] = table
        types["p0"] = ca.native_of(y.type)
    else:
        f["map"] = "addnn::map_float32"
        f["RELU"] = int(m.relu)
        values["p1"] = np.asarray(m.arrays["a"], dtype=np.float32)
        values["p2"] = np.asarray(m.arrays["b"], dtype=np.float32)
        types.update(p1="float", p2="float")
        if 2 ** 24 <= max(abs(s.acc.lo), s.acc.hi):
            raise AddnnError(f"layer {s.name!r}: a float32 BN needs an accumulator exact in "
                             "float32 (below 2**24)")
    for k, a in values.items():
        names[k] = f"{k}_{uid}"
        shapes[k] = a.shape
        arrays.append(Array(names[k], types[k], ca.dims(a), ca.initializer(a)))
    f.update({"p0_t": types["p0"], "p1_t": types["p1"], "p2_t": types["p2"],
              "P0_D0": shapes["p0"][0], "P0_D1": shapes["p0"][1], "P1_D0": shapes["p1"][0],
              "P2_D0": shapes["p2"][0]})
    return [names["p0"], names["p1"], names["p2"]]


def _simple(graph: StageGraph, s, uid: str) -> StageCtx:
    ins = [graph.tensors[i] for i in s.inputs]
    outs = [graph.tensors[o] for o in s.outputs]
    args = [stream_var(i) for i in s.inputs] + [stream_var(o) for o in s.outputs]
    cfg = f"cfg_{uid}"
    if isinstance(s, RequantStage):
        x, y = ins[0], outs[0]
        work = x.type.bits + max(s.shift, 0) + 2
        if work > 64:
            raise AddnnError(f"node {s.name!r}: a left shift of {s.shift} on {x.type.bits} bits "
                             "is beyond 64 bits")
        f = {"in_elem": ca.switch_type(x.type), "out_elem": ca.switch_type(y.type),
             "work_t": f"addnn::int_t<{work}>", "in_vec": vec_type(x), "out_vec": vec_type(y),
             "PIXELS": x.pixels, "CH": x.channels, "SHIFT": s.shift, "RELU": int(s.relu),
             "OUT_LO": y.type.lo, "OUT_HI": y.type.hi}
        return StageCtx("requantize", s.name, cfg, "requantize_layer", args, f)
    if isinstance(s, AddStage):
        a, b, y = ins[0], ins[1], outs[0]
        f = {"a_vec": vec_type(a), "b_vec": vec_type(b), "out_vec": vec_type(y),
             "out_elem": ca.switch_type(y.type), "PIXELS": y.pixels, "CH": y.channels}
        return StageCtx("add", s.name, cfg, "add_layer", args, f)
    if isinstance(s, ForkStage):
        f = {"vec_t": vec_type(ins[0]), "PIXELS": ins[0].pixels}
        return StageCtx("fork", s.name, cfg, f"fork{len(outs)}", args, f)
    if isinstance(s, PoolStage):
        x, y = ins[0], outs[0]
        log2 = x.pixels.bit_length() - 1
        f = {"in_vec": vec_type(x), "out_vec": vec_type(y), "out_elem": ca.switch_type(y.type),
             "sum_t": f"addnn::int_t<{x.type.bits + log2 + 2}>", "CH": x.channels,
             "POOL": x.pixels, "LOG2": log2}
        return StageCtx("avgpool", s.name, cfg, "avgpool_layer", args, f)
    if isinstance(s, InputStage):
        return StageCtx("io", "input", "addnn_io_in", "input_layer",
                        [AXIS_IN] + args + [LAST_STREAM])
    if isinstance(s, OutputStage):
        return StageCtx("io", "output", "addnn_io_out", "output_layer",
                        args + [LAST_STREAM, AXIS_OUT])
    raise AddnnError(f"node {s.name!r}: no HLS kernel for {s.kind}")


def render_context(graph: StageGraph, folding: dict[str, Fold], depths: dict[str, int],
                   sad: str, thresholds: str = "auto") -> dict:
    """Everything the templates need: streams, stages (configs and calls), arrays, io.
    ``thresholds``: "auto" (progressions where they fit) or "stored" (see ``_map_arrays``)."""
    arrays: list[Array] = []
    stages = []
    for k, s in enumerate(graph.stages):
        uid = f"l{k:02d}_{ident(s.name)}"
        if isinstance(s, MapStage):
            stages.append(_map_stage(graph, s, folding[s.name], uid, arrays, thresholds))
        elif isinstance(s, ConvStage):
            stages.append(_conv(graph, s, folding[s.name], sad, uid, arrays, thresholds))
        else:
            stages.append(_simple(graph, s, uid))
    produced = [o for s in graph.stages for o in s.outputs]
    streams = [{"var": stream_var(t), "tensor": t, "type": vec_type(graph.tensors[t]),
                "depth": depths[t], "impl": fifo_impl(depths[t], graph.tensors[t].channels
                                                      * graph.tensors[t].type.bits)}
               for t in produced]
    vecs = {}
    for t in graph.tensors.values():
        vecs.setdefault(vec_type(t), {"name": vec_type(t), "elem": ca.switch_type(t.type),
                                      "channels": t.channels})
    # The TLAST flags in flight: at most one per frame between the input and the output
    # process, and a process holds at most one frame, so this depth never stalls the input.
    last = {"var": LAST_STREAM, "depth": len(graph.stages) + 2}
    return {"top": TOP, "axis_in": AXIS_IN, "axis_out": AXIS_OUT, "last": last,
            "streams": streams, "stages": stages, "arrays": arrays,
            "vecs": list(vecs.values()), "io_in": io_fields(graph.tensors[graph.input]),
            "io_out": io_fields(graph.tensors[graph.output]), "axis_bits": AXIS_BITS}


def tensor_type(t: IntType) -> dict:
    return {"bits": t.bits, "signed": t.signed, "exponent": t.exponent}
