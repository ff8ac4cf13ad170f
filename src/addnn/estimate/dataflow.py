"""Cycle-stepped simulation of the dataflow pipeline, for throughput and FIFO depths.

Every process is an actor that runs its loop at II = 1 (NN2FPGA's ``step()`` idea). Its
program, iteration by iteration, is the kernel's: which input streams an iteration reads and
which output streams it writes (``programs``, built from the same loop bounds as
``addnn.estimate.cycles``). An iteration issues when the streams it reads hold data, and writes
``pipeline_depth`` cycles later. A blocked read or a blocked write (a full stream) stalls the
whole pipeline of that actor, Vitis HLS's default ``style=stp``, so in-flight iterations wait
too. A process's loop runs once per frame: the next frame's iterations issue only after the
pipeline has drained. Data written in one cycle is visible to the reader in the next.

The input is the AXI4-Stream source, paced (a frame's elements spread evenly over ``pace``
cycles, NN2FPGA's fixed-throughput DMA) or as fast as the accelerator takes them; the output
is a sink that is always ready. The state of all actors is
a few numpy arrays, updated once per cycle, so ResNet-20 runs in seconds.

Depths (``fifo_depths``): with the input paced at the slowest process's period (as NN2FPGA's
fixed-throughput DMA does) and unbounded streams, each stream's largest occupancy is the depth
at which no write ever blocks, so the bounded run repeats the unbounded one cycle for cycle and
keeps its throughput. The result is checked by a second, bounded run with the input unpaced;
where that run loses cycles (an unpaced input bursts), the streams whose writes waited grow
until it does not, or for ``REPAIR_ROUNDS`` rounds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from addnn.errors import AddnnError
from addnn.estimate.cycles import label, pipeline_depth, stage_cycles
from addnn.hls.folding import Fold, geometry, map_cycles
from addnn.hls.render import io_fields
from addnn.hls.stages import (
    AddStage,
    ConvStage,
    ForkStage,
    InputStage,
    MapStage,
    OutputStage,
    PoolStage,
    RequantStage,
    StageGraph,
)

UNBOUNDED = 1 << 40
REPAIR_ROUNDS = 4
MIN_DEPTH = 2
MAX_PORTS = 3


@dataclass
class Program:
    """One frame of an actor's loop: per iteration, a bitmask of the input ports it reads
    and of the output ports it writes."""

    reads: np.ndarray
    writes: np.ndarray


def _conv_program(graph: StageGraph, s: ConvStage, fold: Fold) -> Program:
    x, y = graph.tensors[s.inputs[0]], graph.tensors[s.outputs[0]]
    kh, kw = s.kernel
    sh, sw = s.strides
    pt, pl, pb, pr = s.pads
    hp, wp = x.height + pt + pb, x.width + pl + pr
    r, c = np.divmod(np.arange(hp * wp), wp)
    real = (r >= pt) & (r < pt + x.height) & (c >= pl) & (c < pl + x.width)
    r0, c0 = r - (kh - 1), c - (kw - 1)
    fire = ((r0 >= 0) & (c0 >= 0) & (r0 % sh == 0) & (c0 % sw == 0)
            & (r0 // sh < y.height) & (c0 // sw < y.width))
    f = geometry(s, fold).f
    length = np.where(fire, f, 1)                       # iterations at each position
    first = np.concatenate([[0], np.cumsum(length)[:-1]])
    n = int(length.sum())
    reads = np.zeros(n, dtype=np.uint8)
    writes = np.zeros(n, dtype=np.uint8)
    reads[first[real]] = 1
    writes[(first + length - 1)[fire]] = 1
    return Program(reads, writes)


def _stage_program(graph: StageGraph, s, folding: dict[str, Fold]) -> Program:
    if isinstance(s, ConvStage):
        return _conv_program(graph, s, folding[s.name])
    if isinstance(s, MapStage):
        pixels = graph.tensors[s.inputs[0]].pixels
        n = map_cycles(graph, s, folding[s.name])
        steps = n // pixels                                 # iterations a pixel
        g = np.arange(n) % steps
        return Program((g == 0).astype(np.uint8), (g == steps - 1).astype(np.uint8))
    if isinstance(s, InputStage):
        f = io_fields(graph.tensors[s.outputs[0]])
        e = np.arange(f["ELEMS"])
        return Program(np.zeros(len(e), np.uint8), (e % f["CH"] == f["CH"] - 1).astype(np.uint8))
    if isinstance(s, OutputStage):
        f = io_fields(graph.tensors[s.inputs[0]])
        e = np.arange(f["WORDS"] * f["EPW"])
        return Program(((e < f["ELEMS"]) & (e % f["CH"] == 0)).astype(np.uint8),
                       np.zeros(len(e), np.uint8))
    pixels = graph.tensors[s.inputs[0]].pixels
    all_in = (1 << len(s.inputs)) - 1
    all_out = (1 << len(s.outputs)) - 1
    reads = np.full(pixels, all_in, np.uint8)
    if isinstance(s, PoolStage):
        writes = np.zeros(pixels, np.uint8)
        writes[-1] = all_out
    elif isinstance(s, (RequantStage, AddStage, ForkStage)):
        writes = np.full(pixels, all_out, np.uint8)
    else:
        raise AddnnError(f"dataflow simulation: no program for stage {s.name!r} ({s.kind})")
    return Program(reads, writes)


def programs(graph: StageGraph, folding: dict[str, Fold]) -> dict[str, Program]:
    """The per-frame program of every process, by process label."""
    return {label(s): _stage_program(graph, s, folding) for s in graph.stages}


@dataclass
class FlowResult:
    """What a simulation run shows. Cycles count from the first input element's issue."""

    frames: int                        # frames the output finished
    cycles: int                        # cycles simulated
    frame_done: list[int]              # cycle at which the output finished each frame
    max_occupancy: dict[str, int]      # by stream (tensor name)
    deadlock: str | None = None        # what was blocked, when the pipeline stopped
    stalls: dict[str, int] = field(default_factory=dict)   # stalled cycles by process
    full: dict[str, int] = field(default_factory=dict)     # cycles a write waited, by stream

    @property
    def latency(self) -> int | None:
        """Cycles from the first input element to the last output word of frame 0."""
        return self.frame_done[0] + 1 if self.frame_done else None

    @property
    def period(self) -> int | None:
        """Cycles between the last two frames out: the steady-state period."""
        return (self.frame_done[-1] - self.frame_done[-2]) if len(self.frame_done) > 1 else None


