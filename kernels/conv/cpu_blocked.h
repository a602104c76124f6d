// conv/cpu_blocked.h — internal to the kernels library: the register tiles of
// the blocked direct convolution (conv/cpu_blocked.cpp drives them;
// conv/cpu_blocked_avx512.cpp holds them, compiled with its own -m flags).
#pragma once

#include <cstddef>

namespace tinct::cpu::detail {

// One row segment of MK output channels by nq <= 16 V pixels, over the input
// channels [c0, c0 + C) of a padded (and, for stride 2, deinterleaved) copy:
//   y[m * ldy + i] (+)= sum over c < C, t < T of
//                       w[(c * T + t) * MK + m] * x[c * ldc + taps[t] + i]
// for m < MK, i < nq; "+=" when `add` (a later chunk of input channels), "="
// otherwise. x is read up to 16 V - 1 floats past x + taps[t] (the caller's
// copy has that slack); lanes past nq are neither read from y nor stored.
using BlockedTileFn = void (*)(const float* x, size_t ldc, const int* taps, int T, const float* w, int C,
                               float* y, size_t ldy, int nq, bool add);

// The tiles by pixel vectors V (2 or 4) and channels MK <= blocked_max_mk(V)
// (12 or 6): blocked_tiles_avx512()[(V / 2 - 1) * kBlockedMaxMk + MK - 1];
// nullptr where the file was built without AVX-512.
constexpr int kBlockedMaxMk = 12;
constexpr int kBlockedMaxPixels = 64;  // 16 V
constexpr int blocked_max_mk(int v) { return 24 / v < kBlockedMaxMk ? 24 / v : kBlockedMaxMk; }
const BlockedTileFn* blocked_tiles_avx512();

}  // namespace tinct::cpu::detail
