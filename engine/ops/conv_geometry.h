// conv_geometry.h — the argument checks and Conv2dParams of conv2d and
// conv_transpose2d, shared by their plain and fused ops.
#pragma once

#include "engine/ops/op_util.h"
#include "kernels/kernels.h"

namespace tinct::ops {

// x[N,C,H,W] * w[K,C,R,S] (+ b[K]); throws std::invalid_argument naming `op`.
Conv2dParams conv2d_geometry(const Tensor& x, const Tensor& w, const Tensor& b, int stride, int padding,
                             int dilation, const char* op);
// x[N,Cin,H,W] *^T w[Cin,Cout,R,S] (+ b[Cout]): the conv2d whose
// backward-data it is (C = Cout, K = Cin, (H, W) its output size).
Conv2dParams conv_transpose2d_geometry(const Tensor& x, const Tensor& w, const Tensor& b, int stride,
                                       int padding, int output_padding, int dilation, const char* op);

}  // namespace tinct::ops
