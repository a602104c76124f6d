// gemm/ref.cpp — the reference single-precision GEMM: the specification that
// the fast path (gemm/cpu.cpp) and the CUDA kernels are tested against.
//
//   C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C        (row-major)
//
// op(A) = A when trans_a is false (A is stored [M,K], row i at A + i*lda), and
// A^T when it is true (A is stored [K,M], row k at A + k*lda). Likewise B.
// beta == 0 means C is write-only: it is never read, so it may hold NaN.
//
// Plain triple loop, one dot product per output, accumulated in float in the
// order k = 0, 1, ..., K-1. Deliberately slow and obvious.
#include "kernels/kernels.h"

namespace tinct::cpu {

void sgemm_ref(bool trans_a, bool trans_b, int M, int N, int K, float alpha,
               const float* A, int lda, const float* B, int ldb, float beta, float* C, int ldc) {
  for (int i = 0; i < M; ++i) {
    for (int j = 0; j < N; ++j) {
      float sum = 0.0f;
      for (int k = 0; k < K; ++k) {
        const float a = trans_a ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];  // op(A)[i,k]
        const float b = trans_b ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];  // op(B)[k,j]
        sum += a * b;
      }
      float& c = C[(size_t)i * ldc + j];
      // Branch rather than multiply: 0 * NaN would be NaN, and beta == 0 promises C is not read.
      c = (beta == 0.0f) ? alpha * sum : alpha * sum + beta * c;
    }
  }
}

}  // namespace tinct::cpu
