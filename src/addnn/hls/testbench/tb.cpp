// addnn testbench (C simulation, g++ or Vitis HLS csim): runs the accelerator on the frames of
// inputs.bin and compares its outputs with expected.bin, written from the integer graph.
//
//   tb [INPUTS EXPECTED [OUTPUTS]] [--dump DIR] [--batch B]
//   tb --axis WORDS BEATS
//
// Files are int32 little-endian element values, frame after frame, in NHWC order. The
// testbench packs each input frame into AXI4-Stream words (addnn_io.h), calls the top once per
// frame and checks: every input word consumed, the output word count and TLAST, every internal
// stream empty at the end, and the values. --batch B sends the frames as DMA transfers of B
// frames (TLAST on the last word of each transfer only) and checks that TLAST comes out on the
// last word of each B-frame packet and on no other word (default 1: a frame per transfer).
// --axis is the DMA stand-in of the host driver's test: WORDS holds one MM2S transfer as the
// host buffer holds it (D/8-byte little-endian words, frames back to back), sent with TLAST on
// its last word as AXI DMA sends it; every output beat goes to BEATS as D/8 data bytes and one
// TLAST byte, unchecked (the caller plays S2MM). Exit status: 0 all frames identical, 1 a mismatch,
// 2 bad files, 3 a read from an empty stream, 4 a deadlock (bounded build), 5 a stream
// protocol error. --dump DIR writes every internal stream's elements to DIR/<stream>.bin (int64).
// --counts FILE (counting build, ADDNN_COUNT_LOOPS) writes each process's loop iterations per
// frame, one "label iterations" line each.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "../src/kernels/addnn_io.h"
#include "../src/addnn_top.h"

static bool read_values(const char* path, std::vector<int32_t>& out) {
    std::ifstream f(path, std::ios::binary | std::ios::ate);
    if (!f) return false;
    const std::streamsize n = f.tellg();
    if (n % 4) return false;
    out.resize(size_t(n / 4));
    f.seekg(0);
    return bool(f.read(reinterpret_cast<char*>(out.data()), n));
}

static int fail(const char* what, int status) {
    std::fprintf(stderr, "addnn-tb: %s\n", what);
    return status;
}

// The top's errors after a call, as the exit status (0 when there were none).
static int protocol_errors(size_t frame, hls::stream<addnn_axis_t>& in) {
    if (!in.empty()) return fail("the top left input words unread", addnn::sim::kProtocol);
    const std::vector<std::string> errors = addnn::sim::take_errors();
    for (size_t i = 0; i < errors.size(); ++i) {
        std::fprintf(stderr, "addnn-tb: frame %zu: %s\n", frame, errors[i].c_str());
    }
    return errors.empty() ? 0 : addnn::sim::kProtocol;
}

static int run_axis(const char* words_path, const char* beats_path) {
    const size_t wb = addnn_io_in::D / 8, frame_words = addnn_io_in::WORDS;
    std::ifstream f(words_path, std::ios::binary | std::ios::ate);
    if (!f) return fail("cannot read the input words", 2);
    const size_t n = size_t(f.tellg());
    std::vector<unsigned char> bytes(n);
    f.seekg(0);
    if (!f.read(reinterpret_cast<char*>(bytes.data()), std::streamsize(n))) {
        return fail("cannot read the input words", 2);
    }
    if (n == 0 || n % (wb * frame_words)) {
        return fail(("the transfer holds " + std::to_string(n) + " bytes, not a whole number of " +
                     std::to_string(wb * frame_words) + "-byte frames: the accelerator would "
                     "wait for the rest").c_str(), 2);
    }
    const size_t words = n / wb, frames = words / frame_words;
    std::ofstream out_file(beats_path, std::ios::binary);
    for (size_t k = 0; k < frames; ++k) {
        hls::stream<addnn_axis_t> in("axis_in"), out("axis_out");
        for (size_t w = k * frame_words; w < (k + 1) * frame_words; ++w) {
            addnn_axis_t beat;
            beat.data = 0;
            for (size_t b = 0; b < wb; ++b) {
                beat.data |= ap_uint<addnn_io_in::D>(bytes[w * wb + b]) << (8 * b);
            }
            beat.keep = -1;
            beat.strb = -1;
            beat.last = w == words - 1;
            in.write(beat);
        }
        addnn_top(in, out);
        const int status = protocol_errors(k, in);
        if (status) return status;
        while (!out.empty()) {
            const addnn_axis_t beat = out.read();
            for (size_t b = 0; b < addnn_io_out::D / 8; ++b) {
                out_file.put(char((beat.data >> (8 * b)).to_uint64() & 0xff));
            }
            out_file.put(char(beat.last ? 1 : 0));
        }
    }
    if (!out_file) return fail("cannot write the output beats", 2);
    std::printf("addnn-tb: frames %zu (one transfer)\n", frames);
    return 0;
}

