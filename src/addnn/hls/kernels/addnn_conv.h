// addnn HLS kernels: the convolution-shaped layers (Adder2d and the integer MAC), one dataflow
// process each, with the sliding window, the processing elements and the BN map fused.
//
// - Line buffer: the last KH rows of the zero-padded input, row r at r % KH, a pixel (all CIN
//   channels) a word. A fold step within one tap (TPC = 1) reads one word, so the buffer is one
//   memory and the row is part of its address; one that spans several taps splits it into
//   LB_ROWS = KH rows x LB_BANKS = KW column banks so that its taps sit in different banks.
//   The process walks the padded input in raster order: a real position reads one pixel (all
//   CIN channels) from `in`, a padding position writes the quantized zero, which then takes
//   part in the SAD as |0 - w| (the numeric contract).
// - One flat loop at II = 1 walks (position, fold step): a position that completes no window
//   takes one iteration and one that does takes F = NF * SF, so ITERS = HP * WP + HO * WO *
//   (F - 1) and the pipeline fills once a frame, not once an output pixel. In its F iterations
//   an output pixel is computed PE output channels at a time (NF = COUT / PE groups), SIMD terms
//   of the reduction KH * KW * CIN per iteration (SF = KKC / SIMD chunks), FINN's MVAU folding.
//   Every step reads its SIMD operands from the line buffer (no window registers: the buffer
//   only changes at a position's first step). Reduction order: (ky, kx, ci), channels
//   innermost; a chunk of SIMD terms lies in one tap (SIMD divides CIN) or spans TPC whole
//   taps (CIN divides SIMD).
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
    // One ROM word per fold step (PE x SIMD weights), and the map's per-channel constants in
    // PE banks (channel nf * PE + pe in bank pe): one read each an iteration.
#pragma HLS ARRAY_RESHAPE variable=w complete dim=2
#pragma HLS ARRAY_RESHAPE variable=w complete dim=3
#pragma HLS ARRAY_PARTITION variable=p0 cyclic factor=C::PE dim=1
#pragma HLS ARRAY_PARTITION variable=p1 cyclic factor=C::PE dim=1
#pragma HLS ARRAY_PARTITION variable=p2 cyclic factor=C::PE dim=1
    typedef typename C::x_t x_t;
    x_t lines[C::KH][C::WP][C::CIN];
#pragma HLS ARRAY_PARTITION variable=lines cyclic factor=C::LB_ROWS dim=1
#pragma HLS ARRAY_PARTITION variable=lines cyclic factor=C::LB_BANKS dim=2
#pragma HLS ARRAY_RESHAPE variable=lines complete dim=3
    x_t chunk[C::SIMD];   // this fold step's SIMD operands, read from the line buffer
#pragma HLS ARRAY_PARTITION variable=chunk complete dim=1
    typename C::acc_t acc[C::PE];
#pragma HLS ARRAY_PARTITION variable=acc complete dim=1
    typename C::out_vec opix;
#pragma HLS ARRAY_PARTITION variable=opix.v complete dim=1
    typename C::in_vec px;

    x_t cur[C::CIN];   // the pixel entering the line buffer now: the window's last tap
#pragma HLS ARRAY_PARTITION variable=cur complete dim=1

    // One flat pipeline over (position, fold step): a position that completes no window takes
    // one iteration, one that does takes F. Nothing drains between output pixels.
    int r = 0, c = 0, nf = 0, sf = 0;
    for (int it = 0; it < C::ITERS; ++it) {
#pragma HLS PIPELINE II=1
        ADDNN_COUNT_ITERATION()
        const bool real = r >= C::PT && r < C::PT + C::H && c >= C::PL && c < C::PL + C::W;
        if (nf == 0 && sf == 0) {
            if (real) px = in.read();
            for (int ch = 0; ch < C::CIN; ++ch) {
#pragma HLS UNROLL
                cur[ch] = real ? px.v[ch] : x_t(0);
                lines[r % C::KH][c][ch] = cur[ch];
            }
        }
        const int r0 = r - (C::KH - 1), c0 = c - (C::KW - 1);
        const bool fire = r0 >= 0 && c0 >= 0 && r0 % C::SH == 0 && c0 % C::SW == 0 &&
                          r0 / C::SH < C::HO && c0 / C::SW < C::WO;
        if (fire) {
            for (int j = 0; j < C::TPC; ++j) {
#pragma HLS UNROLL
                const int tap = sf / C::CPT * C::TPC + j;
                const int ci0 = sf % C::CPT * C::CW;
                const int ky = tap / C::KW, kx = tap % C::KW;
                for (int q = 0; q < C::CW; ++q) {
#pragma HLS UNROLL
                    // the last tap is the pixel written this position: taken from the
                    // register, not read back through the line buffer
                    chunk[j * C::CW + q] =
                        tap == C::KH * C::KW - 1 ? cur[ci0 + q]
                                                 : lines[(r0 + ky) % C::KH][c0 + kx][ci0 + q];
                }
            }
            for (int pe = 0; pe < C::PE; ++pe) {
#pragma HLS UNROLL
                acc[pe] = accumulate<C>(typename C::op(), sf == 0 ? typename C::acc_t(0) : acc[pe],
                                        chunk, w[nf * C::SF + sf][pe]);
            }
            if (sf == C::SF - 1) {
                map_group<C, typename C::map>::apply(acc, nf * C::PE, opix, p0, p1, p2);
            }
        }
        const bool done = !fire || (nf == C::NF - 1 && sf == C::SF - 1);
        if (fire && done) out.write(opix);
        if (done) {
            nf = 0;
            sf = 0;
            if (++c == C::WP) {
                c = 0;
                ++r;
            }
        } else if (++sf == C::SF) {
            sf = 0;
            ++nf;
        }
    }
}

}  // namespace addnn

#endif  // ADDNN_CONV_H
