"""Cycles of each dataflow stage per frame: the iterations of its pipelined loop (one a cycle
at II = 1, as the kernels of ``addnn.hls`` ask) plus its pipeline depth, which drains once a
frame because each process's loop runs once per frame.

The iteration counts are exact: ``addnn.hls.csim.loop_iterations`` counts the same loops in a
build of the kernels, and tests hold the two equal. The pipeline depths are **modelled**: a
stated schedule at 250 MHz (below), not what Vitis HLS would report.
"""

from __future__ import annotations

import math

from addnn.errors import AddnnError
from addnn.hls.folding import Fold, conv_cycles, map_cycles
from addnn.hls.render import io_fields
from addnn.hls.stages import (
    AddStage,
    ConvStage,
    ForkStage,
    InputStage,
    MapKind,
    MapStage,
    OutputStage,
    PoolStage,
    RequantStage,
    StageGraph,
)

# Modelled schedule, in cycles: a stream read and a stream write take one each; the line
# buffer read one; the SAD or MAC lanes one for x - w (or the product) and |.|, then two
# adder-tree levels a cycle, then the accumulator one. A threshold search takes a comparator
# stage per level, a table or a requantizer one, float32 BN the latency of a float
# multiply-add pair (about 8 at 250 MHz).
IO_CYCLES = 1
LINE_BUFFER_CYCLES = 1
MAP_CYCLES = {MapKind.NONE: 0, MapKind.TABLE: 1, MapKind.FLOAT32: 8}


def tree_levels(terms: int) -> int:
    return math.ceil(math.log2(terms)) if terms > 1 else 0


def map_depth(stage) -> int:
    m = stage.map.kind
    return stage.map.levels if m is MapKind.THRESHOLDS else MAP_CYCLES[m]


def pipeline_depth(graph: StageGraph, stage, folding: dict[str, Fold]) -> int:
    """Modelled cycles from an iteration's issue to its last write (its pipeline depth)."""
    if isinstance(stage, ConvStage):
        sad = 1 + math.ceil(tree_levels(folding[stage.name].simd) / 2) + 1
        return 2 * IO_CYCLES + LINE_BUFFER_CYCLES + sad + map_depth(stage)
    if isinstance(stage, MapStage):
        return 2 * IO_CYCLES + (1 if folding[stage.name].serial else map_depth(stage))
    return 2 * IO_CYCLES + 1


def iterations(graph: StageGraph, s, folding: dict[str, Fold]) -> int:
    """Loop iterations per frame of one process (``folding`` is needed for a convolution)."""
    if isinstance(s, ConvStage):
        return conv_cycles(graph, s, folding[s.name])
    if isinstance(s, MapStage):
        return map_cycles(graph, s, folding[s.name])
    if isinstance(s, (RequantStage, AddStage, ForkStage, PoolStage)):
        return graph.tensors[s.inputs[0]].pixels
    if isinstance(s, InputStage):
        return io_fields(graph.tensors[s.outputs[0]])["ELEMS"]
    if isinstance(s, OutputStage):
        f = io_fields(graph.tensors[s.inputs[0]])
        return f["WORDS"] * f["EPW"]
    raise AddnnError(f"cycle model: no loop model for stage {s.name!r} ({s.kind})")


def stage_iterations(graph: StageGraph, folding: dict[str, Fold]) -> dict[str, int]:
    """Iterations per frame by process label (the node name; "input" and "output")."""
    return {label(s): iterations(graph, s, folding) for s in graph.stages}


def label(stage) -> str:
    """The process label of a stage, as ``stage_iterations`` and the counting build key it."""
    if isinstance(stage, InputStage):
        return "input"
    if isinstance(stage, OutputStage):
        return "output"
    return stage.name


def stage_cycles(graph: StageGraph, folding: dict[str, Fold]) -> dict[str, int]:
    """Cycles per frame of each process: iterations plus pipeline depth (modelled)."""
    return {label(s): iterations(graph, s, folding) + pipeline_depth(graph, s, folding)
            for s in graph.stages}
