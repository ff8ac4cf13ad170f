"""Threshold maps as progressions (``addnn.hls.progression``, the kernel ``map_progression``):
fits of the project's own exact BN maps (``addnn.numeric.bn_requant_map``) checked on every
accumulator, degenerate and non-line threshold sets, the fallback to stored thresholds, and
g++ C simulation against the integer graph."""

import json

import numpy as np
import pytest
from conftest import debug_csim, random_images
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from netgen import NetBuilder, random_resnet

from addnn.hls import generate_project
from addnn.hls.progression import Progression, fit_progression, search_slots
from addnn.numeric import BNAffine, IntType, bn_requant_map, bn_requant_reference


def kernel_counts(p: Progression, acc: np.ndarray) -> np.ndarray:
    """map_group<C, map_progression>'s search, level by level as the C++ runs it, for every
    channel and every ``acc`` [M] (int64: the fit keeps the values below 2**61)."""
    log2 = search_slots(p.n).bit_length() - 1
    c = len(p.k0)
    x = np.broadcast_to(acc.astype(np.int64) * (1 << p.frac), (c, len(acc)))
    count = np.zeros((c, len(acc)), dtype=np.int64)
    s = np.broadcast_to(p.k0[:, None], (c, len(acc))).copy()
    for b in range(log2 - 1, -1, -1):
        cand = count + (1 << b)
        v = s + (p.dn[:, None] << b)
        take = (cand <= p.n) & (v <= x)
        count, s = np.where(take, cand, count), np.where(take, v, s)
    return np.minimum(count, p.cap[:, None])


def stored_counts(t: np.ndarray, acc: np.ndarray) -> np.ndarray:
    return np.stack([np.searchsorted(np.sort(row), acc, side="right") for row in t])


def assert_exact(p: Progression, t: np.ndarray, lo: int, hi: int) -> np.ndarray:
    acc = np.arange(lo, hi + 1)
    expected = stored_counts(t, acc)
    assert np.array_equal(kernel_counts(p, acc), expected)
    assert np.array_equal(p.counts(np.broadcast_to(acc, expected.shape)), expected)
    return acc


def random_bn_map(seed: int, in_bits: int, in_signed: bool, out_bits: int, out_signed: bool,
                  relu: bool, channels: int = 3):
    """A generic float64 BN (random mantissas) spreading its output over about the output
    range, on an accumulator type as the integer graph types one."""
    rng = np.random.default_rng(seed)
    inp = IntType(in_bits, in_signed, int(rng.integers(-8, 3)))
    out = IntType(out_bits, out_signed, int(rng.integers(-6, 2)))
    span = (inp.hi - inp.lo) * inp.scale
    levels = (out.hi - out.lo) * out.scale
    a = levels / span * np.exp(rng.uniform(-2, 3, channels)) * rng.choice([-1, 1], channels)
    b = rng.uniform(-1, 1, channels) * levels - a * (inp.lo + inp.hi) / 2 * inp.scale
    return BNAffine(a, b), inp, out


@given(seed=st.integers(0, 2**32 - 1), in_bits=st.integers(9, 14), in_signed=st.booleans(),
       out_bits=st.integers(2, 10), out_signed=st.booleans(), relu=st.booleans())
def test_bn_maps_fit_and_give_the_same_map_on_every_accumulator(
        seed, in_bits, in_signed, out_bits, out_signed, relu):
    bn, inp, out = random_bn_map(seed, in_bits, in_signed, out_bits, out_signed, relu)
    m = bn_requant_map(bn, inp, out, relu)
    assert m.kind == "thresholds"
    p = fit_progression(m.thresholds, inp.lo, inp.hi)
    assert p is not None and 0 <= p.frac <= 32
    acc = assert_exact(p, m.thresholds, inp.lo, inp.hi)
    # The whole layer map, start + direction * count, against the float64 reference.
    got = m.start[:, None] + m.direction[:, None] * kernel_counts(p, acc)
    grid = np.broadcast_to(acc, got.shape)
    assert np.array_equal(got, bn_requant_reference(grid, inp.exponent, bn, out, relu))


@given(seed=st.integers(0, 2**32 - 1), in_bits=st.integers(9, 13), j=st.integers(-3, 3),
       m=st.integers(-40, 40), negative=st.booleans(), relu=st.booleans())
