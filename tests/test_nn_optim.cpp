// test_nn_optim.cpp — modules, state_dict, batch-norm statistics, and one step
// of each optimizer against numbers computed by hand.
#include <cmath>
#include <stdexcept>

#include "doctest/doctest.h"
#include "engine/nn.h"
#include "engine/optim.h"

using namespace tinct;

namespace {
struct Block : nn::Module {
  std::shared_ptr<nn::Conv2d> conv;
  std::shared_ptr<nn::BatchNorm2d> bn;
  std::shared_ptr<nn::Sequential> head;
  explicit Block(Rng& rng) {
    conv = register_module("conv", std::make_shared<nn::Conv2d>(3, 8, 3, 1, 1, 1, false, rng));
    bn = register_module("bn", std::make_shared<nn::BatchNorm2d>(8));
    head = register_module("head", std::make_shared<nn::Sequential>());
    head->add(std::make_shared<nn::ReLU>());
    head->add(std::make_shared<nn::ConvTranspose2d>(8, 2, 4, 2, 1, 0, 1, true, rng));
  }
  Tensor forward(const Tensor& x) override { return (*head)(bn->forward(conv->forward(x))); }
};
}  // namespace

TEST_CASE("named parameters and buffers follow PyTorch's names and counts") {
  Rng rng(1);
  Block m(rng);
  std::vector<std::string> names;
  for (auto& [n, t] : m.named_parameters()) names.push_back(n);
  CHECK(names == std::vector<std::string>{"conv.weight", "bn.weight", "bn.bias", "head.1.weight", "head.1.bias"});
  CHECK(m.num_parameters() == 8 * 3 * 9 + 8 + 8 + 8 * 2 * 16 + 2);
  auto sd = m.state_dict();
  CHECK(sd.count("bn.running_mean"));
  CHECK(sd.count("bn.running_var"));
  Tensor y = m(rand_uniform({2, 3, 6, 5}, rng));
  CHECK(y.shape() == Shape{2, 2, 12, 10});
}

TEST_CASE("load_state_dict copies values and refuses missing, unexpected and mismatched entries") {
  Rng rng(2), rng2(3);
  Block a(rng), b(rng2);
  b.load_state_dict(a.state_dict());
  CHECK(b.conv->weight.to_vector() == a.conv->weight.to_vector());
  CHECK_FALSE(b.conv->weight.data() == a.conv->weight.data());  // copied, not aliased

  auto sd = a.state_dict();
  sd.erase("bn.bias");
  sd["extra.weight"] = Tensor::zeros({1});
  sd["conv.weight"] = Tensor::zeros({8, 3, 3, 2});
  const std::vector<float> before = b.bn->weight.to_vector();
  b.bn->weight.fill_(7.f);
  try {
    b.load_state_dict(sd);
    FAIL("load_state_dict accepted a bad state dict");
  } catch (const std::runtime_error& e) {
    const std::string msg = e.what();
    MESSAGE(msg);
    CHECK(msg.find("missing: bn.bias") != std::string::npos);
    CHECK(msg.find("unexpected: extra.weight") != std::string::npos);
    CHECK(msg.find("shape mismatch: conv.weight") != std::string::npos);
  }
  CHECK(b.bn->weight.to_vector() == std::vector<float>(8, 7.f));  // nothing was loaded
}

TEST_CASE("batch norm: training normalises with batch stats and updates running stats") {
  nn::BatchNorm2d bn(1, 0.f, 0.1f);
  Tensor x = Tensor::from_vector({2, 1, 1, 2}, {1, 2, 3, 6});  // mean 3, biased var 3.5, unbiased 14/3
  Tensor y = bn(x);
  const float s = 1.f / std::sqrt(3.5f);
  CHECK(y.to_vector()[0] == doctest::Approx(-2 * s));
  CHECK(y.to_vector()[3] == doctest::Approx(3 * s));
  CHECK(bn.running_mean.item() == doctest::Approx(0.1 * 3));
  CHECK(bn.running_var.item() == doctest::Approx(0.9 + 0.1 * 14.0 / 3.0));
  bn.eval();
  Tensor z = bn(x);
  CHECK(z.to_vector()[3] == doctest::Approx((6 - 0.3) / std::sqrt(0.9 + 0.1 * 14.0 / 3.0)));
}

