// test_conv_act.cpp — conv2d with the ReLU / leaky ReLU after it as one
// training op (ops::conv2d_act: the activation in the convolution's
// epilogue, the backward masking gy by the output's sign):
//   1. a finite-difference gradient check (gradcheck.h) of x, w and b at
//      awkward shapes: odd sizes, stride 2, dilation 2 and 4, a 1x1 kernel,
//      batch 1 to 3, and a 16x16 layer (Winograd's size in a training step);
//   2. the op against the composition it replaces (conv2d, then relu /
//      leaky_relu): the same output and gradients of x, w, b, bit for bit, at
//      1 and 2 threads, with and without bias;
//   3. the classification model's training forward and backward (which runs
//      it) against the same network composed op by op from its state_dict:
//      the same logits, gradients and running statistics, bit for bit;
//   4. bad arguments are refused.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "doctest/doctest.h"
#include "gradcheck.h"
#include "kernel_sets.h"
#include "models/classification.h"

using namespace tinct;
using namespace tinct::testing;
using Inputs = std::vector<Tensor>;

namespace {

struct Case { int N, C, H, W, K, R, stride, pad, dil; };
const Case kCases[] = {
    {2, 3, 7, 5, 4, 3, 1, 1, 1},    // odd sizes
    {1, 2, 9, 8, 3, 3, 2, 1, 1},    // stride 2
    {2, 3, 11, 9, 5, 3, 1, 2, 2},   // dilation 2
    {1, 5, 13, 12, 2, 3, 1, 4, 4},  // dilation 4
    {3, 4, 5, 3, 6, 1, 1, 0, 1},    // 1x1
    {2, 4, 16, 16, 4, 3, 1, 1, 1},  // 16x16 output: Winograd in a training step
};

std::string name_of(const Case& c, Act act) {
  char buf[128];
  std::snprintf(buf, sizeof buf, "%s N%d C%d %dx%d K%d R%d stride %d pad %d dil %d",
                act == Act::Relu ? "relu" : "leaky", c.N, c.C, c.H, c.W, c.K, c.R, c.stride, c.pad, c.dil);
  return buf;
}

// A bias that keeps every pre-activation z = conv(x, w) + b of channel k at
// least `margin` from the kink: the middle of the widest gap between
// neighbouring values of -conv(x, w) in the channel's middle 80% (so the
// activation is on for some outputs and off for others). Returns the margin.
double bias_away_from_kink(const Tensor& x, const Tensor& w, const Case& c, Tensor& b) {
  NoGrad ng;
  const Tensor z = ops::conv2d(x, w, Tensor(), c.stride, c.pad, c.dil);
  const int64_t PQ = z.size(2) * z.size(3);
  double margin = 1e30;
  for (int k = 0; k < c.K; ++k) {
    std::vector<float> v;
    for (int n = 0; n < c.N; ++n)
      for (int64_t i = 0; i < PQ; ++i) v.push_back(-z.data()[(size_t(n) * c.K + k) * PQ + i]);
    std::sort(v.begin(), v.end());
    const size_t lo = v.size() / 10, hi = std::max(lo + 1, v.size() - v.size() / 10) - 1;
    size_t best = lo;
    for (size_t i = lo; i < hi; ++i)
      if (v[i + 1] - v[i] > v[best + 1] - v[best]) best = i;
    b.data()[k] = 0.5f * (v[best] + v[best + 1]);
    margin = std::min(margin, 0.5 * double(v[best + 1] - v[best]));
  }
  return margin;
}

size_t differing(const Tensor& a, const Tensor& b) {
  REQUIRE(a.defined());
  REQUIRE(b.defined());
  REQUIRE(a.numel() == b.numel());
  size_t bad = 0;
  for (int64_t i = 0; i < a.numel(); ++i) bad += std::memcmp(a.data() + i, b.data() + i, sizeof(float)) != 0;
  return bad;
}

Tensor composed(const Tensor& x, const Tensor& w, const Tensor& b, const Case& c, Act act, float slope) {
  const Tensor z = ops::conv2d(x, w, b, c.stride, c.pad, c.dil);
  return act == Act::Relu ? ops::relu(z) : ops::leaky_relu(z, slope);
}

}  // namespace

