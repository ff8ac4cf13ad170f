// addnn HLS kernels: the numeric contract of addnn.numeric, in C++ (the same integers):
// - requantization: shift by 2**shift with round half to even, then clamp;
// - the adder term |x - w| (written out: `c ? -d : d` does not compile on ap_int, whose
//   negation is one bit wider);
// - float32 BN rounding for the reference design's `realbn` mode.
#ifndef ADDNN_NUMERIC_H
#define ADDNN_NUMERIC_H

#include <cmath>

#include "addnn_types.h"

namespace addnn {

// round_half_even(q * 2**S) in the working type R (wide enough for the result and for q + 1).
template <int S, bool LEFT = (S >= 0)>
struct shift_round_t;

template <int S>
struct shift_round_t<S, true> {
    template <class R, class T>
    static R apply(const T& q) { return R(R(q) << S); }
};

template <int S>
struct shift_round_t<S, false> {
    template <class R, class T>
    static R apply(const T& q) {
        const R x = q;
        const R floor = x >> (-S);                      // arithmetic: floor division
        const R rem = x - R(floor << (-S));             // in [0, 2**-S)
        const R half = R(1) << (-S - 1);
        const bool up = rem > half || (rem == half && (floor & 1) != 0);
        return up ? R(floor + 1) : floor;
    }
};

template <int S, class R, class T>
inline R shift_round(const T& q) { return shift_round_t<S>::template apply<R>(q); }

// C: the config of a requantization, with in_elem, out_elem, work_t, SHIFT (in_exponent -
// out_exponent), RELU, OUT_LO and OUT_HI.
template <class C>
inline typename C::out_elem requantize_value(const typename C::in_elem& q) {
    typedef typename C::work_t R;
    R x = q;
    if (C::RELU && x < 0) x = 0;
    R r = shift_round<C::SHIFT, R>(x);
    if (r < R(C::OUT_LO)) r = R(C::OUT_LO);
    if (r > R(C::OUT_HI)) r = R(C::OUT_HI);
    return typename C::out_elem(r);
}

// |x - w| in D, a type that holds the largest difference.
template <class D, class X, class W>
inline D absdiff(const X& x, const W& w) {
    return x > w ? D(x - w) : D(w - x);
}

// round_half_even(t), clamped to [lo, hi], for a float t (exact: t - floor(t) is).
inline int64_t round_half_even_clamp(float t, int64_t lo, int64_t hi) {
    if (t < float(lo)) return lo;
    if (t > float(hi)) return hi;
    const float fl = std::floor(t);
    const float frac = t - fl;
    int64_t q = int64_t(fl);
    if (frac > 0.5f || (frac == 0.5f && (q & 1) != 0)) ++q;
    return q < lo ? lo : (q > hi ? hi : q);
}

}  // namespace addnn

#endif  // ADDNN_NUMERIC_H
