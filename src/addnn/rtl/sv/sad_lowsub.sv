// Low N bits of x - w in LUTs, ahead of the DSP (Octo8). lo = 2**(N+1) + x - w on N bits:
// lo[N-1:0] the difference, lo[N] the borrow, lo[N+1] no borrow. lo_r is lo[N-1:0] one
// cycle later, aligned with the DSP's P register. The 2'b01 sits in the w operand so that
// yosys keeps the x operand (with bit 0's constant 1) as the chain's DI: the other way
// costs INVs.
module sad_lowsub #(parameter integer N = 5) (
    input  wire         clk,
    input  wire         rst,
    input  wire [N-1:0] x,
    input  wire [N-1:0] w,
    output wire [N+1:0] lo,
    output reg  [N-1:0] lo_r
);
    assign lo = {2'b00, x[N-1:1], 1'b1} + {2'b01, ~w[N-1:1], ~w[0]} + {{(N+1){1'b0}}, x[0]};
    always @(posedge clk)
        if (rst) lo_r <= {N{1'b0}};
        else lo_r <= lo[N-1:0];
endmodule
