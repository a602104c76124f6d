// loss/cpu.cpp — the soft-target cross-entropy, the fast CPU path: the
// reference's per-image loop (soft_ce_image_ref in loss/ref.cpp, the
// specification) with the images split over OpenMP threads, their partial
// sums combined in order of n: the same value and gradient bit for bit at any
// thread count. mse, l1 and mse_const have no faster path than their
// reference (one serial pass in double): the engine calls those directly.
#include <vector>

#include "kernels/kernels.h"

namespace tinct::cpu {

double soft_ce(int N, int Q, int HW, const float* logits, const float* target, const float* weight,
               float gscale, float* grad) {
  const double count = double(N) * HW;
  if (count == 0) return 0.0;
  std::vector<double> partial(N, 0.0);
#pragma omp parallel for
  for (int n = 0; n < N; ++n)
    partial[n] = soft_ce_image_ref(Q, HW, logits + size_t(n) * Q * HW, target + size_t(n) * Q * HW,
                                   weight ? weight + size_t(n) * HW : nullptr, gscale, count,
                                   grad ? grad + size_t(n) * Q * HW : nullptr);
  double total = 0.0;
  for (int n = 0; n < N; ++n) total += partial[n];
  return total / count;
}

}  // namespace tinct::cpu
