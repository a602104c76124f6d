// conv_geometry.cpp — see conv_geometry.h.
#include "engine/ops/conv_geometry.h"

#include <string>

namespace tinct::ops {

Conv2dParams conv2d_geometry(const Tensor& x, const Tensor& w, const Tensor& b, int stride, int padding,
                             int dilation, const char* op) {
  check_4d(x, op, "input");
  check_4d(w, op, "weight");
  check_arg(w.size(1) == x.size(1), op, "weight " + shape_str(w.shape()) + " expects " +
                                            std::to_string(w.size(1)) + " input channels, input is " +
                                            shape_str(x.shape()));
  if (b.defined()) check_arg(b.numel() == w.size(0), op, "bias must hold one value per output channel");
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

Conv2dParams conv_transpose2d_geometry(const Tensor& x, const Tensor& w, const Tensor& b, int stride,
                                       int padding, int output_padding, int dilation, const char* op) {
  check_4d(x, op, "input");
  check_4d(w, op, "weight");
  check_arg(w.size(0) == x.size(1), op, "weight " + shape_str(w.shape()) + " expects " +
                                            std::to_string(w.size(0)) + " input channels, input is " +
                                            shape_str(x.shape()));
  check_arg(stride >= 1 && dilation >= 1 && padding >= 0, op, "stride and dilation must be >= 1, padding >= 0");
  check_arg(output_padding >= 0 && (output_padding < stride || output_padding < dilation), op,
            "output_padding must be smaller than stride or dilation");
  if (b.defined()) check_arg(b.numel() == w.size(1), op, "bias must hold one value per output channel");
  Conv2dParams p;
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
  return p;
}

}  // namespace tinct::ops