TEST_CASE("conv2d_act gradients (relu, leaky relu) by finite differences") {
  Rng rng(41);
  for (const Case& c : kCases)
    for (Act act : {Act::Relu, Act::LeakyRelu}) {
      const float slope = act == Act::Relu ? 0.f : 0.2f;
      Tensor x = rand_uniform({c.N, c.C, c.H, c.W}, rng, -1.f, 1.f);
      Tensor w = rand_uniform({c.K, c.C, c.R, c.R}, rng, -1.f, 1.f);
      Tensor b = Tensor::empty({c.K});
      const double margin = bias_away_from_kink(x, w, c, b);
      // A step h = 1e-2 of one entry moves a pre-activation by at most h
      // (|x|, |w| <= 1; b moves its channel by h): it stays on its side of 0.
      const std::string name = name_of(c, act);
      CAPTURE(name);
      REQUIRE_MESSAGE(margin > 0.012, "pre-activations only " << margin << " from the kink");
      x.requires_grad_(), w.requires_grad_(), b.requires_grad_();
      const auto r = gradcheck(
          [&](const Inputs& v) { return ops::conv2d_act(v[0], v[1], v[2], c.stride, c.pad, c.dil, act, slope); },
          {x, w, b});
      MESSAGE(name << " (kink margin " << margin << "): " << describe(r));
      CHECK_MESSAGE(r.ok, name << " gradient is wrong: " << describe(r));
    }
}

TEST_CASE("conv2d_act equals conv2d then the activation, bit for bit, at 1 and 2 threads") {
  Rng rng(42);
  at_thread_counts([&](int threads) {
    for (const Case& c : kCases)
      for (Act act : {Act::Relu, Act::LeakyRelu})
        for (bool with_bias : {true, false}) {
          const float slope = act == Act::Relu ? 0.f : 0.1f;
          const Tensor x0 = rand_uniform({c.N, c.C, c.H, c.W}, rng, -1.f, 1.f);
          const Tensor w0 = rand_uniform({c.K, c.C, c.R, c.R}, rng, -0.5f, 0.5f);
          const Tensor b0 = with_bias ? rand_uniform({c.K}, rng, -0.3f, 0.3f) : Tensor();
          Tensor out[2], gx[2], gw[2], gb[2];
          for (int fused = 0; fused < 2; ++fused) {
            Tensor x = x0.clone().requires_grad_(), w = w0.clone().requires_grad_();
            Tensor b = with_bias ? b0.clone().requires_grad_() : Tensor();
            const Tensor y = fused ? ops::conv2d_act(x, w, b, c.stride, c.pad, c.dil, act, slope)
                                   : composed(x, w, b, c, act, slope);
            Rng urng(7);
            const Tensor u = rand_uniform(y.shape(), urng, -1.f, 1.f);
            ops::sum(ops::mul(y, u)).backward();
            out[fused] = y.detach(), gx[fused] = x.grad(), gw[fused] = w.grad();
            if (with_bias) gb[fused] = b.grad();
          }
          size_t zeros = 0;
          for (int64_t i = 0; i < out[1].numel(); ++i) zeros += out[1].data()[i] <= 0.f;
          const size_t d[] = {differing(out[0], out[1]), differing(gx[0], gx[1]), differing(gw[0], gw[1]),
                              with_bias ? differing(gb[0], gb[1]) : 0};
          std::printf("  %s%s, %d thread(s): %zu of %lld outputs <= 0; differing y %zu, dx %zu, dw %zu, db %zu\n",
                      name_of(c, act).c_str(), with_bias ? "" : " no bias", threads, zeros,
                      static_cast<long long>(out[1].numel()), d[0], d[1], d[2], d[3]);
          CAPTURE(name_of(c, act));
          CAPTURE(with_bias);
          CHECK(zeros > 0);  // the mask matters
          for (size_t k : d) CHECK(k == 0);
        }
  });
}

