// Control pipeline shared by the SAD units: the data path has one register stage (the DSP's P
// register or the LUT lane's difference register) before the accumulator, so valid/first/last
// are registered once to drive the accumulators and out_valid follows the window's last term.
module sad_ctrl (
    input  wire clk, rst,
    input  wire in_valid, in_first, in_last,
    output reg  en, first,
    output reg  out_valid
);
    reg last;
    always @(posedge clk)
        if (rst) begin
            en <= 1'b0;  first <= 1'b0;  last <= 1'b0;  out_valid <= 1'b0;
        end else begin
            en <= in_valid;  first <= in_valid & in_first;  last <= in_valid & in_last;
            out_valid <= en & last;
        end
endmodule
