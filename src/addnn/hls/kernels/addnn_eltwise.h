// addnn HLS kernels: the per-pixel dataflow processes. Each moves one pixel (all channels)
// per iteration at II = 1.
// - requantize_layer: optional ReLU, rounded shift and clamp (addnn_numeric.h);
// - add_layer: the residual add of two operands at one exponent;
// - fork2 / fork3: one stream to several consumers (the skip connection starts here; the
//   depth of each output stream is set at the call site);
// - avgpool_layer: global average pool, the sum over the POOL = 2**LOG2 positions, then a
//   rounded shift by LOG2.
#ifndef ADDNN_ELTWISE_H
#define ADDNN_ELTWISE_H

#include "addnn_numeric.h"
#include "addnn_stream.h"

namespace addnn {

template <class C>
void requantize_layer(stream<typename C::in_vec>& in, stream<typename C::out_vec>& out) {
    for (int p = 0; p < C::PIXELS; ++p) {
#pragma HLS PIPELINE II=1
        ADDNN_COUNT_ITERATION()
        const typename C::in_vec x = in.read();
        typename C::out_vec y;
        for (int ch = 0; ch < C::CH; ++ch) {
#pragma HLS UNROLL
            y.v[ch] = requantize_value<C>(x.v[ch]);
        }
        out.write(y);
    }
}

template <class C>
void add_layer(stream<typename C::a_vec>& a, stream<typename C::b_vec>& b,
               stream<typename C::out_vec>& out) {
    for (int p = 0; p < C::PIXELS; ++p) {
#pragma HLS PIPELINE II=1
        ADDNN_COUNT_ITERATION()
        const typename C::a_vec x = a.read();
        const typename C::b_vec y = b.read();
        typename C::out_vec z;
        for (int ch = 0; ch < C::CH; ++ch) {
#pragma HLS UNROLL
            z.v[ch] = typename C::out_elem(x.v[ch] + y.v[ch]);
        }
        out.write(z);
    }
}

template <class C>
void fork2(stream<typename C::vec_t>& in, stream<typename C::vec_t>& o0,
           stream<typename C::vec_t>& o1) {
    for (int p = 0; p < C::PIXELS; ++p) {
#pragma HLS PIPELINE II=1
        ADDNN_COUNT_ITERATION()
        const typename C::vec_t x = in.read();
        o0.write(x);
        o1.write(x);
    }
}

template <class C>
void fork3(stream<typename C::vec_t>& in, stream<typename C::vec_t>& o0,
           stream<typename C::vec_t>& o1, stream<typename C::vec_t>& o2) {
    for (int p = 0; p < C::PIXELS; ++p) {
#pragma HLS PIPELINE II=1
        ADDNN_COUNT_ITERATION()
        const typename C::vec_t x = in.read();
        o0.write(x);
        o1.write(x);
        o2.write(x);
    }
}

template <class C>
void avgpool_layer(stream<typename C::in_vec>& in, stream<typename C::out_vec>& out) {
    typename C::sum_t sum[C::CH];
#pragma HLS ARRAY_PARTITION variable=sum complete dim=1
    for (int p = 0; p < C::POOL; ++p) {
#pragma HLS PIPELINE II=1
        ADDNN_COUNT_ITERATION()
        const typename C::in_vec x = in.read();
        for (int ch = 0; ch < C::CH; ++ch) {
#pragma HLS UNROLL
            sum[ch] = (p == 0 ? typename C::sum_t(0) : sum[ch]) + x.v[ch];
        }
    }
    typename C::out_vec y;
    for (int ch = 0; ch < C::CH; ++ch) {
#pragma HLS UNROLL
        y.v[ch] = typename C::out_elem(shift_round<-C::LOG2, typename C::sum_t>(sum[ch]));
    }
    out.write(y);
}

}  // namespace addnn

#endif  // ADDNN_ELTWISE_H
