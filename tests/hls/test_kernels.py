"""Per kernel: one-layer integer graphs through `addnn hls` and g++ C simulation, bit for bit
against the integer graph's own execution (the testbench's expected values), over shapes,
PE and SIMD, bit widths, kernel, stride and padding."""

import numpy as np
import pytest
from conftest import debug_csim, random_images
from netgen import NetBuilder

from addnn.numeric import IntType
from addnn.transform import run_integer

pytestmark = pytest.mark.gxx


def folding_file(tmp_path, model, pe, simd):
    import json

    node = next(n.name for n in model.graph.node if n.op_type in ("Adder2d", "MacConv2d"))
    path = tmp_path / "fold.json"
    path.write_text(json.dumps({node: {"PE": pe, "SIMD": simd}}))
    return path


def check(build, tmp_path, model, pe, simd, frames=5, exact=False, **kw):
    prj = build(model, images=random_images(model, frames), folding_path=folding_file(
        tmp_path, model, pe, simd), **kw)
    report = debug_csim(prj, exact=exact)
    assert report["images"] == frames
    assert report["identical"] == 1.0, report["mismatches"]
    expected = np.fromfile(prj / "tb" / "expected.bin", dtype="<i4")
    assert len(np.unique(expected)) > 3          # the map is not constant: a real test
    return prj


@pytest.mark.parametrize("bits,cin,cout,k,stride,pad,size,pe,simd", [
    (8, 4, 6, 3, 1, 1, 6, 3, 4),        # SIMD = CIN: one tap a chunk
    (8, 4, 6, 3, 2, 1, 7, 6, 36),       # the whole window per cycle, stride 2, odd size
    (6, 6, 4, 3, 1, 0, 5, 2, 2),        # SIMD divides CIN, no padding
    (4, 3, 4, 3, 2, 0, 8, 1, 9),        # SIMD spans 3 taps, 4-bit
    (4, 8, 8, 1, 1, 0, 4, 4, 8),        # 1x1
    (6, 5, 3, 1, 2, 0, 6, 3, 1),        # 1x1 stride 2, SIMD 1
    (8, 2, 2, 1, 1, 1, 3, 1, 2),        # 1x1 with padding: |0 - w| on the border
])
def test_adder_layer_equals_integer_graph(build, tmp_path, bits, cin, cout, k, stride, pad,
                                          size, pe, simd):
    b = NetBuilder(cin, size, bits=bits, signed=False, exponent=-3, seed=bits + k + pad)
    acc = b.conv(b.input, cout, k, stride, pad)
    model = b.model(b.bn(acc, IntType(8, False, -4), relu=True))
    check(build, tmp_path, model, pe, simd)


@pytest.mark.parametrize("k,pad,pe,simd", [(3, 1, 2, 3), (1, 0, 4, 1), (3, 0, 1, 27)])
def test_mac_layer_equals_integer_graph(build, tmp_path, k, pad, pe, simd):
    b = NetBuilder(3, 6, seed=k)
    acc = b.conv(b.input, 4, k, 1, pad, adder=False)
    model = b.model(b.bn(acc, IntType(16, True, -8), relu=False))
    check(build, tmp_path, model, pe, simd)


def test_table_map_and_exact_types(build, tmp_path):
    """A narrow accumulator (<= 8 bits) gets the table map; ap_int types give the same bits."""
    b = NetBuilder(2, 4, bits=2, signed=False, exponent=-2, seed=3)
    acc = b.conv(b.input, 3, 1, 1, 0)
    assert b.types[acc].bits <= 8
    model = b.model(b.bn(acc, IntType(4, True, -1), relu=False, kind="table"))
    prj = check(build, tmp_path, model, 3, 2)
    assert debug_csim(prj, exact=True)["identical"] == 1.0


def test_unfused_accumulator_and_requantize_shift(build, tmp_path):
    """An adder whose accumulator is the output (map none), then a left-shifting requantize."""
    b = NetBuilder(2, 4, bits=4, signed=False, exponent=-2, seed=5)
    acc = b.conv(b.input, 2, 3, 1, 1)
    model = b.model(b.requantize(acc, IntType(12, True, b.types[acc].exponent - 2)))
    check(build, tmp_path, model, 2, 2, exact=False)


@pytest.mark.parametrize("exact", [False, True])
def test_residual_pool_and_fc_kernels(build, tmp_path, exact):
    """Fork, requantize (ReLU), add, average pool and a 16-bit output over one block."""
    b = NetBuilder(4, 4, bits=8, signed=False, exponent=-4, seed=9)
    stream = IntType(8, False, -4)
    x = b.block(b.input, 4, 1, 8, stream)
    fc = b.conv(b.pool(x), 3, 1, adder=False)
    model = b.model(b.flatten(b.bn(fc, IntType(16, True, -6), relu=False)))
    images = random_images(model, 4)
    prj = build(model, images=images)
    assert debug_csim(prj, exact=exact)["identical"] == 1.0
    # The testbench's expected values are the integer graph's own outputs.
    ref = run_integer(model, images[:1])
    got = np.fromfile(prj / "tb" / "expected.bin", dtype="<i4")[:3]
    assert np.array_equal(got, ref.reshape(-1))
