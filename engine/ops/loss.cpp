// loss.cpp — mse, l1, the LSGAN losses and the weighted soft-target
// cross-entropy. Each kernel computes the value and, in the backward, the
// gradient scaled by the upstream gradient of the scalar loss.
#include "engine/ops.h"
#include "engine/ops/op_util.h"

namespace tinct::ops {

using PairLoss = double (*)(size_t, const float*, const float*, float, float*);

// pred and target of one shape; target may require grad too (its gradient is
// the negative of pred's for both mse and l1).
static Tensor pair_loss(const Tensor& pred, const Tensor& target, PairLoss kernel, const char* op) {
  check_arg(pred.defined() && target.defined(), op, "an input is undefined");
  check_cpu(pred, op);
  check_cpu(target, op);
  check_same_shape(pred, target, op);
  check_arg(pred.numel() > 0, op, "empty input");
  const size_t n = size_t(pred.numel());
  Tensor y = Tensor::scalar(float(kernel(n, pred.data(), target.data(), 0.f, nullptr)));
  if (needs_grad({&pred, &target})) {
    Tensor ps = pred.detach(), ts = target.detach();
    record(y, op, {pred, target}, [=](const Tensor& gy) {
      Tensor g = Tensor::empty(pred.shape());
      kernel(n, ps.data(), ts.data(), gy.item(), g.data());
      if (target.requires_grad()) {
        Tensor gt = Tensor::empty(target.shape());
        cpu::scale_ref(n, -1.f, g.data(), gt.data());
        accumulate_grad(target, gt);
      }
      accumulate_grad(pred, g);
    });
  }
  return y;
}

Tensor mse_loss(const Tensor& pred, const Tensor& target) { return pair_loss(pred, target, cpu::mse_ref, "mse_loss"); }
Tensor l1_loss(const Tensor& pred, const Tensor& target) { return pair_loss(pred, target, cpu::l1_ref, "l1_loss"); }

Tensor lsgan_loss(const Tensor& pred, bool real) {
  const char* op = "lsgan_loss";
  check_arg(pred.defined() && pred.numel() > 0, op, "input is undefined or empty");
  check_cpu(pred, op);
  const size_t n = size_t(pred.numel());
  const float c = real ? 1.f : 0.f;
  Tensor y = Tensor::scalar(float(cpu::mse_const_ref(n, pred.data(), c, 0.f, nullptr)));
  if (needs_grad({&pred})) {
    Tensor ps = pred.detach();
    record(y, op, {pred}, [=](const Tensor& gy) {
      Tensor g = Tensor::empty(pred.shape());
      cpu::mse_const_ref(n, ps.data(), c, gy.item(), g.data());
      accumulate_grad(pred, g);
    });
  }
  return y;
}

Tensor soft_cross_entropy(const Tensor& logits, const Tensor& target, const Tensor& weight) {
  const char* op = "soft_cross_entropy";
  check_4d(logits, op, "logits");
  check_4d(target, op, "target");
  check_same_shape(logits, target, op);
  const int N = i32(logits.size(0)), Q = i32(logits.size(1)), HW = i32(logits.size(2) * logits.size(3));
  if (weight.defined()) {
    check_cpu(weight, op);
    check_arg(weight.numel() == int64_t(N) * HW, op,
              "weights must be [N,1,H,W] = " + std::to_string(N * HW) + " values, got " + shape_str(weight.shape()));
  }
  // The forward computes value and gradient in one pass (the softmax is
  // needed for both); the gradient is kept for the backward at gscale 1.
  const bool grad = needs_grad({&logits});
  Tensor g = grad ? Tensor::empty(logits.shape()) : Tensor();
  double v = cpu::soft_ce_ref(N, Q, HW, logits.data(), target.data(), weight.defined() ? weight.data() : nullptr,
                              1.f, grad ? g.data() : nullptr);
  Tensor y = Tensor::scalar(float(v));
  if (grad)
    record(y, op, {logits}, [=](const Tensor& gy) {
      Tensor gl = Tensor::empty(logits.shape());
      cpu::scale_ref(size_t(g.numel()), gy.item(), g.data(), gl.data());
      accumulate_grad(logits, gl);
    });
  return y;
}

}  // namespace tinct::ops
