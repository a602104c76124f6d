// cuda_1_mma_tf32.cu — variant 1 of the tensor-core GEMM: TF32.
//
// What it computes (cpu::gemm_tf32_ref, ref.cpp; contract in tensorcore_cuda.h):
//   C[M,N] = alpha * op(A)[M,K] op(B)[K,N] + beta * C, row-major, fp32 in and
//   out, each input rounded to TF32 (cvt.rna.tf32.f32) between shared memory
//   and the tensor core, mma.sync.m16n8k8 with fp32 accumulation.
// Tiles (gemm_core.cuh, which says why): 128x128 block, 8 warps of 64x32,
// BK = 32 (128 bytes of K per row and stage), 3-stage cp.async pipeline,
// padded shared memory; fragments by ldmatrix.x4 where K is contiguous
// (A as is, B transposed), by conflict-free scalar loads otherwise.
// Variants of the family: 0 = cuBLAS (cublasGemmEx, CUBLAS_COMPUTE_32F_FAST_TF32,
// benchmarks only), 1 = this file, 2 = cuda_2_mma_bf16.cu.
// Test: tests/gpu/test_gpu_tensorcore.cpp (on the CPU: tools/cuda_emu/build.sh
// /tmp/emu_tc '-tc=*tensorcore*'). Benchmark: ./build/bench/bench_gpu_tensorcore
//
// The convolutions run on the same core: kernels/tensorcore/conv_core.cuh
// (CUDA conv variants 4 tf32 / 5 bf16) replaces the operand loaders by the
// im2col / dy gathers and the epilogue by the NCHW store.
#include <cuda_runtime.h>

#include "kernels/tensorcore/gemm_core.cuh"
#include "kernels/tensorcore/tensorcore_cuda.h"

namespace tinct::cuda {
namespace {
struct Launch {  // the launch of gemm_core.cuh's kernel, here so that tools/cuda_emu/gen.py rewrites it
  template <bool TA, bool TB, bool VEC>
  void run(const tc::GemmArgs<float>& q, dim3 grid, int smem, cudaStream_t stream) const {
    tc::gemm_kernel<tc::Tf32, TA, TB, VEC><<<grid, tc::kThreads, smem, stream>>>(q);
  }
};
}  // namespace

void gemm_tf32(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda,
               const float* B, int ldb, float beta, float* C, int ldc, cudaStream_t stream) {
  tc::gemm<tc::Tf32>("gemm_tf32", trans_a, trans_b, {M, N, K, alpha, beta, A, lda, B, ldb, C, ldc}, Launch{}, stream);
}

}  // namespace tinct::cuda
