// One SAD accumulator: acc <= (first ? 0 : acc) + |d| for a 9-bit two's-complement difference.
//
// |d| = (d[7:0] ^ {8{s}}) + s with s the sign: the conditional complement sits in the adder's
// LUTs and s is the carry-in, so abs and accumulate are a single carry chain. This is exact for
// every d in [-256, 255]. The sum wraps modulo 2**ACC_W; ACC_W = 18 holds 1028 terms of 255,
// above ResNet-20's longest window (64 x 3 x 3 = 576 terms, at most 146,880 < 2**18).
//
// NONNEG = 1 takes d[8] as the complement of the sign, g = (d >= 0), as sad_octo8's even lanes
// get it from the DSP. The carry-in ~g then comes from one extra chain position below bit 0
// whose addends are ~g and 1: its propagate is g itself and its generate input (CARRY4 DI, the
// $alu's A operand in yosys) the constant 1, so it passes ~g up without an inverter (a
// carry-in port cannot invert). The 1 sits in the narrow operand because yosys 0.23's alumacc
// makes that one A; the other order costs an INV. Same LUTs and chain length class as NONNEG=0.
module sad_absacc #(
    parameter integer ACC_W = 18,
    parameter integer NONNEG = 0
) (
    input  wire             clk, rst, en, first,
    input  wire [8:0]       d,
    output reg  [ACC_W-1:0] acc
);
    wire             s = NONNEG != 0 ? ~d[8] : d[8];
    wire [7:0]       m = d[7:0] ^ {8{s}};
    wire [ACC_W-1:0] base = first ? {ACC_W{1'b0}} : acc;
    wire [ACC_W:0]   sum;
    generate
        if (NONNEG != 0) begin : pos
            assign sum = {base, s} + {{(ACC_W - 8){1'b0}}, m, 1'b1};
        end else begin : neg
            assign sum = {base + {{(ACC_W - 8){1'b0}}, m} + {{(ACC_W - 1){1'b0}}, s}, 1'b0};
        end
    endgenerate
    always @(posedge clk)
        if (rst) acc <= {ACC_W{1'b0}};
        else if (en) acc <= sum[ACC_W:1];
endmodule
