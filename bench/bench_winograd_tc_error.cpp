// bench_winograd_tc_error.cpp — how much error Winograd adds when its GEMMs
// run on tensor cores (issue 12: should the Winograd batched GEMMs of
// kernels/conv/cuda_3_winograd.cu get a TF32 / BF16 variant?).
//
// On the tensor cores the operands of the 36 (or 16) GEMMs, the transformed
// filter U = G g G^T and tiles V = B^T d B, are rounded to TF32 / BF16; the
// output transform A^T M A then multiplies their errors by up to 8 (F(4x4,
// 3x3)). The direct (implicit-GEMM) convolution rounds x and w instead. This
// program computes, in double on the CPU, a 3x3 pad-1 convolution of random
// N(0, 1) activations with He-scaled weights three ways: exactly, directly
// with rounded x and w (CUDA conv variants 4 / 5), and by Winograd F(2x2,
// 3x3) and F(4x4, 3x3) with rounded U and V (transforms exact), and prints
// each one's RMS error relative to the output's RMS and its largest error.
//
// Usage: ./build/bench/bench_winograd_tc_error [C] [K] [HW]   (default 256 8 16)
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "kernels/tensorcore/tensorcore.h"

using tinct::Precision;

namespace {

float rounded(Precision p, double v) {
  const float f = float(v);
  float o;
  tinct::cpu::round_operands(p, &f, &o, 1);
  return o;
}

// F(m x m, 3 x 3): tiles of a = m + 2; BT [a][a], G [a][3], AT [m][a].
struct Wino {
  const char* name;
  int m;
  std::vector<double> BT, G, AT;
};

const Wino kF2{"F(2x2,3x3)", 2,
               {1, 0, -1, 0, 0, 1, 1, 0, 0, -1, 1, 0, 0, 1, 0, -1},
               {1, 0, 0, 0.5, 0.5, 0.5, 0.5, -0.5, 0.5, 0, 0, 1},
               {1, 1, 1, 0, 0, 1, -1, -1}};
// The matrices of conv/ref_winograd.cpp (interpolation points 0, +-1, +-2, infinity).
const Wino kF4{"F(4x4,3x3)", 4,
               {4, 0, -5, 0, 1, 0, 0, -4, -4, 1, 1, 0, 0, 4, -4, -1, 1, 0,
                0, -2, -1, 2, 1, 0, 0, 2, -1, -2, 1, 0, 0, 4, 0, -5, 0, 1},
               {1. / 4, 0, 0, -1. / 6, -1. / 6, -1. / 6, -1. / 6, 1. / 6, -1. / 6,
                1. / 24, 1. / 12, 1. / 6, 1. / 24, -1. / 12, 1. / 6, 0, 0, 1},
               {1, 1, 1, 1, 1, 0, 0, 1, -1, 2, -2, 0, 0, 1, 1, 4, 4, 0, 0, 1, -1, 8, -8, 1}};

struct Err {
  double se = 0, max = 0;
  void add(double got, double want) {
    se += (got - want) * (got - want);
    max = std::fmax(max, std::fabs(got - want));
  }
};

}  // namespace

