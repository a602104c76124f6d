// activation.cpp — relu, leaky_relu, tanh, sigmoid, CPU or CUDA.
#include "engine/ops.h"
#include "engine/ops/op_util.h"

namespace tinct::ops {

static Tensor activation(const Tensor& x, Act a, float slope, const char* op) {
  ProfileRange range(op);
  check_arg(x.defined(), op, "input is undefined");
  [[maybe_unused]] const Device dev = x.device();  // TINCT_DISPATCH's (CUDA builds)
  const size_t n = size_t(x.numel());
  Tensor y = Tensor::empty_like(x);
  TINCT_DISPATCH(dev, cuda::act_fwd(a, slope, n, x.data(), y.data()),
                 cpu::act_fwd(a, slope, n, x.data(), y.data()));
  if (needs_grad({&x})) {
    Tensor xs = x.detach(), ys = y.detach();  // detached: y must not own its own node
    record(y, op, {x}, [=](const Tensor& gy) {
      Tensor gx = Tensor::empty_like(xs);
      TINCT_DISPATCH(dev, cuda::act_bwd(a, slope, n, xs.data(), ys.data(), gy.data(), gx.data()),
                     cpu::act_bwd(a, slope, n, xs.data(), ys.data(), gy.data(), gx.data()));
      accumulate_grad(x, gx);
    });
  }
  return y;
}

Tensor relu(const Tensor& x) { return activation(x, Act::Relu, 0.f, "relu"); }
Tensor leaky_relu(const Tensor& x, float slope) { return activation(x, Act::LeakyRelu, slope, "leaky_relu"); }
Tensor tanh(const Tensor& x) { return activation(x, Act::Tanh, 0.f, "tanh"); }
Tensor sigmoid(const Tensor& x) { return activation(x, Act::Sigmoid, 0.f, "sigmoid"); }

}  // namespace tinct::ops
