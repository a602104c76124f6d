// test_train_tiny.cpp — a small conv net learns a fixed mapping on random data
// on the CPU, and its loss falls at least tenfold in a few seconds.
#include <cstdio>

#include "doctest/doctest.h"
#include "engine/autograd.h"
#include "engine/nn.h"
#include "engine/optim.h"

using namespace tinct;

TEST_CASE("a small conv net fits a fixed random conv mapping") {
  Rng rng(42);
  // The target: a fixed random 3x3 conv followed by tanh.
  nn::Conv2d teacher(2, 3, 3, 1, 1, 1, true, rng);
  nn::Sequential net;
  net.add(std::make_shared<nn::Conv2d>(2, 16, 3, 1, 1, 1, false, rng));
  net.add(std::make_shared<nn::BatchNorm2d>(16));
  net.add(std::make_shared<nn::ReLU>());
  net.add(std::make_shared<nn::Conv2d>(16, 3, 3, 1, 1, 1, true, rng));
  net.add(std::make_shared<nn::Tanh>());
  optim::AdamOptions o;
  o.lr = 3e-3f;
  optim::Adam opt(net.parameters(), o);

  float first = 0, last = 0;
  for (int step = 0; step < 300; ++step) {
    Tensor x = rand_uniform({8, 2, 12, 12}, rng, -1.f, 1.f);
    Tensor y;
    {
      NoGrad ng;
      y = ops::tanh(teacher(x));
    }
    opt.zero_grad();
    Tensor loss = ops::mse_loss(net(x), y);
    loss.backward();
    opt.step();
    if (step == 0) first = loss.item();
    last = loss.item();
    if (step % 50 == 0) MESSAGE("step " << step << " loss " << loss.item());
  }
  MESSAGE("loss " << first << " -> " << last << " (" << first / last << "x lower)");
  CHECK(last * 10 < first);
}
