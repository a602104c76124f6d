// peak.h — the napkin-math ceilings tinct-kbench prints beside each timing:
// peak FLOP/s and memory bandwidth of the CPU (measured once: a loop of
// independent FMAs on every thread, a copy of 64 MiB) and of the GPU
// (cudaGetDeviceProperties for FP32 FLOP/s, a device-to-device copy).
#pragma once

#include <string>

namespace tinct::kbench {

struct Peak {
  double flops = 0;  // FLOP/s
  double bw = 0;     // bytes/s
  std::string how;   // one line: what was measured
};

Peak cpu_peak();
Peak gpu_peak();  // CUDA builds with a device only

// The FMA loops per instruction set (peak_avx512.cpp, peak_avx2.cpp, peak.cpp):
// `iters` rounds of independent multiply-adds on one thread; returns the flops done.
double fma_loop_generic(long iters, float* sink);
double fma_loop_avx2(long iters, float* sink);
double fma_loop_avx512(long iters, float* sink);

}  // namespace tinct::kbench
