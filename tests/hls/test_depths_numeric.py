"""The depth analysis against a replay of the kernel's loop order, the C++ numeric contract
against addnn.numeric, and zero compiler warnings."""

import subprocess
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from netgen import NetBuilder, random_resnet

import addnn.hls

from addnn.hls.csim import ap_types_dir, compile_warnings
from addnn.hls.depths import conv_need, stream_depths, stream_needs
from addnn.hls.stages import (
    AddStage,
    ConvStage,
    ForkStage,
    MapStage,
    PoolStage,
    RequantStage,
    build_stages,
)
from addnn.numeric import IntType, shift_round

KERNELS = Path(addnn.hls.__file__).parent / "kernels"


def replay(h, w, k, s, pt, pl, pb, pr):
    """conv_layer's loop (addnn_conv.h): reads so far when each output pixel is written."""
    reads, out = 0, []
    ho, wo = (h + pt + pb - k) // s + 1, (w + pl + pr - k) // s + 1
    for r in range(h + pt + pb):
        for c in range(w + pl + pr):
            reads += pt <= r < pt + h and pl <= c < pl + w
            r0, c0 = r - (k - 1), c - (k - 1)
            if r0 >= 0 and c0 >= 0 and r0 % s == 0 and c0 % s == 0 and r0 // s < ho \
                    and c0 // s < wo:
                out.append(reads)
    return np.array(out), ho, wo


@given(h=st.integers(1, 9), w=st.integers(1, 9), k=st.sampled_from([1, 2, 3, 5]),
       s=st.integers(1, 3), pads=st.tuples(*[st.integers(0, 2)] * 4))
def test_conv_need_matches_the_kernels_loop(h, w, k, s, pads):
    pt, pl, pb, pr = pads
    if h + pt + pb < k or w + pl + pr < k:
        return
    expected, ho, wo = replay(h, w, k, s, pt, pl, pb, pr)
    stage = ConvStage("c", [], [], [], kernel=(k, k), strides=(s, s), pads=pads)
    assert np.array_equal(conv_need(stage, h, w, ho, wo), expected)


DRIVER = r"""
#include <cstdio>
#include "addnn_numeric.h"
template <int S> long long f(long long q) { return addnn::shift_round<S, long long>(q); }
int main() {
    long long q; int s; float t;
    while (std::scanf("%lld %d %f", &q, &s, &t) == 3) {
        long long r = 0;
        switch (s) {
            case -9: r = f<-9>(q); break; case -5: r = f<-5>(q); break;
            case -3: r = f<-3>(q); break; case -1: r = f<-1>(q); break;
            case 0: r = f<0>(q); break; case 2: r = f<2>(q); break;
        }
        std::printf("%lld %lld\n", r, (long long)addnn::round_half_even_clamp(t, -300, 300));
    }
}
"""


@pytest.mark.gxx
@settings(max_examples=5)
@given(seed=st.integers(0, 1000))
def test_cpp_rounding_equals_the_numeric_contract(seed, tmp_path_factory, gxx):
    """Shifts with round half to even, ties included, and the float32 BN rounding."""
    tmp = tmp_path_factory.mktemp("num")
    (tmp / "d.cpp").write_text(DRIVER)
    for exact in (False, True):
        flags = ["-DADDNN_EXACT_TYPES"] if exact else []
        subprocess.run(["g++", "-std=c++14", "-DADDNN_LOCAL_AXIS", *flags, "-isystem",
                        str(ap_types_dir()), "-I", str(KERNELS), str(tmp / "d.cpp"), "-o",
                        str(tmp / "d")], check=True)
        rng = np.random.default_rng(seed)
        shifts = rng.choice([-9, -5, -3, -1, 0, 2], 400)
        q = rng.integers(-5000, 5000, 400)
        q[:40] = (rng.integers(-50, 50, 40) * 2 + 1) << 4        # exact ties at shift -5
        shifts[:40] = -5
        t = (rng.integers(-700, 700, 400) / 2).astype(np.float32)  # .5 ties for the float path
        text = "\n".join(f"{a} {b} {c:.9g}" for a, b, c in zip(q, shifts, t))
        out = subprocess.run([str(tmp / "d")], input=text, capture_output=True, text=True,
                             check=True).stdout.split()
        got = np.array(out, dtype=np.int64).reshape(-1, 2)
        want = np.array([shift_round(np.int64(a), int(b)) for a, b in zip(q, shifts)])
        assert np.array_equal(got[:, 0], want)
        assert np.array_equal(got[:, 1], np.clip(np.rint(t), -300, 300))


