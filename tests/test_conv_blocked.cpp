// test_conv_blocked.cpp — the blocked direct convolution
// (kernels/conv/cpu_blocked.cpp) against conv2d_fwd_ref + epilogue_ref:
// channel counts that are and are not multiples of the 6- and 12-channel
// tiles (K and C of 1, 3, 17, 33, 313; C = 313 also takes the path that sums
// its input channels in two chunks), rows of 2 and 4 vectors ending
// mid-vector and rows cut into several segments, stride 2 (both directions
// and each alone), dilation 2 and 4, padding 0, 1 and 2, 1x1 / 5x5 / 3x1
// kernels, batches that do and do not split over the threads, each epilogue,
// at 1 and 2 threads; and conv2d_fwd_fused choosing it where it pays. The
// worst error and where are printed. Run on every kernel set the processor
// has; only avx512 has the blocked path (the others are skipped).
#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <limits>
#include <vector>

#include "doctest/doctest.h"
#include "conv_fused_check.h"
#include "kernel_sets.h"
#include "kernels/kernels.h"

using namespace tinct;

namespace {

struct Case {
  int N, C, H, W, K, R, S, stride_h, stride_w, pad, dil;
};

Conv2dParams params_of(const Case& c) {
  Conv2dParams p;
  p.N = c.N, p.C = c.C, p.H = c.H, p.W = c.W, p.K = c.K, p.R = c.R, p.S = c.S;
  p.stride_h = c.stride_h, p.stride_w = c.stride_w;
  p.pad_h = p.pad_w = c.pad, p.dil_h = p.dil_w = c.dil;
  p.finalize();
  return p;
}

bool blocked_active() {
  Conv2dParams p;
  p.finalize();
  return cpu::conv2d_blocked_supported(p);
}

// Checks conv(p) with epilogue variant v (0: none; 1: bias; 2: scale, shift,
// residual, leaky ReLU, post scale / shift) through `run` against the reference.
template <class Run>
double check(const Case& c, int v, int threads, Run run) {
  char what[160];
  std::snprintf(what, sizeof what,
                "blocked N%d C%d %dx%d K%d %dx%d stride %d,%d pad %d dil %d epilogue %d, %d threads", c.N, c.C,
                c.H, c.W, c.K, c.R, c.S, c.stride_h, c.stride_w, c.pad, c.dil, v, threads);
  return kcheck::check_conv_fused(params_of(c), v, what, 51, run);
}

}  // namespace

