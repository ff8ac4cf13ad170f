// addnn HLS kernels: what a layer applies to each accumulator (BN + requantization), selected by
// the tag type C::map. The map's constant arrays arrive as the layer's p0 [P0_D0][P0_D1],
// p1 [P1_D0] and p2 [P2_D0] (native integer or float arrays; unused ones have size 1).
// - map_thresholds: the exact integer map of addnn.numeric as thresholds. p0 = thresholds
//   [C][2**LOG2 - 1], sorted, padded above the accumulator's range; p1 = start, p2 = direction.
//   out = start + direction * #{t <= acc}, the count found by a binary search of LOG2 steps
//   (a pipeline of LOG2 comparators instead of one comparator per level), in map_group.
// - map_progression: the same map when its thresholds lie on a digital straight line
//   (addnn.hls.progression): for k <= CAP, t_k <= acc exactly when K0 + k * DN <= acc * 2**FRAC,
//   and no threshold beyond CAP is ever passed. p0 = (K0, DN, CAP) [C][3] as int64_t,
//   p1 = start, p2 = direction. The binary search (k <= NTHR) forms each candidate threshold by
//   adding DN << b instead of reading it, then clamps the count to CAP: no threshold ROM and
//   no multiplier.
// - map_table: the exact integer map as a table, p0 = table [C][2**in_bits], index acc - IN_LO.
// - map_float32: the reference design's float32 BN (realbn): v = acc * 2**in_exponent,
//   y = v * a + b (two float32 roundings, no fused multiply-add), optional ReLU, rounded half
//   to even onto the output grid and clamped. p1 = a, p2 = b.
// - map_none: the accumulator itself.
#ifndef ADDNN_MAPS_H
#define ADDNN_MAPS_H

#include "addnn_numeric.h"
#include "addnn_stream.h"

