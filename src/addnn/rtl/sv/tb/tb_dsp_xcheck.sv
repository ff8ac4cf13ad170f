// Cross-check of the hand-written DSP48E2 model against yosys's DSP48E1 simulation model
// (xilinx/cells_sim.v) in FOUR12 SIMD mode: both see the same ports every cycle.
//   +vectors=FILE  per line "opmode7 alumode cin a b c" in hex (W = 0 for the DSP48E2)
//   +out=FILE      per cycle "p_e2 carryout_e2 p_e1 carryout_e1" in hex, after the edge
`timescale 1ns / 1ps
module tb_dsp_xcheck;
    reg clk = 1'b0, rst = 1'b1;
    reg [6:0] opmode = 7'd0;
    reg [3:0] alumode = 4'd0;
    reg cin = 1'b0;
    reg [29:0] a = 0;
    reg [17:0] b = 0;
    reg [47:0] c = 0;
    wire [47:0] p2, p1;
    wire [3:0] co2, co1;

    DSP48E2 #(
        .USE_MULT("NONE"), .USE_SIMD("FOUR12"), .AREG(0), .ACASCREG(0), .BREG(0),
        .BCASCREG(0), .CREG(0), .DREG(0), .ADREG(0), .MREG(0), .INMODEREG(0), .OPMODEREG(0),
        .ALUMODEREG(0), .CARRYINREG(0), .CARRYINSELREG(0), .PREG(1)
    ) e2 (
        .CLK(clk), .A(a), .B(b), .C(c), .OPMODE({2'b00, opmode}), .ALUMODE(alumode),
        .CARRYIN(cin), .CARRYINSEL(3'b000), .CEA2(1'b1), .CEB2(1'b1), .CEC(1'b1),
        .CECTRL(1'b1), .CEALUMODE(1'b1), .CECARRYIN(1'b1), .CEP(1'b1), .RSTA(rst),
        .RSTB(rst), .RSTC(rst), .RSTCTRL(rst), .RSTALUMODE(rst), .RSTALLCARRYIN(rst),
        .RSTP(rst), .ACIN(30'd0), .BCIN(18'd0), .PCIN(48'd0), .D(27'd0), .INMODE(5'd0),
        .CARRYCASCIN(1'b0), .MULTSIGNIN(1'b0), .CEA1(1'b0), .CEB1(1'b0), .CEAD(1'b0),
        .CED(1'b0), .CEINMODE(1'b0), .CEM(1'b0), .RSTD(rst), .RSTINMODE(rst), .RSTM(rst),
        .P(p2), .CARRYOUT(co2));

    DSP48E1 #(
        .USE_MULT("NONE"), .USE_DPORT("FALSE"), .USE_SIMD("FOUR12"), .AREG(0), .ACASCREG(0),
        .BREG(0), .BCASCREG(0), .CREG(0), .DREG(0), .ADREG(0), .MREG(0), .INMODEREG(0),
        .OPMODEREG(0), .ALUMODEREG(0), .CARRYINREG(0), .CARRYINSELREG(0), .PREG(1)
    ) e1 (
        .CLK(clk), .A(a), .B(b), .C(c), .OPMODE(opmode), .ALUMODE(alumode), .CARRYIN(cin),
        .CARRYINSEL(3'b000), .CEA1(1'b0), .CEA2(1'b1), .CEB1(1'b0), .CEB2(1'b1), .CEC(1'b1),
        .CEAD(1'b0), .CED(1'b0), .CEM(1'b0), .CEP(1'b1), .CECTRL(1'b1), .CEALUMODE(1'b1),
        .CECARRYIN(1'b1), .CEINMODE(1'b1), .RSTA(rst), .RSTB(rst), .RSTC(rst), .RSTD(rst),
        .RSTM(rst), .RSTP(rst), .RSTCTRL(rst), .RSTALUMODE(rst), .RSTALLCARRYIN(rst),
        .RSTINMODE(rst), .ACIN(30'd0), .BCIN(18'd0), .PCIN(48'd0), .D(25'd0), .INMODE(5'd0),
        .CARRYCASCIN(1'b0), .MULTSIGNIN(1'b0),
        .P(p1), .CARRYOUT(co1), .ACOUT(), .BCOUT(), .CARRYCASCOUT(), .MULTSIGNOUT(),
        .OVERFLOW(), .PATTERNBDETECT(), .PATTERNDETECT(), .PCOUT(), .UNDERFLOW());

    always #5 clk = ~clk;

    integer fin, fout, r;
    reg [8*1024-1:0] vec_path, out_path;
    reg [7:0] op_v, alu_v, cin_v;
    reg [29:0] a_v;
    reg [17:0] b_v;
    reg [47:0] c_v;
    initial begin
        if (!$value$plusargs("vectors=%s", vec_path) || !$value$plusargs("out=%s", out_path))
            $fatal(1, "tb_dsp_xcheck: needs +vectors=FILE +out=FILE");
        fin = $fopen(vec_path, "r");
        fout = $fopen(out_path, "w");
        if (fin == 0 || fout == 0) $fatal(1, "tb_dsp_xcheck: cannot open files");
        // Toggle every input during reset: the DSP48E1 model's combinational "always @*"
        // registers (the *REG = 0 paths) only start following their inputs after an event.
        @(negedge clk);
        {opmode, alumode, cin, a, b, c} = {7'h7f, 4'hf, 1'b1, 30'h3fffffff, 18'h3ffff, {48{1'b1}}};
        @(negedge clk);
        {opmode, alumode, cin, a, b, c} = 0;
        @(negedge clk);
        rst = 1'b0;
        while (!$feof(fin)) begin
            r = $fscanf(fin, "%h %h %h %h %h %h\n", op_v, alu_v, cin_v, a_v, b_v, c_v);
            if (r == 6) begin
                opmode = op_v[6:0];  alumode = alu_v[3:0];  cin = cin_v[0];
                a = a_v;  b = b_v;  c = c_v;
                @(negedge clk);
                $fwrite(fout, "%h %h %h %h\n", p2, co2, p1, co1);
            end else if (!$feof(fin)) $fatal(1, "tb_dsp_xcheck: malformed vector line");
        end
        $fclose(fout);
        $fclose(fin);
        $finish;
    end
endmodule
