// test_conv_transpose_phases.cpp — the phase-wise transposed convolution
// (kernels/conv/cpu_transpose_phases.cpp) against conv2d_bwd_data_ref +
// epilogue_ref: the decoders' 4x4 stride 2 padding 1 at odd and tiny sizes
// (1x1 inputs, 7x13, rows of several segments), output_padding 0 and 1,
// 1, 3, 17 and 33 channels either side (channel blocks of every size of the
// 6- and 12-channel tiles), 300 input channels (two chunks), other strides,
// kernels and paddings (stride 3, stride 1, kernels not a multiple of the
// stride, a phase no tap reaches, a stride in one direction only), batches
// that do and do not split over the threads, five epilogues (none; bias; batch
// norm + ReLU; batch norm + leaky ReLU; scale, shift, residual, leaky ReLU,
// post scale / shift), at 1
// and 2 threads, on every kernel set the processor has (only avx512 has the
// path; the others check the dispatch falls back). The worst error and where
// are printed. Also: conv_transpose2d_fwd_fused and conv2d_bwd_data take the
// path for the models' layers with the reference's result, and 1 and 2
// threads give the same bits.
#include <omp.h>

#include <algorithm>
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

// A ConvTranspose2d(cin -> cout, k, stride, pad, output_padding) on [n, cin, hi, wi]
// (strides and paddings may differ by direction).
struct Case {
  int n, cin, cout, hi, wi, kh, kw, sh, sw, ph, pw, op;
};

// The conv2d whose backward-data the transposed convolution is.
Conv2dParams params_of(const Case& c) {
  Conv2dParams p;
  p.N = c.n, p.C = c.cout, p.K = c.cin, p.R = c.kh, p.S = c.kw;
  p.stride_h = c.sh, p.stride_w = c.sw, p.pad_h = c.ph, p.pad_w = c.pw;
  p.H = (c.hi - 1) * c.sh - 2 * c.ph + c.kh + c.op;
  p.W = (c.wi - 1) * c.sw - 2 * c.pw + c.kw + c.op;
  REQUIRE(p.finalize());
  REQUIRE(p.P == c.hi);
  REQUIRE(p.Q == c.wi);
  return p;
}

bool phases_active() {
  Conv2dParams p;
  p.finalize();
  return cpu::conv_transpose2d_phases_supported(p);
}

using Run = void (*)(const Conv2dParams&, const float*, const float*, const cpu::Epilogue&, float*);

// Runs `run` on case c with epilogue variant v (0: none; 1: bias; 2: batch
// norm + ReLU; 3: scale, shift, residual, leaky ReLU, post scale / shift; 4:
// batch norm + leaky ReLU; all but 3 are applied by the interleaving store),
// checks it against the reference and returns the worst absolute error;
// `out` (if given) receives the result.
double check(const Case& c, int v, int threads, Run run, std::vector<float>* out = nullptr) {
  using namespace kcheck;
  const Conv2dParams p = params_of(c);
  const size_t nx = size_t(p.N) * p.K * p.P * p.Q, nw = size_t(p.K) * p.C * p.R * p.S,
               ny = size_t(p.N) * p.C * p.H * p.W;
  const uint32_t seed = 97 + p.C * 7 + p.K;
  const auto x = random_vec(nx, seed), w = random_vec(nw, seed + 1);
  const auto scale = random_vec(p.C, seed + 2, -2.f, 2.f), shift = random_vec(p.C, seed + 3);
  const auto residual = random_vec(ny, seed + 4), post_scale = random_vec(p.C, seed + 5, 0.2f, 2.f),
             post_shift = random_vec(p.C, seed + 6);
  cpu::Epilogue e;
  if (v >= 1) e.shift = shift.data();
  if (v == 2) e.scale = scale.data(), e.has_act = true, e.act = Act::Relu;
  if (v == 4) e.scale = scale.data(), e.has_act = true, e.act = Act::LeakyRelu, e.slope = 0.2f;
  if (v == 3) {
    e.scale = scale.data(), e.residual = residual.data(), e.has_act = true;
    e.act = Act::LeakyRelu, e.slope = 0.2f, e.post_scale = post_scale.data(), e.post_shift = post_shift.data();
  }
  std::vector<float> ref(ny), got(ny, std::numeric_limits<float>::quiet_NaN());
  cpu::conv2d_bwd_data_ref(p, x.data(), w.data(), ref.data());
  cpu::epilogue_ref(e, p.N, p.C, p.H * p.W, ref.data());
  run(p, x.data(), w.data(), e, got.data());
  char what[200];
  std::snprintf(what, sizeof what,
                "%s N%d %d->%d %dx%d k%dx%d s%d,%d p%d,%d op%d epi%d %dt", cpu::cpu_kernels_name(cpu::cpu_kernels()),
                c.n, c.cin, c.cout, c.hi, c.wi, c.kh, c.kw, c.sh, c.sw, c.ph, c.pw, c.op, v, threads);
  const Diff df = diff(got.data(), ref.data(), ny);
  CAPTURE(what);
  CHECK(report(what, df, tolerance(2e-6, double(p.K) * p.R * p.S, df)));
  if (out) *out = got;
  return df.max_abs;
}

