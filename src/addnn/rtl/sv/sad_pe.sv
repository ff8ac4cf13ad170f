// SAD processing element: P lanes, each accumulating sum |x - w| over a window marked by
// in_first/in_last, built from one kind of unit chosen by VARIANT so the kinds can be
// compared: 0 = LUT only, 1 = Quad-INT12 (P/4 DSP48E2), 2 = Octo-INT8 (P/8 DSP48E2).
// P must be a multiple of 8. Latency: out_valid and sad two cycles after the last term.
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
    wire [P/G-1:0] unit_valid;
    assign out_valid = unit_valid[0];
    genvar u;
    generate
        for (u = 0; u < P / G; u = u + 1) begin : unit
            if (VARIANT == 1) begin : q
                sad_quad12 #(.ACC_W(ACC_W), .SIGNED(SIGNED)) core (
                    .clk(clk), .rst(rst), .in_valid(in_valid), .in_first(in_first),
                    .in_last(in_last), .x(x[u*32 +: 32]), .w(w[u*32 +: 32]),
                    .out_valid(unit_valid[u]), .sad(sad[u*4*ACC_W +: 4*ACC_W]));
            end else if (VARIANT == 2) begin : o
                sad_octo8 #(.ACC_W(ACC_W), .SIGNED(SIGNED)) core (
                    .clk(clk), .rst(rst), .in_valid(in_valid), .in_first(in_first),
                    .in_last(in_last), .x(x[u*64 +: 64]), .w(w[u*64 +: 64]),
                    .out_valid(unit_valid[u]), .sad(sad[u*8*ACC_W +: 8*ACC_W]));
            end else begin : l
                sad_lut #(.LANES(8), .ACC_W(ACC_W), .SIGNED(SIGNED)) core (
                    .clk(clk), .rst(rst), .in_valid(in_valid), .in_first(in_first),
                    .in_last(in_last), .x(x[u*64 +: 64]), .w(w[u*64 +: 64]),
                    .out_valid(unit_valid[u]), .sad(sad[u*8*ACC_W +: 8*ACC_W]));
            end
        end
    endgenerate
endmodule
