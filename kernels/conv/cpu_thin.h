// conv/cpu_thin.h — internal to the kernels library: the two row loops of the
// thin convolution (conv/cpu_thin.cpp drives them). The portable versions sit
// in cpu_thin.cpp; conv/cpu_thin_avx512.cpp compiles the same loops with its
// own -m flags (16 lanes instead of SSE's 4).
#pragma once

#include <cstddef>

namespace tinct::cpu::detail {

struct ThinRowOps {
  // y[i] += a * x[i], i < n
  void (*axpy)(size_t n, float a, const float* x, float* y);
  // sum of x[i] * y[i], i < n (lane-wise partial sums: a fixed order per kernel set)
  float (*dot)(size_t n, const float* x, const float* y);
};

const ThinRowOps& thin_row_ops_generic();
const ThinRowOps* thin_row_ops_avx512();  // nullptr where built without AVX-512

}  // namespace tinct::cpu::detail