def test_ties_built_on_purpose_fit_exactly_or_not_at_all(seed, in_bits, j, m, negative, relu):
    # a a power of two and b at .5 of an output step put many accumulators exactly on a
    # rounding boundary, where half-to-even alternates: often no straight line is left.
    rng = np.random.default_rng(seed)
    inp, out = IntType(in_bits, True, int(rng.integers(-6, 0))), IntType(8, True, -2)
    a = (-1.0 if negative else 1.0) * 2.0 ** (j - inp.exponent + out.exponent - 3)
    bn = BNAffine(np.array([a, a / 2]), np.array([(m + 0.5) * out.scale, (m - 0.5) * out.scale]))
    mp = bn_requant_map(bn, inp, out, relu)
    p = fit_progression(mp.thresholds, inp.lo, inp.hi)
    if p is not None:
        assert_exact(p, mp.thresholds, inp.lo, inp.hi)


LO, HI = -40, 60


@pytest.mark.parametrize("rows", [
    [[LO - 5, LO - 1, LO, LO]],                          # all at or below lo: always counted
    [[HI + 1] * 4],                                      # all above hi: never counted
    [[7]],                                               # a single threshold
    [[7, 7, 7, 7]],                                      # all equal
    [[LO - 3, LO, LO + 9, HI, HI + 1, HI + 1]],         # below, inside and above
    [[HI + 1] * 5, [-30, -20, -11, -1, 9]],             # a channel that never moves (Conv_0)
    [[1, 1, 2, 2, 3, 3], [2, 4, 6, 9, 11, 13]],          # slopes 1/2 and 11/5
    [[-38, -19, 0, 19, 38, HI + 1]],    # padded where the line goes on to 57 <= hi: the cap
])
def test_degenerate_threshold_sets_fit_exactly(rows):
    t = np.array(rows, dtype=np.int64)
    p = fit_progression(t, LO, HI)
    assert p is not None
    assert_exact(p, t, LO, HI)


def test_no_thresholds_at_all():
    p = fit_progression(np.zeros((2, 0), dtype=np.int64), LO, HI)
    assert p is not None and p.n == 0
    assert not kernel_counts(p, np.arange(LO, HI + 1)).any()


@pytest.mark.parametrize("row", [[0, 1, 5, 6], [1, 1, 3, 3, 5, 5, 7, 7]])
def test_a_set_off_any_straight_line_has_no_fit(row):
    assert fit_progression(np.array([row, list(range(len(row)))]), LO, HI) is None


def test_fraction_bits_and_64_bit_limits():
    half = np.array([[1, 1, 2, 2, 3, 3]])               # slope 1/2 needs one fraction bit
    assert fit_progression(half, LO, HI, max_frac=0) is None
    assert fit_progression(half, LO, HI, max_frac=1).frac == 1
    assert fit_progression(half, -2**60, 2**60) is None  # acc * 2**F would leave 61 bits
    unit = fit_progression(np.array([[1, 2, 3]]), -2**59, 2**59)
    assert unit is not None and unit.frac == 0
    step1 = fit_progression(np.array([[1, 2, 3]]), LO, HI)        # a step of exactly 1
    assert step1.frac == 0 and step1.dn.tolist() == [1]
    assert_exact(step1, np.array([[1, 2, 3]]), LO, HI)


def one_layer_net(seed: int = 3):
    """An adder layer with a thresholds BN map (8-bit output of a wide accumulator)."""
    b = NetBuilder(4, 6, bits=8, signed=False, exponent=-3, seed=seed)
    acc = b.conv(b.input, 6, 3, 1, 1)
    return b.model(b.bn(acc, IntType(8, False, -4), relu=True))


def break_a_line(model):
    """Channel 0's thresholds of the first BN map with one threshold moved down onto its
    predecessor, where the next one is 2 or more above: a digital straight line's steps take
    two neighbouring values only, and now they include 0 and 2 or more."""
    node = next(n for n in model.graph.node if n.op_type == "BNRequantMap")
    t = model.get_initializer(node.input[1]).copy()
    hi = int(t.max())                  # the padding, or at least one above every threshold
    row = t[0]
    j = next(j for j in range(1, len(row) - 1) if row[j + 1] - row[j - 1] >= 2
             and row[j + 1] < hi)
    row[j] = row[j - 1]
    model.set_initializer(node.input[1], t)
    return model, t


def test_the_render_falls_back_to_stored_thresholds(tmp_path):
    model, t = break_a_line(one_layer_net())
    assert fit_progression(t, -2**20, 2**20) is None
    meta = generate_project(model, tmp_path / "prj")
    conv = [s for s in meta["stages"] if s["kind"] == "ConvStage"]
    assert [s["map"] for s in conv] == ["thresholds"]
    config = (tmp_path / "prj" / "src" / "addnn_config.h").read_text()
    assert "addnn::map_thresholds" in config and "map_progression" not in config
    good = generate_project(one_layer_net(), tmp_path / "good")
    assert [s["map"] for s in good["stages"] if s["kind"] == "ConvStage"] == ["progression"]