int main(int argc, char** argv) {
  const int C = argc > 1 ? std::atoi(argv[1]) : 256, K = argc > 2 ? std::atoi(argv[2]) : 8,
            HW = argc > 3 ? std::atoi(argv[3]) : 16;
  if (C < 1 || K < 1 || HW < 4 || HW % 4 != 0) {
    std::fprintf(stderr, "usage: %s [C >= 1] [K >= 1] [HW, a multiple of 4]\n", argv[0]);
    return 2;
  }
  std::mt19937 gen(3);
  std::normal_distribution<double> normal(0, 1);
  std::vector<double> x(size_t(C) * HW * HW), w(size_t(K) * C * 9);
  for (double& v : x) v = float(normal(gen));
  for (double& v : w) v = float(normal(gen) * std::sqrt(2.0 / (9 * C)));
  auto X = [&](int c, int h, int ww) { return h < 0 || h >= HW || ww < 0 || ww >= HW ? 0.0 : x[(size_t(c) * HW + h) * HW + ww]; };

  // The direct convolution with x and w rounded as `prec` rounds them, in
  // double: at fp32 (no rounding: the inputs are floats) the exact output.
  auto direct = [&](Precision prec) {
    std::vector<double> y(size_t(K) * HW * HW);
    for (int k = 0; k < K; ++k)
      for (int p = 0; p < HW; ++p)
        for (int q = 0; q < HW; ++q) {
          double v = 0;
          for (int c = 0; c < C; ++c)
            for (int r = 0; r < 3; ++r)
              for (int s = 0; s < 3; ++s)
                v += double(rounded(prec, X(c, p - 1 + r, q - 1 + s))) *
                     rounded(prec, w[((size_t(k) * C + c) * 3 + r) * 3 + s]);
          y[(size_t(k) * HW + p) * HW + q] = v;
        }
    return y;
  };
  std::printf("3x3 conv, pad 1, C %d -> K %d, %dx%d; error RMS relative to the output's RMS, and max |error|\n", C, K,
              HW, HW);
  const std::vector<double> exact = direct(Precision::fp32);
  double ss = 0;
  for (double y : exact) ss += y * y;
  const double rms = std::sqrt(ss / exact.size());
  for (Precision prec : {Precision::tf32, Precision::bf16}) {
    const char* pn = prec == Precision::tf32 ? "tf32" : "bf16";
    Err direct_err;
    const std::vector<double> yd = direct(prec);
    for (size_t i = 0; i < yd.size(); ++i) direct_err.add(yd[i], exact[i]);
    std::printf("  %s direct        rms %.3g  max %.3g\n", pn, std::sqrt(direct_err.se / ss), direct_err.max);
    for (const Wino* f : {&kF2, &kF4}) {
      const int m = f->m, a = m + 2;
      std::vector<float> U(size_t(K) * C * a * a);
      for (int k = 0; k < K; ++k)
        for (int c = 0; c < C; ++c)
          for (int i = 0; i < a; ++i)
            for (int j = 0; j < a; ++j) {
              double u = 0;
              for (int r = 0; r < 3; ++r)
                for (int s = 0; s < 3; ++s) u += f->G[i * 3 + r] * w[((size_t(k) * C + c) * 3 + r) * 3 + s] * f->G[j * 3 + s];
              U[((size_t(k) * C + c) * a + i) * a + j] = rounded(prec, u);
            }
      Err e;
      std::vector<float> V(size_t(C) * a * a);
      for (int th = 0; th < HW / m; ++th)
        for (int tw = 0; tw < HW / m; ++tw) {
          for (int c = 0; c < C; ++c)
            for (int i = 0; i < a; ++i)
              for (int j = 0; j < a; ++j) {
                double v = 0;
                for (int r = 0; r < a; ++r)
                  for (int s = 0; s < a; ++s) v += f->BT[i * a + r] * X(c, m * th - 1 + r, m * tw - 1 + s) * f->BT[j * a + s];
                V[(size_t(c) * a + i) * a + j] = rounded(prec, v);
              }
          for (int k = 0; k < K; ++k) {
            std::vector<double> M(a * a, 0.0);
            for (int c = 0; c < C; ++c)
              for (int t = 0; t < a * a; ++t) M[t] += double(U[(size_t(k) * C + c) * a * a + t]) * V[size_t(c) * a * a + t];
            for (int i = 0; i < m; ++i)
              for (int j = 0; j < m; ++j) {
                double y = 0;
                for (int r = 0; r < a; ++r)
                  for (int s = 0; s < a; ++s) y += f->AT[i * a + r] * M[r * a + s] * f->AT[j * a + s];
                e.add(y, exact[(size_t(k) * HW + m * th + i) * HW + m * tw + j]);
              }
          }
        }
      std::printf("  %s %s  rms %.3g  max %.3g  (%.1fx direct's rms error)\n", pn, f->name, std::sqrt(e.se / ss), e.max,
                  std::sqrt(e.se / direct_err.se));
    }
  }
  std::printf("  output rms %.3g\n", rms);
  return 0;
}
