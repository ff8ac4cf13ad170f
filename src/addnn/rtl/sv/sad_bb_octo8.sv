// Octo8 differences as a Vitis HLS RTL black box (addnn `--sad octo8`): eight lanes of x - w,
// 9-bit two's complement each, from one DSP48E2 and the small LUT subtractors of sad_octo8
// (the same layout; see that file). Latency 1 (the P register and the LUT parts' registers),
// one call per cycle. The even lane's sign comes out of the DSP inverted and is inverted back
// here; the odd lane's sign is CARRYOUT. The HLS kernel takes |d| and accumulates.
// Operands are unsigned bytes. ap_ce is not needed (see sad_bb_quad12).
module sad_bb_octo8 (
    input  wire        ap_clk, ap_rst, ap_ce,
    input  wire [63:0] x, w,
    output wire [71:0] d
);
    wire [47:0] z_op, x_op, p;
    wire [3:0]  co;
    wire        cin;
    sad_dsp_sub4 dsp (.clk(ap_clk), .rst(ap_rst), .z(z_op), .x(x_op), .cin(cin), .p(p),
                      .co(co));
    genvar j;
    generate
        for (j = 0; j < 4; j = j + 1) begin : pair
            wire [7:0] xa = x[16*j +: 8], wa = w[16*j +: 8];
            wire [7:0] xb = x[16*j+8 +: 8], wb = w[16*j+8 +: 8];
            localparam integer LA = j == 0 ? 2 : 0;
            localparam integer LB = j == 0 ? 3 : 5;
            wire [LB+1:0] lb;
            wire [LB-1:0] lb_r;
            sad_lowsub #(.N(LB)) subb (.clk(ap_clk), .rst(ap_rst), .x(xb[LB-1:0]),
                                       .w(wb[LB-1:0]), .lo(lb), .lo_r(lb_r));
            assign z_op[j*12 +: 12] = {wb[7:LB], lb[LB], xa[7:LA]};
            assign x_op[j*12 +: 12] = {xb[7:LB], lb[LB+1], wa[7:LA]};
            wire [8:0] da;
            if (LA != 0) begin : lowa
                wire [LA+1:0] la;
                wire [LA-1:0] la_r;
                sad_lowsub #(.N(LA)) suba (.clk(ap_clk), .rst(ap_rst), .x(xa[LA-1:0]),
                                           .w(wa[LA-1:0]), .lo(la), .lo_r(la_r));
                assign cin = la[LA];
                assign da = {p[j*12+8-LA], p[j*12 +: 8-LA], la_r};
            end else begin : dspa
                assign da = p[j*12 +: 9];
            end
            assign d[(2*j)*9 +: 9] = {~da[8], da[7:0]};
            assign d[(2*j+1)*9 +: 9] = {co[j], ~p[j*12+4+LB +: 8-LB], lb_r};
        end
    endgenerate
endmodule
