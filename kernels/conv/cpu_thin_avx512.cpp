// conv/cpu_thin_avx512.cpp — the thin convolution's row loops (conv/cpu_thin.h)
// compiled with -mavx512f: plain loops the compiler vectorises 16 lanes wide.
// What they compute and how to benchmark: conv/cpu_thin.cpp.
#include "kernels/conv/cpu_thin.h"

namespace tinct::cpu::detail {

namespace {

void axpy(size_t n, float a, const float* __restrict x, float* __restrict y) {
#pragma omp simd
  for (size_t i = 0; i < n; ++i) y[i] += a * x[i];
}

float dot(size_t n, const float* __restrict x, const float* __restrict y) {
  float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
  for (size_t i = 0; i < n; ++i) sum += x[i] * y[i];
  return sum;
}

}  // namespace

const ThinRowOps* thin_row_ops_avx512() {
#if defined(__AVX512F__)
  static const ThinRowOps ops{axpy, dot};
  return &ops;
#else
  return nullptr;
#endif
}

}  // namespace tinct::cpu::detail
