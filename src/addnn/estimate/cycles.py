"""Loop iterations per frame of each dataflow stage, from its loop nest and folding (the
kernels of ``addnn.hls``, one iteration a cycle at II = 1). Pipeline depths and fill are not
in this count; ``addnn.hls.csim.loop_iterations`` counts the same loops in a build of the
kernels, and the two must be equal."""

from __future__ import annotations

from addnn.hls.folding import Fold, conv_cycles
from addnn.hls.render import io_fields
from addnn.hls.stages import (
    AddStage,
    ConvStage,
    ForkStage,
    InputStage,
    OutputStage,
    PoolStage,
    RequantStage,
    StageGraph,
)


def stage_iterations(graph: StageGraph, folding: dict[str, Fold]) -> dict[str, int]:
    """Iterations per frame by process label (the node name; "input" and "output")."""
    out: dict[str, int] = {}
    for s in graph.stages:
        if isinstance(s, ConvStage):
            out[s.name] = conv_cycles(graph, s, folding[s.name])
        elif isinstance(s, (RequantStage, AddStage, ForkStage, PoolStage)):
            out[s.name] = graph.tensors[s.inputs[0]].pixels
        elif isinstance(s, InputStage):
            out["input"] = io_fields(graph.tensors[s.outputs[0]])["ELEMS"]
        elif isinstance(s, OutputStage):
            f = io_fields(graph.tensors[s.inputs[0]])
            out["output"] = f["WORDS"] * f["EPW"]
    return out
