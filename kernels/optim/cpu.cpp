// optim/cpu.cpp — optimizer steps, the fast CPU path: the reference's loops
// (optim/ref.cpp, the specification) on one chunk of the weights per OpenMP
// thread; every element is independent, so the result is the same bit for bit.
//
// Adam: adam_step_many updates every parameter tensor of a model in one
// parallel region (the concatenated weights split evenly over the threads, so
// the many small tensors, biases and batch-norm scales, cost no region each),
// with the constants of each tensor formed once (detail::AdamConsts); on the
// avx512 kernel set the loop runs in AVX-512 doubles (optim/cpu_avx512.cpp),
// elsewhere it is the reference's.
// Benchmark: the training step's "adam step" row, e.g.
//   printf "train gan compact 1 8 128 3\nquit\n" | TINCT_PROFILE=1 build-cpu/bench/bench_peer_forward
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/common/parallel.h"
#include "kernels/kernels.h"
#include "kernels/optim/adam_simd.h"

namespace tinct::cpu {

void sgd_step(size_t n, float* w, const float* g, float* m, float lr, float momentum, float weight_decay,
              bool nesterov, bool first_step) {
  detail::parallel_chunks(n, [&](size_t i, size_t e) {
    sgd_step_ref(e - i, w + i, g + i, m ? m + i : nullptr, lr, momentum, weight_decay, nesterov, first_step);
  });
}

namespace {

// Elements [i, e) of tensor t.
void adam_range(const AdamTensor& t, size_t i, size_t e, float lr, float beta1, float beta2, float eps,
                bool decoupled, detail::AdamSimdFn simd) {
  size_t done = 0;
  if (simd) {
    detail::AdamConsts k;
    k.decoupled = decoupled;
    k.wscale = 1.0 - double(lr) * t.weight_decay;
    k.l2 = double(t.weight_decay);
    k.b1 = double(beta1), k.c1 = 1.0 - beta1;
    k.b2 = double(beta2), k.c2 = 1.0 - beta2;
    k.eps = double(eps);
    const double bc1 = 1.0 - std::pow(double(beta1), double(t.step));  // as adam_step_ref
    const double bc2 = 1.0 - std::pow(double(beta2), double(t.step));
    k.step = double(lr) / bc1, k.rs2 = 1.0 / std::sqrt(bc2);
    done = simd(e - i, t.w + i, t.g + i, t.m + i, t.v + i, k);
  }
  i += done;
  if (i < e)
    adam_step_ref(e - i, t.w + i, t.g + i, t.m + i, t.v + i, lr, beta1, beta2, eps, t.weight_decay, decoupled,
                  t.step);
}

}  // namespace

void adam_step_many(const AdamTensor* ts, size_t count, float lr, float beta1, float beta2, float eps,
                    bool decoupled) {
  std::vector<size_t> start(count + 1, 0);  // tensor j holds [start[j], start[j+1]) of the concatenation
  for (size_t j = 0; j < count; ++j) start[j + 1] = start[j] + ts[j].n;
  const size_t total = start[count];
  if (total == 0) return;
  const detail::AdamSimdFn simd = cpu_kernels() == CpuKernels::Avx512 ? detail::adam_simd_avx512() : nullptr;
  // Below this many weights one thread does it all (a parallel region costs more).
  constexpr size_t kSerialBelow = size_t(1) << 15;
  const int threads = total < kSerialBelow ? 1 : omp_get_max_threads();
#pragma omp parallel num_threads(threads)
  {
    const size_t t = size_t(omp_get_thread_num()), nt = size_t(omp_get_num_threads());
    const size_t lo = total * t / nt, hi = total * (t + 1) / nt;  // this thread's share of the concatenation
    size_t j = size_t(std::upper_bound(start.begin(), start.end(), lo) - start.begin()) - 1;
    for (; j < count && start[j] < hi; ++j) {
      const size_t i = std::max(lo, start[j]) - start[j], e = std::min(hi, start[j + 1]) - start[j];
      if (i < e) adam_range(ts[j], i, e, lr, beta1, beta2, eps, decoupled, simd);
    }
  }
}

void adam_step(size_t n, float* w, const float* g, float* m, float* v, float lr, float beta1, float beta2,
               float eps, float weight_decay, bool decoupled, int64_t step) {
  const AdamTensor t{w, g, m, v, n, weight_decay, step};
  adam_step_many(&t, 1, lr, beta1, beta2, eps, decoupled);
}

}  // namespace tinct::cpu
