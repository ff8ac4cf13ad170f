"""Memory mapping rules, the calibrated lane costs, and the resource model's structure."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from netgen import random_resnet

from addnn.estimate import memory
from addnn.estimate import resources as rs
from addnn.estimate.boards import RESOURCES, board_names, load_board
from addnn.errors import AddnnError
from addnn.hls.folding import SAD_LANES, Fold, legal_simd
from addnn.hls.stages import build_stages
from addnn.hls.storage import fifo_impl

# (depth, width) of one BRAM18 in simple dual-port mode, UG573
BRAM18_SHAPES = [(16384, 1), (8192, 2), (4096, 4), (2048, 9), (1024, 18), (512, 36)]


@settings(max_examples=200, deadline=None)
@given(depth=st.integers(1, 70000), width=st.integers(1, 600))
def test_bram_count_holds_the_memory_in_real_block_shapes(depth, width):
    n = memory.bram18_count(depth, width)
    # some shape of the ladder, tiled, holds depth x width with n blocks
    assert any(math.ceil(depth / d) * math.ceil(width / w) <= n for d, w in BRAM18_SHAPES)
    assert n * 18 * 1024 >= depth * width * 0.5 or n == 1  # no gross overcount of tiny ones
    assert memory.bram18_count(depth, width) <= memory.bram18_count(depth + 512, width + 36)


def test_rom_rules():
    assert memory.rom(1, 512).kind == "const" and memory.rom(1, 512).lut == 0
    small = memory.rom(100, 64)
    assert small.kind == "lutram" and small.lut == 64 * 2 and small.bram18 == 0
    assert memory.rom(20, 64).lut == 32          # two 32-word bits a LUT6_2
    big = memory.rom(1024, 64)
    assert big.kind == "bram" and big.bram18 == memory.bram18_count(1024, 64)
    assert memory.rom(1024, 64, ports=4).bram18 == 2 * big.bram18


@settings(max_examples=100, deadline=None)
@given(depth=st.integers(1, 4096), width=st.integers(1, 1024))
def test_fifo_cost_follows_the_rendered_storage(depth, width):
    m = memory.fifo(depth, width)
    impl = fifo_impl(depth, width)
    assert m.kind == {None: "ff", "srl": "srl", "lutram": "lutram", "bram": "bram"}[impl]
    assert (m.bram18 > 0) == (impl == "bram")


def test_calibrated_lane_costs_reproduce_the_fits():
    data = rs.calibration()
    for fit in data["fits"].values():
        cost = rs.sad_lane_cost(fit["B"], bool(fit["DIFF_IN"]))
        assert cost["lut"] == (fit["lut"]["per_lane"], fit["lut"]["per_pe"])
        assert cost["ff"] == (fit["ff"]["per_lane"], fit["ff"]["per_pe"])
    # in between the calibrated widths the cost lies between its neighbours
    c5, c4, c6 = (rs.sad_lane_cost(b, False)["lut"][0] for b in (5, 4, 6))
    assert c4 < c5 < c6


@pytest.mark.parametrize("sad", list(SAD_LANES))
def test_conv_resources_grow_with_parallelism_and_packing_uses_dsps(sad):
    graph = build_stages(random_resnet(3, (8, 16), 8, 8, 1))
    s = [c for c in graph.conv_stages() if c.op.value == "sad"][0]
    simds = legal_simd(s, sad)
    lo, hi = min(simds), max(simds)
    small = rs.total(rs.conv_parts(graph, s, Fold(1, lo), sad))
    large = rs.total(rs.conv_parts(graph, s, Fold(s.weights.shape[0], hi), sad))
    assert large.lut > small.lut and large.ff > small.ff
    lanes = s.weights.shape[0] * hi
    assert large.dsp == (0 if sad == "lut" else lanes / SAD_LANES[sad])


def test_mac_layers_pair_two_8_bit_products_a_dsp():
    graph = build_stages(random_resnet(3, (8, 16), 8, 8, 1))
    stem = [c for c in graph.conv_stages() if c.op.value == "mac"][0]
    assert rs.conv_parts(graph, stem, Fold(2, 3))["lanes"].dsp == 3
    assert rs.conv_parts(graph, stem, Fold(1, 3))["lanes"].dsp == 3


def test_requantizer_that_only_widens_costs_no_luts():
    from addnn.numeric import IntType

    assert rs.requant_cost(IntType(8, False, 0), IntType(9, True, 0), 0, False).lut == 0
    assert rs.requant_cost(IntType(10, True, 0), IntType(8, False, 0), 0, True).lut == 8
    assert rs.requant_cost(IntType(10, True, 0), IntType(8, True, 0), -2, False).lut > 8


def test_boards_load_with_their_resources():
    assert {"kv260", "zcu104", "ultra96v2"} <= set(board_names())
    kv = load_board("kv260")
    assert kv.resources == {"lut": 117120, "ff": 234240, "dsp": 1248, "bram36": 144,
                            "uram": 64}
    for name in board_names():
        b = load_board(name)
        assert set(b.resources) == set(RESOURCES) and b.resources["lut"] > 0
    with pytest.raises(AddnnError, match="no board 'kv999'"):
        load_board("kv999")