TEST_CASE("conv2d_fwd_blocked matches conv2d_fwd_ref + epilogue_ref at awkward shapes") {
  std::vector<Case> cases;
  // Every channel-block mix of the 6x4 tile (K 1..13) on a 37-wide row (2
  // full vectors + 5 lanes: the 12x2 tile's row) and a 70-wide one (two
  // segments of 35: 6x4 tiles ending mid-vector).
  for (int K : {1, 3, 5, 6, 7, 12, 13}) {
    cases.push_back({1, 3, 11, 37, K, 3, 3, 1, 1, 1, 1});
    cases.push_back({1, 3, 7, 70, K, 3, 3, 1, 1, 1, 1});
  }
  const Case more[] = {
      {1, 17, 9, 66, 17, 3, 3, 1, 1, 1, 1},    // 17 channels, 66 wide: 2 segments of 33
      {1, 33, 13, 29, 33, 3, 3, 1, 1, 1, 1},   // 33
      {1, 313, 5, 9, 3, 3, 3, 1, 1, 1, 1},     // C 313: two input-channel chunks (256 + 57)
      {1, 3, 6, 21, 313, 3, 3, 1, 1, 1, 1},    // K 313
      {1, 1, 15, 41, 17, 3, 3, 1, 1, 1, 1},    // C 1
      {1, 17, 23, 131, 33, 3, 3, 2, 2, 1, 1},  // stride 2, odd input: deinterleaved rows
      {1, 5, 24, 64, 7, 3, 3, 2, 2, 0, 1},     // stride 2, pad 0
      {2, 6, 19, 27, 9, 3, 3, 2, 1, 1, 1},     // stride 2 in rows only
      {1, 6, 19, 27, 9, 3, 3, 1, 2, 2, 1},     // stride 2 in columns only, pad 2
      {3, 5, 17, 19, 7, 3, 3, 1, 1, 2, 2},     // dilation 2, batch of 3 (does not split over 2 threads)
      {4, 2, 21, 23, 4, 3, 3, 1, 1, 4, 4},     // dilation 4, batch that splits
      {1, 9, 20, 45, 10, 3, 3, 2, 2, 2, 2},    // stride 2 with dilation 2
      {2, 6, 9, 70, 16, 5, 5, 1, 1, 2, 1},     // 5x5
      {1, 4, 13, 29, 18, 3, 1, 1, 1, 1, 1},    // 3x1, pad 1 (wider than needed in columns)
      {1, 7, 8, 8, 20, 1, 1, 1, 1, 0, 1},      // pointwise
      {1, 32, 16, 16, 32, 1, 1, 2, 2, 0, 1},   // pointwise stride 2 (the ResNet shortcut)
      {1, 4, 40, 40, 32, 7, 7, 2, 2, 3, 1},    // 7x7 stride 2 (the ResNet stem)
      {1, 1, 69, 77, 33, 7, 7, 2, 2, 3, 1},    // the stem as the models have it (1 channel), odd sizes
      {1, 2, 6, 5, 2, 3, 3, 1, 1, 0, 2},       // output 2x1
      {1, 3, 3, 3, 5, 3, 3, 1, 1, 0, 1},       // output 1x1
  };
  cases.insert(cases.end(), std::begin(more), std::end(more));
  for_each_kernel_set([&] {
    if (!blocked_active()) {
      std::printf("  %s: no blocked convolution (im2col + GEMM only); skipped\n",
                  cpu::cpu_kernels_name(cpu::cpu_kernels()));
      return;
    }
    at_thread_counts([&](int threads) {
      double worst = 0;
      for (const Case& c : cases)
        for (int v = 0; v < 3; ++v) worst = std::max(worst, check(c, v, threads, cpu::conv2d_fwd_blocked));
      std::printf("  %s conv2d_fwd_blocked vs reference, %zu shapes x 3 epilogues: worst abs error %.3g (%d threads)\n",
                  cpu::cpu_kernels_name(cpu::cpu_kernels()), cases.size(), worst, threads);
    });
  });
}

TEST_CASE("conv2d_fwd_fused takes the blocked path for the models' 32-128-channel layers, with the same result") {
  const Conv2dParams mid = params_of({1, 32, 128, 128, 32, 3, 3, 1, 1, 1, 1});
  const Conv2dParams few = params_of({1, 32, 128, 128, 2, 3, 3, 1, 1, 1, 1});
  const Conv2dParams small = params_of({1, 64, 16, 16, 64, 3, 3, 1, 1, 1, 1});
  const Conv2dParams wide = params_of({1, 512, 64, 64, 512, 3, 3, 1, 1, 1, 1});
  CHECK(cpu::conv2d_blocked_pays(mid) == blocked_active());
  CHECK_FALSE(cpu::conv2d_blocked_pays(few));    // K <= 16: the direct path's (or im2col's)
  CHECK_FALSE(cpu::conv2d_blocked_pays(small));  // 16-wide rows: im2col + GEMM
  CHECK_FALSE(cpu::conv2d_blocked_pays(wide));   // 512 channels: Winograd / im2col
  const Conv2dParams stem = params_of({1, 1, 512, 512, 32, 7, 7, 2, 2, 3, 1});
  const Conv2dParams stem3 = params_of({1, 1, 512, 512, 32, 3, 3, 2, 2, 1, 1});
  CHECK(cpu::conv2d_blocked_pays(stem) == blocked_active());  // the ResNet stem
  CHECK_FALSE(cpu::conv2d_blocked_pays(stem3));                // a 3x3 stride 2 stays with im2col
  at_thread_counts([&](int threads) {
    check({1, 32, 70, 96, 32, 3, 3, 1, 1, 1, 1}, 2, threads, cpu::conv2d_fwd_fused);
    check({2, 24, 64, 80, 40, 3, 3, 1, 1, 1, 1}, 1, threads, cpu::conv2d_fwd_fused);
    check({1, 1, 130, 98, 32, 7, 7, 2, 2, 3, 1}, 2, threads, cpu::conv2d_fwd_fused);  // the stem
  });
}
