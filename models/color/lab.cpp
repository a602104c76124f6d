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
// The sRGB transfer curve (IEC 61966-2-1).
//
// Encoded value c (what files store) -> linear light l:
//   l = c / 12.92                      for c <= 0.04045
//   l = ((c + 0.055) / 1.055)^2.4      otherwise
// The short linear toe avoids the infinite slope of a pure power law at 0.
// The published constants are rounded, so at the joint the two pieces of
// each curve miss each other slightly (2e-9 in linear light at 0.04045,
// 3e-8 in encoded value at 0.0031308): far below anything visible or tested.

double srgb_to_linear(double c) {
  if (c <= 0.04045) return c / 12.92;
  return std::pow((c + 0.055) / 1.055, 2.4);
}

double linear_to_srgb(double l) {
  if (l <= 0.0031308) return 12.92 * l;
  return 1.055 * std::pow(l, 1.0 / 2.4) - 0.055;
}

// ---------------------------------------------------------------------------
// The RGB -> XYZ matrix, from first principles.
//
// A primary with chromaticity (x, y) has, at luminance Y = 1, the tristimulus
// values (x/y, 1, (1-x-y)/y). Put these three columns in P. The matrix is
// M = P * diag(S), where the scales S make R = G = B = 1 land on the white:
// P * S = (Xn, Yn, Zn), so S = P^-1 * white. Computing M (and its inverse) in
// double once keeps the forward and backward conversions exact inverses of
// each other, which a pair of rounded published matrices are not.

namespace {

Mat3 inverse(const Mat3& A) {
  const auto& m = A.m;
  // The adjugate divided by the determinant (cofactor expansion).
  const double c00 = m[1][1] * m[2][2] - m[1][2] * m[2][1];
  const double c01 = m[1][2] * m[2][0] - m[1][0] * m[2][2];
  const double c02 = m[1][0] * m[2][1] - m[1][1] * m[2][0];
  const double det = m[0][0] * c00 + m[0][1] * c01 + m[0][2] * c02;
  const double k = 1.0 / det;
  Mat3 r;
  r.m[0][0] = c00 * k;
  r.m[0][1] = (m[0][2] * m[2][1] - m[0][1] * m[2][2]) * k;
  r.m[0][2] = (m[0][1] * m[1][2] - m[0][2] * m[1][1]) * k;
  r.m[1][0] = c01 * k;
  r.m[1][1] = (m[0][0] * m[2][2] - m[0][2] * m[2][0]) * k;
  r.m[1][2] = (m[0][2] * m[1][0] - m[0][0] * m[1][2]) * k;
  r.m[2][0] = c02 * k;
  r.m[2][1] = (m[0][1] * m[2][0] - m[0][0] * m[2][1]) * k;
  r.m[2][2] = (m[0][0] * m[1][1] - m[0][1] * m[1][0]) * k;
  return r;
}

Mat3 derive_rgb_to_xyz() {
  const double xs[3] = {kRedX, kGreenX, kBlueX};
  const double ys[3] = {kRedY, kGreenY, kBlueY};
  Mat3 P;
  for (int j = 0; j < 3; ++j) {
    P.m[0][j] = xs[j] / ys[j];
    P.m[1][j] = 1.0;
    P.m[2][j] = (1.0 - xs[j] - ys[j]) / ys[j];
  }
  const Mat3 Pinv = inverse(P);
  const double white[3] = {kWhiteX, kWhiteY, kWhiteZ};
  double S[3];
  for (int i = 0; i < 3; ++i)
    S[i] = Pinv.m[i][0] * white[0] + Pinv.m[i][1] * white[1] + Pinv.m[i][2] * white[2];
  Mat3 M;
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) M.m[i][j] = P.m[i][j] * S[j];
  return M;
}

inline void apply(const Mat3& A, double x0, double x1, double x2, double& y0, double& y1,
                  double& y2) {
  y0 = A.m[0][0] * x0 + A.m[0][1] * x1 + A.m[0][2] * x2;
  y1 = A.m[1][0] * x0 + A.m[1][1] * x1 + A.m[1][2] * x2;
  y2 = A.m[2][0] * x0 + A.m[2][1] * x1 + A.m[2][2] * x2;
}

}  // namespace

const Mat3& linear_rgb_to_xyz_matrix() {
  static const Mat3 M = derive_rgb_to_xyz();
  return M;
}

const Mat3& xyz_to_linear_rgb_matrix() {
  static const Mat3 Minv = inverse(linear_rgb_to_xyz_matrix());
  return Minv;
}

Xyz linear_rgb_to_xyz(const Rgb& c) {
  Xyz o;
  apply(linear_rgb_to_xyz_matrix(), c.r, c.g, c.b, o.x, o.y, o.z);
  return o;
}

Rgb xyz_to_linear_rgb(const Xyz& c) {
  Rgb o;
  apply(xyz_to_linear_rgb_matrix(), c.x, c.y, c.z, o.r, o.g, o.b);
  return o;
}

// ---------------------------------------------------------------------------
// CIE LAB (CIE 15:2004).
//
//   L = 116 f(Y/Yn) - 16
//   a = 500 (f(X/Xn) - f(Y/Yn))
//   b = 200 (f(Y/Yn) - f(Z/Zn))
//
// with f(t) = t^(1/3) above delta^3 (delta = 6/29), and below it the tangent
// line t / (3 delta^2) + 4/29, which meets the cube root at t = delta^3 with
// the same value (delta) and slope. The exact fractions are used, not the
// rounded 0.008856 / 7.787 of older texts, so that f is exactly invertible:
//   f^-1(u) = u^3 above delta, 3 delta^2 (u - 4/29) below.
// Black: f(0) = 4/29, so L = 116 * 4/29 - 16 = 0.

double lab_f(double t) {
  constexpr double d = kLabDelta;
  if (t > d * d * d) return std::cbrt(t);
  return t / (3.0 * d * d) + 4.0 / 29.0;
}

double lab_f_inverse(double u) {
  constexpr double d = kLabDelta;
  if (u > d) return u * u * u;
  return 3.0 * d * d * (u - 4.0 / 29.0);
}

Lab xyz_to_lab(const Xyz& c) {
  const double fx = lab_f(c.x / kWhiteX);
  const double fy = lab_f(c.y / kWhiteY);
  const double fz = lab_f(c.z / kWhiteZ);
  return {116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)};
}

Xyz lab_to_xyz(const Lab& c) {
  const double fy = (c.L + 16.0) / 116.0;
  const double fx = fy + c.a / 500.0;
  const double fz = fy - c.b / 200.0;
  return {kWhiteX * lab_f_inverse(fx), kWhiteY * lab_f_inverse(fy), kWhiteZ * lab_f_inverse(fz)};
}

Lab srgb_to_lab(const Rgb& c) {
  return xyz_to_lab(
      linear_rgb_to_xyz({srgb_to_linear(c.r), srgb_to_linear(c.g), srgb_to_linear(c.b)}));
}

Rgb lab_to_linear_rgb(const Lab& c) { return xyz_to_linear_rgb(lab_to_xyz(c)); }

Rgb lab_to_srgb(const Lab& c) {
  const Rgb l = lab_to_linear_rgb(c);
  return {linear_to_srgb(l.r), linear_to_srgb(l.g), linear_to_srgb(l.b)};
}

bool in_unit_cube(const Rgb& c, double tol) {
  const double lo = -tol, hi = 1.0 + tol;
  return c.r >= lo && c.r <= hi && c.g >= lo && c.g <= hi && c.b >= lo && c.b <= hi;
}

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
