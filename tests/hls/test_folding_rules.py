"""The folding rules of ``addnn.hls.folding`` against an independent statement of them (the
module docstring's), the folding file's fields, and the C array helpers against brute force.
No g++: these are the generator's Python side."""

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from netgen import random_resnet

from addnn.errors import AddnnError
from addnn.hls.carrays import initializer, signed_width, unsigned_width
from addnn.hls.folding import (SAD_LANES, Fold, check_fold, check_folding, default_folding,
                               folding_maps, legal_simd, map_cycles, read_folding)
from addnn.hls.stages import (ConvStage, LayerMap, MapKind, MapStage, Op, build_stages,
                              fused_map_names, separate_maps)


def legal(o, c, k, op, sad, pe, simd) -> bool:
    kkc = c * k * k
    lanes = SAD_LANES[sad] if op is Op.SAD else 1
    return (pe >= 1 and o % pe == 0 and simd >= 1 and kkc % simd == 0
            and (c % simd == 0 or simd % c == 0) and simd % lanes == 0)


def conv(o, c, k, op):
    return ConvStage("L7", [], [], [], op=op, weights=np.zeros((o, c, k, k), dtype=np.int64),
                     kernel=(k, k))


@given(o=st.integers(1, 12), c=st.integers(1, 12), k=st.sampled_from([1, 2, 3]),
       op=st.sampled_from(list(Op)), sad=st.sampled_from(list(SAD_LANES)),
       pe=st.integers(0, 13), simd=st.integers(0, 40))
def test_check_fold_refuses_exactly_the_illegal_foldings(o, c, k, op, sad, pe, simd):
    stage = conv(o, c, k, op)
    ok = legal(o, c, k, op, sad, pe, simd)
    if ok:
        check_fold(stage, Fold(pe, simd), sad)
    else:
        with pytest.raises(AddnnError, match="^folding of layer 'L7': (PE|SIMD) "):
            check_fold(stage, Fold(pe, simd), sad)
    assert legal_simd(stage, sad) == [s for s in range(1, c * k * k + 1)
                                      if legal(o, c, k, op, sad, 1, s)]
    with pytest.raises(AddnnError, match="\"search\" is for a separate map"):
        check_fold(stage, Fold(1, 1, True), sad)


def test_the_default_sad_unit_is_the_lut_one():
    stage = conv(4, 6, 3, Op.SAD)
    check_fold(stage, Fold(2, 3))                   # 3 lanes: legal for lut only
    assert legal_simd(stage) == legal_simd(stage, "lut")
    with pytest.raises(AddnnError, match="not a multiple of the 4 lanes of a quad12 SAD unit"):
        check_fold(stage, Fold(2, 6), "quad12")
    check_fold(conv(4, 6, 3, Op.MAC), Fold(2, 3), "octo8")    # lanes bind SAD layers only


def map_stage(channels, kind, levels_of=3):
    arrays = ({"thresholds": np.zeros((channels, levels_of), dtype=np.int64),
               "start": np.zeros(channels, dtype=np.int64)} if kind is MapKind.THRESHOLDS
              else {"table": np.zeros((channels, 16), dtype=np.int64)})
    return MapStage("M3", [], [], [], map=LayerMap(kind, arrays))


@given(ch=st.integers(1, 12), pe=st.integers(0, 13), simd=st.integers(1, 3),
       serial=st.booleans(), kind=st.sampled_from([MapKind.THRESHOLDS, MapKind.TABLE]))
def test_map_folds_take_a_dividing_pe_and_nothing_else(ch, pe, simd, serial, kind):
    stage = map_stage(ch, kind)
    ok = simd == 1 and not (serial and kind is not MapKind.THRESHOLDS) and pe >= 1 \
        and ch % pe == 0
    if ok:
        check_fold(stage, Fold(pe, simd, serial))
    else:
        with pytest.raises(AddnnError, match="^folding of map 'M3': "):
            check_fold(stage, Fold(pe, simd, serial))


