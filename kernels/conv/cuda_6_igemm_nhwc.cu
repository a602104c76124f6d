// conv/cuda_6_igemm_nhwc.cu — CUDA convolution variant 6: the tensor-core
// implicit GEMMs (variants 4 / 5) on channels-last activations, at TF32 or
// BF16, all three passes.
//
// What it computes: variant 4's (Precision::tf32) or 5's (bf16) forward,
// backward-data and backward-filter with x / dx stored [N][H][W][C] and y /
// dy [N][P][Q][K] (weights and dw [K][C][R][S]); the specification is
// kernels/tensorcore/ref_conv.cpp's conv2d_*_nhwc_ref (the NCHW reference on
// the transposed tensors). The same products in the same order as variants
// 4 / 5: their bits, transposed.
// How: conv_core.cuh's kernel (128x128 tiles, 8 warps of 64x32, 3-stage
// ring, mma.sync) with the loaders of kernels/tensorcore/conv_core_nhwc.cuh,
// which copy 16 bytes of one pixel's channels at a time (cp.async at tf32,
// registers and cvt.rn at bf16) where variants 4 / 5 gather element by
// element; layers whose channels are not a multiple of the chunk (4 tf32,
// 8 bf16) go element by element here too.
// Variants of the family: 0 cuDNN (benchmarks only; NHWC descriptors at
// TF32 / BF16 beside this one), 1 naive, 2 FP32 implicit GEMM, 3 Winograd,
// 4 / 5 tensor cores on NCHW, 6 this file. The engine runs it for every
// convolution whose input is channels-last (--layout nhwc, engine/layout.h;
// engine/ops/conv_precision.cpp); bench_gpu_conv_tc's "6 nhwc" rows time it
// beside cuDNN NHWC.
// Test: tests/gpu/test_gpu_conv_tc.cpp (on the CPU: tools/cuda_emu/build.sh
// /tmp/emu_tc '-tc=*conv tc*'). Benchmark: build/bench/bench_gpu_conv_tc.
#include <cuda_runtime.h>

#include <stdexcept>

#include "kernels/cuda.h"
#include "kernels/tensorcore/conv_core_nhwc.cuh"

namespace tinct::cuda {

namespace {
// Runs f(tc::Tf32{}) or f(tc::Bf16{}) for prec.
template <class F>
void at_precision(Precision prec, const char* name, F&& f) {
  if (prec == Precision::tf32) return f(tc::Tf32{});
  if (prec == Precision::bf16) return f(tc::Bf16{});
  throw std::invalid_argument(std::string(name) + ": channels-last convolutions run at tf32 or bf16 only");
}
}  // namespace

void conv2d_fwd_nhwc(Precision prec, const Conv2dParams& p, const float* x, const float* w, const float* b,
                     float* y, cudaStream_t stream) {
  at_precision(prec, "conv2d_fwd_nhwc", [&](auto P) { tc::conv_fwd<decltype(P), tc::Nhwc>(p, x, w, b, y, stream); });
}

void conv2d_bwd_data_nhwc(Precision prec, const Conv2dParams& p, const float* dy, const float* w, float* dx,
                          cudaStream_t stream) {
  at_precision(prec, "conv2d_bwd_data_nhwc",
               [&](auto P) { tc::conv_bwd_data<decltype(P), tc::Nhwc>(p, dy, w, dx, stream); });
}

void conv2d_bwd_filter_nhwc(Precision prec, const Conv2dParams& p, const float* x, const float* dy, float* dw,
                            float* db, cudaStream_t stream) {
  at_precision(prec, "conv2d_bwd_filter_nhwc",
               [&](auto P) { tc::conv_bwd_filter<decltype(P), tc::Nhwc>(p, x, dy, dw, db, stream); });
}

}  // namespace tinct::cuda
