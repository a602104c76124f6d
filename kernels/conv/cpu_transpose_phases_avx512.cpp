// conv/cpu_transpose_phases_avx512.cpp — the AVX-512F store of the phase-wise
// transposed convolution (conv/cpu_transpose_phases.cpp): two column phases
// of an output row, computed side by side, interleaved into the output row,
// with the decoders' epilogue (batch norm folded to scale, shift; ReLU) on
// the way, so the output is written once and not read back by an epilogue pass.
// Compiled with -mavx512f -mavx2 -mfma (CMakeLists.txt); only called when the
// avx512 kernel set is active (common/cpu_features.cpp checked cpuid).
//
// Per 32 outputs: 2 loads, 2 FMAs (+ 2 max), 2 two-source permutes, 2
// stores (masked at the end), where a scalar loop spends a load and a store
// on every output.
// Nothing but intrinsics here (see gemm/microkernels.h for why).
#include "kernels/conv/cpu_transpose_phases.h"

#if defined(__AVX512F__)
#include <immintrin.h>

namespace tinct::cpu::detail {
namespace {

__mmask16 first_lanes(int n) { return n >= 16 ? (__mmask16)0xffff : n > 0 ? (__mmask16)((1u << n) - 1) : (__mmask16)0; }

// ACT: 0 none, 1 ReLU, 2 leaky ReLU (SimpleEpilogue::act).
template <int ACT>
__m512 finish(__m512 v, __m512 scale, __m512 shift, __m512 slope) {
  v = _mm512_fmadd_ps(v, scale, shift);
  // As the reference: t < 0 ? 0 (or slope * t) : t, so a NaN stays a NaN (max_ps would make it 0).
  const __mmask16 neg = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_LT_OQ);
  if (ACT == 1) v = _mm512_mask_blend_ps(neg, v, _mm512_setzero_ps());
  if (ACT == 2) v = _mm512_mask_mul_ps(v, neg, v, slope);
  return v;
}

template <int ACT>
void interleave2(const float* even, const float* odd, int n, const SimpleEpilogue& ep, float* y) {
  // Lane l of the result takes even[l / 2] (index l / 2) or odd[l / 2] (index 16 + l / 2).
  const __m512i lo = _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  const __m512i hi = _mm512_set_epi32(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8);
  const __m512 sc = _mm512_set1_ps(ep.scale), sh = _mm512_set1_ps(ep.shift), sl = _mm512_set1_ps(ep.slope);
  int o = 0;
  for (; o + 32 <= n; o += 32) {
    const __m512 e = finish<ACT>(_mm512_loadu_ps(even + o / 2), sc, sh, sl);
    const __m512 d = finish<ACT>(_mm512_loadu_ps(odd + o / 2), sc, sh, sl);
    _mm512_storeu_ps(y + o, _mm512_permutex2var_ps(e, lo, d));
    _mm512_storeu_ps(y + o + 16, _mm512_permutex2var_ps(e, hi, d));
  }
  if (o < n) {  // the last 1-31 outputs: their (n - o + 1) / 2 pairs
    const __mmask16 in = first_lanes((n - o + 1) / 2);
    const __m512 e = finish<ACT>(_mm512_maskz_loadu_ps(in, even + o / 2), sc, sh, sl);
    const __m512 d = finish<ACT>(_mm512_maskz_loadu_ps(in, odd + o / 2), sc, sh, sl);
    _mm512_mask_storeu_ps(y + o, first_lanes(n - o), _mm512_permutex2var_ps(e, lo, d));
    _mm512_mask_storeu_ps(y + o + 16, first_lanes(n - o - 16), _mm512_permutex2var_ps(e, hi, d));
  }
}

void interleave2_any(const float* even, const float* odd, int n, const SimpleEpilogue& e, float* y) {
  switch (e.act) {
    case 1: return interleave2<1>(even, odd, n, e, y);
    case 2: return interleave2<2>(even, odd, n, e, y);
    default: return interleave2<0>(even, odd, n, e, y);
  }
}

}  // namespace

InterleaveFn interleave2_avx512() { return interleave2_any; }

}  // namespace tinct::cpu::detail

#else  // built without AVX-512 (not x86-64)

namespace tinct::cpu::detail {
InterleaveFn interleave2_avx512() { return nullptr; }
}  // namespace tinct::cpu::detail

#endif
