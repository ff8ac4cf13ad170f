// CPU kernels for the AdderNet layer (sum of absolute differences), float and double.
//
// Plain C++ with a C ABI, loaded through ctypes: no torch headers, so it builds in about a
// second. Both kernels are shaped like a GEMM micro-kernel: a block of channels lies along the
// SIMD lanes (one weight vector per kernel tap) and a handful of output positions are
// broadcast against it, so the accumulators stay in registers for the whole reduction.
//
// Forward uses |x - w| = x + w - 2 min(x, w): the kernel accumulates only min(x, w), one
// min and one add per term instead of sub, abs and add. The caller passes the window sums of
// x (Sx) and of w (Sw) and the kernel stores  -(Sx + Sw - 2 Smin).  For values on a common
// power-of-two grid every partial sum is exact, so the result is exact too.
//
// Work is split with OpenMP. Loaded after torch, the library binds to torch's own libgomp.so.1
// (same soname), so both share one thread pool: a second pool (std::thread, another runtime)
// lost about 1 ms per call to torch's threads still spinning after their last parallel region.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

namespace {

// The few SIMD operations the kernels need, for float and double. Intrinsics on x86 (GCC's
// generic vectors turned broadcasts into chains of masked inserts), plain arrays elsewhere.
template <class T>
struct Simd;

#if defined(__AVX512F__)
constexpr int NREGS = 32;
template <>
struct Simd<float> {
  using vec = __m512;
  static constexpr int L = 16;
  static vec zero() { return _mm512_setzero_ps(); }
  static vec load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, vec v) { _mm512_storeu_ps(p, v); }
  static vec splat(float s) { return _mm512_set1_ps(s); }
  static vec add(vec a, vec b) { return _mm512_add_ps(a, b); }
  static vec mul(vec a, vec b) { return _mm512_mul_ps(a, b); }
  static vec sub(vec a, vec b) { return _mm512_sub_ps(a, b); }
  static vec vmin(vec a, vec b) { return _mm512_min_ps(a, b); }
  static vec fmadd(vec a, vec b, vec c) { return _mm512_fmadd_ps(a, b, c); }
#if defined(__AVX512DQ__)
  // VRANGE imm 2: the operand of smaller magnitude, with the sign of d, i.e. clamp(d, -1, 1)
  // in one instruction (the tests check it against the float64 reference at |d| = 1).
  static vec clamp1(vec d) { return _mm512_range_ps(d, _mm512_set1_ps(1.0f), 0x2); }
#else
  static vec clamp1(vec d) {
    return _mm512_max_ps(_mm512_min_ps(d, splat(1.0f)), splat(-1.0f));
  }
#endif
};
template <>
struct Simd<double> {
  using vec = __m512d;
  static constexpr int L = 8;
  static vec zero() { return _mm512_setzero_pd(); }
  static vec load(const double* p) { return _mm512_loadu_pd(p); }
  static void store(double* p, vec v) { _mm512_storeu_pd(p, v); }
  static vec splat(double s) { return _mm512_set1_pd(s); }
  static vec add(vec a, vec b) { return _mm512_add_pd(a, b); }
  static vec mul(vec a, vec b) { return _mm512_mul_pd(a, b); }
  static vec sub(vec a, vec b) { return _mm512_sub_pd(a, b); }
  static vec vmin(vec a, vec b) { return _mm512_min_pd(a, b); }
  static vec fmadd(vec a, vec b, vec c) { return _mm512_fmadd_pd(a, b, c); }
#if defined(__AVX512DQ__)
  static vec clamp1(vec d) { return _mm512_range_pd(d, _mm512_set1_pd(1.0), 0x2); }
#else
  static vec clamp1(vec d) { return _mm512_max_pd(_mm512_min_pd(d, splat(1.0)), splat(-1.0)); }
#endif
};
#elif defined(__AVX2__)
constexpr int NREGS = 16;
template <>
struct Simd<float> {
  using vec = __m256;
  static constexpr int L = 8;
  static vec zero() { return _mm256_setzero_ps(); }
  static vec load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, vec v) { _mm256_storeu_ps(p, v); }
  static vec splat(float s) { return _mm256_set1_ps(s); }
  static vec add(vec a, vec b) { return _mm256_add_ps(a, b); }
  static vec mul(vec a, vec b) { return _mm256_mul_ps(a, b); }
  static vec sub(vec a, vec b) { return _mm256_sub_ps(a, b); }
  static vec vmin(vec a, vec b) { return _mm256_min_ps(a, b); }
  static vec fmadd(vec a, vec b, vec c) { return _mm256_fmadd_ps(a, b, c); }
  static vec clamp1(vec d) {
    return _mm256_max_ps(_mm256_min_ps(d, splat(1.0f)), splat(-1.0f));
  }
};
template <>
struct Simd<double> {
  using vec = __m256d;
  static constexpr int L = 4;
  static vec zero() { return _mm256_setzero_pd(); }
  static vec load(const double* p) { return _mm256_loadu_pd(p); }
  static void store(double* p, vec v) { _mm256_storeu_pd(p, v); }
  static vec splat(double s) { return _mm256_set1_pd(s); }
  static vec add(vec a, vec b) { return _mm256_add_pd(a, b); }
  static vec mul(vec a, vec b) { return _mm256_mul_pd(a, b); }
  static vec sub(vec a, vec b) { return _mm256_sub_pd(a, b); }
  static vec vmin(vec a, vec b) { return _mm256_min_pd(a, b); }
  static vec fmadd(vec a, vec b, vec c) { return _mm256_fmadd_pd(a, b, c); }
  static vec clamp1(vec d) { return _mm256_max_pd(_mm256_min_pd(d, splat(1.0)), splat(-1.0)); }
};
#else
constexpr int NREGS = 16;
template <class T>
struct Simd {  // portable fallback: short arrays the compiler may vectorise
  struct vec {
    T v[4];
  };
  static constexpr int L = 4;
  template <class F>
  static vec map(F f) {
    vec r;
    for (int l = 0; l < L; ++l) r.v[l] = f(l);
    return r;
  }
  static vec zero() { return splat(T(0)); }
  static vec load(const T* p) { return map([&](int l) { return p[l]; }); }
  static void store(T* p, vec a) { std::memcpy(p, a.v, sizeof a.v); }
  static vec splat(T s) { return map([&](int) { return s; }); }
  static vec add(vec a, vec b) { return map([&](int l) { return a.v[l] + b.v[l]; }); }
  static vec mul(vec a, vec b) { return map([&](int l) { return a.v[l] * b.v[l]; }); }
  static vec sub(vec a, vec b) { return map([&](int l) { return a.v[l] - b.v[l]; }); }
  static vec vmin(vec a, vec b) { return map([&](int l) { return std::min(a.v[l], b.v[l]); }); }
  static vec fmadd(vec a, vec b, vec c) {
    return map([&](int l) { return a.v[l] * b.v[l] + c.v[l]; });
  }
  static vec clamp1(vec d) {
    return map([&](int l) { return std::min(T(1), std::max(T(-1), d.v[l])); });
  }
};
#endif

