// Octo-INT8: eight SAD lanes on one DSP48E2 plus a 5-bit LUT subtractor per odd lane.
//
// Lane pair j (a = 2j, b = 2j + 1) uses DSP lane j, which computes Z - X on 12 bits
// (sad_dsp_sub4: Z = C, X = A:B), laid out as [11:9 | 8 | 7:0]:
//   [7:0]  lane a: Z = xa, X = wa, so P[7:0] = xa - wa (mod 256);
//   [8]    transfer bit, Z = ~c and X = c, with c = (xb[4:0] >= wb[4:0]) from the LUTs;
//   [11:9] the upper 3 bits of lane b: Z = wb[7:5], X = xb[7:5].
// The low 5 bits of lane b are subtracted in LUTs before the DSP, xb[4:0] + ~wb[4:0] + 1.
// That chain's carry-in is a constant, so bit 0's addends are rearranged as (1, ~wb[0]) with
// carry-in xb[0]: its propagate is wb[0] itself and bit 0 needs no LUT (4 LUTs for 5 bits).
// The transfer bit contributes +256 (c = 1) or -256 (c = 0) to the 9-bit field below it,
// which outweighs any xa - wa, so the field borrows from [11:9] exactly when lane b's low
// bits borrowed (c = 0), and bit 8 is (xa >= wa) either way (+-256 agree modulo 512). So:
//   lane a = xa - wa exactly, P[8] = (xa >= wa)   -> sad_absacc NONNEG (no inverter);
//   lane b: in the inverted view of the DSP lane (Z - X = ~(X + ~Z)) the upper bits P[11:9]
//   are the complement of bits 7:5 of xb - wb, and CARRYOUT (no borrow of Z - X) is exactly
//   (xb - wb < 0), the sign itself; the complement folds into the accumulator's LUTs.
// Both lanes then use sad_absacc: 16 LUTs per DSP beyond Quad12 (four 4-LUT subtractors).
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
            // 64 + xb[4:0] - wb[4:0]: [4:0] the low bits of lane b, [5] = ~c, [6] = c.
            wire [6:0] lo = {2'b00, xb[4:1], 1'b1} + {2'b01, ~wb[4:1], ~wb[0]}
                            + {6'd0, xb[0]};
            assign z_op[j*12 +: 12] = {wb[7:5], lo[5], xa};
            assign x_op[j*12 +: 12] = {xb[7:5], lo[6], wa};
            reg [4:0] lo_r;     // registered alongside the DSP's P register
            always @(posedge clk)
                if (rst) lo_r <= 5'd0;
                else lo_r <= lo[4:0];
            sad_absacc #(.ACC_W(ACC_W), .NONNEG(1)) acc_a (.clk(clk), .rst(rst), .en(en),
                .first(first), .d(p[j*12 +: 9]), .acc(sad[(2*j)*ACC_W +: ACC_W]));
            sad_absacc #(.ACC_W(ACC_W)) acc_b (.clk(clk), .rst(rst), .en(en), .first(first),
                .d({co[j], ~p[j*12+9 +: 3], lo_r}), .acc(sad[(2*j+1)*ACC_W +: ACC_W]));
        end
    endgenerate
endmodule
