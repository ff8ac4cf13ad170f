"""RTL (Verilator, then Icarus), the numpy model and the C++ model agree on every vector, and
the model agrees with plain integers."""

import numpy as np
import pytest

from addnn.rtl import model, sim
from addnn.rtl.model import Variant
from addnn.rtl.vectors import count_terms, edge_cases, exhaustive_pairs, random_windows


def expected(ctrl, x, w):
    return {(v, s): model.pe_run(v, ctrl, x, w, s) for v, s in sim.KINDS}


def assert_same(got, want, who):
    for kind, ref in want.items():
        out = got[kind]
        assert out.shape == ref.shape, f"{who} {kind}: {out.shape} rows, model {ref.shape}"
        bad = np.argwhere(out != ref)
        assert len(bad) == 0, (f"{who} {kind}: {len(bad)} mismatches, first at row/lane "
                               f"{bad[0].tolist()}: {out[tuple(bad[0])]} != {ref[tuple(bad[0])]}")


def plain_integer_windows(ctrl, x, w, signed):
    """sum |x - w| per window from the control word, independently of pe_run."""
    sums, acc = [], np.zeros(x.shape[1], np.int64)
    dt = np.int8 if signed else np.uint8
    xi, wi = x.view(dt).astype(np.int64), w.view(dt).astype(np.int64)
    for t, c in enumerate(ctrl.tolist()):
        if c & 1:
            acc = (0 if c & 2 else acc) + np.abs(xi[t] - wi[t])
            if c & 4:
                sums.append(acc % (1 << model.ACC_BITS))
    return np.array(sums)


def run_all(tmp_path, stream, lanes):
    ctrl, x, w = stream
    vec = tmp_path / "vectors.txt"
    sim.write_pe_vectors(vec, ctrl, x, w)
    want = expected(ctrl, x, w)
    assert_same(sim.simulate_pe("verilator", lanes, vec, tmp_path), want, "verilator")
    assert_same(sim.cmodel_pe(lanes, vec, tmp_path), want, "c++ model")
    return want


def test_exhaustive_pairs(tmp_path, verilator_tb, cmodel, lanes):
    stream = exhaustive_pairs(lanes)
    assert count_terms(stream[0], lanes) == 65_536 * lanes
    want = run_all(tmp_path, stream, lanes)
    _, x, w = stream
    for (v, s), out in want.items():
        ref = np.abs(x.view(np.int8).astype(int) - w.view(np.int8).astype(int)) if s else \
            np.abs(x.astype(int) - w.astype(int))
        assert np.array_equal(out, ref), (v, s)


def test_a_million_random_terms(tmp_path, verilator_tb, cmodel, lanes):
    stream = random_windows(np.random.default_rng(2024), 10**6, lanes)
    assert count_terms(stream[0], lanes) >= 10**6
    want = run_all(tmp_path, stream, lanes)
    assert np.array_equal(want[(Variant.OCTO8, False)],
                          plain_integer_windows(*stream, signed=False))
    assert np.array_equal(want[(Variant.QUAD12, True)],
                          plain_integer_windows(*stream, signed=True))


def test_edge_cases(tmp_path, verilator_tb, cmodel, lanes):
    stream = edge_cases(lanes)
    want = run_all(tmp_path, stream, lanes)
    for v, s in sim.KINDS:
        assert np.array_equal(want[(v, s)], plain_integer_windows(*stream, signed=s))
    rows = want[(Variant.OCTO8, False)]
    assert (rows == 576 * 255).all(axis=1).sum() >= 2            # the full-length windows
    assert (rows == (1100 * 255) % (1 << 18)).all(axis=1).any()  # the wrapped one


@pytest.mark.parametrize("which", ["edge", "random"])
def test_iverilog_agrees(tmp_path, iverilog_tb, which, lanes):
    stream = edge_cases(lanes) if which == "edge" else \
        random_windows(np.random.default_rng(7), 40_000, lanes)
    vec = tmp_path / "vectors.txt"
    sim.write_pe_vectors(vec, *stream)
    assert_same(sim.simulate_pe("iverilog", lanes, vec, tmp_path), expected(*stream), "iverilog")


def test_read_packed_round_trip(tmp_path):
    rng = np.random.default_rng(3)
    vals = rng.integers(0, 1 << 18, (5, 8))
    line = lambda r: format(sum(int(v) << (18 * k) for k, v in enumerate(r)), "036x")  # noqa
    (tmp_path / "o.txt").write_text("".join(line(r) + "\n" for r in vals))
    assert np.array_equal(sim.read_packed(tmp_path / "o.txt", 8), vals)
    (tmp_path / "x.txt").write_text("0" * 35 + "x\n")
    with pytest.raises(sim.SimulationError, match="x/z"):
        sim.read_packed(tmp_path / "x.txt", 8)
