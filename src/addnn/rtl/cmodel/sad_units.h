// Bit-accurate C++ model of the SAD units in ../sv (the same arithmetic as ../model.py), for
// C simulation of HLS designs that use the RTL as a black box. Header-only, C++11, no
// dependencies. Operands are 8-bit patterns; SIGNED units flip bit 7 first (int8 -> offset
// binary, same differences).
#ifndef ADDNN_RTL_SAD_UNITS_H
#define ADDNN_RTL_SAD_UNITS_H

#include <cstdint>

namespace addnn_rtl {

enum class Variant : int { LUT = 0, QUAD12 = 1, OCTO8 = 2 };

struct AluOut {
    uint64_t p;          // 48-bit result
    unsigned carryout;   // CARRYOUT[3:0]
};

// DSP48E2 ALU (USE_MULT = "NONE", arithmetic ALUMODE 0..3) in a SIMD mode with lanes of
// lane_bits = 12, 24 or 48: each lane adds (Z or ~Z) + W + X + Y (+ CIN in lane 0 only); the
// carry-out is bit lane_bits of that sum, inverted for ALUMODE 0011.
inline AluOut simd_alu(uint64_t w, uint64_t x, uint64_t y, uint64_t z, unsigned alumode,
                       unsigned cin, int lane_bits = 12) {
    const uint64_t mask = (lane_bits == 48) ? 0xFFFFFFFFFFFFull : ((1ull << lane_bits) - 1);
    AluOut out = {0, 0};
    for (int k = 0; k < 48 / lane_bits; ++k) {
        const int sh = k * lane_bits;
        uint64_t zk = (z >> sh) & mask;
        if (alumode & 1u) zk ^= mask;
        const uint64_t s = zk + ((w >> sh) & mask) + ((x >> sh) & mask) + ((y >> sh) & mask)
                           + (k == 0 ? (cin & 1u) : 0u);
        uint64_t r = s & mask;
        if (alumode & 2u) r ^= mask;
        const unsigned co =
            static_cast<unsigned>((s >> lane_bits) & 1u) ^ (alumode == 3u ? 1u : 0u);
        out.p |= r << sh;
        out.carryout |= co << ((k + 1) * lane_bits / 12 - 1);
    }
    return out;
}

inline int signed9(int v) {
    v &= 0x1FF;
    return v >= 256 ? v - 512 : v;
}

inline uint8_t flip(uint8_t v, bool is_signed) { return is_signed ? uint8_t(v ^ 0x80u) : v; }

// sad_dsp_sub4: FOUR12, ALUMODE 0011, Z = C port, X = A:B, W = Y = 0, CARRYIN cin (lane 0).
inline AluOut dsp_sub4(const unsigned z[4], const unsigned x[4], unsigned cin = 0) {
    uint64_t zw = 0, xw = 0;
    for (int k = 0; k < 4; ++k) {
        zw |= uint64_t(z[k] & 0xFFFu) << (12 * k);
        xw |= uint64_t(x[k] & 0xFFFu) << (12 * k);
    }
    return simd_alu(0, xw, 0, zw, 3u, cin, 12);
}

inline unsigned lane12(uint64_t p, int k) { return unsigned((p >> (12 * k)) & 0xFFFu); }

// sad_quad12: the DSP subtracts; the low 9 bits of each P lane are the difference.
inline void quad12_diff(const uint8_t* x, const uint8_t* w, bool is_signed, int* d) {
    unsigned z[4], s[4];
    for (int k = 0; k < 4; ++k) { z[k] = flip(x[k], is_signed); s[k] = flip(w[k], is_signed); }
    const AluOut r = dsp_sub4(z, s);
    for (int k = 0; k < 4; ++k) d[k] = signed9(int(lane12(r.p, k)));
}

// sad_octo8's LUT subtractor for the low `bits` bits of a lane, before the DSP:
// 2^(bits+1) + x - w on those bits = {no borrow, borrow, (x - w) mod 2^bits}.
inline unsigned octo8_low(unsigned x, unsigned w, int bits) {
    const unsigned m = (1u << bits) - 1u;
    return (2u << bits) + (x & m) - (w & m);
}

// Octo8's LUT share per DSP lane j: low bits of lane 2j and of lane 2j+1 (model.OCTO8_SPLIT).
static const int kOcto8Split[4][2] = {{2, 3}, {0, 5}, {0, 5}, {0, 5}};

// sad_octo8: with (la, lb) = kOcto8Split[j], DSP lane j is [11:4+lb] bits 7:lb of lane 2j+1
// (Z = w, X = x) | [8-la] transfer bit (Z = no borrow, X = borrow of lane 2j+1's LUT bits) |
// [7-la:0] bits 7:la of lane 2j (Z = x, X = w); CARRYIN = borrow of lane 0's LUT bits.
// Lane 2j = {~P[8-la], P[7-la:0], LUT bits}; lane 2j+1 = {CARRYOUT[j], ~P[11:4+lb], LUT bits}.
inline void octo8_diff(const uint8_t* x, const uint8_t* w, bool is_signed, int* d) {
    unsigned xu[8], wu[8], z[4], s[4], lo_a[4], lo_b[4];
    for (int k = 0; k < 8; ++k) { xu[k] = flip(x[k], is_signed); wu[k] = flip(w[k], is_signed); }
    for (int j = 0; j < 4; ++j) {
        const int la = kOcto8Split[j][0], lb = kOcto8Split[j][1];
        lo_a[j] = octo8_low(xu[2 * j], wu[2 * j], la);
        lo_b[j] = octo8_low(xu[2 * j + 1], wu[2 * j + 1], lb);
        z[j] = (wu[2 * j + 1] >> lb) << (4 + lb) | (lo_b[j] >> lb & 1u) << (8 - la)
               | xu[2 * j] >> la;
        s[j] = (xu[2 * j + 1] >> lb) << (4 + lb) | (lo_b[j] >> (lb + 1) & 1u) << (8 - la)
               | wu[2 * j] >> la;
    }
    const AluOut r = dsp_sub4(z, s, lo_a[0] >> kOcto8Split[0][0] & 1u);
    for (int j = 0; j < 4; ++j) {
        const int la = kOcto8Split[j][0], lb = kOcto8Split[j][1];
        const unsigned lane = lane12(r.p, j);
        const unsigned ga = lane >> (8 - la) & 1u;
        d[2 * j] = signed9(int((ga ^ 1u) << 8 | (lane & ((1u << (8 - la)) - 1u)) << la
                               | (lo_a[j] & ((1u << la) - 1u))));
        const unsigned sign = (r.carryout >> j) & 1u;
        const unsigned hi = ~lane >> (4 + lb) & ((1u << (8 - lb)) - 1u);
        d[2 * j + 1] = signed9(int(sign << 8 | hi << lb | (lo_b[j] & ((1u << lb) - 1u))));
    }
}

inline void lut_diff(const uint8_t* x, const uint8_t* w, bool is_signed, int* d, int n) {
    for (int k = 0; k < n; ++k) d[k] = signed9(int(flip(x[k], is_signed)) - flip(w[k], is_signed));
}

// sad_absacc's addend: (d[7:0] ^ {8{s}}) + s.
inline uint32_t abs_term(int d) {
    const uint32_t s = (uint32_t(d) >> 8) & 1u;
    return ((uint32_t(d) & 0xFFu) ^ (s ? 0xFFu : 0u)) + s;
}

// The processing element (sad_pe): P lanes, acc <= (first ? 0 : acc) + |d| on valid cycles,
// modulo 2**ACC_BITS. step() returns true on a valid cycle with last, with the SADs in out.
template <int P, Variant V, bool SIGNED = false, int ACC_BITS = 18>
class SadPe {
    static_assert(P % 8 == 0, "a PE has a multiple of 8 lanes");
    static_assert(ACC_BITS >= 9 && ACC_BITS <= 32, "accumulator width 9..32");

public:
    SadPe() { reset(); }
    void reset() { for (int k = 0; k < P; ++k) acc_[k] = 0; }

    bool step(bool valid, bool first, bool last, const uint8_t* x, const uint8_t* w,
              uint32_t* out) {
        if (!valid) return false;
        int d[P];
        diff(x, w, d);
        const uint32_t mask = ACC_BITS == 32 ? 0xFFFFFFFFu : ((1u << ACC_BITS) - 1u);
        for (int k = 0; k < P; ++k) {
            acc_[k] = ((first ? 0u : acc_[k]) + abs_term(d[k])) & mask;
            if (last) out[k] = acc_[k];
        }
        return last;
    }

    static void diff(const uint8_t* x, const uint8_t* w, int* d) {
        if (V == Variant::LUT) {
            lut_diff(x, w, SIGNED, d, P);
        } else if (V == Variant::QUAD12) {
            for (int u = 0; u < P; u += 4) quad12_diff(x + u, w + u, SIGNED, d + u);
        } else {
            for (int u = 0; u < P; u += 8) octo8_diff(x + u, w + u, SIGNED, d + u);
        }
    }

private:
    uint32_t acc_[P];
};

}  // namespace addnn_rtl

#endif  // ADDNN_RTL_SAD_UNITS_H
