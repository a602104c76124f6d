// sRGB <-> XYZ <-> LAB. See lab.h for the chain and the layouts.
#include "models/color/lab.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>


namespace tinct::color {

// ---------------------------------------------------------------------------
// Images.

namespace {

// srgb_to_linear(v / 255) for every byte value: 8-bit images need no pow().
const std::array<double, 256>& byte_to_linear_table() {
  static const std::array<double, 256> table = [] {
    std::array<double, 256> t{};
    for (int v = 0; v < 256; ++v) t[v] = srgb_to_linear(v / 255.0);
    return t;
  }();
  return table;
}

inline void store_lab(const Lab& lab, std::size_t i, std::size_t n, float* L, float* ab) {
  L[i] = static_cast<float>(lab.L);
  ab[i] = static_cast<float>(lab.a);
  ab[n + i] = static_cast<float>(lab.b);
}

// Converts pixel i of the planar LAB image, reports whether it was in gamut,
// and leaves the clamped sRGB in out.
inline bool load_srgb(const float* L, const float* ab, std::size_t i, std::size_t n, Rgb& out) {
  const Rgb c = lab_to_srgb({L[i], ab[i], ab[n + i]});
  const bool inside = in_unit_cube(c, kImageGamutTolerance);
  out = {std::clamp(c.r, 0.0, 1.0), std::clamp(c.g, 0.0, 1.0), std::clamp(c.b, 0.0, 1.0)};
  return inside;
}

inline std::uint8_t to_byte(double c01) {
  return static_cast<std::uint8_t>(std::lround(c01 * 255.0));
}

}  // namespace

void srgb_to_lab_image(const std::uint8_t* rgb, std::size_t n, float* L, float* ab) {
  const auto& lin = byte_to_linear_table();
  // Pixels are independent: threads give the same bytes as one.
#pragma omp parallel for schedule(static) if (n >= 4096)
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint8_t* p = rgb + 3 * i;
    store_lab(xyz_to_lab(linear_rgb_to_xyz({lin[p[0]], lin[p[1]], lin[p[2]]})), i, n, L, ab);
  }
}

void srgb_to_lab_image(const float* rgb, std::size_t n, float* L, float* ab) {
  for (std::size_t i = 0; i < n; ++i) {
    const float* p = rgb + 3 * i;
    store_lab(srgb_to_lab({p[0], p[1], p[2]}), i, n, L, ab);
  }
}

std::size_t lab_to_srgb_image(const float* L, const float* ab, std::size_t n, float* rgb,
                              std::uint8_t* out_of_gamut) {
  std::size_t outside = 0;
#pragma omp parallel for schedule(static) reduction(+ : outside) if (n >= 4096)
  for (std::size_t i = 0; i < n; ++i) {
    Rgb c;
    const bool inside = load_srgb(L, ab, i, n, c);
    outside += !inside;
    if (out_of_gamut) out_of_gamut[i] = !inside;
    rgb[3 * i + 0] = static_cast<float>(c.r);
    rgb[3 * i + 1] = static_cast<float>(c.g);
    rgb[3 * i + 2] = static_cast<float>(c.b);
  }
  return outside;
}

std::size_t lab_to_srgb_image_ref(const float* L, const float* ab, std::size_t n, std::uint8_t* rgb,
                              std::uint8_t* out_of_gamut) {
  // The specification of lab_to_srgb_image (bytes): the double chain, pow()
  // and lround() per channel.
  std::size_t outside = 0;
#pragma omp parallel for schedule(static) reduction(+ : outside) if (n >= 4096)
  for (std::size_t i = 0; i < n; ++i) {
    Rgb c;
    const bool inside = load_srgb(L, ab, i, n, c);
    outside += !inside;
    if (out_of_gamut) out_of_gamut[i] = !inside;
    rgb[3 * i + 0] = to_byte(c.r);
    rgb[3 * i + 1] = to_byte(c.g);
    rgb[3 * i + 2] = to_byte(c.b);
  }
  return outside;
}

