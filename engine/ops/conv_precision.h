// conv_precision.h — the three convolution passes at the engine's precision
// (engine/precision.h), on the device of their tensors: what conv2d,
// conv_transpose2d and their fused forms call.
//
// CUDA: cuda::conv2d_* with the precision (dispatch.cu: fp32 variants 2 / 3,
// tf32 variant 4, bf16 variant 5). CPU: the fp32 kernels on copies of the
// operands rounded as the tensor cores round them (cpu::round_operands); the
// bias gradient sums the unrounded dy, as bias_grad does on the GPU.
#pragma once

#include <vector>

#include "engine/ops/op_util.h"
#include "engine/precision.h"
#include "kernels/kernels.h"

namespace tinct::ops {

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

}  // namespace tinct::ops
