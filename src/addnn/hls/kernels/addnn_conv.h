// addnn HLS kernels: the convolution-shaped layers (Adder2d and the integer MAC), one dataflow
// process each, with the sliding window, the processing elements and the BN map fused.
//
// - Line buffer: the last KH rows of the zero-padded input, row r at r % KH. The process walks
//   the padded input in raster order, one position per outer iteration: a real position reads
//   one pixel (all CIN channels) from `in`, a padding position writes the quantized zero, which
//   then takes part in the SAD as |0 - w| (the numeric contract).
// - When a position completes a window, the output pixel is computed in F = NF * SF pipelined
//   iterations (II = 1): PE output channels at a time (NF = COUT / PE groups), SIMD terms of the
//   reduction KH * KW * CIN per iteration (SF = KKC / SIMD chunks), FINN's MVAU folding. The
//   window is gathered into `win` during the first group's pass (nf == 0) and reused by the
//   others. Reduction order: (ky, kx, ci), channels innermost; a chunk of SIMD terms lies in one
//   tap (SIMD divides CIN) or spans TPC whole taps (CIN divides SIMD).
// - Each accumulator goes through the layer's map (addnn_maps.h) as soon as its group is
//   complete; the output pixel is written once all groups are done.
// Accumulators have the graph's worst-case type, so no partial sum overflows in any order.
#ifndef ADDNN_CONV_H
#define ADDNN_CONV_H

#include "addnn_maps.h"
#include "addnn_packed.h"
#include "addnn_stream.h"

namespace addnn {

struct op_sad {};   // acc -= |x - w|, in LUTs (op_sad_quad12 / op_sad_octo8: addnn_packed.h)
struct op_mac {};   // acc += x * w

template <class C>
inline typename C::acc_t accumulate(op_sad, typename C::acc_t a, const typename C::x_t* x,
                                    const typename C::w_t* w) {
    for (int s = 0; s < C::SIMD; ++s) {
#pragma HLS UNROLL
        a -= absdiff<typename C::diff_t>(x[s], typename C::wx_t(w[s]));
    }
    return a;
}

template <class C>
inline typename C::acc_t accumulate(op_mac, typename C::acc_t a, const typename C::x_t* x,
                                    const typename C::w_t* w) {
    for (int s = 0; s < C::SIMD; ++s) {
#pragma HLS UNROLL
        a += typename C::prod_t(x[s]) * typename C::prod_t(typename C::wx_t(w[s]));
    }
    return a;
}

template <class C>
inline typename C::acc_t accumulate(op_sad_quad12, typename C::acc_t a,
                                    const typename C::x_t* x, const typename C::w_t* w) {
    return accumulate_packed<C, op_sad_quad12>(a, x, w);
}

template <class C>
inline typename C::acc_t accumulate(op_sad_octo8, typename C::acc_t a,
                                    const typename C::x_t* x, const typename C::w_t* w) {
    return accumulate_packed<C, op_sad_octo8>(a, x, w);
}

template <class C>
void conv_layer(stream<typename C::in_vec>& in, stream<typename C::out_vec>& out,
                const typename C::w_t w[C::F][C::PE][C::SIMD],
                const typename C::p0_t p0[C::P0_D0][C::P0_D1],
                const typename C::p1_t p1[C::P1_D0], const typename C::p2_t p2[C::P2_D0]) {
#pragma HLS ARRAY_PARTITION variable=w complete dim=2
#pragma HLS ARRAY_PARTITION variable=w complete dim=3
#pragma HLS ARRAY_PARTITION variable=p0 complete dim=1
#pragma HLS ARRAY_PARTITION variable=p1 complete dim=1
#pragma HLS ARRAY_PARTITION variable=p2 complete dim=1
    typedef typename C::x_t x_t;
    x_t lines[C::KH][C::WP][C::CIN];
#pragma HLS ARRAY_PARTITION variable=lines complete dim=1
#pragma HLS ARRAY_PARTITION variable=lines complete dim=3
    x_t win[C::KKC];
#pragma HLS ARRAY_PARTITION variable=win complete dim=1
    typename C::acc_t acc[C::PE];
#pragma HLS ARRAY_PARTITION variable=acc complete dim=1
    typename C::out_vec opix;
#pragma HLS ARRAY_PARTITION variable=opix.v complete dim=1
    typename C::in_vec px;

    for (int r = 0; r < C::HP; ++r) {
        for (int c = 0; c < C::WP; ++c) {
            ADDNN_COUNT_ITERATION()
            const bool real = r >= C::PT && r < C::PT + C::H && c >= C::PL && c < C::PL + C::W;
            if (real) px = in.read();
            for (int ch = 0; ch < C::CIN; ++ch) {
#pragma HLS UNROLL
                lines[r % C::KH][c][ch] = real ? px.v[ch] : x_t(0);
            }
            const int r0 = r - (C::KH - 1), c0 = c - (C::KW - 1);
            const bool fire = r0 >= 0 && c0 >= 0 && r0 % C::SH == 0 && c0 % C::SW == 0 &&
                              r0 / C::SH < C::HO && c0 / C::SW < C::WO;
            if (!fire) continue;
            for (int nf = 0; nf < C::NF; ++nf) {
                for (int sf = 0; sf < C::SF; ++sf) {
#pragma HLS PIPELINE II=1
                    ADDNN_COUNT_ITERATION()
                    if (nf == 0) {
                        for (int j = 0; j < C::TPC; ++j) {
#pragma HLS UNROLL
                            const int tap = sf / C::CPT * C::TPC + j;
                            const int ci0 = sf % C::CPT * C::CW;
                            const int ky = tap / C::KW, kx = tap % C::KW;
                            for (int q = 0; q < C::CW; ++q) {
#pragma HLS UNROLL
                                win[sf * C::SIMD + j * C::CW + q] =
                                    lines[(r0 + ky) % C::KH][c0 + kx][ci0 + q];
                            }
                        }
                    }
                    for (int pe = 0; pe < C::PE; ++pe) {
#pragma HLS UNROLL
                        acc[pe] = accumulate<C>(
                            typename C::op(), sf == 0 ? typename C::acc_t(0) : acc[pe],
                            &win[sf * C::SIMD], w[nf * C::SF + sf][pe]);
                    }
                    if (sf == C::SF - 1) {
                        map_group<C, typename C::map>::apply(acc, nf * C::PE, opix, p0, p1, p2);
                    }
                }
            }
            out.write(opix);
        }
    }
}

}  // namespace addnn

#endif  // ADDNN_CONV_H
