// peak_avx2.cpp — the FMA loop of peak.h for AVX2 (compiled with -mavx2
// -mfma; called only where the processor has it).
#include "tools/kbench/fma_loop.h"
#include "tools/kbench/peak.h"

namespace tinct::kbench {

double fma_loop_avx2(long iters, float* sink) {
#if defined(__AVX2__) && defined(__FMA__)
  typedef float v8 __attribute__((vector_size(32)));
  return fma_loop<v8, 8>(iters, sink);
#else
  (void)iters, (void)sink;
  return 0;
#endif
}

}  // namespace tinct::kbench
