// addnn HLS kernels: element types and the typedef switch between the two C simulation builds.
//
// - Fast build (default under g++): every declared width maps to the narrowest native integer
//   that holds it (uint8_t ... int64_t). Values never exceed their declared width (the widths
//   come from the integer graph's worst-case DataTypes), so native arithmetic gives the same
//   integers as ap_int arithmetic.
// - Exact build (ADDNN_EXACT_TYPES, and always under __SYNTHESIS__): ap_int / ap_uint of the
//   declared width, as Vitis HLS builds it.
// Weights and tables are always native arrays (a large ap_int initializer takes g++ minutes).
#ifndef ADDNN_TYPES_H
#define ADDNN_TYPES_H

#include <stdint.h>

#include <type_traits>

// ADDNN_SYNTH: the code Vitis synthesis sees. ADDNN_SYNTHESIS_VIEW selects it under g++ as
// well (a syntax check of that code: the open-source ap_types refuse __SYNTHESIS__ itself).
#if defined(__SYNTHESIS__) || defined(ADDNN_SYNTHESIS_VIEW)
#define ADDNN_SYNTH 1
#endif

#include "ap_int.h"

namespace addnn {

template <int W>
struct native_uint {
    typedef typename std::conditional<(W <= 8), uint8_t,
        typename std::conditional<(W <= 16), uint16_t,
        typename std::conditional<(W <= 32), uint32_t, uint64_t>::type>::type>::type type;
};

template <int W>
struct native_int {
    typedef typename std::conditional<(W <= 8), int8_t,
        typename std::conditional<(W <= 16), int16_t,
        typename std::conditional<(W <= 32), int32_t, int64_t>::type>::type>::type type;
};

#if defined(ADDNN_EXACT_TYPES) || defined(ADDNN_SYNTH)
template <int W> using uint_t = ap_uint<W>;
template <int W> using int_t = ap_int<W>;
#else
template <int W> using uint_t = typename native_uint<W>::type;
template <int W> using int_t = typename native_int<W>::type;
#endif

// One stream element: the N channels of one pixel.
template <class T, int N>
struct vec {
    T v[N];
};

// A frame's input TLAST, on its way to the output process (addnn_io.h).
typedef vec<ap_uint<1>, 1> flag_t;

// Any element value as int64, for the testbench and the stream dumps.
template <class T>
inline int64_t as_i64(const T& x) { return static_cast<int64_t>(x); }
template <int W>
inline int64_t as_i64(const ap_int<W>& x) { return x.to_int64(); }
template <int W>
inline int64_t as_i64(const ap_uint<W>& x) { return static_cast<int64_t>(x.to_uint64()); }

}  // namespace addnn

// The AXI4-Stream word of the top-level ports: ap_axiu from Vitis's ap_axi_sdata.h, or, for
// g++ against the ap_types of the hls4ml wheel (which lack that header), a struct with the
// same fields. `addnn csim` defines ADDNN_LOCAL_AXIS.
#ifdef ADDNN_LOCAL_AXIS
namespace addnn {
template <int D>
struct axis_word {
    ap_uint<D> data;
    ap_uint<D / 8> keep;
    ap_uint<D / 8> strb;
    ap_uint<1> last;
};
}  // namespace addnn
#else
#include "ap_axi_sdata.h"
namespace addnn {
template <int D> using axis_word = ap_axiu<D, 0, 0, 0>;
}  // namespace addnn
#endif

#endif  // ADDNN_TYPES_H
