// LUT-only SAD lanes, the baseline the DSP-packed units are compared against: a 9-bit
// subtractor per lane, its register (where the DSP variants use the P register), then the
// shared abs-accumulate carry chain.
module sad_lut #(
    parameter integer LANES = 8,
    parameter integer ACC_W = 18
) (
    input  wire                   clk, rst,
    input  wire                   en, first,      // from the PE's sad_ctrl
    input  wire [LANES*8-1:0]     x, w,
    output wire [LANES*ACC_W-1:0] sad
);
    genvar i;
    generate
        for (i = 0; i < LANES; i = i + 1) begin : lane
            reg [8:0] d;
            always @(posedge clk)
                if (rst) d <= 9'd0;
                else d <= {1'b0, x[i*8 +: 8]} - {1'b0, w[i*8 +: 8]};
            sad_absacc #(.ACC_W(ACC_W)) u_acc (.clk(clk), .rst(rst), .en(en), .first(first),
                                             .d(d), .acc(sad[i*ACC_W +: ACC_W]));
        end
    endgenerate
endmodule
