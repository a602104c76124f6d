// test_grad_bn_act.cpp — the fused batch norm + ReLU / leaky ReLU of training
// (ops::batch_norm_act, which runs cpu::batchnorm_act_* on the CPU):
//   1. a finite-difference gradient check (gradcheck.h) of x, gamma and beta,
//      at odd shapes, batch 1 and 7, one channel;
//   2. the fused op against the composed ops it replaces (batch_norm, then
//      relu / leaky_relu): the same output, running statistics and gradients,
//      bit for bit.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <utility>
#include <vector>

#include "doctest/doctest.h"
#include "gradcheck.h"

using namespace tinct;
using namespace tinct::testing;
using Inputs = std::vector<Tensor>;

namespace {

struct Case { int N, C, H, W; };
const Case kCases[] = {{3, 4, 5, 3}, {1, 3, 7, 5}, {7, 1, 3, 3}, {2, 5, 1, 9}};

Tensor param(const Shape& s, Rng& rng, float lo, float hi) { return rand_uniform(s, rng, lo, hi).requires_grad_(); }

// x for a gradient check across a kink: in each channel, values of magnitude
// >= 0.3 in pairs (v, -v) (and one triple (2v, -v, -v) when the channel holds
// an odd count), so the channel mean is 0 and every normalised value is at
// least 0.3 * invstd from it. With gamma >= 0.5 and |beta| <= 0.05 every z =
// bn(x) is then >= 0.07 from the activation's kink, which no step of the
// finite difference (h = 1e-2) crosses.
Tensor away_from_mean(const Case& c, Rng& rng) {
  Tensor x = Tensor::empty({c.N, c.C, c.H, c.W});
  const int HW = c.H * c.W, M = c.N * HW;
  std::vector<float> v(static_cast<size_t>(M), 0.f);
  for (int ch = 0; ch < c.C; ++ch) {
    auto mag = [&] { return 0.3f + 1.4f * rng.uniform(); };
    auto sign = [&] { return rng.uniform() < 0.5f ? -1.f : 1.f; };
    int i = 0;
    if (M % 2) {
      const float a = sign() * mag();
      v[0] = 2 * a, v[1] = -a, v[2] = -a;
      i = 3;
    }
    for (; i + 1 < M; i += 2) {
      const float a = sign() * mag();
      v[size_t(i)] = a, v[size_t(i) + 1] = -a;
    }
    for (int k = M - 1; k > 0; --k) std::swap(v[size_t(k)], v[rng.below(uint32_t(k + 1))]);  // spread the pairs
    for (int m = 0; m < M; ++m) x.data()[(size_t(m / HW) * c.C + ch) * HW + m % HW] = v[size_t(m)];
  }
  return x;
}

size_t differing(const Tensor& a, const Tensor& b) {
  REQUIRE(a.numel() == b.numel());
  size_t bad = 0;
  for (int64_t i = 0; i < a.numel(); ++i) bad += std::memcmp(a.data() + i, b.data() + i, sizeof(float)) != 0;
  return bad;
}

}  // namespace

TEST_CASE("batch_norm_act gradients (relu, leaky relu), training") {
  Rng rng(21);
  for (const Case& c : kCases)
    for (Act act : {Act::Relu, Act::LeakyRelu}) {
      const float slope = act == Act::Relu ? 0.f : 0.2f;
      Tensor x = away_from_mean(c, rng).requires_grad_();
      Tensor g = param({c.C}, rng, 0.5f, 1.5f), b = param({c.C}, rng, -0.05f, 0.05f);
      Tensor rm = Tensor::zeros({c.C}), rv = Tensor::full({c.C}, 1.f);
      auto r = gradcheck([&](const Inputs& v) {
        return ops::batch_norm_act(v[0], v[1], v[2], rm, rv, true, act, slope, 0.1f, 1e-5f);
      }, {x, g, b});
      const std::string name = std::string(act == Act::Relu ? "batch_norm_relu " : "batch_norm_leaky_relu ") +
                               shape_str(x.shape());
      MESSAGE(name << ": " << describe(r));
      CHECK_MESSAGE(r.ok, name << " gradient is wrong: " << describe(r));
    }
}

TEST_CASE("batch_norm_act equals batch_norm then the activation, bit for bit") {
  Rng rng(22);
  for (const Case& c : kCases)
    for (Act act : {Act::Relu, Act::LeakyRelu}) {
      const float slope = act == Act::Relu ? 0.f : 0.2f;
      const Tensor x0 = rand_uniform({c.N, c.C, c.H, c.W}, rng, -2.f, 2.f);
      const Tensor g0 = rand_uniform({c.C}, rng, 0.5f, 1.5f), b0 = rand_uniform({c.C}, rng, -0.5f, 0.5f);
      const Tensor u = rand_uniform(x0.shape(), rng, -1.f, 1.f);
      Tensor out[2], gx[2], gg[2], gb[2], rms[2], rvs[2];
      for (int fused = 0; fused < 2; ++fused) {
        Tensor x = x0.clone().requires_grad_(), g = g0.clone().requires_grad_(), b = b0.clone().requires_grad_();
        rms[fused] = Tensor::full({c.C}, 0.25f), rvs[fused] = Tensor::full({c.C}, 2.f);
        Tensor y = fused ? ops::batch_norm_act(x, g, b, rms[fused], rvs[fused], true, act, slope)
                         : (act == Act::Relu ? ops::relu(ops::batch_norm(x, g, b, rms[fused], rvs[fused], true))
                                             : ops::leaky_relu(ops::batch_norm(x, g, b, rms[fused], rvs[fused], true),
                                                               slope));
        ops::sum(ops::mul(y, u)).backward();
        out[fused] = y.detach(), gx[fused] = x.grad(), gg[fused] = g.grad(), gb[fused] = b.grad();
      }
      const size_t d[] = {differing(out[0], out[1]), differing(rms[0], rms[1]), differing(rvs[0], rvs[1]),
                          differing(gx[0], gx[1]),   differing(gg[0], gg[1]),   differing(gb[0], gb[1])};
      std::printf("  %s %s: differing y %zu, running mean %zu, running var %zu, dx %zu, dgamma %zu, dbeta %zu\n",
                  act == Act::Relu ? "relu" : "leaky", shape_str(x0.shape()).c_str(), d[0], d[1], d[2], d[3], d[4],
                  d[5]);
      for (size_t k : d) CHECK(k == 0);
    }
}
