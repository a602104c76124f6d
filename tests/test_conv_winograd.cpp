// test_conv_winograd.cpp — the Winograd F(4x4, 3x3) reference
// (kernels/conv/ref_winograd.cpp, the specification of the CUDA Winograd
// path) against the direct reference convolution, at shapes that exercise
// the tiling: outputs that are not multiples of the 4x4 tile, 1-wide images,
// pad 0, 1 and 2 (and mixed), batch 1 and 3, one and many channels. A filter
// transform with one wrong constant must fail the same tolerance.
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include "doctest/doctest.h"
#include "kernel_check.h"
#include "kernels/kernels.h"
#include "winograd_case.h"

using namespace tinct;

using winograd_case::Case;
using winograd_case::params_of;

TEST_CASE("Winograd F(4x4,3x3) reference matches the direct convolution: forward, backward-data, weight gradient") {
  const Case cases[] = {
      {1, 1, 4, 4, 1, 1, 1, true},     {2, 3, 13, 11, 5, 1, 1, true},  {1, 8, 9, 14, 7, 0, 0, false},
      {3, 5, 6, 5, 4, 2, 2, true},     {1, 4, 1, 9, 3, 1, 1, false},   {1, 6, 7, 3, 2, 1, 0, true},
      {2, 33, 16, 16, 20, 1, 1, true}, {1, 64, 8, 8, 64, 1, 1, false}, {1, 2, 3, 3, 2, 2, 1, false},
      // dilation: phases of tiles (odd sizes leave the phases unequal)
      {2, 5, 15, 13, 6, 2, 2, true, 2, 2},  {1, 3, 17, 9, 4, 4, 0, false, 4, 1},
      {1, 4, 10, 11, 3, 2, 1, true, 2, 1},
  };
  uint32_t seed = 11;
  for (const Case& c : cases) {
    const Conv2dParams p = params_of(c);
    const auto x = kcheck::random_vec(size_t(p.N) * p.C * p.H * p.W, seed++);
    const auto w = kcheck::random_vec(size_t(p.K) * p.C * 9, seed++);
    const auto b = kcheck::random_vec(size_t(p.K), seed++);
    std::vector<float> ref(size_t(p.N) * p.K * p.P * p.Q), got(ref.size(), -7.0f);
    cpu::conv2d_fwd_ref(p, x.data(), w.data(), c.bias ? b.data() : nullptr, ref.data());
    cpu::conv2d_fwd_winograd_ref(p, x.data(), w.data(), c.bias ? b.data() : nullptr, got.data());
    char what[120];
    std::snprintf(what, sizeof what, "N%d C%d %dx%d K%d pad %d,%d dil %d,%d -> %dx%d", p.N, p.C, p.H, p.W, p.K,
                  p.pad_h, p.pad_w, p.dil_h, p.dil_w, p.P, p.Q);
    const kcheck::Diff d = kcheck::diff(got.data(), ref.data(), ref.size());
    // ~5x the rounding of a direct float sum of 9C terms (transform rounding)
    CHECK_MESSAGE(kcheck::report((std::string("fwd       ") + what).c_str(), d,
                                 kcheck::tolerance(5e-6, 9.0 * p.C, d)),
                  what);

    // backward-data (overwrites dx) and weight gradient (accumulates into dw)
    const auto dy = kcheck::random_vec(ref.size(), seed++);
    std::vector<float> dx_ref(size_t(p.N) * p.C * p.H * p.W), dx(dx_ref.size(), -7.0f);
    cpu::conv2d_bwd_data_ref(p, dy.data(), w.data(), dx_ref.data());
    cpu::conv2d_bwd_data_winograd_ref(p, dy.data(), w.data(), dx.data());
    const kcheck::Diff dd = kcheck::diff(dx.data(), dx_ref.data(), dx.size());
    CHECK_MESSAGE(kcheck::report((std::string("bwd-data  ") + what).c_str(), dd,
                                 kcheck::tolerance(5e-6, 9.0 * p.K, dd)),
                  what);
    const auto dw0 = kcheck::random_vec(w.size(), seed++);
    std::vector<float> dw_ref = dw0, dw = dw0, db(size_t(p.K), 0.0f);
    cpu::conv2d_bwd_filter_ref(p, x.data(), dy.data(), dw_ref.data(), db.data());
    cpu::conv2d_bwd_filter_winograd_ref(p, x.data(), dy.data(), dw.data());
    const kcheck::Diff dg = kcheck::diff(dw.data(), dw_ref.data(), dw.size());
    CHECK_MESSAGE(kcheck::report((std::string("bwd-filter ") + what).c_str(), dg,
                                 kcheck::tolerance(5e-6, double(p.N) * p.P * p.Q, dg)),
                  what);
  }
}

TEST_CASE("Winograd reference: a wrong transform fails, and unsupported shapes are refused") {
  Conv2dParams p = params_of({1, 4, 8, 8, 3, 1, 1, false});
  const auto x = kcheck::random_vec(size_t(p.C) * 64, 1);
  auto w = kcheck::random_vec(size_t(p.K) * p.C * 9, 2);
  std::vector<float> ref(size_t(p.K) * p.P * p.Q), got(ref.size());
  cpu::conv2d_fwd_ref(p, x.data(), w.data(), nullptr, ref.data());
  // The Winograd result for a perturbed filter stands in for a transform with
  // a wrong constant: one tap off by 1% must be far outside the tolerance.
  w[4] *= 1.01f;
  cpu::conv2d_fwd_winograd_ref(p, x.data(), w.data(), nullptr, got.data());
  const kcheck::Diff d = kcheck::diff(got.data(), ref.data(), ref.size());
  CHECK_FALSE(d.max_abs <= kcheck::tolerance(5e-6, 9.0 * p.C, d));

  Conv2dParams s = p;
  s.stride_h = s.stride_w = 2;
  REQUIRE(s.finalize());
  CHECK_FALSE(cpu::conv2d_winograd_supported(s));
  CHECK_THROWS_AS(cpu::conv2d_fwd_winograd_ref(s, x.data(), w.data(), nullptr, got.data()),
                  std::invalid_argument);
  Conv2dParams d2 = p;  // dilation 2 with a padding that is not a multiple of it
  d2.dil_h = d2.dil_w = 2, d2.pad_h = d2.pad_w = 1;
  REQUIRE(d2.finalize());
  CHECK_FALSE(cpu::conv2d_winograd_supported(d2));
  Conv2dParams k5 = p;
  k5.R = k5.S = 5, k5.pad_h = k5.pad_w = 2;
  REQUIRE(k5.finalize());
  CHECK_FALSE(cpu::conv2d_winograd_supported(k5));
}
