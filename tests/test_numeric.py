"""The numeric contract against independent float64 / float references."""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from addnn.numeric import (
    BNParams,
    IntType,
    adder_acc_type,
    adder_int,
    avgpool_int,
    bn_requant_map,
    bn_requant_reference,
    exponent_of,
    requantize,
    shift_round,
)
from addnn.ops import adder2d


@given(q=st.lists(st.integers(-2**40, 2**40), min_size=1, max_size=50),
       shift=st.integers(-20, 10))
def test_shift_round_is_round_half_even(q, shift):
    q = np.array(q, dtype=np.int64)
    from fractions import Fraction
    expected = [round(Fraction(int(v)) * Fraction(2) ** shift) for v in q]  # exact, half-even
    assert shift_round(q, shift).tolist() == expected
    assert shift_round(torch.from_numpy(q), shift).tolist() == expected


def test_ties_go_to_even():
    q = np.array([-7, -5, -3, -1, 1, 3, 5, 7])                       # x / 2 are all ties
    assert shift_round(q, -1).tolist() == [-4, -2, -2, 0, 0, 2, 2, 4]


def test_requantize_clamps():
    out = IntType(8, False, -2)
    assert requantize(np.array([-5, 3, 4000]), -4, out).tolist() == [0, 1, 255]
    assert requantize(torch.tensor([-5, 3, 4000]), 0, IntType(4, True, 0)).tolist() == [-5, 3, 7]


def test_int_types():
    assert (IntType(8, True).lo, IntType(8, True).hi) == (-128, 127)
    assert (IntType(8, False).lo, IntType(8, False).hi) == (0, 255)
    assert IntType.for_range(-147456, 0) == IntType(19, True, 0)
    assert IntType.for_range(0, 255) == IntType(8, False, 0)


@pytest.mark.parametrize("scale, e", [(1.0, 0), (0.125, -3), (2.0 ** -20, -20), (64.0, 6)])
def test_exponent_of(scale, e):
    assert exponent_of(scale) == e


@pytest.mark.parametrize("scale", [0.3, 0.0, -0.5, float("nan"), 3.0])
def test_exponent_of_rejects(scale):
    with pytest.raises(ValueError, match="layer1.act"):
        exponent_of(scale, "layer1.act")


@given(seed=st.integers(0, 10_000), ex=st.integers(-6, 0), ew=st.integers(-6, 0),
       k=st.sampled_from([1, 3]), stride=st.sampled_from([1, 2]), padding=st.sampled_from([0, 1]))
def test_adder_int_matches_float_kernel(seed, ex, ew, k, stride, padding):
    """On exact grid values the float kernel computes the same sum (every partial sum exact)."""
    gen = torch.Generator().manual_seed(seed)
    qx = torch.randint(0, 256, (2, 3, 6, 6), generator=gen)
    qw = torch.randint(-128, 128, (4, 3, k, k), generator=gen)
    acc, e = adder_int(qx, ex, qw, ew, stride, padding)
    ref = adder2d(qx.double() * 2.0 ** ex, qw.double() * 2.0 ** ew, stride, padding)
    assert e == min(ex, ew)
    assert torch.equal(acc.double() * 2.0 ** e, ref)


def test_adder_accumulator_bound_is_reached_and_respected():
    """All-extreme inputs and weights reach the computed worst case exactly."""
    x_type = IntType(8, False, -4)
    acc_type = adder_acc_type(x_type, -128, 127, -6, window=16 * 9)
    qx = torch.full((1, 16, 5, 5), 255)
    qw = torch.full((2, 16, 3, 3), -128)
    acc, _ = adder_int(qx, -4, qw, -6, padding=1)
    assert acc_type.contains(acc)
    assert acc.min().item() == -(255 * 4 + 128) * 16 * 9
    assert acc_type.lo <= acc.min().item() and acc_type.hi >= 0
    narrower = IntType(acc_type.bits - 1, True, acc_type.exponent)
    assert not narrower.contains(acc)          # one bit less would overflow


