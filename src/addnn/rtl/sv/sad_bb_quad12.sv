// Quad12 differences as a Vitis HLS RTL black box (addnn `--sad quad12`): four lanes of
// x - w, each a 9-bit two's-complement difference, formed by one DSP48E2 (sad_dsp_sub4) and
// registered in its P register (latency 1, one call per cycle). The HLS kernel takes |d| and
// accumulates, as sad_absacc does in the full units.
// Operands are unsigned bytes (the kernel flips bit 7 of signed ones: same differences).
// ap_ce is not needed: the unit is a function of its inputs through one register, and a
// stalled HLS pipeline holds those inputs, so P holds too.
module sad_bb_quad12 (
    input  wire        ap_clk, ap_rst, ap_ce,
    input  wire [31:0] x, w,
    output wire [35:0] d
);
    wire [47:0] z_op, x_op, p;
    wire [3:0]  co;
    sad_dsp_sub4 dsp (.clk(ap_clk), .rst(ap_rst), .z(z_op), .x(x_op), .cin(1'b0), .p(p),
                      .co(co));
    genvar j;
    generate
        for (j = 0; j < 4; j = j + 1) begin : lane
            assign z_op[j*12 +: 12] = {4'd0, x[j*8 +: 8]};
            assign x_op[j*12 +: 12] = {4'd0, w[j*8 +: 8]};
            assign d[j*9 +: 9] = p[j*12 +: 9];
        end
    endgenerate
endmodule
