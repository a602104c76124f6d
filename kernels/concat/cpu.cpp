// concat/cpu.cpp — channel concatenation and its adjoint, the fast CPU path:
// the reference (concat/ref.cpp, the specification) per (n, c) plane, the
// planes split over OpenMP threads; the same result bit for bit.
#include "kernels/kernels.h"

namespace tinct::cpu {

void channel_copy(int N, int HW, int Csrc, const float* src, int Cdst, int c0, float* dst) {
#pragma omp parallel for collapse(2)
  for (int n = 0; n < N; ++n)
    for (int c = 0; c < Csrc; ++c)
      channel_copy_ref(1, HW, 1, src + (size_t(n) * Csrc + c) * HW, 1, 0, dst + (size_t(n) * Cdst + c0 + c) * HW);
}

void channel_slice_add(int N, int HW, int Csrc, const float* src, int c0, int Cdst, float* dst) {
#pragma omp parallel for collapse(2)
  for (int n = 0; n < N; ++n)
    for (int c = 0; c < Cdst; ++c)
      channel_slice_add_ref(1, HW, 1, src + (size_t(n) * Csrc + c0 + c) * HW, 0, 1, dst + (size_t(n) * Cdst + c) * HW);
}

}  // namespace tinct::cpu