def test_project_json_records_each_layer_map(tmp_path):
    model = random_resnet(1, (4, 8), 8, 8, 1)
    auto = generate_project(model, tmp_path / "auto")
    stored = generate_project(model, tmp_path / "stored", thresholds="stored")
    maps = {s["name"]: s for s in auto["stages"] if s["kind"] == "ConvStage"}
    assert {s["map"] for s in maps.values()} == {"progression"}
    assert all(0 <= s["map_frac"] <= 32 and s["map_levels"] >= 1 for s in maps.values())
    assert {s["map"] for s in stored["stages"] if s["kind"] == "ConvStage"} == {"thresholds"}
    assert auto["thresholds"] == "auto" and stored["thresholds"] == "stored"
    assert "map" not in next(s for s in auto["stages"] if s["kind"] == "AddStage")
    from addnn.errors import AddnnError

    with pytest.raises(AddnnError, match="threshold mode"):
        generate_project(model, tmp_path / "bad", thresholds="rom")


@pytest.mark.gxx
@settings(max_examples=4, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), bits=st.sampled_from([4, 6, 8]), full_pe=st.booleans())
def test_csim_with_progressions_equals_the_integer_graph_and_the_stored_build(
        seed, bits, full_pe, build, tmp_path_factory):
    from addnn.hls.folding import legal_simd
    from addnn.hls.stages import build_stages

    model = random_resnet(seed, (3, 6), 8, bits, 1)
    fold = {s.name: {"PE": s.weights.shape[0] if full_pe else 1, "SIMD": legal_simd(s)[-1]}
            for s in build_stages(model).conv_stages()}
    path = tmp_path_factory.mktemp("fold") / "folding.json"
    path.write_text(json.dumps(fold))
    images = random_images(model, 3, seed)
    outs = []
    for mode in ("auto", "stored"):
        prj = build(model, images=images, folding_path=path, thresholds=mode)
        report = debug_csim(prj)
        assert report["identical"] == 1.0, (mode, report["mismatches"])
        maps = {s["map"] for s in json.loads((prj / "project.json").read_text())["stages"]
                if s["kind"] == "ConvStage"}
        assert ("progression" in maps) == (mode == "auto")
        outs.append(np.fromfile(prj / "tb" / "expected.bin", dtype="<i4"))
    assert np.array_equal(outs[0], outs[1])


@pytest.mark.gxx
def test_csim_mixes_progression_and_stored_layers_with_exact_types(build):
    b = NetBuilder(4, 6, bits=8, signed=False, exponent=-3, seed=3)
    h = b.bn(b.conv(b.input, 6, 3, 1, 1), IntType(8, False, -4), relu=True)
    model = b.model(b.bn(b.conv(h, 5, 3, 1, 1), IntType(6, True, -2), relu=False))
    model, _ = break_a_line(model)
    prj = build(model, images=random_images(model, 4))
    meta = json.loads((prj / "project.json").read_text())
    assert [s["map"] for s in meta["stages"] if s["kind"] == "ConvStage"] == \
        ["thresholds", "progression"]
    for exact in (False, True):
        report = debug_csim(prj, exact=exact)
        assert report["identical"] == 1.0, report["mismatches"]


@given(points=st.lists(st.tuples(st.integers(0, 10**4), st.integers(-100, 100)), min_size=1,
                       max_size=60, unique_by=lambda p: p[0]))
def test_the_peeled_hull_equals_the_stack_walk(points):
    import addnn.hls.progression as pg

    x, y = (np.array(v, dtype=np.int64) for v in zip(*sorted(points)))
    hulls = []
    for passes in (pg.PASSES, 1, 0):            # peeling only, both, the stack walk only
        old, pg.PASSES = pg.PASSES, passes
        try:
            hulls.append(pg._lower_hull(x, y).tolist())
        finally:
            pg.PASSES = old
    assert hulls[0] == hulls[1] == hulls[2]


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match=r"^empty accumulator range \[5, 4\]$"):
        fit_progression(np.array([[1, 2]]), 5, 4)
    with pytest.raises(ValueError, match=r"^thresholds must be \[C, N\], not \(3,\)$"):
        fit_progression(np.array([1, 2, 3]), 0, 9)


def lower_hull_reference(points: list[tuple[int, int]]) -> list[int]:
    """Indices of the lower convex hull (Andrew's monotone chain in Python ints), points on
    a hull edge dropped."""
    hull: list[int] = []
    for i, (x, y) in enumerate(points):
        while len(hull) >= 2:
            (xa, ya), (xb, yb) = points[hull[-2]], points[hull[-1]]
            if (xb - xa) * (y - ya) - (yb - ya) * (x - xa) > 0:      # a left turn: keep b
                break
            hull.pop()
        hull.append(i)
    return hull


