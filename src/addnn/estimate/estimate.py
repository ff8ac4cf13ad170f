"""The estimate of a generated accelerator: the folding (chosen by integer programming, or
given), each stage's cycles and resources, the FIFO depths from the dataflow simulation, FPS
and latency, and the totals against the board.

Measured or modelled, figure by figure:
- loop iterations: exact, equal to the counting build of the kernels (``--counts`` of csim);
- pipeline depths, hence cycles a frame beyond the iterations, FPS and latency: modelled
  (``cycles.py``), latency and the steady-state period from the dataflow simulation;
- SAD lanes, comparators and adders: yosys-calibrated (measured on equivalent RTL);
- memories, DSPs, windows and control: modelled (``resources.py``, ``memory.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

from addnn.errors import AddnnError
from addnn.estimate import memory
from addnn.estimate import resources as rs
from addnn.estimate.allocate import Allocation, Option, allocate
from addnn.estimate.boards import RESOURCES, Board
from addnn.estimate.cycles import (
    iterations,
    label,
    pipeline_depth,
    stage_cycles,
    stage_iterations,
)
from addnn.estimate.dataflow import fifo_depths
from addnn.hls.depths import stream_depths
from addnn.hls.folding import Fold, check_folding, conv_cycles, legal_simd
from addnn.hls.stages import (
    ConvStage,
    LayerMap,
    MapKind,
    MapStage,
    StageGraph,
    separate_maps,
)


MAX_ROUNDS = 4


@dataclass
class StageRow:
    name: str
    kind: str
    pe: int | None
    simd: int | None
    iterations: int
    cycles: int
    res: dict[str, float]
    parts: dict[str, dict[str, float]] = field(default_factory=dict)
    map: str = ""


@dataclass
class Estimate:
    board: Board
    clock_mhz: float
    sad: str
    util: float
    fps_target: float | None
    folding: dict[str, Fold]
    rows: list[StageRow]
    streams: dict[str, dict]            # tensor -> depth, width and resources
    totals: dict[str, float]
    period: int                         # simulated cycles a frame, steady state
    bottleneck: int                     # modelled cycles of the slowest stage
    latency: int                        # simulated cycles, first input to last output
    allocation: Allocation | None = None
    graph: StageGraph | None = None     # the graph estimated (maps separated as chosen)

    @property
    def fps(self) -> float:
        return self.clock_mhz * 1e6 / self.period

    @property
    def latency_ms(self) -> float:
        return self.latency / (self.clock_mhz * 1e3)

    def fraction(self) -> dict[str, float]:
        return {r: (self.totals[r] / self.board.resources[r] if self.board.resources[r]
                    else (0.0 if self.totals[r] == 0 else float("inf"))) for r in RESOURCES}


def layer_options(graph: StageGraph, stage: ConvStage, sad: str,
                  impl: tuple[str, int]) -> list[Option]:
    """Every legal folding of a layer with its cycles and resources: its BN map fused (one
    map unit per PE), or in a process of its own with M units (M dividing COUT; a progression
    map also searching one level a cycle), which then adds its cycles, its units, its control
    and the accumulator stream."""
    o = stage.weights.shape[0]
    bare = replace(stage, map=LayerMap(MapKind.NONE)) if len(stage.nodes) > 1 else None
    divisors = [p for p in range(1, o + 1) if o % p == 0]
    separate = {}
    if bare is not None:
        acc_fifo = rs.mem(memory.fifo(2, o * stage.acc.bits))
        probe = MapStage(stage.nodes[1], stage.nodes[1:], [stage.acc_tensor],
                         list(stage.outputs), map=stage.map, acc=stage.acc)
        searches = (False, True) if impl[0] == "progression" else (False,)
        for m in divisors:
            for serial in searches:
                fold = {probe.name: Fold(m, 1, serial)}
                cycles = iterations(graph, probe, fold) + pipeline_depth(graph, probe, fold)
                res = rs.total(rs.map_stage_parts(graph, probe, m, impl, serial)) + acc_fifo
                separate[m, serial] = (cycles, res)
    out = []
    for pe in divisors:
        for simd in legal_simd(stage, sad):
            fold = Fold(pe, simd)
            cycles = conv_cycles(graph, stage, fold) + pipeline_depth(graph, stage,
                                                                      {stage.name: fold})
            res = rs.total(rs.conv_parts(graph, stage, fold, sad, impl)).board_dict()
            out.append(Option(fold, cycles, res))
            if bare is None:
                continue
            conv = conv_cycles(graph, bare, fold) + pipeline_depth(graph, bare,
                                                                   {stage.name: fold})
            base = rs.total(rs.conv_parts(graph, bare, fold, sad, ("none", 0)))
            for (m, serial), (map_cyc, map_res) in separate.items():
                out.append(Option(fold, max(conv, map_cyc), (base + map_res).board_dict(), m,
                                  serial))
    return out


def _stream_rows(graph: StageGraph, depths: dict[str, int]) -> dict[str, dict]:
    cost = rs.stream_cost(graph, depths)
    return {t: {"depth": d, "width": graph.tensors[t].channels * graph.tensors[t].type.bits,
                **cost[t].board_dict()} for t, d in depths.items()}


def apply_choices(graph: StageGraph, allocation: Allocation
                  ) -> tuple[StageGraph, dict[str, Fold]]:
    """The graph with the chosen maps separated, and the folding of all its stages."""
    folding = dict(allocation.folding)
    maps = {}
    for name, o in allocation.choices.items():
        if o.map_pe is not None:
            maps[graph.stage(name).nodes[1]] = Fold(o.map_pe, 1, o.map_serial)
    folding.update(maps)
    return separate_maps(graph, maps), folding


def _fixed(graph: StageGraph) -> tuple[rs.Res, int]:
    fixed = [s for s in graph.stages if not isinstance(s, (ConvStage, MapStage))]
    res = rs.total([rs.pixel_stage(graph, s) for s in fixed])
    cycles = max((iterations(graph, s, {}) + pipeline_depth(graph, s, {}) for s in fixed),
                 default=0)
    return res, cycles


def estimate(graph: StageGraph, board: Board, clock_mhz: float = 250.0, sad: str = "lut",
             util: float = 0.8, fps_target: float | None = None,
             folding: dict[str, Fold] | None = None, frames: int = 3) -> Estimate:
    """Choose the folding (unless given: then for ``graph`` as it is, maps separated or not),
    then simulate and cost the whole design."""
    allocation = None
    if folding is None:
        if graph.map_stages():
            raise AddnnError("the folding is chosen on the graph with every BN map in its "
                             "layer; separate maps come out of the choice")
        impls = {s.name: rs.map_impl(s) for s in graph.conv_stages()}
        options = {s.name: layer_options(graph, s, sad, impls[s.name])
                   for s in graph.conv_stages()}
        budget = {r: util * board.resources[r] for r in RESOURCES}
        fixed_res, fixed_cycles = _fixed(graph)
        # The streams' depths follow the folding (dataflow simulation), so the program
        # starts from the untimed depths and is solved again with the simulated ones until
        # the design fits.
        streams_res = rs.total(rs.stream_cost(graph, stream_depths(graph)))
        for _ in range(MAX_ROUNDS):
            allocation = allocate(options, fixed_cycles, (fixed_res + streams_res).board_dict(),
                                  budget, clock_mhz, fps_target)
            chosen, fold = apply_choices(graph, allocation)
            flow = fifo_depths(chosen, fold, frames=frames, floor=stream_depths(chosen),
                               check=False)
            total = _cost(chosen, fold, sad, flow.depths)[2]
            if all(total[r] <= budget[r] + 1e-6 for r in RESOURCES):
                break
            simulated = rs.total(rs.stream_cost(chosen, flow.depths))
            streams_res = rs.Res(*(max(getattr(streams_res, f.name),
                                       getattr(simulated, f.name)) + 1e-3
                                   for f in fields(rs.Res)))
        graph, folding = chosen, fold
    check_folding(graph, folding, sad)
    flow = fifo_depths(graph, folding, frames=frames, floor=stream_depths(graph))
    rows, streams, totals = _cost(graph, folding, sad, flow.depths)
    return Estimate(board, clock_mhz, sad, util, fps_target, folding, rows, streams, totals,
                    flow.period, flow.bottleneck, flow.latency, allocation, graph)


def _cost(graph: StageGraph, folding: dict[str, Fold], sad: str, depths: dict[str, int]):
    """Per-stage rows, stream rows and totals of a folded graph."""
    its = stage_iterations(graph, folding)
    cyc = stage_cycles(graph, folding)
    rows = []
    for s in graph.stages:
        lb = label(s)
        if isinstance(s, (ConvStage, MapStage)):
            impl = rs.map_impl(s)
            fold = folding[s.name]
            parts = (rs.conv_parts(graph, s, fold, sad, impl) if isinstance(s, ConvStage)
                     else rs.map_stage_parts(graph, s, fold.pe, impl, fold.serial))
            rows.append(StageRow(lb, s.kind, fold.pe, fold.simd, its[lb], cyc[lb],
                                 rs.total(parts).board_dict(),
                                 {k: v.board_dict() for k, v in parts.items()}, impl[0]))
        else:
            rows.append(StageRow(lb, s.kind, None, None, its[lb], cyc[lb],
                                 rs.pixel_stage(graph, s).board_dict()))
    streams = _stream_rows(graph, depths)
    totals = {r: sum(row.res[r] for row in rows) + sum(v[r] for v in streams.values())
              for r in RESOURCES}
    return rows, streams, totals
