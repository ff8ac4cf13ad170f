// Testbench for sad_pe: drives all six PE kinds (VARIANT 0..2 x SIGNED 0..1) of P lanes with
// one stream of vectors and writes each kind's outputs to its own file.
//   +vectors=FILE  one cycle per line: "ctrl x w" in hex (ctrl: bit 0 valid, 1 first, 2 last)
//   +out=PREFIX    writes PREFIX_v<variant>_s<signed>.txt, one hex line per emitted SAD row
`timescale 1ns / 1ps
module tb_sad_pe #(parameter integer P = 16);
    localparam integer ACC_W = 18;
    localparam integer KINDS = 6;
    reg clk = 1'b0, rst = 1'b1;
    reg [2:0] ctrl = 3'd0;
    reg [P*8-1:0] x = 0, w = 0;
    wire [KINDS-1:0] ov;
    wire [P*ACC_W-1:0] sad [0:KINDS-1];

    genvar k;
    generate
        for (k = 0; k < KINDS; k = k + 1) begin : kind
            sad_pe #(.P(P), .VARIANT(k / 2), .ACC_W(ACC_W), .SIGNED(k % 2)) pe (
                .clk(clk), .rst(rst), .in_valid(ctrl[0]), .in_first(ctrl[1]),
                .in_last(ctrl[2]), .x(x), .w(w), .out_valid(ov[k]), .sad(sad[k]));
        end
    endgenerate

    always #5 clk = ~clk;

    integer fin, r, i;
    integer fout [0:KINDS-1];
    reg [8*1024-1:0] vec_path, prefix, name;
    reg [7:0] c;
    reg [P*8-1:0] xv, wv;
    initial begin
        if (!$value$plusargs("vectors=%s", vec_path) || !$value$plusargs("out=%s", prefix))
            $fatal(1, "tb_sad_pe: needs +vectors=FILE +out=PREFIX");
        fin = $fopen(vec_path, "r");
        if (fin == 0) $fatal(1, "tb_sad_pe: cannot open the vector file");
        for (i = 0; i < KINDS; i = i + 1) begin
            $sformat(name, "%0s_v%0d_s%0d.txt", prefix, i / 2, i % 2);
            fout[i] = $fopen(name, "w");
            if (fout[i] == 0) $fatal(1, "tb_sad_pe: cannot open an output file");
        end
        repeat (2) @(negedge clk);
        rst = 1'b0;
        while (!$feof(fin)) begin
            r = $fscanf(fin, "%h %h %h\n", c, xv, wv);
            if (r == 3) begin
                @(negedge clk);
                ctrl = c[2:0];  x = xv;  w = wv;
            end else if (!$feof(fin)) $fatal(1, "tb_sad_pe: malformed vector line");
        end
        @(negedge clk);
        ctrl = 3'd0;
        repeat (4) @(negedge clk);
        for (i = 0; i < KINDS; i = i + 1) $fclose(fout[i]);
        $fclose(fin);
        $finish;
    end

    // Outputs change on posedge only; sampling them on negedge cannot race the stimulus.
    integer j;
    always @(negedge clk)
        for (j = 0; j < KINDS; j = j + 1)
            if (ov[j]) $fwrite(fout[j], "%h\n", sad[j]);
endmodule