void bwd_data_as_run(const Conv2dParams& p, const float* x, const float* w, const cpu::Epilogue& e, float* y) {
  REQUIRE(e.identity());
  cpu::conv2d_bwd_data(p, x, w, y);
}

}  // namespace

TEST_CASE("conv_transpose2d_fwd_phases matches conv2d_bwd_data_ref + epilogue_ref at awkward shapes") {
  std::vector<Case> cases;
  // 4x4 stride 2 pad 1 (the decoders'), every channel count of the brief
  // either side, odd sizes, output_padding 0 and 1.
  for (int ch : {1, 3, 17, 33})
    for (int op : {0, 1}) {
      cases.push_back({1, ch, 3, 7, 13, 4, 4, 2, 2, 1, 1, op});
      cases.push_back({1, 5, ch, 9, 6, 4, 4, 2, 2, 1, 1, op});
    }
  // Channel blocks: 2, 6, 7, 12 and 13 outputs on the 12-channel tile (phase
  // rows of <= 32) and on the 6-channel one (70-71 phase columns: 2 segments of 35-36).
  for (int cout : {2, 6, 7, 12, 13}) {
    cases.push_back({1, 4, cout, 5, 21, 4, 4, 2, 2, 1, 1, 0});
    cases.push_back({1, 4, cout, 3, 70, 4, 4, 2, 2, 1, 1, cout % 2});
  }
  const Case more[] = {
      {1, 3, 2, 1, 1, 4, 4, 2, 2, 1, 1, 0},     // 1x1 input
      {1, 1, 1, 1, 1, 4, 4, 2, 2, 1, 1, 1},     // 1x1, 1 channel, output_padding
      {1, 300, 5, 6, 7, 4, 4, 2, 2, 1, 1, 0},   // 300 input channels: chunks of 256 + 44
      {1, 8, 19, 33, 33, 4, 4, 2, 2, 1, 1, 0},  // 33 wide, 19 out
      {2, 6, 9, 11, 17, 4, 4, 2, 2, 1, 1, 1},   // batch 2: splits over 2 threads
      {3, 7, 5, 9, 10, 4, 4, 2, 2, 1, 1, 0},    // batch 3: does not
      {1, 5, 7, 8, 9, 4, 4, 2, 2, 0, 0, 0},     // pad 0
      {1, 5, 7, 8, 9, 4, 4, 2, 2, 2, 2, 1},     // pad 2
      {1, 6, 5, 7, 8, 6, 6, 3, 3, 1, 1, 2},     // 6x6 stride 3 (9 phases), output_padding 2
      {1, 6, 5, 7, 8, 3, 3, 2, 2, 1, 1, 1},     // 3x3 stride 2: phases of 2 and 1 taps
      {1, 6, 5, 7, 8, 1, 1, 2, 2, 0, 0, 1},     // 1x1 stride 2: phases no tap reaches
      {1, 6, 5, 7, 8, 3, 3, 1, 1, 1, 1, 0},     // stride 1: one phase, the flipped convolution
      {1, 6, 5, 7, 8, 5, 2, 3, 1, 2, 0, 0},     // 5x2, stride 3 in rows only
      {1, 4, 9, 6, 45, 4, 4, 2, 2, 1, 1, 0},    // 45 phase columns (V = 4 ending mid-vector)
  };
  cases.insert(cases.end(), std::begin(more), std::end(more));
  for_each_kernel_set([&] {
    if (!phases_active()) {
      std::printf("  %s: no phase-wise transposed convolution (GEMM + col2im only); skipped\n",
                  cpu::cpu_kernels_name(cpu::cpu_kernels()));
      return;
    }
    at_thread_counts([&](int threads) {
      double worst = 0;
      for (const Case& c : cases)
        for (int v = 0; v < 5; ++v) worst = std::max(worst, check(c, v, threads, cpu::conv_transpose2d_fwd_phases));
      std::printf("  %s conv_transpose2d_fwd_phases vs reference, %zu shapes x 5 epilogues: worst abs error %.3g "
                  "(%d threads)\n",
                  cpu::cpu_kernels_name(cpu::cpu_kernels()), cases.size(), worst, threads);
    });
  });
}