def separated(seed=4):
    graph = build_stages(random_resnet(seed, (4, 8), 8, 8, 1))
    names = list(fused_map_names(graph))
    return graph, names, separate_maps(graph, names[:2])


def test_map_cycles_count_pixels_channel_groups_and_serial_levels():
    _, _, graph = separated()
    for s in graph.map_stages():
        y = graph.tensors[s.outputs[0]]
        for pe in [p for p in range(1, y.channels + 1) if y.channels % p == 0]:
            assert map_cycles(graph, s, Fold(pe, 1)) == y.height * y.width * y.channels // pe
            assert map_cycles(graph, s, Fold(pe, 1, True)) == \
                y.height * y.width * y.channels // pe * s.map.levels


def test_read_folding_takes_each_field_over_the_default(tmp_path):
    graph, names, sep = separated()
    default = default_folding(sep)
    layers = [s.name for s in sep.conv_stages()]
    o = sep.conv_stages()[1].weights.shape[0]
    entries = {"Defaults": {"PE": 999}, layers[0]: {"PE": 1}, layers[1]: {"SIMD": 1},
               layers[2]: {"PE": o // 2 if o % 2 == 0 else 1, "SIMD": 1},
               names[0]: {"PE": 1, "search": "serial"}, names[1]: {"PE": 1}}
    if sep.map_stages()[0].map.kind is not MapKind.THRESHOLDS:
        entries[names[0]].pop("search")
    path = tmp_path / "f.json"
    path.write_text(json.dumps(entries))
    assert sorted(folding_maps(path, graph)) == sorted(names[:2])    # layers are not maps
    got = read_folding(path, sep)
    assert got[layers[0]] == Fold(1, default[layers[0]].simd)
    assert got[layers[1]] == Fold(default[layers[1]].pe, 1)
    assert got[layers[2]] == Fold(entries[layers[2]]["PE"], 1)
    assert got[names[0]] == Fold(1, 1, "search" in entries[names[0]])
    assert got[names[1]] == Fold(1, 1, False)
    untouched = set(default) - set(entries)
    assert untouched and all(got[n] == default[n] for n in untouched)


@pytest.mark.parametrize("entry, match", [
    ({"PE": "2"}, "needs integer \"PE\" and/or \"SIMD\" \\(and for a map \"search\": "
                  "parallel or serial\\)"),
    ({"PE": 1, "FOO": 1}, "needs integer"),
    ({"PE": 1, "search": "rom"}, "needs integer"),
    ([1, 2], "needs integer"),
])
def test_read_folding_names_a_bad_entry(tmp_path, entry, match):
    _, _, sep = separated()
    layer = sep.conv_stages()[0].name
    path = tmp_path / "f.json"
    path.write_text(json.dumps({layer: entry}))
    with pytest.raises(AddnnError, match=f"^{path}: layer '{layer}' {match}"):
        read_folding(path, sep)


def test_read_folding_checks_the_lanes_of_the_sad_unit_it_is_given(tmp_path):
    _, _, sep = separated()
    s = next(s for s in sep.conv_stages() if s.op is Op.SAD and 1 in legal_simd(s))
    path = tmp_path / "f.json"
    path.write_text(json.dumps({s.name: {"PE": 1, "SIMD": 1}}))
    assert read_folding(path, sep)[s.name] == Fold(1, 1)
    with pytest.raises(AddnnError, match="a octo8 SAD unit$"):     # too few terms or lanes
        read_folding(path, sep, "octo8")
    path.write_text(json.dumps({"nope": {"PE": 1}}))
    with pytest.raises(AddnnError, match=f"layers: {', '.join(default_folding(sep))}\\)$"):
        read_folding(path, sep)
    path.write_text("[1]")
    with pytest.raises(AddnnError, match="a folding file is a JSON object of layers"):
        read_folding(path, sep)
    with pytest.raises(AddnnError, match="no such folding file"):
        read_folding(tmp_path / "missing.json", sep)


@given(lo=st.integers(-2**40, 2**40), span=st.integers(0, 2**40))
def test_array_widths_are_the_narrowest(lo, span):
    hi = lo + span
    w = next(w for w in range(1, 90) if -(1 << (w - 1)) <= lo and hi < (1 << (w - 1)))
    assert signed_width(lo, hi) == w
    if lo >= 0:
        assert unsigned_width(hi) == next(w for w in range(1, 90) if hi < (1 << w))


def test_initializer_writes_floats_as_float_literals_and_ints_as_ints():
    assert initializer(np.array([0.5, np.inf, -2.0], dtype=np.float64)) == "{0.5f, 0.0f, -2f}"
    assert initializer(np.array([[1, -2], [3, 4]], dtype=np.int16)) == "{{1, -2},\n{3, 4}}"
    assert initializer(np.array(7)) == "{7}"


def test_check_folding_needs_every_folded_stage_and_checks_each():
    _, _, sep = separated()
    folding = default_folding(sep)
    check_folding(sep, folding)                               # the lut unit by default
    first = sep.map_stages()[0].name
    with pytest.raises(AddnnError, match=f"^the folding has no entry for layer '{first}'$"):
        check_folding(sep, {k: v for k, v in folding.items() if k != first})
    layer = sep.conv_stages()[0]
    bad = {**folding, layer.name: Fold(layer.weights.shape[0] + 1, 1)}
    with pytest.raises(AddnnError, match=f"^folding of layer '{layer.name}': PE "):
        check_folding(sep, bad)


def test_an_unreachable_target_takes_the_most_parallel_legal_folding():
    _, _, sep = separated()
    folding = default_folding(sep, target_cycles=0)
    for s in sep.conv_stages():
        assert folding[s.name] == Fold(s.weights.shape[0], legal_simd(s)[-1])
    for s in sep.map_stages():
        assert folding[s.name] == Fold(sep.tensors[s.outputs[0]].channels, 1)


def test_native_type_is_the_narrowest_holding_the_range():
    """Every pair of range ends around each type's limits, against the types' definitions."""
    from addnn.hls.carrays import native_type
    edges = sorted({v for b in (8, 16, 32, 64) for base in (2**(b - 1), 2**b, -2**(b - 1))
                    for v in (base - 1, base, base + 1) if -2**63 <= v < 2**63} | {0})
    for lo in edges:
        for hi in (h for h in edges if h >= lo):
            fits = [(b, "u") for b in (8, 16, 32, 64) if lo >= 0 and hi < 2**b] + \
                   [(b, "") for b in (8, 16, 32, 64) if -2**(b - 1) <= lo and hi < 2**(b - 1)]
            b, u = min(fits, key=lambda f: (f[0], f[1] != "u"))   # narrowest, unsigned first
            assert native_type(lo, hi) == f"{u}int{b}_t", (lo, hi)


@given(o=st.integers(1, 12), c=st.integers(1, 12), k=st.sampled_from([1, 2, 3]),
       data=st.data())
def test_geometry_splits_each_window_as_its_docstring_says(o, c, k, data):
    """For every legal folding: a chunk of SIMD words is cw contiguous channels of tpc taps,
    or one tap's channels in cpt chunks; all loop bounds are integers whose products give
    the window and the output channels back."""
    from addnn.hls.folding import geometry
    stage = conv(o, c, k, Op.SAD)
    simd = data.draw(st.sampled_from(legal_simd(stage)))
    pe = data.draw(st.sampled_from([p for p in range(1, o + 1) if o % p == 0]))
    g = geometry(stage, Fold(pe, simd))
    fields = [g.kkc, g.nf, g.sf, g.cw, g.tpc, g.cpt, g.lb_rows, g.lb_banks]
    assert all(type(v) is int for v in fields), fields
    assert g.kkc == c * k * k and g.nf * pe == o and g.sf * simd == g.kkc
    assert g.cw * g.tpc == simd and g.cw * g.cpt == c
    assert (g.tpc > 1) == (simd > c)
    assert (g.lb_rows, g.lb_banks) == ((k, k) if simd > c else (1, 1))
