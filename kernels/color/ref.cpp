// color/ref.cpp — the colour family's reference (the specification): the
// per-pixel sRGB <-> LAB chain in double precision, and the image loops the
// CUDA colour kernels are checked against. Plain single-threaded loops; the
// fast CPU paths are models/color/lab.cpp (image functions: a byte table,
// float vectors, threads) and the loader's FastLab (models/data/loader.cpp),
// both tested against this file (tests/test_color_ref.cpp).
#include "kernels/color/ref.h"

#include <algorithm>
#include <cmath>

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

}  // namespace tinct::color

namespace tinct::cpu {

void srgb8_to_lab_ref(std::size_t n, const std::uint8_t* rgb, float* L, float* ab) {
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint8_t* p = rgb + 3 * i;
    const color::Lab lab = color::srgb_to_lab({p[0] / 255.0, p[1] / 255.0, p[2] / 255.0});
    L[i] = float(lab.L);
    ab[i] = float(lab.a);
    ab[n + i] = float(lab.b);
  }
}

void lab_to_srgb8_ref(std::size_t n, const float* L, const float* ab, std::uint8_t* rgb) {
  for (std::size_t i = 0; i < n; ++i) {
    const color::Rgb c = color::lab_to_srgb({L[i], ab[i], ab[n + i]});
    const double ch[3] = {c.r, c.g, c.b};
    for (int k = 0; k < 3; ++k) rgb[3 * i + k] = std::uint8_t(std::lround(std::clamp(ch[k], 0.0, 1.0) * 255.0));
  }
}

void soft_encode_dense_ref(std::size_t n, const float* ab, const float* centres, int Q, float* out,
                           float sigma) {
  constexpr int kNear = 5;
  std::fill(out, out + std::size_t(Q) * n, 0.0f);
  const float inv_two_sigma2 = 1.0f / (2.0f * sigma * sigma);
  for (std::size_t i = 0; i < n; ++i) {
    const float a = ab[i], b = ab[n + i];
    int idx[kNear];
    float d2[kNear];
    int found = 0;
    for (int q = 0; q < Q; ++q) {
      const float da = a - centres[2 * q], db = b - centres[2 * q + 1];
      const float sa = da * da, sb = db * db;  // two roundings, then the sum: no fused multiply-add
      const float d = sa + sb;
      // Insert q among the kept nearest (strictly closer moves ahead: ties keep the lower index first).
      int k = found < kNear ? found++ : kNear;
      while (k > 0 && d < d2[k - 1]) {
        if (k < kNear) idx[k] = idx[k - 1], d2[k] = d2[k - 1];
        --k;
      }
      if (k < kNear) idx[k] = q, d2[k] = d;
    }
    float w[kNear], sum = 0.0f;
    for (int k = 0; k < kNear; ++k) sum += (w[k] = std::exp(-(d2[k] - d2[0]) * inv_two_sigma2));
    for (int k = 0; k < kNear; ++k) out[std::size_t(idx[k]) * n + i] = w[k] / sum;
  }
}

}  // namespace tinct::cpu
