// C models of the DSP-packed difference units (RTL black boxes sad_bb_quad12 / sad_bb_octo8),
// for C simulation: the bit-accurate DSP48E2 models of sad_units.h, the same arithmetic the
// RTL is simulated against. Listed as c_files in the black-box JSON files.
#include "../kernels/addnn_packed.h"

#include "sad_units.h"

static void unpack(const ap_uint<64>& v, int n, uint8_t* b) {
    for (int k = 0; k < n; ++k) b[k] = uint8_t(ap_uint<8>(v >> (8 * k)).to_uint());
}

ap_uint<36> sad_bb_quad12(ap_uint<32> x, ap_uint<32> w) {
#pragma HLS inline off
    uint8_t xb[4], wb[4];
    int d[4];
    unpack(x, 4, xb);
    unpack(w, 4, wb);
    addnn_rtl::quad12_diff(xb, wb, false, d);
    ap_uint<36> out = 0;
    for (int k = 0; k < 4; ++k) out |= ap_uint<36>(ap_uint<9>(d[k])) << (9 * k);
    return out;
}

ap_uint<72> sad_bb_octo8(ap_uint<64> x, ap_uint<64> w) {
#pragma HLS inline off
    uint8_t xb[8], wb[8];
    int d[8];
    unpack(x, 8, xb);
    unpack(w, 8, wb);
    addnn_rtl::octo8_diff(xb, wb, false, d);
    ap_uint<72> out = 0;
    for (int k = 0; k < 8; ++k) out |= ap_uint<72>(ap_uint<9>(d[k])) << (9 * k);
    return out;
}
