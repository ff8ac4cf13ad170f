// Drives the two HLS black-box difference units with the vectors of +vectors (one line of two
// 64-bit hex operands each) and writes, per vector, the Quad12 (low 4 lanes) and Octo8
// (8 lanes) differences one cycle later to +out.
module tb_sad_bb;
    reg clk = 0, rst = 1;
    reg [63:0] x = 0, w = 0;
    wire [35:0] dq;
    wire [71:0] d8;
    sad_bb_quad12 uq (.ap_clk(clk), .ap_rst(rst), .ap_ce(1'b1), .x(x[31:0]), .w(w[31:0]),
                      .d(dq));
    sad_bb_octo8 u8 (.ap_clk(clk), .ap_rst(rst), .ap_ce(1'b1), .x(x), .w(w), .d(d8));
    integer fin, fout, n;
    reg [1023:0] vec_path, out_path;
    initial begin
        if (!$value$plusargs("vectors=%s", vec_path) || !$value$plusargs("out=%s", out_path)) begin
            $display("usage: +vectors=FILE +out=FILE");
            $finish;
        end
        fin = $fopen(vec_path, "r");
        fout = $fopen(out_path, "w");
        #1 clk = 1; #1 clk = 0; rst = 0;
        while ($fscanf(fin, "%h %h\n", x, w) == 2) begin
            #1 clk = 1;
            #1 clk = 0;
            $fdisplay(fout, "%h %h", dq, d8);
        end
        $fclose(fout);
        $finish;
    end
endmodule
