// gemm/cpu_generic.cpp — the portable GEMM micro-kernel (any processor): the
// fallback kernel set "generic", and the one non-x86 builds use.
//
// A 6 x 16 tile like the AVX2 kernel, in plain C++ at the build's baseline ISA
// (x86-64-v2 on x86: SSE4.2), which the compiler vectorises along the 16
// columns. One row of the tile at a time: its 16 sums fit in vector registers
// for the whole k loop (SSE has too few registers for all 6 rows).
#include "kernels/gemm/microkernels.h"

namespace tinct::cpu::detail {
namespace {

constexpr int MR = 6, NR = 16;

void micro_kernel(int kc, const float* __restrict a, const float* __restrict b, float* C, int ldc,
                  float alpha, float beta, int mr, int nr) {
  for (int i = 0; i < mr; ++i) {
    float acc[NR] = {};
    for (int k = 0; k < kc; ++k) {
      const float ai = a[k * MR + i];
      for (int j = 0; j < NR; ++j) acc[j] += ai * b[k * NR + j];
    }
    float* c = C + (size_t)i * ldc;
    if (beta == 0.0f) {
      for (int j = 0; j < nr; ++j) c[j] = alpha * acc[j];
    } else {
      for (int j = 0; j < nr; ++j) c[j] = alpha * acc[j] + beta * c[j];
    }
  }
}

// Blocking as for the AVX2 set (see gemm/cpu_avx2.cpp).
const GemmKernel kGeneric{CpuKernels::Generic, MR, NR, 256, 144, 4080, micro_kernel};

}  // namespace

const GemmKernel* gemm_kernel_generic() { return &kGeneric; }

}  // namespace tinct::cpu::detail