// ---------------------------------------------------------------------------
// The fast byte path.
//
// 8-bit sRGB without pow(). The output byte of a linear value l is
// lround(255 * linear_to_srgb(l)) clamped to 0..255, i.e. the number of
// half-level thresholds t_k = linear_to_srgb^-1((k + 0.5) / 255), k = 0..254,
// that l reaches (l >= t_k): the curve is increasing. Every t_k here lies on
// the curve's power segment or its linear toe, never in the 3e-8 gap between
// them (lab.cpp's srgb_to_linear note), so t_k = srgb_to_linear((k+0.5)/255)
// is the exact inverse. Each t_k is stored as the smallest float >= t_k, so
// for a float l, l >= t_k(float) exactly when l >= t_k: the count is exact
// for the float l it is given; only the float arithmetic before it (Lab ->
// linear in float, not double) can move a value across a threshold, by about
// 1e-7, so outputs differ from the double reference only for channels within
// that of a rounding boundary, and then by one level.
//
// Counting fast: a float's bits, read as an integer, are monotone in its
// value for l >= 0. The top 16 bits (exponent + 7 mantissa bits) cut
// [2^-13, 1) into 13 * 128 buckets, each at most 1/128 = 0.8% wide
// relatively; consecutive thresholds are at least 0.89% apart (near l = 1,
// where dl/l = 2.4 dc / (c + 0.055)) and more elsewhere, so a bucket holds at
// most one threshold (checked when the table is built). The table gives the
// count at the bucket's lower edge; one comparison adds the threshold inside.
// Below 2^-13 (< t_0 = 1.5e-4, negatives included) the count is 0; at 1 and
// above it is 255.

namespace {

struct Srgb8Encoder {
  static constexpr int kLowExp = 127 - 13;                      // biased exponent of 2^-13
  static constexpr int kBase = kLowExp << 7;                    // bits >> 16 of 2^-13
  static constexpr int kBuckets = (127 - kLowExp) << 7;         // up to 1.0
  float threshold[256];  // t_0..t_254 rounded up; t_255 = +inf (never reached)
  std::uint8_t count[kBuckets];

  Srgb8Encoder() {
    for (int k = 0; k < 255; ++k) {
      const double t = srgb_to_linear((k + 0.5) / 255.0);
      float f = static_cast<float>(t);
      if (static_cast<double>(f) < t) f = std::nextafter(f, 2.0f);
      threshold[k] = f;
    }
    threshold[255] = std::numeric_limits<float>::infinity();
    int k = 0;
    for (int j = 0; j < kBuckets; ++j) {
      const std::uint32_t bits = static_cast<std::uint32_t>(kBase + j) << 16;
      float lo;
      std::memcpy(&lo, &bits, sizeof lo);
      while (k < 255 && threshold[k] <= lo) ++k;
      count[j] = static_cast<std::uint8_t>(k);
    }
    // At most one threshold strictly inside each bucket (see above).
    for (int j = 0; j + 1 < kBuckets; ++j)
      if (count[j + 1] - count[j] > 1) throw std::logic_error("Srgb8Encoder: bucket too wide");
    if (count[0] != 0 || threshold[254] >= 1.0f) throw std::logic_error("Srgb8Encoder: range");
  }

