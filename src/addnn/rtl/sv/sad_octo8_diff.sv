// Octo-INT8 differences: see sad_octo8.sv for the lane layout.
// The differences of sad_octo8 (the layout above) for its accumulators and for the HLS black
// box sad_bb_octo8, one register stage (the P register and the LUT parts' registers):
// da = the even lanes' 9-bit differences with the sign inverted (d[8] = x >= w, what
// sad_absacc NONNEG takes without an inverter), db = the odd lanes' in two's complement.
module sad_octo8_diff (
    input  wire        clk, rst,
    input  wire [63:0] x, w,
    output wire [35:0] da, db
);
    wire [47:0] z_op, x_op, p;
    wire [3:0]  co;
    wire        cin;
    sad_dsp_sub4 dsp (.clk(clk), .rst(rst), .z(z_op), .x(x_op), .cin(cin), .p(p), .co(co));
    genvar j;
    generate
        for (j = 0; j < 4; j = j + 1) begin : pair
            wire [7:0] xa = x[16*j +: 8], wa = w[16*j +: 8];
            wire [7:0] xb = x[16*j+8 +: 8], wb = w[16*j+8 +: 8];
            // LA low bits of lane a, LB of lane b in LUTs (lane 0: 2 and 3 via CARRYIN).
            localparam integer LA = j == 0 ? 2 : 0;
            localparam integer LB = j == 0 ? 3 : 5;
            wire [LB+1:0] lb;
            wire [LB-1:0] lb_r;
            sad_lowsub #(.N(LB)) subb (.clk(clk), .rst(rst), .x(xb[LB-1:0]), .w(wb[LB-1:0]),
                                       .lo(lb), .lo_r(lb_r));
            assign z_op[j*12 +: 12] = {wb[7:LB], lb[LB], xa[7:LA]};
            assign x_op[j*12 +: 12] = {xb[7:LB], lb[LB+1], wa[7:LA]};
            if (LA != 0) begin : lowa
                wire [LA+1:0] la;
                wire [LA-1:0] la_r;
                sad_lowsub #(.N(LA)) suba (.clk(clk), .rst(rst), .x(xa[LA-1:0]),
                                           .w(wa[LA-1:0]), .lo(la), .lo_r(la_r));
                assign cin = la[LA];
                assign da[9*j +: 9] = {p[j*12+8-LA], p[j*12 +: 8-LA], la_r};
            end else begin : dspa
                assign da[9*j +: 9] = p[j*12 +: 9];
            end
            assign db[9*j +: 9] = {co[j], ~p[j*12+4+LB +: 8-LB], lb_r};
        end
    endgenerate
endmodule
