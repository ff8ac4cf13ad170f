// Octo-INT8: eight SAD lanes on one DSP48E2 plus a 5-bit LUT subtractor per odd lane.
//
// Each 12-bit SIMD lane j is split as [11:9 | 8 | 7:0]:
//   [7:0]  lane a = 2j, the whole 8-bit difference xa - wa;
//   [8]    guard bit, 1 in the minuend and 0 in the subtrahend: it absorbs lane a's borrow,
//          so after the subtraction P[8] = (xa >= wa) and nothing crosses into [11:9];
//   [11:9] the low 3 bits of lane b = 2j + 1; the lane's CARRYOUT is their borrow (inverted).
// The upper 5 bits of lane b are subtracted in LUTs with that borrow after the P register,
// from operand bits registered alongside it. All eight lanes then use sad_absacc.
module sad_octo8 #(
    parameter integer ACC_W = 18
) (
    input  wire               clk, rst,
    input  wire               en, first,      // from the PE's sad_ctrl
    input  wire [63:0]        x, w,
    output wire [8*ACC_W-1:0] sad
);
    wire [47:0] z_op, x_op, p;
    wire [3:0]  co;
    sad_dsp_sub4 dsp (.clk(clk), .rst(rst), .z(z_op), .x(x_op), .p(p), .co(co));
    genvar j;
    generate
        for (j = 0; j < 4; j = j + 1) begin : pair
            wire [7:0] xa = x[16*j +: 8], wa = w[16*j +: 8];
            wire [7:0] xb = x[16*j+8 +: 8], wb = w[16*j+8 +: 8];
            assign z_op[j*12 +: 12] = {xb[2:0], 1'b1, xa};
            assign x_op[j*12 +: 12] = {wb[2:0], 1'b0, wa};
            reg [4:0] xb_hi, wb_hi;
            always @(posedge clk)
                if (rst) begin xb_hi <= 5'd0; wb_hi <= 5'd0; end
                else begin xb_hi <= xb[7:3]; wb_hi <= wb[7:3]; end
            // 6-bit result: the upper 5 bits of xb - wb and the sign. Written as
            // xb + ~wb + carry so the DSP's CARRYOUT is the chain's carry-in.
            wire [5:0] hi = {1'b0, xb_hi} + {1'b1, ~wb_hi} + {5'd0, co[j]};
            sad_absacc #(.ACC_W(ACC_W)) acc_a (.clk(clk), .rst(rst), .en(en), .first(first),
                .d({~p[j*12+8], p[j*12 +: 8]}), .acc(sad[(2*j)*ACC_W +: ACC_W]));
            sad_absacc #(.ACC_W(ACC_W)) acc_b (.clk(clk), .rst(rst), .en(en), .first(first),
                .d({hi, p[j*12+9 +: 3]}), .acc(sad[(2*j+1)*ACC_W +: ACC_W]));
        end
    endgenerate
endmodule
