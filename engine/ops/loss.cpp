// loss.cpp — mse, l1, the LSGAN losses and the weighted soft-target
// cross-entropy, CPU or CUDA. Each kernel computes the value and, in the
// backward, the gradient scaled by the upstream gradient of the scalar loss.
// On the GPU that upstream gradient stays on the device (scale_by_scalar),
// so a training step never waits for the host.
#include <memory>
#include <utility>

#include "engine/ops.h"
#include "engine/ops/op_util.h"

namespace tinct::ops {

enum class Pair { Mse, L1 };

// The value (forward: grad null) or gscale-scaled gradient of mse / l1 (the
// fast CPU paths of loss/cpu.cpp).
static double pair_cpu(Pair k, size_t n, const float* p, const float* t, float gscale, float* grad) {
  return k == Pair::Mse ? cpu::mse(n, p, t, gscale, grad) : cpu::l1(n, p, t, gscale, grad);
}
#ifdef TINCT_HAS_CUDA
static void pair_cuda(Pair k, size_t n, const float* p, const float* t, float gscale, float* grad, double* loss) {
  if (k == Pair::Mse)
    cuda::mse(n, p, t, gscale, grad, loss);
  else
    cuda::l1(n, p, t, gscale, grad, loss);
}
#endif

// pred and target of one shape; target may require grad too (its gradient is
// the negative of pred's for both mse and l1).
static Tensor pair_loss(const Tensor& pred, const Tensor& target_in, Pair k, const char* op) {
  ProfileRange range(op);
  check_arg(pred.defined() && target_in.defined(), op, "an input is undefined");
  const Device dev = same_device({&pred, &target_in}, op);
  check_same_shape(pred, target_in, op);
  const Tensor target = like_layout(target_in, pred);
  check_arg(pred.numel() > 0, op, "empty input");
  const size_t n = size_t(pred.numel());
  Tensor y = Tensor::empty({}, dev);
  TINCT_DISPATCH(dev,
                 DeviceDouble acc(dev);
                 pair_cuda(k, n, pred.data(), target.data(), 0.f, nullptr, acc.ptr());
                 cuda::store_scalar(acc.ptr(), 1.0, y.data()),
                 y.data()[0] = float(pair_cpu(k, n, pred.data(), target.data(), 0.f, nullptr)));
  if (needs_grad({&pred, &target})) {
    Tensor ps = pred.detach(), ts = target.detach();
    record(y, op, {pred, target}, [=](const Tensor& gy) {
      Tensor g = Tensor::empty_like(pred);
      TINCT_DISPATCH(dev,
                     pair_cuda(k, n, ps.data(), ts.data(), 1.f, g.data(), nullptr);
                     cuda::scale_by_scalar(n, gy.data(), 1.f, g.data(), g.data()),
                     pair_cpu(k, n, ps.data(), ts.data(), gy.item(), g.data()));
      if (target.requires_grad()) {
        Tensor gt = Tensor::empty_like(target);
        TINCT_DISPATCH(dev, cuda::scale(n, -1.f, g.data(), gt.data()), cpu::scale(n, -1.f, g.data(), gt.data()));
        accumulate_grad(target, gt);
      }
      accumulate_grad(pred, g);
    });
  }
  return y;
}

Tensor mse_loss(const Tensor& pred, const Tensor& target) { return pair_loss(pred, target, Pair::Mse, "mse_loss"); }
Tensor l1_loss(const Tensor& pred, const Tensor& target) { return pair_loss(pred, target, Pair::L1, "l1_loss"); }

Tensor lsgan_loss(const Tensor& pred, bool real) {
  const char* op = "lsgan_loss";
  ProfileRange range(op);
  check_arg(pred.defined() && pred.numel() > 0, op, "input is undefined or empty");
  const Device dev = pred.device();
  const size_t n = size_t(pred.numel());
  const float c = real ? 1.f : 0.f;
  Tensor y = Tensor::empty({}, dev);
  TINCT_DISPATCH(dev,
                 DeviceDouble acc(dev);
                 cuda::mse_const(n, pred.data(), c, 0.f, nullptr, acc.ptr());
                 cuda::store_scalar(acc.ptr(), 1.0, y.data()),
                 y.data()[0] = float(cpu::mse_const(n, pred.data(), c, 0.f, nullptr)));
  if (needs_grad({&pred})) {
    Tensor ps = pred.detach();
    record(y, op, {pred}, [=](const Tensor& gy) {
      Tensor g = Tensor::empty_like(pred);
      TINCT_DISPATCH(dev,
                     cuda::mse_const(n, ps.data(), c, 1.f, g.data(), nullptr);
                     cuda::scale_by_scalar(n, gy.data(), 1.f, g.data(), g.data()),
                     cpu::mse_const(n, ps.data(), c, gy.item(), g.data()));
      accumulate_grad(pred, g);
    });
  }
  return y;
}

Tensor soft_cross_entropy(const Tensor& logits, const Tensor& target_in, const Tensor& weight) {
  const char* op = "soft_cross_entropy";
  ProfileRange range(op);
  check_4d(logits, op, "logits");
  check_4d(target_in, op, "target");
  check_same_shape(logits, target_in, op);
  const Device dev = same_device({&logits, &target_in, &weight}, op);
  const int N0 = i32(logits.size(0)), Q = i32(logits.size(1)), HW0 = i32(logits.size(2) * logits.size(3));
  if (weight.defined())
    check_arg(weight.numel() == int64_t(N0) * HW0, op,
              "weights must be [N,1,H,W] = " + std::to_string(N0 * HW0) + " values, got " + shape_str(weight.shape()));
  // Channels-last logits are [N*H*W][Q][1][1] to the kernels (engine/layout.h);
  // the one-channel weights are the same memory in either layout.
  const Tensor target = like_layout(target_in, logits);
  const ChannelDims d = channel_dims(logits);
  const int N = d.N, HW = d.HW;
  // The forward computes value and gradient in one pass (the softmax is
  // needed for both); the gradient is kept for the backward at gscale 1.
  const bool grad = needs_grad({&logits});
  Tensor g = grad ? Tensor::empty_like(logits) : Tensor();
  const float* wp = weight.defined() ? weight.data() : nullptr;
  float* gp = grad ? g.data() : nullptr;
  Tensor y = Tensor::empty({}, dev);
  TINCT_DISPATCH(dev,
                 DeviceDouble acc(dev);
                 cuda::soft_ce(N, Q, HW, logits.data(), target.data(), wp, 1.f, gp, acc.ptr());
                 cuda::store_scalar(acc.ptr(), 1.0, y.data()),
                 y.data()[0] = float(cpu::soft_ce(N, Q, HW, logits.data(), target.data(), wp, 1.f, gp)));
  if (grad) {
    // On the CPU the first backward takes the stored gradient itself, scaled
    // in place (not at all for the usual upstream 1), and hands its buffer to
    // the logits: no copy of Q planes (a second backward recomputes it).
    auto held = std::make_shared<Tensor>(std::move(g));
    const Tensor ls = logits.detach(), ts = target.detach(), ws = weight.defined() ? weight.detach() : Tensor();
    record(y, op, {logits}, [=](const Tensor& gy) {
      const size_t n = size_t(ls.numel());
      Tensor gl;
      if (dev == Device::CPU && held->defined()) {
        gl = std::move(*held);
        *held = Tensor();
        const float s = gy.item();
        if (s != 1.f) cpu::scale(n, s, gl.data(), gl.data());
      } else if (dev == Device::CPU) {
        gl = Tensor::empty_like(ls);
        cpu::soft_ce(N, Q, HW, ls.data(), ts.data(), ws.defined() ? ws.data() : nullptr, gy.item(), gl.data());
      } else {
        gl = Tensor::empty_like(ls);
        TINCT_DISPATCH(dev, cuda::scale_by_scalar(n, gy.data(), 1.f, held->data(), gl.data()), (void)0);
      }
      accumulate_grad(logits, gl);
    });
  }
  return y;
}

}  // namespace tinct::ops
