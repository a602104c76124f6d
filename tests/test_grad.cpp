// test_grad.cpp — a finite-difference gradient check of every differentiable op,
// at awkward shapes, plus a deliberately wrong backward that must be caught.
#include "doctest/doctest.h"
#include "gradcheck.h"

using namespace tinct;
using namespace tinct::testing;
using Inputs = std::vector<Tensor>;

static Tensor param(const Shape& s, Rng& rng, float lo = -1.f, float hi = 1.f) {
  return rand_uniform(s, rng, lo, hi).requires_grad_();
}

static void expect_ok(const char* name, const GradCheckResult& r) {
  MESSAGE(std::string(name) << ": " << describe(r));
  CHECK_MESSAGE(r.ok, std::string(name) << " gradient is wrong: " << describe(r));
}

TEST_CASE("conv2d gradients: stride, padding, dilation, bias, odd shapes") {
  Rng rng(1);
  struct Case { int N, C, H, W, K, R, stride, pad, dil; bool bias; };
  for (Case c : {Case{1, 1, 7, 9, 3, 3, 1, 1, 1, true}, Case{2, 3, 9, 8, 4, 3, 2, 1, 1, false},
                 Case{2, 2, 11, 10, 3, 3, 1, 2, 2, true}, Case{1, 3, 13, 11, 2, 3, 1, 4, 4, true},
                 Case{2, 2, 9, 9, 3, 4, 2, 1, 1, true}, Case{1, 2, 8, 7, 2, 1, 1, 0, 1, true}}) {
    Tensor x = param({c.N, c.C, c.H, c.W}, rng);
    Tensor w = param({c.K, c.C, c.R, c.R}, rng);
    Tensor b = c.bias ? param({c.K}, rng) : Tensor();
    Inputs in{x, w};
    if (c.bias) in.push_back(b);
    auto r = gradcheck([&](const Inputs& v) {
      return ops::conv2d(v[0], v[1], c.bias ? v[2] : Tensor(), c.stride, c.pad, c.dil);
    }, in);
    expect_ok("conv2d", r);
  }
}

TEST_CASE("conv_transpose2d gradients: stride 2, output_padding, dilation") {
  Rng rng(2);
  struct Case { int N, Cin, H, W, Cout, R, stride, pad, opad, dil; bool bias; };
  for (Case c : {Case{1, 3, 4, 5, 2, 4, 2, 1, 0, 1, true}, Case{2, 2, 5, 3, 3, 3, 2, 1, 1, 1, false},
                 Case{1, 2, 4, 4, 2, 3, 1, 2, 0, 2, true}, Case{2, 1, 3, 5, 3, 3, 3, 0, 2, 1, true}}) {
    Tensor x = param({c.N, c.Cin, c.H, c.W}, rng);
    Tensor w = param({c.Cin, c.Cout, c.R, c.R}, rng);
    Tensor b = c.bias ? param({c.Cout}, rng) : Tensor();
    Inputs in{x, w};
    if (c.bias) in.push_back(b);
    auto r = gradcheck([&](const Inputs& v) {
      return ops::conv_transpose2d(v[0], v[1], c.bias ? v[2] : Tensor(), c.stride, c.pad, c.opad, c.dil);
    }, in);
    expect_ok("conv_transpose2d", r);
  }
}

TEST_CASE("batch_norm gradients, training and eval") {
  Rng rng(3);
  for (bool training : {true, false}) {
    Tensor x = param({3, 4, 5, 3}, rng, -2.f, 2.f);
    Tensor g = param({4}, rng, 0.5f, 1.5f), b = param({4}, rng);
    Tensor rm = rand_uniform({4}, rng, -0.5f, 0.5f), rv = rand_uniform({4}, rng, 0.5f, 2.f);
    auto r = gradcheck([&](const Inputs& v) {
      return ops::batch_norm(v[0], v[1], v[2], rm, rv, training, 0.1f, 1e-5f);
    }, {x, g, b});
    expect_ok(training ? "batch_norm train" : "batch_norm eval", r);
  }
}