template <class F>
void parallel_for(int64_t n, int threads, F&& body) {
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t t = 0; t < n; ++t) body(t);
}

// ---------------------------------------------------------------------------------------------
// Forward.  x: input [N][C][H][W].  wt: weights [C*K*K][Op], Op a multiple of the channel
// block, zero beyond O.  sw: filter sums [Op].  out: [N][O][Ho][Wo].
// A tile is R output rows by Q output columns by OV vectors of output channels; S is the
// stride when known at compile time (0: read it from g), so tap offsets become immediates.
struct Fwd {
  int64_t N, C, O, Op, K, S, H, W, pad, Ho, Wo;
  int64_t Hp, Wp;  // padded input, with slack at the bottom and right for whole tiles
};

template <class T, int OV, int R, int Q, int S_>
void fwd_tile(const Fwd& g, const T* xp, const T* wt, const T* sx, const T* sw, T* out,
              int64_t n, int64_t i0, int64_t j0, int64_t o0) {
  using V = Simd<T>;
  using vec = typename V::vec;
  const int64_t S = S_ ? S_ : g.S;
  vec acc[OV][R][Q];
  for (int r = 0; r < OV; ++r)
    for (int a = 0; a < R; ++a)
      for (int b = 0; b < Q; ++b) acc[r][a][b] = V::zero();
  const T* x0 = xp + n * g.C * g.Hp * g.Wp + i0 * S * g.Wp + j0 * S;
  const T* wrow = wt + o0;
  for (int64_t c = 0; c < g.C; ++c) {
    for (int64_t u = 0; u < g.K; ++u) {
      const T* xr = x0 + (c * g.Hp + u) * g.Wp;
      for (int64_t v = 0; v < g.K; ++v, wrow += g.Op) {
        vec w[OV];
        for (int r = 0; r < OV; ++r) w[r] = V::load(wrow + r * V::L);
        for (int a = 0; a < R; ++a) {
          const T* xa = xr + a * S * g.Wp + v;
          for (int b = 0; b < Q; ++b) {
            const vec xb = V::splat(xa[b * S]);
            for (int r = 0; r < OV; ++r) acc[r][a][b] = V::add(acc[r][a][b], V::vmin(xb, w[r]));
          }
        }
      }
    }
  }
  // out = -(Sx + Sw - 2 Smin), transposed through a small buffer so that each channel gets
  // one run of Q outputs: scalar scatter stores to 16 planes 4 KiB apart thrashed an L1 set.
  const vec two = V::splat(T(2));
  const int64_t bn = std::min<int64_t>(Q, g.Wo - j0);
  for (int a = 0; a < R && i0 + a < g.Ho; ++a) {
    const int64_t q0 = (n * g.Ho + i0 + a) * g.Wo + j0;
    for (int r = 0; r < OV; ++r) {
      T tile[Q][V::L];
      const vec wsum = V::load(sw + o0 + r * V::L);
      for (int b = 0; b < Q; ++b) {
        const vec res = V::sub(V::sub(V::mul(two, acc[r][a][b]), V::splat(sx[q0 + b])), wsum);
        // A SAD is never negative; off the grid, rounding of the three sums could say so.
        V::store(tile[b], V::vmin(res, V::zero()));
      }
      const int64_t ln = std::min<int64_t>(V::L, g.O - o0 - r * V::L);
      for (int64_t l = 0; l < ln; ++l) {
        T* o = out + ((n * g.O + o0 + r * V::L + l) * g.Ho + i0 + a) * g.Wo + j0;
        for (int64_t b = 0; b < bn; ++b) o[b] = tile[b][l];
      }
    }
  }
}

