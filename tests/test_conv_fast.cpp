// test_conv_fast.cpp — the conv2d reference checked against calculus, and the
// fast path (kernels/conv/cpu.cpp) checked against the reference.
//
// 1. The reference backward (conv/ref.cpp) against finite differences of the
//    reference forward, accumulated in double: for a random upstream gradient
//    g and loss L = sum(g * y), the directional derivative of L along a random
//    direction must equal <gradient, direction>. A deliberately wrong gradient
//    must fail the same tolerance, to show the check has teeth.
// 2. The fast path against the reference at awkward shapes (batch 1 and 3, odd
//    sizes, one input channel, stride 2, padding 0..4, dilation 2 and 4, 1x1 to
//    7x7 and non-square kernels), at one thread and at all threads, including
//    the contracts: bwd_data overwrites dx, bwd_filter accumulates into dw/db;
//    on every CPU kernel set this processor runs (avx512, avx2, generic), and
//    with bwd_filter chunks that span images (small planes, many images).
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <vector>

#include "doctest/doctest.h"
#include "kernel_check.h"
#include "kernel_sets.h"
#include "kernels/kernels.h"

using namespace tinct;

namespace {

struct ConvCase {
  int N, C, H, W, K, R, S;
  int stride_h, stride_w, pad_h, pad_w, dil_h, dil_w;
  bool bias;
};

Conv2dParams params_of(const ConvCase& c) {
  Conv2dParams p;
  p.N = c.N, p.C = c.C, p.H = c.H, p.W = c.W, p.K = c.K, p.R = c.R, p.S = c.S;
  p.stride_h = c.stride_h, p.stride_w = c.stride_w, p.pad_h = c.pad_h, p.pad_w = c.pad_w;
  p.dil_h = c.dil_h, p.dil_w = c.dil_w;
  return p;
}

size_t x_size(const Conv2dParams& p) { return (size_t)p.N * p.C * p.H * p.W; }
size_t w_size(const Conv2dParams& p) { return (size_t)p.K * p.C * p.R * p.S; }
size_t y_size(const Conv2dParams& p) { return (size_t)p.N * p.K * p.P * p.Q; }

void describe(const Conv2dParams& p, char* out, size_t n) {
  std::snprintf(out, n, "N%d C%d %dx%d K%d %dx%d s%d,%d p%d,%d d%d,%d -> %dx%d", p.N, p.C, p.H,
                p.W, p.K, p.R, p.S, p.stride_h, p.stride_w, p.pad_h, p.pad_w, p.dil_h, p.dil_w,
                p.P, p.Q);
}

// ---------------------------------------------------------------------------
// 1. finite differences of the reference

// L = sum_i g_i * y_i(x, w, b), accumulated in double.
double loss(const Conv2dParams& p, const std::vector<float>& x, const std::vector<float>& w,
            const std::vector<float>& b, const std::vector<float>& g) {
  std::vector<float> y(y_size(p));
  cpu::conv2d_fwd_ref(p, x.data(), w.data(), b.data(), y.data());
  double sum = 0.0;
  for (size_t i = 0; i < y.size(); ++i) sum += (double)g[i] * y[i];
  return sum;
}

constexpr float kStep = 1e-1f;   // finite-difference step h (see fd_gap)
constexpr double kFdTol = 1e-4;  // on |fd - analytic| / max(|fd|, |analytic|)

// Relative gap between the central difference of L along a random direction
// and the analytic <grad, direction>, worst over a few directions. `which`
// perturbs x (0) or the parameters w and b together (1). L is linear in x and
// in (w, b), so the central difference has no truncation error at any step;
// what is left is float rounding in the forward pass, which a larger step
// shrinks relative to the difference (h = 1e-2 leaves gaps near 5e-5, h = 0.1
// near 5e-6). The analytic side uses the perturbation actually applied after
// float rounding of x + h*v.
double fd_gap(const Conv2dParams& p, const std::vector<float>& x, const std::vector<float>& w,
              const std::vector<float>& b, const std::vector<float>& g, int which,
              const std::vector<float>& grad_main, const std::vector<float>& grad_bias) {
  double worst = 0.0;
  for (uint32_t dir = 0; dir < 3; ++dir) {
    const auto& base = which == 0 ? x : w;
    const auto v = kcheck::random_vec(base.size(), 900 + dir);
    const auto vb = kcheck::random_vec(b.size(), 950 + dir);
    std::vector<float> plus = base, minus = base, b_plus = b, b_minus = b;
    for (size_t i = 0; i < base.size(); ++i) plus[i] += kStep * v[i], minus[i] -= kStep * v[i];
    if (which == 1)
      for (size_t i = 0; i < b.size(); ++i) b_plus[i] += kStep * vb[i], b_minus[i] -= kStep * vb[i];

    double fd, analytic = 0.0;
    if (which == 0) {
      fd = (loss(p, plus, w, b, g) - loss(p, minus, w, b, g)) / (2.0 * kStep);
    } else {
      fd = (loss(p, x, plus, b_plus, g) - loss(p, x, minus, b_minus, g)) / (2.0 * kStep);
      for (size_t i = 0; i < b.size(); ++i)
        analytic += (double)grad_bias[i] * ((double)b_plus[i] - b_minus[i]) / (2.0 * kStep);
    }
    for (size_t i = 0; i < base.size(); ++i)
      analytic += (double)grad_main[i] * ((double)plus[i] - minus[i]) / (2.0 * kStep);
    const double gap = std::fabs(fd - analytic) / std::max({std::fabs(fd), std::fabs(analytic), 1e-12});
    worst = std::max(worst, gap);
  }
  return worst;
}

}  // namespace

