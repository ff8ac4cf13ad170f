// Octo-INT8: eight SAD lanes on one DSP48E2 plus small LUT subtractors before it.
//
// Lane pair j (a = 2j, b = 2j + 1) uses DSP lane j, which computes Z - X on 12 bits
// (sad_dsp_sub4: Z = C, X = A:B). Lanes 1..3 are laid out as [11:9 | 8 | 7:0]:
//   [7:0]  lane a: Z = xa, X = wa, so P[7:0] = xa - wa (mod 256);
//   [8]    transfer bit, Z = ~c and X = c, with c = (xb[4:0] >= wb[4:0]) from the LUTs;
//   [11:9] bits 7:5 of lane b: Z = wb, X = xb.
// The low 5 bits of lane b are subtracted in LUTs before the DSP, xb[4:0] + ~wb[4:0] + 1.
// That chain's carry-in is a constant, so bit 0's addends are rearranged as (1, ~wb[0]) with
// carry-in xb[0]: its propagate is wb[0] itself and bit 0 needs no LUT (4 LUTs for 5 bits).
// The transfer bit adds -256 to the 9-bit field below it when lane b's low bits borrowed and
// +256 when not, which outweighs any xa - wa: the field borrows from [11:9] exactly when the
// LUT bits did, and bit 8 is (xa >= wa) either way (+-256 agree modulo 512). So:
//   lane a = {~P[8], P[7:0]}: exact, its sign inverted -> sad_absacc NONNEG (no inverter);
//   lane b: Z - X = ~(X + ~Z) makes P[11:9] the complement of bits 7:5 of xb - wb and
//   CARRYOUT (no borrow of Z - X) exactly (xb - wb < 0), the sign itself; the complement
//   folds into the accumulator's LUTs.
// DSP lane 0 also has CARRYIN (Z - (X + CIN)): there the even lane's low 2 bits are a LUT
// subtractor of the same kind whose borrow is CARRYIN, so the split is a = 2 LUT + 6 DSP bits
// ([5:0]), transfer bit [6], b = 3 LUT + 5 DSP bits ([11:7]); that saves one more LUT.
// Both lanes then use sad_absacc: 15 LUTs per DSP beyond Quad12 (4 + 4 + 4 in lanes 1..3,
// 2 + 1 in lane 0), one per LUT-side bit except each chain's bit 0.
module sad_octo8 #(
    parameter integer ACC_W = 18
) (
    input  wire               clk, rst,
    input  wire               en, first,      // from the PE's sad_ctrl
    input  wire [63:0]        x, w,
    output wire [8*ACC_W-1:0] sad
);
    wire [35:0] da, db;
    sad_octo8_diff diffs (.clk(clk), .rst(rst), .x(x), .w(w), .da(da), .db(db));
    genvar j;
    generate
        for (j = 0; j < 4; j = j + 1) begin : pair
            sad_absacc #(.ACC_W(ACC_W), .NONNEG(1)) acc_a (.clk(clk), .rst(rst), .en(en),
                .first(first), .d(da[9*j +: 9]), .acc(sad[(2*j)*ACC_W +: ACC_W]));
            sad_absacc #(.ACC_W(ACC_W)) acc_b (.clk(clk), .rst(rst), .en(en), .first(first),
                .d(db[9*j +: 9]), .acc(sad[(2*j+1)*ACC_W +: ACC_W]));
        end
    endgenerate
endmodule