// Zero-pad x into xp and sum it over channels, then take the window sums sx[n][i][j] of that
// map (padding counts as zero). sx has room for whole tiles (Q columns of slack).
template <class T>
void prepare_forward(const Fwd& g, const T* x, T* xp, T* sx, int threads) {
  parallel_for(g.N, threads, [&](int64_t n) {
    std::vector<T> cs(g.Hp * g.Wp, T(0));
    for (int64_t c = 0; c < g.C; ++c) {
      T* plane = xp + (n * g.C + c) * g.Hp * g.Wp;
      std::fill(plane, plane + g.Hp * g.Wp, T(0));
      for (int64_t h = 0; h < g.H; ++h) {
        const T* src = x + ((n * g.C + c) * g.H + h) * g.W;
        T* dst = plane + (h + g.pad) * g.Wp + g.pad;
        T* acc = cs.data() + (h + g.pad) * g.Wp + g.pad;
        for (int64_t w = 0; w < g.W; ++w) {
          dst[w] = src[w];
          acc[w] += src[w];
        }
      }
    }
    T* out = sx + n * g.Ho * g.Wo;
    for (int64_t i = 0; i < g.Ho; ++i)
      for (int64_t j = 0; j < g.Wo; ++j) {
        T s = 0;
        for (int64_t u = 0; u < g.K; ++u)
          for (int64_t v = 0; v < g.K; ++v) s += cs[(i * g.S + u) * g.Wp + j * g.S + v];
        out[i * g.Wo + j] = s;
      }
  });
}

// Tile shape by channel vectors: R*Q*OV accumulators must stay in registers.
template <int OV>
struct FwdTile {
  static constexpr int Q = 8, R = NREGS >= 32 ? (OV == 1 ? 3 : 1) : 1;
};
constexpr int kMaxForwardVectors = NREGS >= 32 ? 2 : 1;

template <class T, int OV, int S_>
void forward_s(Fwd g, const T* x, const T* wt, const T* sw, T* out, int threads) {
  constexpr int R = FwdTile<OV>::R, Q = FwdTile<OV>::Q;
  const int64_t rt = (g.Ho + R - 1) / R, ct = (g.Wo + Q - 1) / Q;
  g.Hp = std::max(g.H + 2 * g.pad, (rt * R - 1) * g.S + g.K);
  g.Wp = std::max(g.W + 2 * g.pad, (ct * Q - 1) * g.S + g.K);
  std::unique_ptr<T[]> xp(new T[g.N * g.C * g.Hp * g.Wp]);
  std::unique_ptr<T[]> sx(new T[g.N * g.Ho * g.Wo + Q]);
  prepare_forward<T>(g, x, xp.get(), sx.get(), threads);
  const int64_t block = OV * Simd<T>::L, oblocks = g.Op / block;
  parallel_for(g.N * rt * ct, threads, [&](int64_t t) {
    const int64_t cb = t % ct, rb = (t / ct) % rt, n = t / (ct * rt);
    for (int64_t ob = 0; ob < oblocks; ++ob)
      fwd_tile<T, OV, R, Q, S_>(g, xp.get(), wt, sx.get(), sw, out, n, rb * R, cb * Q,
                                ob * block);
  });
}

