// addnn HLS kernels: the accelerator's AXI4-Stream ports.
//
// The frame format, the same in both directions (the host driver follows it):
// - a frame is the tensor's elements in NHWC order (pixel by pixel, channels innermost);
// - element e takes bytes [e * EB, (e + 1) * EB) of the frame, two's complement little-endian,
//   EB = 1 for up to 8 bits and 2 for up to 16;
// - word k carries bytes [k * WB, (k + 1) * WB), byte 0 in data[7:0], WB = D / 8; the last
//   word is padded with zero bytes; TKEEP and TSTRB are all ones;
// - TLAST is set on the last word of an output frame whose input words carried TLAST. AXI DMA
//   (MM2S) sets TLAST on the last word of a transfer, so a transfer of N frames comes back as
//   one packet of N frames, which one S2MM transfer of N frames receives whole (S2MM ends a
//   transfer at TLAST). A frame per transfer, TLAST on each, comes back a frame per packet.
// C (an io config): D, EB, EPW = WB / EB elements per word, ELEMS, WORDS, CH (channels per
// pixel), BITS and SIGNED of the elements, and elem_t / vec_t of the pixel stream.
#ifndef ADDNN_IO_H
#define ADDNN_IO_H

#include <string>

#include "addnn_stream.h"

namespace addnn {

template <class C>
inline int64_t field_value(const ap_uint<C::D>& word, int k) {
    const ap_uint<8 * C::EB> raw = word >> (8 * C::EB * k);
    return C::SIGNED ? ap_int<8 * C::EB>(raw).to_int64() : int64_t(raw.to_uint64());
}

template <class C>
void input_layer(hls::stream<axis_word<C::D> >& in, stream<typename C::vec_t>& out,
                 stream<flag_t>& last) {
    ap_uint<C::D> word = 0;
    typename C::vec_t px;
    flag_t seen;
    seen.v[0] = 0;
    for (int e = 0; e < C::ELEMS; ++e) {
#pragma HLS PIPELINE II=1
        ADDNN_COUNT_ITERATION()
        const int k = e % C::EPW;
        if (k == 0) {
#ifndef ADDNN_SYNTH
            if (in.empty()) {
                std::fprintf(stderr, "addnn csim: the input stream ended inside a frame\n");
                std::exit(sim::kEmptyRead);
            }
#endif
            const axis_word<C::D> beat = in.read();
            word = beat.data;
            seen.v[0] |= beat.last;
        }
        px.v[e % C::CH] = typename C::elem_t(field_value<C>(word, k));
        if (e % C::CH == C::CH - 1) out.write(px);
    }
    last.write(seen);
}

template <class C>
void output_layer(stream<typename C::vec_t>& in, stream<flag_t>& last,
                  hls::stream<axis_word<C::D> >& out) {
    ap_uint<C::D> word = 0;
    typename C::vec_t px;
    const bool packet_end = last.read().v[0];
    for (int e = 0; e < C::WORDS * C::EPW; ++e) {
#pragma HLS PIPELINE II=1
        ADDNN_COUNT_ITERATION()
        const int k = e % C::EPW;
        if (e < C::ELEMS && e % C::CH == 0) px = in.read();
        const ap_uint<8 * C::EB> raw =
            e < C::ELEMS ? ap_uint<8 * C::EB>(as_i64(px.v[e % C::CH])) : ap_uint<8 * C::EB>(0);
        word = (k == 0 ? ap_uint<C::D>(0) : word) | (ap_uint<C::D>(raw) << (8 * C::EB * k));
        if (k == C::EPW - 1) {
            axis_word<C::D> beat;
            beat.data = word;
            beat.keep = -1;
            beat.strb = -1;
            beat.last = packet_end && e == C::WORDS * C::EPW - 1;
            out.write(beat);
        }
    }
}

// Testbench side: a frame of int32 element values to words, and words back to values.
// `tlast`: TLAST on the frame's last word (the end of a DMA transfer).
template <class C>
void pack_frame(const int32_t* elems, hls::stream<axis_word<C::D> >& s, bool tlast = true) {
    for (int k = 0; k < C::WORDS; ++k) {
        ap_uint<C::D> word = 0;
        for (int j = 0; j < C::EPW; ++j) {
            const int e = k * C::EPW + j;
            const ap_uint<8 * C::EB> raw = ap_uint<8 * C::EB>(e < C::ELEMS ? elems[e] : 0);
            word |= ap_uint<C::D>(raw) << (8 * C::EB * j);
        }
        axis_word<C::D> beat;
        beat.data = word;
        beat.keep = -1;
        beat.strb = -1;
        beat.last = tlast && k == C::WORDS - 1;
        s.write(beat);
    }
}

// Reads one frame; false (with a message) when the words or TLAST are not as specified:
// TLAST on the last word when `tlast` (the frame ends a packet), on no word otherwise.
template <class C>
bool unpack_frame(hls::stream<axis_word<C::D> >& s, int32_t* elems, std::string& error,
                  bool tlast = true) {
    for (int k = 0; k < C::WORDS; ++k) {
        if (s.empty()) {
            error = "output frame has " + std::to_string(k) + " words, expected " +
                    std::to_string(C::WORDS);
            return false;
        }
        const axis_word<C::D> beat = s.read();
        if (bool(beat.last) != (tlast && k == C::WORDS - 1)) {
            error = "TLAST " + std::string(beat.last ? "set" : "missing") + " on word " +
                    std::to_string(k) + " of " + std::to_string(C::WORDS);
            return false;
        }
        for (int j = 0; j < C::EPW; ++j) {
            const int e = k * C::EPW + j;
            if (e < C::ELEMS) elems[e] = int32_t(field_value<C>(beat.data, j));
        }
    }
    return true;
}

}  // namespace addnn

#endif  // ADDNN_IO_H
