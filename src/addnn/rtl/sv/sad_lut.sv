// LUT-only SAD lanes, the baseline the DSP-packed units are compared against: a 9-bit
// subtractor per lane, its register (where the DSP variants use the P register), then the
// shared abs-accumulate carry chain.
module sad_lut #(
    parameter integer LANES = 8,
    parameter integer ACC_W = 18,
    parameter integer SIGNED = 0   // 1: int8 operands (bit 7 flipped: same differences)
) (
    input  wire                   clk, rst,
    input  wire                   in_valid, in_first, in_last,
    input  wire [LANES*8-1:0]     x, w,
    output wire                   out_valid,
    output wire [LANES*ACC_W-1:0] sad
);
    localparam [7:0] FLIP = SIGNED != 0 ? 8'h80 : 8'h00;
    wire en, first;
    sad_ctrl ctrl (.clk(clk), .rst(rst), .in_valid(in_valid), .in_first(in_first),
                   .in_last(in_last), .en(en), .first(first), .out_valid(out_valid));
    genvar i;
    generate
        for (i = 0; i < LANES; i = i + 1) begin : lane
            reg [8:0] d;
            always @(posedge clk)
                if (rst) d <= 9'd0;
                else d <= {1'b0, x[i*8 +: 8] ^ FLIP} - {1'b0, w[i*8 +: 8] ^ FLIP};
            sad_absacc #(.ACC_W(ACC_W)) u_acc (.clk(clk), .rst(rst), .en(en), .first(first),
                                             .d(d), .acc(sad[i*ACC_W +: ACC_W]));
        end
    endgenerate
endmodule
