// test_conv_winograd43.cpp — Winograd F(3x3, 4x4) for the 4x4 stride-1
// convolutions (kernels/conv/ref_winograd.cpp, cpu_winograd.cpp,
// cpu_winograd_avx512.cpp): the readable reference and the fast forward,
// fused forward, backward-data and backward-filter against the direct reference (conv/ref.cpp)
// at awkward shapes (odd sizes, not multiples of the 3-wide tiles, pad 0-3,
// batch 1 and 3, channels off the GEMM tiles, tile rows longer than a group of
// 16, blocks spanning images), for every CPU kernel set and at 1 and 2
// threads; the same bits at 1 and 2 threads; the rule (training steps only)
// and the refusals. Tolerance as tests/test_conv_winograd_fast.cpp with the
// 16 C terms of a 4x4 filter.
#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "conv_fused_check.h"
#include "doctest/doctest.h"
#include "kernel_check.h"
#include "kernel_sets.h"
#include "kernels/kernels.h"

using namespace tinct;

namespace {
struct Case {
  int N, C, H, W, K, pad;
};
Conv2dParams params(const Case& c) {
  Conv2dParams p;
  p.N = c.N, p.C = c.C, p.H = c.H, p.W = c.W, p.K = c.K, p.R = 4, p.S = 4;
  p.pad_h = p.pad_w = c.pad;
  REQUIRE(p.finalize());
  REQUIRE(cpu::conv2d_winograd43_supported(p));
  return p;
}
std::string describe(const Conv2dParams& p, int threads) {
  char what[140];
  std::snprintf(what, sizeof what, "%d thr: N%d C%d %dx%d K%d pad %d -> %dx%d", threads, p.N, p.C, p.H, p.W, p.K,
                p.pad_h, p.P, p.Q);
  return what;
}
// the 4x4 filter's 16 C products per output
double tol(const Conv2dParams& p, int channels, const kcheck::Diff& d) {
  (void)p;
  return kcheck::tolerance(5e-6, 16.0 * channels, d);
}

const Case kCases[] = {
    {1, 1, 4, 4, 1, 0},    {1, 1, 1, 1, 1, 2},   {3, 3, 5, 7, 5, 1},     {1, 7, 13, 11, 5, 0},
    {3, 17, 9, 14, 19, 2}, {1, 4, 2, 9, 3, 3},   {1, 6, 8, 4, 2, 1},     {3, 33, 16, 16, 29, 1},
    {1, 20, 31, 30, 18, 1},
    {3, 65, 12, 10, 67, 1},  // > one block of tiles, blocks spanning images
    {1, 17, 20, 70, 3, 2},   // tile rows of 23 tiles: groups of 16 + 7 across the GEMM's panels
};
}  // namespace

TEST_CASE("Winograd F(3x3, 4x4) reference matches the direct convolution (forward, backward-data, -filter)") {
  uint32_t seed = 1;
  double worst = 0;
  std::string worst_at;
  for (const Case& c : {Case{1, 1, 4, 4, 1, 0}, Case{3, 3, 5, 7, 5, 1}, Case{1, 7, 13, 11, 5, 0},
                        Case{2, 9, 9, 14, 6, 2}, Case{1, 4, 2, 9, 3, 3}, Case{1, 5, 16, 16, 4, 1}}) {
    const Conv2dParams p = params(c);
    const auto x = kcheck::random_vec(size_t(p.N) * p.C * p.H * p.W, seed++);
    const auto w = kcheck::random_vec(size_t(p.K) * p.C * 16, seed++);
    const auto b = kcheck::random_vec(size_t(p.K), seed++);
    const auto dy = kcheck::random_vec(size_t(p.N) * p.K * p.P * p.Q, seed++);
    std::vector<float> ref(dy.size()), got(dy.size(), -7.0f);
    cpu::conv2d_fwd_ref(p, x.data(), w.data(), b.data(), ref.data());
    cpu::conv2d_fwd_winograd_ref(p, x.data(), w.data(), b.data(), got.data());
    const std::string what = describe(p, 1);
    const kcheck::Diff d = kcheck::diff(got.data(), ref.data(), ref.size());
    CHECK_MESSAGE(kcheck::report(("ref43 fwd " + what).c_str(), d, tol(p, p.C, d)), what);
    if (d.max_abs > worst) worst = d.max_abs, worst_at = "fwd " + what;
    std::vector<float> dref(x.size()), dgot(x.size(), -7.0f);
    cpu::conv2d_bwd_data_ref(p, dy.data(), w.data(), dref.data());
    cpu::conv2d_bwd_data_winograd_ref(p, dy.data(), w.data(), dgot.data());
    const kcheck::Diff e = kcheck::diff(dgot.data(), dref.data(), dref.size());
    CHECK_MESSAGE(kcheck::report(("ref43 bwd-data " + what).c_str(), e, tol(p, p.K, e)), what);
    if (e.max_abs > worst) worst = e.max_abs, worst_at = "bwd-data " + what;
    const auto dw0 = kcheck::random_vec(size_t(p.K) * p.C * 16, seed++);
    std::vector<float> wref = dw0, wgot = dw0;
    cpu::conv2d_bwd_filter_ref(p, x.data(), dy.data(), wref.data(), nullptr);
    cpu::conv2d_bwd_filter_winograd_ref(p, x.data(), dy.data(), wgot.data());
    const kcheck::Diff f = kcheck::diff(wgot.data(), wref.data(), wref.size());
    CHECK_MESSAGE(kcheck::report(("ref43 dW " + what).c_str(), f,
                                 kcheck::tolerance(5e-6, double(p.N) * p.P * p.Q, f)),
                  what);
  }
  std::printf("  worst abs error %.3g at %s\n", worst, worst_at.c_str());
}

