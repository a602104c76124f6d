// reduce/ref.cpp — full reduction, the reference.
//
//   sum = sum_i x[i]
// Accumulated in double, serially, in index order: the result is exact to
// double rounding and identical on every run and thread count. (A float
// accumulator loses all digits of small terms once the sum is ~2^24 times
// larger than them, which happens at real tensor sizes.)
#include "kernels/kernels.h"

namespace tinct::cpu {

double sum_ref(size_t n, const float* x) {
  double sum = 0.0;
  for (size_t i = 0; i < n; ++i) sum += x[i];
  return sum;
}

}  // namespace tinct::cpu
