// conv/cpu_s2_stem_dw.h — internal to the kernels library: the stems'
// backward-filter tile over several output channels at once (conv/
// cpu_stem_dw.cpp drives it; conv/cpu_s2_stem_dw_avx512.cpp holds it).
#pragma once

#include <cstddef>

namespace tinct::cpu::detail {

// out[m * T + t] = sum over r < R, i < n of y[m * ldk + r * ldy + i] * x[r * ldx + off[t] + i]
// for m < MK (1..4 output channels), t < T (<= 64 taps). Each sum: 16 lanes
// accumulated over the rows in order, then added in _mm512_reduce_add_ps's
// order. x is read only where y is (lanes past n masked).
using StemDotsFn = void (*)(int MK, int R, size_t n, const float* y, size_t ldk, size_t ldy, const float* x,
                            size_t ldx, const size_t* off, int T, float* out);
constexpr int kStemDotsMaxMk = 4;

// nullptr where the file was built without AVX-512.
StemDotsFn stem_dots_avx512();

}  // namespace tinct::cpu::detail