// dw accumulates (starts from random values); the sum runs over N P Q pixels
// (tolerance as the 3x3 backward-filter's test); bit-for-bit at 1 and 2 threads.
TEST_CASE("fast Winograd F(3x3, 4x4) backward-filter matches conv2d_bwd_filter_ref, bitwise at 1 and 2 threads") {
  const int saved = omp_get_max_threads();
  for_each_kernel_set([&] {
    uint32_t seed = 31;
    double worst = 0;
    std::string worst_at;
    for (const Case& c : kCases) {
      const Conv2dParams p = params(c);
      const auto x = kcheck::random_vec(size_t(p.N) * p.C * p.H * p.W, seed++);
      const auto dy = kcheck::random_vec(size_t(p.N) * p.K * p.P * p.Q, seed++);
      const auto dw0 = kcheck::random_vec(size_t(p.K) * p.C * 16, seed++);
      std::vector<float> ref = dw0;
      cpu::conv2d_bwd_filter_ref(p, x.data(), dy.data(), ref.data(), nullptr);
      std::vector<float> got[2];
      const int counts[2] = {1, std::max(2, saved)};
      for (int i = 0; i < 2; ++i) {
        omp_set_num_threads(counts[i]);
        got[i] = dw0;
        cpu::conv2d_bwd_filter_winograd(p, x.data(), dy.data(), got[i].data());
      }
      omp_set_num_threads(saved);
      const std::string what = describe(p, counts[1]);
      const kcheck::Diff d = kcheck::diff(got[0].data(), ref.data(), ref.size());
      CHECK_MESSAGE(kcheck::report(("wino43 dW " + what).c_str(), d,
                                   kcheck::tolerance(5e-6, double(p.N) * p.P * p.Q, d)),
                    what);
      size_t differ = 0;
      for (size_t i = 0; i < ref.size(); ++i) differ += got[0][i] != got[1][i];
      CHECK_MESSAGE(differ == 0, what, ": ", differ, " values differ between 1 and ", counts[1], " threads");
      if (d.max_abs > worst) worst = d.max_abs, worst_at = what;
    }
    std::printf("  dW: worst abs error %.3g at %s\n", worst, worst_at.c_str());
  });
  omp_set_num_threads(saved);
}

