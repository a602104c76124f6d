// peak.cpp — the CPU's ceilings for tinct-kbench's roofline (peak.h),
// measured once per run: FMAs of the kernel set in use (cpu_kernels(): the
// loop compiled for AVX-512, AVX2 or the baseline) on every OpenMP thread,
// and a 64 MiB copy split over the threads (bytes read + written / time).
#include "tools/kbench/peak.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <sstream>
#include <vector>

#include "kernels/kernels.h"
#include "tools/kbench/fma_loop.h"

namespace tinct::kbench {

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

}  // namespace

double fma_loop_generic(long iters, float* sink) {
  typedef float v4 __attribute__((vector_size(16)));
  return fma_loop<v4, 4>(iters, sink);
}

Peak cpu_peak() {
  Peak pk;
  double (*loop)(long, float*) = fma_loop_generic;
  const cpu::CpuKernels set = cpu::cpu_kernels();
#if defined(TINCT_KBENCH_X86)
  if (set == cpu::CpuKernels::Avx512) loop = fma_loop_avx512;
  if (set == cpu::CpuKernels::Avx2) loop = fma_loop_avx2;
#endif
  const int threads = omp_get_max_threads();
  // Calibrate to about 50 ms per thread, then take the best of 3.
  float sink = 0;
  double t0 = now();
  long iters = 1 << 16;
  loop(iters, &sink);
  const double t1 = std::max(now() - t0, 1e-6);
  iters = std::max<long>(iters, long(iters * 0.05 / t1));
  for (int rep = 0; rep < 3; ++rep) {
    double flops = 0;
    t0 = now();
#pragma omp parallel reduction(+ : flops)
    {
      float s = 0;
      flops += loop(iters, &s);
      if (s == 12345.678f) sink += s;  // keeps the loop alive
    }
    pk.flops = std::max(pk.flops, flops / (now() - t0));
  }
  const size_t bytes = size_t(64) << 20;
  std::vector<char> a(bytes, 1), b(bytes, 0);
  for (int rep = 0; rep < 5; ++rep) {
    t0 = now();
#pragma omp parallel
    {
      const size_t t = size_t(omp_get_thread_num()), nt = size_t(omp_get_num_threads());
      const size_t lo = bytes * t / nt, hi = bytes * (t + 1) / nt;
      std::memcpy(b.data() + lo, a.data() + lo, hi - lo);
    }
    pk.bw = std::max(pk.bw, 2.0 * bytes / (now() - t0));
  }
  std::ostringstream how;
  how << "CPU " << threads << " thread(s), kernel set " << cpu::cpu_kernels_name(set) << ": FMA loop "
      << pk.flops / 1e9 << " GFLOP/s, 64 MiB copy " << pk.bw / 1e9 << " GB/s (read + write)";
  pk.how = how.str();
  return pk;
}

}  // namespace tinct::kbench
