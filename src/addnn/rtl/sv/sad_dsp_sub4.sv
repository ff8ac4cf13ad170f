// One DSP48E2 in FOUR12 SIMD mode as four independent registered 12-bit subtractors:
// p[12j +: 12] = z - x (mod 4096) per lane j, co[j] = 1 when that lane did not borrow; lane 0
// subtracts cin as well (CARRYIN reaches lane 0 only in SIMD mode; Quad12 ties it to 0).
//
// OPMODE selects W = 0, Z = C, Y = 0, X = A:B; ALUMODE 0011 is Z - (W + X + Y + CARRYIN).
// The A/B/C input registers are off (AREG = BREG = CREG = 0) so the P register is the only
// stage and the DSP units have the same latency as the LUT baseline; every unused input is
// tied so the instance is complete for Vivado.
module sad_dsp_sub4 (
    input  wire        clk, rst,
    input  wire [47:0] z, x,
    input  wire        cin,           // CARRYIN: lane 0 only, subtracted with X
    output wire [47:0] p,
    output wire [3:0]  co
);
    DSP48E2 #(
        .USE_MULT("NONE"), .USE_SIMD("FOUR12"),
        .AREG(0), .ACASCREG(0), .BREG(0), .BCASCREG(0), .CREG(0), .DREG(0), .ADREG(0),
        .MREG(0), .INMODEREG(0), .OPMODEREG(0), .ALUMODEREG(0), .CARRYINREG(0),
        .CARRYINSELREG(0), .PREG(1)
    ) dsp (
        .CLK(clk),
        .A(x[47:18]), .B(x[17:0]), .C(z),
        .OPMODE(9'b00_011_00_11), .ALUMODE(4'b0011), .CARRYIN(cin), .CARRYINSEL(3'b000),
        .CEA2(1'b1), .CEB2(1'b1), .CEC(1'b1), .CECTRL(1'b1), .CEALUMODE(1'b1),
        .CECARRYIN(1'b1), .CEP(1'b1),
        .RSTA(rst), .RSTB(rst), .RSTC(rst), .RSTCTRL(rst), .RSTALUMODE(rst),
        .RSTALLCARRYIN(rst), .RSTP(rst),
        .ACIN(30'd0), .BCIN(18'd0), .PCIN(48'd0), .D(27'd0), .INMODE(5'd0),
        .CARRYCASCIN(1'b0), .MULTSIGNIN(1'b0), .CEA1(1'b0), .CEB1(1'b0), .CEAD(1'b0),
        .CED(1'b0), .CEINMODE(1'b0), .CEM(1'b0), .RSTD(rst), .RSTINMODE(rst), .RSTM(rst),
        .P(p), .CARRYOUT(co)
    );
endmodule
