// test_conv_direct.cpp — the direct convolution (kernels/conv/cpu_direct.cpp)
// against conv2d_fwd_ref + epilogue_ref: stride 1 and 2, every channel-block size (K = 1..16,
// so tiles of 1, 2, 3 and 4 channels and their mixes), odd sizes, rows that
// end mid-vector, padding 0..2 and asymmetric kernels, dilation 2 and 4,
// batches that do and do not split over the threads, at 1 and 2 threads;
// and conv2d_fwd_fused choosing it where it pays. The worst error is printed.
// Run on every kernel set the processor has; the portable one has no direct
// path (skipped).
#include <omp.h>

#include <cstdio>
#include <limits>
#include <vector>

#include "doctest/doctest.h"
#include "conv_fused_check.h"
#include "kernel_sets.h"
#include "kernels/kernels.h"

using namespace tinct;


namespace {

using Case = kcheck::ConvCase;
using kcheck::params_of;

bool direct_active() {
  Conv2dParams p;
  p.finalize();
  return cpu::conv2d_direct_supported(p);
}

// Checks conv(p) with epilogue variant v (0: none; 1: bias; 2: scale, shift,
// residual, leaky ReLU, post scale / shift) through `run` against the reference.
template <class Run>
double check(const Case& c, int v, int threads, Run run) {
  char what[112];
  std::snprintf(what, sizeof what, "direct N%d C%d %dx%d K%d %dx%d pad %d,%d dil %d epilogue %d, %d threads", c.N, c.C,
                c.H, c.W, c.K, c.R, c.S, c.pad_h, c.pad_w, c.dil, v, threads);
  return kcheck::check_conv_fused(params_of(c), v, what, 41, run);
}

}  // namespace

TEST_CASE("conv2d_fwd_direct matches conv2d_fwd_ref + epilogue_ref at awkward shapes") {
  std::vector<Case> cases;
  for (int K = 1; K <= 16; ++K) cases.push_back({1, 3, 11, 37, K, 3, 3, 1, 1, 1});  // every block mix; Q 37
  const Case more[] = {
      {1, 1, 33, 200, 2, 3, 3, 1, 1, 1},  // Q 200: 1 full 128-pixel tile + a partial one
      {3, 5, 17, 19, 7, 3, 3, 2, 2, 2},   // dilation 2, batch of 3 (does not split over 2 threads)
      {4, 2, 21, 23, 4, 3, 3, 4, 4, 4},   // dilation 4, batch that splits
      {2, 6, 9, 70, 16, 5, 5, 2, 2, 1},   // 5x5
      {1, 4, 13, 29, 3, 3, 1, 1, 0, 1},   // 3x1, pad 1,0
      {1, 4, 13, 29, 5, 1, 3, 0, 2, 1},   // 1x3, pad 0,2 (wider than needed)
      {1, 7, 8, 8, 9, 1, 1, 0, 0, 1},     // pointwise
      {1, 2, 6, 5, 2, 3, 3, 0, 0, 2},     // output 2x1
  };
  cases.insert(cases.end(), std::begin(more), std::end(more));
  for_each_kernel_set([&] {
    if (!direct_active()) {
      std::printf("  %s: no direct convolution (im2col + GEMM only); skipped\n", cpu::cpu_kernels_name(cpu::cpu_kernels()));
      return;
    }
    at_thread_counts([&](int threads) {
      double worst = 0;
      for (const Case& c : cases)
        for (int v = 0; v < 3; ++v) worst = std::max(worst, check(c, v, threads, cpu::conv2d_fwd_direct));
      std::printf("  %s conv2d_fwd_direct vs reference, %zu shapes x 3 epilogues: worst abs error %.3g (%d threads)\n",
                  cpu::cpu_kernels_name(cpu::cpu_kernels()), cases.size(), worst, threads);
    });
  });
}