int main(int argc, char** argv) {
    std::vector<const char*> paths;
    const char* dump_dir = nullptr;
    const char* counts_path = nullptr;
    long batch = 1;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--axis") == 0 && i + 2 < argc) {
            return run_axis(argv[i + 1], argv[i + 2]);
        } else if (std::strcmp(argv[i], "--batch") == 0 && i + 1 < argc) {
            batch = std::strtol(argv[++i], nullptr, 10);
            if (batch < 1) return fail("--batch needs a positive frame count", 2);
        } else if (std::strcmp(argv[i], "--dump") == 0 && i + 1 < argc) {
            dump_dir = argv[++i];
        } else if (std::strcmp(argv[i], "--counts") == 0 && i + 1 < argc) {
            counts_path = argv[++i];
        } else {
            paths.push_back(argv[i]);
        }
    }
    const char* in_path = paths.size() > 0 ? paths[0] : "inputs.bin";
    const char* exp_path = paths.size() > 1 ? paths[1] : "expected.bin";
    const char* out_path = paths.size() > 2 ? paths[2] : nullptr;
    std::vector<int32_t> inputs, expected;
    if (!read_values(in_path, inputs)) return fail("cannot read the input frames", 2);
    if (!read_values(exp_path, expected)) return fail("cannot read the expected outputs", 2);
    const size_t n_in = addnn_io_in::ELEMS, n_out = addnn_io_out::ELEMS;
    const size_t frames = inputs.size() / n_in;
    if (inputs.size() % n_in || expected.size() != frames * n_out) {
        return fail("input and expected files do not hold whole, matching frames", 2);
    }
    addnn::sim::global().dumping = dump_dir != nullptr;
    std::vector<int32_t> outputs(frames * n_out);
    size_t mismatched = 0, shown = 0;
    const auto start = std::chrono::steady_clock::now();
    for (size_t k = 0; k < frames; ++k) {
        hls::stream<addnn_axis_t> in("axis_in"), out("axis_out");
        const bool packet_end = (k + 1) % size_t(batch) == 0 || k + 1 == frames;
        addnn::pack_frame<addnn_io_in>(&inputs[k * n_in], in, packet_end);
        addnn_top(in, out);
        const int status = protocol_errors(k, in);
        if (status) return status;
        std::string error;
        if (!addnn::unpack_frame<addnn_io_out>(out, &outputs[k * n_out], error, packet_end)) {
            return fail(("frame " + std::to_string(k) + ": " + error).c_str(),
                        addnn::sim::kProtocol);
        }
        if (!out.empty()) return fail("the top wrote more output words than a frame", 5);
        bool same = true;
        for (size_t e = 0; e < n_out; ++e) {
            if (outputs[k * n_out + e] == expected[k * n_out + e]) continue;
            same = false;
            if (shown < 5) {
                std::printf("mismatch: frame %zu element %zu: got %d, expected %d\n", k, e,
                            outputs[k * n_out + e], expected[k * n_out + e]);
                ++shown;
            }
        }
        mismatched += same ? 0 : 1;
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (out_path) {
        std::ofstream f(out_path, std::ios::binary);
        f.write(reinterpret_cast<const char*>(outputs.data()),
                std::streamsize(outputs.size() * 4));
        if (!f) return fail("cannot write the outputs", 2);
    }
    if (dump_dir) {
        const std::map<std::string, std::vector<int64_t> >& dumps = addnn::sim::global().dumps;
        for (std::map<std::string, std::vector<int64_t> >::const_iterator it = dumps.begin();
             it != dumps.end(); ++it) {
            std::ofstream f(std::string(dump_dir) + "/" + it->first + ".bin", std::ios::binary);
            f.write(reinterpret_cast<const char*>(it->second.data()),
                    std::streamsize(it->second.size() * 8));
        }
    }
    if (counts_path) {
        std::ofstream f(counts_path);
        const std::map<const char*, long long>& it = addnn::sim::global().iterations;
        for (std::map<const char*, long long>::const_iterator c = it.begin(); c != it.end(); ++c) {
            f << c->first << " " << c->second / (long long)(frames ? frames : 1) << "\n";
        }
        if (!f) return fail("cannot write the counts", 2);
    }
    std::printf("addnn-tb: frames %zu, mismatched %zu, seconds %.6f\n", frames, mismatched,
                seconds);
    return mismatched ? addnn::sim::kMismatch : 0;
}
