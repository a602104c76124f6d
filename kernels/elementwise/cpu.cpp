// elementwise/cpu.cpp — elementwise arithmetic, the fast CPU path: the
// reference's loops (elementwise/ref.cpp, the specification) on one chunk of
// the elements per OpenMP thread; the same result bit for bit.
#include "kernels/common/parallel.h"
#include "kernels/kernels.h"

namespace tinct::cpu {

using detail::parallel_chunks;

void add(size_t n, const float* a, const float* b, float* y) {
  parallel_chunks(n, [&](size_t i, size_t e) { add_ref(e - i, a + i, b + i, y + i); });
}

void mul(size_t n, const float* a, const float* b, float* y) {
  parallel_chunks(n, [&](size_t i, size_t e) { mul_ref(e - i, a + i, b + i, y + i); });
}

void scale(size_t n, float s, const float* x, float* y) {
  parallel_chunks(n, [&](size_t i, size_t e) { scale_ref(e - i, s, x + i, y + i); });
}

void axpy(size_t n, float a, const float* x, float* y) {
  parallel_chunks(n, [&](size_t i, size_t e) { axpy_ref(e - i, a, x + i, y + i); });
}

void fill(size_t n, float v, float* y) {
  parallel_chunks(n, [&](size_t i, size_t e) { fill_ref(e - i, v, y + i); });
}

}  // namespace tinct::cpu
