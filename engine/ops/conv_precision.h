// conv_precision.h — the three convolution passes at the engine's precision
// (engine/precision.h), on the device of their tensors: what conv2d,
// conv_transpose2d and their fused forms call.
//
// CUDA: cuda::conv2d_* with the precision (dispatch.cu: fp32 variants 2 / 3,
// tf32 variant 4, bf16 variant 5). CPU: bf16 runs the bf16 GEMM convolutions
// (cpu::conv2d_*_bf16, AVX-512 BF16) where cpu::cpu_bf16_gemm(); otherwise,
// and for tf32, the fp32 kernels on copies of the operands rounded as the
// tensor cores round them (cpu::round_operands). Either way the bias gradient
// sums the unrounded dy, as bias_grad does on the GPU.
#pragma once

#include <vector>

#include "engine/ops/op_util.h"
#include "engine/precision.h"
#include "kernels/kernels.h"

namespace tinct::ops {

// The convolution's input as the passes take it: x, or x in NCHW when it is
// channels-last at fp32 (the channels-last passes, CUDA conv variant 6, are
// tf32 / bf16 only; engine/layout.h). A channels-last x (on the GPU) makes
// the passes channels-last: dy, y, dx in x's layout.
Tensor conv_operand(const Tensor& x, Precision prec);

// The operand as the products read it: t's data at fp32, else a rounded copy
// held in `store`. CPU tensors only.
const float* cpu_operand(Precision prec, const Tensor& t, std::vector<float>& store);

// Same contracts as cpu::conv2d_fwd / _bwd_data / _bwd_filter (kernels.h).
void conv2d_fwd_at(Precision prec, Device dev, const Conv2dParams& p, const Tensor& x, const Tensor& w,
                   const float* b, float* y);
void conv2d_bwd_data_at(Precision prec, Device dev, const Conv2dParams& p, const Tensor& dy, const Tensor& w,
                        float* dx);
void conv2d_bwd_filter_at(Precision prec, Device dev, const Conv2dParams& p, const Tensor& x, const Tensor& dy,
                          float* dw, float* db);

// The fused CPU forwards at a precision (conv_fused.cpp, conv_transpose.cpp):
// cpu::conv2d_fwd_fused / conv_transpose2d_fwd_fused, or their _bf16 forms.
void cpu_conv2d_fwd_fused_at(Precision prec, const Conv2dParams& p, const Tensor& x, const Tensor& w,
                             const cpu::Epilogue& e, float* y);
void cpu_conv_transpose2d_fwd_fused_at(Precision prec, const Conv2dParams& p, const Tensor& x, const Tensor& w,
                                       const cpu::Epilogue& e, float* y);

}  // namespace tinct::ops
