// SAD processing element: P lanes, each accumulating sum |x - w| over a window marked by
// in_first/in_last, built from one kind of unit chosen by VARIANT so the kinds can be
// compared: 0 = LUT only, 1 = Quad-INT12 (P/4 DSP48E2), 2 = Octo-INT8 (P/8 DSP48E2).
// SIGNED = 1 takes int8 operands. P must be a multiple of 8. Latency: out_valid and sad
// two cycles after the last term.
module sad_pe #(
    parameter integer P = 16,
    parameter integer VARIANT = 0,
    parameter integer ACC_W = 18,
    parameter integer SIGNED = 0
) (
    input  wire               clk, rst,
    input  wire               in_valid, in_first, in_last,
    input  wire [P*8-1:0]     x, w,
    output wire               out_valid,
    output wire [P*ACC_W-1:0] sad
);
    localparam integer G = VARIANT == 1 ? 4 : 8;   // lanes per unit
    // int8 operands: flipping bit 7 of both adds 128 to each, so every difference is the same
    // and the units only ever see unsigned bytes.
    localparam [P*8-1:0] FLIP = SIGNED != 0 ? {P{8'h80}} : {P{8'h00}};
    wire [P*8-1:0] xu = x ^ FLIP, wu = w ^ FLIP;
    wire en, first;
    sad_ctrl ctrl (.clk(clk), .rst(rst), .in_valid(in_valid), .in_first(in_first),
                   .in_last(in_last), .en(en), .first(first), .out_valid(out_valid));
    genvar u;
    generate
        for (u = 0; u < P / G; u = u + 1) begin : unit
            if (VARIANT == 1) begin : q
                sad_quad12 #(.ACC_W(ACC_W)) core (
                    .clk(clk), .rst(rst), .en(en), .first(first), .x(xu[u*32 +: 32]),
                    .w(wu[u*32 +: 32]), .sad(sad[u*4*ACC_W +: 4*ACC_W]));
            end else if (VARIANT == 2) begin : o
                sad_octo8 #(.ACC_W(ACC_W)) core (
                    .clk(clk), .rst(rst), .en(en), .first(first), .x(xu[u*64 +: 64]),
                    .w(wu[u*64 +: 64]), .sad(sad[u*8*ACC_W +: 8*ACC_W]));
            end else begin : l
                sad_lut #(.LANES(8), .ACC_W(ACC_W)) core (
                    .clk(clk), .rst(rst), .en(en), .first(first), .x(xu[u*64 +: 64]),
                    .w(wu[u*64 +: 64]), .sad(sad[u*8*ACC_W +: 8*ACC_W]));
            end
        end
    endgenerate
endmodule