// Stride 2 (in rows and columns, or in one of them): the columns as two
// phase planes per channel (conv/cpu_direct.cpp, Geometry).
TEST_CASE("conv2d_fwd_direct with stride 2 matches conv2d_fwd_ref + epilogue_ref at awkward shapes") {
  struct S2 {
    int N, C, H, W, K, R, S, sh, sw, pad, dil;
  };
  const S2 cases[] = {
      {1, 16, 33, 65, 16, 3, 3, 2, 2, 1, 1},  // the classification model's 16 -> 16 3x3 stride 2, odd sizes
      {2, 3, 20, 38, 13, 4, 4, 2, 2, 1, 1},   // 4x4 stride 2 (the PatchGAN's kind), batch that splits
      {3, 5, 17, 40, 7, 3, 3, 2, 2, 0, 1},    // pad 0, batch of 3
      {1, 2, 11, 300, 5, 5, 5, 2, 2, 2, 1},   // 5x5, a 148-pixel row: a full tile and a partial one
      {1, 4, 9, 31, 3, 3, 2, 1, 2, 1, 1},     // stride 1 in rows, 2 in columns, 3x2
      {1, 4, 19, 23, 6, 3, 3, 2, 1, 2, 2},    // stride 2 in rows only, dilation 2
      {1, 1, 7, 8, 1, 1, 1, 2, 2, 0, 1},      // 1x1 stride 2, one channel
  };
  for_each_kernel_set([&] {
    if (!direct_active()) return;
    at_thread_counts([&](int threads) {
      double worst = 0;
      for (const S2& c : cases) {
        Conv2dParams p;
        p.N = c.N, p.C = c.C, p.H = c.H, p.W = c.W, p.K = c.K, p.R = c.R, p.S = c.S;
        p.stride_h = c.sh, p.stride_w = c.sw, p.pad_h = p.pad_w = c.pad, p.dil_h = p.dil_w = c.dil;
        REQUIRE(p.finalize());
        REQUIRE(cpu::conv2d_direct_supported(p));
        for (int v = 0; v < 3; ++v) {
          char what[128];
          std::snprintf(what, sizeof what, "direct N%d C%d %dx%d K%d %dx%d stride %d,%d pad %d dil %d epilogue %d, %d threads",
                        c.N, c.C, c.H, c.W, c.K, c.R, c.S, c.sh, c.sw, c.pad, c.dil, v, threads);
          worst = std::max(worst, kcheck::check_conv_fused(p, v, what, 43, cpu::conv2d_fwd_direct));
        }
      }
      std::printf("  %s conv2d_fwd_direct stride 2 vs reference, %zu shapes x 3 epilogues: worst abs error %.3g (%d threads)\n",
                  cpu::cpu_kernels_name(cpu::cpu_kernels()), std::size(cases), worst, threads);
    });
  });
}

TEST_CASE("conv2d_fwd_fused takes the direct path for the models' few-channel layers, with the same result") {
  Conv2dParams big = params_of({1, 8, 96, 96, 2, 3, 3, 1, 1, 1});
  Conv2dParams many = params_of({1, 8, 96, 96, 32, 3, 3, 1, 1, 1});
  Conv2dParams strided = params_of({1, 8, 96, 96, 2, 3, 3, 1, 1, 1});
  strided.stride_h = strided.stride_w = 2;
  strided.finalize();
  CHECK(cpu::conv2d_direct_pays(big) == direct_active());  // K = 2
  CHECK_FALSE(cpu::conv2d_direct_pays(many));     // K > 16: im2col + GEMM
  CHECK_FALSE(cpu::conv2d_direct_pays(strided));  // stride 2, 48x48 outputs: rows too short
  Conv2dParams strided_wide = params_of({1, 16, 512, 512, 16, 3, 3, 1, 1, 1});
  strided_wide.stride_h = strided_wide.stride_w = 2;
  strided_wide.finalize();
  CHECK(cpu::conv2d_direct_pays(strided_wide) == direct_active());  // the classification model's 16 -> 16 at 512x512
  Conv2dParams deconv_dx = params_of({8, 8, 128, 128, 16, 4, 4, 1, 1, 1});  // a 16 -> 8 deconv's backward-data
  deconv_dx.stride_h = deconv_dx.stride_w = 2;
  deconv_dx.finalize();
  CHECK(cpu::conv2d_direct_pays(deconv_dx) == direct_active());  // 4x4: 64-pixel rows pay
  at_thread_counts([&](int threads) {
    check({1, 8, 96, 96, 2, 3, 3, 1, 1, 1}, 2, threads, cpu::conv2d_fwd_fused);
    check({2, 16, 64, 80, 16, 3, 3, 1, 1, 1}, 1, threads, cpu::conv2d_fwd_fused);
  });
}
