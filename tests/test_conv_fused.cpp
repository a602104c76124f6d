// test_conv_fused.cpp — the CPU inference fusions against their references.
//
// 1. maxpool2d_fwd (pool/cpu.cpp) against maxpool2d_fwd_ref: values and argmax
//    exactly, with ties, -inf and NaN in the input, with and without argmax.
// 2. epilogue_strip (epilogue/cpu.cpp) against epilogue_ref, every combination of
//    terms and activation, on row and column sub-ranges.
// 3. conv2d_fwd_fused and conv_transpose2d_fwd_fused against the reference
//    convolution followed by epilogue_ref, at awkward shapes (batch 1 and 3,
//    odd sizes, stride 2, dilation 2 and 4, 1x1, a Winograd-sized layer), on
//    every kernel set, at 1 thread and at all threads.
// 4. ops::conv2d_fused / conv_transpose2d_fused (folded batch norms) against
//    the composed ops, and each model's fused eval forward against its
//    composed one (autograd on: the ops compose), with random batch-norm
//    statistics so that the folding is exercised.
#include <omp.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "doctest/doctest.h"
#include "engine/autograd.h"
#include "engine/nn.h"
#include "engine/ops.h"
#include "engine/random.h"
#include "kernel_check.h"
#include "kernel_sets.h"
#include "kernels/kernels.h"
#include "models/classification.h"
#include "models/gan.h"
#include "models/regression.h"

using namespace tinct;

namespace tinct::cpu {  // conv/cpu.cpp: the im2col + GEMM forward alone, bias only
void conv2d_fwd_im2col_for_bench(const Conv2dParams& p, const float* x, const float* w, const float* b, float* y);
}

