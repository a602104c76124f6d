// ref.cpp — the specification of the tensor-core GEMMs (tensorcore.h): the
// rounding of each precision, then a plain triple loop, one dot product per
// output, accumulated in fp32 in the order k = 0, 1, ..., K-1. Deliberately
// slow and obvious; tests/test_tensorcore_ref.cpp checks it against double
// precision, tests/gpu/test_gpu_tensorcore.cpp checks the kernels against it.
#include <cmath>
#include <cstring>

#include "kernels/tensorcore/tensorcore.h"

namespace tinct::cpu {

namespace {
uint32_t bits_of(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  return u;
}
float float_of(uint32_t u) {
  float x;
  std::memcpy(&x, &u, 4);
  return x;
}
}  // namespace

float round_tf32(float x) {
  uint32_t u = bits_of(x);
  // The integer add rounds the magnitude (sign-magnitude format): bit 12 is
  // the first one dropped, so adding it carries exactly when the dropped part
  // is >= half an ulp.
  if (std::isfinite(x)) u += 0x1000u;
  return float_of(u & 0xffffe000u);
}

uint16_t bf16_from_float(float x) {
  const uint32_t u = bits_of(x);
  if (std::isnan(x)) return uint16_t((u >> 16) | 0x0040u);  // keep the sign, force quiet
  // Round to nearest even on the 16 dropped bits: add 0x7fff, plus 1 when the
  // kept part is odd, so that an exact tie goes to the even neighbour.
  return uint16_t((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

float bf16_to_float(uint16_t b) { return float_of(uint32_t(b) << 16); }

void round_operands(Precision prec, const float* in, float* out, size_t n) {
  switch (prec) {
    case Precision::fp32:
      if (in != out) std::memmove(out, in, n * sizeof(float));
      break;
    case Precision::tf32:
      for (size_t i = 0; i < n; ++i) out[i] = round_tf32(in[i]);
      break;
    case Precision::bf16:
      for (size_t i = 0; i < n; ++i) out[i] = round_bf16(in[i]);
      break;
  }
}

namespace {
template <class T, class Widen>
void gemm_rounded(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const T* A, int lda,
                  const T* B, int ldb, float beta, float* C, int ldc, Widen widen) {
  for (int i = 0; i < M; ++i) {
    for (int j = 0; j < N; ++j) {
      float sum = 0.0f;
      for (int k = 0; k < K; ++k) {
        const T a = trans_a ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];  // op(A)[i,k]
        const T b = trans_b ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];  // op(B)[k,j]
        sum += widen(a) * widen(b);  // exact product, one fp32 rounding per add
      }
      float& c = C[(size_t)i * ldc + j];
      c = (beta == 0.0f) ? alpha * sum : alpha * sum + beta * c;
    }
  }
}
}  // namespace

void gemm_tf32_ref(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda,
                   const float* B, int ldb, float beta, float* C, int ldc) {
  gemm_rounded(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, round_tf32);
}

void gemm_bf16_ref(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const uint16_t* A,
                   int lda, const uint16_t* B, int ldb, float beta, float* C, int ldc) {
  gemm_rounded(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bf16_to_float);
}

}  // namespace tinct::cpu