TEST_CASE("reference conv backward matches finite differences of the reference forward") {
  const ConvCase cases[] = {
      {2, 3, 7, 9, 4, 3, 3, 2, 2, 1, 1, 1, 1, true},   // stride 2, pad 1
      {1, 2, 9, 8, 3, 2, 3, 1, 2, 1, 3, 2, 1, true},   // non-square, dilation 2 rows
      {1, 1, 13, 11, 2, 4, 4, 1, 1, 3, 3, 2, 2, true},  // 1 channel, even kernel, dil 2
  };
  uint32_t seed = 100;
  for (const auto& c : cases) {
    Conv2dParams p = params_of(c);
    REQUIRE(p.finalize());
    const auto x = kcheck::random_vec(x_size(p), seed++), w = kcheck::random_vec(w_size(p), seed++);
    const auto b = kcheck::random_vec(p.K, seed++), g = kcheck::random_vec(y_size(p), seed++);

    std::vector<float> dx(x_size(p)), dw(w_size(p), 0.0f), db(p.K, 0.0f);
    cpu::conv2d_bwd_data_ref(p, g.data(), w.data(), dx.data());
    cpu::conv2d_bwd_filter_ref(p, x.data(), g.data(), dw.data(), db.data());
    const double gap_data = fd_gap(p, x, w, b, g, 0, dx, {});
    const double gap_filter = fd_gap(p, x, w, b, g, 1, dw, db);

    // A plausible bug for each: bwd_data forgetting one filter tap (the last
    // one, which touches the padding-free interior), and one entry of dw off
    // by the typical size of an entry.
    std::vector<float> w_missing_tap = w, dx_wrong(x_size(p));
    for (int k = 0; k < p.K; ++k)
      for (int ch = 0; ch < p.C; ++ch) w_missing_tap[((size_t)k * p.C + ch) * p.R * p.S + p.R * p.S - 1] = 0.0f;
    cpu::conv2d_bwd_data_ref(p, g.data(), w_missing_tap.data(), dx_wrong.data());
    double rms = 0.0;
    for (float v : dw) rms += (double)v * v;
    rms = std::sqrt(rms / dw.size());
    std::vector<float> dw_wrong = dw;
    dw_wrong[dw.size() / 2] += (float)rms;
    const double gap_data_wrong = fd_gap(p, x, w, b, g, 0, dx_wrong, {});
    const double gap_filter_wrong = fd_gap(p, x, w, b, g, 1, dw_wrong, db);

    char name[128];
    describe(p, name, sizeof name);
    std::printf("  fd %-44s data %.2e filter %.2e | wrong: data %.2e filter %.2e (tol %.0e)\n",
                name, gap_data, gap_filter, gap_data_wrong, gap_filter_wrong, kFdTol);
    CHECK(gap_data <= kFdTol);
    CHECK(gap_filter <= kFdTol);
    CHECK(gap_data_wrong > kFdTol);
    CHECK(gap_filter_wrong > kFdTol);
  }
}