template <class T, int OV>
void forward(const Fwd& g, const T* x, const T* wt, const T* sw, T* out, int threads) {
  if (g.S == 1) forward_s<T, OV, 1>(g, x, wt, sw, out, threads);
  else if (g.S == 2) forward_s<T, OV, 2>(g, x, wt, sw, out, threads);
  else forward_s<T, OV, 0>(g, x, wt, sw, out, threads);
}

// ---------------------------------------------------------------------------------------------
// Input gradient, gather form.  For an input position (h, w) and tap (u, v) the output that
// reads it is i = (h + pad - u) / S, j = (w + pad - v) / S, when the division is exact.  Rows
// of positions are walked by phase so that every position in a tile shares its valid taps.
// x: [N][C][H][W].  g: output gradient [N][O][Ho][Wo].  wt: weights [O][K][K][Cp], zero
// beyond C.  gi: [N][C][H][W].  Internally the kernel works on
//   xl  channels-last x, [N][H][W][Cp], so that a channel block is one vector load;
//   gp  g with M = (K-1)/S zero rows and columns in front and slack behind,
//       gp[n][o][i + M][j + M], so that out-of-range outputs read zero without a branch.
struct Gin {
  int64_t N, C, Cp, O, K, S, H, W, pad, Ho, Wo;
  int64_t Hg, Wg;
};

template <class T, int CV, int P>
void gin_tile(const Gin& g, const T* xl, const T* gp, const T* wt, T* gi, int64_t n, int64_t h,
              int64_t pw, int64_t t0, int64_t tcount, int64_t c0) {
  using V = Simd<T>;
  using vec = typename V::vec;
  const int64_t M = (g.K - 1) / g.S;
  const int64_t ph = (h + g.pad) % g.S, a = (h + g.pad) / g.S;
  // Position t of this phase row: w = w_first + S*t, and its output column b = (w+pad)/S.
  const int64_t w_first = (pw - g.pad % g.S + g.S) % g.S;
  const int64_t b_first = (w_first + g.pad) / g.S;
  vec xv[CV][P], acc[CV][P];
  for (int t = 0; t < P; ++t) {
    const int64_t w = w_first + g.S * std::min(t0 + t, tcount - 1);
    const T* xt = xl + ((n * g.H + h) * g.W + w) * g.Cp + c0;
    for (int r = 0; r < CV; ++r) {
      xv[r][t] = V::load(xt + r * V::L);
      acc[r][t] = V::zero();
    }
  }
  const int64_t mu_n = ph < g.K ? (g.K - 1 - ph) / g.S + 1 : 0;  // taps u = ph + S*mu
  const int64_t mv_n = pw < g.K ? (g.K - 1 - pw) / g.S + 1 : 0;
  for (int64_t o = 0; o < g.O; ++o) {
    for (int64_t mu = 0; mu < mu_n; ++mu) {
      const T* grow = gp + ((n * g.O + o) * g.Hg + a - mu + M) * g.Wg + M + b_first + t0;
      const T* wrow = wt + ((o * g.K + ph + g.S * mu) * g.K + pw) * g.Cp + c0;
      for (int64_t mv = 0; mv < mv_n; ++mv) {
        vec w[CV];
        for (int r = 0; r < CV; ++r) w[r] = V::load(wrow + g.S * mv * g.Cp + r * V::L);
        for (int t = 0; t < P; ++t) {
          const vec gb = V::splat(grow[t - mv]);
          for (int r = 0; r < CV; ++r)
            acc[r][t] = V::fmadd(V::clamp1(V::sub(w[r], xv[r][t])), gb, acc[r][t]);
        }
      }
    }
  }
  // Transpose through a small buffer: each channel gets one run of the tile's positions.
  const int64_t tn = std::min<int64_t>(P, tcount - t0);
  for (int r = 0; r < CV; ++r) {
    T tile[P][V::L];
    for (int t = 0; t < P; ++t) V::store(tile[t], acc[r][t]);
    const int64_t ln = std::min<int64_t>(V::L, g.C - c0 - r * V::L);
    for (int64_t l = 0; l < ln; ++l) {
      T* row = gi + ((n * g.C + c0 + r * V::L + l) * g.H + h) * g.W + w_first + g.S * t0;
      for (int64_t t = 0; t < tn; ++t) row[g.S * t] = tile[t][l];
    }
  }
}

