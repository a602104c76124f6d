// conv.cpp — conv2d: forward, backward-data, backward-filter (the CPU fast path,
// or the CUDA implicit-GEMM kernels).
#include "engine/ops.h"
#include "engine/ops/op_util.h"

namespace tinct::ops {

static Conv2dParams conv_params(const Tensor& x, const Tensor& w, int stride, int padding, int dilation,
                         const char* op) {
  Conv2dParams p;
  p.N = i32(x.size(0)); p.C = i32(x.size(1)); p.H = i32(x.size(2)); p.W = i32(x.size(3));
  p.K = i32(w.size(0)); p.R = i32(w.size(2)); p.S = i32(w.size(3));
  p.stride_h = p.stride_w = stride;
  p.pad_h = p.pad_w = padding;
  p.dil_h = p.dil_w = dilation;
  check_arg(stride >= 1 && dilation >= 1 && padding >= 0, op, "stride and dilation must be >= 1, padding >= 0");
  check_arg(p.finalize(), op, "the kernel (" + std::to_string(p.R) + "x" + std::to_string(p.S) +
                                  ", dilation " + std::to_string(dilation) + ") does not fit the padded input " +
                                  shape_str(x.shape()));
  return p;
}

Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& b, int stride, int padding, int dilation) {
  const char* op = "conv2d";
  ProfileRange range(op);
  check_4d(x, op, "input");
  check_4d(w, op, "weight");
  const Device dev = same_device({&x, &w, &b}, op);
  check_arg(w.size(1) == x.size(1), op, "weight " + shape_str(w.shape()) + " expects " +
                                            std::to_string(w.size(1)) + " input channels, input is " +
                                            shape_str(x.shape()));
  if (b.defined()) check_arg(b.numel() == w.size(0), op, "bias must hold one value per output channel");
  Conv2dParams p = conv_params(x, w, stride, padding, dilation, op);
  Tensor y = Tensor::empty({p.N, p.K, p.P, p.Q}, dev);
  const float* bp = b.defined() ? b.data() : nullptr;
  TINCT_DISPATCH(dev, cuda::conv2d_fwd(p, x.data(), w.data(), bp, y.data()),
                 cpu::conv2d_fwd(p, x.data(), w.data(), bp, y.data()));
  if (needs_grad({&x, &w, &b})) {
    Tensor xs = x.detach(), ws = w.detach();
    record(y, op, {x, w, b}, [=](const Tensor& gy) {
      if (x.requires_grad()) {
        Tensor gx = Tensor::empty(x.shape(), dev);
        TINCT_DISPATCH(dev, cuda::conv2d_bwd_data(p, gy.data(), ws.data(), gx.data()),
                       cpu::conv2d_bwd_data(p, gy.data(), ws.data(), gx.data()));
        accumulate_grad(x, gx);
      }
      if (w.requires_grad() || (b.defined() && b.requires_grad())) {
        Tensor gw = Tensor::zeros(w.shape(), dev);
        Tensor gb = b.defined() ? Tensor::zeros(b.shape(), dev) : Tensor();
        float* gbp = gb.defined() ? gb.data() : nullptr;
        TINCT_DISPATCH(dev, cuda::conv2d_bwd_filter(p, xs.data(), gy.data(), gw.data(), gbp),
                       cpu::conv2d_bwd_filter(p, xs.data(), gy.data(), gw.data(), gbp));
        accumulate_grad(w, gw);
        if (b.defined()) accumulate_grad(b, gb);
      }
    });
  }
  return y;
}

}  // namespace tinct::ops
