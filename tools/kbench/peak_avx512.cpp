// peak_avx512.cpp — the FMA loop of peak.h for AVX-512 (compiled with
// -mavx512f -mfma; called only where the processor has it).
#include "tools/kbench/fma_loop.h"
#include "tools/kbench/peak.h"

namespace tinct::kbench {

double fma_loop_avx512(long iters, float* sink) {
#if defined(__AVX512F__)
  typedef float v16 __attribute__((vector_size(64)));
  return fma_loop<v16, 16>(iters, sink);
#else
  (void)iters, (void)sink;
  return 0;
#endif
}

}  // namespace tinct::kbench
