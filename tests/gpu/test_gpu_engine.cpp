// test_gpu_engine.cpp — the engine on the GPU against the engine on the CPU:
// every differentiable op through the tape (forward and backward), module
// moves and cross-device copies, the fused Adam step, a stack of ResNet
// basic blocks, and one training step of each colorizer (loss, gradients,
// batch-norm statistics, updated weights) plus its prediction, with free and
// with equalized transposed-convolution phases.
//
// The CPU engine is the oracle (its kernels are checked against the
// references by the CPU tests). Each comparison prints the worst absolute
// and relative error and where (flat index), and the tolerance:
//   ops       rtol * sqrt(k) * max|ref|, k the length of the sums behind one
//             output, rtol 2e-6 (pointwise ops: k = 1)
//   models    run with lr 1e-9, so that the GAN's G step sees the same
//             updated D on both devices (Adam's first step moves each weight
//             by about lr * sign(g), and that sign may differ where g ~ 0).
//             Losses 1e-4 relative; predictions at the initial weights and
//             batch-norm statistics 1e-4 and 1e-3 of max|ref|; gradients
//             (Adam's m = (1 - beta1) g) 0.1 in relative L2 per tensor: an
//             activation within rounding of 0 may land on the other side of
//             a ReLU on one device, which moves gradients upstream by about
//             1% (up to 10% at single elements; the PyTorch parity check in
//             bench/torch_ref measured this), and the GAN generator's 2x2
//             bottleneck (batch norm over 16 values) amplifies rounding to
//             ~2% in emulation, while a wiring bug is O(1);
//             or every element within 1e-5 of the model's largest gradient
//             (gradients that are 0 in exact arithmetic are rounding noise).
// Skipped (exit 77) without a CUDA device (gpu_skip.h).
#include <cmath>
#include <cstdio>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "doctest/doctest.h"
#include "engine/autograd.h"
#include "engine/device.h"
#include "engine/nn.h"
#include "engine/optim.h"
#include "engine/precision.h"
#include "gpu/gpu_skip.h"
#include "gpu/synthetic_batch.h"
#include "kernel_check.h"
#include "models/colorizer.h"
#include "models/resnet.h"

using namespace tinct;

namespace {

uint32_t g_seed = 777;

Tensor rnd(const Shape& s, float lo = -1.f, float hi = 1.f) {
  return Tensor::from_vector(s, kcheck::random_vec(size_t(shape_numel(s)), g_seed++, lo, hi));
}

// A tolerance from the comparison's statistics (max|ref| is in the Diff).
using TolFn = std::function<double(const kcheck::Diff&)>;
// rtol * sqrt(k) * max|ref|: float sums of length k in another order.
TolFn sums_of(double k, double rtol = 2e-6) {
  return [=](const kcheck::Diff& d) { return rtol * std::sqrt(std::max(k, 1.0)) * d.max_ref; };
}
// rel * max|ref|, at least floor: results of a whole network.
TolFn of_max(double rel, double floor = 0.0) {
  return [=](const kcheck::Diff& d) { return std::max(rel * d.max_ref, floor); };
}

// Compares a GPU result with the CPU one; prints one line.
bool compare(const std::string& what, const Tensor& gpu, const Tensor& cpu, const TolFn& tol) {
  REQUIRE(gpu.defined());
  REQUIRE(cpu.defined());
  REQUIRE(gpu.shape() == cpu.shape());
  const std::vector<float> g = gpu.to_vector(), r = cpu.to_vector();
  const kcheck::Diff d = kcheck::diff(g.data(), r.data(), r.size());
  const bool ok = kcheck::report(what.c_str(), d, tol(d));
  CHECK_MESSAGE(ok, what);
  return ok;
}

// Relative L2 error ||gpu - cpu|| / ||cpu|| within tol, or every element
// within abs_floor; prints one line with the worst element and where.
bool compare_l2(const std::string& what, const Tensor& gpu, const Tensor& cpu, double tol, double abs_floor) {
  REQUIRE(gpu.shape() == cpu.shape());
  const std::vector<float> g = gpu.to_vector(), r = cpu.to_vector();
  const kcheck::Diff d = kcheck::diff(g.data(), r.data(), r.size());
  double num = 0, den = 0;
  for (size_t i = 0; i < r.size(); ++i) {
    num += (double(g[i]) - r[i]) * (double(g[i]) - r[i]);
    den += double(r[i]) * r[i];
  }
  const double rel = std::sqrt(num) / std::max(std::sqrt(den), 1e-30);
  const bool ok = rel <= tol || d.max_abs <= abs_floor;
  std::printf("  %-44s n=%-8zu max|ref|=%-9.3g rel-L2=%.3g  worst abs=%.3g @%zu  tol=%.3g %s\n", what.c_str(),
              d.n, d.max_ref, rel, d.max_abs, d.at_abs, tol, ok ? "ok" : "FAIL");
  CHECK_MESSAGE(ok, what);
  return ok;
}

// Runs `f` on CPU inputs and on GPU copies of them, then backward of
// sum(out * R) (R random, so every output element has its own weight), and
// compares the output and the gradient of every input that requires grad.
// k: the length of the sums behind one output (forward) and one gradient.
using OpFn = std::function<Tensor(const std::vector<Tensor>&)>;
void check_op(const std::string& name, std::vector<Tensor> in, const std::vector<bool>& grad, const OpFn& f,
              double k_fwd, double k_bwd) {
  std::vector<Tensor> cpu_in, gpu_in;
  for (size_t i = 0; i < in.size(); ++i) {
    if (!in[i].defined()) {
      cpu_in.emplace_back();
      gpu_in.emplace_back();
      continue;
    }
    cpu_in.push_back(in[i].clone().requires_grad_(grad[i]));
    gpu_in.push_back(in[i].to(Device::CUDA).requires_grad_(grad[i]));
  }
  Tensor yc = f(cpu_in), yg = f(gpu_in);
  REQUIRE(yg.device() == Device::CUDA);
  const Tensor R = rnd(yc.shape());
  ops::sum(ops::mul(yc, R)).backward();
  ops::sum(ops::mul(yg, R.to(Device::CUDA))).backward();
  compare(name + " forward", yg, yc, sums_of(k_fwd));
  for (size_t i = 0; i < in.size(); ++i)
    if (grad[i]) compare(name + " grad input " + std::to_string(i), gpu_in[i].grad(), cpu_in[i].grad(), sums_of(k_bwd));
}

}  // namespace

