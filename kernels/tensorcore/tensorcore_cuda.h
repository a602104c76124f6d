// tensorcore_cuda.h — the tensor-core GEMM kernels (kernels/tensorcore/cuda_*.cu).
// Same contract as cuda::sgemm (kernels/cuda.h) and the references of
// tensorcore.h: row-major C[M,N] = alpha * op(A)[M,K] op(B)[K,N] + beta * C,
// device pointers, beta == 0: C is not read; asynchronous on `stream`.
// Each matrix < 2^31 elements. Any lda / ldb / alignment works; the fast
// (cp.async) loads need A and B 16-byte aligned with lda, ldb multiples of 16
// bytes, other layouts take a slower synchronous load path.
// Include only where TINCT_HAS_CUDA is defined.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace tinct::cuda {

// Variant 1 (cuda_1_mma_tf32.cu): fp32 in, rounded to TF32 (cvt.rna) on the
// way to mma.m16n8k8, fp32 accumulation. Matches cpu::gemm_tf32_ref.
void gemm_tf32(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda,
               const float* B, int ldb, float beta, float* C, int ldc, cudaStream_t stream = 0);
// Variant 2 (cuda_2_mma_bf16.cu): bf16 A and B (uint16_t bit patterns),
// mma.m16n8k16, fp32 accumulation and C. Matches cpu::gemm_bf16_ref.
void gemm_bf16(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const uint16_t* A, int lda,
               const uint16_t* B, int ldb, float beta, float* C, int ldc, cudaStream_t stream = 0);

}  // namespace tinct::cuda