// ---------------------------------------------------------------------------
// 2. fast path vs reference

namespace {

// Observed errors are around 1e-7 on this scale (see the printed lines).
constexpr double kRtol = 2e-6;

// Runs fwd, bwd_data and bwd_filter through both paths and compares them.
bool check_fast(const Conv2dParams& p, bool bias, uint32_t seed, const char* tag) {
  const auto x = kcheck::random_vec(x_size(p), seed), w = kcheck::random_vec(w_size(p), seed + 1);
  const auto b = kcheck::random_vec(p.K, seed + 2), dy = kcheck::random_vec(y_size(p), seed + 3);
  const auto dw0 = kcheck::random_vec(w_size(p), seed + 4);  // bwd_filter accumulates onto these
  const auto db0 = kcheck::random_vec(p.K, seed + 5);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float* bp = bias ? b.data() : nullptr;
  char shape[128], name[192];
  describe(p, shape, sizeof shape);
  bool ok = true;

  std::vector<float> y_ref(y_size(p), nan), y_fast(y_size(p), nan);
  cpu::conv2d_fwd_ref(p, x.data(), w.data(), bp, y_ref.data());
  cpu::conv2d_fwd(p, x.data(), w.data(), bp, y_fast.data());
  auto d = kcheck::diff(y_fast.data(), y_ref.data(), y_ref.size());
  std::snprintf(name, sizeof name, "fwd  %s%s %s", shape, bias ? " +b" : "", tag);
  ok &= kcheck::report(name, d, kcheck::tolerance(kRtol, (double)p.C * p.R * p.S, d));

  std::vector<float> dx_ref(x_size(p), nan), dx_fast(x_size(p), nan);  // NaN: must be overwritten
  cpu::conv2d_bwd_data_ref(p, dy.data(), w.data(), dx_ref.data());
  cpu::conv2d_bwd_data(p, dy.data(), w.data(), dx_fast.data());
  d = kcheck::diff(dx_fast.data(), dx_ref.data(), dx_ref.size());
  std::snprintf(name, sizeof name, "data %s %s", shape, tag);
  ok &= kcheck::report(name, d, kcheck::tolerance(kRtol, (double)p.K * p.R * p.S, d));

  std::vector<float> dw_ref = dw0, dw_fast = dw0, db_ref = db0, db_fast = db0;
  cpu::conv2d_bwd_filter_ref(p, x.data(), dy.data(), dw_ref.data(), bias ? db_ref.data() : nullptr);
  cpu::conv2d_bwd_filter(p, x.data(), dy.data(), dw_fast.data(), bias ? db_fast.data() : nullptr);
  d = kcheck::diff(dw_fast.data(), dw_ref.data(), dw_ref.size());
  std::snprintf(name, sizeof name, "filt %s %s", shape, tag);
  ok &= kcheck::report(name, d, kcheck::tolerance(kRtol, (double)p.N * p.P * p.Q, d));
  d = kcheck::diff(db_fast.data(), db_ref.data(), db_ref.size());
  std::snprintf(name, sizeof name, "bias %s %s", shape, tag);
  ok &= kcheck::report(name, d, kcheck::tolerance(kRtol, (double)p.N * p.P * p.Q, d));
  return ok;
}


}  // namespace

