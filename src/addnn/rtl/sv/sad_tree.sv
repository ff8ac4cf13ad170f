// Resource-calibration models of the HLS kernel's datapaths (addnn.rtl.calibrate): what yosys
// makes of them sets the LUT/FF/CARRY coefficients of the resource estimator. They mirror
// what the kernel computes, not Vitis HLS's exact netlist.

// One PE of accumulate(op_sad): acc += sum over SIMD lanes of |x - w|, B-bit unsigned operands.
// The kernel's acc -= SAD is the negation of this acc; the sign moves into the thresholds and a
// subtractor costs the same LUTs. DIFF_IN = 1 prices the DSP-packed units (quad12, octo8): the
// DSP48E2 delivers x - w as signed (B+1)-bit lanes from its P register, which is then the
// input register, so the fabric has none of its own and does abs + tree + accumulate only.
//
// |d| = (d[B-1:0] ^ {B{s}}) + s, s the sign. The +s gets no incrementer: the SIMD - 1 tree
// adders and the accumulator have exactly SIMD carry-ins, one per lane's sign.
//
// Pipeline: operand registers (DIFF_IN = 0), abs register, tree output register, accumulator;
// the tree between its registers is combinational, each level one bit wider. first and en
// belong to the tree output, 3 - DIFF_IN cycles after the operands: the delay line for them is
// the controller's, shared by all PEs, so no PE pays for it.
module sad_tree #(
    parameter integer SIMD = 8,
    parameter integer B = 8,
    parameter integer ACC_W = 19,
    parameter integer DIFF_IN = 0
) (
    input  wire                    clk, en, first,
    input  wire [SIMD*B-1:0]       x, w,     // DIFF_IN = 0: lane s at [s*B +: B]
    input  wire [SIMD*(B+1)-1:0]   d,        // DIFF_IN = 1: x - w, lane s at [s*(B+1) +: B+1]
    output reg  [ACC_W-1:0]        acc
);
    localparam integer L = $clog2(SIMD);     // tree levels
    localparam integer TW = B + L;           // tree output width
    reg  [SIMD*B-1:0] m_r;                   // |d| - s per lane
    reg  [SIMD-1:0]   s_r;                   // sign per lane
    // Node j of level l at t[(l*SIMD + j)*TW +: TW]; level 0 holds the m_r lanes.
    wire [(L+1)*SIMD*TW-1:0] t;
    reg  [TW-1:0]     tree_r;
    reg               s_last_r;

    genvar j, l;
    generate
        if (DIFF_IN == 0) begin : sub
            reg [SIMD*B-1:0] x_r, w_r;
            always @(posedge clk) begin
                x_r <= x;
                w_r <= w;
            end
            for (j = 0; j < SIMD; j = j + 1) begin : lane
                wire [B:0] dj = {1'b0, x_r[j*B +: B]} - {1'b0, w_r[j*B +: B]};
                always @(posedge clk) begin
                    m_r[j*B +: B] <= dj[B-1:0] ^ {B{dj[B]}};
                    s_r[j] <= dj[B];
                end
            end
        end else begin : dsp
            for (j = 0; j < SIMD; j = j + 1) begin : lane
                wire [B:0] dj = d[j*(B+1) +: B+1];
                always @(posedge clk) begin
                    m_r[j*B +: B] <= dj[B-1:0] ^ {B{dj[B]}};
                    s_r[j] <= dj[B];
                end
            end
        end

        for (j = 0; j < SIMD; j = j + 1) begin : leaf
            wire [TW-1:0] v = m_r[j*B +: B];
            assign t[j*TW +: TW] = v;
        end
        for (l = 1; l <= L; l = l + 1) begin : level
            localparam integer NP = (SIMD + (1 << (l - 1)) - 1) >> (l - 1);  // nodes below
            localparam integer N = (NP + 1) / 2;
            for (j = 0; j < SIMD; j = j + 1) begin : node
                localparam integer LO = ((l - 1) * SIMD + 2 * j) * TW;
                if (2 * j + 1 < NP) begin : add
                    // Lane signs 0 .. SIMD-2 in order: SIMD - NP adders sit on lower levels.
                    // The sign enters as an extra low position (c + c carries c, no LUT).
                    // Written as a + b + c, yosys's alumacc would merge the whole tree into
                    // one $macc and map it as carry-save logic, about twice the LUTs; the
                    // next level reading sum[B+l:1], not all of sum, keeps the adders apart.
                    wire         c = s_r[SIMD - NP + j];
                    wire [B+l:0] sum = {t[LO +: B+l-1], c} + {t[LO + TW +: B+l-1], c};
                    assign t[(l * SIMD + j) * TW +: TW] = sum[B+l:1];
                end else if (j < N) begin : pass
                    wire [B+l-1:0] v = t[LO +: B+l-1];
                    assign t[(l * SIMD + j) * TW +: TW] = v;
                end else begin : none
                    assign t[(l * SIMD + j) * TW +: TW] = {TW{1'b0}};
                end
            end
        end
    endgenerate

    wire [ACC_W-1:0] base = first ? {ACC_W{1'b0}} : acc;
    always @(posedge clk) begin
        tree_r <= t[L * SIMD * TW +: TW];
        s_last_r <= s_r[SIMD-1];
        if (en) acc <= base + tree_r + s_last_r;
    end
endmodule

// One step of the BN threshold binary search (map_group<C, map_thresholds>): count gains bit
// BIT when t <= acc, and acc moves on with it to the next step. The bit is still 0 when it is
// decided, so setting it is the kernel's count + (1 << BIT). The threshold comes from the
// per-channel table indexed by count, priced as a memory, not here.
module cmp_stage #(
    parameter integer W = 16,
    parameter integer CW = 4,
    parameter integer BIT = 0
) (
    input  wire                clk,
    input  wire signed [W-1:0] acc, t,
    input  wire [CW-1:0]       cnt,
    output reg  signed [W-1:0] acc_q,
    output reg  [CW-1:0]       cnt_q
);
    always @(posedge clk) begin
        acc_q <= acc;
        cnt_q <= cnt;
        cnt_q[BIT] <= t <= acc;
    end
endmodule

// The residual add of add_layer, two signed N-bit operands, registered. SAT = 0 keeps the
// exact N+1-bit sum (what the kernel does: its output type holds it); SAT = 1 clamps to N
// bits, for an output type no wider than the operands.
module add_sat #(
    parameter integer N = 8,
    parameter integer SAT = 0
) (
    input  wire                clk,
    input  wire signed [N-1:0] a, b,
    output reg  signed [N:0]   y
);
    wire signed [N:0] s = a + b;
    wire              ovf = SAT != 0 && s[N] != s[N-1];
    always @(posedge clk)
        y <= ovf ? {s[N], s[N], {(N - 1){~s[N]}}} : s;
endmodule
