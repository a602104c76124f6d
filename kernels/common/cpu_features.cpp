// common/cpu_features.cpp — which CPU kernel set runs: chosen once at start-up.
//
// The choice is the widest set that is compiled in and that cpuid says the
// processor (and the OS, for the AVX register state) supports: avx512 >
// avx2 > generic. TINCT_CPU_KERNELS=avx512|avx2|generic forces one, for tests
// and benchmarks; naming a set this processor cannot run is refused at
// start-up (a clear message, exit code 2) rather than run into SIGILL.
// set_cpu_kernels() switches at run time, so one test process can check every
// set the processor has.
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

#include "kernels/gemm/microkernels.h"

namespace tinct::cpu {
namespace {

const detail::GemmKernel* kernel_of(CpuKernels k) {
  switch (k) {
    case CpuKernels::Avx512: return detail::gemm_kernel_avx512();
    case CpuKernels::Avx2: return detail::gemm_kernel_avx2();
    case CpuKernels::Generic: return detail::gemm_kernel_generic();
  }
  return nullptr;
}

bool processor_has(CpuKernels k) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();  // may run before libgcc's own constructor
  switch (k) {
    case CpuKernels::Avx512: return __builtin_cpu_supports("avx512f");
    case CpuKernels::Avx2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case CpuKernels::Generic: return true;
  }
  return false;
#else
  return k == CpuKernels::Generic;
#endif
}

CpuKernels best_supported() {
  for (CpuKernels k : {CpuKernels::Avx512, CpuKernels::Avx2})
    if (cpu_kernels_supported(k)) return k;
  return CpuKernels::Generic;
}

CpuKernels initial_choice() {
  const char* env = std::getenv("TINCT_CPU_KERNELS");
  if (!env || !*env) return best_supported();
  for (CpuKernels k : {CpuKernels::Avx512, CpuKernels::Avx2, CpuKernels::Generic}) {
    if (std::strcmp(env, cpu_kernels_name(k)) != 0) continue;
    if (cpu_kernels_supported(k)) return k;
    std::fprintf(stderr, "tinct: TINCT_CPU_KERNELS=%s, but this %s; supported here:%s%s generic\n",
                 env, kernel_of(k) ? "processor lacks it" : "build does not have it",
                 cpu_kernels_supported(CpuKernels::Avx512) ? " avx512" : "",
                 cpu_kernels_supported(CpuKernels::Avx2) ? " avx2" : "");
    std::exit(2);
  }
  std::fprintf(stderr, "tinct: TINCT_CPU_KERNELS=%s is not a kernel set (avx512, avx2 or generic)\n", env);
  std::exit(2);
}

std::atomic<int>& current() {
  static std::atomic<int> k{(int)initial_choice()};
  return k;
}

// Make the choice (and refuse a bad TINCT_CPU_KERNELS) before main().
[[maybe_unused]] const bool chosen_at_startup = (current(), true);

}  // namespace

const char* cpu_kernels_name(CpuKernels k) {
  switch (k) {
    case CpuKernels::Avx512: return "avx512";
    case CpuKernels::Avx2: return "avx2";
    case CpuKernels::Generic: return "generic";
  }
  return "?";
}

bool cpu_kernels_supported(CpuKernels k) { return kernel_of(k) != nullptr && processor_has(k); }

CpuKernels cpu_kernels() { return (CpuKernels)current().load(std::memory_order_relaxed); }

void set_cpu_kernels(CpuKernels k) {
  if (!cpu_kernels_supported(k))
    throw std::invalid_argument(std::string("CPU kernel set ") + cpu_kernels_name(k) +
                                " is not supported by this processor or build");
  current().store((int)k, std::memory_order_relaxed);
}

namespace detail {
const GemmKernel& active_gemm_kernel() { return *kernel_of(cpu_kernels()); }
}  // namespace detail

}  // namespace tinct::cpu