namespace {

// ---------------------------------------------------------------------------
// 1. max pooling

TEST_CASE("fast maxpool2d_fwd equals the reference exactly (ties, -inf, NaN, padding)") {
  struct Case { int N, C, H, W, k, s, pad; };
  const Case cases[] = {{1, 3, 7, 9, 3, 2, 1}, {3, 2, 8, 8, 2, 2, 0},  {2, 5, 13, 6, 3, 1, 1},
                        {1, 1, 5, 5, 4, 3, 2}, {1, 4, 33, 65, 3, 2, 1}, {2, 3, 1, 7, 1, 1, 0},
                        {1, 2, 6, 11, 5, 2, 2}};
  at_thread_counts([&](int threads) {
    for (const Case& c : cases) {
      Pool2dParams p;
      p.N = c.N, p.C = c.C, p.H = c.H, p.W = c.W, p.kh = p.kw = c.k, p.stride_h = p.stride_w = c.s;
      p.pad_h = p.pad_w = c.pad;
      REQUIRE(p.finalize());
      const size_t nx = size_t(p.N) * p.C * p.H * p.W, ny = size_t(p.N) * p.C * p.P * p.Q;
      // Few distinct values, so ties are everywhere; some -inf and NaN.
      std::vector<float> x = kcheck::random_vec(nx, 7 + c.H);
      for (size_t i = 0; i < nx; ++i) {
        x[i] = std::round(x[i] * 3.0f);
        if (i % 37 == 5) x[i] = -std::numeric_limits<float>::infinity();
        if (i % 53 == 11) x[i] = std::numeric_limits<float>::quiet_NaN();
      }
      std::vector<float> y_ref(ny), y(ny, 123.f), y_noidx(ny, 456.f);
      std::vector<int32_t> a_ref(ny), a(ny, 99);
      cpu::maxpool2d_fwd_ref(p, x.data(), y_ref.data(), a_ref.data());
      cpu::maxpool2d_fwd(p, x.data(), y.data(), a.data());
      cpu::maxpool2d_fwd(p, x.data(), y_noidx.data(), nullptr);
      size_t bad = 0, first_bad = ny;
      for (size_t i = 0; i < ny; ++i) {
        const bool same = (std::isnan(y_ref[i]) ? std::isnan(y[i]) && std::isnan(y_noidx[i])
                                                : y[i] == y_ref[i] && y_noidx[i] == y_ref[i]) &&
                          a[i] == a_ref[i];
        if (!same && bad++ == 0) first_bad = i;
      }
      std::printf("  maxpool N%d C%d %dx%d k%d s%d p%d (%d threads): %zu of %zu outputs differ%s\n", c.N, c.C,
                  c.H, c.W, c.k, c.s, c.pad, threads, bad, ny, bad ? " (FAIL)" : "");
      CAPTURE(first_bad);
      CHECK(bad == 0);
    }
  });
}

// ---------------------------------------------------------------------------
// 2. the epilogue

struct EpilogueData {
  std::vector<float> scale, shift, residual, post_scale, post_shift;
};

cpu::Epilogue make_epilogue(int variant, int N, int K, int HW, EpilogueData& d) {
  d.scale = kcheck::random_vec(K, 11, -2.f, 2.f);
  d.shift = kcheck::random_vec(K, 12);
  d.residual = kcheck::random_vec(size_t(N) * K * HW, 13);
  d.post_scale = kcheck::random_vec(K, 14, 0.2f, 2.f);
  d.post_shift = kcheck::random_vec(K, 15);
  cpu::Epilogue e;
  if (variant & 1) e.scale = d.scale.data();
  if (variant & 2) e.shift = d.shift.data();
  if (variant & 4) e.residual = d.residual.data();
  if (variant & 8) e.post_scale = d.post_scale.data(), e.post_shift = d.post_shift.data();
  const int act = (variant >> 4) % 5;  // 0: none
  e.has_act = act != 0;
  const Act acts[] = {Act::Relu, Act::Relu, Act::LeakyRelu, Act::Tanh, Act::Sigmoid};
  e.act = acts[act];
  e.slope = 0.2f;
  return e;
}

TEST_CASE("epilogue_strip matches epilogue_ref for every combination of terms") {
  const int N = 2, K = 7, HW = 45;
  double worst = 0;
  int worst_variant = -1;
  for (int variant = 0; variant < 16 * 5; ++variant) {
    EpilogueData d;
    const cpu::Epilogue e = make_epilogue(variant, N, K, HW, d);
    const std::vector<float> y0 = kcheck::random_vec(size_t(N) * K * HW, 21 + variant, -3.f, 3.f);
    std::vector<float> ref = y0, got = y0;
    cpu::epilogue_ref(e, N, K, HW, ref.data());
    // Per image, in three column strips and two row ranges, as the convolutions call it.
    for (int n = 0; n < N; ++n)
      for (int j0 : {0, 16, 37})
        for (int k0 : {0, 3}) {
          const int nj = (j0 == 0 ? 16 : j0 == 16 ? 21 : HW - 37), k1 = k0 == 0 ? 3 : K;
          cpu::epilogue_strip(e, n, K, HW, k0, k1, j0, nj, got.data() + size_t(n) * K * HW);
        }
    const kcheck::Diff df = kcheck::diff(got.data(), ref.data(), got.size());
    if (df.max_abs > worst) worst = df.max_abs, worst_variant = variant;
    CAPTURE(variant);
    CHECK(df.max_abs <= 1e-6 * (1 + df.max_ref));
  }
  std::printf("  epilogue_strip vs epilogue_ref, 80 combinations: worst abs error %.3g (variant %d)\n", worst,
              worst_variant);
}

// ---------------------------------------------------------------------------
// 3. fused convolutions against reference convolution + reference epilogue

struct ConvCase {
  int N, C, H, W, K, R, stride, pad, dil;
};

Conv2dParams params_of(const ConvCase& c) {
  Conv2dParams p;
  p.N = c.N, p.C = c.C, p.H = c.H, p.W = c.W, p.K = c.K, p.R = p.S = c.R;
  p.stride_h = p.stride_w = c.stride, p.pad_h = p.pad_w = c.pad, p.dil_h = p.dil_w = c.dil;
  p.finalize();
  return p;
}

TEST_CASE("conv2d_fwd_fused and conv_transpose2d_fwd_fused match reference + epilogue_ref") {
  const ConvCase cases[] = {
      {1, 3, 17, 13, 5, 3, 1, 1, 1}, {3, 4, 9, 11, 6, 3, 2, 1, 1}, {2, 5, 12, 10, 7, 3, 1, 2, 2},
      {1, 6, 21, 19, 5, 3, 1, 4, 4}, {3, 7, 8, 8, 9, 1, 1, 0, 1},  {1, 2, 16, 16, 3, 4, 2, 1, 1},
      {1, 1, 30, 22, 8, 7, 2, 3, 1},
  };
  const int variants[] = {2, 2 + 16, 1 + 2 + 16, 1 + 2 + 4 + 16, 1 + 2 + 8 + 32, 2 + 48, 1 + 2 + 4 + 8 + 64, 8 + 16};
  for_each_kernel_set([&] {
    at_thread_counts([&](int threads) {
      double worst_fwd = 0, worst_t = 0;
      for (const ConvCase& c : cases) {
        const Conv2dParams p = params_of(c);
        const size_t nx = size_t(p.N) * p.C * p.H * p.W, nw = size_t(p.K) * p.C * p.R * p.S,
                     ny = size_t(p.N) * p.K * p.P * p.Q;
        const std::vector<float> x = kcheck::random_vec(nx, 31), w = kcheck::random_vec(nw, 32);
        const std::vector<float> dy = kcheck::random_vec(ny, 33);
        for (int v : variants) {
          char what[96];
          // Forward: y[N,K,P,Q].
          EpilogueData d;
          cpu::Epilogue e = make_epilogue(v, p.N, p.K, p.P * p.Q, d);
          std::vector<float> ref(ny), got(ny, std::numeric_limits<float>::quiet_NaN());
          cpu::conv2d_fwd_ref(p, x.data(), w.data(), nullptr, ref.data());
          cpu::epilogue_ref(e, p.N, p.K, p.P * p.Q, ref.data());
          cpu::conv2d_fwd_fused(p, x.data(), w.data(), e, got.data());
          kcheck::Diff df = kcheck::diff(got.data(), ref.data(), ny);
          std::snprintf(what, sizeof what, "fwd N%d C%d %dx%d K%d %dx%d s%d p%d d%d v%d t%d", c.N, c.C, c.H, c.W,
                        c.K, c.R, c.R, c.stride, c.pad, c.dil, v, threads);
          CAPTURE(what);
          CHECK(kcheck::report(what, df, kcheck::tolerance(2e-6, double(p.C) * p.R * p.S, df)));
          worst_fwd = std::max(worst_fwd, df.max_abs);
          // Transposed: the conv2d_bwd_data of p, x[N,C,H,W] out of dy[N,K,P,Q].
          EpilogueData dt;
          e = make_epilogue(v, p.N, p.C, p.H * p.W, dt);
          std::vector<float> tref(nx), tgot(nx, std::numeric_limits<float>::quiet_NaN());
          cpu::conv2d_bwd_data_ref(p, dy.data(), w.data(), tref.data());
          cpu::epilogue_ref(e, p.N, p.C, p.H * p.W, tref.data());
          cpu::conv_transpose2d_fwd_fused(p, dy.data(), w.data(), e, tgot.data());
          df = kcheck::diff(tgot.data(), tref.data(), nx);
          what[0] = 'T';  // "Twd": the transposed forward
          CHECK(kcheck::report(what, df, kcheck::tolerance(2e-6, double(p.K) * p.R * p.S, df)));
          worst_t = std::max(worst_t, df.max_abs);
        }
      }
      std::printf("  worst abs error: fused conv %.3g, fused transposed conv %.3g (%d threads)\n", worst_fwd,
                  worst_t, threads);
    });
  });
}

TEST_CASE("batch-1 threading: forward strips and transposed bands match the reference") {
  // Large enough for the shared paths of conv/cpu.cpp at 2+ threads: the
  // forward's strips split over the threads, the transposed forward's bands
  // of dY rows (even bands, then odd) whose col2im may not overlap.
  const ConvCase cases[] = {{1, 32, 128, 128, 16, 4, 2, 1, 1},  // a decoder's 4x4/2 deconv, 4 bands
                            {1, 64, 100, 40, 8, 3, 1, 2, 2},    // dilation 2: taller bands
                            {3, 5, 37, 45, 6, 3, 2, 1, 1}};     // batch 3 on 2 threads: strips per image
  at_thread_counts([&](int threads) {
    for (const ConvCase& c : cases) {
      const Conv2dParams p = params_of(c);
      const size_t nx = size_t(p.N) * p.C * p.H * p.W, nw = size_t(p.K) * p.C * p.R * p.S,
                   ny = size_t(p.N) * p.K * p.P * p.Q;
      const std::vector<float> x = kcheck::random_vec(nx, 34), w = kcheck::random_vec(nw, 35);
      const std::vector<float> dy = kcheck::random_vec(ny, 36);
      char what[96];
      std::snprintf(what, sizeof what, "N%d C%d %dx%d K%d %dx%d s%d p%d d%d t%d", c.N, c.C, c.H, c.W, c.K, c.R,
                    c.R, c.stride, c.pad, c.dil, threads);
      CAPTURE(what);
      EpilogueData d;
      cpu::Epilogue e = make_epilogue(1 + 2 + 16, p.N, p.K, p.P * p.Q, d);
      std::vector<float> ref(ny), got(ny);
      cpu::conv2d_fwd_ref(p, x.data(), w.data(), nullptr, ref.data());
      cpu::epilogue_ref(e, p.N, p.K, p.P * p.Q, ref.data());
      cpu::conv2d_fwd_fused(p, x.data(), w.data(), e, got.data());
      kcheck::Diff df = kcheck::diff(got.data(), ref.data(), ny);
      std::string label = std::string("fwd ") + what;
      CHECK(kcheck::report(label.c_str(), df, kcheck::tolerance(2e-6, double(p.C) * p.R * p.S, df)));
      EpilogueData dt;
      e = make_epilogue(1 + 2 + 8 + 16, p.N, p.C, p.H * p.W, dt);
      std::vector<float> tref(nx), tgot(nx, std::numeric_limits<float>::quiet_NaN());
      cpu::conv2d_bwd_data_ref(p, dy.data(), w.data(), tref.data());
      cpu::epilogue_ref(e, p.N, p.C, p.H * p.W, tref.data());
      cpu::conv_transpose2d_fwd_fused(p, dy.data(), w.data(), e, tgot.data());
      df = kcheck::diff(tgot.data(), tref.data(), nx);
      label = std::string("transposed fwd ") + what;
      CHECK(kcheck::report(label.c_str(), df, kcheck::tolerance(2e-6, double(p.K) * p.R * p.S, df)));
      std::vector<float> plain(nx, std::numeric_limits<float>::quiet_NaN());  // overwrites, no epilogue
      cpu::conv2d_bwd_data_ref(p, dy.data(), w.data(), tref.data());
      cpu::conv2d_bwd_data(p, dy.data(), w.data(), plain.data());
      df = kcheck::diff(plain.data(), tref.data(), nx);
      label = std::string("bwd_data ") + what;
      CHECK(kcheck::report(label.c_str(), df, kcheck::tolerance(2e-6, double(p.K) * p.R * p.S, df)));
    }
  });
}

TEST_CASE("conv2d_fwd_fused on a layer the Winograd path takes") {
  Conv2dParams p;
  p.N = 1, p.C = 256, p.H = p.W = 64, p.K = 256, p.R = p.S = 3, p.pad_h = p.pad_w = 1;
  p.finalize();
  if (!cpu::conv2d_winograd_pays(p)) {
    std::printf("  Winograd does not take 256x64x64 here (TINCT_CONV_WINOGRAD=0?): skipped\n");
    return;
  }
  const size_t nx = size_t(p.C) * p.H * p.W, ny = size_t(p.K) * p.P * p.Q;
  const std::vector<float> x = kcheck::random_vec(nx, 41), w = kcheck::random_vec(size_t(p.K) * p.C * 9, 42, -0.05f, 0.05f);
  for (int v : {2, 1 + 2 + 4 + 16 + 8}) {
    EpilogueData d;
    const cpu::Epilogue e = make_epilogue(v, 1, p.K, p.P * p.Q, d);
    std::vector<float> ref(ny), got(ny);
    // The im2col path (checked against conv2d_fwd_ref by test_conv_fast)
    // stands in for the reference: the naive loops take seconds here.
    cpu::conv2d_fwd_im2col_for_bench(p, x.data(), w.data(), nullptr, ref.data());
    cpu::epilogue_ref(e, 1, p.K, p.P * p.Q, ref.data());
    cpu::conv2d_fwd_fused(p, x.data(), w.data(), e, got.data());
    const kcheck::Diff df = kcheck::diff(got.data(), ref.data(), ny);
    char what[64];
    std::snprintf(what, sizeof what, "winograd 256x64x64 3x3 variant %d", v);
    CHECK(kcheck::report(what, df, kcheck::tolerance(2e-5, 256.0 * 9, df)));
  }
}

// ---------------------------------------------------------------------------
// 4. the ops and the models

Tensor random_tensor(const Shape& s, uint64_t seed, float lo = -1.f, float hi = 1.f) {
  Rng rng(seed);
  return rand_uniform(s, rng, lo, hi);
}

ops::EvalBatchNorm random_bn(int C, uint64_t seed) {
  return {random_tensor({C}, seed, 0.5f, 1.5f), random_tensor({C}, seed + 1), random_tensor({C}, seed + 2),
          random_tensor({C}, seed + 3, 0.3f, 2.f), 1e-5f};
}

void expect_close(const char* what, const Tensor& got, const Tensor& ref, double rtol) {
  REQUIRE(got.shape() == ref.shape());
  const std::vector<float> g = got.to_vector(), r = ref.to_vector();
  const kcheck::Diff df = kcheck::diff(g.data(), r.data(), g.size());
  CHECK(kcheck::report(what, df, rtol * (1 + df.max_ref)));
}

TEST_CASE("ops::conv2d_fused folds batch norms: equal to the composed ops") {
  const Tensor x = random_tensor({3, 5, 11, 9}, 51), w = random_tensor({6, 5, 3, 3}, 52), b = random_tensor({6}, 53);
  const Tensor wt = random_tensor({5, 4, 4, 4}, 54), bt = random_tensor({4}, 55);
  ops::ConvFusion f;
  f.bn = random_bn(6, 60);
  f.residual = random_tensor({3, 6, 6, 5}, 61);
  f.has_act = true;
  f.act = Act::LeakyRelu;
  f.slope = 0.2f;
  f.post_bn = random_bn(6, 70);
  ops::ConvFusion ft;
  ft.bn = random_bn(4, 80);
  ft.has_act = true;
  ft.post_bn = random_bn(4, 90);
  // Composed: the same call with autograd wanting x's gradient.
  Tensor xg = x.detach();
  xg.requires_grad_(true);
  const Tensor composed = ops::conv2d_fused(xg, w, b, 2, 1, 1, f);
  const Tensor composed_t = ops::conv_transpose2d_fused(xg, wt, bt, 2, 1, 0, 1, ft);
  Tensor fused, fused_t;
  {
    NoGrad ng;
    fused = ops::conv2d_fused(x, w, b, 2, 1, 1, f);
    fused_t = ops::conv_transpose2d_fused(x, wt, bt, 2, 1, 0, 1, ft);
  }
  expect_close("conv2d_fused vs composed", fused, composed, 1e-5);
  expect_close("conv_transpose2d_fused vs composed", fused_t, composed_t, 1e-5);
  // A residual of the wrong shape is refused on both paths.
  ops::ConvFusion bad;
  bad.residual = random_tensor({3, 6, 5, 5}, 62);
  NoGrad ng;
  CHECK_THROWS_AS(ops::conv2d_fused(x, w, b, 2, 1, 1, bad), std::invalid_argument);
}

// Random values in every batch-norm parameter and statistic and every bias,
// so that folding them is tested (fresh ones are 0 and 1).
void randomize_norms(nn::Module& m, uint64_t seed) {
  std::map<std::string, Tensor> sd = m.state_dict(), out;
  for (auto& [name, t] : sd) {
    if (t.dim() != 1) continue;
    const bool var = name.size() > 11 && name.compare(name.size() - 11, 11, "running_var") == 0;
    out[name] = var ? random_tensor(t.shape(), seed++, 0.3f, 2.f) : random_tensor(t.shape(), seed++, -0.5f, 0.5f);
  }
  m.load_state_dict(out, false);
}

template <class Net>
void check_model(const char* what, Net& net, const Shape& in_shape) {
  randomize_norms(net, 100);
  net.eval();
  const Tensor x = random_tensor(in_shape, 7);
  Tensor xg = x.detach();
  xg.requires_grad_(true);
  const Tensor composed = net.forward(xg);
  Tensor fused;
  {
    NoGrad ng;
    fused = net.forward(x);
  }
  expect_close(what, fused, composed, 2e-5);
}

TEST_CASE("every model's fused eval forward equals its composed forward") {
  Rng rng(3);
  models::RegressionNet reg(models::RegressionConfig::preset("compact"), rng);
  check_model("regression compact 2x1x48x40", reg, {2, 1, 48, 40});
  models::ClassificationNet cls(models::ClassificationConfig::preset("compact", 313), rng);
  check_model("classification compact 1x1x40x48", cls, {1, 1, 40, 48});
  models::ClassificationNet cls_full(models::ClassificationConfig::preset("full", 313), rng);  // tied convs
  check_model("classification full 1x1x32x32", cls_full, {1, 1, 32, 32});
  models::Generator gen(32, rng);
  check_model("gan generator compact 1x1x64x96", gen, {1, 1, 64, 96});
  models::Discriminator disc(32, rng);
  check_model("gan discriminator compact 2x3x40x40", disc, {2, 3, 40, 40});
}

}  // namespace
