// bias/ref.cpp — per-channel bias, the reference (the specification: plain
// single-threaded loops; bias/cpu.cpp threads them).
//
//   forward:   y[n,c,i] += b[c]                      (in place, on a conv output)
//   backward:  db[c]    += sum_{n,i} dy[n,c,i]       (accumulates, like every
//                                                     parameter gradient)
// Tensors are NCHW with the spatial plane flattened to HW = H*W.
#include "kernels/kernels.h"

namespace tinct::cpu {

void bias_add_ref(int N, int C, int HW, const float* b, float* y) {
  // Each (n,c) plane is touched by exactly one iteration: safe to parallelise.
  for (int n = 0; n < N; ++n)
    for (int c = 0; c < C; ++c) {
      float* plane = y + (size_t(n) * C + c) * HW;
      for (int i = 0; i < HW; ++i) plane[i] += b[c];
    }
}

void bias_grad_ref(int N, int C, int HW, const float* dy, float* db) {
  // One channel per iteration; the sum over (n,i) runs in a fixed order in
  // double, so the result does not depend on the number of threads.
  for (int c = 0; c < C; ++c) {
    double sum = 0.0;
    for (int n = 0; n < N; ++n) {
      const float* plane = dy + (size_t(n) * C + c) * HW;
      for (int i = 0; i < HW; ++i) sum += plane[i];
    }
    db[c] += float(sum);
  }
}

}  // namespace tinct::cpu