TEST_CASE("fast conv2d matches the reference at awkward shapes, 1 thread and all threads") {
  //   N  C   H   W   K  R  S  sh sw ph pw dh dw bias
  const ConvCase cases[] = {
      {1, 1, 7, 9, 4, 3, 3, 1, 1, 1, 1, 1, 1, true},      // 1 input channel, batch 1
      {3, 5, 13, 11, 6, 3, 3, 2, 2, 1, 1, 1, 1, true},    // stride 2, batch 3
      {3, 3, 13, 11, 5, 3, 3, 1, 1, 2, 2, 2, 2, false},   // dilation 2
      {1, 4, 17, 19, 3, 3, 3, 1, 1, 4, 4, 4, 4, true},    // dilation 4
      {3, 8, 7, 9, 16, 1, 1, 1, 1, 0, 0, 1, 1, true},     // 1x1 pointwise: no im2col
      {2, 8, 7, 9, 5, 1, 1, 2, 2, 0, 0, 1, 1, false},     // 1x1 stride 2: needs im2col
      {3, 2, 13, 11, 4, 4, 4, 2, 2, 1, 1, 1, 1, true},    // even 4x4 kernel
      {1, 3, 16, 15, 8, 7, 7, 2, 2, 3, 3, 1, 1, true},    // 7x7 stride 2 pad 3
      {3, 3, 9, 14, 7, 2, 5, 1, 2, 0, 3, 2, 1, true},     // non-square everything
      {2, 1, 7, 9, 1, 3, 3, 1, 1, 3, 3, 1, 1, true},      // pad 3 > kernel: border outputs see only padding
      {4, 16, 12, 12, 32, 3, 3, 1, 1, 1, 1, 1, 1, true},  // batch split across threads
      {1, 64, 10, 10, 48, 3, 3, 1, 1, 1, 1, 1, 1, true},  // batch 1: threads inside the GEMM
      // C*R*S near 4096 makes conv/cpu.cpp lower each image in two column strips,
      // the second starting in the middle of an output row.
      {1, 256, 20, 20, 8, 4, 4, 1, 1, 1, 2, 1, 1, true},
      {2, 160, 45, 21, 6, 5, 5, 2, 1, 3, 2, 2, 1, true},
      // bwd_filter cuts the batch's pixels into chunks of a multiple of KC:
      // many small planes in one chunk (im2col and 1x1), and chunks (and the
      // threads' ranges) that start inside an image.
      {9, 32, 6, 6, 16, 3, 3, 1, 1, 1, 1, 1, 1, true},
      {5, 600, 4, 4, 8, 1, 1, 1, 1, 0, 0, 1, 1, false},
      {3, 512, 20, 20, 8, 3, 3, 1, 1, 1, 1, 1, 1, true},
      {3, 4096, 20, 20, 4, 1, 1, 1, 1, 0, 0, 1, 1, true},
      // bwd_filter's lowering runs inside the GEMM's packing, one B panel at a
      // time: a GEMM split by rows (more filters than taps) has each thread
      // lower all panels; an odd tap count leaves a partial panel.
      {1, 2, 48, 40, 64, 3, 3, 1, 1, 1, 1, 1, 1, true},
      {2, 3, 41, 37, 70, 3, 3, 2, 2, 1, 1, 2, 2, false},
  };
  const int saved = omp_get_max_threads();
  for_each_kernel_set([&] {
    uint32_t seed = 1;
    for (const auto& c : cases) {
      Conv2dParams p = params_of(c);
      REQUIRE(p.finalize());
      for (int threads : {1, std::max(2, saved)}) {
        omp_set_num_threads(threads);
        char tag[32];
        std::snprintf(tag, sizeof tag, "[%d thr]", threads);
        CHECK(check_fast(p, c.bias, seed, tag));
      }
      seed += 10;
    }
    omp_set_num_threads(saved);
  });
}

