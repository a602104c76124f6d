// concat.cpp — concatenation along channels (CPU or CUDA), and reshape (a view).
#include "engine/ops.h"
#include "engine/ops/op_util.h"

namespace tinct::ops {

Tensor concat(const std::vector<Tensor>& xs_in) {
  const char* op = "concat";
  ProfileRange range(op);
  check_arg(!xs_in.empty(), op, "nothing to concatenate");
  // Every input in the first's layout; channels-last ones are [N*H*W][C][1][1]
  // to the kernels (engine/layout.h).
  std::vector<Tensor> xs;
  for (const Tensor& t : xs_in) {
    check_4d(t, op, "each input");
    same_device({&xs_in[0], &t}, op);
    xs.push_back(like_layout(t, xs_in[0]));
  }
  [[maybe_unused]] const Device dev = xs[0].device();  // TINCT_DISPATCH's (CUDA builds)
  for (const Tensor& t : xs) {
    check_arg(t.size(0) == xs[0].size(0) && t.size(2) == xs[0].size(2) && t.size(3) == xs[0].size(3), op,
              "inputs must agree in N, H, W: " + shape_str(xs[0].shape()) + " vs " + shape_str(t.shape()));
  }
  const ChannelDims d = channel_dims(xs[0]);
  const int N = d.N, HW = d.HW;
  int Ctot = 0;
  for (const Tensor& t : xs) Ctot += i32(t.size(1));
  Tensor y = Tensor::empty_like_shape(xs[0], {xs[0].size(0), Ctot, xs[0].size(2), xs[0].size(3)});
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
          Tensor g = Tensor::zeros_like(t);
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

Tensor reshape(const Tensor& x_in, const Shape& shape) {
  check_arg(shape_numel(shape) == x_in.numel(), "reshape",
            "cannot view " + shape_str(x_in.shape()) + " as " + shape_str(shape));
  const Tensor x = to_nchw(x_in);  // a view of NCHW memory
  Tensor y = x.detach();
  y.impl()->shape = shape;
  if (needs_grad({&x})) record(y, "reshape", {x}, [=](const Tensor& gy) { accumulate_grad(x, gy); });
  return y;
}

}  // namespace tinct::ops
