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

#include <cstddef>
#include <cstdint>

#include "kernels/kernels.h"  // Conv2dParams, Precision

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

// out[i] = in[i] rounded as `prec` rounds an operand (fp32: copied; tf32:
// round_tf32; bf16: round_bf16). in == out is allowed.
void round_operands(Precision prec, const float* in, float* out, size_t n);

// Row-major C[M,N] = alpha * op(A)[M,K] op(B)[K,N] + beta * C, the contract
// of cpu::sgemm_ref (kernels.h): op(A) = A (stored [M,K], lda >= K) or A^T
// (stored [K,M], lda >= M); likewise B; beta == 0: C is not read.
// TF32: A and B are fp32, rounded with round_tf32 before the product.
void gemm_tf32_ref(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda,
                   const float* B, int ldb, float beta, float* C, int ldc);
// BF16: A and B are bf16 bit patterns; C is fp32.
void gemm_bf16_ref(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const uint16_t* A,
                   int lda, const uint16_t* B, int ldb, float beta, float* C, int ldc);

// The convolutions at a precision (ref_conv.cpp): conv2d_fwd_ref,
// conv2d_bwd_data_ref and conv2d_bwd_filter_ref (kernels/conv/ref.cpp) on
// the operands rounded by round_operands (x, w, dy; the bias and the dw / db
// accumulation stay fp32): the specification of CUDA conv variants 4 (tf32)
// and 5 (bf16). The products of rounded operands are exact in fp32, so the
// only other rounding is the fp32 accumulation, as on the tensor cores.
void conv2d_fwd_ref(Precision prec, const Conv2dParams& p, const float* x, const float* w, const float* b, float* y);
void conv2d_bwd_data_ref(Precision prec, const Conv2dParams& p, const float* dy, const float* w, float* dx);
void conv2d_bwd_filter_ref(Precision prec, const Conv2dParams& p, const float* x, const float* dy, float* dw,
                           float* db);

// The same on channels-last activations, the specification of CUDA conv
// variant 6: x and dx [N][H][W][C], y and dy [N][P][Q][K]; w, dw, b and db as
// above. Each transposes its activations to NCHW, runs the function above and
// transposes the result back: the same arithmetic, so variant 6 is held to
// the same tolerance as variants 4 / 5.
void conv2d_fwd_nhwc_ref(Precision prec, const Conv2dParams& p, const float* x, const float* w, const float* b,
                         float* y);
void conv2d_bwd_data_nhwc_ref(Precision prec, const Conv2dParams& p, const float* dy, const float* w, float* dx);
void conv2d_bwd_filter_nhwc_ref(Precision prec, const Conv2dParams& p, const float* x, const float* dy, float* dw,
                                float* db);

}  // namespace tinct::cpu
