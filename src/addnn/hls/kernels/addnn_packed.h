// addnn HLS kernels: the SAD with its differences formed by DSP48E2-packed units (`--sad
// quad12|octo8`). The units are RTL black boxes for Vitis (src/rtl/sad_bb_*.json, the RTL of
// src/addnn/rtl) with C models for C simulation (src/rtl/sad_bb.cpp); each call subtracts 4
// or 8 byte lanes and returns 9-bit two's-complement differences, lane k in bits [9k, 9k + 9).
// |d| and the accumulation stay in the kernel (LUTs), as in the RTL units. Signed operands
// enter with bit 7 flipped (offset binary), which leaves every difference unchanged.
#ifndef ADDNN_PACKED_H
#define ADDNN_PACKED_H

#include "addnn_types.h"

ap_uint<36> sad_bb_quad12(ap_uint<32> x, ap_uint<32> w);
ap_uint<72> sad_bb_octo8(ap_uint<64> x, ap_uint<64> w);

namespace addnn {

struct op_sad_quad12 {
    static const int LANES = 4;
    static ap_uint<36> diff(const ap_uint<32>& x, const ap_uint<32>& w) {
        return sad_bb_quad12(x, w);
    }
};

struct op_sad_octo8 {
    static const int LANES = 8;
    static ap_uint<72> diff(const ap_uint<64>& x, const ap_uint<64>& w) {
        return sad_bb_octo8(x, w);
    }
};

template <bool SIGNED, class T>
inline ap_uint<8> lane_byte(const T& v) {
    const ap_uint<8> b = ap_uint<8>(as_i64(v));
    return SIGNED ? ap_uint<8>(b ^ 0x80) : b;
}

template <class C, class U>
inline typename C::acc_t accumulate_packed(typename C::acc_t a, const typename C::x_t* x,
                                           const typename C::w_t* w) {
    for (int u = 0; u < C::SIMD / U::LANES; ++u) {
#pragma HLS UNROLL
        ap_uint<8 * U::LANES> xp = 0, wp = 0;
        for (int k = 0; k < U::LANES; ++k) {
#pragma HLS UNROLL
            const int s = u * U::LANES + k;
            xp |= ap_uint<8 * U::LANES>(lane_byte<C::OPS_SIGNED>(x[s])) << (8 * k);
            wp |= ap_uint<8 * U::LANES>(lane_byte<C::OPS_SIGNED>(typename C::wx_t(w[s])))
                  << (8 * k);
        }
        const ap_uint<9 * U::LANES> d = U::diff(xp, wp);
        for (int k = 0; k < U::LANES; ++k) {
#pragma HLS UNROLL
            const int dk = int(ap_int<9>(ap_uint<9>(d >> (9 * k))).to_int());
            a -= typename C::diff_t(dk < 0 ? -dk : dk);
        }
    }
    return a;
}

}  // namespace addnn

#endif  // ADDNN_PACKED_H
