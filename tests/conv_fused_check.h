// conv_fused_check.h — a fused CPU convolution forward (conv2d_fwd_fused or
// one of its paths) against conv2d_fwd_ref + epilogue_ref, for the tests of
// the paths (test_conv_direct.cpp, test_conv_blocked.cpp, and with the
// epilogue chosen part by part the Winograd tests).
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "doctest/doctest.h"
#include "kernel_check.h"
#include "kernels/kernels.h"

namespace kcheck {

// A stride-1 convolution's shape as the path tests list it (dilation the same
// both ways), and its finalized parameters.
struct ConvCase {
  int N, C, H, W, K, R, S, pad_h, pad_w, dil;
};

inline tinct::Conv2dParams params_of(const ConvCase& c) {
  tinct::Conv2dParams p;
  p.N = c.N, p.C = c.C, p.H = c.H, p.W = c.W, p.K = c.K, p.R = c.R, p.S = c.S;
  p.pad_h = c.pad_h, p.pad_w = c.pad_w, p.dil_h = p.dil_w = c.dil;
  REQUIRE(p.finalize());
  return p;
}

// Runs run(p, x, w, e, y) with epilogue variant v (0: none; 1: bias; 2:
// scale, shift, residual, leaky ReLU, post scale / shift) on random data made
// from `seed`, checks it against the reference, reports the worst error under
// `what` and returns the worst absolute error.
template <class Run>
double check_conv_fused(const tinct::Conv2dParams& p, int v, const char* what, uint32_t seed, Run run) {
  using namespace tinct;
  const size_t nx = size_t(p.N) * p.C * p.H * p.W, nw = size_t(p.K) * p.C * p.R * p.S,
               ny = size_t(p.N) * p.K * p.P * p.Q;
  const auto x = random_vec(nx, seed + p.K), w = random_vec(nw, seed + 1 + p.C);
  const auto scale = random_vec(p.K, seed + 2, -2.f, 2.f), shift = random_vec(p.K, seed + 3);
  const auto residual = random_vec(ny, seed + 4), post_scale = random_vec(p.K, seed + 5, 0.2f, 2.f),
             post_shift = random_vec(p.K, seed + 6);
  cpu::Epilogue e;
  if (v >= 1) e.shift = shift.data();
  if (v >= 2) {
    e.scale = scale.data(), e.residual = residual.data(), e.has_act = true;
    e.act = Act::LeakyRelu, e.slope = 0.2f, e.post_scale = post_scale.data(), e.post_shift = post_shift.data();
  }
  std::vector<float> ref(ny), got(ny, std::numeric_limits<float>::quiet_NaN());
  cpu::conv2d_fwd_ref(p, x.data(), w.data(), nullptr, ref.data());
  cpu::epilogue_ref(e, p.N, p.K, p.P * p.Q, ref.data());
  run(p, x.data(), w.data(), e, got.data());
  const Diff df = diff(got.data(), ref.data(), ny);
  CAPTURE(what);
  CHECK(report(what, df, tolerance(2e-6, double(p.C) * p.R * p.S, df)));
  return df.max_abs;
}

// The parts of an epilogue one case turns on.
struct EpilogueParts {
  bool scale, shift, residual, act, post;
  tinct::Act a;
};

// Runs run(p, x, w, e, y) with the epilogue parts f (leaky slope 0.1) on
// operands drawn in turn from `seed` (advanced: x, w, scale, shift, post
// scale, post shift, residual), checks it against conv2d_fwd_ref +
// epilogue_ref within tolerance(rtol, k), reports under `what` and returns
// the worst absolute error.
template <class Run>
double check_conv_epilogue(const tinct::Conv2dParams& p, const EpilogueParts& f, uint32_t& seed, double rtol,
                           double k, const std::string& what, Run run) {
  using namespace tinct;
  const size_t ysize = size_t(p.N) * p.K * p.P * p.Q;
  const auto x = random_vec(size_t(p.N) * p.C * p.H * p.W, seed++);
  const auto w = random_vec(size_t(p.K) * p.C * p.R * p.S, seed++);
  const auto sc = random_vec(size_t(p.K), seed++), sh = random_vec(size_t(p.K), seed++);
  const auto psc = random_vec(size_t(p.K), seed++), psh = random_vec(size_t(p.K), seed++);
  const auto res = random_vec(ysize, seed++);
  cpu::Epilogue e;
  e.scale = f.scale ? sc.data() : nullptr;
  e.shift = f.shift ? sh.data() : nullptr;
  e.residual = f.residual ? res.data() : nullptr;
  e.has_act = f.act, e.act = f.a, e.slope = 0.1f;
  e.post_scale = f.post ? psc.data() : nullptr;
  e.post_shift = f.post ? psh.data() : nullptr;
  std::vector<float> ref(ysize), got(ysize, -7.0f);
  cpu::conv2d_fwd_ref(p, x.data(), w.data(), nullptr, ref.data());
  cpu::epilogue_ref(e, p.N, p.K, p.P * p.Q, ref.data());
  run(p, x.data(), w.data(), e, got.data());
  const Diff d = diff(got.data(), ref.data(), ref.size());
  CHECK_MESSAGE(report(what.c_str(), d, tolerance(rtol, k, d)), what);
  return d.max_abs;
}

}  // namespace kcheck
