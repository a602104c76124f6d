// tensorcore.h — GEMM at tensor-core precisions: the CPU reference (ref.cpp,
// the specification) and the rounding it is defined by. The CUDA kernels are
// declared in kernels/tensorcore/cuda.h.
//
// Both precisions multiply rounded inputs exactly and accumulate in FP32:
//   TF32: each fp32 input rounded to TF32 (1 sign, 8 exponent, 10 mantissa
//         bits; cvt.rna.tf32.f32: to nearest, ties away from zero), as the
//         kernel does on the way from shared memory to the tensor core;
//   BF16: the inputs ARE bf16 (stored as uint16_t bit patterns, 7 mantissa
//         bits); conversion from fp32 rounds to nearest even (cvt.rn.bf16.f32).
// A product of two such inputs has at most 22 significant bits, so it is exact
// in fp32; the references add the products in the order k = 0, 1, ..., K-1
// with fp32 rounding after each add, then apply alpha and beta in fp32.
#pragma once

#include <cstdint>

namespace tinct::cpu {

// cvt.rna.tf32.f32 as the GPU executes it: finite x gets 0x1000 added to its
// bit pattern (half a TF32 ulp: rounds the magnitude to nearest, ties away
// from zero; a carry moves into the exponent, so FLT_MAX becomes inf and the
// largest subnormals become FLT_MIN), then the low 13 bits are cleared.
// Inf and NaN are only masked (a NaN whose payload lies entirely in the low 13
// bits would become inf; quiet NaNs stay NaN). Subnormals are not flushed.
float round_tf32(float x);
// cvt.rn.bf16.f32: round to nearest, ties to even; overflow gives inf; NaN
// gives a quiet NaN of the same sign. Subnormals are kept (not flushed).
uint16_t bf16_from_float(float x);
float bf16_to_float(uint16_t b);  // exact
inline float round_bf16(float x) { return bf16_to_float(bf16_from_float(x)); }

// Row-major C[M,N] = alpha * op(A)[M,K] op(B)[K,N] + beta * C, the contract
// of cpu::sgemm_ref (kernels.h): op(A) = A (stored [M,K], lda >= K) or A^T
// (stored [K,M], lda >= M); likewise B; beta == 0: C is not read.
// TF32: A and B are fp32, rounded with round_tf32 before the product.
void gemm_tf32_ref(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda,
                   const float* B, int ldb, float beta, float* C, int ldc);
// BF16: A and B are bf16 bit patterns; C is fp32.
void gemm_bf16_ref(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const uint16_t* A,
                   int lda, const uint16_t* B, int ldb, float beta, float* C, int ldc);

}  // namespace tinct::cpu