@pytest.mark.gxx
@pytest.mark.parametrize("exact", [False, True])
def test_generated_sources_compile_without_warnings(build, exact):
    """-Wall -Wextra: every kernel kind (thresholds, table, float32 BN, none, pool, fork)."""
    b = NetBuilder(2, 4, bits=2, signed=False, exponent=-2, seed=3)
    table = b.bn(b.conv(b.input, 3, 1, 1, 0), IntType(4, False, -1), relu=True, kind="table")
    fbn = b.bn(b.conv(table, 2, 3, 1, 1), IntType(8, False, -2), relu=True, float32=True)
    small = b.model(b.requantize(b.conv(fbn, 2, 1), IntType(12, True, -2)))
    packed = random_resnet(2, (8, 8), 4, 8, 1)
    for model, kw in ((random_resnet(2, (2, 4), 4, 8, 1), {}), (small, {"bn": "float32"}),
                      (packed, {"sad": "octo8"})):
        prj = build(model, **kw)
        assert compile_warnings(prj, exact) == []
        # What Vitis synthesis compiles (no simulation code) is well-formed C++14 too.
        assert compile_warnings(prj, exact, synthesis_view=True) == []


def forward_counts(graph, source: str) -> dict[str, np.ndarray]:
    """Untimed forward simulation: after m = 0..P elements of ``source`` (P its pixels),
    how many elements every stream downstream of it holds in total, with unbounded buffers.
    Convolutions write when the kernel's loop (``replay``) has read enough; the pool after
    the whole map; per-pixel stages and forks one for one; a join as its slower operand."""
    steps = graph.tensors[source].pixels
    counts = {source: np.arange(steps + 1)}
    for s in graph.stages:
        if not s.inputs or not all(i in counts for i in s.inputs) or \
                any(o in counts for o in s.outputs):
            continue
        n = counts[s.inputs[0]]
        x = graph.tensors[s.inputs[0]]
        if isinstance(s, ConvStage):
            assert s.kernel[0] == s.kernel[1] and s.strides[0] == s.strides[1]
            reads, _, _ = replay(x.height, x.width, s.kernel[0], s.strides[0], *s.pads)
            out = (reads[None, :] <= n[:, None]).sum(1)
        elif isinstance(s, PoolStage):
            out = (n >= x.pixels).astype(np.int64)
        elif isinstance(s, AddStage):
            out = np.minimum(n, counts[s.inputs[1]])
        else:
            out = n
        for o in s.outputs:
            counts[o] = out
    return counts


def reference_depths(graph) -> dict[str, int]:
    """Depth of each join operand: the most elements its branch produces beyond what the
    join has taken while the join waits for the other operand's next element, plus the
    slack; counted from the fork both operands come from, else from the accelerator input."""
    producer = {o: s for s in graph.stages for o in s.outputs}

    def fork_of(t):
        while True:
            s = producer[t]
            if isinstance(s, ForkStage):
                return s
            if not isinstance(s, (ConvStage, RequantStage, PoolStage, MapStage)):
                return None
            t = s.inputs[0]

    depths = {}
    for s in graph.stages:
        if not isinstance(s, AddStage):
            continue
        forks = [fork_of(t) for t in s.inputs]
        same = forks[0] is not None and forks[0] is forks[1]
        counts = forward_counts(graph, forks[0].inputs[0] if same else graph.input)
        for own, other in (s.inputs, s.inputs[::-1]):
            ahead = max(int(counts[own][int(np.argmax(counts[other] >= j + 1))]) - j
                        for j in range(int(counts[other][-1])))
            depths[own] = max(2, ahead + 2)        # FINN's default depth; a slack of 2
    return depths


def nested_residual(seed: int):
    """A residual block inside the branch of another: the outer join's operands share no
    fork reachable through single-input stages (one passes the inner join)."""
    b = NetBuilder(2, 4, seed=seed)
    stream = IntType(8, False, -4)
    x = b.bn(b.conv(b.input, 4, 3, 1, 1, adder=False), stream, relu=True)
    h = b.bn(b.conv(x, 4, 3, 1, 1), stream, relu=True)
    h = b.block(h, 4, 1, 8, stream)
    res = IntType(9, True, stream.exponent)
    y = b.requantize(b.add(b.requantize(h, res), b.requantize(x, res)), stream, relu=True)
    return b.model(b.flatten(b.bn(b.conv(b.pool(y), 3, 1, adder=False),
                                  IntType(16, True, -8), relu=False)))


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 1000), size=st.sampled_from([4, 8]),
       channels=st.sampled_from([(2, 4), (4, 4), (3, 6)]), blocks=st.integers(1, 2),
       nested=st.booleans())
def test_join_depths_equal_an_untimed_forward_simulation(seed, size, channels, blocks,
                                                          nested):
    """stream_depths and stream_needs against element counts simulated forward through the
    stages (the convolutions by the kernel's own loop), at every join of random ResNets and
    of a nested residual; every other stream keeps the default depth."""
    model = nested_residual(seed) if nested else random_resnet(seed, channels, size, 8, blocks)
    graph = build_stages(model)
    got = stream_depths(graph)
    expected = reference_depths(graph)
    assert expected and {t: got[t] for t in expected} == expected
    assert all(d == 2 for t, d in got.items() if t not in expected)
    assert set(got) == {o for s in graph.stages for o in s.outputs}
    assert any(d > 2 for d in expected.values())
    # need[j]: the input pixels before element j + 1 of the stream exists
    counts = forward_counts(graph, graph.input)
    for t, need in stream_needs(graph).items():
        assert need.tolist() == [int(np.argmax(counts[t] >= j + 1))
                                 for j in range(int(counts[t][-1]))], t