TEST_CASE("fast Winograd F(3x3, 4x4) forward and backward-data match the direct convolution") {
  const int saved = omp_get_max_threads();
  for_each_kernel_set([&] {
    for (int threads : {1, std::max(2, saved)}) {
      omp_set_num_threads(threads);
      uint32_t seed = 11;
      double worst = 0;
      std::string worst_at;
      for (const Case& c : kCases) {
        const Conv2dParams p = params(c);
        const auto x = kcheck::random_vec(size_t(p.N) * p.C * p.H * p.W, seed++);
        const auto w = kcheck::random_vec(size_t(p.K) * p.C * 16, seed++);
        const auto b = kcheck::random_vec(size_t(p.K), seed++);
        const auto dy = kcheck::random_vec(size_t(p.N) * p.K * p.P * p.Q, seed++);
        const float* bp = c.C % 2 ? b.data() : nullptr;
        std::vector<float> ref(dy.size()), got(dy.size(), -7.0f);
        cpu::conv2d_fwd_ref(p, x.data(), w.data(), bp, ref.data());
        cpu::conv2d_fwd_winograd(p, x.data(), w.data(), bp, got.data());
        const std::string what = describe(p, threads);
        const kcheck::Diff d = kcheck::diff(got.data(), ref.data(), ref.size());
        CHECK_MESSAGE(kcheck::report(("wino43 fwd " + what).c_str(), d, tol(p, p.C, d)), what);
        if (d.max_abs > worst) worst = d.max_abs, worst_at = "fwd " + what;

        REQUIRE(cpu::conv2d_bwd_data_winograd_supported(p));
        std::vector<float> dref(x.size()), dgot(x.size(), -7.0f);
        cpu::conv2d_bwd_data_ref(p, dy.data(), w.data(), dref.data());
        cpu::conv2d_bwd_data_winograd(p, dy.data(), w.data(), dgot.data());
        const kcheck::Diff e = kcheck::diff(dgot.data(), dref.data(), dref.size());
        CHECK_MESSAGE(kcheck::report(("wino43 bwd-data " + what).c_str(), e, tol(p, p.K, e)), what);
        if (e.max_abs > worst) worst = e.max_abs, worst_at = "bwd-data " + what;
      }
      std::printf("  worst abs error %.3g at %s\n", worst, worst_at.c_str());
    }
  });
  omp_set_num_threads(saved);
}

TEST_CASE("fast Winograd F(3x3, 4x4) with a fused epilogue matches conv + epilogue_ref") {
  struct FCase {
    Case c;
    bool scale, residual, act, post;
    Act a;
  };
  const FCase cases[] = {
      {{1, 17, 21, 53, 19, 1}, true, true, true, false, Act::Relu},
      {{2, 3, 17, 15, 17, 2}, true, false, true, true, Act::LeakyRelu},
      {{1, 5, 11, 19, 7, 0}, true, true, true, true, Act::Tanh},
  };
  const int saved = omp_get_max_threads();
  for_each_kernel_set([&] {
    for (int threads : {1, std::max(2, saved)}) {
      omp_set_num_threads(threads);
      uint32_t seed = 77;
      for (const FCase& f : cases) {
        const Conv2dParams p = params(f.c);
        const std::string what = describe(p, threads) + " act " + std::to_string(f.act ? (int)f.a : -1);
        const kcheck::EpilogueParts parts{f.scale, true, f.residual, f.act, f.post, f.a};
        kcheck::check_conv_epilogue(p, parts, seed, 5e-6, 16.0 * p.C, "wino43 fused " + what,
                                    cpu::conv2d_fwd_winograd_fused);
      }
    }
  });
  omp_set_num_threads(saved);
}

TEST_CASE("fast Winograd F(3x3, 4x4): the same bits at 1 and 2 threads (batch 1 and the PatchGAN layer's shape)") {
  const int saved = omp_get_max_threads();
  for (const Case& c : {Case{1, 24, 40, 61, 20, 1}, Case{3, 32, 16, 16, 40, 1}}) {
    const Conv2dParams p = params(c);
    const auto x = kcheck::random_vec(size_t(p.N) * p.C * p.H * p.W, 3);
    const auto w = kcheck::random_vec(size_t(p.K) * p.C * 16, 4);
    const auto dy = kcheck::random_vec(size_t(p.N) * p.K * p.P * p.Q, 5);
    for_each_kernel_set([&] {
      std::vector<float> one(dy.size()), two(dy.size()), done(x.size()), dtwo(x.size());
      omp_set_num_threads(1);
      cpu::conv2d_fwd_winograd(p, x.data(), w.data(), nullptr, one.data());
      cpu::conv2d_bwd_data_winograd(p, dy.data(), w.data(), done.data());
      omp_set_num_threads(2);
      cpu::conv2d_fwd_winograd(p, x.data(), w.data(), nullptr, two.data());
      cpu::conv2d_bwd_data_winograd(p, dy.data(), w.data(), dtwo.data());
      size_t differ = 0, ddiffer = 0;
      for (size_t i = 0; i < one.size(); ++i) differ += one[i] != two[i];
      for (size_t i = 0; i < done.size(); ++i) ddiffer += done[i] != dtwo[i];
      std::printf("  %s: 1 vs 2 threads: fwd %zu of %zu values differ, bwd-data %zu of %zu\n",
                  describe(p, 2).c_str(), differ, one.size(), ddiffer, done.size());
      CHECK(differ == 0);
      CHECK(ddiffer == 0);
    });
  }
  omp_set_num_threads(saved);
}