TEST_CASE("device plumbing: to(), move_to_, item, copies, fill") {
  Tensor a = rnd({3, 5});
  Tensor g = a.to(Device::CUDA);
  CHECK(g.device() == Device::CUDA);
  CHECK(g.to_vector() == a.to_vector());
  CHECK(g.to(Device::CUDA).same(g));
  Tensor back = g.to(Device::CPU);
  CHECK(back.to_vector() == a.to_vector());
  Tensor f = Tensor::full({7}, 2.5f, Device::CUDA);
  CHECK(f.to_vector() == std::vector<float>(7, 2.5f));
  CHECK(Tensor::from_vector({}, {4.25f}, Device::CUDA).item() == 4.25f);
  Tensor c = Tensor::empty({3, 5}, Device::CUDA);
  c.copy_from(g);  // device to device
  CHECK(c.to_vector() == a.to_vector());
  Tensor p = rnd({4});
  Tensor alias = p;
  p.move_to_(Device::CUDA);
  CHECK(alias.device() == Device::CUDA);  // every handle follows
  CHECK_THROWS_WITH_AS(ops::add(g, a), doctest::Contains("different devices"), std::invalid_argument);
  MESSAGE(device::memory_summary());
}

TEST_CASE("ops: GPU engine vs CPU engine, forward and backward") {
  using V = std::vector<Tensor>;
  // conv2d: stride 2, dilation 2 and 4, a 1-channel 7x7/2 stem, odd sizes
  check_op("conv2d 3->5 3x3 s2 p1 9x7", {rnd({2, 3, 9, 7}), rnd({5, 3, 3, 3}), rnd({5})}, {true, true, true},
           [](const V& t) { return ops::conv2d(t[0], t[1], t[2], 2, 1, 1); }, 27, 2 * 5 * 4);
  check_op("conv2d 4->6 3x3 d2 p2 11x10", {rnd({1, 4, 11, 10}), rnd({6, 4, 3, 3}), Tensor()}, {true, true, false},
           [](const V& t) { return ops::conv2d(t[0], t[1], Tensor(), 1, 2, 2); }, 36, 110);
  check_op("conv2d 2->3 3x3 d4 p4 13x13", {rnd({1, 2, 13, 13}), rnd({3, 2, 3, 3})}, {true, true},
           [](const V& t) { return ops::conv2d(t[0], t[1], Tensor(), 1, 4, 4); }, 18, 169);
  check_op("conv2d 1->8 7x7 s2 p3 16x16", {rnd({2, 1, 16, 16}), rnd({8, 1, 7, 7})}, {true, true},
           [](const V& t) { return ops::conv2d(t[0], t[1], Tensor(), 2, 3, 1); }, 49, 128);
  check_op("conv_transpose2d 6->3 4x4 s2 p1 5x4", {rnd({2, 6, 5, 4}), rnd({6, 3, 4, 4}), rnd({3})},
           {true, true, true}, [](const V& t) { return ops::conv_transpose2d(t[0], t[1], t[2], 2, 1, 0, 1); }, 96,
           2 * 10 * 8);
  check_op("conv_transpose2d 3->2 3x3 s2 p1 op1", {rnd({1, 3, 4, 5}), rnd({3, 2, 3, 3})}, {true, true},
           [](const V& t) { return ops::conv_transpose2d(t[0], t[1], Tensor(), 2, 1, 1, 1); }, 27, 80);
  // batch norm, train (running statistics updated) and eval
  for (bool training : {true, false}) {
    Tensor rm = rnd({5}, -0.2f, 0.2f), rv = rnd({5}, 0.5f, 1.5f);
    Tensor rm_c = rm.clone(), rv_c = rv.clone(), rm_g = rm.to(Device::CUDA), rv_g = rv.to(Device::CUDA);
    check_op(std::string("batch_norm ") + (training ? "train" : "eval"), {rnd({3, 5, 4, 3}), rnd({5}), rnd({5})},
             {true, true, true},
             [&](const V& t) {
               const bool g = t[0].device() == Device::CUDA;
               return ops::batch_norm(t[0], t[1], t[2], g ? rm_g : rm_c, g ? rv_g : rv_c, training, 0.1f, 1e-5f);
             },
             36, 36);
    compare("batch_norm running_mean", rm_g, rm_c, of_max(1e-5, 1e-7));
    compare("batch_norm running_var", rv_g, rv_c, of_max(1e-5, 1e-7));
  }
  {
    // Fused on the GPU, batch_norm then relu on the CPU.
    Tensor rm = rnd({6}, -0.2f, 0.2f), rv = rnd({6}, 0.5f, 1.5f);
    Tensor rm_c = rm.clone(), rv_c = rv.clone(), rm_g = rm.to(Device::CUDA), rv_g = rv.to(Device::CUDA);
    check_op("batch_norm_relu train (fused on GPU)", {rnd({3, 6, 5, 3}), rnd({6}), rnd({6})}, {true, true, true},
             [&](const V& t) {
               const bool g = t[0].device() == Device::CUDA;
               return ops::batch_norm_relu(t[0], t[1], t[2], g ? rm_g : rm_c, g ? rv_g : rv_c, true, 0.1f, 1e-5f);
             },
             45, 45);
    compare("batch_norm_relu running_mean", rm_g, rm_c, of_max(1e-5, 1e-7));
    compare("batch_norm_relu running_var", rv_g, rv_c, of_max(1e-5, 1e-7));
  }
  check_op("relu", {rnd({2, 3, 5, 7})}, {true}, [](const V& t) { return ops::relu(t[0]); }, 1, 1);
  check_op("leaky_relu 0.2", {rnd({2, 3, 5, 7})}, {true}, [](const V& t) { return ops::leaky_relu(t[0], 0.2f); }, 1, 1);
  check_op("tanh", {rnd({2, 3, 5, 7}, -3, 3)}, {true}, [](const V& t) { return ops::tanh(t[0]); }, 1, 1);
  check_op("sigmoid", {rnd({2, 3, 5, 7}, -5, 5)}, {true}, [](const V& t) { return ops::sigmoid(t[0]); }, 1, 1);
  check_op("max_pool2d 3/2 p1 9x11", {rnd({2, 3, 9, 11})}, {true},
           [](const V& t) { return ops::max_pool2d(t[0], 3, 2, 1); }, 1, 9);
  check_op("upsample nearest 5x7->11x13", {rnd({2, 3, 5, 7})}, {true},
           [](const V& t) { return ops::upsample(t[0], 11, 13, Upsample::Nearest); }, 1, 9);
  check_op("upsample bilinear 5x7->11x13", {rnd({2, 3, 5, 7})}, {true},
           [](const V& t) { return ops::upsample(t[0], 11, 13, Upsample::Bilinear); }, 4, 36);
  check_op("concat 3+2 channels", {rnd({2, 3, 4, 5}), rnd({2, 2, 4, 5})}, {true, true},
           [](const V& t) { return ops::concat({t[0], t[1]}); }, 1, 1);
  check_op("add same shape", {rnd({2, 3, 4, 5}), rnd({2, 3, 4, 5})}, {true, true},
           [](const V& t) { return ops::add(t[0], t[1]); }, 1, 1);
  check_op("add per-channel [C]", {rnd({2, 3, 4, 5}), rnd({3})}, {true, true},
           [](const V& t) { return ops::add(t[0], t[1]); }, 1, 40);
  check_op("mul", {rnd({2, 3, 4, 5}), rnd({2, 3, 4, 5})}, {true, true},
           [](const V& t) { return ops::mul(t[0], t[1]); }, 1, 1);
  check_op("mul by 0.37", {rnd({2, 3, 4, 5})}, {true}, [](const V& t) { return ops::mul(t[0], 0.37f); }, 1, 1);
  check_op("sum", {rnd({3, 7, 11})}, {true}, [](const V& t) { return ops::sum(t[0]); }, 231, 1);
  check_op("mean", {rnd({3, 7, 11})}, {true}, [](const V& t) { return ops::mean(t[0]); }, 231, 1);
  check_op("reshape", {rnd({2, 3, 4})}, {true}, [](const V& t) { return ops::reshape(t[0], {6, 4}); }, 1, 1);
  // losses (scalars): the upstream gradient R is a device scalar on the GPU
  check_op("mse_loss", {rnd({2, 2, 5, 7}), rnd({2, 2, 5, 7})}, {true, true},
           [](const V& t) { return ops::mse_loss(t[0], t[1]); }, 140, 1);
  check_op("l1_loss", {rnd({2, 2, 5, 7}), rnd({2, 2, 5, 7})}, {true, true},
           [](const V& t) { return ops::l1_loss(t[0], t[1]); }, 140, 1);
  check_op("lsgan_loss real", {rnd({2, 1, 6, 6})}, {true}, [](const V& t) { return ops::lsgan_loss(t[0], true); },
           72, 1);
  check_op("lsgan_loss fake", {rnd({2, 1, 6, 6})}, {true}, [](const V& t) { return ops::lsgan_loss(t[0], false); },
           72, 1);
  {
    // 313 classes, soft targets that sum to 1 per pixel, positive weights
    const int N = 2, Q = 313, H = 4, W = 5;
    Tensor target = rnd({N, Q, H, W}, 0.f, 1.f);
    std::vector<float> tv = target.to_vector();
    for (int n = 0; n < N; ++n)
      for (int p = 0; p < H * W; ++p) {
        double s = 0;
        for (int q = 0; q < Q; ++q) s += tv[(size_t(n) * Q + q) * H * W + p];
        for (int q = 0; q < Q; ++q) tv[(size_t(n) * Q + q) * H * W + p] = float(tv[(size_t(n) * Q + q) * H * W + p] / s);
      }
    check_op("soft_cross_entropy Q=313 weighted", {rnd({N, Q, H, W}, -4, 4), Tensor::from_vector(target.shape(), tv),
             rnd({N, 1, H, W}, 0.2f, 3.f)}, {true, false, false},
             [](const V& t) { return ops::soft_cross_entropy(t[0], t[1], t[2]); }, N * Q * H * W, Q);
  }
}

