// Octo8 differences as a Vitis HLS RTL black box (addnn `--sad octo8`): eight lanes of x - w,
// 9-bit two's complement each, from sad_octo8_diff (one DSP48E2 and the small LUT
// subtractors of sad_octo8), latency 1, one call per cycle. The even lanes' sign comes out
// inverted and is inverted back here. The HLS kernel takes |d| and accumulates.
// Operands are unsigned bytes. ap_ce is not needed (see sad_bb_quad12).
module sad_bb_octo8 (
    input  wire        ap_clk, ap_rst, ap_ce,
    input  wire [63:0] x, w,
    output wire [71:0] d
);
    wire [35:0] da, db;
    sad_octo8_diff diffs (.clk(ap_clk), .rst(ap_rst), .x(x), .w(w), .da(da), .db(db));
    genvar j;
    generate
        for (j = 0; j < 4; j = j + 1) begin : pair
            assign d[(2*j)*9 +: 9] = {~da[9*j+8], da[9*j +: 8]};
            assign d[(2*j+1)*9 +: 9] = db[9*j +: 9];
        end
    endgenerate
endmodule
