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
// The bf16 GEMM set is chosen apart from the fp32 one, as it only serves
// Precision::bf16: amx-bf16 (gemm/cpu_amx.cpp) where compiled in, cpuid shows
// amx_tile + amx_bf16 + avx512f and the OS grants the tile state, else
// avx512-bf16 (gemm/cpu_avx512bf16.cpp) where cpuid shows avx512f +
// avx512_bf16, else none. TINCT_CPU_BF16=off: none; =amx / =avx512 force a
// set, =on the best one, a missing one being a start-up error (exit 2), for
// benchmarks that must measure it.
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#if (defined(__x86_64__) || defined(__i386__)) && defined(__linux__)
#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

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

// AMX: cpuid leaf 7 EDX bits 24 (amx-tile) and 22 (amx-bf16), avx512f for the
// kernel's edge stores, and the OS's permission for the tile data state
// (Linux keeps it off until a process asks: arch_prctl(ARCH_REQ_XCOMP_PERM,
// XFEATURE_XTILEDATA)). Asked once per process; threads inherit it.
bool processor_has_amx() {
#if (defined(__x86_64__) || defined(__i386__)) && defined(__linux__)
  static const bool ok = [] {
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
    if (!(d & (1u << 24)) || !(d & (1u << 22))) return false;
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx512f")) return false;
    constexpr long kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
    return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
  }();
  return ok;
#else
  return false;
#endif
}

const detail::GemmKernel* bf16_kernel_of(CpuBf16 s) {
  switch (s) {
    case CpuBf16::avx512: return detail::gemm_kernel_avx512_bf16();
    case CpuBf16::amx: return detail::gemm_kernel_amx_bf16();
    case CpuBf16::none: return nullptr;
  }
  return nullptr;
}

CpuBf16 best_bf16() {
  for (CpuBf16 s : {CpuBf16::amx, CpuBf16::avx512})
    if (cpu_bf16_supported(s)) return s;
  return CpuBf16::none;
}

CpuBf16 initial_bf16_choice() {
  const char* env = std::getenv("TINCT_CPU_BF16");
  if (!env || !*env) return best_bf16();
  if (std::strcmp(env, "off") == 0) return CpuBf16::none;
  CpuBf16 want;
  if (std::strcmp(env, "on") == 0) want = best_bf16();
  else if (std::strcmp(env, "amx") == 0) want = CpuBf16::amx;
  else if (std::strcmp(env, "avx512") == 0) want = CpuBf16::avx512;
  else {
    std::fprintf(stderr, "tinct: TINCT_CPU_BF16=%s: must be amx, avx512, on or off\n", env);
    std::exit(2);
  }
  if (want != CpuBf16::none && cpu_bf16_supported(want)) return want;
  std::fprintf(stderr, "tinct: TINCT_CPU_BF16=%s, but this processor or build has no such bf16 GEMM "
                       "(supported here:%s%s%s)\n", env,
               cpu_bf16_supported(CpuBf16::amx) ? " amx" : "",
               cpu_bf16_supported(CpuBf16::avx512) ? " avx512" : "",
               cpu_bf16_gemm_supported() ? "" : " none");
  std::exit(2);
}

std::atomic<int>& bf16_current() {
  static std::atomic<int> s{(int)initial_bf16_choice()};
  return s;
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

const char* cpu_bf16_name(CpuBf16 s) {
  switch (s) {
    case CpuBf16::none: return "none";
    case CpuBf16::avx512: return "avx512-bf16";
    case CpuBf16::amx: return "amx-bf16";
  }
  return "?";
}

bool cpu_bf16_supported(CpuBf16 s) {
  switch (s) {
    case CpuBf16::none: return true;
    case CpuBf16::avx512: return bf16_kernel_of(s) != nullptr && processor_has_bf16();
    case CpuBf16::amx: return bf16_kernel_of(s) != nullptr && processor_has_amx();
  }
  return false;
}

CpuBf16 cpu_bf16() { return (CpuBf16)bf16_current().load(std::memory_order_relaxed); }

void set_cpu_bf16(CpuBf16 s) {
  if (!cpu_bf16_supported(s))
    throw std::invalid_argument(std::string("the bf16 GEMM ") + cpu_bf16_name(s) +
                                " is not supported by this processor or build");
  bf16_current().store((int)s, std::memory_order_relaxed);
}

bool cpu_bf16_gemm_supported() { return best_bf16() != CpuBf16::none; }

bool cpu_bf16_gemm() { return cpu_bf16() != CpuBf16::none; }

const char* cpu_bf16_gemm_name() { return cpu_bf16_name(cpu_bf16()); }

void set_cpu_bf16_gemm(bool on) {
  if (on && !cpu_bf16_gemm_supported())
    throw std::invalid_argument("no bf16 GEMM (AMX-BF16 or AVX-512 BF16) is supported by this processor or build");
  set_cpu_bf16(on ? best_bf16() : CpuBf16::none);
}

namespace detail {
const GemmKernel& active_gemm_kernel() { return *kernel_of(cpu_kernels()); }
const GemmKernel* active_bf16_gemm_kernel() { return bf16_kernel_of(cpu_bf16()); }
}  // namespace detail

}  // namespace tinct::cpu
