// Runs the C++ model of every PE kind (3 variants x unsigned/signed) on a vector file and
// writes their outputs in the RTL testbench's format, so Python can compare the two.
//   sad_driver P VECTORS OUT_PREFIX    (P in 8, 16, 32, 64)
// VECTORS: one cycle per line, "ctrl x w" in hex (ctrl bit 0 valid, 1 first, 2 last; lane 0 in
// the low byte). Output OUT_PREFIX_v<variant>_s<signed>.txt: one hex line of P x 18 bits (lane 0
// lowest) per emitted SAD.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "sad_units.h"

using addnn_rtl::SadPe;
using addnn_rtl::Variant;

namespace {

constexpr int kAccBits = 18;

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Parse a hex field of exactly 2*n digits into n bytes, lane 0 = last two digits.
bool parse_lanes(const char* s, int n, uint8_t* out) {
    if (int(std::strlen(s)) != 2 * n) return false;
    for (int k = 0; k < n; ++k) {
        const int hi = hex_value(s[2 * (n - 1 - k)]), lo = hex_value(s[2 * (n - 1 - k) + 1]);
        if (hi < 0 || lo < 0) return false;
        out[k] = uint8_t(hi << 4 | lo);
    }
    return true;
}

void write_packed(FILE* f, const uint32_t* v, int n) {
    const int bits = n * kAccBits, digits = (bits + 3) / 4;
    std::string line(digits, '0');
    for (int d = 0; d < digits; ++d) {
        unsigned nibble = 0;
        for (int b = 0; b < 4; ++b) {
            const int bit = 4 * d + b;
            if (bit < bits) nibble |= ((v[bit / kAccBits] >> (bit % kAccBits)) & 1u) << b;
        }
        line[digits - 1 - d] = "0123456789abcdef"[nibble];
    }
    std::fprintf(f, "%s\n", line.c_str());
}

template <int P, Variant V, bool S>
int run(const std::vector<std::vector<uint8_t>>& xs, const std::vector<std::vector<uint8_t>>& ws,
        const std::vector<unsigned>& ctrl, const std::string& prefix) {
    const std::string path = prefix + "_v" + std::to_string(int(V)) + "_s" + (S ? "1" : "0")
                             + ".txt";
    FILE* f = std::fopen(path.c_str(), "w");
    if (!f) { std::perror(path.c_str()); return 1; }
    SadPe<P, V, S, kAccBits> pe;
    uint32_t out[P];
    for (size_t t = 0; t < ctrl.size(); ++t)
        if (pe.step(ctrl[t] & 1u, ctrl[t] & 2u, ctrl[t] & 4u, xs[t].data(), ws[t].data(), out))
            write_packed(f, out, P);
    return std::fclose(f) == 0 ? 0 : 1;
}

template <int P>
int run_all(FILE* in, const std::string& prefix) {
    std::vector<std::vector<uint8_t>> xs, ws;
    std::vector<unsigned> ctrl;
    char c[16], xh[2 * P + 2], wh[2 * P + 2];
    char fmt[64];
    std::snprintf(fmt, sizeof fmt, "%%15s %%%ds %%%ds", 2 * P + 1, 2 * P + 1);
    int got;
    while ((got = std::fscanf(in, fmt, c, xh, wh)) == 3) {
        std::vector<uint8_t> x(P), w(P);
        if (!parse_lanes(xh, P, x.data()) || !parse_lanes(wh, P, w.data())) {
            std::fprintf(stderr, "sad_driver: bad vector line %zu\n", ctrl.size() + 1);
            return 1;
        }
        ctrl.push_back(unsigned(std::strtoul(c, nullptr, 16)));
        xs.push_back(x);
        ws.push_back(w);
    }
    if (got != EOF) { std::fprintf(stderr, "sad_driver: malformed input\n"); return 1; }
    int rc = 0;
    rc |= run<P, Variant::LUT, false>(xs, ws, ctrl, prefix);
    rc |= run<P, Variant::QUAD12, false>(xs, ws, ctrl, prefix);
    rc |= run<P, Variant::OCTO8, false>(xs, ws, ctrl, prefix);
    rc |= run<P, Variant::LUT, true>(xs, ws, ctrl, prefix);
    rc |= run<P, Variant::QUAD12, true>(xs, ws, ctrl, prefix);
    rc |= run<P, Variant::OCTO8, true>(xs, ws, ctrl, prefix);
    return rc;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 4) { std::fprintf(stderr, "usage: sad_driver P VECTORS OUT_PREFIX\n"); return 2; }
    FILE* in = std::fopen(argv[2], "r");
    if (!in) { std::perror(argv[2]); return 1; }
    const int p = std::atoi(argv[1]);
    int rc;
    switch (p) {
        case 8: rc = run_all<8>(in, argv[3]); break;
        case 16: rc = run_all<16>(in, argv[3]); break;
        case 32: rc = run_all<32>(in, argv[3]); break;
        case 64: rc = run_all<64>(in, argv[3]); break;
        default: std::fprintf(stderr, "sad_driver: P must be 8, 16, 32 or 64\n"); rc = 2;
    }
    std::fclose(in);
    return rc;
}