TEST_CASE("Adam: the fused GPU step equals the CPU step, odd sizes, 3 steps") {
  const std::vector<Shape> shapes{{1}, {5}, {4097}, {3, 3, 7, 5}, {64}};
  std::vector<Tensor> pc, pg;
  for (const Shape& s : shapes) {
    Tensor t = rnd(s);
    pc.push_back(t.clone().requires_grad_());
    pg.push_back(t.to(Device::CUDA).requires_grad_());
  }
  optim::Adam oc(pc, optim::adamw(3e-3f, 0.05f)), og(pg, optim::adamw(3e-3f, 0.05f));
  for (int step = 0; step < 3; ++step) {
    oc.zero_grad();
    og.zero_grad();
    for (size_t i = 0; i < shapes.size(); ++i) {
      if (step == 1 && i == 2) continue;  // a parameter without a gradient is left alone
      Tensor g = rnd(shapes[i]);
      accumulate_grad(pc[i], g);
      accumulate_grad(pg[i], g.to(Device::CUDA));
    }
    oc.step();
    og.step();
  }
  for (size_t i = 0; i < shapes.size(); ++i) compare("adamw param " + std::to_string(i), pg[i], pc[i], of_max(1e-6, 1e-7));
  const auto sc = oc.state_dict(), sg = og.state_dict();
  for (auto& [name, t] : sc)
    if (t.numel() > 1) compare("adamw state " + name, sg.at(name), t, of_max(1e-5, 1e-9));
}