TEST_CASE("SGD with momentum: two steps by hand") {
  Tensor w = Tensor::from_vector({2}, {1.f, -1.f}).requires_grad_();
  optim::SGDOptions o;
  o.lr = 0.1f;
  o.momentum = 0.9f;
  optim::SGD opt({w}, o);
  // grad of sum(w * [2, 4]) is [2, 4]
  Tensor c = Tensor::from_vector({2}, {2.f, 4.f});
  for (int i = 0; i < 2; ++i) {
    opt.zero_grad();
    ops::sum(ops::mul(w, c)).backward();
    opt.step();
  }
  // step 1: m = g, w -= 0.1 g;  step 2: m = 0.9 g + g = 1.9 g, w -= 0.19 g  => w -= 0.29 g
  CHECK(w.to_vector()[0] == doctest::Approx(1.f - 0.29f * 2));
  CHECK(w.to_vector()[1] == doctest::Approx(-1.f - 0.29f * 4));
}

TEST_CASE("Adam and AdamW: one and two steps by hand") {
  Tensor w = Tensor::from_vector({2}, {1.f, -2.f}).requires_grad_();
  optim::AdamOptions o;
  o.lr = 0.01f;
  optim::Adam opt({w}, o);
  Tensor c = Tensor::from_vector({2}, {3.f, -0.5f});
  ops::sum(ops::mul(w, c)).backward();
  opt.step();
  // step 1: m_hat = g, v_hat = g^2, update = lr * g / (|g| + eps) ~= lr * sign(g)
  CHECK(w.to_vector()[0] == doctest::Approx(1.f - 0.01f).epsilon(1e-6));
  CHECK(w.to_vector()[1] == doctest::Approx(-2.f + 0.01f).epsilon(1e-6));
  // step 2 with the same gradient: m_hat = g, v_hat = g^2 again -> same move.
  opt.zero_grad();
  ops::sum(ops::mul(w, c)).backward();
  opt.step();
  CHECK(w.to_vector()[0] == doctest::Approx(1.f - 0.02f).epsilon(1e-6));

  // AdamW decays the weight before the Adam move: w = w*(1 - lr*wd) - lr*sign(g)
  Tensor u = Tensor::from_vector({1}, {2.f}).requires_grad_();
  optim::Adam adamw({u}, optim::adamw(0.1f, 0.5f));
  ops::sum(ops::mul(u, 1.f)).backward();
  adamw.step();
  CHECK(u.item() == doctest::Approx(2.f * (1 - 0.05f) - 0.1f).epsilon(1e-6));
}

TEST_CASE("optimizer state round-trips through state_dict") {
  Rng rng(4);
  Tensor w1 = rand_uniform({5}, rng).requires_grad_();
  Tensor w2 = w1.clone().requires_grad_();
  Tensor c = rand_uniform({5}, rng);
  optim::Adam a({w1}, {}), b({w2}, {});
  ops::sum(ops::mul(w1, c)).backward();
  a.step();
  ops::sum(ops::mul(w2, c)).backward();
  b.step();
  optim::Adam a2({w1}, {});
  a2.load_state_dict(a.state_dict());
  for (int i = 0; i < 3; ++i) {
    a2.zero_grad();
    b.zero_grad();
    ops::sum(ops::mul(ops::mul(w1, w1), c)).backward();
    ops::sum(ops::mul(ops::mul(w2, w2), c)).backward();
    a2.step();
    b.step();
  }
  CHECK(w1.to_vector() == w2.to_vector());
  CHECK_THROWS_WITH_AS(a2.load_state_dict({}), doctest::Contains("missing step"), std::runtime_error);
}
