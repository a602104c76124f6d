// elementwise.cpp — add (same shape or per-channel broadcast) and mul, CPU or CUDA.
#include "engine/ops.h"
#include "engine/ops/op_util.h"

namespace tinct::ops {

// True when b holds one value per channel of a ([C] or [1,C,1,1]).
static bool is_channel_vector(const Tensor& a, const Tensor& b) {
  if (a.dim() != 4 || a.shape() == b.shape()) return false;
  const Shape& s = b.shape();
  if (s.size() == 1) return s[0] == a.size(1);
  return s.size() == 4 && s[0] == 1 && s[1] == a.size(1) && s[2] == 1 && s[3] == 1;
}

Tensor add(const Tensor& a, const Tensor& b_in) {
  const char* op = "add";
  ProfileRange range(op);
  check_arg(a.defined() && b_in.defined(), op, "an input is undefined");
  const Device dev = same_device({&a, &b_in}, op);
  const Tensor b = like_layout(b_in, a);  // the output and its gradient in a's layout
  Tensor y = Tensor::empty_like(a);
  if (a.shape() == b.shape()) {
    const size_t n = size_t(a.numel());
    TINCT_DISPATCH(dev, cuda::add(n, a.data(), b.data(), y.data()), cpu::add(n, a.data(), b.data(), y.data()));
    if (needs_grad({&a, &b}))
      record(y, op, {a, b}, [=](const Tensor& gy) {
        accumulate_grad(a, gy);
        accumulate_grad(b, gy);
      });
    return y;
  }
  check_arg(is_channel_vector(a, b), op,
            "shapes " + shape_str(a.shape()) + " and " + shape_str(b.shape()) +
                " must match, or the second must hold one value per channel");
  const ChannelDims d = channel_dims(a);
  const int N = d.N, C = d.C, HW = d.HW;
  y.copy_from(a);
  TINCT_DISPATCH(dev, cuda::bias_add(N, C, HW, b.data(), y.data()), cpu::bias_add(N, C, HW, b.data(), y.data()));
  if (needs_grad({&a, &b}))
    record(y, op, {a, b}, [=](const Tensor& gy) {
      accumulate_grad(a, gy);
      if (b.requires_grad()) {
        Tensor gb = Tensor::zeros(b.shape(), dev);
        TINCT_DISPATCH(dev, cuda::bias_grad(N, C, HW, gy.data(), gb.data()),
                       cpu::bias_grad(N, C, HW, gy.data(), gb.data()));
        accumulate_grad(b, gb);
      }
    });
  return y;
}

Tensor mul(const Tensor& a, const Tensor& b_in) {
  const char* op = "mul";
  ProfileRange range(op);
  check_arg(a.defined() && b_in.defined(), op, "an input is undefined");
  [[maybe_unused]] const Device dev = same_device({&a, &b_in}, op);  // TINCT_DISPATCH's (CUDA builds)
  check_same_shape(a, b_in, op);
  const Tensor b = like_layout(b_in, a);
  const size_t n = size_t(a.numel());
  Tensor y = Tensor::empty_like(a);
  TINCT_DISPATCH(dev, cuda::mul(n, a.data(), b.data(), y.data()), cpu::mul(n, a.data(), b.data(), y.data()));
  if (needs_grad({&a, &b})) {
    Tensor as = a.detach(), bs = b.detach();
    record(y, op, {a, b}, [=](const Tensor& gy) {
      if (a.requires_grad()) {
        Tensor ga = Tensor::empty_like(a);
        TINCT_DISPATCH(dev, cuda::mul(n, gy.data(), bs.data(), ga.data()),
                       cpu::mul(n, gy.data(), bs.data(), ga.data()));
        accumulate_grad(a, ga);
      }
      if (b.requires_grad()) {
        Tensor gb = Tensor::empty_like(b);
        TINCT_DISPATCH(dev, cuda::mul(n, gy.data(), as.data(), gb.data()),
                       cpu::mul(n, gy.data(), as.data(), gb.data()));
        accumulate_grad(b, gb);
      }
    });
  }
  return y;
}

Tensor mul(const Tensor& a, float s) {
  const char* op = "mul";
  ProfileRange range(op);
  check_arg(a.defined(), op, "input is undefined");
  [[maybe_unused]] const Device dev = a.device();  // TINCT_DISPATCH's (CUDA builds)
  const size_t n = size_t(a.numel());
  Tensor y = Tensor::empty_like(a);
  TINCT_DISPATCH(dev, cuda::scale(n, s, a.data(), y.data()), cpu::scale(n, s, a.data(), y.data()));
  if (needs_grad({&a}))
    record(y, op, {a}, [=](const Tensor& gy) {
      Tensor ga = Tensor::empty_like(a);
      TINCT_DISPATCH(dev, cuda::scale(n, s, gy.data(), ga.data()), cpu::scale(n, s, gy.data(), ga.data()));
      accumulate_grad(a, ga);
    });
  return y;
}

}  // namespace tinct::ops
