// Behavioural model of the DSP48E2 subset the SAD units use, for simulation only.
//
// Xilinx unisims are not available here and yosys has only a black box for DSP48E2, so this
// models the post-adder ALU from UG579: USE_MULT="NONE", the W/X/Y/Z multiplexers, the
// arithmetic ALUMODEs 0000/0001/0010/0011, SIMD modes ONE48/TWO24/FOUR12 (carries never cross a
// lane, CARRYIN enters lane 0 only, one CARRYOUT per lane) and AREG/BREG/CREG/OPMODEREG/
// ALUMODEREG/CARRYINREG in {0, 1} with PREG=1. The multiplier, pre-adder, cascades, pattern
// detector and logic ALUMODEs are not modelled: parameters that need them stop the simulation.
// Synthesis never reads this file; yosys maps the instance to its DSP48E2 cell.
module DSP48E2 #(
    parameter integer AREG = 1, BREG = 1, CREG = 1, PREG = 1,
    parameter integer OPMODEREG = 1, ALUMODEREG = 1, CARRYINREG = 1, CARRYINSELREG = 1,
    parameter integer ACASCREG = 1, BCASCREG = 1, ADREG = 1, DREG = 1, MREG = 1, INMODEREG = 1,
    parameter USE_MULT = "MULTIPLY",
    parameter USE_SIMD = "ONE48",
    parameter [47:0] RND = 48'h0
) (
    input  wire        CLK,
    input  wire [29:0] A,
    input  wire [17:0] B,
    input  wire [47:0] C,
    input  wire [8:0]  OPMODE,
    input  wire [3:0]  ALUMODE,
    input  wire        CARRYIN,
    input  wire [2:0]  CARRYINSEL,
    input  wire        CEA2, CEB2, CEC, CECTRL, CEALUMODE, CECARRYIN, CEP,
    input  wire        RSTA, RSTB, RSTC, RSTCTRL, RSTALUMODE, RSTALLCARRYIN, RSTP,
    // Tied off by the units so the netlist is complete for Vivado; not modelled.
    input  wire [29:0] ACIN,
    input  wire [17:0] BCIN,
    input  wire [47:0] PCIN,
    input  wire [26:0] D,
    input  wire [4:0]  INMODE,
    input  wire        CARRYCASCIN, MULTSIGNIN, CEA1, CEB1, CEAD, CED, CEINMODE, CEM,
    input  wire        RSTD, RSTINMODE, RSTM,
    output reg  [47:0] P,
    output reg  [3:0]  CARRYOUT
);
    localparam integer LANE = USE_SIMD == "FOUR12" ? 12 : USE_SIMD == "TWO24" ? 24 : 48;

    initial begin
        if (USE_MULT != "NONE") $fatal(1, "DSP48E2 model: only USE_MULT=\"NONE\"");
        if (PREG != 1) $fatal(1, "DSP48E2 model: only PREG=1");
        if (USE_SIMD != "ONE48" && USE_SIMD != "TWO24" && USE_SIMD != "FOUR12")
            $fatal(1, "DSP48E2 model: bad USE_SIMD");
        if (AREG > 1 || BREG > 1 || CREG > 1) $fatal(1, "DSP48E2 model: A/B/C REG must be 0 or 1");
    end

    // Input and control registers (register 2 of A and B; register 1 is not modelled).
    reg [29:0] a_r;  reg [17:0] b_r;  reg [47:0] c_r;
    reg [8:0] op_r;  reg [3:0] alu_r; reg cin_r;
    always @(posedge CLK) begin
        if (RSTA) a_r <= 0; else if (CEA2) a_r <= A;
        if (RSTB) b_r <= 0; else if (CEB2) b_r <= B;
        if (RSTC) c_r <= 0; else if (CEC) c_r <= C;
        if (RSTCTRL) op_r <= 0; else if (CECTRL) op_r <= OPMODE;
        if (RSTALUMODE) alu_r <= 0; else if (CEALUMODE) alu_r <= ALUMODE;
        if (RSTALLCARRYIN) cin_r <= 0; else if (CECARRYIN) cin_r <= CARRYIN;
    end
    wire [29:0] a  = AREG != 0 ? a_r : A;
    wire [17:0] b  = BREG != 0 ? b_r : B;
    wire [47:0] c  = CREG != 0 ? c_r : C;
    wire [8:0]  op = OPMODEREG != 0 ? op_r : OPMODE;
    wire [3:0]  alu = ALUMODEREG != 0 ? alu_r : ALUMODE;
    wire        cin = CARRYINREG != 0 ? cin_r : CARRYIN;

    reg [47:0] w, x, y, z;
    always @* begin
        case (op[1:0]) 2'b00: x = 0; 2'b10: x = P; 2'b11: x = {a, b}; default: x = 'x; endcase
        case (op[3:2]) 2'b00: y = 0; 2'b10: y = {48{1'b1}}; 2'b11: y = c; default: y = 'x; endcase
        case (op[6:4])
            3'b000: z = 0;  3'b010, 3'b100: z = P;  3'b011: z = c;
            3'b110: z = {{17{P[47]}}, P[47:17]};  default: z = 'x;
        endcase
        case (op[8:7]) 2'b00: w = 0; 2'b01: w = P; 2'b10: w = RND; default: w = c; endcase
    end

    // Each lane adds W + X + Y + (Z or ~Z) + carry-in in (LANE + 2) bits; the lane's carry-out
    // is bit LANE of that sum, as in the hardware's compressor-then-adder (the carry of a
    // three- or four-operand sum is only meaningful when the true carry is 0 or 1).
    reg [47:0] p_d;  reg [3:0] co_d;
    reg [LANE+1:0] sum;
    integer i;
    always @* begin
        p_d = 0;  co_d = 0;
        if (alu[3:2] != 2'b00 || CARRYINSEL != 3'b000) begin
            p_d = 'x;  co_d = 'x;
        end else
            for (i = 0; i < 48 / LANE; i = i + 1) begin
                sum = {2'b00, alu[0] ? ~z[i*LANE +: LANE] : z[i*LANE +: LANE]}
                    + w[i*LANE +: LANE] + x[i*LANE +: LANE] + y[i*LANE +: LANE]
                    + ((i == 0) ? cin : 1'b0);
                p_d[i*LANE +: LANE] = alu[1] ? ~sum[LANE-1:0] : sum[LANE-1:0];
                co_d[(i + 1) * LANE / 12 - 1] = sum[LANE] ^ (alu[1] & alu[0]);
            end
    end
    initial begin P = 0; CARRYOUT = 0; end
    always @(posedge CLK)
        if (RSTP) begin P <= 0; CARRYOUT <= 0; end
        else if (CEP) begin P <= p_d; CARRYOUT <= co_d; end
endmodule
