"""The dataflow simulation: programs against the loop model, the closed form against the
cycle-stepped run, and FIFO depths that keep the throughput (below them it is lost)."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from netgen import random_resnet

from addnn.errors import AddnnError
from addnn.estimate.cycles import stage_cycles, stage_iterations
from addnn.estimate.dataflow import fifo_depths, programs, simulate, simulate_unbounded
from addnn.hls.depths import stream_depths
from addnn.hls.folding import Fold, legal_simd
from addnn.hls.stages import AddStage, build_stages

SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def random_fold(graph, rng) -> dict[str, Fold]:
    out = {}
    for s in graph.conv_stages():
        o = s.weights.shape[0]
        out[s.name] = Fold(int(rng.choice([p for p in range(1, o + 1) if o % p == 0])),
                           int(rng.choice(legal_simd(s))))
    return out


def net(seed, size=8, blocks=1):
    graph = build_stages(random_resnet(seed, (4, 8), size, 8, blocks))
    return graph, random_fold(graph, np.random.default_rng(seed))


@SETTINGS
@given(seed=st.integers(0, 1000))
def test_programs_have_the_loop_models_iterations_and_stream_counts(seed):
    graph, fold = net(seed)
    progs = programs(graph, fold)
    assert {k: len(p.reads) for k, p in progs.items()} == stage_iterations(graph, fold)
    # every stream: its producer writes as many elements a frame as its consumer reads
    writes, reads = {}, {}
    for s in graph.stages:
        p = progs["input" if s.kind == "InputStage" else "output" if s.kind == "OutputStage"
                  else s.name]
        for i, t in enumerate(s.outputs):
            writes[t] = int(((p.writes >> i) & 1).sum())
        for i, t in enumerate(s.inputs):
            reads[t] = int(((p.reads >> i) & 1).sum())
    assert writes == reads
    assert all(writes[t] == graph.tensors[t].pixels for t in writes)


@SETTINGS
@given(seed=st.integers(0, 1000), paced=st.booleans())
def test_the_closed_form_equals_the_cycle_stepped_run(seed, paced):
    graph, fold = net(seed)
    pace = max(stage_cycles(graph, fold).values()) if paced else None
    a = simulate(graph, fold, None, frames=3, pace=pace)
    b = simulate_unbounded(graph, fold, frames=3, pace=pace)
    assert a.deadlock is None
    assert a.frame_done == b.frame_done
    assert a.max_occupancy == b.max_occupancy


@SETTINGS
@given(seed=st.integers(0, 1000), blocks=st.integers(1, 2))
def test_computed_depths_keep_the_slowest_stages_throughput(seed, blocks):
    graph, fold = net(seed, blocks=blocks)
    res = fifo_depths(graph, fold, floor=stream_depths(graph))
    assert res.check.deadlock is None
    assert res.period == res.bottleneck == max(stage_cycles(graph, fold).values())
    assert all(d >= 2 for d in res.depths.values())
    assert all(res.depths[t] >= d for t, d in stream_depths(graph).items())


def _skip_streams(graph):
    """The operands of the residual adds that pass no convolution (the skip paths)."""
    producer = {o: s for s in graph.stages for o in s.outputs}
    return [t for s in graph.stages if isinstance(s, AddStage) for t in s.inputs
            if producer[t].kind in ("RequantStage", "ForkStage")]


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_a_skip_fifo_below_its_depth_loses_throughput_or_deadlocks(seed):
    graph, fold = net(seed, size=16)
    res = fifo_depths(graph, fold)
    skip = max(_skip_streams(graph), key=lambda t: res.depths[t])
    assert res.depths[skip] > 4
    shallow = dict(res.depths, **{skip: res.depths[skip] // 3})
    run = simulate(graph, fold, shallow, frames=3)
    assert run.deadlock is not None or run.period > res.period
    if run.deadlock:
        assert skip in run.deadlock


def test_a_deadlock_names_the_blocked_streams():
    graph, fold = net(0, size=16)
    skip = _skip_streams(graph)[0]
    run = simulate(graph, fold, {skip: 1, **{t: 2 for t in stream_depths(graph) if t != skip}},
                   frames=2)
    assert run.deadlock and run.deadlock.startswith("deadlock: ")
    assert "full" in run.deadlock and "empty" in run.deadlock


def test_bad_depth_is_refused():
    graph, fold = net(0)
    with pytest.raises(AddnnError, match="below 1"):
        simulate(graph, fold, {next(iter(stream_depths(graph))): 0})
