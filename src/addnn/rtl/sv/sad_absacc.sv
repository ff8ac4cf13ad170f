// One SAD accumulator: acc <= (first ? 0 : acc) + |d| for a 9-bit two's-complement difference.
//
// |d| = (d[7:0] ^ {8{s}}) + s with s the sign: the conditional complement sits in the adder's
// LUTs and s is the carry-in, so abs and accumulate are a single carry chain. This is exact for
// every d in [-256, 255]. The sum wraps modulo 2**ACC_W; ACC_W = 18 holds 1028 terms of 255,
// above ResNet-20's longest window (64 x 3 x 3 = 576 terms, at most 146,880 < 2**18).
module sad_absacc #(
    parameter integer ACC_W = 18
) (
    input  wire             clk, rst, en, first,
    input  wire [8:0]       d,
    output reg  [ACC_W-1:0] acc
);
    wire       s = d[8];
    wire [7:0] m = d[7:0] ^ {8{s}};
    always @(posedge clk)
        if (rst) acc <= {ACC_W{1'b0}};
        else if (en) acc <= (first ? {ACC_W{1'b0}} : acc) + {{(ACC_W - 8){1'b0}}, m}
                            + {{(ACC_W - 1){1'b0}}, s};
endmodule
