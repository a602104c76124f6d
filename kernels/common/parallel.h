// parallel.h — how a fast CPU path threads its reference's loops: [0, n) cut
// into one contiguous chunk per OpenMP thread (the split of `omp parallel
// for` with the static schedule), the reference kernel run on each chunk.
// The result is the reference's bit for bit wherever the elements (or planes)
// are independent, at any thread count.
#pragma once

#include <omp.h>

#include <algorithm>
#include <cstddef>

namespace tinct::cpu::detail {

// f(begin, end) on disjoint chunks covering [0, n), one per thread.
template <class F>
void parallel_chunks(size_t n, F&& f) {
  if (n == 0) return;
#pragma omp parallel
  {
    const size_t t = size_t(omp_get_thread_num()), nt = size_t(omp_get_num_threads());
    const size_t q = n / nt, r = n % nt;
    const size_t begin = t * q + std::min(t, r), end = begin + q + (t < r ? 1 : 0);
    if (begin < end) f(begin, end);
  }
}

}  // namespace tinct::cpu::detail
