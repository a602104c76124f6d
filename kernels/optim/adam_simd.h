// optim/adam_simd.h — internal to the kernels library: the Adam update's
// per-tensor constants, and the SIMD loop that applies them (optim/cpu.cpp
// drives it; optim/cpu_avx512.cpp holds it, compiled with its own -m flags).
#pragma once

#include <cstddef>
#include <cstdint>

namespace tinct::cpu::detail {

// The loop-invariant doubles of adam_step_ref's per-element expression,
// formed exactly as the reference forms them.
struct AdamConsts {
  bool decoupled;
  double wscale;    // decoupled: w *= wscale = 1 - lr * wd
  double l2;        // otherwise: g' = g + l2 * w
  double b1, c1;    // m = b1 m + c1 g'       (c1 = 1 - beta1)
  double b2, c2;    // v = b2 v + c2 g' g'    (c2 = 1 - beta2)
  double step, rs2, eps;     // w -= step m / (sqrt(v) rs2 + eps), step = lr / bc1, rs2 = 1 / sqrt(bc2)
};

// Updates the first n - n % 8 elements and returns how many it did (the
// caller runs the reference on the rest); nullptr where the file was built
// without AVX-512.
using AdamSimdFn = size_t (*)(size_t n, float* w, const float* g, float* m, float* v, const AdamConsts& k);
AdamSimdFn adam_simd_avx512();

}  // namespace tinct::cpu::detail
