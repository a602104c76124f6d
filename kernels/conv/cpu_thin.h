// conv/cpu_thin.h — internal to the kernels library: the row loops of the
// thin convolution (conv/cpu_thin.cpp drives them; conv/cpu_stem_dw.cpp too). The portable versions sit
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
  // out[t] = sum over rows r < R and columns i < n of y[r ldy + i] * x[off[t] + r ldx + i],
  // for t < T: T two-dimensional dot products against one y, several at a
  // time (conv/cpu_stem_dw.cpp's taps; the order of the sum is fixed per kernel set).
  void (*dots)(int R, size_t n, const float* y, size_t ldy, const float* x, size_t ldx, const size_t* off, int T,
               float* out);
};

const ThinRowOps& thin_row_ops_generic();
const ThinRowOps* thin_row_ops_avx512();  // nullptr where built without AVX-512

}  // namespace tinct::cpu::detail
