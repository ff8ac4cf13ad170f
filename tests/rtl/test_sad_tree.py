"""sad_tree (the calibration model of the SAD datapath) under Icarus against numpy: random
operands with the extremes mixed in, random en and first, the accumulator after every cycle."""

import shutil

import numpy as np
import pytest

from addnn.rtl.calibrate import SOURCE, acc_width
from addnn.rtl.sim import run_checked

CYCLES = 160

# Plays one row of operands and control per cycle and prints acc after each rising edge.
TB = """
module tb;
    parameter integer SIMD = 1, B = 4, DIFF_IN = 0, ACC_W = 15, T = 16;
    reg clk = 0, en = 0, first = 0;
    reg  [SIMD*B-1:0]     x = 0, w = 0;
    reg  [SIMD*(B+1)-1:0] d = 0;
    wire [ACC_W-1:0]      acc;
    reg  [SIMD*B-1:0]     xs [0:T-1], ws [0:T-1];
    reg  [SIMD*(B+1)-1:0] ds [0:T-1];
    reg  [1:0]            cs [0:T-1];
    integer c;
    sad_tree #(.SIMD(SIMD), .B(B), .ACC_W(ACC_W), .DIFF_IN(DIFF_IN)) dut (
        .clk(clk), .en(en), .first(first), .x(x), .w(w), .d(d), .acc(acc));
    initial begin
        $readmemh("x.hex", xs);
        $readmemh("w.hex", ws);
        $readmemh("d.hex", ds);
        $readmemh("c.hex", cs);
        for (c = 0; c < T; c = c + 1) begin
            x = xs[c]; w = ws[c]; d = ds[c]; {first, en} = cs[c];
            #1 clk = 1;
            #1 clk = 0;
            $display("%h", acc);
        end
        $finish;
    end
endmodule
"""


def _pack(rows: np.ndarray, bits: int) -> list[str]:
    """Rows of lane values as hex words, lane 0 in the low bits."""
    digits = (rows.shape[1] * bits + 3) // 4
    return [format(sum(int(v) << (s * bits) for s, v in enumerate(r)), f"0{digits}x")
            for r in rows]


@pytest.mark.parametrize("diff_in", [0, 1])
@pytest.mark.parametrize("simd", [1, 3, 8])
@pytest.mark.parametrize("bits", [4, 6, 8])
def test_sad_tree_matches_numpy(tmp_path, bits, simd, diff_in):
    missing = [t for t in ("iverilog", "vvp") if shutil.which(t) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed: sad_tree simulation skipped")
    rng = np.random.default_rng(1000 * bits + 10 * simd + diff_in)
    top = (1 << bits) - 1
    x = rng.integers(0, top + 1, (CYCLES, simd))
    w = rng.integers(0, top + 1, (CYCLES, simd))
    x[:8], w[:8] = top, 0                       # the largest |d| with either sign
    x[8:16], w[8:16] = 0, top
    perm = rng.permutation(CYCLES)                  # the extremes scattered over the run
    x, w = x[perm], w[perm]
    lat = 3 - diff_in                                # operands to tree output
    first = rng.random(CYCLES) < 0.15
    en = rng.random(CYCLES) < 0.8
    first[:lat], en[:lat] = False, False
    first[lat], en[lat] = True, True
    acc_w = acc_width(bits)

    (tmp_path / "x.hex").write_text("\n".join(_pack(x, bits)) + "\n")
    (tmp_path / "w.hex").write_text("\n".join(_pack(w, bits)) + "\n")
    (tmp_path / "d.hex").write_text("\n".join(_pack((x - w) & ((1 << (bits + 1)) - 1),
                                                    bits + 1)) + "\n")
    (tmp_path / "c.hex").write_text("".join(f"{2 * f + e:x}\n" for f, e in zip(first, en)))
    (tmp_path / "tb.sv").write_text(TB)
    vvp = tmp_path / "tb.vvp"
    params = {"SIMD": simd, "B": bits, "DIFF_IN": diff_in, "ACC_W": acc_w, "T": CYCLES}
    run_checked(["iverilog", "-g2012", "-s", "tb", *[f"-Ptb.{k}={v}" for k, v in params.items()],
                 "-o", str(vvp), str(SOURCE), str(tmp_path / "tb.sv")], "iverilog sad_tree")
    got = run_checked(["vvp", "-n", str(vvp)], "vvp sad_tree", cwd=tmp_path).splitlines()
    got = [g.strip() for g in got[:CYCLES]]

    sad = np.abs(x - w).sum(axis=1)
    acc, checked = None, 0
    for c in range(CYCLES):
        if en[c]:
            term = int(sad[c - lat])
            acc = (term if first[c] else acc + term) % (1 << acc_w)
        if acc is not None:
            assert int(got[c], 16) == acc, f"cycle {c}"
            checked += 1
    assert checked == CYCLES - lat
