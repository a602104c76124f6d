// elementwise/ref.cpp — elementwise arithmetic, the reference (the
// specification: plain single-threaded loops; elementwise/cpu.cpp threads them).
//
//   add:   y[i] = a[i] + b[i]
//   mul:   y[i] = a[i] * b[i]
//   scale: y[i] = s * x[i]
//   axpy:  y[i] += a * x[i]        (BLAS axpy; accumulates into y)
//   fill:  y[i] = v
// y may alias an input (each element is read before it is written, by the
// same iteration). Each element is independent.
#include "kernels/kernels.h"

namespace tinct::cpu {

void add_ref(size_t n, const float* a, const float* b, float* y) {
  for (size_t i = 0; i < n; ++i) y[i] = a[i] + b[i];
}

void mul_ref(size_t n, const float* a, const float* b, float* y) {
  for (size_t i = 0; i < n; ++i) y[i] = a[i] * b[i];
}

void scale_ref(size_t n, float s, const float* x, float* y) {
  for (size_t i = 0; i < n; ++i) y[i] = s * x[i];
}

void axpy_ref(size_t n, float a, const float* x, float* y) {
  for (size_t i = 0; i < n; ++i) y[i] += a * x[i];
}

void fill_ref(size_t n, float v, float* y) {
  for (size_t i = 0; i < n; ++i) y[i] = v;
}

}  // namespace tinct::cpu