namespace addnn {

struct map_none {};
struct map_thresholds {};
struct map_progression {};
struct map_table {};
struct map_float32 {};

template <class C>
inline typename C::out_elem apply_map(map_none, const typename C::acc_t& a, int,
                                      const typename C::p0_t[C::P0_D0][C::P0_D1],
                                      const typename C::p1_t[C::P1_D0],
                                      const typename C::p2_t[C::P2_D0]) {
    return typename C::out_elem(a);
}

template <class C>
inline typename C::out_elem apply_map(map_table, const typename C::acc_t& a, int ch,
                                      const typename C::p0_t p0[C::P0_D0][C::P0_D1],
                                      const typename C::p1_t[C::P1_D0],
                                      const typename C::p2_t[C::P2_D0]) {
    return typename C::out_elem(p0[ch][int(as_i64(a) - C::IN_LO)]);
}

template <class C>
inline typename C::out_elem apply_map(map_float32, const typename C::acc_t& a, int ch,
                                      const typename C::p0_t[C::P0_D0][C::P0_D1],
                                      const typename C::p1_t p1[C::P1_D0],
                                      const typename C::p2_t p2[C::P2_D0]) {
    const float v = float(as_i64(a)) * C::IN_SCALE;
    const float prod = v * p1[ch];
    float y = prod + p2[ch];
    if (C::RELU && y < 0.0f) y = 0.0f;
    return typename C::out_elem(round_half_even_clamp(y * C::OUT_SCALE, C::OUT_LO, C::OUT_HI));
}

// The map on the PE accumulators of one output-channel group, channels ch0 .. ch0 + PE - 1, into
// `out`: map_group<C, M>::apply. For thresholds the PE binary searches advance together, one
// comparator stage per step (in C simulation the searches overlap instead of queueing).
template <class C, class M>
struct map_group {
    static void apply(const typename C::acc_t acc[C::PE], int ch0, typename C::out_vec& out,
                      const typename C::p0_t p0[C::P0_D0][C::P0_D1],
                      const typename C::p1_t p1[C::P1_D0], const typename C::p2_t p2[C::P2_D0]) {
        for (int pe = 0; pe < C::PE; ++pe) {
#pragma HLS UNROLL
            out.v[ch0 + pe] = apply_map<C>(M(), acc[pe], ch0 + pe, p0, p1, p2);
        }
    }
};

template <class C>
struct map_group<C, map_thresholds> {
    static void apply(const typename C::acc_t acc[C::PE], int ch0, typename C::out_vec& out,
                      const typename C::p0_t p0[C::P0_D0][C::P0_D1],
                      const typename C::p1_t p1[C::P1_D0], const typename C::p2_t p2[C::P2_D0]) {
        int count[C::PE];
        for (int pe = 0; pe < C::PE; ++pe) {
#pragma HLS UNROLL
            count[pe] = 0;
        }
        for (int b = C::LOG2 - 1; b >= 0; --b) {
#pragma HLS UNROLL
            for (int pe = 0; pe < C::PE; ++pe) {
#pragma HLS UNROLL
                const int cand = count[pe] + (1 << b);
                if (p0[ch0 + pe][cand - 1] <= acc[pe]) count[pe] = cand;
            }
        }
        for (int pe = 0; pe < C::PE; ++pe) {
#pragma HLS UNROLL
            out.v[ch0 + pe] =
                typename C::out_elem(int(p1[ch0 + pe]) + int(p2[ch0 + pe]) * count[pe]);
        }
    }
};

// The search of map_thresholds on thresholds computed as they are compared, as a restoring
// division: r = acc * 2**FRAC - (K0 + count * DN), and a level takes its candidate when
// r - (DN << b) >= 0 (DN >= 0), one subtractor whose sign is the comparison, then the select
// of r. acc * 2**FRAC is formed once, as a multiplication by a power of two, since a left shift
// of a negative accumulator is undefined in C++ (the fit keeps every value below 2**61).
// The line goes on past a channel's last countable threshold (rows are padded to the layer's
// longest, e.g. where a ReLU or the output clamp saturates early), hence the clamp to CAP.
template <class C>
struct map_group<C, map_progression> {
    static void apply(const typename C::acc_t acc[C::PE], int ch0, typename C::out_vec& out,
                      const typename C::p0_t p0[C::P0_D0][C::P0_D1],
                      const typename C::p1_t p1[C::P1_D0], const typename C::p2_t p2[C::P2_D0]) {
        int count[C::PE];
        int64_t r[C::PE];     // acc * 2**FRAC - (K0 + count * DN): the remainder
        for (int pe = 0; pe < C::PE; ++pe) {
#pragma HLS UNROLL
            count[pe] = 0;
            r[pe] = as_i64(acc[pe]) * (int64_t(1) << C::FRAC) - int64_t(p0[ch0 + pe][0]);
        }
        for (int b = C::LOG2 - 1; b >= 0; --b) {
#pragma HLS UNROLL
            for (int pe = 0; pe < C::PE; ++pe) {
#pragma HLS UNROLL
                const int cand = count[pe] + (1 << b);
                const int64_t t = r[pe] - (int64_t(p0[ch0 + pe][1]) << b);
                if (cand <= C::NTHR && t >= 0) {
                    count[pe] = cand;
                    r[pe] = t;
                }
            }
        }
        for (int pe = 0; pe < C::PE; ++pe) {
#pragma HLS UNROLL
            const int cap = int(p0[ch0 + pe][2]);
            const int n = count[pe] < cap ? count[pe] : cap;
            out.v[ch0 + pe] = typename C::out_elem(int(p1[ch0 + pe]) + int(p2[ch0 + pe]) * n);
        }
    }
};

// A map in a process of its own (FINN's Thresholding after an MVAU without activation): it
// reads a pixel of accumulators and maps PE channels an iteration, NF = COUT / PE iterations a
// pixel, so a layer needs PE map units however many PEs its convolution has.
template <class C>
void map_layer(stream<typename C::in_vec>& in, stream<typename C::out_vec>& out,
               const typename C::p0_t p0[C::P0_D0][C::P0_D1],
               const typename C::p1_t p1[C::P1_D0], const typename C::p2_t p2[C::P2_D0]) {
#pragma HLS ARRAY_PARTITION variable=p0 cyclic factor=C::PE dim=1
#pragma HLS ARRAY_PARTITION variable=p1 cyclic factor=C::PE dim=1
#pragma HLS ARRAY_PARTITION variable=p2 cyclic factor=C::PE dim=1
    typename C::in_vec a;
    typename C::out_vec y;
#pragma HLS ARRAY_PARTITION variable=y.v complete dim=1
    typename C::acc_t acc[C::PE];
#pragma HLS ARRAY_PARTITION variable=acc complete dim=1
    int g = 0;
    for (int it = 0; it < C::PIXELS * C::NF; ++it) {
#pragma HLS PIPELINE II=1
        ADDNN_COUNT_ITERATION()
        if (g == 0) a = in.read();
        for (int pe = 0; pe < C::PE; ++pe) {
#pragma HLS UNROLL
            acc[pe] = a.v[g * C::PE + pe];
        }
        map_group<C, typename C::map>::apply(acc, g * C::PE, y, p0, p1, p2);
        if (g == C::NF - 1) {
            out.write(y);
            g = 0;
        } else {
            ++g;
        }
    }
}

// The same for a progression map, one search level an iteration: LOG2 iterations a channel
// group, so one subtractor, one select and a shifting DN a unit instead of LOG2 of each, for
// layers whose rate leaves the time (the last layers). d = DN << b, shifted right each level.
template <class C>
void map_serial_layer(stream<typename C::in_vec>& in, stream<typename C::out_vec>& out,
                      const typename C::p0_t p0[C::P0_D0][C::P0_D1],
                      const typename C::p1_t p1[C::P1_D0], const typename C::p2_t p2[C::P2_D0]) {
#pragma HLS ARRAY_PARTITION variable=p0 cyclic factor=C::PE dim=1
#pragma HLS ARRAY_PARTITION variable=p1 cyclic factor=C::PE dim=1
#pragma HLS ARRAY_PARTITION variable=p2 cyclic factor=C::PE dim=1
    typename C::in_vec a;
    typename C::out_vec y;
#pragma HLS ARRAY_PARTITION variable=y.v complete dim=1
    int count[C::PE];
    int64_t r[C::PE], d[C::PE];
#pragma HLS ARRAY_PARTITION variable=count complete dim=1
#pragma HLS ARRAY_PARTITION variable=r complete dim=1
#pragma HLS ARRAY_PARTITION variable=d complete dim=1
    int g = 0, b = C::LOG2 - 1;
    for (int it = 0; it < C::PIXELS * C::NF * C::LOG2; ++it) {
#pragma HLS PIPELINE II=1
        ADDNN_COUNT_ITERATION()
        if (g == 0 && b == C::LOG2 - 1) a = in.read();
        for (int pe = 0; pe < C::PE; ++pe) {
#pragma HLS UNROLL
            const int ch = g * C::PE + pe;
            if (b == C::LOG2 - 1) {
                count[pe] = 0;
                r[pe] = as_i64(a.v[ch]) * (int64_t(1) << C::FRAC) - int64_t(p0[ch][0]);
                d[pe] = int64_t(p0[ch][1]) << (C::LOG2 - 1);
            }
            const int cand = count[pe] + (1 << b);
            const int64_t t = r[pe] - d[pe];
            if (cand <= C::NTHR && t >= 0) {
                count[pe] = cand;
                r[pe] = t;
            }
            d[pe] >>= 1;
            if (b == 0) {
                const int cap = int(p0[ch][2]);
                const int n = count[pe] < cap ? count[pe] : cap;
                y.v[ch] = typename C::out_elem(int(p1[ch]) + int(p2[ch]) * n);
            }
        }
        if (b > 0) {
            --b;
        } else {
            b = C::LOG2 - 1;
            if (g == C::NF - 1) {
                out.write(y);
                g = 0;
            } else {
                ++g;
            }
        }
    }
}

}  // namespace addnn

#endif  // ADDNN_MAPS_H
