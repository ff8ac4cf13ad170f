// Quad-INT12: four SAD lanes on one DSP48E2 in FOUR12 mode.
//
// The DSP forms the four differences x - w: operands zero-extended to 12 bits, so lane j of P
// holds d in [-255, 255] sign-extended (and CARRYOUT[j] = x >= w). The LUTs do |d| and the
// 18-bit accumulation in one carry chain per lane (sad_absacc): a 12-bit lane cannot hold a
// SAD of 576 terms, and |d| needs a per-lane choice the DSP's one ALUMODE cannot make.
module sad_quad12 #(
    parameter integer ACC_W = 18
) (
    input  wire               clk, rst,
    input  wire               en, first,      // from the PE's sad_ctrl
    input  wire [31:0]        x, w,
    output wire [4*ACC_W-1:0] sad
);
    wire [47:0] z_op, x_op, p;
    wire [3:0]  co;
    sad_dsp_sub4 dsp (.clk(clk), .rst(rst), .z(z_op), .x(x_op), .cin(1'b0), .p(p), .co(co));
    genvar j;
    generate
        for (j = 0; j < 4; j = j + 1) begin : lane
            assign z_op[j*12 +: 12] = {4'd0, x[j*8 +: 8]};
            assign x_op[j*12 +: 12] = {4'd0, w[j*8 +: 8]};
            // The lane holds d sign-extended to 12 bits, so P[8] is the sign; the lane's
            // CARRYOUT is its complement and would cost an inverter before the carry-in.
            sad_absacc #(.ACC_W(ACC_W)) u_acc (.clk(clk), .rst(rst), .en(en), .first(first),
                .d(p[j*12 +: 9]), .acc(sad[j*ACC_W +: ACC_W]));
        end
    endgenerate
endmodule
