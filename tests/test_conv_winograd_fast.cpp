// test_conv_winograd_fast.cpp — the fast CPU Winograd forward
// (kernels/conv/cpu_winograd.cpp) against the direct reference convolution
// at awkward shapes (odd sizes, widths not multiples of 4, 1x1 and 5x3
// images, pad 0/1/2, dilation 2 and 4, channels off the GEMM tiles, batch 1
// and 3, tile blocks that span images), for every CPU kernel set and at 1 and
// all threads. Tolerance as tests/test_conv_winograd.cpp. The second case
// checks the fused form (conv2d_fwd_winograd_fused: batch norm, residual,
// ReLU / leaky / tanh, post scale) against conv2d_fwd_ref + epilogue_ref,
// with widths that put groups of 16 tiles across the GEMM's column panels.
#include <omp.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "conv_fused_check.h"
#include "doctest/doctest.h"
#include "engine/ops.h"
#include "kernel_check.h"
#include "kernel_sets.h"
#include "kernels/conv/cpu_winograd.h"
#include "kernels/kernels.h"
#include "winograd_case.h"

using namespace tinct;

using winograd_case::Case;
using winograd_case::params_of;

TEST_CASE("fast CPU Winograd forward matches the direct convolution") {
  const Case cases[] = {
      {1, 1, 1, 1, 1, 1, 1, true},      {3, 3, 5, 3, 5, 1, 1, true},     {1, 7, 13, 11, 5, 0, 0, false},
      {3, 17, 9, 14, 19, 2, 2, true},   {1, 4, 1, 9, 3, 1, 1, false},    {1, 6, 7, 3, 2, 1, 0, true},
      {3, 33, 23, 17, 29, 1, 1, true},  {1, 70, 31, 30, 66, 1, 1, false},
      {3, 65, 12, 10, 67, 1, 1, true},  // > one block of tiles, blocks spanning images
      {3, 5, 15, 13, 6, 2, 2, true, 2, 2},  {1, 3, 17, 9, 4, 4, 0, false, 4, 1},
      {1, 9, 19, 21, 10, 4, 4, true, 4, 4}, {3, 64, 11, 13, 64, 2, 2, false, 2, 2},
      {1, 17, 70, 90, 3, 1, 1, true},       // tile rows of 23 tiles: groups of 16 + 7 across panels
      {2, 3, 133, 67, 17, 2, 2, true, 2, 1}, {1, 1, 150, 37, 1, 1, 1, false},
  };
  const int saved = omp_get_max_threads();
  for_each_kernel_set([&] {
    for (int threads : {1, saved}) {
      omp_set_num_threads(threads);
      uint32_t seed = 5;
      double worst = 0;
      std::string worst_at;
      for (const Case& c : cases) {
        const Conv2dParams p = params_of(c);
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

TEST_CASE("fast CPU Winograd forward with a fused epilogue matches conv + epilogue_ref") {
  struct FCase {
    Case c;
    bool scale, residual, act, post;
    Act a;
  };
  const FCase cases[] = {
      {{1, 17, 66, 71, 19, 1, 1, true}, true, true, true, false, Act::Relu},
      {{2, 3, 37, 29, 17, 2, 2, false, 2, 2}, true, false, true, true, Act::LeakyRelu},
      {{1, 1, 9, 130, 3, 4, 4, true, 4, 4}, false, true, false, false, Act::Relu},
      {{1, 5, 23, 19, 7, 1, 1, true}, true, true, true, true, Act::Tanh},
      {{3, 33, 17, 35, 40, 1, 1, true}, false, false, true, false, Act::Relu},
  };
  const int saved = omp_get_max_threads();
  for_each_kernel_set([&] {
    for (int threads : {1, std::max(2, saved)}) {
      omp_set_num_threads(threads);
      uint32_t seed = 77;
      double worst = 0;
      std::string worst_at;
      for (const FCase& f : cases) {
        const Case& c = f.c;
        const Conv2dParams p = params_of(c);
        REQUIRE(cpu::conv2d_winograd_supported(p));
        char what[160];
        std::snprintf(what, sizeof what, "%d thr: N%d C%d %dx%d K%d pad %d,%d dil %d,%d act %d -> %dx%d", threads,
                      p.N, p.C, p.H, p.W, p.K, p.pad_h, p.pad_w, p.dil_h, p.dil_w, f.act ? (int)f.a : -1, p.P, p.Q);
        // the scale and post scale (|.| < 1) only shrink Winograd's error
        const kcheck::EpilogueParts parts{f.scale, c.bias, f.residual, f.act, f.post, f.a};
        const double d = kcheck::check_conv_epilogue(p, parts, seed, 5e-6, 9.0 * p.C,
                                                     std::string("wino fused ") + what,
                                                     cpu::conv2d_fwd_winograd_fused);
        if (d > worst) worst = d, worst_at = what;
      }
      std::printf("  worst abs error %.3g at %s\n", worst, worst_at.c_str());
    }
  });
  omp_set_num_threads(saved);
}

TEST_CASE("CPU Winograd backward-data (flipped filter, forward conv of dy) matches conv2d_bwd_data_ref") {
  const Case cases[] = {
      {1, 17, 66, 71, 19, 1, 1, false},        {2, 3, 37, 29, 17, 2, 2, false, 2, 2},
      {1, 1, 9, 130, 3, 4, 4, false, 4, 4},     {3, 33, 17, 35, 40, 0, 0, false},
      {1, 16, 23, 19, 1, 2, 2, false},          {1, 5, 31, 20, 7, 4, 2, false, 2, 1},
  };
  const int saved = omp_get_max_threads();
  for_each_kernel_set([&] {
    for (int threads : {1, std::max(2, saved)}) {
      omp_set_num_threads(threads);
      uint32_t seed = 91;
      double worst = 0;
      std::string worst_at;
      for (const Case& c : cases) {
        const Conv2dParams p = params_of(c);
        REQUIRE(cpu::conv2d_bwd_data_winograd_supported(p));
        const auto dy = kcheck::random_vec(size_t(p.N) * p.K * p.P * p.Q, seed++);
        const auto w = kcheck::random_vec(size_t(p.K) * p.C * 9, seed++);
        std::vector<float> ref(size_t(p.N) * p.C * p.H * p.W), got(ref.size(), -7.0f);
        cpu::conv2d_bwd_data_ref(p, dy.data(), w.data(), ref.data());
        cpu::conv2d_bwd_data_winograd(p, dy.data(), w.data(), got.data());
        char what[140];
        std::snprintf(what, sizeof what, "%d thr: N%d C%d %dx%d K%d pad %d,%d dil %d,%d", threads, p.N, p.C, p.H,
                      p.W, p.K, p.pad_h, p.pad_w, p.dil_h, p.dil_w);
        const kcheck::Diff d = kcheck::diff(got.data(), ref.data(), ref.size());
        CHECK_MESSAGE(kcheck::report((std::string("wino bwd-data ") + what).c_str(), d,
                                     kcheck::tolerance(5e-6, 9.0 * p.K, d)),
                      what);
        if (d.max_abs > worst) worst = d.max_abs, worst_at = what;
      }
      std::printf("  worst abs error %.3g at %s\n", worst, worst_at.c_str());
    }
  });
  omp_set_num_threads(saved);
}

TEST_CASE("Winograd bwd-data support: 3x3 stride 1 with padding d, 2d or 0 only") {
  Conv2dParams p;
  p.N = 1, p.C = 4, p.H = 20, p.W = 20, p.K = 4, p.R = 3, p.S = 3, p.pad_h = p.pad_w = 1;
  REQUIRE(p.finalize());
  CHECK(cpu::conv2d_bwd_data_winograd_supported(p));
  Conv2dParams s2 = p;
  s2.stride_h = s2.stride_w = 2;
  REQUIRE(s2.finalize());
  CHECK_FALSE(cpu::conv2d_bwd_data_winograd_supported(s2));
  Conv2dParams odd = p;
  odd.dil_h = odd.dil_w = 2, odd.pad_h = odd.pad_w = 3;  // padding not a multiple of the dilation
  REQUIRE(odd.finalize());
  CHECK_FALSE(cpu::conv2d_bwd_data_winograd_supported(odd));
}

TEST_CASE("Winograd stays off while a WinogradOffScope(true) is held (tf32 / bf16 runs)") {
  Conv2dParams p;
  p.N = 1, p.C = 64, p.H = 64, p.W = 64, p.K = 64, p.R = 3, p.S = 3, p.pad_h = p.pad_w = 1;
  REQUIRE(p.finalize());
  const bool pays = cpu::conv2d_winograd_pays(p);
  {
    const cpu::WinogradOffScope off(true);
    CHECK_FALSE(cpu::conv2d_winograd_pays(p));
    CHECK_FALSE(cpu::conv2d_bwd_data_winograd_pays(p));
    const cpu::WinogradOffScope inner(false);  // nested: stays off
    CHECK_FALSE(cpu::conv2d_winograd_pays(p));
  }
  CHECK(cpu::conv2d_winograd_pays(p) == pays);
}

TEST_CASE("in a training step (WinogradTrainingScope) Winograd takes the layers from 8 x 8 outputs, whatever the batch") {
  auto layer = [](int N, int HW, int dil) {
    Conv2dParams p;
    p.N = N, p.C = 128, p.H = HW, p.W = HW, p.K = 128, p.R = 3, p.S = 3;
    p.pad_h = p.pad_w = p.dil_h = p.dil_w = dil;
    REQUIRE(p.finalize());
    return p;
  };
  if (cpu::cpu_kernels() != cpu::CpuKernels::Avx512 || std::getenv("TINCT_CONV_WINOGRAD")) {
    // Portable transforms keep the old rule, in training too.
    const cpu::WinogradTrainingScope training(true);
    CHECK_FALSE(cpu::conv2d_winograd_pays(layer(8, 16, 1)));
    return;
  }
  for (int N : {1, 3, 8}) {  // the batch never enters the rule (a data-parallel split changes it)
    CHECK_FALSE(cpu::conv2d_winograd_pays(layer(N, 16, 1)));  // 16 tiles an image: inference keeps im2col
    CHECK(cpu::conv2d_winograd_pays(layer(N, 32, 1)));
    {
      const cpu::WinogradTrainingScope training(true);
      CHECK(cpu::conv2d_winograd_pays(layer(N, 16, 1)));
      CHECK(cpu::conv2d_winograd_pays(layer(N, 16, 2)));  // dilated: 4 phases of 2 x 2 tiles
      CHECK(cpu::conv2d_winograd_pays(layer(N, 8, 1)));   // 4 tiles
      CHECK_FALSE(cpu::conv2d_winograd_pays(layer(N, 4, 1)));  // 1 tile: the filter transform dominates
      CHECK(cpu::conv2d_bwd_data_winograd_pays(layer(N, 16, 1)));
      // dW: 16 x 16 with 128 channels (packed segments), not 8 x 8, not dilated 128 -> 128
      const char* seg = std::getenv("TINCT_WINOGRAD_SEGMENTS");
      CHECK(cpu::conv2d_bwd_filter_winograd_pays(layer(N, 16, 1)) == !(seg && std::string(seg) == "0"));
      CHECK_FALSE(cpu::conv2d_bwd_filter_winograd_pays(layer(N, 8, 1)));
      CHECK_FALSE(cpu::conv2d_bwd_filter_winograd_pays(layer(N, 16, 2)));
      const cpu::WinogradTrainingScope nested(false);  // nested: stays on
      CHECK(cpu::conv2d_winograd_pays(layer(N, 16, 1)));
    }
    CHECK_FALSE(cpu::conv2d_winograd_pays(layer(N, 16, 1)));  // the scope ended
  }
}

TEST_CASE("a conv2d that records gradients takes the training rule: 16 x 16 forward and dx match the reference") {
  // ops::conv2d opens the WinogradTrainingScope for its forward and backward-
  // data; at 16 x 16 with 32 channels that is the Winograd path on avx512
  // (im2col + GEMM elsewhere). Both must agree with the reference kernels.
  Conv2dParams p;
  p.N = 2, p.C = 32, p.H = 16, p.W = 16, p.K = 24, p.R = 3, p.S = 3, p.pad_h = p.pad_w = 1;
  REQUIRE(p.finalize());
  const auto xv = kcheck::random_vec(size_t(p.N) * p.C * p.H * p.W, 5);
  const auto wv = kcheck::random_vec(size_t(p.K) * p.C * 9, 6);
  const auto gv = kcheck::random_vec(size_t(p.N) * p.K * p.P * p.Q, 7);
  Tensor x = Tensor::from_vector({p.N, p.C, p.H, p.W}, xv);
  Tensor w = Tensor::from_vector({p.K, p.C, 3, 3}, wv);
  x.requires_grad_();
  w.requires_grad_();
  Tensor y = ops::conv2d(x, w, Tensor(), 1, 1, 1);
  y.backward(Tensor::from_vector({p.N, p.K, p.P, p.Q}, gv));
  std::vector<float> yref(gv.size()), dxref(xv.size());
  cpu::conv2d_fwd_ref(p, xv.data(), wv.data(), nullptr, yref.data());
  cpu::conv2d_bwd_data_ref(p, gv.data(), wv.data(), dxref.data());
  const auto yv = y.to_vector(), dxv = x.grad().to_vector();
  const kcheck::Diff dy = kcheck::diff(yv.data(), yref.data(), yref.size());
  const kcheck::Diff dx = kcheck::diff(dxv.data(), dxref.data(), dxref.size());
  CHECK(kcheck::report("training conv2d forward, 16x16", dy, kcheck::tolerance(5e-6, 9.0 * p.C, dy)));
  CHECK(kcheck::report("training conv2d dx, 16x16", dx, kcheck::tolerance(5e-6, 9.0 * p.K, dx)));
}

TEST_CASE("fast CPU Winograd forward: the same bits at 1 and 2 threads (batch 1, blocks cut per thread count)") {
  Conv2dParams p;
  p.N = 1, p.C = 24, p.H = 70, p.W = 93, p.K = 20, p.R = 3, p.S = 3, p.pad_h = p.pad_w = 1;
  REQUIRE(p.finalize());
  const auto x = kcheck::random_vec(size_t(p.C) * p.H * p.W, 3);
  const auto w = kcheck::random_vec(size_t(p.K) * p.C * 9, 4);
  const auto b = kcheck::random_vec(size_t(p.K), 5);
  const int saved = omp_get_max_threads();
  for_each_kernel_set([&] {
    std::vector<float> one(size_t(p.K) * p.P * p.Q), two(one.size());
    omp_set_num_threads(1);
    cpu::conv2d_fwd_winograd(p, x.data(), w.data(), b.data(), one.data());
    omp_set_num_threads(2);
    cpu::conv2d_fwd_winograd(p, x.data(), w.data(), b.data(), two.data());
    size_t differ = 0;
    for (size_t i = 0; i < one.size(); ++i) differ += one[i] != two[i];
    std::printf("  1 vs 2 threads: %zu of %zu values differ\n", differ, one.size());
    CHECK(differ == 0);
  });
  omp_set_num_threads(saved);
}

// The fast backward-filter (kernels/conv/cpu_winograd_wgrad.cpp) against the
// direct reference (conv2d_bwd_filter_ref): odd sizes, widths not multiples of
// 4, padding 0/1/2, dilation 2 and 4, C and K off the GEMM tiles (1..70),
// batch 1..3, blocks of tiles spanning images (94 x 71 at 16 + 16 channels:
// 12 blocks of <= 112 tiles). dw accumulates (starts from random values). The sum
// runs over N P Q pixels: tolerance as conv2d_bwd_filter_winograd_ref's test
// (tests/test_conv_winograd.cpp). At 1 and 2 threads the result must be
// bit-for-bit the same (each of the 36 GEMMs sums the blocks in order on one
// thread).
TEST_CASE("fast CPU Winograd backward-filter matches conv2d_bwd_filter_ref, bitwise at 1 and 2 threads") {
  const Case cases[] = {
      {1, 1, 1, 1, 1, 1, 1, false},     {3, 3, 5, 3, 5, 1, 1, false},     {1, 7, 13, 11, 5, 0, 0, false},
      {3, 17, 9, 14, 19, 2, 2, false},  {2, 6, 7, 3, 2, 1, 0, false},     {2, 33, 23, 17, 29, 1, 1, false},
      {1, 70, 21, 30, 66, 1, 1, false}, {3, 16, 94, 71, 16, 1, 1, false},  // 12 blocks, across images
      {2, 5, 15, 13, 6, 2, 2, false, 2, 2}, {1, 9, 19, 21, 10, 4, 4, false, 4, 4},
      {1, 3, 17, 9, 4, 4, 0, false, 4, 1},  {1, 4, 9, 70, 3, 1, 1, false},  // tile rows of 18: groups 16 + 2
      {3, 17, 32, 32, 19, 1, 1, false},     {2, 16, 16, 16, 16, 2, 2, false, 2, 2},  // packed segments (avx512)
      {1, 5, 7, 11, 1, 1, 1, false},  // 2 x 3 tiles
  };
  const int saved = omp_get_max_threads();
  for_each_kernel_set([&] {
    uint32_t seed = 31;
    double worst = 0, worst_rel = 0;
    std::string worst_at;
    for (const Case& c : cases) {
      const Conv2dParams p = params_of(c);
      REQUIRE(cpu::conv2d_winograd_supported(p));
      const auto x = kcheck::random_vec(size_t(p.N) * p.C * p.H * p.W, seed++);
      const auto dy = kcheck::random_vec(size_t(p.N) * p.K * p.P * p.Q, seed++);
      const auto dw0 = kcheck::random_vec(size_t(p.K) * p.C * 9, seed++);
      std::vector<float> ref = dw0, db(size_t(p.K), 0.0f);
      cpu::conv2d_bwd_filter_ref(p, x.data(), dy.data(), ref.data(), db.data());
      std::vector<float> got[2];
      const int counts[2] = {1, std::max(2, saved)};
      for (int i = 0; i < 2; ++i) {
        omp_set_num_threads(counts[i]);
        got[i] = dw0;
        cpu::conv2d_bwd_filter_winograd(p, x.data(), dy.data(), got[i].data());
      }
      omp_set_num_threads(saved);
      char what[140];
      std::snprintf(what, sizeof what, "N%d C%d %dx%d K%d pad %d,%d dil %d,%d -> %dx%d", p.N, p.C, p.H, p.W, p.K,
                    p.pad_h, p.pad_w, p.dil_h, p.dil_w, p.P, p.Q);
      const kcheck::Diff d = kcheck::diff(got[0].data(), ref.data(), ref.size());
      CHECK_MESSAGE(kcheck::report((std::string("wino dW ") + what).c_str(), d,
                                   kcheck::tolerance(5e-6, double(p.N) * p.P * p.Q, d)),
                    what);
      size_t differ = 0;
      for (size_t i = 0; i < ref.size(); ++i) differ += got[0][i] != got[1][i];
      CHECK_MESSAGE(differ == 0, what, ": ", differ, " values differ between 1 and ", counts[1], " threads");
      if (d.max_abs > worst) worst = d.max_abs, worst_at = what;
      worst_rel = std::max(worst_rel, d.max_rel);
    }
    std::printf("  dW: worst abs error %.3g at %s; worst relative error %.3g\n", worst, worst_at.c_str(), worst_rel);
  });
  omp_set_num_threads(saved);
}

TEST_CASE("fast CPU Winograd backward-filter refuses unsupported shapes; a wrong dy fails the check") {
  Conv2dParams p;
  p.N = 1, p.C = 4, p.H = p.W = 9, p.K = 3, p.R = p.S = 3, p.pad_h = p.pad_w = 1, p.stride_h = p.stride_w = 2;
  REQUIRE(p.finalize());
  std::vector<float> x(size_t(p.C) * 81, 1.0f), dy(size_t(p.K) * p.P * p.Q, 1.0f), dw(size_t(p.K) * p.C * 9);
  CHECK_THROWS_AS(cpu::conv2d_bwd_filter_winograd(p, x.data(), dy.data(), dw.data()), std::invalid_argument);
  // One dy value off by 1% stands in for a transform with a wrong constant.
  p.stride_h = p.stride_w = 1;
  REQUIRE(p.finalize());
  const auto xr = kcheck::random_vec(size_t(p.C) * 81, 3);
  auto dyr = kcheck::random_vec(size_t(p.K) * p.P * p.Q, 4);
  std::vector<float> ref(dw.size(), 0.0f), got(dw.size(), 0.0f), db(size_t(p.K), 0.0f);
  cpu::conv2d_bwd_filter_ref(p, xr.data(), dyr.data(), ref.data(), db.data());
  dyr[40] *= 1.01f;
  cpu::conv2d_bwd_filter_winograd(p, xr.data(), dyr.data(), got.data());
  const kcheck::Diff d = kcheck::diff(got.data(), ref.data(), ref.size());
  CHECK_FALSE(d.max_abs <= kcheck::tolerance(5e-6, double(p.N) * p.P * p.Q, d));
}

// The packed groups of the AVX-512 transforms (several segments of tile rows
// in the 16 lanes, kernels/conv/winograd_tiles.h: tile_groups_packed) on small
// maps: tile rows 1, 2, 3, 5 and 10 tiles wide (rows split across groups),
// odd sizes, dilation 2 and 4 (phases of 1-2 tiles a row), batch 1 and 3,
// channels 1, 5, 17, 33, every epilogue (residual, ReLU, leaky, scale, post),
// forward and backward-data. Each against the reference; and bitwise: at 1
// and 2 threads, and with the packed groups on and off (every tile's
// arithmetic is the same whatever lanes it lands in).
TEST_CASE("fast CPU Winograd on small maps (packed segments): reference, 1 vs 2 threads, packed vs not bitwise") {
  struct SCase {
    Case c;
    kcheck::EpilogueParts e;
  };
  const kcheck::EpilogueParts none{false, true, false, false, false, Act::Relu};
  const kcheck::EpilogueParts res_relu{true, true, true, true, false, Act::Relu};
  const kcheck::EpilogueParts leaky{true, false, false, true, true, Act::LeakyRelu};
  const kcheck::EpilogueParts res_leaky{false, true, true, true, true, Act::LeakyRelu};
  const SCase cases[] = {
      {{1, 1, 4, 4, 1, 1, 1, true}, res_relu},          // 1 tile a row
      {{3, 5, 8, 7, 5, 1, 1, true}, leaky},             // 2 tiles a row, 7 wide
      {{1, 17, 11, 12, 17, 1, 1, true}, res_leaky},     // 3
      {{3, 5, 20, 17, 6, 1, 1, true}, none},            // 5, rows split across groups
      {{1, 17, 13, 9, 5, 0, 0, true}, res_relu},        // pad 0: 11 x 7
      {{2, 17, 6, 40, 5, 1, 1, true}, leaky},           // 10 tiles a row
      {{3, 17, 16, 16, 17, 2, 2, true, 2, 2}, res_relu},  // dilation 2: 4 phases of 8 x 8
      {{1, 5, 16, 14, 17, 4, 4, true, 4, 4}, res_leaky},  // dilation 4: 1-tile rows
      {{3, 1, 9, 23, 5, 2, 2, true, 2, 2}, leaky},        // odd, dilation 2
      {{1, 33, 15, 21, 40, 2, 2, true, 2, 1}, none},      // dilation 2 x 1
      {{3, 33, 16, 16, 40, 1, 1, true}, res_relu},        // several blocks
  };
  const int saved = omp_get_max_threads();
  for_each_kernel_set([&] {
    uint32_t seed = 201;
    double worst = 0, worst_bwd = 0;
    std::string worst_at, worst_bwd_at;
    for (const SCase& sc : cases) {
      const Case& c = sc.c;
      const Conv2dParams p = params_of(c);
      REQUIRE(cpu::conv2d_winograd_supported(p));
      char what[160];
      std::snprintf(what, sizeof what, "N%d C%d %dx%d K%d pad %d,%d dil %d,%d -> %dx%d", p.N, p.C, p.H, p.W, p.K,
                    p.pad_h, p.pad_w, p.dil_h, p.dil_w, p.P, p.Q);
      size_t differ_thr = 0, differ_seg = 0;
      auto run = [&](const Conv2dParams& q, const float* x, const float* w, const cpu::Epilogue& e, float* y) {
        const size_t ny = size_t(q.N) * q.K * q.P * q.Q;
        std::vector<float> two(ny, -7.0f), flat(ny, -7.0f);
        omp_set_num_threads(2);
        cpu::conv2d_fwd_winograd_fused(q, x, w, e, two.data());
        cpu::detail::winograd_segments_for_test(0);
        omp_set_num_threads(1);
        cpu::conv2d_fwd_winograd_fused(q, x, w, e, flat.data());
        cpu::detail::winograd_segments_for_test(1);
        cpu::conv2d_fwd_winograd_fused(q, x, w, e, y);  // 1 thread, packed
        cpu::detail::winograd_segments_for_test(-1);
        for (size_t i = 0; i < ny; ++i) differ_thr += y[i] != two[i], differ_seg += y[i] != flat[i];
      };
      const double d = kcheck::check_conv_epilogue(p, sc.e, seed, 5e-6, 9.0 * p.C,
                                                   std::string("wino small fwd ") + what, run);
      CHECK_MESSAGE(differ_thr == 0, what, ": forward, ", differ_thr, " values differ between 1 and 2 threads");
      CHECK_MESSAGE(differ_seg == 0, what, ": forward, ", differ_seg, " values differ packed vs one segment a group");
      if (d > worst) worst = d, worst_at = what;

      // backward-data: the forward of dy with the flipped filter (its own tile rows)
      REQUIRE(cpu::conv2d_bwd_data_winograd_supported(p));
      const auto dy = kcheck::random_vec(size_t(p.N) * p.K * p.P * p.Q, seed++);
      const auto w = kcheck::random_vec(size_t(p.K) * p.C * 9, seed++);
      const size_t nx = size_t(p.N) * p.C * p.H * p.W;
      std::vector<float> ref(nx), got(nx, -7.0f), two(nx, -7.0f), flat(nx, -7.0f);
      cpu::conv2d_bwd_data_ref(p, dy.data(), w.data(), ref.data());
      omp_set_num_threads(1);
      cpu::detail::winograd_segments_for_test(1);
      cpu::conv2d_bwd_data_winograd(p, dy.data(), w.data(), got.data());
      cpu::detail::winograd_segments_for_test(0);
      cpu::conv2d_bwd_data_winograd(p, dy.data(), w.data(), flat.data());
      cpu::detail::winograd_segments_for_test(-1);
      omp_set_num_threads(2);
      cpu::conv2d_bwd_data_winograd(p, dy.data(), w.data(), two.data());
      omp_set_num_threads(saved);
      const kcheck::Diff db = kcheck::diff(got.data(), ref.data(), nx);
      CHECK_MESSAGE(kcheck::report((std::string("wino small bwd-data ") + what).c_str(), db,
                                   kcheck::tolerance(5e-6, 9.0 * p.K, db)),
                    what);
      size_t bt = 0, bs = 0;
      for (size_t i = 0; i < nx; ++i) bt += got[i] != two[i], bs += got[i] != flat[i];
      CHECK_MESSAGE(bt == 0, what, ": bwd-data, ", bt, " values differ between 1 and 2 threads");
      CHECK_MESSAGE(bs == 0, what, ": bwd-data, ", bs, " values differ packed vs one segment a group");
      if (db.max_abs > worst_bwd) worst_bwd = db.max_abs, worst_bwd_at = what;
    }
    std::printf("  small maps: forward worst abs error %.3g at %s; bwd-data %.3g at %s\n", worst, worst_at.c_str(),
                worst_bwd, worst_bwd_at.c_str());
  });
  omp_set_num_threads(saved);
}
