// C models of the DSP-packed difference units (RTL black boxes sad_bb_quad12 / sad_bb_octo8),
// for C simulation: the bit-accurate DSP48E2 models of sad_units.h, the same arithmetic the
// RTL is simulated against. Listed as c_files in the black-box JSON files.
#include "../kernels/addnn_packed.h"

#include "sad_units.h"

// Bytes of x and w through the unit's model `diff`, 9-bit differences packed back.
template <int N>
static ap_uint<9 * N> packed_diff(const ap_uint<8 * N>& x, const ap_uint<8 * N>& w,
                                  void (*diff)(const uint8_t*, const uint8_t*, bool, int*)) {
    uint8_t xb[N], wb[N];
    int d[N];
    for (int k = 0; k < N; ++k) {
        xb[k] = uint8_t(ap_uint<8>(x >> (8 * k)).to_uint());
        wb[k] = uint8_t(ap_uint<8>(w >> (8 * k)).to_uint());
    }
    diff(xb, wb, false, d);
    ap_uint<9 * N> out = 0;
    for (int k = 0; k < N; ++k) out |= ap_uint<9 * N>(ap_uint<9>(d[k])) << (9 * k);
    return out;
}

ap_uint<36> sad_bb_quad12(ap_uint<32> x, ap_uint<32> w) {
#pragma HLS inline off
    return packed_diff<4>(x, w, addnn_rtl::quad12_diff);
}

ap_uint<72> sad_bb_octo8(ap_uint<64> x, ap_uint<64> w) {
#pragma HLS inline off
    return packed_diff<8>(x, w, addnn_rtl::octo8_diff);
}