template <class T>
void prepare_grad_input(const Gin& g, const T* x, const T* grad, T* xl, T* gp, int threads) {
  const int64_t M = (g.K - 1) / g.S;
  parallel_for(g.N, threads, [&](int64_t n) {
    for (int64_t hw = 0; hw < g.H * g.W; ++hw) {
      T* dst = xl + (n * g.H * g.W + hw) * g.Cp;
      for (int64_t c = 0; c < g.C; ++c) dst[c] = x[(n * g.C + c) * g.H * g.W + hw];
      std::fill(dst + g.C, dst + g.Cp, T(0));
    }
    for (int64_t o = 0; o < g.O; ++o) {
      T* plane = gp + (n * g.O + o) * g.Hg * g.Wg;
      std::fill(plane, plane + g.Hg * g.Wg, T(0));
      for (int64_t i = 0; i < g.Ho; ++i)
        std::copy_n(grad + ((n * g.O + o) * g.Ho + i) * g.Wo, g.Wo, plane + (i + M) * g.Wg + M);
    }
  });
}

template <class T, int CV>
void grad_input(Gin g, const T* x, const T* grad, const T* wt, T* gi, int threads) {
  constexpr int P = 8;  // divides the row widths of CIFAR networks (8, 16, 32)
  const int64_t M = (g.K - 1) / g.S;
  g.Hg = std::max((g.H - 1 + g.pad) / g.S + 1, g.Ho) + M;
  g.Wg = std::max((g.W - 1 + g.pad) / g.S + 1, g.Wo) + M + P;
  std::unique_ptr<T[]> xl(new T[g.N * g.H * g.W * g.Cp]);
  std::unique_ptr<T[]> gp(new T[g.N * g.O * g.Hg * g.Wg]);
  prepare_grad_input<T>(g, x, grad, xl.get(), gp.get(), threads);
  const int64_t block = CV * Simd<T>::L, cblocks = g.Cp / block;
  // One task per (n, h, column phase): positions w = w_first + S*t, t < tcount.
  const int64_t tasks = g.N * g.H * g.S;
  parallel_for(tasks, threads, [&](int64_t task) {
    const int64_t pw = task % g.S, h = (task / g.S) % g.H, n = task / (g.S * g.H);
    const int64_t w_first = (pw - g.pad % g.S + g.S) % g.S;
    if (w_first >= g.W) return;
    const int64_t tcount = (g.W - 1 - w_first) / g.S + 1;
    for (int64_t t0 = 0; t0 < tcount; t0 += P)
      for (int64_t cb = 0; cb < cblocks; ++cb)
        gin_tile<T, CV, P>(g, xl.get(), gp.get(), wt, gi, n, h, pw, t0, tcount, cb * block);
  });
}

}  // namespace

#define ADDNN_EXPORT extern "C" __attribute__((visibility("default")))

#define ADDNN_DEFINE(T, SUFFIX)                                                                 \
  ADDNN_EXPORT int addnn_sad_lanes_##SUFFIX() { return Simd<T>::L; }                           \
  ADDNN_EXPORT void addnn_sad_forward_##SUFFIX(const T* x, const T* wt, const T* sw, T* out,   \
                                               const int64_t* d, int ov, int threads) {        \
    const Fwd g{d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8], d[9], d[10], 0, 0};      \
    if (ov == 2 && kMaxForwardVectors >= 2) forward<T, 2>(g, x, wt, sw, out, threads);         \
    else forward<T, 1>(g, x, wt, sw, out, threads);                                            \
  }                                                                                            \
  ADDNN_EXPORT void addnn_sad_grad_input_##SUFFIX(const T* x, const T* grad, const T* wt,      \
                                                  T* gi, const int64_t* d, int cv,             \
                                                  int threads) {                               \
    const Gin g{d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8], d[9], d[10], 0, 0};      \
    if (cv == 2) grad_input<T, 2>(g, x, grad, wt, gi, threads);                                \
    else grad_input<T, 1>(g, x, grad, wt, gi, threads);                                        \
  }

ADDNN_DEFINE(float, f32)
ADDNN_DEFINE(double, f64)

// Lets Python check that the library it loaded matches the layout it prepares.
ADDNN_EXPORT int addnn_sad_abi_version() { return 7; }
ADDNN_EXPORT int addnn_sad_forward_max_vectors() { return kMaxForwardVectors; }
