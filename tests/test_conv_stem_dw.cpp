// test_conv_stem_dw.cpp — the stems' backward-filter
// (kernels/conv/cpu_stem_dw.cpp: few input channels, phase planes, a dot
// product per tap) against conv2d_bwd_filter_ref at awkward shapes: 1-4 input
// channels, 5-33 outputs, stride 1 and 2 in either direction, kernels 1x1 to
// 8x8 and non-square, padding 0-3, dilation 1, 2 and 3 (odd dilations put the
// taps of one stride-2 kernel on both phases), odd sizes, outputs of one
// pixel and rows shorter than a vector, batch 1 and 3; dw and db accumulate
// into what is there. At 1 and 2 threads (the same bits) on every kernel
// set. Also the rule: the entry point takes it for the models' stems and
// gives its bits. The worst error is printed.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "doctest/doctest.h"
#include "kernel_check.h"
#include "kernel_sets.h"
#include "kernels/kernels.h"

using namespace tinct;

namespace {

struct StemCase {
  int N, C, H, W, K, R, S, sh, sw, pad_h, pad_w, dil;
};

Conv2dParams params_of(const StemCase& c) {
  Conv2dParams p;
  p.N = c.N, p.C = c.C, p.H = c.H, p.W = c.W, p.K = c.K, p.R = c.R, p.S = c.S;
  p.stride_h = c.sh, p.stride_w = c.sw, p.pad_h = c.pad_h, p.pad_w = c.pad_w, p.dil_h = p.dil_w = c.dil;
  REQUIRE(p.finalize());
  return p;
}

const StemCase kCases[] = {
    {3, 1, 33, 35, 16, 3, 3, 1, 1, 1, 1, 1},  // classification conv1_1, small and odd
    {1, 1, 37, 30, 32, 7, 7, 2, 2, 3, 3, 1},  // the ResNet stem
    {3, 3, 31, 34, 32, 4, 4, 2, 2, 1, 1, 1},  // the PatchGAN's first layer
    {2, 2, 19, 23, 5, 5, 3, 2, 1, 2, 0, 1},   // stride 2 by 1, 5x3
    {2, 4, 20, 17, 7, 3, 5, 1, 2, 0, 2, 1},   // stride 1 by 2
    {1, 3, 29, 29, 9, 3, 3, 2, 2, 3, 3, 3},   // dilation 3 with stride 2: taps on both phases
    {2, 1, 26, 21, 33, 3, 3, 1, 1, 2, 2, 2},  // dilation 2
    {3, 2, 9, 9, 6, 1, 1, 2, 2, 0, 0, 1},     // 1x1 stride 2
    {1, 1, 8, 8, 12, 8, 8, 1, 1, 0, 0, 1},    // 8x8: one output pixel, 64 taps
    {2, 3, 5, 70, 10, 3, 4, 2, 2, 1, 1, 1},   // a wide row over several vectors
    {1, 3, 9, 67, 2, 4, 4, 2, 2, 1, 1, 1},    // K 2 (one block of the several-channel tile), odd width
    {3, 3, 21, 18, 35, 4, 4, 2, 2, 0, 1, 1},  // 4x4 stride 2, pad 0 by 1, K 35: blocks of 4 and a tail of 3
};

std::string name_of(const StemCase& c, int threads) {
  char s[160];
  std::snprintf(s, sizeof s, "stem dw N%d C%d %dx%d K%d %dx%d s%d,%d pad %d,%d dil %d, %d thr", c.N, c.C, c.H, c.W,
                c.K, c.R, c.S, c.sh, c.sw, c.pad_h, c.pad_w, c.dil, threads);
  return s;
}

// dw and db of one case (accumulated onto random values) against the
// reference; returns the worst absolute error and leaves dw then db in out.
double check_case(const StemCase& c, int threads, std::vector<float>& out) {
  const Conv2dParams p = params_of(c);
  REQUIRE(cpu::conv2d_bwd_filter_stem_supported(p));
  const size_t nx = (size_t)p.N * p.C * p.H * p.W, nw = (size_t)p.K * p.C * p.R * p.S,
               ny = (size_t)p.N * p.K * p.P * p.Q;
  const auto x = kcheck::random_vec(nx, 21 + p.C), dy = kcheck::random_vec(ny, 22 + p.K);
  const auto dw0 = kcheck::random_vec(nw, 23), db0 = kcheck::random_vec(p.K, 24);
  std::vector<float> dw_ref = dw0, db_ref = db0, dw = dw0, db = db0;
  cpu::conv2d_bwd_filter_ref(p, x.data(), dy.data(), dw_ref.data(), db_ref.data());
  cpu::conv2d_bwd_filter_stem(p, x.data(), dy.data(), dw.data(), db.data());
  const std::string what = name_of(c, threads);
  CAPTURE(what);
  const double depth = double(p.N) * p.P * p.Q;
  const kcheck::Diff ddw = kcheck::diff(dw.data(), dw_ref.data(), nw);
  CHECK(kcheck::report(what.c_str(), ddw, kcheck::tolerance(2e-6, depth, ddw)));
  const kcheck::Diff ddb = kcheck::diff(db.data(), db_ref.data(), p.K);
  CHECK(kcheck::report("  its db", ddb, kcheck::tolerance(2e-6, depth, ddb)));
  out = dw;
  out.insert(out.end(), db.begin(), db.end());
  return std::max(ddw.max_abs, ddb.max_abs);
}

}  // namespace

