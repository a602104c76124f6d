// common/cpu_features.cpp — which CPU kernel set runs: chosen once at start-up.
//
// The choice is the widest set that is compiled in and that cpuid says the
// processor (and the OS, for the AVX register state) supports: avx512 >
// avx2 > generic. TINCT_CPU_KERNELS=avx512|avx2|generic forces one, for tests
// and benchmarks; naming a set this processor cannot run is refused at
// start-up (a clear message, exit code 2) rather than run into SIGILL.
// set_cpu_kernels() switches at run time, so one test process can check every
// set the processor has.
//
// The bf16 GEMM set (gemm/cpu_avx512bf16.cpp) is chosen apart from the fp32
// one, as it only serves Precision::bf16: on where compiled in and cpuid shows
// avx512f + avx512_bf16, unless TINCT_CPU_BF16=off; TINCT_CPU_BF16=on makes
// its absence a start-up error (exit 2), for benchmarks that must measure it.
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

bool processor_has_bf16() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bf16");
#else
  return false;
#endif
}

bool initial_bf16_choice() {
  const char* env = std::getenv("TINCT_CPU_BF16");
  if (!env || !*env) return cpu_bf16_gemm_supported();
  if (std::strcmp(env, "off") == 0) return false;
  if (std::strcmp(env, "on") == 0) {
    if (cpu_bf16_gemm_supported()) return true;
    std::fprintf(stderr, "tinct: TINCT_CPU_BF16=on, but this %s the AVX-512 BF16 GEMM\n",
                 detail::gemm_kernel_avx512_bf16() ? "processor lacks" : "build does not have");
    std::exit(2);
  }
  std::fprintf(stderr, "tinct: TINCT_CPU_BF16=%s: must be on or off\n", env);
  std::exit(2);
}

std::atomic<bool>& bf16_current() {
  static std::atomic<bool> on{initial_bf16_choice()};
  return on;
}

// Make the choices (and refuse a bad TINCT_CPU_KERNELS / TINCT_CPU_BF16) before main().
[[maybe_unused]] const bool chosen_at_startup = (current(), bf16_current(), true);

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

bool cpu_bf16_gemm_supported() { return detail::gemm_kernel_avx512_bf16() != nullptr && processor_has_bf16(); }

bool cpu_bf16_gemm() { return bf16_current().load(std::memory_order_relaxed); }

const char* cpu_bf16_gemm_name() { return cpu_bf16_gemm() ? "avx512-bf16" : "none"; }

void set_cpu_bf16_gemm(bool on) {
  if (on && !cpu_bf16_gemm_supported())
    throw std::invalid_argument("the AVX-512 BF16 GEMM is not supported by this processor or build");
  bf16_current().store(on, std::memory_order_relaxed);
}

namespace detail {
const GemmKernel& active_gemm_kernel() { return *kernel_of(cpu_kernels()); }
const GemmKernel* active_bf16_gemm_kernel() { return cpu_bf16_gemm() ? gemm_kernel_avx512_bf16() : nullptr; }
}  // namespace detail

}  // namespace tinct::cpu