namespace {

using models::ClassificationConfig;
using models::ClassificationNet;

// ClassificationNet's forward in training, op by op from its parameters (as
// classification.cpp builds it): every conv2d, relu and batch_norm apart.
// Batch norm updates the running statistics held in `stats` (copies).
Tensor classification_composed(const ClassificationConfig& cfg, const std::map<std::string, Tensor>& sd,
                               std::map<std::string, Tensor>& stats, const Tensor& x) {
  struct Block { int convs, last_stride, dilation; };
  const Block plan[] = {{2, 2, 1}, {2, 2, 1}, {3, 2, 1}, {3, 1, 1}, {3, 1, 2}, {3, 1, 2}, {3, 1, 1}};
  auto at = [&](const std::string& k) {
    REQUIRE_MESSAGE(sd.count(k), "no parameter " << k);
    return sd.at(k);
  };
  Tensor h = x;
  for (int b = 0; b < 7; ++b) {
    const Block& p = plan[b];
    const std::string pre = "conv" + std::to_string(b + 1) + ".";
    const bool tied = cfg.tie_repeated_convs && b >= 4;
    for (int i = 0; i < p.convs; ++i) {
      const std::string conv = pre + (tied ? "0.0" : std::to_string(2 * i));
      const int stride = i == p.convs - 1 ? p.last_stride : 1;
      h = ops::relu(ops::conv2d(h, at(conv + ".weight"), at(conv + ".bias"), stride, p.dilation, p.dilation));
    }
    const std::string bn = pre + std::to_string(tied ? 1 : 2 * p.convs);
    h = ops::batch_norm(h, at(bn + ".weight"), at(bn + ".bias"), stats.at(bn + ".running_mean"),
                        stats.at(bn + ".running_var"), true);
  }
  h = ops::relu(ops::conv_transpose2d(h, at("conv8.0.weight"), at("conv8.0.bias"), 2, 1, 0, 1));
  h = ops::relu(ops::conv2d(h, at("conv8.2.weight"), at("conv8.2.bias"), 1, 1, 1));
  h = ops::relu(ops::conv2d(h, at("conv8.4.weight"), at("conv8.4.bias"), 1, 1, 1));
  return ops::conv2d(h, at("conv8.6.weight"), at("conv8.6.bias"), 1, 0, 1);
}

}  // namespace

TEST_CASE("classification training: the fused forward and backward equal the ops one by one, bit for bit") {
  for (bool tied : {false, true}) {
    ClassificationConfig cfg;
    cfg.base = 4, cfg.num_bins = 13, cfg.tie_repeated_convs = tied;
    Rng rng(43);
    ClassificationNet net(cfg, rng);
    net.train();
    const Tensor x = rand_uniform({2, 1, 32, 24}, rng, -1.f, 1.f);
    const std::map<std::string, Tensor> sd = net.state_dict();
    std::map<std::string, Tensor> stats;  // copies of the running statistics, for the composed net
    for (const auto& [k, t] : net.named_buffers()) stats[k] = t.clone();

    const Tensor y_ref = classification_composed(cfg, sd, stats, x);
    Rng urng(8);
    const Tensor u = rand_uniform(y_ref.shape(), urng, -1.f, 1.f);
    ops::sum(ops::mul(y_ref, u)).backward();
    std::map<std::string, Tensor> g_ref;
    for (const auto& [k, t] : net.named_parameters()) g_ref[k] = t.grad().clone();
    net.zero_grad();

    const Tensor y = net(x);
    ops::sum(ops::mul(y, u)).backward();
    CAPTURE(tied);
    size_t bad = differing(y, y_ref.detach());
    std::printf("  %s: logits %s, differing %zu\n", tied ? "tied" : "untied", shape_str(y.shape()).c_str(), bad);
    for (const auto& [k, t] : net.named_parameters()) {
      const size_t d = differing(t.grad(), g_ref.at(k));
      if (d) std::printf("    grad %s: %zu differ\n", k.c_str(), d);
      bad += d;
    }
    for (const auto& [k, t] : net.named_buffers()) {
      const size_t d = differing(t, stats.at(k));
      if (d) std::printf("    buffer %s: %zu differ\n", k.c_str(), d);
      bad += d;
    }
    CHECK(bad == 0);
  }
}

TEST_CASE("conv2d_act refuses other activations and negative slopes") {
  Rng rng(44);
  const Tensor x = rand_uniform({1, 2, 5, 5}, rng), w = rand_uniform({3, 2, 3, 3}, rng);
  CHECK_THROWS_WITH_AS(ops::conv2d_act(x, w, Tensor(), 1, 1, 1, Act::Tanh), doctest::Contains("ReLU or leaky ReLU"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(ops::conv2d_act(x, w, Tensor(), 1, 1, 1, Act::LeakyRelu, -0.1f), doctest::Contains("slope >= 0"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(ops::conv2d_relu(x, rand_uniform({3, 4, 3, 3}, rng), Tensor(), 1, 1, 1),
                       doctest::Contains("conv2d"), std::invalid_argument);
}
