// batchnorm.cpp — batch_norm over NCHW, train and eval, CPU or CUDA; and
// batch_norm_relu, fused on the GPU.
#include <stdexcept>

#include "engine/ops.h"
#include "engine/ops/op_util.h"

namespace tinct::ops {

namespace {

struct BnDims {
  int N, C, HW;
  Device dev;
};

// The checks both ops share; the sizes and the device.
BnDims check_bn(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& running_mean,
                const Tensor& running_var, bool training, const char* op) {
  check_4d(x, op, "input");
  const int N = i32(x.size(0)), C = i32(x.size(1)), HW = i32(x.size(2) * x.size(3));
  for (const Tensor* t : {&gamma, &beta, &running_mean, &running_var})
    check_arg(t->defined() && t->numel() == C, op,
              "gamma, beta and the running statistics must hold " + std::to_string(C) + " values");
  const Device dev = same_device({&x, &gamma, &beta, &running_mean, &running_var}, op);
  check_arg(!training || int64_t(N) * HW > 1, op, "training needs more than one value per channel, input is " +
                                                     shape_str(x.shape()));
  return {N, C, HW, dev};
}

}  // namespace

Tensor batch_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& running_mean,
                  Tensor& running_var, bool training, float momentum, float eps) {
  const char* op = "batch_norm";
  ProfileRange range(op);
  const BnDims d = check_bn(x, gamma, beta, running_mean, running_var, training, op);
  const int N = d.N, C = d.C, HW = d.HW;  // plain variables: lambdas capture them
  const Device dev = d.dev;
  Tensor y = Tensor::empty(x.shape(), dev);
  if (training) {
    Tensor save_mean = Tensor::empty({C}, dev), save_invstd = Tensor::empty({C}, dev);
    TINCT_DISPATCH(dev,
                   cuda::batchnorm_fwd_train(N, C, HW, x.data(), gamma.data(), beta.data(), eps, momentum,
                                             running_mean.data(), running_var.data(), y.data(),
                                             save_mean.data(), save_invstd.data()),
                   cpu::batchnorm_fwd_train(N, C, HW, x.data(), gamma.data(), beta.data(), eps, momentum,
                                                running_mean.data(), running_var.data(), y.data(),
                                                save_mean.data(), save_invstd.data()));
    if (needs_grad({&x, &gamma, &beta})) {
      Tensor xs = x.detach(), gs = gamma.detach();
      record(y, op, {x, gamma, beta}, [=](const Tensor& gy) {
        Tensor gx = Tensor::empty(x.shape(), dev);
        Tensor gg = Tensor::zeros({C}, dev), gb = Tensor::zeros({C}, dev);
        TINCT_DISPATCH(dev,
                       cuda::batchnorm_bwd_train(N, C, HW, xs.data(), gy.data(), gs.data(), save_mean.data(),
                                                 save_invstd.data(), gx.data(), gg.data(), gb.data()),
                       cpu::batchnorm_bwd_train(N, C, HW, xs.data(), gy.data(), gs.data(), save_mean.data(),
                                                    save_invstd.data(), gx.data(), gg.data(), gb.data()));
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
        Tensor gx = Tensor::empty(x.shape(), dev);
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

Tensor batch_norm_relu(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& running_mean,
                       Tensor& running_var, bool training, float momentum, float eps) {
  // The CPU, and eval mode (no fused eval backward), compose the two ops.
  if (x.device() != Device::CUDA || !training)
    return relu(batch_norm(x, gamma, beta, running_mean, running_var, training, momentum, eps));
  const char* op = "batch_norm_relu";
  ProfileRange range(op);
  const BnDims d = check_bn(x, gamma, beta, running_mean, running_var, training, op);
  [[maybe_unused]] const int N = d.N, C = d.C, HW = d.HW;  // plain variables: lambdas capture them (N, HW: CUDA only)
  const Device dev = d.dev;
  Tensor y = Tensor::empty(x.shape(), dev);
  Tensor save_mean = Tensor::empty({C}, dev), save_invstd = Tensor::empty({C}, dev);
  TINCT_DISPATCH(dev,
                 cuda::batchnorm_relu_fwd_train(N, C, HW, x.data(), gamma.data(), beta.data(), eps, momentum,
                                                running_mean.data(), running_var.data(), y.data(),
                                                save_mean.data(), save_invstd.data()),
                 throw std::logic_error("batch_norm_relu: no CPU kernel"));
  if (needs_grad({&x, &gamma, &beta})) {
    Tensor xs = x.detach(), gs = gamma.detach(), bs = beta.detach();
    record(y, op, {x, gamma, beta}, [=](const Tensor& gy) {
      Tensor gx = Tensor::empty(x.shape(), dev);
      Tensor gg = Tensor::zeros({C}, dev), gb = Tensor::zeros({C}, dev);
      TINCT_DISPATCH(dev,
                     cuda::batchnorm_relu_bwd_train(N, C, HW, xs.data(), gy.data(), gs.data(), bs.data(),
                                                    save_mean.data(), save_invstd.data(), gx.data(), gg.data(),
                                                    gb.data()),
                     throw std::logic_error("batch_norm_relu: no CPU kernel"));
      accumulate_grad(x, gx);
      accumulate_grad(gamma, gg);
      accumulate_grad(beta, gb);
    });
  }
  return y;
}

}  // namespace tinct::ops
