// upsample.cpp — nearest and bilinear resampling to a given size, CPU or CUDA.
#include "engine/ops.h"
#include "engine/ops/op_util.h"

namespace tinct::ops {

Tensor upsample(const Tensor& x_in, int out_h, int out_w, Upsample mode) {
  const char* op = "upsample";
  ProfileRange range(op);
  check_4d(x_in, op, "input");
  // NCHW kernels only: a network's output edge, not inside one (engine/layout.h).
  const Tensor x = to_nchw(x_in);
  check_arg(out_h > 0 && out_w > 0, op, "the output size must be positive");
  const Device dev = x.device();
  const int N = i32(x.size(0)), C = i32(x.size(1)), H = i32(x.size(2)), W = i32(x.size(3));
  Tensor y = Tensor::empty({N, C, out_h, out_w}, dev);
  TINCT_DISPATCH(dev, cuda::upsample_fwd(mode, N, C, H, W, out_h, out_w, x.data(), y.data()),
                 cpu::upsample_fwd(mode, N, C, H, W, out_h, out_w, x.data(), y.data()));
  if (needs_grad({&x})) {
    record(y, op, {x}, [=](const Tensor& gy) {
      Tensor gx = Tensor::empty(x.shape(), dev);
      TINCT_DISPATCH(dev, cuda::upsample_bwd(mode, N, C, H, W, out_h, out_w, gy.data(), gx.data()),
                     cpu::upsample_bwd(mode, N, C, H, W, out_h, out_w, gy.data(), gx.data()));
      accumulate_grad(x, gx);
    });
  }
  return y;
}

}  // namespace tinct::ops