def simulate(graph: StageGraph, folding: dict[str, Fold], depths: dict[str, int] | None = None,
             frames: int = 3, pace: int | None = None, max_cycles: int | None = None
             ) -> FlowResult:
    """Run ``frames`` frames through the pipeline with the given stream depths (by tensor
    name; missing streams are unbounded). ``pace``: cycles a frame at the input, its elements
    spread evenly over them; None feeds elements as fast as they are taken."""
    stages = graph.stages
    labels = [label(s) for s in stages]
    progs = programs(graph, folding)
    streams = sorted({t for s in stages for t in (*s.inputs, *s.outputs)})
    sid = {t: i for i, t in enumerate(streams)}
    n_s = len(streams)                                   # index n_s: "no stream"
    depth = np.full(n_s + 1, UNBOUNDED, dtype=np.int64)
    for t, d in (depths or {}).items():
        if t in sid:
            if d < 1:
                raise AddnnError(f"stream {t!r}: depth {d} is below 1")
            depth[sid[t]] = d
    n_a = len(stages)
    in_s = np.full((n_a, MAX_PORTS), n_s, dtype=np.int64)
    out_s = np.full((n_a, MAX_PORTS), n_s, dtype=np.int64)
    for a, s in enumerate(stages):
        if len(s.inputs) > MAX_PORTS or len(s.outputs) > MAX_PORTS:
            raise AddnnError(f"stage {s.name!r} has more than {MAX_PORTS} streams on a side")
        in_s[a, :len(s.inputs)] = [sid[t] for t in s.inputs]
        out_s[a, :len(s.outputs)] = [sid[t] for t in s.outputs]
    lengths = np.array([len(progs[lb].reads) for lb in labels], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    rd = np.concatenate([progs[lb].reads for lb in labels])
    wr = np.concatenate([progs[lb].writes for lb in labels])
    d_pipe = np.array([pipeline_depth(graph, s, folding) for s in stages], dtype=np.int64)
    ring_len = int(d_pipe.max()) + 1
    is_input = np.array([isinstance(s, InputStage) for s in stages])
    out_actor = next(a for a, s in enumerate(stages) if isinstance(s, OutputStage))
    if max_cycles is None:
        period = max(stage_cycles(graph, folding).values())
        max_cycles = (frames + 2) * max(period, pace or 0) * 4 + 10_000

    count = np.zeros(n_s + 1, dtype=np.int64)
    maxocc = np.zeros(n_s + 1, dtype=np.int64)
    k = np.zeros(n_a, dtype=np.int64)               # next iteration of the current frame
    local = np.zeros(n_a, dtype=np.int64)           # the actor's own clock (stops on stalls)
    last_issue = np.full(n_a, -ring_len - 1, dtype=np.int64)
    done_frames = np.zeros(n_a, dtype=np.int64)
    stalls = np.zeros(n_a, dtype=np.int64)
    waited = np.zeros(n_s + 1, dtype=np.int64)
    ring = np.zeros((n_a, ring_len), dtype=np.uint8)
    ar = np.arange(n_a)
    pbits = np.array([1 << p for p in range(MAX_PORTS)], dtype=np.uint8)[None, :]
    frame_done: list[int] = []
    idle = 0
    deadlock = None
    cycle = 0
    for cycle in range(max_cycles):
        active = done_frames < frames
        due = ring[ar, (local - d_pipe) % ring_len]
        full = count >= depth
        full[n_s] = False
        empty = count <= 0
        empty[n_s] = False
        started = ~is_input | (pace is None) | (
            cycle >= done_frames * (pace or 0) + k * (pace or 0) // lengths)
        issuing = active & (k < lengths) & started
        rmask = np.where(issuing, rd[offsets + np.minimum(k, lengths - 1)], 0).astype(np.uint8)
        wbits = (due[:, None] & pbits) > 0
        rbits = (rmask[:, None] & pbits) > 0
        wfull = wbits & full[out_s]
        blocked = wfull.any(1) | (rbits & empty[in_s]).any(1)
        go = active & ~blocked
        stalls += active & blocked
        if wfull.any():
            waited += np.bincount(out_s[wfull & active[:, None]], minlength=n_s + 1)
        moved = go & (issuing | (due > 0))
        if moved.any():
            idle = 0
        else:
            idle += 1
            if idle > ring_len + 1 and not (pace and (~started & active).any()):
                deadlock = _blocked(stages, streams, in_s, out_s, due, rmask, full, empty,
                                    active & blocked, n_s)
                break
        iss = go & issuing
        count += (np.bincount(out_s[wbits & go[:, None]], minlength=n_s + 1)
                  - np.bincount(in_s[rbits & iss[:, None]], minlength=n_s + 1))
        np.maximum(maxocc, count, out=maxocc)
        ring[ar[go], ((local - d_pipe) % ring_len)[go]] = 0
        ring[ar[iss], (local % ring_len)[iss]] = wr[offsets[iss] + k[iss]]
        last_issue[iss] = local[iss]
        k[iss] += 1
        local[go] += 1
        finished = active & (k >= lengths) & (local > last_issue + d_pipe)
        if finished.any():
            if finished[out_actor]:
                frame_done.append(cycle)
            k[finished] = 0
            done_frames[finished] += 1
            if done_frames[out_actor] >= frames:
                break
    else:
        deadlock = f"no result within {max_cycles} cycles"
    return FlowResult(
        frames=int(done_frames[out_actor]), cycles=cycle + 1, frame_done=frame_done,
        max_occupancy={t: int(maxocc[i]) for t, i in sid.items()}, deadlock=deadlock,
        stalls={lb: int(n) for lb, n in zip(labels, stalls)},
        full={t: int(waited[i]) for t, i in sid.items() if waited[i]})


def simulate_unbounded(graph: StageGraph, folding: dict[str, Fold], frames: int = 3,
                       pace: int | None = None) -> FlowResult:
    """``simulate`` with unbounded streams, computed in closed form instead of cycle by
    cycle (the two agree exactly; tests hold them equal).

    Without back-pressure an actor only stalls on reads, so its unstalled cycles U (issues,
    then ``pipeline_depth`` draining cycles a frame) obey U[j] = max(U[j-1] + 1, lb[j]), with
    lb the cycle after the data an issue reads was written: a running maximum, one numpy pass
    per actor in topological order. The write of an iteration comes D unstalled cycles after
    its issue. A paced input never stalls, so its every cycle counts.
    """
    stages = graph.stages
    progs = programs(graph, folding)
    writes: dict[str, np.ndarray] = {}        # stream -> cycle of each write
    reads: dict[str, np.ndarray] = {}         # stream -> cycle of each read
    done = None
    for s in stages:
        lb_name = label(s)
        prog = progs[lb_name]
        n, d = len(prog.reads), pipeline_depth(graph, s, folding)
        its = np.arange(frames * n)
        k = its % n
        lb = np.zeros(frames * n, dtype=np.int64)
        rmask = np.tile(prog.reads, frames)
        for p, t in enumerate(s.inputs):
            hit = (rmask >> p) & 1 == 1
            w = writes[t]
            lb[hit] = np.maximum(lb[hit], w[: int(hit.sum())] + 1)
        per = n + d
        pos = (its // n) * per + k                      # slot of each issue
        bound = np.full(frames * per, np.iinfo(np.int64).min // 4, dtype=np.int64)
        paced = isinstance(s, InputStage) and pace is not None
        bound[pos] = (its // n) * pace + k * pace // n if paced else lb
        issue = _running(bound)
        t_issue = issue[pos]
        # a paced input never stalls, so its clock runs while it waits: writes come D real
        # cycles after the issue; any other actor's clock runs only in its slots
        t_write = t_issue + d if paced else issue[pos + d]
        wmask = np.tile(prog.writes, frames)
        for p, t in enumerate(s.outputs):
            writes[t] = t_write[(wmask >> p) & 1 == 1]
        for p, t in enumerate(s.inputs):
            reads[t] = t_issue[(rmask >> p) & 1 == 1]
        if isinstance(s, OutputStage):
            done = issue[np.arange(1, frames + 1) * per - 1]
    stop = int(done[-1])
    occ = {}
    for t, w in writes.items():
        w = w[w <= stop]
        r = reads.get(t, np.zeros(0, dtype=np.int64))
        occ[t] = int((np.arange(1, len(w) + 1) - np.searchsorted(r, w, side="right")).max()
                     ) if len(w) else 0
    return FlowResult(frames=frames, cycles=stop + 1, frame_done=[int(x) for x in done],
                      max_occupancy=occ)


def _running(bound: np.ndarray) -> np.ndarray:
    """U[j] = max(U[j-1] + 1, bound[j], 0): a running maximum."""
    j = np.arange(len(bound), dtype=np.int64)
    return np.maximum.accumulate(np.maximum(bound, 0) - j) + j


def _blocked(stages, streams, in_s, out_s, due, rmask, full, empty, blocked, n_s) -> str:
    what = []
    for a in np.flatnonzero(blocked):
        for p in range(MAX_PORTS):
            if (due[a] >> p) & 1 and full[out_s[a, p]]:
                what.append(f"{label(stages[a])} writes full {streams[out_s[a, p]]}")
            if (rmask[a] >> p) & 1 and empty[in_s[a, p]] and in_s[a, p] != n_s:
                what.append(f"{label(stages[a])} reads empty {streams[in_s[a, p]]}")
    return "deadlock: " + "; ".join(what)


@dataclass
class DepthResult:
    depths: dict[str, int]           # by stream (tensor name)
    period: int                      # cycles a frame, with those depths, input unpaced
    bottleneck: int                  # the slowest process's modelled cycles a frame
    latency: int                     # cycles, first input element to last output word
    paced: FlowResult
    check: FlowResult | None         # the bounded run (None when not asked for)


def fifo_depths(graph: StageGraph, folding: dict[str, Fold], frames: int = 3,
                floor: dict[str, int] | None = None, check: bool = True) -> DepthResult:
    """The depth of every stream at which the pipeline keeps the throughput of its slowest
    process, from a paced unbounded run, checked (``check``) by a bounded unpaced run.
    ``floor``: lower bounds to keep (the untimed deadlock-free depths of
    ``addnn.hls.depths``)."""
    bottleneck = max(stage_cycles(graph, folding).values())
    paced = simulate_unbounded(graph, folding, frames=frames, pace=bottleneck)
    depths = {t: max(MIN_DEPTH, n, (floor or {}).get(t, 0))
              for t, n in paced.max_occupancy.items()}
    if not check:
        return DepthResult(depths, paced.period, bottleneck, paced.latency, paced, None)
    # An unpaced input runs ahead in bursts the paced run never shows; where that costs
    # cycles, the streams whose writes waited grow by an eighth (at least one), a few times.
    for _ in range(REPAIR_ROUNDS + 1):
        run = simulate(graph, folding, depths, frames=frames)
        if run.deadlock:
            raise AddnnError(f"dataflow simulation with the computed depths: {run.deadlock}")
        if run.period is None or run.period <= bottleneck or not run.full:
            break
        for t in run.full:
            depths[t] += max(1, depths[t] // 8)
    return DepthResult(depths, run.period, bottleneck, run.latency, paced, run)