TEST_CASE("ResNet basic blocks (stride 1 and 2), forward and backward, as modules") {
  Rng rc(5), rg(5);
  models::BasicBlock c1(8, 8, 1, rc), c2(8, 16, 2, rc);
  models::BasicBlock g1(8, 8, 1, rg), g2(8, 16, 2, rg);
  g1.to(Device::CUDA);
  g2.to(Device::CUDA);
  Tensor x = rnd({2, 8, 12, 10});
  Tensor xc = x.clone().requires_grad_(), xg = x.to(Device::CUDA).requires_grad_();
  Tensor yc = c2(c1(xc)), yg = g2(g1(xg));
  compare("resnet blocks forward", yg, yc, of_max(1e-4));
  const Tensor R = rnd(yc.shape());
  ops::sum(ops::mul(yc, R)).backward();
  ops::sum(ops::mul(yg, R.to(Device::CUDA))).backward();
  compare("resnet blocks grad input", xg.grad(), xc.grad(), of_max(1e-4));
  const auto pc = c1.named_parameters(), pg = g1.named_parameters();
  for (size_t i = 0; i < pc.size(); ++i)
    compare("resnet block1 grad " + pc[i].first, pg[i].second.grad(), pc[i].second.grad(), of_max(1e-4));
}


namespace {

// The tolerances of one_step_each_colorizer, relative: the prediction (of
// its largest value), each loss, each gradient (L2), the running statistics.
struct StepTol {
  double predict, loss, grad_l2, running;
};

// Each colorizer at `prec` on both devices (the CPU reference rounds the
// operands as the tensor cores do, engine/precision.h): one prediction with
// the same initial weights, then one training step; losses, gradients,
// updated weights and batch-norm statistics compared.
// phases: the colorizers' --phases ("equalized": the weights and gradients
// of their transposed convolutions projected on the device every step).
void one_step_each_colorizer(Precision prec, const StepTol& tol, const std::string& phases = "free") {
  const PrecisionScope scope(prec);
  // The GAN runs at 64x64, batch 4: at 32x32 its generator's bottleneck is
  // 1x1, where batch norm over 2 values (x1 - x2) / |x1 - x2| turns rounding
  // differences into large gradient differences.
  struct Case {
    const char* kind;
    int size, batch;
  };
  const float lr = 1e-9f;
  for (const Case c : {Case{"regression", 32, 2}, Case{"classification", 32, 2}, Case{"gan", 64, 4}}) {
    INFO(c.kind);
    MESSAGE("model " << std::string(c.kind) << " (compact), batch " << c.batch << ", " << c.size << "x" << c.size
                     << ", " << std::string(precision_name(prec)) << ", phases " << phases);
    models::ColorizerOptions o;
    o.kind = c.kind;
    o.preset = "compact";
    o.seed = 11;
    o.lr = lr;
    auto mc = models::make_colorizer(o);
    o.device = Device::CUDA;
    auto mg = models::make_colorizer(o);
    mc->set_phases(phases);
    mg->set_phases(phases);
    data::Batch b = synthetic_batch(c.batch, c.size);
    // Prediction first, with the same initial weights: after a step the
    // weights differ by up to ~lr where a gradient's sign differs.
    Tensor L = Tensor::from_vector({1, 1, c.size, c.size}, std::vector<float>(b.L.begin(), b.L.begin() + c.size * c.size));
    const Tensor pc = mc->predict_ab(L), pg = mg->predict_ab(L);
    CHECK(pg.device() == Device::CPU);
    compare("predict_ab (eval, initial weights)", pg, pc, of_max(tol.predict));
    // Each model's own transform: on the GPU the classification model makes
    // its soft targets there (soft_encode_device), on the CPU densely here.
    data::Batch bc = b, bg = b;
    if (auto t = mc->batch_transform()) t(bc);
    if (auto t = mg->batch_transform()) t(bg);
    if (std::string(c.kind) == "classification") CHECK(!bg.extra_f.count("target"));
    const models::Losses lc = mc->train_step(bc), lg = mg->train_step(bg);
    REQUIRE(lc.size() == lg.size());
    for (size_t i = 0; i < lc.size(); ++i) {
      const double e = std::fabs(lc[i].second - lg[i].second) / std::max(1e-6, double(std::fabs(lc[i].second)));
      std::printf("  %-44s cpu=%.7g gpu=%.7g rel=%.3g\n", ("loss " + lc[i].first).c_str(), lc[i].second,
                  lg[i].second, e);
      CHECK_MESSAGE(e <= tol.loss, "loss " << lc[i].first);
    }
    const auto sc = mc->state(true), sg = mg->state(true);
    REQUIRE(sc.size() == sg.size());
    // Gradients that are zero in exact arithmetic (a conv bias followed by
    // batch norm) come out as rounding noise on both devices: within 1e-5 of
    // the model's largest gradient they pass.
    double gmax = 0;
    for (auto& [name, t] : sc)
      if (name.find("exp_avg") != std::string::npos && name.find("exp_avg_sq") == std::string::npos)
        for (float v : t.to_vector()) gmax = std::max(gmax, double(std::fabs(v)));
    for (auto& [name, t] : sc) {
      if (name.find("exp_avg_sq") != std::string::npos || name.rfind("prior.", 0) == 0 || t.numel() == 1) continue;
      const Tensor g = sg.at(name);
      CHECK_MESSAGE(g.device() == Device::CUDA, name);
      if (name.find("exp_avg") != std::string::npos) {
        compare_l2(name + " (gradient)", g, t, tol.grad_l2, 1e-5 * gmax);
      } else if (name.find("running_") != std::string::npos) {
        compare(name, g, t, of_max(tol.running, 1e-6));
      } else {
        compare(name + " (updated)", g, t, of_max(1e-6, 2.5 * lr));
      }
    }
  }
}

}  // namespace