TEST_CASE("fast conv2d is deterministic") {
  // Batch 4 takes the batch split of fwd / bwd_data, batch 1 the split inside
  // the GEMM; the third shape has bwd_filter split its pixel stream over the
  // threads (private dW per thread, ranges starting inside an image).
  const ConvCase cases[] = {{4, 16, 12, 12, 32, 3, 3, 1, 1, 1, 1, 1, 1, true},
                            {1, 16, 12, 12, 32, 3, 3, 1, 1, 1, 1, 1, 1, true},
                            {3, 512, 20, 20, 8, 3, 3, 1, 1, 1, 1, 1, 1, true}};
  for_each_kernel_set([&] {
    for (const auto& c : cases) {
      Conv2dParams p = params_of(c);
      REQUIRE(p.finalize());
      const auto x = kcheck::random_vec(x_size(p), 7), dy = kcheck::random_vec(y_size(p), 8);
      const auto w = kcheck::random_vec(w_size(p), 9);
      std::vector<float> y1(y_size(p)), y2(y_size(p)), dx1(x_size(p)), dx2(x_size(p));
      std::vector<float> dw1(w_size(p), 0.0f), dw2(w_size(p), 0.0f);
      for (int rep = 0; rep < 2; ++rep) {
        cpu::conv2d_fwd(p, x.data(), w.data(), nullptr, rep ? y2.data() : y1.data());
        cpu::conv2d_bwd_data(p, dy.data(), w.data(), rep ? dx2.data() : dx1.data());
        cpu::conv2d_bwd_filter(p, x.data(), dy.data(), rep ? dw2.data() : dw1.data(), nullptr);
      }
      CHECK(std::memcmp(y1.data(), y2.data(), y1.size() * 4) == 0);
      CHECK(std::memcmp(dx1.data(), dx2.data(), dx1.size() * 4) == 0);
      CHECK(std::memcmp(dw1.data(), dw2.data(), dw1.size() * 4) == 0);
    }
  });
}

TEST_CASE("im2col is the gather of the formula and col2im is its adjoint (accumulating)") {
  Conv2dParams p = params_of({1, 3, 9, 8, 1, 3, 2, 2, 1, 2, 1, 2, 3, false});
  REQUIRE(p.finalize());
  const int CRS = p.C * p.R * p.S, PQ = p.P * p.Q;
  const auto x = kcheck::random_vec((size_t)p.C * p.H * p.W, 31);
  std::vector<float> col((size_t)CRS * PQ, std::numeric_limits<float>::quiet_NaN());
  cpu::im2col(p, x.data(), col.data());
  int mismatches = 0;
  for (int c = 0; c < p.C; ++c)
    for (int r = 0; r < p.R; ++r)
      for (int s = 0; s < p.S; ++s)
        for (int op = 0; op < p.P; ++op)
          for (int oq = 0; oq < p.Q; ++oq) {
            const int h = op * p.stride_h - p.pad_h + r * p.dil_h;
            const int w = oq * p.stride_w - p.pad_w + s * p.dil_w;
            const float want = (h < 0 || h >= p.H || w < 0 || w >= p.W) ? 0.0f : x[((size_t)c * p.H + h) * p.W + w];
            mismatches += col[(size_t)((c * p.R + r) * p.S + s) * PQ + op * p.Q + oq] != want;
          }
  CHECK(mismatches == 0);

  // <im2col(x), u> == <x, col2im(u)>, with col2im adding onto a buffer of ones.
  const auto u = kcheck::random_vec(col.size(), 32);
  std::vector<float> back(x.size(), 1.0f);
  cpu::col2im(p, u.data(), back.data());
  double lhs = 0.0, rhs = 0.0;
  for (size_t i = 0; i < col.size(); ++i) lhs += (double)col[i] * u[i];
  for (size_t i = 0; i < x.size(); ++i) rhs += (double)x[i] * (back[i] - 1.0f);
  std::printf("  im2col/col2im adjoint: <im2col x, u> = %.9g, <x, col2im u> = %.9g\n", lhs, rhs);
  CHECK(std::fabs(lhs - rhs) <= 1e-5 * (1.0 + std::fabs(lhs)));
}
