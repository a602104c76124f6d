// batchnorm.cpp — batch_norm over NCHW or channels-last, train and eval, CPU or CUDA; and
// batch_norm_act (batch norm + ReLU / leaky ReLU), fused in training.
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/device.h"
#include "engine/ops.h"
#include "engine/ops/op_util.h"

namespace tinct::ops {

namespace {

// N, C, HW as the kernels see them: a channels-last x [N][H][W][C] is the
// NCHW tensor [N*H*W][C][1][1] in memory (engine/layout.h); `batch` is the
// real N (for TINCT_BN_GROUPS, whose slices are whole samples either way).
struct BnDims {
  int N, C, HW, batch;
  Device dev;
};

// The checks both ops share; the sizes and the device.
BnDims check_bn(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& running_mean,
                const Tensor& running_var, bool training, const char* op) {
  check_4d(x, op, "input");
  const ChannelDims k = channel_dims(x);
  const int N = i32(x.size(0)), C = k.C, HW = i32(x.size(2) * x.size(3));
  for (const Tensor* t : {&gamma, &beta, &running_mean, &running_var})
    check_arg(t->defined() && t->numel() == C, op,
              "gamma, beta and the running statistics must hold " + std::to_string(C) + " values");
  const Device dev = same_device({&x, &gamma, &beta, &running_mean, &running_var}, op);
  check_arg(!training || int64_t(N) * HW > 1, op, "training needs more than one value per channel, input is " +
                                                     shape_str(x.shape()));
  return {k.N, C, k.HW, N, dev};
}

// G of TINCT_BN_GROUPS in training (1 without it); N must divide by it.
int batch_norm_groups_for(int N, const char* op) {
  const int G = batch_norm_groups();
  check_arg(N % G == 0, op, "TINCT_BN_GROUPS=" + std::to_string(G) + " does not divide the batch of " +
                                std::to_string(N));
  return G;
}

}  // namespace

int batch_norm_groups() {
  static const int g = [] {
    const char* e = std::getenv("TINCT_BN_GROUPS");
    const int v = e ? std::atoi(e) : 1;
    return v >= 1 ? v : 1;
  }();
  return g;
}

Tensor batch_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& running_mean,
                  Tensor& running_var, bool training, float momentum, float eps) {
  const char* op = "batch_norm";
  ProfileRange range(op);
  const BnDims d = check_bn(x, gamma, beta, running_mean, running_var, training, op);
  const int N = d.N, C = d.C, HW = d.HW;  // plain variables: lambdas capture them
  const Device dev = d.dev;
  Tensor y = Tensor::empty_like(x);
  if (training) {
    // G > 1 (ghost batch norm, ops.h): slice g is samples [g n, (g+1) n),
    // contiguous in either layout, normalised with its own statistics.
    const int G = batch_norm_groups_for(d.batch, op), n = N / G;
    const size_t per = size_t(n) * C * HW;
    Tensor save_mean = Tensor::empty({int64_t(G) * C}, dev), save_invstd = Tensor::empty({int64_t(G) * C}, dev);
    auto forward = [&](int g, float* rm, float* rv) {
      const float* xg = x.data() + g * per;
      float *yg = y.data() + g * per, *sm = save_mean.data() + size_t(g) * C, *si = save_invstd.data() + size_t(g) * C;
      TINCT_DISPATCH(dev,
                     cuda::batchnorm_fwd_train(n, C, HW, xg, gamma.data(), beta.data(), eps, momentum, rm, rv, yg,
                                               sm, si),
                     cpu::batchnorm_fwd_train(n, C, HW, xg, gamma.data(), beta.data(), eps, momentum, rm, rv, yg,
                                              sm, si));
    };
    if (G == 1) {
      forward(0, running_mean.data(), running_var.data());
    } else {
      // Each slice updates its own copy of the running statistics; they
      // become the copies' mean, as data-parallel ranks' average does.
      std::vector<float> mean_sum(size_t(C), 0.f), var_sum(size_t(C), 0.f);
      for (int g = 0; g < G; ++g) {
        Tensor rm = running_mean.clone(), rv = running_var.clone();
        forward(g, rm.data(), rv.data());
        const std::vector<float> m = rm.to_vector(), v = rv.to_vector();
        for (int c = 0; c < C; ++c) mean_sum[size_t(c)] += m[size_t(c)], var_sum[size_t(c)] += v[size_t(c)];
      }
      for (int c = 0; c < C; ++c) mean_sum[size_t(c)] *= 1.f / float(G), var_sum[size_t(c)] *= 1.f / float(G);
      device::copy(running_mean.data(), dev, mean_sum.data(), Device::CPU, size_t(C) * sizeof(float));
      device::copy(running_var.data(), dev, var_sum.data(), Device::CPU, size_t(C) * sizeof(float));
    }
    if (needs_grad({&x, &gamma, &beta})) {
      Tensor xs = x.detach(), gs = gamma.detach();
      record(y, op, {x, gamma, beta}, [=](const Tensor& gy) {
        Tensor gx = Tensor::empty_like(x);
        Tensor gg = Tensor::zeros({C}, dev), gb = Tensor::zeros({C}, dev);
        for (int g = 0; g < G; ++g) {
          // Slices after the first get their own sums, added on the host.
          Tensor ggs = g == 0 ? gg : Tensor::zeros({C}, dev), gbs = g == 0 ? gb : Tensor::zeros({C}, dev);
          const float *xg = xs.data() + g * per, *gyg = gy.data() + g * per;
          const float *sm = save_mean.data() + size_t(g) * C, *si = save_invstd.data() + size_t(g) * C;
          float* gxg = gx.data() + g * per;
          TINCT_DISPATCH(dev,
                         cuda::batchnorm_bwd_train(n, C, HW, xg, gyg, gs.data(), sm, si, gxg, ggs.data(), gbs.data()),
                         cpu::batchnorm_bwd_train(n, C, HW, xg, gyg, gs.data(), sm, si, gxg, ggs.data(), gbs.data()));
          if (g > 0) {
            std::vector<float> a = gg.to_vector(), b = gb.to_vector();
            const std::vector<float> da = ggs.to_vector(), db = gbs.to_vector();
            for (int c = 0; c < C; ++c) a[size_t(c)] += da[size_t(c)], b[size_t(c)] += db[size_t(c)];
            device::copy(gg.data(), dev, a.data(), Device::CPU, size_t(C) * sizeof(float));
            device::copy(gb.data(), dev, b.data(), Device::CPU, size_t(C) * sizeof(float));
          }
        }
        accumulate_grad(x, gx);
        accumulate_grad(gamma, gg);
        accumulate_grad(beta, gb);
      });
    }
  } else {
    TINCT_DISPATCH(dev,
                   cuda::batchnorm_fwd_eval(N, C, HW, x.data(), gamma.data(), beta.data(), running_mean.data(),
                                            running_var.data(), eps, y.data()),
                   cpu::batchnorm_fwd_eval(N, C, HW, x.data(), gamma.data(), beta.data(), running_mean.data(),
                                               running_var.data(), eps, y.data()));
    if (needs_grad({&x, &gamma, &beta})) {
      // The statistics are constants in eval mode: keep a copy, since a later
      // training step would update the running buffers in place.
      Tensor xs = x.detach(), gs = gamma.detach(), rm = running_mean.clone(), rv = running_var.clone();
      record(y, op, {x, gamma, beta}, [=](const Tensor& gy) {
        Tensor gx = Tensor::empty_like(x);
        Tensor gg = Tensor::zeros({C}, dev), gb = Tensor::zeros({C}, dev);
        TINCT_DISPATCH(dev,
                       cuda::batchnorm_bwd_eval(N, C, HW, xs.data(), gy.data(), gs.data(), rm.data(), rv.data(),
                                                eps, gx.data(), gg.data(), gb.data()),
                       cpu::batchnorm_bwd_eval(N, C, HW, xs.data(), gy.data(), gs.data(), rm.data(),
                                               rv.data(), eps, gx.data(), gg.data(), gb.data()));
        accumulate_grad(x, gx);
        accumulate_grad(gamma, gg);
        accumulate_grad(beta, gb);
      });
    }
  }
  return y;
}

