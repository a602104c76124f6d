// Decoding [Q, n] distributions to ab. See decode.h.
#include "models/color/decode.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>

namespace tinct::color {

namespace {

// ab[i], ab[n + i] = sum_q weight_q * centre_q / sum_q weight_q, where the
// (unnormalised) weights of pixel i are the column weight(q) for q in 0..Q-1.
template <typename Weight>
void expectation(const AbGamut& gamut, std::size_t i, std::size_t n, float* ab, Weight weight) {
  double sum = 0.0, a = 0.0, b = 0.0;
  for (int q = 0; q < gamut.size(); ++q) {
    const double w = weight(q);
    sum += w;
    a += w * gamut.centre(q).a;
    b += w * gamut.centre(q).b;
  }
  if (!(sum > 0.0)) {  // a column with no mass at all: decode as gray
    ab[i] = ab[n + i] = 0.0f;
    return;
  }
  ab[i] = static_cast<float>(a / sum);
  ab[n + i] = static_cast<float>(b / sum);
}

inline float at(const float* x, int q, std::size_t i, std::size_t n) {
  return x[static_cast<std::size_t>(q) * n + i];
}

}  // namespace

void softmax(const float* logits, int Q, std::size_t n, float* probs, float T) {
  for (std::size_t i = 0; i < n; ++i) {
    // Subtract the largest logit before exp(): exp of large logits overflows,
    // and the shift cancels in the ratio.
    float top = -std::numeric_limits<float>::infinity();
    for (int q = 0; q < Q; ++q) top = std::max(top, at(logits, q, i, n));
    double sum = 0.0;
    for (int q = 0; q < Q; ++q) {
      const float e = std::exp((at(logits, q, i, n) - top) / T);
      probs[static_cast<std::size_t>(q) * n + i] = e;
      sum += e;
    }
    const float inv = static_cast<float>(1.0 / sum);
    for (int q = 0; q < Q; ++q) probs[static_cast<std::size_t>(q) * n + i] *= inv;
  }
}

void decode_annealed_mean(const AbGamut& gamut, const float* z, std::size_t n, float* ab,
                          float T) {
  const int Q = gamut.size();
  const double inv_T = 1.0 / T;
  for (std::size_t i = 0; i < n; ++i) {
    // exp(log z_q / T) = z_q^(1/T). Divided by the largest z first,
    // (z_q / z_max)^(1/T) lies in [0, 1]: the largest term is 1 and nothing
    // underflows to an all-zero column; the common factor cancels in the
    // normalisation. z_q = 0 gives weight 0 (log 0 = -inf).
    float z_max = 0.0f;
    for (int q = 0; q < Q; ++q) z_max = std::max(z_max, at(z, q, i, n));
    expectation(gamut, i, n, ab, [&](int q) {
      const float zq = at(z, q, i, n);
      return zq > 0.0f ? std::pow(zq / static_cast<double>(z_max), inv_T) : 0.0;
    });
  }
}

void decode_mean(const AbGamut& gamut, const float* z, std::size_t n, float* ab) {
  for (std::size_t i = 0; i < n; ++i)
    expectation(gamut, i, n, ab, [&](int q) { return static_cast<double>(at(z, q, i, n)); });
}

void decode_mode(const AbGamut& gamut, const float* z, std::size_t n, float* ab) {
  for (std::size_t i = 0; i < n; ++i) {
    int best = 0;
    for (int q = 1; q < gamut.size(); ++q)
      if (at(z, q, i, n) > at(z, best, i, n)) best = q;
    ab[i] = gamut.centre(best).a;
    ab[n + i] = gamut.centre(best).b;
  }
}

void decode_logits_ref(const AbGamut& gamut, const float* logits, std::size_t n, float* ab,
                   float T, const float* offset) {
  const int Q = gamut.size();
  auto s = [&](int q, std::size_t i) { return at(logits, q, i, n) + (offset ? offset[q] : 0.0f); };
  for (std::size_t i = 0; i < n; ++i) {
    // softmax(s / T) up to its normaliser, which expectation() divides out;
    // shifted by the largest logit so that exp() cannot overflow.
    float top = -std::numeric_limits<float>::infinity();
    for (int q = 0; q < Q; ++q) top = std::max(top, s(q, i));
    const double inv_T = 1.0 / T;
    expectation(gamut, i, n, ab, [&](int q) { return std::exp((s(q, i) - top) * inv_T); });
  }
}

// ---------------------------------------------------------------------------
// decode_logits, fast: 16 pixels at a time (one cache line of each bin's
// row, as the planar [Q, n] layout stores them), in GCC vectors, threaded
// over the pixels. The same two passes as the reference (the largest logit,
// then the weighted sums), with exp() replaced by a vectorised polynomial:
//   exp(x) = 2^k exp(r), k = round(x / ln 2), r = x - k ln 2 in [-0.35, 0.35],
// exp(r) by its Taylor series to degree 7 (relative error below 6e-9), 2^k
// built in the exponent bits. It stays in double, as the reference's sums do:
// with float weights the mean of 313 bins would carry errors near 1e-4.
// x <= 0 always (the largest logit is subtracted); below -700 it is clamped
// (e^-700 against the largest weight 1 is nothing).

namespace {

typedef float f32x4 __attribute__((vector_size(16)));
typedef float f32x2 __attribute__((vector_size(8)));
typedef double f64x2 __attribute__((vector_size(16)));
typedef std::int64_t i64x2 __attribute__((vector_size(16)));

// 16-byte vectors: one SSE (or NEON) register each, so that selects and
// conversions are single instructions under the default x86-64-v2 flags.
inline f64x2 splat(double v) { return f64x2{v, v}; }

inline f64x2 exp_nonpositive(const f64x2& x_in) {
  const f64x2 x = x_in < splat(-700.0) ? splat(-700.0) : x_in;
  // Round to the nearest integer by adding 1.5 * 2^52: the sum's low
  // mantissa bits then hold k (|k| < 2^51), read back as an integer.
  constexpr double kMagic = 6755399441055744.0;  // 1.5 * 2^52
  const f64x2 t = x * splat(1.4426950408889634) + splat(kMagic);
  const f64x2 k = t - splat(kMagic);
  // ln 2 in two parts: k * hi is exact for |k| < 2^11.
  const f64x2 r = (x - k * splat(0.693145751953125)) - k * splat(1.428606820309417232e-06);
  // Estrin's scheme (pairs, then r^2, r^4): a shorter dependency chain than
  // Horner's, which this latency-bound loop feels.
  const f64x2 r2 = r * r, r4 = r2 * r2;
  const f64x2 p01 = splat(1.0) + r, p23 = splat(0.5) + r * splat(1.0 / 6.0);
  const f64x2 p45 = splat(1.0 / 24.0) + r * splat(1.0 / 120.0);
  const f64x2 p67 = splat(1.0 / 720.0) + r * splat(1.0 / 5040.0);
  const f64x2 p = (p01 + r2 * p23) + r4 * (p45 + r2 * p67);
  i64x2 bits, magic_bits;
  std::memcpy(&bits, &t, sizeof bits);
  const f64x2 magic = splat(kMagic);
  std::memcpy(&magic_bits, &magic, sizeof magic_bits);
  const i64x2 scale_bits = (bits - magic_bits + 1023) << 52;  // 2^k, k >= -1010
  f64x2 scale;
  std::memcpy(&scale, &scale_bits, sizeof scale);
  return p * scale;
}

constexpr int kLanes = 16;  // pixels per block: one 64-byte line of each bin's row
constexpr int kSub = 8;     // pixels per accumulation pass: 12 double accumulators fit the registers

// One block of 16 pixels; x points at the block's first pixel of bin 0, the
// next bin `stride` floats further. Writes 16 a and 16 b.
//
// The rows of one image lie n floats apart, a multiple of 4 KB for the usual
// sizes, so they all fall into the same cache set: reading them twice (the
// largest logit, then the sums) would miss the cache on the second pass. So
// the block is copied once into a contiguous buffer (Q x 16 floats, 20 KB),
// taking the largest logit on the way, and the sums read the copy.
void decode_block(const AbGamut& gamut, const float* x, std::size_t stride, double inv_T,
                  const float* offset, float* out_a, float* out_b) {
  constexpr int V = kLanes / 4;
  const int Q = gamut.size();
  thread_local std::vector<float> buffer;
  buffer.resize(std::size_t(Q) * kLanes);
  float* buf = buffer.data();
  f32x4 top[V];
  for (int v = 0; v < V; ++v) top[v] = f32x4{} - __builtin_inff();
  for (int q = 0; q < Q; ++q) {
    const float o = offset ? offset[q] : 0.0f;
    for (int v = 0; v < V; ++v) {
      f32x4 s;
      std::memcpy(&s, x + std::size_t(q) * stride + 4 * v, sizeof s);
      s = s + o;
      std::memcpy(buf + std::size_t(q) * kLanes + 4 * v, &s, sizeof s);
      top[v] = s > top[v] ? s : top[v];  // as std::max(top, s): NaN keeps top
    }
  }
  const f64x2 invT = splat(inv_T);
  for (int sub = 0; sub < kLanes; sub += kSub) {
    constexpr int W = kSub / 4;
    f64x2 sum[2 * W], a[2 * W], b[2 * W];
    for (int v = 0; v < 2 * W; ++v) sum[v] = a[v] = b[v] = splat(0.0);
    for (int q = 0; q < Q; ++q) {
      const f64x2 ca = splat(gamut.centre(q).a), cb = splat(gamut.centre(q).b);
      for (int v = 0; v < W; ++v) {
        f32x4 s;
        std::memcpy(&s, buf + std::size_t(q) * kLanes + sub + 4 * v, sizeof s);
        const f32x4 d = s - top[sub / 4 + v];  // float, as the reference
        const f64x2 lo = __builtin_convertvector(__builtin_shufflevector(d, d, 0, 1), f64x2);
        const f64x2 hi = __builtin_convertvector(__builtin_shufflevector(d, d, 2, 3), f64x2);
        const f64x2 w0 = exp_nonpositive(lo * invT), w1 = exp_nonpositive(hi * invT);
        sum[2 * v] += w0, a[2 * v] += w0 * ca, b[2 * v] += w0 * cb;
        sum[2 * v + 1] += w1, a[2 * v + 1] += w1 * ca, b[2 * v + 1] += w1 * cb;
      }
    }
    for (int v = 0; v < 2 * W; ++v)
      for (int l = 0; l < 2; ++l) {
        const bool mass = sum[v][l] > 0.0;  // no mass at all: gray, as expectation()
        out_a[sub + 2 * v + l] = mass ? static_cast<float>(a[v][l] / sum[v][l]) : 0.0f;
        out_b[sub + 2 * v + l] = mass ? static_cast<float>(b[v][l] / sum[v][l]) : 0.0f;
      }
  }
}

}  // namespace

void decode_logits(const AbGamut& gamut, const float* logits, std::size_t n, float* ab, float T,
                   const float* offset) {
  const int Q = gamut.size();
  const double inv_T = 1.0 / T;
  const std::size_t blocks = n / kLanes;
#pragma omp parallel for schedule(static) if (n >= 2048)
  for (std::size_t blk = 0; blk < blocks; ++blk) {
    const std::size_t i = blk * kLanes;
    decode_block(gamut, logits + i, n, inv_T, offset, ab + i, ab + n + i);
  }
  // The last n % 16 pixels: copied into a padded block (zeros: harmless).
  if (const std::size_t rest = n - blocks * kLanes; rest > 0) {
    std::vector<float> tail(std::size_t(Q) * kLanes, 0.0f);
    for (int q = 0; q < Q; ++q)
      std::copy_n(logits + std::size_t(q) * n + blocks * kLanes, rest, tail.data() + std::size_t(q) * kLanes);
    float ta[kLanes], tb[kLanes];
    decode_block(gamut, tail.data(), kLanes, inv_T, offset, ta, tb);
    std::copy_n(ta, rest, ab + blocks * kLanes);
    std::copy_n(tb, rest, ab + n + blocks * kLanes);
  }
}

std::vector<float> prior_correction_offsets(const std::vector<float>& weights, float beta) {
  std::vector<float> offset(weights.size());
  for (std::size_t q = 0; q < weights.size(); ++q) {
    if (!(weights[q] > 0.0f) || !std::isfinite(weights[q]))
      throw std::invalid_argument("prior correction: rebalancing weight " + std::to_string(weights[q]) +
                                  " of bin " + std::to_string(q) + " is not a positive number");
    offset[q] = -beta * std::log(weights[q]);
  }
  return offset;
}

}  // namespace tinct::color