def _bn(seed, channels):
    rng = np.random.default_rng(seed)
    gamma = rng.normal(0, 2, channels)
    gamma[::3] *= -1
    gamma[channels // 2] = 0.0                 # a constant channel
    return BNParams(gamma, rng.normal(0, 1, channels), rng.normal(-200, 60, channels),
                    rng.uniform(5, 3000, channels), 1e-5)


@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("in_bits, out", [(8, IntType(8, True, -3)), (14, IntType(8, False, -4)),
                                          (18, IntType(4, False, -1)), (7, IntType(6, True, -2))])
def test_bn_map_equals_reference_on_every_input(relu, in_bits, out):
    inp = IntType(in_bits, True, -4)
    bn = _bn(in_bits, 7)
    m = bn_requant_map(bn, inp, out, relu)
    assert m.kind == ("table" if in_bits <= 8 else "thresholds")
    every = torch.arange(inp.lo, inp.hi + 1).view(1, 1, -1).expand(1, 7, -1).contiguous()
    expected = bn_requant_reference(every[0].numpy(), inp.exponent, bn, out, relu)
    assert np.array_equal(m(every)[0].numpy(), expected)


@given(seed=st.integers(0, 1000))
def test_bn_map_on_random_tensors(seed):
    inp, out = IntType(16, True, -2), IntType(8, True, -3)
    bn = _bn(seed, 5)
    m = bn_requant_map(bn, inp, out)
    acc = torch.randint(inp.lo, inp.hi + 1, (2, 5, 3, 3),
                        generator=torch.Generator().manual_seed(seed))
    expected = bn_requant_reference(acc.transpose(0, 1).numpy(), inp.exponent, bn, out, False)
    assert np.array_equal(m(acc).transpose(0, 1).numpy(), expected)


def test_bn_map_rejects_inputs_outside_its_type():
    m = bn_requant_map(_bn(0, 3), IntType(8, True), IntType(8, True))
    with pytest.raises(ValueError, match="outside"):
        m(torch.full((1, 3, 1, 1), 200))


def test_avgpool_rounds_half_even():
    q = torch.zeros(1, 2, 8, 8, dtype=torch.int64)
    q[0, 0, 0, 0] = 32          # 32 / 64 = 0.5 -> 0
    q[0, 1, 0, 0] = 96          # 1.5 -> 2
    assert avgpool_int(q, 6).tolist() == [[0, 2]]


@given(seed=st.integers(0, 1000), relu=st.booleans())
def test_torch_evaluation_of_the_map_is_bit_identical(seed, relu):
    inp, out = IntType(18, True, -3), IntType(8, False, -2)
    bn = _bn(seed, 6)
    acc = torch.randint(inp.lo, inp.hi + 1, (2, 6, 4, 4),
                        generator=torch.Generator().manual_seed(seed))
    from addnn.numeric import bn_requant_torch
    fast = bn_requant_torch(acc, inp.exponent, bn, out, relu)
    ref = bn_requant_reference(acc.transpose(0, 1).numpy(), inp.exponent, bn, out, relu)
    assert np.array_equal(fast.transpose(0, 1).numpy(), ref)
    assert torch.equal(fast, bn_requant_map(bn, inp, out, relu)(acc))


def _fraction_bn(v: int, e_in: int, a: float, b: float, e_out: int, out: IntType,
                 relu: bool) -> int:
    """BN + requantization in exact rationals: round_half_even((v 2^e_in a + b) / 2^e_out)."""
    from fractions import Fraction
    y = Fraction(v) * Fraction(2) ** e_in * Fraction(a) + Fraction(b)
    if relu:
        y = max(y, Fraction(0))
    return min(max(round(y / Fraction(2) ** e_out), out.lo), out.hi)   # round(): half-even


@st.composite
def tie_cases(draw):
    """A power-of-two ``a`` and a ``b`` on the half-step of the output grid, so every product
    on a grid at least as fine as the output's lands exactly on .5 (float64 is then exact)."""
    e_in, e_out = draw(st.integers(-8, 0)), draw(st.integers(-6, 2))
    channels = draw(st.integers(1, 4))
    k = [draw(st.integers(e_out - e_in, e_out - e_in + 2)) for _ in range(channels)]
    a = np.array([draw(st.sampled_from([1.0, -1.0])) * 2.0 ** kk for kk in k])
    b = np.array([(draw(st.integers(-40, 40)) + 0.5) * 2.0 ** e_out for _ in range(channels)])
    return e_in, e_out, a, b


@given(case=tie_cases(), in_bits=st.sampled_from([6, 8, 11]), relu=st.booleans(),
       signed_out=st.booleans())
def test_bn_map_rounds_exact_ties_half_to_even(case, in_bits, relu, signed_out):
    from addnn.numeric import BNAffine, bn_requant_torch
    e_in, e_out, a, b = case
    bn = BNAffine(a, b)
    in_type, out = IntType(in_bits, True, e_in), IntType(8, signed_out, e_out)
    grid = np.arange(in_type.lo, in_type.hi + 1)
    acc = np.broadcast_to(grid, (len(a), len(grid)))
    expected = np.array([[_fraction_bn(int(v), e_in, a[c], b[c], e_out, out, relu)
                          for v in grid] for c in range(len(a))])
    from fractions import Fraction
    # Every unclipped input is a tie: half up (or away from zero) would move half of them.
    assert all((Fraction(int(v)) * Fraction(2) ** e_in * Fraction(a[0]) + Fraction(b[0]))
               / Fraction(2) ** e_out % 1 == Fraction(1, 2) for v in grid[:16])
    assert (bn_requant_reference(acc, e_in, bn, out, relu) == expected).all()
    m = bn_requant_map(bn, in_type, out, relu)
    assert m.kind == ("table" if in_bits <= 8 else "thresholds")
    x = torch.from_numpy(acc.copy())[None]                                # [1, C, L]
    assert m(x)[0].numpy().tolist() == expected.tolist()
    assert bn_requant_torch(x, e_in, bn, out, relu)[0].numpy().tolist() == expected.tolist()



@given(lo=st.integers(-300, 300), width=st.integers(0, 300), e=st.integers(-9, 9))
def test_for_range_is_the_narrowest_type(lo, width, e):
    hi = lo + width                                   # width 0: a single value is a range
    t = IntType.for_range(lo, hi, e)
    assert (t.signed, t.exponent) == (lo < 0, e)
    fits = lambda b: (-(1 << (b - 1)) if lo < 0 else 0) <= lo and \
        hi <= ((1 << (b - 1)) - 1 if lo < 0 else (1 << b) - 1)           # noqa: E731
    assert fits(t.bits) and (t.bits == 1 or not fits(t.bits - 1))
    with pytest.raises(ValueError, match=rf"empty range \[{hi + 1}, {hi}\]"):
        IntType.for_range(hi + 1, hi)


@pytest.mark.parametrize("scale", [0.0, -0.5, float("inf"), float("nan")])
def test_exponent_of_names_non_positive_and_non_finite_scales(scale):
    with pytest.raises(ValueError, match=r"^scale is .*, not a positive power of two$"):
        exponent_of(scale)


def test_requantize_clamps_both_ends_in_torch_and_numpy():
    out = IntType(4, True, 0)                        # [-8, 7]
    q = [-100, -9, -8, 7, 8, 100]
    assert requantize(torch.tensor(q), 0, out).tolist() == [-8, -8, -8, 7, 7, 7]
    assert requantize(np.array(q), 0, out).tolist() == [-8, -8, -8, 7, 7, 7]


def test_adder_int_defaults_and_dtype():
    gen = torch.Generator().manual_seed(0)
    qx = torch.randint(0, 16, (1, 2, 5, 5), generator=gen)
    qw = torch.randint(0, 16, (3, 2, 3, 3), generator=gen)
    acc, e = adder_int(qx, -2, qw, -3)
    assert acc.dtype == torch.int64 and e == -3 and acc.shape == (1, 3, 3, 3)   # stride 1, pad 0
    x2 = qx.long() << 1                               # aligned to 2**-3
    expected = torch.zeros(1, 3, 3, 3, dtype=torch.int64)
    for o in range(3):
        for i in range(3):
            for j in range(3):
                expected[0, o, i, j] = -(x2[0, :, i:i + 3, j:j + 3] - qw[o]).abs().sum()
    assert torch.equal(acc, expected)


@given(bits=st.integers(1, 8), signed=st.booleans(), ex=st.integers(-6, 0),
       ew=st.integers(-6, 0), w_lo=st.integers(-40, 40), w_span=st.integers(0, 60),
       window=st.integers(1, 50))
def test_adder_acc_type_is_the_exact_worst_case(bits, signed, ex, ew, w_lo, w_span, window):
    """Against brute force over every aligned input (padding 0 included) and weight extreme:
    the narrowest signed-or-not type holding -window * max |x' - w'|, at the finer exponent."""
    x = IntType(bits, signed, ex)
    w_hi = w_lo + w_span
    e = min(ex, ew)
    xs = [v * 2 ** (ex - e) for v in range(x.lo, x.hi + 1)] + [0]
    ws = [w_lo * 2 ** (ew - e), w_hi * 2 ** (ew - e)]
    worst = window * max(abs(a - b) for a in xs for b in ws)
    t = adder_acc_type(x, w_lo, w_hi, ew, window)
    assert t.exponent == e and t.signed == (worst > 0)
    assert t == IntType.for_range(-worst, 0, e)      # for_range: brute-forced above


def test_adder_acc_type_of_a_one_bit_signed_input():
    """x in {-1, 0} against w = -1: the worst term is |0 - (-1)| = 1, so one signed bit; an
    input maximum taken as 1 instead of 0 would give 2 bits."""
    assert adder_acc_type(IntType(1, True), -1, -1, 0, 1) == IntType(1, True, 0)


def test_bn_affine_float32_rounds_both_constants():
    from addnn.numeric import BNAffine
    a, b = BNAffine(np.array([1 / 3, 2.0]), np.array([0.1, -7.0])).float32()
    assert a.dtype == np.float32 and b.dtype == np.float32
    assert a.tolist() == [np.float32(1 / 3), 2.0] and b.tolist() == [np.float32(0.1), -7.0]


@pytest.mark.parametrize("bits", [0, -1, 63, 64])
def test_int_type_widths_outside_1_to_62_are_refused(bits):
    with pytest.raises(ValueError, match=f"bit width {bits} outside 1..62"):
        IntType(bits, True)


def test_int_type_widths_at_the_limits_are_accepted():
    assert (IntType(1, False).hi, IntType(62, True).lo) == (1, -2**61)


def test_bn_constants_and_reference_output_have_the_contracts_dtypes():
    from addnn.numeric import BNAffine
    bn = BNAffine([1, 2], np.array([3, 4], dtype=np.float32))     # ints and float32 in
    assert bn.a.dtype == bn.b.dtype == np.float64
    q = bn_requant_reference(np.array([[0, 5], [1, 2]]), -1, bn, IntType(8, True, 0), False)
    assert q.dtype == np.int64 and q.tolist() == [[3, 6], [5, 6]]


@given(seed=st.integers(0, 1000), in_bits=st.sampled_from([7, 12]), relu=st.booleans())
def test_bn_map_layout_is_as_documented(seed, in_bits, relu):
    """IntegerMap's docstring: the output type kept; int64 ``table`` [C, hi - lo + 1], or int64
    ``start``/``direction`` [C] and ``thresholds`` [C, L] with L the most levels any channel
    moves (at least 1) and exactly ``hi + 1`` in the unused entries."""
    inp, out = IntType(in_bits, True, -3), IntType(5, not relu, -1)
    m = bn_requant_map(_bn(seed, 6), inp, out, relu)
    assert m.input_type == inp and m.output_type == out
    if m.kind == "table":
        assert m.table.dtype == np.int64 and m.table.shape == (6, inp.hi - inp.lo + 1)
        return
    assert m.start.dtype == m.direction.dtype == m.thresholds.dtype == np.int64
    ends = bn_requant_reference(np.array([[inp.lo, inp.hi]] * 6), inp.exponent, _bn(seed, 6),
                                out, relu)
    steps = np.abs(ends[:, 1] - ends[:, 0])
    assert m.thresholds.shape == (6, max(int(steps.max()), 1))
    used = np.arange(m.thresholds.shape[1])[None, :] < steps[:, None]
    assert (m.thresholds[~used] == inp.hi + 1).all() and (m.thresholds[used] <= inp.hi).all()


def test_bn_map_of_constant_and_of_no_channels():
    from addnn.numeric import BNAffine
    inp, out = IntType(12, True, -2), IntType(8, True, 0)
    flat = bn_requant_map(BNAffine([0.0], [3.0]), inp, out)      # never moves: one unused column
    assert flat.thresholds.tolist() == [[inp.hi + 1]] and flat.start.tolist() == [3]
    assert flat.direction.tolist() == [0]
    empty = bn_requant_map(BNAffine(np.zeros(0), np.zeros(0)), inp, out)
    assert empty.thresholds.shape == (0, 1) and empty.start.shape == (0,)
