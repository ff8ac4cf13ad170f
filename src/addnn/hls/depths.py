"""Stream depths that cannot deadlock, from the stages' read-before-write order (untimed).

For every stream ``s`` let ``need_s[j]`` be the number of input pixels the accelerator must
receive before element ``j + 1`` of ``s`` can exist, given unbounded buffers. A convolution
stage reads its input in raster order over the padded grid and emits output ``j`` right after
the position that completes its window, so its ``need`` is a count of real positions; per-pixel
stages emit element ``j`` after reading element ``j``; the pool emits after the whole frame.

At a join (the residual add) waiting for element ``j + 1`` of operand ``a``, the input must
advance to ``need_a[j]`` pixels, and meanwhile operand ``b`` receives ``avail_b(need_a[j])``
elements of which the join has taken ``j``, with ``avail_b(m)`` the elements of ``b`` that
``m`` input pixels allow. Operand ``b``'s stream gets the largest such surplus (plus
``SLACK``), and likewise ``a``'s: with it the branch that runs ahead never stalls the fork
that feeds both. Internal buffers (line buffers, the depth-2 streams
inside a branch) only add room, so the depths are safe; the bounded C simulation checks them
(``addnn csim --bounded``). Every other stream gets FINN's default depth of 2.
"""

from __future__ import annotations

import numpy as np

from addnn.hls.stages import (
    AddStage,
    ConvStage,
    ForkStage,
    InputStage,
    MapStage,
    PoolStage,
    RequantStage,
    StageGraph,
)

DEFAULT_DEPTH = 2
SLACK = 2


def conv_need(stage: ConvStage, height: int, width: int, out_h: int, out_w: int) -> np.ndarray:
    """Input pixels read before output pixel j is written, j = 0 .. out_h * out_w - 1."""
    kh, kw = stage.kernel
    sh, sw = stage.strides
    pt, pl = stage.pads[0], stage.pads[1]
    oy, ox = np.divmod(np.arange(out_h * out_w), out_w)
    r, c = oy * sh + kh - 1, ox * sw + kw - 1          # padded position completing the window
    rows_before = np.clip(r - pt, 0, height)
    row_real = (r >= pt) & (r < pt + height)
    return rows_before * width + np.where(row_real, np.clip(c - pl + 1, 0, width), 0)


def local_need(graph: StageGraph, s) -> np.ndarray:
    """Input elements a single-input stage reads before writing output element j."""
    x, y = graph.tensors[s.inputs[0]], graph.tensors[s.outputs[0]]
    if isinstance(s, ConvStage):
        return conv_need(s, x.height, x.width, y.height, y.width)
    if isinstance(s, PoolStage):
        return np.array([x.pixels])
    return np.arange(1, x.pixels + 1)                  # per-pixel stages and forks


def _compose(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """need through two stages: ``inner`` elements of the middle stream, each needing
    ``outer`` of the first."""
    return outer[np.maximum(inner, 1) - 1]


def stream_needs(graph: StageGraph) -> dict[str, np.ndarray]:
    """``need`` of every stream in input pixels of the accelerator."""
    need: dict[str, np.ndarray] = {}
    for s in graph.stages:
        if isinstance(s, InputStage):
            need[s.outputs[0]] = np.arange(1, graph.tensors[s.outputs[0]].pixels + 1)
        elif isinstance(s, AddStage):
            need[s.outputs[0]] = np.maximum(need[s.inputs[0]], need[s.inputs[1]])
        elif isinstance(s, (ConvStage, RequantStage, ForkStage, PoolStage, MapStage)):
            for o in s.outputs:
                need[o] = _compose(need[s.inputs[0]], local_need(graph, s))
    return need


def _branch_need(graph: StageGraph, tensor: str) -> tuple[str, np.ndarray] | None:
    """Walk back from ``tensor`` through single-input stages to a fork: the fork's name and
    the branch's need in elements of the fork's input; None if the branch has a join."""
    producer = {o: s for s in graph.stages for o in s.outputs}
    need = None
    while True:
        s = producer[tensor]
        if isinstance(s, ForkStage):
            return s.name, need if need is not None else np.arange(
                1, graph.tensors[tensor].pixels + 1)
        if not isinstance(s, (ConvStage, RequantStage, PoolStage, MapStage)):
            return None
        local = local_need(graph, s)
        need = local if need is None else _compose(local, need)
        tensor = s.inputs[0]


def _avail(need: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Elements of a stream available once ``m`` input elements have arrived."""
    return np.searchsorted(need, m, side="right")


def stream_depths(graph: StageGraph) -> dict[str, int]:
    """Depth of every stream (by tensor name): ``DEFAULT_DEPTH``, or at a join what the
    operand that runs ahead must hold. Needs are counted from the fork both operands come
    from; failing that (a join inside a branch), from the accelerator's input, which only
    overestimates."""
    global_need = stream_needs(graph)
    depths = {name: DEFAULT_DEPTH for name in global_need}
    for s in graph.stages:
        if not isinstance(s, AddStage):
            continue
        branches = [_branch_need(graph, t) for t in s.inputs]
        if all(b is not None for b in branches) and branches[0][0] == branches[1][0]:
            need = {t: b[1] for t, b in zip(s.inputs, branches)}
        else:
            need = {t: global_need[t] for t in s.inputs}
        for own, other in (s.inputs, s.inputs[::-1]):
            # While the join waits for element j + 1 of ``other``, ``own`` must hold what the
            # input that element needs lets ``own``'s branch produce.
            j = np.arange(len(need[own]))
            ahead = int((_avail(need[own], need[other]) - j).max())
            depths[own] = max(DEFAULT_DEPTH, ahead + SLACK)
    return depths
