// conv/cpu_transpose_phases_avx512.cpp — the AVX-512F store of the phase-wise
// transposed convolution (conv/cpu_transpose_phases.cpp): two column phases
// of an output row, computed side by side, interleaved into the output row.
// Compiled with -mavx512f -mavx2 -mfma (CMakeLists.txt); only called when the
// avx512 kernel set is active (common/cpu_features.cpp checked cpuid).
//
// Per 32 outputs: 2 loads, 2 two-source permutes, 2 stores (masked at the
// end), where a scalar loop spent a load and a store per output, about a
// fifth of the convolution itself on the 16 -> 8 channel layer.
// Nothing but intrinsics here (see gemm/microkernels.h for why).
#include "kernels/conv/cpu_transpose_phases.h"

#if defined(__AVX512F__)
#include <immintrin.h>

namespace tinct::cpu::detail {
namespace {

__mmask16 first_lanes(int n) { return n >= 16 ? (__mmask16)0xffff : n > 0 ? (__mmask16)((1u << n) - 1) : (__mmask16)0; }

void interleave2(const float* even, const float* odd, int n, float* y) {
  // Lane l of the result takes even[l / 2] (index l / 2) or odd[l / 2] (index 16 + l / 2).
  const __m512i lo = _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  const __m512i hi = _mm512_set_epi32(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8);
  int o = 0;
  for (; o + 32 <= n; o += 32) {
    const __m512 e = _mm512_loadu_ps(even + o / 2), d = _mm512_loadu_ps(odd + o / 2);
    _mm512_storeu_ps(y + o, _mm512_permutex2var_ps(e, lo, d));
    _mm512_storeu_ps(y + o + 16, _mm512_permutex2var_ps(e, hi, d));
  }
  if (o < n) {  // the last 1-31 outputs: their (n - o + 1) / 2 pairs
    const __mmask16 in = first_lanes((n - o + 1) / 2);
    const __m512 e = _mm512_maskz_loadu_ps(in, even + o / 2), d = _mm512_maskz_loadu_ps(in, odd + o / 2);
    _mm512_mask_storeu_ps(y + o, first_lanes(n - o), _mm512_permutex2var_ps(e, lo, d));
    _mm512_mask_storeu_ps(y + o + 16, first_lanes(n - o - 16), _mm512_permutex2var_ps(e, hi, d));
  }
}

}  // namespace

InterleaveFn interleave2_avx512() { return interleave2; }

}  // namespace tinct::cpu::detail

#else  // built without AVX-512 (not x86-64)

namespace tinct::cpu::detail {
InterleaveFn interleave2_avx512() { return nullptr; }
}  // namespace tinct::cpu::detail

#endif
