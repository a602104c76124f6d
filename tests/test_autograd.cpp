// test_autograd.cpp — the tape: reuse, branches, accumulation, NoGrad, errors.
#include <cmath>
#include <stdexcept>

#include "doctest/doctest.h"
#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/random.h"

using namespace tinct;

static Tensor vec(std::vector<float> v) { return Tensor::from_vector({int64_t(v.size())}, v); }

TEST_CASE("a tensor used twice sums its gradients") {
  Tensor x = vec({1, -2, 3}).requires_grad_();
  Tensor y = ops::sum(ops::mul(x, x));  // d/dx sum x^2 = 2x
  y.backward();
  CHECK(x.grad().to_vector() == std::vector<float>{2, -4, 6});
}

TEST_CASE("branches that rejoin: y = a*b + a, gradient through both paths") {
  Tensor a = vec({2, 3}).requires_grad_();
  Tensor b = vec({5, 7}).requires_grad_();
  Tensor y = ops::sum(ops::add(ops::mul(a, b), a));
  y.backward();
  CHECK(a.grad().to_vector() == std::vector<float>{6, 8});  // b + 1
  CHECK(b.grad().to_vector() == std::vector<float>{2, 3});  // a
  CHECK(y.item() == doctest::Approx(2 * 5 + 3 * 7 + 2 + 3));
}

TEST_CASE("a diamond: the shared node runs its backward once, after both consumers") {
  Tensor x = vec({1, 2}).requires_grad_();
  Tensor h = ops::mul(x, 3.f);               // shared
  Tensor y = ops::sum(ops::add(ops::mul(h, h), h));  // sum(9x^2 + 3x)
  y.backward();
  CHECK(x.grad().to_vector() == std::vector<float>{18 * 1 + 3, 18 * 2 + 3});
}

TEST_CASE("gradients accumulate over backward calls until zero_grad") {
  Tensor x = vec({1, 2}).requires_grad_();
  ops::sum(ops::mul(x, 2.f)).backward();
  ops::sum(ops::mul(x, 3.f)).backward();
  CHECK(x.grad().to_vector() == std::vector<float>{5, 5});
  x.zero_grad();
  CHECK_FALSE(x.grad().defined());
}

TEST_CASE("add passes one gradient to two inputs without aliasing their buffers") {
  Tensor a = vec({1, 1}).requires_grad_();
  Tensor b = vec({1, 1}).requires_grad_();
  ops::sum(ops::add(a, b)).backward();
  ops::sum(ops::mul(a, 4.f)).backward();  // must change a.grad only
  CHECK(a.grad().to_vector() == std::vector<float>{5, 5});
  CHECK(b.grad().to_vector() == std::vector<float>{1, 1});
}

TEST_CASE("NoGrad records nothing; detach cuts the graph") {
  Tensor x = vec({1, 2}).requires_grad_();
  {
    NoGrad guard;
    Tensor y = ops::mul(x, 2.f);
    CHECK_FALSE(y.requires_grad());
    CHECK_FALSE(static_cast<bool>(y.grad_fn()));
  }
  CHECK(grad_enabled());
  Tensor y = ops::mul(x, 2.f);
  CHECK(y.requires_grad());
  Tensor d = y.detach();
  CHECK_FALSE(d.requires_grad());
  CHECK(d.data() == y.data());  // same storage
  Tensor z = ops::sum(ops::add(ops::mul(d, d), y));
  z.backward();
  CHECK(x.grad().to_vector() == std::vector<float>{2, 2});  // only through y
}

TEST_CASE("intermediate gradients are freed, leaf gradients kept") {
  Tensor x = vec({1, 2}).requires_grad_();
  Tensor h = ops::mul(x, 2.f);
  ops::sum(h).backward();
  CHECK_FALSE(h.grad().defined());
  CHECK(x.grad().defined());
}

TEST_CASE("a deep chain does not overflow the stack") {
  Tensor x = vec({1}).requires_grad_();
  Tensor h = x;
  for (int i = 0; i < 20000; ++i) h = ops::mul(h, 1.0f);
  ops::sum(h).backward();
  CHECK(x.grad().item() == 1.f);
}

TEST_CASE("errors are clear") {
  Tensor x = vec({1, 2});
  CHECK_THROWS_WITH_AS(ops::sum(x).backward(), doctest::Contains("does not require grad"), std::invalid_argument);
  Tensor a = Tensor::zeros({1, 2, 3, 3}), w = Tensor::zeros({4, 3, 3, 3});
  CHECK_THROWS_WITH_AS(ops::conv2d(a, w, Tensor()), doctest::Contains("expects 3 input channels"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(ops::conv2d(Tensor::zeros({1, 3, 2, 2}), w, Tensor()), doctest::Contains("does not fit"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(ops::add(Tensor::zeros({2, 3}), Tensor::zeros({3, 2})), doctest::Contains("must match"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(ops::conv2d(Tensor::zeros({3, 3}), w, Tensor()), doctest::Contains("4-D"),
                       std::invalid_argument);
  Tensor y = ops::mul(vec({1, 2}).requires_grad_(), 2.f);
  CHECK_THROWS_WITH_AS(y.backward(), doctest::Contains("seed"), std::invalid_argument);
}
