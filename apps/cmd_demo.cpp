// cmd_demo.cpp — `tinct demo`: the engine end to end on the CPU in seconds.
// A small conv net (conv, batch norm, relu, conv, tanh) learns a fixed random
// convolution; the loss is printed as it falls, and the trained weights can be
// saved as safetensors.
#include <chrono>
#include <cstdio>
#include <stdexcept>

#include "apps/cli.h"
#include "engine/autograd.h"
#include "engine/checkpoint.h"
#include "engine/nn.h"
#include "engine/optim.h"

namespace tinct::cli {

int cmd_demo(const Args& in) {
  Args args = in;
  if (take_flag(args, "--help") || take_flag(args, "-h")) {
    std::puts("usage: tinct demo [--steps N] [--seed S] [--save FILE.safetensors]\n"
              "Trains a small conv net on a fixed random mapping on the CPU and prints the loss.");
    return 0;
  }
  std::string v, save;
  int steps = 200;
  uint64_t seed = 1;
  if (take_option(args, "--steps", v)) steps = int(parse_int("--steps", v, 1, 1000000));
  if (take_option(args, "--seed", v)) seed = uint64_t(parse_int("--seed", v, 0, 1L << 62));
  take_option(args, "--save", save);
  if (!args.empty()) throw std::invalid_argument("unexpected argument '" + args[0] + "' (see tinct demo --help)");

  Rng rng(seed);
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
  std::printf("demo: %lld parameters, batch 8 of 2x16x16, Adam lr %.0e, %d steps\n",
              (long long)net.num_parameters(), double(o.lr), steps);
  auto t0 = std::chrono::steady_clock::now();
  float first = 0, loss_v = 0;
  for (int step = 1; step <= steps; ++step) {
    Tensor x = rand_uniform({8, 2, 16, 16}, rng, -1.f, 1.f), y;
    {
      NoGrad ng;
      y = ops::tanh(teacher(x));
    }
    opt.zero_grad();
    Tensor loss = ops::mse_loss(net(x), y);
    loss.backward();
    opt.step();
    loss_v = loss.item();
    if (step == 1) first = loss_v;
    if (step == 1 || step % 25 == 0 || step == steps) std::printf("step %5d  loss %.6f\n", step, double(loss_v));
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("loss %.6f -> %.6f (%.1fx lower) in %.2f s, %.0f images/s\n", double(first), double(loss_v),
              double(first / loss_v), secs, steps * 8 / secs);
  if (!save.empty()) {
    save_checkpoint(save, net.state_dict(), {{"model", "demo"}});
    std::printf("saved %s\n", save.c_str());
  }
  return 0;
}

}  // namespace tinct::cli