@given(base=st.sampled_from([0, -(2 ** 59), 2 ** 60 - 2 ** 20]),
       points=st.lists(st.tuples(st.integers(0, 10**4), st.integers(-1000, 1000)), min_size=1,
                       max_size=40, unique_by=lambda p: p[0]))
def test_the_hull_equals_the_monotone_chain_at_any_magnitude(base, points):
    """Against an independent hull in exact integers, also near 2**60, where int64 cross
    products overflow and float64 would round the differences away."""
    from addnn.hls.progression import _lower_hull
    points = sorted((x, base + y) for x, y in points)
    x, y = (np.array(v, dtype=np.int64) for v in zip(*points))
    assert _lower_hull(x, y).tolist() == lower_hull_reference(points)


@pytest.mark.parametrize("y", [[2 ** 60, 2 ** 60 + 1, 2 ** 60 + 3],
                               [0, 2 ** 59 + 1, 2 ** 60 + 3]])
def test_the_hull_keeps_a_bend_of_one_near_2_60(y):
    """Slopes that differ by one in the last bit of values near 2**60: a convex bend that
    float64 (53-bit) arithmetic would flatten, on either operand of the cross products."""
    from addnn.hls.progression import _lower_hull
    y = np.array(y, dtype=np.int64)
    assert _lower_hull(np.arange(3, dtype=np.int64), y).tolist() == [0, 1, 2]


def test_verification_checks_the_last_countable_threshold():
    """A progression right on thresholds 1 and 2 but not on 3, the last that [lo, hi] can
    reach (cap 3), is refused; the right one is taken."""
    from addnn.hls.progression import _verify
    t = np.array([[2, 4, 7]])
    wrong = Progression(0, np.array([0]), np.array([2]), np.array([3]), 3)    # 2, 4, 6
    assert not _verify(wrong, t, 0, 10)
    assert _verify(Progression(0, np.array([0]), np.array([2]), np.array([3]), 3),
                   np.array([[2, 4, 6]]), 0, 10)
    assert _verify(Progression(0, np.array([0]), np.array([2]), np.array([2]), 3), t, 0, 6)


def test_the_fit_passes_only_options_the_solver_knows():
    """scipy warns about (and ignores) an unknown HiGHS option: none may be passed."""
    import warnings
    t = np.array([[3, 5, 8, 10, 13], [1, 2, 3, 4, 5]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = fit_progression(t, -20, 20)
    assert p is not None
    assert_exact(p, t, -20, 20)


def exact_slope_range(pts, lo: int, hi: int):
    """[min, max] slope D in [0, hi - lo + 2] of a line c + k*D on or below every upper point
    and on or above every lower point, in Fractions: a c exists iff for every pair
    y_d - k_d*D <= y_u - k_u*D. None if no D does."""
    from fractions import Fraction
    uk, uy, dk, dy = pts
    a, b = Fraction(0), Fraction(hi - lo + 2)
    for ku, yu in zip(uk.tolist(), uy.tolist()):
        for kd, yd in zip(dk.tolist(), dy.tolist()):
            if ku > kd:
                b = min(b, Fraction(yu - yd, ku - kd))
            elif ku < kd:
                a = max(a, Fraction(yu - yd, ku - kd))
            elif yu < yd:
                return None
    return (a, b) if a <= b else None


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 16), channels=st.integers(1, 3),
       scale=st.sampled_from([10, 10**3, 10**6]))
def test_the_lp_slope_ranges_are_the_exact_ones(seed, n, channels, scale):
    """The LP's slope range of each channel against the exact one, within the 1e-6 / N that
    the integer-slope search allows for; near-lines (rounded progressions, often two hull
    points) and rows off any line (infeasible: None) both occur. A range of one point is
    left to the LP's tolerance either way: the fit needs lines strictly above the lower
    points, which such a range does not have."""
    from addnn.hls.progression import _points, _slope_ranges
    rng = np.random.default_rng(seed)
    lo, hi = -4 * scale, 4 * scale
    k = np.arange(1, n + 1)
    rows = [np.floor(rng.uniform(-scale, 0) + rng.uniform(0, scale / n) * k
                     + rng.uniform(0, 1 + 2 * (rng.random() < 0.2), n)) for _ in range(channels)]
    pts = [_points(np.sort(r.astype(np.int64)), lo) for r in rows]
    got = _slope_ranges(pts, n, lo, hi)
    expected = [exact_slope_range(p, lo, hi) for p in pts]
    if None in expected:
        assert got is None
        return
    if any(e0 == e1 for e0, e1 in expected):
        return        # one slope, with lower points met: no line is strictly above them
    assert got is not None
    for (g0, g1), (e0, e1) in zip(got, expected):
        assert abs(g0 - float(e0)) <= 1e-6 / n and abs(g1 - float(e1)) <= 1e-6 / n
