// conv/cuda_5_igemm_bf16.cu — CUDA convolution variant 5: the implicit-GEMM
// convolutions on the tensor cores at BF16 (mixed precision), all three passes.
//
// What it computes (kernels/tensorcore/ref_conv.cpp, conv2d_*_ref with
// Precision::bf16, is the specification): kernels/conv/ref.cpp's forward,
// backward-data and backward-filter with every product's two operands
// rounded to BF16 (cvt.rn.bf16.f32: 7 mantissa bits, ties to even) and fp32
// accumulation; the bias and dw/db accumulation in fp32. Tensors stay fp32
// in memory (NCHW): the weights are converted when packed, the activations
// when a gather stages them into shared memory.
// How (kernels/tensorcore/conv_core.cuh says why): 128x128 block tiles,
// 8 warps of 64x32, BK = 64, 3-stage shared-memory ring; the weights packed
// once per call into a 16-byte-aligned matrix read by cp.async, the im2col /
// dy gathers register-staged and walked tap-major (one bounds test per
// tap); backward-data one GEMM per output phase at stride > 1; mma.sync
// m16n8k16 bf16 with fp32 accumulators; backward-filter split-K over N*P*Q
// with a deterministic second pass.
// Variants of the family: 0 cuDNN (benchmarks only; at BF16 on bf16 copies
// of the tensors, fp32 compute), 1 naive, 2 FP32 implicit GEMM, 3 Winograd,
// 4 the same at TF32 (cuda_4_igemm_tf32.cu), 5 this file; dispatch.cu runs 5
// for every shape when the precision is bf16.
// Test: tests/gpu/test_gpu_conv_tc.cpp (on the CPU: tools/cuda_emu/build.sh
// /tmp/emu_tc '-tc=*conv tc*'). Benchmark: build/bench/bench_gpu_kernels
// --benchmark_filter=conv (cuDNN BF16 beside it), tinct-kbench conv2d_fwd 5.
#include <cuda_runtime.h>

#include "kernels/cuda.h"
#include "kernels/tensorcore/conv_core.cuh"

namespace tinct::cuda {

void conv2d_fwd_bf16(const Conv2dParams& p, const float* x, const float* w, const float* b, float* y,
                     cudaStream_t stream) {
  tc::conv_fwd<tc::Bf16>(p, x, w, b, y, stream);
}

void conv2d_bwd_data_bf16(const Conv2dParams& p, const float* dy, const float* w, float* dx, cudaStream_t stream) {
  tc::conv_bwd_data<tc::Bf16>(p, dy, w, dx, stream);
}

void conv2d_bwd_filter_bf16(const Conv2dParams& p, const float* x, const float* dy, float* dw, float* db,
                            cudaStream_t stream) {
  tc::conv_bwd_filter<tc::Bf16>(p, x, dy, dw, db, stream);
}

}  // namespace tinct::cuda