TEST_CASE("each colorizer: one training step and a prediction, GPU vs CPU") {
  one_step_each_colorizer(Precision::fp32, {1e-4, 1e-4, 0.1, 1e-3});
}

// --phases equalized on the GPU: the projection runs on the device
// (kernels/deconv_phases/cuda_1_per_kernel.cu, the reference's bits), on
// the initial weights and on each step's gradients and weights, so both
// devices take the same step.
TEST_CASE("each colorizer with phases equalized: one training step and a prediction, GPU vs CPU") {
  one_step_each_colorizer(Precision::fp32, {1e-4, 1e-4, 0.1, 1e-3}, "equalized");
}

TEST_CASE("equalize_deconv_phases_: in place on the GPU, the CPU's values") {
  const Tensor w = rnd({33, 7, 4, 4}, -3.f, 3.f);
  Tensor c = w.clone(), g = w.to(Device::CUDA);
  const float* before = g.data();
  ops::equalize_deconv_phases_(c);
  ops::equalize_deconv_phases_(g);
  CHECK(g.device() == Device::CUDA);
  CHECK(g.data() == before);  // in place: the parameter the optimizer holds
  compare("equalize_deconv_phases_ [33, 7, 4, 4]", g, c, of_max(0.0));
  Tensor bad = Tensor::zeros({2, 2, 3, 3}, Device::CUDA);
  CHECK_THROWS_AS(ops::equalize_deconv_phases_(bad), std::invalid_argument);
}

// The tensor-core convolutions (conv variants 4 / 5) inside the models: every
// pass, the stride-2 encoders and the GAN's transposed convolutions (backward-
// data by output phases) included. Both devices multiply the same rounded
// operands; only the order of the fp32 additions differs, and a sum that
// lands on the other side of a rounding boundary changes the next layer's
// operand by one TF32 / BF16 step, which the GAN's small batch norms (16
// values a channel at its bottleneck) then amplify in the gradients. The
// worst seen in the CUDA emulator (2026-12-07; prediction of max, loss,
// gradient L2, running statistics): tf32 3.0e-4, 4.6e-5, 0.16, 6.5e-4;
// bf16 1.2e-3, 3.2e-4, 0.36 (the GAN's generator; regression 0.012,
// classification 0.083), 4.5e-3. The tolerances leave 2-8x that; a pass
// that drops or misroutes a gradient gives 1 or more.
TEST_CASE("each colorizer at tf32 and bf16: one training step and a prediction, GPU vs CPU") {
  one_step_each_colorizer(Precision::tf32, {2e-3, 5e-4, 0.35, 5e-3});
  one_step_each_colorizer(Precision::bf16, {1e-2, 3e-3, 0.7, 3e-2});
}
