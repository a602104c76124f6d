// concat.cpp — concatenation along channels (CPU or CUDA), and reshape (a view).
#include "engine/ops.h"
#include "engine/ops/op_util.h"

namespace tinct::ops {

Tensor concat(const std::vector<Tensor>& xs) {
  const char* op = "concat";
  ProfileRange range(op);
  check_arg(!xs.empty(), op, "nothing to concatenate");
  const Device dev = xs[0].defined() ? xs[0].device() : Device::CPU;
  for (const Tensor& t : xs) {
    check_4d(t, op, "each input");
    same_device({&xs[0], &t}, op);
    check_arg(t.size(0) == xs[0].size(0) && t.size(2) == xs[0].size(2) && t.size(3) == xs[0].size(3), op,
              "inputs must agree in N, H, W: " + shape_str(xs[0].shape()) + " vs " + shape_str(t.shape()));
  }
  const int N = i32(xs[0].size(0)), HW = i32(xs[0].size(2) * xs[0].size(3));
  int Ctot = 0;
  for (const Tensor& t : xs) Ctot += i32(t.size(1));
  Tensor y = Tensor::empty({N, Ctot, xs[0].size(2), xs[0].size(3)}, dev);
  int c0 = 0;
  for (const Tensor& t : xs) {
    TINCT_DISPATCH(dev, cuda::channel_copy(N, HW, i32(t.size(1)), t.data(), Ctot, c0, y.data()),
                   cpu::channel_copy(N, HW, i32(t.size(1)), t.data(), Ctot, c0, y.data()));
    c0 += i32(t.size(1));
  }
  bool any = false;
  for (const Tensor& t : xs) any = any || needs_grad({&t});
  if (any) {
    record(y, op, xs, [=](const Tensor& gy) {
      int c = 0;
      for (const Tensor& t : xs) {
        const int Ct = i32(t.size(1));
        if (t.requires_grad()) {
          Tensor g = Tensor::zeros(t.shape(), dev);
          TINCT_DISPATCH(dev, cuda::channel_slice_add(N, HW, Ctot, gy.data(), c, Ct, g.data()),
                         cpu::channel_slice_add(N, HW, Ctot, gy.data(), c, Ct, g.data()));
          accumulate_grad(t, g);
        }
        c += Ct;
      }
    });
  }
  return y;
}

Tensor reshape(const Tensor& x, const Shape& shape) {
  check_arg(shape_numel(shape) == x.numel(), "reshape",
            "cannot view " + shape_str(x.shape()) + " as " + shape_str(shape));
  Tensor y = x.detach();
  y.impl()->shape = shape;
  if (needs_grad({&x})) record(y, "reshape", {x}, [=](const Tensor& gy) { accumulate_grad(x, gy); });
  return y;
}

}  // namespace tinct::ops
