// test_conv_thin.cpp — the thin convolution (kernels/conv/cpu_thin.cpp): its
// forward (with every epilogue variant), backward-data and backward-filter
// against conv/ref.cpp at awkward shapes: K = 1..4, odd sizes, rows shorter
// than a vector, one-pixel outputs, padding 0..3, non-square kernels,
// dilation 2 and 4, one input channel, batches that do and do not split over
// the threads; at 1 and 2 threads, which must give the same bits; on every
// kernel set the processor has. Also that the public entry points take it for
// the PatchGAN's last layer and not for shapes it does not support. The worst
// error is printed.
#include <algorithm>
#include <cstdio>
#include <string>
#include <cstring>
#include <limits>
#include <vector>

#include "doctest/doctest.h"
#include "conv_fused_check.h"
#include "kernel_check.h"
#include "kernel_sets.h"
#include "kernels/kernels.h"

using namespace tinct;

namespace {

using Case = kcheck::ConvCase;
using kcheck::params_of;

std::vector<Case> cases() {
  std::vector<Case> v;
  for (int K = 1; K <= 4; ++K) v.push_back({2, 5, 15, 15, K, 4, 4, 1, 1, 1});  // the PatchGAN's last layer, small
  const Case more[] = {
      {3, 7, 11, 37, 2, 3, 3, 1, 1, 1},  // 3x3, odd sizes, batch of 3
      {1, 1, 33, 70, 2, 3, 3, 1, 1, 1},  // one input channel, one image
      {2, 6, 17, 19, 3, 3, 3, 2, 2, 2},  // dilation 2
      {4, 3, 21, 23, 1, 3, 3, 4, 4, 4},  // dilation 4
      {2, 9, 13, 29, 4, 3, 1, 1, 0, 1},  // 3x1, pad 1,0
      {2, 4, 13, 29, 1, 1, 3, 0, 2, 1},  // 1x3, pad 0,2 (wider than needed)
      {3, 8, 9, 9, 2, 1, 1, 0, 0, 1},    // pointwise
      {1, 3, 5, 6, 4, 5, 5, 0, 0, 1},    // output 1x2
      {2, 5, 4, 3, 3, 2, 4, 3, 1, 1},    // padding larger than the kernel's reach on one side
      {2, 17, 7, 7, 1, 6, 2, 2, 0, 1},   // 6x2, output 4x6
  };
  v.insert(v.end(), std::begin(more), std::end(more));
  return v;
}

std::string name_of(const Case& c, const char* pass, int threads) {
  char s[128];
  std::snprintf(s, sizeof s, "thin %s N%d C%d %dx%d K%d %dx%d pad %d,%d dil %d, %d thr", pass, c.N, c.C, c.H, c.W,
                c.K, c.R, c.S, c.pad_h, c.pad_w, c.dil, threads);
  return s;
}

// Backward-data and backward-filter of one case against the reference;
// returns the worst absolute errors and fills dx / dw (for the thread check).
void check_backward(const Case& c, int threads, double& worst_dx, double& worst_dw, std::vector<float>& dx,
                    std::vector<float>& dw) {
  const Conv2dParams p = params_of(c);
  const size_t nx = (size_t)p.N * p.C * p.H * p.W, nw = (size_t)p.K * p.C * p.R * p.S,
               ny = (size_t)p.N * p.K * p.P * p.Q;
  const auto x = kcheck::random_vec(nx, 7 + p.C), w = kcheck::random_vec(nw, 8 + p.K),
             dy = kcheck::random_vec(ny, 9 + p.P);
  const auto dw0 = kcheck::random_vec(nw, 10), db0 = kcheck::random_vec(p.K, 11);  // dw, db accumulate

  std::vector<float> dx_ref(nx);
  cpu::conv2d_bwd_data_ref(p, dy.data(), w.data(), dx_ref.data());
  dx.assign(nx, std::numeric_limits<float>::quiet_NaN());  // every element must be written
  cpu::conv2d_bwd_data_thin(p, dy.data(), w.data(), dx.data());
  const kcheck::Diff ddx = kcheck::diff(dx.data(), dx_ref.data(), nx);
  const std::string what_dx = name_of(c, "dx", threads);
  CAPTURE(what_dx);
  CHECK(kcheck::report(what_dx.c_str(), ddx, kcheck::tolerance(2e-6, double(p.K) * p.R * p.S, ddx)));
  worst_dx = std::max(worst_dx, ddx.max_abs);

  std::vector<float> dw_ref = dw0, db_ref = db0, db = db0;
  cpu::conv2d_bwd_filter_ref(p, x.data(), dy.data(), dw_ref.data(), db_ref.data());
  dw = dw0;
  cpu::conv2d_bwd_filter_thin(p, x.data(), dy.data(), dw.data(), db.data());
  const kcheck::Diff ddw = kcheck::diff(dw.data(), dw_ref.data(), nw);
  const std::string what_dw = name_of(c, "dw", threads);
  CAPTURE(what_dw);
  CHECK(kcheck::report(what_dw.c_str(), ddw, kcheck::tolerance(2e-6, double(p.N) * p.P * p.Q, ddw)));
  const kcheck::Diff ddb = kcheck::diff(db.data(), db_ref.data(), p.K);
  CHECK(kcheck::report("  its db", ddb, kcheck::tolerance(2e-6, double(p.N) * p.P * p.Q, ddb)));
  worst_dw = std::max({worst_dw, ddw.max_abs, ddb.max_abs});
  dw.insert(dw.end(), db.begin(), db.end());
}

}  // namespace

