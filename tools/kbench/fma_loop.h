// fma_loop.h — the loop behind the CPU's peak FLOP/s (peak.h), written once for
// a GCC vector type V of L floats; peak.cpp, peak_avx2.cpp and peak_avx512.cpp
// instantiate it under their instruction sets. 12 independent accumulators,
// so the FMA pipes never wait on a result.
#pragma once

namespace tinct::kbench {

template <class V, int L>
double fma_loop(long iters, float* sink) {
  constexpr int kAcc = 12;
  V acc[kAcc];
  const V a = V{} + 0.999999f, b = V{} + 1e-7f;
  for (int k = 0; k < kAcc; ++k) acc[k] = V{} + float(k);
  for (long i = 0; i < iters; ++i)
    for (int k = 0; k < kAcc; ++k) acc[k] = acc[k] * a + b;
  float s = 0;
  for (int k = 0; k < kAcc; ++k)
    for (int l = 0; l < L; ++l) s += acc[k][l];
  *sink = s;
  return 2.0 * kAcc * L * double(iters);
}

}  // namespace tinct::kbench
