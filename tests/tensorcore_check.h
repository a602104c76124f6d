// tensorcore_check.h — the exact product of the tensor-core GEMM tests
// (test_tensorcore_ref.cpp, gpu/test_gpu_tensorcore.cpp) and the error bound
// that fp32 accumulation implies.
//
// For one output, with the inputs already rounded (tf32 or bf16 values, whose
// products are exact in fp32), any order of K fp32 additions is within
//   gamma_K * sum_k |a_k b_k|,   gamma_K = K u / (1 - K u),  u = 2^-24
// of the exact sum (Higham, Accuracy and Stability of Numerical Algorithms,
// 2nd ed., eq. 3.5); alpha and beta add two roundings more. So
//   |C - exact| <= (K + 2) u (|alpha| S + |beta c|) (to first order),
//   S = sum_k |a_k b_k|,
// for the reference and the GPU alike; two results obeying it are within
// twice that of each other. An indexing or fragment bug is O(|a b|) per
// wrong term, far above it.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdio>
#include <vector>

namespace tccheck {

constexpr double kU = 1.0 / (1 << 24);  // fp32 unit roundoff

// op(X)[i,k] of a row-major matrix (trans: stored [K][M]).
inline double op_at(const std::vector<double>& X, bool trans, int ld, int i, int k) {
  return trans ? X[(size_t)k * ld + i] : X[(size_t)i * ld + k];
}

// Exact (double) C = alpha op(A) op(B) + beta C0 and S = sum |a b| per output.
struct Exact {
  std::vector<double> c, s;
};
inline Exact exact_gemm(bool ta, bool tb, int M, int N, int K, double alpha, const std::vector<double>& A, int lda,
                        const std::vector<double>& B, int ldb, double beta, const std::vector<float>& C0, int ldc) {
  Exact e;
  e.c.assign((size_t)M * N, 0.0);
  e.s.assign((size_t)M * N, 0.0);
#pragma omp parallel for schedule(static)
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < N; ++j) {
      double sum = 0, abs_sum = 0;
      for (int k = 0; k < K; ++k) {
        const double p = op_at(A, ta, lda, i, k) * (tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j]);
        sum += p;  // products of <= 24-bit values: exact in double; the sum's error is far below fp32's
        abs_sum += std::fabs(p);
      }
      const double c0 = beta == 0.0 ? 0.0 : beta * C0[(size_t)i * ldc + j];
      e.c[(size_t)i * N + j] = alpha * sum + c0;
      e.s[(size_t)i * N + j] = std::fabs(alpha) * abs_sum + std::fabs(c0);
    }
  return e;
}

// The worst of |got - want| / tol over the outputs, where tol is `per_s * S`
// plus `floor`; prints it with its place. Returns the worst ratio (<= 1 passes).
inline double worst_ratio(const char* what, const float* got, int ldc, const std::vector<double>& want,
                          const std::vector<double>& s, int M, int N, double per_s, double floor = 0.0) {
  double worst = 0, worst_err = 0, worst_tol = 0;
  int wi = 0, wj = 0;
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < N; ++j) {
      const double g = got[(size_t)i * ldc + j];
      const double err = std::isfinite(g) ? std::fabs(g - want[(size_t)i * N + j]) : INFINITY;
      const double tol = per_s * s[(size_t)i * N + j] + floor;
      const double r = err == 0 ? 0 : err / tol;
      if (r > worst || (r == worst && err > worst_err)) worst = r, worst_err = err, wi = i, wj = j, worst_tol = tol;
    }
  std::printf("  %-52s worst |err| = %.3g at (%d,%d), tol there %.3g, err/tol = %.3g %s\n", what, worst_err, wi, wj,
              worst_tol, worst, worst <= 1 ? "ok" : "FAIL");
  return worst;
}

}  // namespace tccheck
