// pool.cpp — max_pool2d (the argmax of each window is saved for backward).
#include <cstring>

#include "engine/ops.h"
#include "engine/ops/op_util.h"

namespace tinct::ops {

Tensor max_pool2d(const Tensor& x, int kernel, int stride, int padding) {
  const char* op = "max_pool2d";
  check_4d(x, op, "input");
  Pool2dParams p;
  p.N = i32(x.size(0)); p.C = i32(x.size(1)); p.H = i32(x.size(2)); p.W = i32(x.size(3));
  p.kh = p.kw = kernel;
  p.stride_h = p.stride_w = stride;
  p.pad_h = p.pad_w = padding;
  check_arg(kernel >= 1 && stride >= 1 && padding >= 0, op, "kernel and stride must be >= 1");
  check_arg(p.finalize(), op, "window " + std::to_string(kernel) + " with padding " + std::to_string(padding) +
                                  " does not fit input " + shape_str(x.shape()) +
                                  " (padding may be at most half the window)");
  Tensor y = Tensor::empty({p.N, p.C, p.P, p.Q});
  auto argmax = std::make_shared<std::vector<int32_t>>(size_t(y.numel()));
  cpu::maxpool2d_fwd_ref(p, x.data(), y.data(), argmax->data());
  if (needs_grad({&x})) {
    record(y, op, {x}, [=](const Tensor& gy) {
      Tensor gx = Tensor::empty(x.shape());
      cpu::maxpool2d_bwd_ref(p, gy.data(), argmax->data(), gx.data());
      accumulate_grad(x, gx);
    });
  }
  return y;
}

}  // namespace tinct::ops