TEST_CASE("Winograd F(3x3, 4x4): supported shapes, refusals, and the training-only rule") {
  Conv2dParams p = params({8, 128, 16, 16, 256, 1});  // the PatchGAN layer at 128 x 128
  CHECK_FALSE(cpu::conv2d_winograd_supported(p));    // F(4x4, 3x3) is the 3x3 one
  Conv2dParams s2 = p;
  s2.stride_h = s2.stride_w = 2;
  REQUIRE(s2.finalize());
  CHECK_FALSE(cpu::conv2d_winograd43_supported(s2));
  CHECK_FALSE(cpu::conv2d_bwd_data_winograd_supported(s2));
  Conv2dParams d2 = p;
  d2.dil_h = d2.dil_w = 2;
  REQUIRE(d2.finalize());
  CHECK_FALSE(cpu::conv2d_winograd43_supported(d2));
  Conv2dParams k5 = p;
  k5.R = k5.S = 5;
  REQUIRE(k5.finalize());
  CHECK_FALSE(cpu::conv2d_winograd43_supported(k5));
  std::vector<float> buf(size_t(8) * 256 * 16 * 16);
  CHECK_THROWS_AS(cpu::conv2d_fwd_winograd(s2, buf.data(), buf.data(), nullptr, buf.data()), std::invalid_argument);
  CHECK_THROWS_AS(cpu::conv2d_fwd_winograd_ref(d2, buf.data(), buf.data(), nullptr, buf.data()),
                  std::invalid_argument);
  CHECK_THROWS_AS(cpu::conv2d_bwd_data_winograd(s2, buf.data(), buf.data(), buf.data()), std::invalid_argument);
  CHECK_THROWS_AS(cpu::conv2d_bwd_filter_winograd_ref(d2, buf.data(), buf.data(), buf.data()), std::invalid_argument);
  CHECK_THROWS_AS(cpu::conv2d_bwd_filter_winograd(s2, buf.data(), buf.data(), buf.data()), std::invalid_argument);

  const bool env = std::getenv("TINCT_CONV_WINOGRAD") || std::getenv("TINCT_CONV_WINOGRAD43");
  if (env) return;  // the switches decide
  CHECK_FALSE(cpu::conv2d_winograd_pays(p));  // inference: never (the discriminator does not run there)
  CHECK_FALSE(cpu::conv2d_bwd_data_winograd_pays(p));
  CHECK_FALSE(cpu::conv2d_bwd_filter_winograd_pays(p));
  const cpu::WinogradTrainingScope training(true);
  const bool avx512 = cpu::cpu_kernels() == cpu::CpuKernels::Avx512;
  for (int N : {1, 3, 8}) {  // per image, never per batch
    p.N = N;
    CHECK(cpu::conv2d_winograd_pays(p) == avx512);
    CHECK(cpu::conv2d_bwd_data_winograd_pays(p) == avx512);
    CHECK_FALSE(cpu::conv2d_bwd_filter_winograd_pays(p));  // 25 tiles: dW keeps im2col (0.5x)
    CHECK(cpu::conv2d_bwd_filter_winograd_pays(params({N, 128, 64, 64, 256, 1})) == avx512);  // 441 tiles
  }
  {
    const cpu::WinogradOffScope off(true);
    CHECK_FALSE(cpu::conv2d_winograd_pays(p));
  }
  CHECK_FALSE(cpu::conv2d_winograd_pays(s2));
  CHECK_FALSE(cpu::conv2d_winograd_pays(params({8, 8, 16, 16, 256, 1})));  // too few channels
  CHECK_FALSE(cpu::conv2d_winograd_pays(params({8, 128, 8, 8, 256, 1})));  // 9 tiles an image: no gain
}