TEST_CASE("activation gradients") {
  Rng rng(4);
  Tensor x = away_from_zero({2, 3, 5, 7}, rng).requires_grad_();
  expect_ok("relu", gradcheck([](const Inputs& v) { return ops::relu(v[0]); }, {x}));
  expect_ok("leaky_relu", gradcheck([](const Inputs& v) { return ops::leaky_relu(v[0], 0.2f); }, {x}));
  Tensor y = param({2, 3, 5, 7}, rng, -3.f, 3.f);
  expect_ok("tanh", gradcheck([](const Inputs& v) { return ops::tanh(v[0]); }, {y}));
  expect_ok("sigmoid", gradcheck([](const Inputs& v) { return ops::sigmoid(v[0]); }, {y}));
}

TEST_CASE("max_pool2d gradients, with padding and overlapping windows") {
  Rng rng(5);
  Tensor x = distinct_values({2, 3, 9, 7}, rng).requires_grad_();
  expect_ok("max_pool2d 3/2/1", gradcheck([](const Inputs& v) { return ops::max_pool2d(v[0], 3, 2, 1); }, {x}));
  expect_ok("max_pool2d 2/2/0", gradcheck([](const Inputs& v) { return ops::max_pool2d(v[0], 2, 2, 0); }, {x}));
}

TEST_CASE("upsample gradients, nearest and bilinear, up and down") {
  Rng rng(6);
  Tensor x = param({2, 3, 5, 4}, rng);
  for (auto mode : {Upsample::Nearest, Upsample::Bilinear}) {
    const char* name = mode == Upsample::Nearest ? "upsample nearest" : "upsample bilinear";
    expect_ok(name, gradcheck([&](const Inputs& v) { return ops::upsample(v[0], 11, 7, mode); }, {x}));
    expect_ok(name, gradcheck([&](const Inputs& v) { return ops::upsample(v[0], 3, 2, mode); }, {x}));
  }
}

TEST_CASE("add (same shape and channel broadcast), mul, concat, reshape, sum, mean") {
  Rng rng(7);
  Tensor a = param({2, 3, 4, 5}, rng), b = param({2, 3, 4, 5}, rng), c = param({3}, rng);
  Tensor c4 = param({1, 3, 1, 1}, rng), d = param({2, 2, 4, 5}, rng);
  expect_ok("add", gradcheck([](const Inputs& v) { return ops::add(v[0], v[1]); }, {a, b}));
  expect_ok("add channel [C]", gradcheck([](const Inputs& v) { return ops::add(v[0], v[1]); }, {a, c}));
  expect_ok("add channel [1,C,1,1]", gradcheck([](const Inputs& v) { return ops::add(v[0], v[1]); }, {a, c4}));
  expect_ok("mul", gradcheck([](const Inputs& v) { return ops::mul(v[0], v[1]); }, {a, b}));
  expect_ok("mul scalar", gradcheck([](const Inputs& v) { return ops::mul(v[0], -1.5f); }, {a}));
  expect_ok("concat", gradcheck([](const Inputs& v) { return ops::concat({v[0], v[1], v[0]}); }, {a, d}));
  expect_ok("reshape", gradcheck([](const Inputs& v) { return ops::reshape(v[0], {6, 20}); }, {a}));
  expect_ok("sum", gradcheck([](const Inputs& v) { return ops::sum(v[0]); }, {a}));
  expect_ok("mean", gradcheck([](const Inputs& v) { return ops::mean(v[0]); }, {a}));
}

