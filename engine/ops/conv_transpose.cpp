// conv_transpose.cpp — conv_transpose2d as the backward-data of a conv2d.
//
// A transposed convolution x[N,Cin,H,W] * w[Cin,Cout,R,S] is exactly the
// gradient of the conv2d that maps [N,Cout,Ho,Wo] to [N,Cin,H,W] with the same
// weight read as [K=Cin, C=Cout, R, S]. So forward = conv2d backward-data,
// backward-data = conv2d forward, backward-filter = conv2d backward-filter
// with the roles of input and output-gradient swapped.
#include "engine/ops.h"
#include "engine/ops/op_util.h"

namespace tinct::ops {

Tensor conv_transpose2d(const Tensor& x, const Tensor& w, const Tensor& b, int stride, int padding,
                        int output_padding, int dilation) {
  const char* op = "conv_transpose2d";
  ProfileRange range(op);
  check_4d(x, op, "input");
  check_4d(w, op, "weight");
  const Device dev = same_device({&x, &w, &b}, op);
  check_arg(w.size(0) == x.size(1), op, "weight " + shape_str(w.shape()) + " expects " +
                                            std::to_string(w.size(0)) + " input channels, input is " +
                                            shape_str(x.shape()));
  check_arg(stride >= 1 && dilation >= 1 && padding >= 0, op, "stride and dilation must be >= 1, padding >= 0");
  check_arg(output_padding >= 0 && (output_padding < stride || output_padding < dilation), op,
            "output_padding must be smaller than stride or dilation");
  if (b.defined()) check_arg(b.numel() == w.size(1), op, "bias must hold one value per output channel");
  Conv2dParams p;  // the conv2d whose backward-data this is
  p.N = i32(x.size(0)); p.K = i32(x.size(1)); p.C = i32(w.size(1));
  p.R = i32(w.size(2)); p.S = i32(w.size(3));
  p.H = i32((x.size(2) - 1) * stride - 2 * padding + dilation * (p.R - 1) + output_padding + 1);
  p.W = i32((x.size(3) - 1) * stride - 2 * padding + dilation * (p.S - 1) + output_padding + 1);
  check_arg(p.H > 0 && p.W > 0, op, "the output would be empty for input " + shape_str(x.shape()));
  p.stride_h = p.stride_w = stride;
  p.pad_h = p.pad_w = padding;
  p.dil_h = p.dil_w = dilation;
  p.finalize();
  check_arg(p.P == x.size(2) && p.Q == x.size(3), op, "inconsistent geometry");

  Tensor y = Tensor::empty({p.N, p.C, p.H, p.W}, dev);
  TINCT_DISPATCH(dev, cuda::conv2d_bwd_data(p, x.data(), w.data(), y.data()),
                 cpu::conv2d_bwd_data(p, x.data(), w.data(), y.data()));
  if (b.defined())
    TINCT_DISPATCH(dev, cuda::bias_add(p.N, p.C, p.H * p.W, b.data(), y.data()),
                   cpu::bias_add_ref(p.N, p.C, p.H * p.W, b.data(), y.data()));
  if (needs_grad({&x, &w, &b})) {
    Tensor xs = x.detach(), ws = w.detach();
    record(y, op, {x, w, b}, [=](const Tensor& gy) {
      if (x.requires_grad()) {
        Tensor gx = Tensor::empty(x.shape(), dev);
        TINCT_DISPATCH(dev, cuda::conv2d_fwd(p, gy.data(), ws.data(), nullptr, gx.data()),
                       cpu::conv2d_fwd(p, gy.data(), ws.data(), nullptr, gx.data()));
        accumulate_grad(x, gx);
      }
      if (w.requires_grad()) {
        Tensor gw = Tensor::zeros(w.shape(), dev);
        TINCT_DISPATCH(dev, cuda::conv2d_bwd_filter(p, gy.data(), xs.data(), gw.data(), nullptr),
                       cpu::conv2d_bwd_filter(p, gy.data(), xs.data(), gw.data(), nullptr));
        accumulate_grad(w, gw);
      }
      if (b.defined() && b.requires_grad()) {
        Tensor gb = Tensor::zeros(b.shape(), dev);
        TINCT_DISPATCH(dev, cuda::bias_grad(p.N, p.C, p.H * p.W, gy.data(), gb.data()),
                       cpu::bias_grad_ref(p.N, p.C, p.H * p.W, gy.data(), gb.data()));
        accumulate_grad(b, gb);
      }
    });
  }
  return y;
}

}  // namespace tinct::ops
