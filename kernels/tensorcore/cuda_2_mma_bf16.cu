// cuda_2_mma_bf16.cu — variant 2 of the tensor-core GEMM: BF16 in, FP32 out.
//
// What it computes (cpu::gemm_bf16_ref, ref.cpp; contract in tensorcore_cuda.h):
//   C[M,N] = alpha * op(A)[M,K] op(B)[K,N] + beta * C, row-major; A and B are
//   bf16 (uint16_t bit patterns), C fp32; mma.sync.m16n8k16 with fp32
//   accumulation: the mixed precision of issue 12 (bf16 activations and
//   weights into the GEMM, fp32 out).
// Tiles (gemm_core.cuh, which says why): 128x128 block, 8 warps of 64x32,
// BK = 64 (128 bytes of K per row and stage), 3-stage cp.async pipeline,
// padded shared memory; every fragment by ldmatrix.x4, with .trans where
// M or N is the contiguous dimension (A transposed, B as is).
// Variants of the family: 0 = cuBLAS (cublasGemmEx, CUDA_R_16BF inputs,
// CUBLAS_COMPUTE_32F, benchmarks only), 1 = cuda_1_mma_tf32.cu, 2 = this file.
// Test: tests/gpu/test_gpu_tensorcore.cpp (on the CPU: tools/cuda_emu/build.sh
// /tmp/emu_tc '-tc=*tensorcore*'). Benchmark: ./build/bench/bench_gpu_tensorcore
// The convolutions on the same core: kernels/tensorcore/conv_core.cuh (conv
// variant 5 converts the fp32 NCHW activations to bf16 as it stages them;
// channels-last bf16 storage, 16-byte chunks of 8 channels, is still to come).
#include <cuda_runtime.h>

#include "kernels/tensorcore/gemm_core.cuh"
#include "kernels/tensorcore/tensorcore_cuda.h"

namespace tinct::cuda {
namespace {
struct Launch {  // the launch of gemm_core.cuh's kernel, here so that tools/cuda_emu/gen.py rewrites it
  template <bool TA, bool TB, bool VEC>
  void run(const tc::GemmArgs<uint16_t>& q, dim3 grid, int smem, cudaStream_t stream) const {
    tc::gemm_kernel<tc::Bf16, TA, TB, VEC><<<grid, tc::kThreads, smem, stream>>>(q);
  }
};
}  // namespace

void gemm_bf16(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const uint16_t* A, int lda,
               const uint16_t* B, int ldb, float beta, float* C, int ldc, cudaStream_t stream) {
  tc::gemm<tc::Bf16>("gemm_bf16", trans_a, trans_b, {M, N, K, alpha, beta, A, lda, B, ldb, C, ldc}, Launch{}, stream);
}

}  // namespace tinct::cuda
