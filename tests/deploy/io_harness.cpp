// The accelerator's own stream kernels (input_layer, output_layer of addnn_io.h) on a few
// frame formats, for the driver's packing tests:
//   io_harness CFG in  WORDS.bin VALUES.bin   words -> input_layer -> int32 values, then one
//                                              int32 flag per frame (its input TLAST)
//   io_harness CFG out VALUES.bin FLAGS BEATS  int32 values -> output_layer -> beats (D/8
//                                              data bytes and one TLAST byte); FLAGS is a
//                                              string of 0/1, one per frame
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <type_traits>
#include <vector>

#include "addnn_io.h"

template <int EB_, int ELEMS_, int CH_, int BITS_, bool SIGNED_>
struct fmt {
    static const int D = 64, EB = EB_, EPW = 8 / EB_, ELEMS = ELEMS_;
    static const int WORDS = (ELEMS_ + 8 / EB_ - 1) / (8 / EB_), CH = CH_, BITS = BITS_;
    static const bool SIGNED = SIGNED_;
    typedef typename std::conditional<SIGNED_, addnn::int_t<BITS_>, addnn::uint_t<BITS_> >::type
        elem_t;
    typedef addnn::vec<elem_t, CH_> vec_t;
};

static std::vector<char> slurp(const char* path) {
    std::ifstream f(path, std::ios::binary);
    return std::vector<char>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

template <class C>
int run_in(const char* words_path, const char* values_path) {
    const std::vector<char> bytes = slurp(words_path);
    const size_t wb = C::D / 8, frames = bytes.size() / (wb * C::WORDS);
    std::ofstream out(values_path, std::ios::binary);
    std::vector<int32_t> flags;
    for (size_t k = 0; k < frames; ++k) {
        hls::stream<addnn::axis_word<C::D> > in;
        addnn::stream<typename C::vec_t> px("px");
        addnn::stream<addnn::flag_t> last("last");
        for (int w = 0; w < C::WORDS; ++w) {
            addnn::axis_word<C::D> beat;
            beat.data = 0;
            for (size_t b = 0; b < wb; ++b) {
                const size_t at = (k * C::WORDS + size_t(w)) * wb + b;
                beat.data |= ap_uint<C::D>((unsigned char)bytes[at]) << (8 * b);
            }
            beat.last = k == frames - 1 && w == C::WORDS - 1;      // one transfer
            in.write(beat);
        }
        addnn::input_layer<C>(in, px, last);
        for (int p = 0; p < C::ELEMS / C::CH; ++p) {
            const typename C::vec_t v = px.read();
            for (int c = 0; c < C::CH; ++c) {
                const int32_t x = int32_t(addnn::as_i64(v.v[c]));
                out.write(reinterpret_cast<const char*>(&x), 4);
            }
        }
        flags.push_back(int32_t(last.read().v[0]));
    }
    out.write(reinterpret_cast<const char*>(flags.data()), std::streamsize(flags.size() * 4));
    return out ? 0 : 2;
}

template <class C>
int run_out(const char* values_path, const char* flags, const char* beats_path) {
    const std::vector<char> raw = slurp(values_path);
    const int32_t* values = reinterpret_cast<const int32_t*>(raw.data());
    const size_t frames = std::strlen(flags);
    std::ofstream out(beats_path, std::ios::binary);
    for (size_t k = 0; k < frames; ++k) {
        addnn::stream<typename C::vec_t> px("px");
        addnn::stream<addnn::flag_t> last("last");
        hls::stream<addnn::axis_word<C::D> > words;
        for (int p = 0; p < C::ELEMS / C::CH; ++p) {
            typename C::vec_t v;
            for (int c = 0; c < C::CH; ++c) {
                v.v[c] = typename C::elem_t(values[k * C::ELEMS + size_t(p * C::CH + c)]);
            }
            px.write(v);
        }
        addnn::flag_t f;
        f.v[0] = flags[k] == '1';
        last.write(f);
        addnn::output_layer<C>(px, last, words);
        while (!words.empty()) {
            const addnn::axis_word<C::D> beat = words.read();
            for (int b = 0; b < C::D / 8; ++b) out.put(char((beat.data >> (8 * b)).to_uint64()));
            out.put(char(beat.last ? 1 : 0));
        }
    }
    return out ? 0 : 2;
}

template <class C>
int run(int argc, char** argv) {
    if (std::strcmp(argv[2], "in") == 0 && argc == 5) return run_in<C>(argv[3], argv[4]);
    if (std::strcmp(argv[2], "out") == 0 && argc == 6) return run_out<C>(argv[3], argv[4], argv[5]);
    return 2;
}

int main(int argc, char** argv) {
    if (argc < 3) return 2;
    switch (std::atoi(argv[1])) {
        case 0: return run<fmt<1, 27, 3, 8, true> >(argc, argv);      // an RGB input, 3 words + 3
        case 1: return run<fmt<1, 16, 1, 4, false> >(argc, argv);     // exactly 2 words
        case 2: return run<fmt<2, 10, 10, 16, true> >(argc, argv);    // logits: 3 words, padded
        case 3: return run<fmt<2, 15, 3, 12, false> >(argc, argv);
        default: return 2;
    }
}
