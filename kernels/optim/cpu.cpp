// optim/cpu.cpp — optimizer steps, the fast CPU path: the reference's loops
// (optim/ref.cpp, the specification) on one chunk of the weights per OpenMP
// thread; every element is independent, so the result is the same bit for bit.
#include "kernels/common/parallel.h"
#include "kernels/kernels.h"

namespace tinct::cpu {

void sgd_step(size_t n, float* w, const float* g, float* m, float lr, float momentum, float weight_decay,
              bool nesterov, bool first_step) {
  detail::parallel_chunks(n, [&](size_t i, size_t e) {
    sgd_step_ref(e - i, w + i, g + i, m ? m + i : nullptr, lr, momentum, weight_decay, nesterov, first_step);
  });
}

void adam_step(size_t n, float* w, const float* g, float* m, float* v, float lr, float beta1, float beta2,
               float eps, float weight_decay, bool decoupled, int64_t step) {
  detail::parallel_chunks(n, [&](size_t i, size_t e) {
    adam_step_ref(e - i, w + i, g + i, m + i, v + i, lr, beta1, beta2, eps, weight_decay, decoupled, step);
  });
}

}  // namespace tinct::cpu
