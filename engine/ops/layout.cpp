// layout.cpp — the differentiable layout conversions (ops.h, engine/layout.h):
// the values are unchanged, only their memory order; the gradient goes back
// in the input's order.
#include "engine/layout.h"
#include "engine/ops.h"
#include "engine/ops/op_util.h"

namespace tinct::ops {

namespace {

Tensor convert(const Tensor& x, bool cl, const char* op) {
  check_arg(x.defined(), op, "input is undefined");
  if (x.channels_last() == cl) return x;
  check_arg(x.dim() == 4 && x.device() == Device::CUDA, op,
            std::string("channels-last is for 4-D CUDA tensors, got a ") + device_name(x.device()) +
                " tensor of shape " + shape_str(x.shape()));
  ProfileRange range(op);
  Tensor y;
  if (x.size(1) == 1 || x.size(2) * x.size(3) == 1) {
    // One channel, or one pixel: both orders are the same memory.
    y = x.detach();
    y.impl()->channels_last = cl;
  } else {
    y = x.as_layout(cl);
  }
  if (needs_grad({&x})) record(y, op, {x}, [=](const Tensor& gy) { accumulate_grad(x, gy); });
  return y;  // accumulate_grad puts gy in x's layout
}

}  // namespace

Tensor to_channels_last(const Tensor& x) { return convert(x, true, "to_channels_last"); }
Tensor to_nchw(const Tensor& x) { return convert(x, false, "to_nchw"); }

Tensor layout_in(const Tensor& x) {
  return x.defined() && x.dim() == 4 && channels_last_on(x.device()) ? to_channels_last(x) : x;
}

Tensor layout_out(const Tensor& y) { return y.defined() ? to_nchw(y) : y; }

Tensor like_layout(const Tensor& t, const Tensor& ref) {
  if (!t.defined() || !ref.defined() || t.channels_last() == ref.channels_last() || t.dim() != 4) return t;
  return ref.channels_last() ? to_channels_last(t) : to_nchw(t);
}

}  // namespace tinct::ops
