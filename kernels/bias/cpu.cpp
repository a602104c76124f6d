// bias/cpu.cpp — per-channel bias, the fast CPU path: the reference
// (bias/ref.cpp, the specification) per (n, c) plane for bias_add, and its
// per-channel sum for bias_grad, split over OpenMP threads; the same result
// bit for bit (each channel's sum runs in the reference's order).
#include "kernels/kernels.h"

namespace tinct::cpu {

void bias_add(int N, int C, int HW, const float* b, float* y) {
#pragma omp parallel for collapse(2)
  for (int n = 0; n < N; ++n)
    for (int c = 0; c < C; ++c) bias_add_ref(1, 1, HW, b + c, y + (size_t(n) * C + c) * HW);
}

void bias_grad(int N, int C, int HW, const float* dy, float* db) {
#pragma omp parallel for
  for (int c = 0; c < C; ++c) {
    double sum = 0.0;
    for (int n = 0; n < N; ++n)
      for (int i = 0; i < HW; ++i) sum += dy[(size_t(n) * C + c) * HW + i];
    db[c] += float(sum);
  }
}

}  // namespace tinct::cpu
