// activation/cpu.cpp — pointwise activations, the fast CPU path: the
// reference's loops (activation/ref.cpp, the specification) on one chunk of
// the elements per OpenMP thread; the same result bit for bit.
#include "kernels/common/parallel.h"
#include "kernels/kernels.h"

namespace tinct::cpu {

void act_fwd(Act a, float slope, size_t n, const float* x, float* y) {
  detail::parallel_chunks(n, [&](size_t i, size_t e) { act_fwd_ref(a, slope, e - i, x + i, y + i); });
}

void act_bwd(Act a, float slope, size_t n, const float* x, const float* y, const float* dy, float* dx) {
  // y is read by Tanh / Sigmoid only, x by Relu / LeakyRelu: either may be null.
  detail::parallel_chunks(n, [&](size_t i, size_t e) {
    act_bwd_ref(a, slope, e - i, x ? x + i : nullptr, y ? y + i : nullptr, dy + i, dx + i);
  });
}

}  // namespace tinct::cpu
