// kernel_sets.h — runs a test body once with each CPU kernel set
// (kernels/kernels.h: AVX-512, AVX2, portable) the processor supports, and
// at one and at several threads.
#pragma once

#include <omp.h>

#include <algorithm>
#include <cstdio>

#include "doctest/doctest.h"
#include "kernels/kernels.h"

namespace tinct {

// Runs body() once with each kernel set the processor supports selected,
// then restores the set in use.
template <class F>
void for_each_kernel_set(F&& body) {
  const cpu::CpuKernels saved = cpu::cpu_kernels();
  for (auto k : {cpu::CpuKernels::Avx512, cpu::CpuKernels::Avx2, cpu::CpuKernels::Generic}) {
    if (!cpu::cpu_kernels_supported(k)) {
      std::printf("kernel set %s: not supported here, skipped\n", cpu::cpu_kernels_name(k));
      continue;
    }
    cpu::set_cpu_kernels(k);
    std::printf("kernel set %s:\n", cpu::cpu_kernels_name(k));
    CAPTURE(cpu::cpu_kernels_name(k));
    body();
  }
  cpu::set_cpu_kernels(saved);
}

// Runs body(threads) at one thread and at the machine's thread count (at least 2).
template <class F>
void at_thread_counts(F&& body) {
  const int saved = omp_get_max_threads();
  for (int t : {1, std::max(2, saved)}) {
    omp_set_num_threads(t);
    CAPTURE(t);
    body(t);
  }
  omp_set_num_threads(saved);
}

}  // namespace tinct
