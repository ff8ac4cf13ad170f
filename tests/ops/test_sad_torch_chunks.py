"""The torch path with its input channels split into chunks, as on a GPU at full batch.

ResNet-20 at batch 128 on CUDA splits 16 channels into chunks of 8; here the chunk budget is
shrunk so that every case runs with chunks of ``cb`` < C channels (the last one shorter when
``cb`` does not divide C). Compared with the float64 unfold reference to 1e-9, as in
test_adder2d.py.
"""

from __future__ import annotations

import contextlib

import torch
from hypothesis import given
from hypothesis import strategies as st

from addnn.ops import reference, sad_torch
from addnn.ops.shapes import output_hw


@contextlib.contextmanager
def channels_per_chunk(n, o, ho, wo, cb, itemsize):
    saved = sad_torch._CHUNK_BYTES
    sad_torch._CHUNK_BYTES = n * o * ho * wo * itemsize * cb
    try:
        yield
    finally:
        sad_torch._CHUNK_BYTES = saved


@st.composite
def chunked_cases(draw):
    k = draw(st.sampled_from([1, 2, 3]))
    stride, padding = draw(st.sampled_from([1, 2])), draw(st.sampled_from([0, 1]))
    c = draw(st.integers(2, 19))
    low = max(1, k - 2 * padding)
    return dict(n=draw(st.integers(1, 3)), c=c, cb=draw(st.integers(1, c - 1)),
                o=draw(st.integers(1, 9)), h=draw(st.integers(low, 9)),
                w=draw(st.integers(low, 9)), k=k, stride=stride, padding=padding,
                seed=draw(st.integers(0, 2**31 - 1)))


def _close(actual, expected, rel=1e-9):
    tol = rel * max(expected.abs().max().item(), 1.0)
    assert (actual - expected).abs().max().item() <= tol


@given(case=chunked_cases())
def test_chunked_forward_and_grad_input_match_reference(case):
    gen = torch.Generator().manual_seed(case["seed"])
    x = torch.randn(case["n"], case["c"], case["h"], case["w"], generator=gen,
                    dtype=torch.float64)
    w = torch.randn(case["o"], case["c"], case["k"], case["k"], generator=gen,
                    dtype=torch.float64)
    s, p = case["stride"], case["padding"]
    ho, wo = output_hw(case["h"], case["w"], case["k"], s, p)
    g = torch.randn(case["n"], case["o"], ho, wo, generator=gen, dtype=torch.float64)
    with channels_per_chunk(case["n"], case["o"], ho, wo, case["cb"], x.element_size()):
        assert sad_torch._channel_chunk(case["n"], case["o"], ho, wo, case["c"],
                                        x.element_size()) == case["cb"]
        out = sad_torch.forward(x, w, s, p)
        gx = sad_torch.grad_input(x, w, g, s, p)
    _close(out, reference.forward(x, w, s, p))
    _close(gx, reference.backward(x, w, g, s, p)[0])
