// pool/cpu_avx512.cpp — one output row of the max pooling (pool/cpu_rows.h)
// in AVX-512, chosen by pool/cpu.cpp when the AVX-512 kernel set is active
// and stride_w is 1 or 2 (TINCT_POOL_AVX512=0 keeps the portable loops).
//
// WHAT: pool/ref.cpp's result exactly (the same compare-and-take per tap, in
// the same r-then-s order, the same argmax). 16 outputs at a time: the best
// value and its index stay in registers over all kh x kw taps, each lane
// masked where its tap falls in the padding. The strided input columns
// (q * 2 + s - pad) of a stride-2 pool are two masked loads and one vpermt2ps
// (the even elements of 32); the portable build (SSE) gathers them one by one
// and passes over the row once per tap.
//
// BENCHMARK: the ResNet stem pool (3x3 / 2, pad 1) of the regression and GAN
// models, in their training steps:
//   python3 bench/cpu_peer/ab.py --a build/bench/bench_peer_forward --a-env TINCT_POOL_AVX512=0
//     --b build/bench/bench_peer_forward --train --rounds 5 "regression compact 1"
// and per op: printf "train regression compact 1 8 128 3\nquit\n" | TINCT_PROFILE=1 build/bench/bench_peer_forward
#include "kernels/pool/cpu_rows.h"

#if defined(__AVX512F__)
#include <limits>

#include "kernels/common/avx512_intrinsics.h"
#endif

namespace tinct::cpu::detail {

#if defined(__AVX512F__)
namespace {

// Bits [lo, hi) of 32.
uint32_t bits(int lo, int hi) {
  if (hi <= lo) return 0;
  return uint32_t(((uint64_t(1) << hi) - 1) & ~((uint64_t(1) << lo) - 1));
}

void row(const Pool2dParams& p, const float* xp, int oh, float* yr, int32_t* ar) {
  const int sw = p.stride_w;
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i zero = _mm512_setzero_si512(), width = _mm512_set1_epi32(p.W);
  for (int q = 0; q < p.Q; q += 16) {
    const int cnt = p.Q - q < 16 ? p.Q - q : 16;
    const __mmask16 k = __mmask16(bits(0, cnt));
    __m512 best = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
    __m512i arg = _mm512_set1_epi32(-1);
    // the input column of each lane's tap s = 0
    const __m512i col0 = _mm512_sub_epi32(_mm512_mullo_epi32(_mm512_add_epi32(_mm512_set1_epi32(q), lane),
                                                             _mm512_set1_epi32(sw)),
                                          _mm512_set1_epi32(p.pad_w));
    for (int r = 0; r < p.kh; ++r) {
      const int h = oh * p.stride_h - p.pad_h + r;
      if (h < 0 || h >= p.H) continue;  // padding: never wins
      const float* xr = xp + size_t(h) * p.W;
      const __m512i row_base = _mm512_set1_epi32(h * p.W);
      for (int s = 0; s < p.kw; ++s) {
        const int c0 = q * sw - p.pad_w + s;  // lane 0's input column
        const __m512i col = _mm512_add_epi32(col0, _mm512_set1_epi32(s));
        const __mmask16 valid = k & _mm512_cmpge_epi32_mask(col, zero) & _mm512_cmplt_epi32_mask(col, width);
        if (!valid) continue;
        __m512 v;
        if (sw == 1) {
          v = _mm512_maskz_loadu_ps(valid, xr + c0);
        } else {
          // floats t < 32 from column c0: those inside the row and up to the last lane's
          const uint32_t m = bits(c0 < 0 ? -c0 : 0, p.W - c0 < 2 * cnt - 1 ? p.W - c0 : 2 * cnt - 1);
          const __m512 a = _mm512_maskz_loadu_ps(__mmask16(m), xr + c0);
          const __m512 b = (m >> 16) ? _mm512_maskz_loadu_ps(__mmask16(m >> 16), xr + c0 + 16) : _mm512_setzero_ps();
          v = _mm512_permutex2var_ps(a, even, b);
        }
        // the reference's test: the first input, a larger one, or the first NaN
        const __mmask16 take =
            valid & (_mm512_cmplt_epi32_mask(arg, zero) | _mm512_cmp_ps_mask(v, best, _CMP_GT_OQ) |
                     (_mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q) & _mm512_cmp_ps_mask(best, best, _CMP_ORD_Q)));
        best = _mm512_mask_mov_ps(best, take, v);
        arg = _mm512_mask_mov_epi32(arg, take, _mm512_add_epi32(row_base, col));
      }
    }
    _mm512_mask_storeu_ps(yr + q, k, best);
    if (ar) _mm512_mask_storeu_epi32(ar + q, k, arg);
  }
}

}  // namespace

PoolRow pool_row_avx512() { return row; }

#else

PoolRow pool_row_avx512() { return nullptr; }

#endif

}  // namespace tinct::cpu::detail