TEST_CASE("conv2d thin: forward, backward-data and backward-filter match the reference, same bits at 1 and 2 threads") {
  const std::vector<Case> cs = cases();
  for_each_kernel_set([&] {
    std::vector<std::vector<float>> first_y, first_dx, first_dw;  // at 1 thread
    at_thread_counts([&](int threads) {
      double worst_y = 0, worst_dx = 0, worst_dw = 0;
      for (size_t i = 0; i < cs.size(); ++i) {
        const Case& c = cs[i];
        const Conv2dParams p = params_of(c);
        std::vector<float> y;
        for (int v = 0; v < 3; ++v) {
          const std::string what = name_of(c, "y", threads) + " ep " + std::to_string(v);
          worst_y = std::max(worst_y, kcheck::check_conv_fused(p, v, what.c_str(), 41, [&](const Conv2dParams& pp, const float* x, const float* w, const cpu::Epilogue& e, float* out) {
                               cpu::conv2d_fwd_thin(pp, x, w, e, out);
                               if (v == 2) y.assign(out, out + (size_t)p.N * p.K * p.P * p.Q);
                             }));
        }
        std::vector<float> dx, dw;
        check_backward(c, threads, worst_dx, worst_dw, dx, dw);
        if (threads == 1) {
          first_y.push_back(y), first_dx.push_back(dx), first_dw.push_back(dw);
        } else {  // deterministic: each output summed by one thread in a fixed order
          CHECK(std::memcmp(y.data(), first_y[i].data(), y.size() * sizeof(float)) == 0);
          CHECK(std::memcmp(dx.data(), first_dx[i].data(), dx.size() * sizeof(float)) == 0);
          CHECK(std::memcmp(dw.data(), first_dw[i].data(), dw.size() * sizeof(float)) == 0);
        }
      }
      std::printf("  %s thin vs reference, %zu shapes: worst abs error y %.3g, dx %.3g, dw/db %.3g (%d threads)\n",
                  cpu::cpu_kernels_name(cpu::cpu_kernels()), cs.size(), worst_y, worst_dx, worst_dw, threads);
    });
  });
}

TEST_CASE("conv2d entry points take the thin path for the PatchGAN's last layer, with the reference's result") {
  const Case last = {8, 256, 15, 15, 1, 4, 4, 1, 1, 1};  // compact GAN at 128x128
  const Conv2dParams p = params_of(last);
  CHECK(cpu::conv2d_thin_pays(p, cpu::ThinPass::Fwd));
  CHECK(cpu::conv2d_thin_pays(p, cpu::ThinPass::BwdData));
  CHECK(cpu::conv2d_thin_pays(p, cpu::ThinPass::BwdFilter));
  Conv2dParams strided = params_of({1, 4, 16, 16, 1, 4, 4, 1, 1, 1});
  strided.stride_h = strided.stride_w = 2;
  REQUIRE(strided.finalize());
  CHECK_FALSE(cpu::conv2d_thin_supported(strided));                      // stride 2: not supported
  CHECK_FALSE(cpu::conv2d_thin_supported(params_of({1, 4, 9, 9, 5, 3, 3, 1, 1, 1})));  // K > 4
  // 3x3 backward-filter: the generators' 2-channel output layers, not 3-4 channels
  CHECK(cpu::conv2d_thin_pays(params_of({1, 4, 9, 9, 2, 3, 3, 1, 1, 1}), cpu::ThinPass::BwdFilter));
  CHECK_FALSE(cpu::conv2d_thin_pays(params_of({1, 4, 9, 9, 3, 3, 3, 1, 1, 1}), cpu::ThinPass::BwdFilter));
  CHECK_FALSE(cpu::conv2d_thin_pays(params_of({1, 4, 96, 96, 1, 3, 3, 1, 1, 1}), cpu::ThinPass::Fwd));  // large map
  CHECK(cpu::conv2d_thin_pays(params_of({2, 8, 32, 32, 2, 3, 3, 1, 1, 1}), cpu::ThinPass::BwdData));  // K 2

  at_thread_counts([&](int threads) {
    kcheck::check_conv_fused(p, 1, "conv2d_fwd_fused, PatchGAN last layer", 5, cpu::conv2d_fwd_fused);
    double wdx = 0, wdw = 0;
    std::vector<float> dx, dw;
    check_backward(last, threads, wdx, wdw, dx, dw);
    // the public entry points give the same bits as the thin path they chose
    const size_t nx = (size_t)p.N * p.C * p.H * p.W, nw = (size_t)p.K * p.C * p.R * p.S;
    const auto x = kcheck::random_vec(nx, 7 + p.C), w = kcheck::random_vec(nw, 8 + p.K),
               dy = kcheck::random_vec((size_t)p.N * p.P * p.Q, 9 + p.P);
    std::vector<float> dx2(nx), dw2 = kcheck::random_vec(nw, 10), db2 = kcheck::random_vec(1, 11);
    cpu::conv2d_bwd_data(p, dy.data(), w.data(), dx2.data());
    cpu::conv2d_bwd_filter(p, x.data(), dy.data(), dw2.data(), db2.data());
    dw2.push_back(db2[0]);
    CHECK(std::memcmp(dx.data(), dx2.data(), nx * sizeof(float)) == 0);
    CHECK(std::memcmp(dw.data(), dw2.data(), dw2.size() * sizeof(float)) == 0);
    std::printf("  PatchGAN last layer (8x256x15x15 -> 1, 4x4), %d threads: worst abs error dx %.3g, dw/db %.3g\n",
                threads, wdx, wdw);
  });
}
