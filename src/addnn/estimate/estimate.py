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

from dataclasses import dataclass, field

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
from addnn.estimate.dataflow import DepthResult, fifo_depths
from addnn.hls.depths import stream_depths
from addnn.hls.folding import Fold, check_folding, conv_cycles, legal_simd
from addnn.hls.stages import ConvStage, StageGraph


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
    """Every legal folding of a layer with its cycles and resources."""
    o = stage.weights.shape[0]
    out = []
    for pe in (p for p in range(1, o + 1) if o % p == 0):
        for simd in legal_simd(stage, sad):
            fold = Fold(pe, simd)
            cycles = conv_cycles(graph, stage, fold) + pipeline_depth(graph, stage,
                                                                      {stage.name: fold})
            res = rs.total(rs.conv_parts(graph, stage, fold, sad, impl)).board_dict()
            out.append(Option(fold, cycles, res))
    return out


def _stream_rows(graph: StageGraph, depths: dict[str, int]) -> dict[str, dict]:
    cost = rs.stream_cost(graph, depths)
    return {t: {"depth": d, "width": graph.tensors[t].channels * graph.tensors[t].type.bits,
                **cost[t].board_dict()} for t, d in depths.items()}


def estimate(graph: StageGraph, board: Board, clock_mhz: float = 250.0, sad: str = "lut",
             util: float = 0.8, fps_target: float | None = None,
             folding: dict[str, Fold] | None = None, frames: int = 3) -> Estimate:
    """Choose the folding (unless given), then simulate and cost the whole design."""
    impls = {s.name: rs.map_impl(s) for s in graph.conv_stages()}
    fixed = [s for s in graph.stages if not isinstance(s, ConvStage)]
    fixed_res = rs.Res()
    for s in fixed:
        fixed_res = fixed_res + rs.pixel_stage(graph, s)
    untimed = stream_depths(graph)
    fixed_cycles = max((iterations(graph, s, {}) + pipeline_depth(graph, s, {}) for s in fixed),
                       default=0)
    allocation = None
    given = folding is not None
    if not given:
        options = {s.name: layer_options(graph, s, sad, impls[s.name])
                   for s in graph.conv_stages()}
        budget = {r: util * board.resources[r] for r in RESOURCES}
        # The streams' depths follow the folding (dataflow simulation), so the program
        # starts from the untimed depths and is solved again with the simulated ones until
        # the design fits.
        streams_res = rs.total(rs.stream_cost(graph, untimed))
    for _ in range(1 if given else MAX_ROUNDS):
        if not given:
            allocation = allocate(options, fixed_cycles, (fixed_res + streams_res).board_dict(),
                                  budget, clock_mhz, fps_target)
            folding = allocation.folding
        check_folding(graph, folding, sad)
        flow: DepthResult = fifo_depths(graph, folding, frames=frames, floor=untimed,
                                        check=False)
        if given:
            break
        simulated = rs.total(rs.stream_cost(graph, flow.depths))
        over = any(allocation.used[r] - streams_res.board_dict()[r] + simulated.board_dict()[r]
                   > budget[r] + 1e-6 for r in RESOURCES)
        if not over:
            break
        streams_res = rs.Res(*(max(a, b) for a, b in zip(
            (streams_res.lut, streams_res.ff, streams_res.dsp, streams_res.bram18,
             streams_res.uram),
            (simulated.lut, simulated.ff, simulated.dsp, simulated.bram18, simulated.uram))))
    flow = fifo_depths(graph, folding, frames=frames, floor=untimed)
    its = stage_iterations(graph, folding)
    cyc = stage_cycles(graph, folding)
    rows = []
    for s in graph.stages:
        lb = label(s)
        if isinstance(s, ConvStage):
            parts = rs.conv_parts(graph, s, folding[s.name], sad, impls[s.name])
            res = rs.total(parts)
            rows.append(StageRow(lb, s.kind, folding[s.name].pe, folding[s.name].simd, its[lb],
                                 cyc[lb], res.board_dict(),
                                 {k: v.board_dict() for k, v in parts.items()},
                                 impls[s.name][0]))
        else:
            rows.append(StageRow(lb, s.kind, None, None, its[lb], cyc[lb],
                                 rs.pixel_stage(graph, s).board_dict()))
    streams = _stream_rows(graph, flow.depths)
    totals = {r: sum(row.res[r] for row in rows) + sum(v[r] for v in streams.values())
              for r in RESOURCES}
    return Estimate(board, clock_mhz, sad, util, fps_target, folding, rows, streams, totals,
                    flow.period, flow.bottleneck, flow.latency, allocation)
