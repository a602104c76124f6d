// test_conv_winograd_fast.cpp — the fast CPU Winograd forward
// (kernels/conv/cpu_winograd.cpp) against the direct reference convolution
// at awkward shapes (odd sizes, widths not multiples of 4, 1x1 and 5x3
// images, pad 0/1/2, dilation 2 and 4, channels off the GEMM tiles, batch 1
// and 3, tile blocks that span images), for every CPU kernel set and at 1 and
// all threads. Tolerance as tests/test_conv_winograd.cpp.
#include <omp.h>

#include <cstdio>
#include <string>
#include <vector>

#include "doctest/doctest.h"
#include "kernel_check.h"
#include "kernel_sets.h"
#include "kernels/kernels.h"

using namespace tinct;

namespace {
struct Case {
  int N, C, H, W, K, pad_h, pad_w;
  bool bias;
  int dil_h = 1, dil_w = 1;
};
}  // namespace

TEST_CASE("fast CPU Winograd forward matches the direct convolution") {
  const Case cases[] = {
      {1, 1, 1, 1, 1, 1, 1, true},      {3, 3, 5, 3, 5, 1, 1, true},     {1, 7, 13, 11, 5, 0, 0, false},
      {3, 17, 9, 14, 19, 2, 2, true},   {1, 4, 1, 9, 3, 1, 1, false},    {1, 6, 7, 3, 2, 1, 0, true},
      {3, 33, 23, 17, 29, 1, 1, true},  {1, 70, 31, 30, 66, 1, 1, false},
      {3, 65, 12, 10, 67, 1, 1, true},  // > one block of tiles, blocks spanning images
      {3, 5, 15, 13, 6, 2, 2, true, 2, 2},  {1, 3, 17, 9, 4, 4, 0, false, 4, 1},
      {1, 9, 19, 21, 10, 4, 4, true, 4, 4}, {3, 64, 11, 13, 64, 2, 2, false, 2, 2},
  };
  const int saved = omp_get_max_threads();
  for_each_kernel_set([&] {
    for (int threads : {1, saved}) {
      omp_set_num_threads(threads);
      uint32_t seed = 5;
      double worst = 0;
      std::string worst_at;
      for (const Case& c : cases) {
        Conv2dParams p;
        p.N = c.N, p.C = c.C, p.H = c.H, p.W = c.W, p.K = c.K, p.R = 3, p.S = 3;
        p.pad_h = c.pad_h, p.pad_w = c.pad_w, p.dil_h = c.dil_h, p.dil_w = c.dil_w;
        REQUIRE(p.finalize());
        REQUIRE(cpu::conv2d_winograd_supported(p));
        const auto x = kcheck::random_vec(size_t(p.N) * p.C * p.H * p.W, seed++);
        const auto w = kcheck::random_vec(size_t(p.K) * p.C * 9, seed++);
        const auto b = kcheck::random_vec(size_t(p.K), seed++);
        std::vector<float> ref(size_t(p.N) * p.K * p.P * p.Q), got(ref.size(), -7.0f);
        const float* bp = c.bias ? b.data() : nullptr;
        cpu::conv2d_fwd_ref(p, x.data(), w.data(), bp, ref.data());
        cpu::conv2d_fwd_winograd(p, x.data(), w.data(), bp, got.data());
        char what[140];
        std::snprintf(what, sizeof what, "%d thr: N%d C%d %dx%d K%d pad %d,%d dil %d,%d -> %dx%d", threads, p.N,
                      p.C, p.H, p.W, p.K, p.pad_h, p.pad_w, p.dil_h, p.dil_w, p.P, p.Q);
        const kcheck::Diff d = kcheck::diff(got.data(), ref.data(), ref.size());
        CHECK_MESSAGE(kcheck::report((std::string("wino fwd ") + what).c_str(), d,
                                     kcheck::tolerance(5e-6, 9.0 * p.C, d)),
                      what);
        if (d.max_abs > worst) worst = d.max_abs, worst_at = what;
      }
      std::printf("  worst abs error %.3g at %s\n", worst, worst_at.c_str());
    }
  });
  omp_set_num_threads(saved);
}