// act(y) for the composed path.
static Tensor apply_act(const Tensor& y, Act act, float slope) {
  switch (act) {
    case Act::Relu: return relu(y);
    case Act::LeakyRelu: return leaky_relu(y, slope);
    case Act::Tanh: return tanh(y);
    case Act::Sigmoid: return sigmoid(y);
  }
  return y;
}

Tensor batch_norm_act(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& running_mean,
                      Tensor& running_var, bool training, Act act, float slope, float momentum, float eps) {
  // Fused in training only (eval mode has no fused backward; it fuses into
  // the convolution instead), without ghost batches: on the CPU ReLU and
  // leaky ReLU (slope >= 0: the backward's mask is read off the output), on
  // the GPU ReLU.
  const bool simple = training && batch_norm_groups() == 1 && x.defined();
  const bool cpu_fused = simple && x.device() == Device::CPU && fusion_enabled() &&
                         (act == Act::Relu || (act == Act::LeakyRelu && slope >= 0.f));
  const bool cuda_fused = simple && x.device() == Device::CUDA && act == Act::Relu;
  if (!cpu_fused && !cuda_fused)
    return apply_act(batch_norm(x, gamma, beta, running_mean, running_var, training, momentum, eps), act, slope);
  const char* op = act == Act::Relu ? "batch_norm_relu" : "batch_norm_leaky_relu";
  ProfileRange range(op);
  const BnDims d = check_bn(x, gamma, beta, running_mean, running_var, training, op);
  [[maybe_unused]] const int N = d.N, C = d.C, HW = d.HW;  // plain variables: lambdas capture them
  const Device dev = d.dev;
  Tensor y = Tensor::empty_like(x);
  Tensor save_mean = Tensor::empty({C}, dev), save_invstd = Tensor::empty({C}, dev);
  TINCT_DISPATCH(dev,
                 cuda::batchnorm_relu_fwd_train(N, C, HW, x.data(), gamma.data(), beta.data(), eps, momentum,
                                                running_mean.data(), running_var.data(), y.data(),
                                                save_mean.data(), save_invstd.data()),
                 cpu::batchnorm_act_fwd_train(act, slope, N, C, HW, x.data(), gamma.data(), beta.data(), eps,
                                              momentum, running_mean.data(), running_var.data(), y.data(),
                                              save_mean.data(), save_invstd.data()));
  if (needs_grad({&x, &gamma, &beta})) {
    // The GPU recomputes the mask from x and the statistics (beta needed);
    // the CPU reads it off the output y (detached: y must not own its node).
    Tensor xs = x.detach(), gs = gamma.detach(), bs = beta.detach(), ys = y.detach();
    record(y, op, {x, gamma, beta}, [=](const Tensor& gy) {
      Tensor gx = Tensor::empty_like(x);
      Tensor gg = Tensor::zeros({C}, dev), gb = Tensor::zeros({C}, dev);
      TINCT_DISPATCH(dev,
                     cuda::batchnorm_relu_bwd_train(N, C, HW, xs.data(), gy.data(), gs.data(), bs.data(),
                                                    save_mean.data(), save_invstd.data(), gx.data(), gg.data(),
                                                    gb.data()),
                     cpu::batchnorm_act_bwd_train(act, slope, N, C, HW, xs.data(), ys.data(), gy.data(), gs.data(),
                                                  save_mean.data(), save_invstd.data(), gx.data(), gg.data(),
                                                  gb.data()));
      accumulate_grad(x, gx);
      accumulate_grad(gamma, gg);
      accumulate_grad(beta, gb);
    });
  }
  return y;
}

Tensor batch_norm_relu(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& running_mean,
                       Tensor& running_var, bool training, float momentum, float eps) {
  return batch_norm_act(x, gamma, beta, running_mean, running_var, training, Act::Relu, 0.f, momentum, eps);
}

}  // namespace tinct::ops
