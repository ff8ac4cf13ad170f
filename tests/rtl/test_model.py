"""The numpy models against plain integers: every variant's difference and |.|, the PE
stream semantics, the DSP ALU lane arithmetic and the Octo8 transfer bit."""

import time

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from addnn.rtl import model
from addnn.rtl.model import Ctrl, Variant
from addnn.rtl.vectors import exhaustive_pairs, windows

u8 = st.integers(0, 255)


def int_view(a, signed):
    return np.asarray(a, np.uint8).view(np.int8 if signed else np.uint8).astype(np.int64)


def test_every_pair_every_variant():
    ctrl, x, w = exhaustive_pairs(8)
    for signed in (False, True):
        ref = np.abs(int_view(x, signed) - int_view(w, signed))
        for v in Variant:
            d = model.unit_diff(v, x, w, signed)
            assert np.array_equal(d, int_view(x, signed) - int_view(w, signed)), v
            assert np.array_equal(model.abs_term(d), ref), v


@given(st.lists(st.tuples(st.lists(u8, min_size=8, max_size=8),
                          st.lists(u8, min_size=8, max_size=8)), min_size=1, max_size=40),
       st.sampled_from(list(Variant)), st.booleans())
def test_pe_window_is_sum_abs_diff(terms, variant, signed):
    x = np.array([t[0] for t in terms], np.uint8)
    w = np.array([t[1] for t in terms], np.uint8)
    ref = [sum(abs(int(a) - int(b)) for a, b in zip(int_view(x, signed)[:, k],
                                                  int_view(w, signed)[:, k])) for k in range(8)]
    out = model.pe_run(variant, windows([len(terms)]), x, w, signed)
    assert out.tolist() == [ref]


@given(st.lists(st.integers(1, 30), min_size=1, max_size=6), st.integers(0, 2**32 - 1))
def test_pe_back_to_back_windows_and_wrap(lengths, seed):
    rng = np.random.default_rng(seed)
    ctrl = windows(lengths)
    x = rng.integers(0, 256, (len(ctrl), 8), dtype=np.uint8)
    w = rng.integers(0, 256, (len(ctrl), 8), dtype=np.uint8)
    bounds = np.cumsum([0, *lengths])
    ref = [model.sad_reference(x[a:b], w[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]
    out = model.pe_run(Variant.OCTO8, ctrl, x, w)
    assert np.array_equal(out, np.array(ref))
    narrow = model.pe_run(Variant.QUAD12, ctrl, x, w, acc_bits=10)
    assert np.array_equal(narrow, np.array(ref) % 1024)


def test_invalid_cycles_ignore_first_and_last():
    ctrl = np.array([Ctrl.VALID | Ctrl.FIRST, Ctrl.FIRST | Ctrl.LAST, Ctrl.VALID | Ctrl.LAST])
    x = np.array([[10] * 8, [200] * 8, [3] * 8], np.uint8)
    out = model.pe_run(Variant.LUT, ctrl, x, np.zeros_like(x))
    assert out.tolist() == [[13] * 8]


@given(st.lists(st.integers(0, 2**48 - 1), min_size=4, max_size=4), st.integers(0, 3),
       st.integers(0, 1))
def test_simd_alu_lanes_are_independent_adders(ops, alumode, cin):
    w, x, y, z = ops
    p, co = model.simd_alu(w, x, y, z, alumode, cin)
    for k in range(4):
        lane = [(v >> (12 * k)) & 0xFFF for v in ops]
        zk = lane[3] ^ 0xFFF if alumode & 1 else lane[3]
        s = zk + lane[0] + lane[1] + lane[2] + (cin if k == 0 else 0)
        r = (s & 0xFFF) ^ (0xFFF if alumode & 2 else 0)
        assert (int(p) >> (12 * k)) & 0xFFF == r
        assert (int(co) >> k) & 1 == ((s >> 12) & 1) ^ (alumode == 3)
    if alumode == 3 and w == y == 0 and cin == 0:   # Z - X per lane, carry = no borrow
        for k in range(4):
            zk, xk = (z >> 12 * k) & 0xFFF, (x >> 12 * k) & 0xFFF
            assert (int(p) >> 12 * k) & 0xFFF == (zk - xk) % 4096
            assert (int(co) >> k) & 1 == (zk >= xk)


@given(st.lists(u8, min_size=8, max_size=8), st.lists(u8, min_size=8, max_size=8))
def test_octo8_transfer_bit_and_lane_fields(x, w):
    _, _, cin, p, co = model.octo8_fields(np.array(x, np.uint8), np.array(w, np.uint8))
    assert cin == (x[0] % 4 < w[0] % 4)                # lane 0's 2 LUT bits borrow via CARRYIN
    for j, (la, lb) in enumerate(model.OCTO8_SPLIT):
        lane = (int(p) >> 12 * j) & 0xFFF
        xa, wa, xb, wb = x[2 * j], w[2 * j], x[2 * j + 1], w[2 * j + 1]
        assert lane & ((1 << (8 - la)) - 1) == ((xa - wa) % 256) >> la   # even lane, exact
        assert (lane >> (8 - la)) & 1 == (xa >= wa)                      # its sign, inverted
        assert (~lane >> (4 + lb)) & ((1 << (8 - lb)) - 1) == ((xb - wb) % 256) >> lb
        assert (int(co) >> j) & 1 == (xb < wb)                           # odd lane's sign
        lo = int(model.octo8_low(xb, wb, lb))
        assert lo % (1 << lb) == (xb - wb) % (1 << lb)
        assert lo >> (lb + 1) == (xb % (1 << lb) >= wb % (1 << lb))
        assert (lo >> lb) & 1 == 1 - (lo >> (lb + 1))


def test_a_million_terms_in_seconds():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (62_500, 16), dtype=np.uint8)
    w = rng.integers(0, 256, x.shape, dtype=np.uint8)
    ctrl = windows([500] * 125)
    start = time.perf_counter()
    outs = {v: model.pe_run(v, ctrl, x, w) for v in Variant}
    elapsed = time.perf_counter() - start
    ref = np.stack([model.sad_reference(x[i:i + 500], w[i:i + 500]) for i in range(0, 62_500,
                                                                                   500)])
    for v, out in outs.items():
        assert np.array_equal(out, ref), v
    assert elapsed < 10, f"3 x 10**6 model terms took {elapsed:.1f} s"