TEST_CASE("stems' backward-filter matches the reference, same bits at 1 and 2 threads") {
  for_each_kernel_set([&] {
    std::vector<std::vector<float>> first;
    at_thread_counts([&](int threads) {
      double worst = 0;
      std::string worst_at;
      size_t i = 0;
      for (const StemCase& c : kCases) {
        std::vector<float> got;
        const double e = check_case(c, threads, got);
        if (e > worst) worst = e, worst_at = name_of(c, threads);
        if (first.size() <= i) {
          first.push_back(got);
        } else {
          CAPTURE(name_of(c, threads));
          CHECK(std::memcmp(first[i].data(), got.data(), got.size() * sizeof(float)) == 0);
        }
        ++i;
      }
      std::printf("  stem dw vs reference, %zu shapes: worst abs error %.3g at %s\n", i, worst, worst_at.c_str());
    });
  });
}

TEST_CASE("a wrong dy changes the stems' dw beyond the tolerance (the check can fail)") {
  const Conv2dParams p = params_of(kCases[2]);
  const size_t nx = (size_t)p.N * p.C * p.H * p.W, nw = (size_t)p.K * p.C * p.R * p.S,
               ny = (size_t)p.N * p.K * p.P * p.Q;
  const auto x = kcheck::random_vec(nx, 31);
  auto dy = kcheck::random_vec(ny, 32);
  std::vector<float> ref(nw, 0.0f), got(nw, 0.0f);
  cpu::conv2d_bwd_filter_ref(p, x.data(), dy.data(), ref.data(), nullptr);
  dy[ny / 2] += 1.0f;  // one output pixel's gradient off by one
  cpu::conv2d_bwd_filter_stem(p, x.data(), dy.data(), got.data(), nullptr);
  const kcheck::Diff d = kcheck::diff(got.data(), ref.data(), nw);
  CHECK(d.max_abs > kcheck::tolerance(2e-6, double(p.N) * p.P * p.Q, d));
}

TEST_CASE("the backward-filter entry point takes the stem path for the models' stems, with its bits") {
  const StemCase stems[] = {
      {2, 1, 32, 32, 16, 3, 3, 1, 1, 1, 1, 1},  // classification conv1_1
      {2, 2, 32, 32, 24, 4, 4, 2, 2, 1, 1, 1},  // 2 channels, 4x4 stride 2: 32 GEMM columns
  };
  for (const StemCase& c : stems) {
    const Conv2dParams p = params_of(c);
    CHECK(cpu::conv2d_bwd_filter_stem_pays(p));
    const size_t nx = (size_t)p.N * p.C * p.H * p.W, nw = (size_t)p.K * p.C * p.R * p.S,
                 ny = (size_t)p.N * p.K * p.P * p.Q;
    const auto x = kcheck::random_vec(nx, 41), dy = kcheck::random_vec(ny, 42);
    std::vector<float> a(nw, 0.5f), b(nw, 0.5f), da(p.K, 0.25f), db(p.K, 0.25f);
    cpu::conv2d_bwd_filter(p, x.data(), dy.data(), a.data(), da.data());
    cpu::conv2d_bwd_filter_stem(p, x.data(), dy.data(), b.data(), db.data());
    CHECK(std::memcmp(a.data(), b.data(), nw * sizeof(float)) == 0);
    CHECK(std::memcmp(da.data(), db.data(), p.K * sizeof(float)) == 0);
  }
  // The PatchGAN's first layer (48 GEMM columns) only with the several-
  // channel tile (the avx512 set; else im2col + GEMM is as fast). Not for:
  // the 7x7 ResNet stems (49 columns; cpu_stem_dw.cpp says why), 5 or more
  // input channels, 4 or fewer outputs (the thin path's), stride 3, a 1x1 kernel.
  const bool avx512 = cpu::cpu_kernels() == cpu::CpuKernels::Avx512;
  CHECK(cpu::conv2d_bwd_filter_stem_pays(params_of({2, 3, 32, 32, 32, 4, 4, 2, 2, 1, 1, 1})) == avx512);
  CHECK(cpu::conv2d_bwd_filter_stem_supported(params_of({2, 1, 32, 32, 32, 7, 7, 2, 2, 3, 3, 1})));
  CHECK_FALSE(cpu::conv2d_bwd_filter_stem_pays(params_of({2, 1, 32, 32, 32, 7, 7, 2, 2, 3, 3, 1})));
  CHECK_FALSE(cpu::conv2d_bwd_filter_stem_pays(params_of({2, 5, 16, 16, 16, 3, 3, 1, 1, 1, 1, 1})));
  CHECK_FALSE(cpu::conv2d_bwd_filter_stem_pays(params_of({2, 1, 16, 16, 4, 3, 3, 1, 1, 1, 1, 1})));
  CHECK_FALSE(cpu::conv2d_bwd_filter_stem_supported(params_of({2, 1, 16, 16, 16, 3, 3, 3, 3, 1, 1, 1})));
  CHECK_FALSE(cpu::conv2d_bwd_filter_stem_pays(params_of({2, 1, 16, 16, 16, 1, 1, 1, 1, 0, 0, 1})));
}