TEST_CASE("conv_transpose2d_fwd_fused and conv2d_bwd_data take the phases for the models' deconvs") {
  // Regression compact's 32 -> 16 at 128x128 (smaller here), the PatchGAN's
  // 4x4 stride 2 backward-data, a 3x3 stride 1 (not handled by phases: GEMM).
  const Case deconv = {1, 32, 16, 24, 40, 4, 4, 2, 2, 1, 1, 0};
  const Case disc = {2, 64, 32, 32, 32, 4, 4, 2, 2, 1, 1, 0};
  const Case narrow = {1, 64, 32, 16, 16, 4, 4, 2, 2, 1, 1, 0};  // 16 wide: the GEMM's
  const Case other = {1, 16, 16, 12, 12, 3, 3, 1, 1, 1, 1, 0};
  const Case wide = {1, 512, 256, 3, 5, 4, 4, 2, 2, 1, 1, 0};  // 512 x 256 channels: the GEMM's
  for_each_kernel_set([&] {
    const bool on = phases_active();
    CHECK(cpu::conv_transpose2d_phases_pays(params_of(deconv)) == on);
    CHECK(cpu::conv_transpose2d_phases_pays(params_of(disc)) == on);
    CHECK_FALSE(cpu::conv_transpose2d_phases_pays(params_of(other)));
    CHECK_FALSE(cpu::conv_transpose2d_phases_pays(params_of(wide)));
    CHECK_FALSE(cpu::conv_transpose2d_phases_pays(params_of(narrow)));
    at_thread_counts([&](int threads) {
      for (int v = 0; v < 4; ++v) check(deconv, v, threads, cpu::conv_transpose2d_fwd_fused);
      check(other, 2, threads, cpu::conv_transpose2d_fwd_fused);
      check(wide, 2, threads, cpu::conv_transpose2d_fwd_fused);
      check(narrow, 3, threads, cpu::conv_transpose2d_fwd_fused);
      check(disc, 0, threads, bwd_data_as_run);
      check(deconv, 0, threads, bwd_data_as_run);
    });
  });
}

TEST_CASE("conv_transpose2d_fwd_phases gives the same bits at 1 and 2 threads") {
  if (!phases_active()) return;
  const Case cases[] = {
      {1, 32, 16, 40, 40, 4, 4, 2, 2, 1, 1, 0},  // batch 1: bands of phase rows
      {1, 64, 32, 3, 50, 4, 4, 2, 2, 1, 1, 1},   // few rows: channel groups as well
      {2, 16, 8, 20, 20, 4, 4, 2, 2, 1, 1, 0},   // batch split
  };
  for (const Case& c : cases) {
    std::vector<float> one, two;
    const int saved = omp_get_max_threads();
    omp_set_num_threads(1);
    check(c, 2, 1, cpu::conv_transpose2d_fwd_phases, &one);
    omp_set_num_threads(std::max(2, saved));
    check(c, 2, 2, cpu::conv_transpose2d_fwd_phases, &two);
    omp_set_num_threads(saved);
    REQUIRE(one.size() == two.size());
    CHECK(std::memcmp(one.data(), two.data(), sizeof(float) * one.size()) == 0);
  }
}