  std::uint8_t encode(float l) const {
    std::int32_t bits;
    std::memcpy(&bits, &l, sizeof bits);
    // Negative floats are negative integers: they land in bucket 0 with
    // anything below 2^-13 (count 0, and l < t_0). NaN and l >= 1: the last
    // bucket, count 255 (t_255 = inf is never reached).
    const int j = std::clamp((bits >> 16) - kBase, 0, kBuckets - 1);
    const int c = count[j];
    return static_cast<std::uint8_t>(c + (l >= threshold[c]));
  }
};

const Srgb8Encoder& srgb8_encoder() {
  static const Srgb8Encoder e;
  return e;
}

// Lab -> linear RGB in float for a span, the white folded into the matrix
// (r = M^-1 diag(white) (f^-1(fx), f^-1(fy), f^-1(fz))): no calls, no pow
// (f^-1 is a cube), 8 pixels per vector step. Float keeps the linear values within about
// 1e-6 of the double chain (tests/test_colorize_pipeline.cpp measures it).
struct LinearFromLab {
  float m[9];
  float lo, hi;  // linear bounds equivalent to sRGB in [-tol, 1 + tol]
  LinearFromLab() {
    const Mat3& Minv = xyz_to_linear_rgb_matrix();
    const double white[3] = {kWhiteX, kWhiteY, kWhiteZ};
    for (int r = 0; r < 3; ++r)
      for (int c = 0; c < 3; ++c) m[3 * r + c] = static_cast<float>(Minv.m[r][c] * white[c]);
    // linear_to_srgb is 12.92 l below 0 and the power law above 1, both
    // increasing, so sRGB c >= -tol <=> l >= -tol / 12.92, c <= 1 + tol <=>
    // l <= ((1 + tol + 0.055) / 1.055)^2.4.
    lo = static_cast<float>(-kImageGamutTolerance / 12.92);
    hi = static_cast<float>(std::pow((1.0 + kImageGamutTolerance + 0.055) / 1.055, 2.4));
  }
};

const LinearFromLab& linear_from_lab() {
  static const LinearFromLab c;
  return c;
}

// Four floats at a time with GCC's portable vector extensions: one SSE
// register (NEON on ARM), so every operation, selects included, is one
// instruction under the default x86-64-v2 flags (8-wide vectors there get
// their selects split into scalar code). The plain loop does not
// auto-vectorise under the project's flags (the select in f^-1 counts as
// control flow while floating-point comparisons may trap), so the vectors
// are written out.
typedef float f32x4 __attribute__((vector_size(16)));
typedef std::int32_t i32x4 __attribute__((vector_size(16)));

inline f32x4 splat4(float v) { return f32x4{v, v, v, v}; }
inline f32x4 load4(const float* p) {
  f32x4 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store4(float* p, const f32x4& v) { std::memcpy(p, &v, sizeof v); }

// f^-1 (lab_f_inverse) of 4 values, both pieces computed, then selected.
inline f32x4 lab_f_inverse4(const f32x4& u) {
  constexpr float d = 6.0f / 29.0f;
  const f32x4 cube = u * u * u;
  const f32x4 line = splat4(3.0f * d * d) * (u - splat4(4.0f / 29.0f));
  return u > splat4(d) ? cube : line;
}

inline f32x4 min4(const f32x4& a, const f32x4& b) { return a < b ? a : b; }
inline f32x4 max4(const f32x4& a, const f32x4& b) { return a > b ? a : b; }

// n <= kSpan pixels: linear r, g, b and the in-gamut flag (all ones = in).
// Partial spans are padded with L = a = b = 0 (black) in local copies; only
// the first n results are meaningful.
constexpr int kSpan = kLinearSpan;
void linear_span(const LinearFromLab& c, const float* L, const float* A, const float* B, int n,
                 float lo_bound, float hi_bound, float* r, float* g, float* b, std::int32_t* inside) {
  alignas(32) float pl[kSpan], pa[kSpan], pb[kSpan];
  if (n < kSpan) {
    const int padded = (n + 3) & ~3;
    std::memcpy(pl, L, sizeof(float) * n);
    std::memcpy(pa, A, sizeof(float) * n);
    std::memcpy(pb, B, sizeof(float) * n);
    for (int i = n; i < padded; ++i) pl[i] = pa[i] = pb[i] = 0.0f;
    L = pl, A = pa, B = pb;
  }
  const f32x4 m0 = splat4(c.m[0]), m1 = splat4(c.m[1]), m2 = splat4(c.m[2]);
  const f32x4 m3 = splat4(c.m[3]), m4 = splat4(c.m[4]), m5 = splat4(c.m[5]);
  const f32x4 m6 = splat4(c.m[6]), m7 = splat4(c.m[7]), m8 = splat4(c.m[8]);
  const f32x4 lo = splat4(lo_bound), hi = splat4(hi_bound);
  for (int i = 0; i < n; i += 4) {
    const f32x4 fy = (load4(L + i) + splat4(16.0f)) * splat4(1.0f / 116.0f);
    const f32x4 x = lab_f_inverse4(fy + load4(A + i) * splat4(1.0f / 500.0f));
    const f32x4 y = lab_f_inverse4(fy);
    const f32x4 z = lab_f_inverse4(fy - load4(B + i) * splat4(1.0f / 200.0f));
    const f32x4 rr = m0 * x + m1 * y + m2 * z;
    const f32x4 gg = m3 * x + m4 * y + m5 * z;
    const f32x4 bb = m6 * x + m7 * y + m8 * z;
    store4(r + i, rr), store4(g + i, gg), store4(b + i, bb);
    const i32x4 in = (min4(min4(rr, gg), bb) >= lo) & (max4(max4(rr, gg), bb) <= hi);
    std::memcpy(inside + i, &in, sizeof in);
  }
}

}  // namespace

void lab_to_linear_span(const float* L, const float* a, const float* b, int n, float lo, float hi,
                        float* r, float* g, float* bl, std::int32_t* inside) {
  linear_span(linear_from_lab(), L, a, b, n, lo, hi, r, g, bl, inside);
}

// ---------------------------------------------------------------------------
// L only, from 8-bit sRGB: colorize needs the photo's lightness at full size
// and nothing else. The arithmetic of data::FastLab (loader.h) restricted to
// Y, lane for lane: the float table of the transfer curve, the Y row of the
// matrix, f(t) by a bit-level cube root guess and two Halley steps, so the
// L is the same float FastLab gives, at a third of the cost (no X, Z).

namespace {

struct LightnessFromSrgb8 {
  float lin[256];
  float m3, m4, m5;  // the Y row of linear RGB -> XYZ, divided by Yn
  LightnessFromSrgb8() {
    for (int v = 0; v < 256; ++v) lin[v] = float(srgb_to_linear(v / 255.0));
    const Mat3& M = linear_rgb_to_xyz_matrix();
    m3 = float(M.m[1][0] / kWhiteY), m4 = float(M.m[1][1] / kWhiteY), m5 = float(M.m[1][2] / kWhiteY);
  }
};

inline f32x4 lab_f4(const f32x4& t) {
  constexpr float d = 6.0f / 29.0f;
  const f32x4 d3 = splat4(d * d * d);
  const i32x4 above = t > d3;
  const f32x4 tc = above ? t : d3;
  const f32x4 bits = __builtin_convertvector((i32x4)tc, f32x4);
  f32x4 y = (f32x4)(__builtin_convertvector(bits * splat4(1.0f / 3.0f), i32x4) + 709921077);
  f32x4 y3 = y * y * y;
  y = y * (y3 + splat4(2.0f) * tc) / (splat4(2.0f) * y3 + tc);
  y3 = y * y * y;
  y = y * (y3 + splat4(2.0f) * tc) / (splat4(2.0f) * y3 + tc);
  const f32x4 line = t * splat4(1.0f / (3.0f * d * d)) + splat4(4.0f / 29.0f);
  return above ? y : line;
}

}  // namespace

void srgb8_to_L_image(const std::uint8_t* rgb, std::size_t n, float* L) {
  static const LightnessFromSrgb8 c;
  constexpr std::size_t kChunk = 256;
#pragma omp parallel for schedule(static) if (n >= 8192)
  for (std::size_t s = 0; s < n; s += kChunk) {
    const int m = static_cast<int>(std::min(kChunk, n - s));
    alignas(16) float y[kChunk], out[kChunk];
    const std::uint8_t* p = rgb + 3 * s;
    // The table lookups (scalar), then 4 pixels per vector step; the tail is
    // padded with black.
    for (int i = 0; i < m; ++i, p += 3) y[i] = c.m3 * c.lin[p[0]] + c.m4 * c.lin[p[1]] + c.m5 * c.lin[p[2]];
    const int padded = (m + 3) & ~3;
    for (int i = m; i < padded; ++i) y[i] = 0.0f;
    for (int i = 0; i < padded; i += 4)
      store4(out + i, splat4(116.0f) * lab_f4(load4(y + i)) - splat4(16.0f));
    std::memcpy(L + s, out, sizeof(float) * m);
  }
}

std::uint8_t linear_to_srgb8(float linear) { return srgb8_encoder().encode(linear); }

void lab_to_linear_rgb_image(const float* L, const float* ab, std::size_t n, float* rgb) {
  const LinearFromLab& c = linear_from_lab();
#pragma omp parallel for schedule(static) if (n >= 4096)
  for (std::size_t s = 0; s < n; s += kSpan) {
    const int m = static_cast<int>(std::min<std::size_t>(kSpan, n - s));
    alignas(32) float r[kSpan], g[kSpan], b[kSpan];
    alignas(32) std::int32_t inside[kSpan];
    linear_span(c, L + s, ab + s, ab + n + s, m, c.lo, c.hi, r, g, b, inside);
    for (int i = 0; i < m; ++i) {
      float* p = rgb + 3 * (s + i);
      p[0] = r[i], p[1] = g[i], p[2] = b[i];
    }
  }
}

std::size_t lab_to_srgb_image(const float* L, const float* ab, std::size_t n, std::uint8_t* rgb,
                              std::uint8_t* out_of_gamut) {
  const LinearFromLab& c = linear_from_lab();
  const Srgb8Encoder& enc = srgb8_encoder();
  std::size_t outside = 0;
  // Spans of 256 pixels: the vectorised Lab -> linear pass into small
  // buffers that stay in L1, then the table encode (scalar: byte lookups).
  // Pixels are independent: threads give the same bytes as one.
#pragma omp parallel for schedule(static) reduction(+ : outside) if (n >= 4096)
  for (std::size_t s = 0; s < n; s += kSpan) {
    const int m = static_cast<int>(std::min<std::size_t>(kSpan, n - s));
    alignas(32) float r[kSpan], g[kSpan], b[kSpan];
    alignas(32) std::int32_t inside[kSpan];
    linear_span(c, L + s, ab + s, ab + n + s, m, c.lo, c.hi, r, g, b, inside);
    std::uint8_t* out = rgb + 3 * s;
    for (int i = 0; i < m; ++i) {
      out[3 * i + 0] = enc.encode(r[i]);
      out[3 * i + 1] = enc.encode(g[i]);
      out[3 * i + 2] = enc.encode(b[i]);
      outside += !inside[i];
    }
    if (out_of_gamut)
      for (int i = 0; i < m; ++i) out_of_gamut[s + i] = !inside[i];
  }
  return outside;
}

// ---------------------------------------------------------------------------
// Model scalings, in place.

void normalize_L(float* L, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) L[i] = normalize_L(L[i]);
}
void denormalize_L(float* x, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) x[i] = denormalize_L(x[i]);
}
void normalize_ab(float* ab, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) ab[i] = normalize_ab(ab[i]);
}
void denormalize_ab(float* x, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) x[i] = denormalize_ab(x[i]);
}

}  // namespace tinct::color
