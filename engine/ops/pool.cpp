// pool.cpp — max_pool2d (the argmax of each window is saved for backward).
#include <cstdint>

#include "engine/ops.h"
#include "engine/ops/op_util.h"

namespace tinct::ops {

Tensor max_pool2d(const Tensor& x, int kernel, int stride, int padding) {
  const char* op = "max_pool2d";
  ProfileRange range(op);
  check_4d(x, op, "input");
  const Device dev = x.device();
  Pool2dParams p;
  p.N = i32(x.size(0)); p.C = i32(x.size(1)); p.H = i32(x.size(2)); p.W = i32(x.size(3));
  p.kh = p.kw = kernel;
  p.stride_h = p.stride_w = stride;
  p.pad_h = p.pad_w = padding;
  check_arg(kernel >= 1 && stride >= 1 && padding >= 0, op, "kernel and stride must be >= 1");
  check_arg(p.finalize(), op, "window " + std::to_string(kernel) + " with padding " + std::to_string(padding) +
                                  " does not fit input " + shape_str(x.shape()) +
                                  " (padding may be at most half the window)");
  Tensor y = Tensor::empty_like_shape(x, {p.N, p.C, p.P, p.Q});
  [[maybe_unused]] const bool cl = x.channels_last();  // [N][H][W][C] (engine/layout.h): its own kernels
  // The argmax indices (int32) live in a float tensor of the same size: one
  // allocation path for both devices. Only backward reads them: without a
  // gradient to come, the CPU writes none.
  const bool grad = needs_grad({&x});
  Tensor argmax = grad || dev == Device::CUDA ? Tensor::empty(y.shape(), dev) : Tensor();
  auto idx = [](const Tensor& t) {
    return t.defined() ? reinterpret_cast<int32_t*>(const_cast<float*>(t.data())) : nullptr;
  };
  TINCT_DISPATCH(dev,
                 cl ? cuda::maxpool2d_fwd_nhwc(p, x.data(), y.data(), idx(argmax))
                    : cuda::maxpool2d_fwd(p, x.data(), y.data(), idx(argmax)),
                 cpu::maxpool2d_fwd(p, x.data(), y.data(), idx(argmax)));
  if (grad) {
    record(y, op, {x}, [=](const Tensor& gy) {
      Tensor gx = Tensor::empty_like(x);
      TINCT_DISPATCH(dev,
                     cl ? cuda::maxpool2d_bwd_nhwc(p, gy.data(), idx(argmax), gx.data())
                        : cuda::maxpool2d_bwd(p, gy.data(), idx(argmax), gx.data()),
                     cpu::maxpool2d_bwd(p, gy.data(), idx(argmax), gx.data()));
      accumulate_grad(x, gx);
    });
  }
  return y;
}

}  // namespace tinct::ops