TEST_CASE("loss gradients: mse, l1, lsgan, weighted soft cross-entropy") {
  Rng rng(8);
  Tensor p = param({2, 2, 5, 3}, rng), t = param({2, 2, 5, 3}, rng);
  expect_ok("mse", gradcheck([](const Inputs& v) { return ops::mse_loss(v[0], v[1]); }, {p, t}));
  // l1 has a kink where pred == target: keep the differences away from it.
  Tensor diff = away_from_zero({2, 2, 5, 3}, rng);
  Tensor t2 = ops::add(p.detach(), diff).detach().requires_grad_();
  expect_ok("l1", gradcheck([](const Inputs& v) { return ops::l1_loss(v[0], v[1]); }, {p, t2}));
  expect_ok("lsgan real", gradcheck([](const Inputs& v) { return ops::lsgan_loss(v[0], true); }, {p}));
  expect_ok("lsgan fake", gradcheck([](const Inputs& v) { return ops::lsgan_loss(v[0], false); }, {p}));

  const int N = 2, Q = 13, H = 3, W = 5;
  Tensor logits = param({N, Q, H, W}, rng, -3.f, 3.f);
  Tensor target = rand_uniform({N, Q, H, W}, rng, 0.f, 1.f);
  for (int n = 0; n < N; ++n)  // normalise the soft targets per pixel
    for (int i = 0; i < H * W; ++i) {
      float s = 0;
      for (int q = 0; q < Q; ++q) s += target.data()[(n * Q + q) * H * W + i];
      for (int q = 0; q < Q; ++q) target.data()[(n * Q + q) * H * W + i] /= s;
    }
  Tensor weight = rand_uniform({N, 1, H, W}, rng, 0.2f, 3.f);
  expect_ok("soft_cross_entropy weighted", gradcheck([&](const Inputs& v) {
    return ops::soft_cross_entropy(v[0], target, weight);
  }, {logits}));
  expect_ok("soft_cross_entropy unweighted", gradcheck([&](const Inputs& v) {
    return ops::soft_cross_entropy(v[0], target, Tensor());
  }, {logits}));
}

// An op whose backward is 5% off: y = x^2 with dy/dx claimed to be 2.1 x.
static Tensor square_with_wrong_backward(const Tensor& x) {
  Tensor y = ops::mul(x.detach(), x.detach());
  if (needs_grad({&x}))
    record(y, "wrong_square", {x}, [=](const Tensor& gy) {
      Tensor g = ops::mul(ops::mul(x.detach(), gy), 2.1f);
      accumulate_grad(x, g);
    });
  return y;
}

// A mean-square loss whose gradient is 3% too large: its entries are ~1/n, so
// only a tolerance relative to the gradient's scale can see the error.
static Tensor mse_with_wrong_backward(const Tensor& p, const Tensor& t) {
  Tensor y;
  {
    NoGrad ng;
    y = ops::mse_loss(p, t);
  }
  if (needs_grad({&p}))
    record(y, "wrong_mse", {p}, [=](const Tensor& gy) {
      Tensor d = ops::add(p.detach(), ops::mul(t, -1.f));
      accumulate_grad(p, ops::mul(d, gy.item() * 2.06f / float(p.numel())));
    });
  return y;
}

TEST_CASE("the gradient check catches a deliberately wrong backward") {
  Rng rng(9);
  Tensor x = param({2, 3, 4, 4}, rng, 0.5f, 1.5f);
  auto wrong = gradcheck([](const Inputs& v) { return square_with_wrong_backward(v[0]); }, {x});
  MESSAGE("wrong backward of x^2: " << describe(wrong));
  CHECK_FALSE(wrong.ok);
  // The same check passes the correct op, so the failure is the backward's.
  expect_ok("x*x", gradcheck([](const Inputs& v) { return ops::mul(v[0], v[0]); }, {x}));

  Tensor p = param({4, 2, 8, 8}, rng), t = rand_uniform({4, 2, 8, 8}, rng, -1.f, 1.f);
  auto wrong_mse = gradcheck([&](const Inputs& v) { return mse_with_wrong_backward(v[0], t); }, {p});
  MESSAGE("mse with a 3% wrong backward: " << describe(wrong_mse));
  CHECK_FALSE(wrong_mse.ok);
  expect_ok("mse", gradcheck([&](const Inputs& v) { return ops::mse_loss(v[0], t); }, {p}));
}
