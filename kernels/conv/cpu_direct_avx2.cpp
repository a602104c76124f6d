// conv/cpu_direct_avx2.cpp — the AVX2 + FMA register tiles of the direct
// convolution (conv/cpu_direct.cpp): one output row segment of MK channels by
// V x 8 pixels, summed over every input channel and tap straight from a
// zero-padded copy of the image, no im2col.
// Compiled with -mavx2 -mfma -mno-avx512f (CMakeLists.txt); only called when
// the avx2 kernel set is active (common/cpu_features.cpp checked cpuid).
//
// Per tap (c, r, s): MK weight broadcasts, V unaligned loads of 8 pixels and
// MK x V FMAs into MK x V ymm accumulators (tiles 1x8, 2x6, 3x4, 4x3: at most
// 12 accumulators + the broadcasts + one pixel vector of the 16 registers).
// Nothing but intrinsics here (see gemm/microkernels.h for why).
#include "kernels/conv/cpu_direct.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

namespace tinct::cpu::detail {
namespace {

// y[m * ldy + i] for m < MK, i < nq (at most 8 V) = sum over c < C, r < R,
// s < S of w[((c * R + r) * S + s) * MK + m] * x[c * plane + r * dh * ldx + s * dw + i].
// x may be read up to 8 V - 1 + (S - 1) dw floats past a row's start
// (the caller's padded copy has that slack); lanes past nq are not stored.
template <int MK, int V>
void tile(const float* __restrict x, size_t plane, int ldx, const float* __restrict w, int C, int R, int S,
          int dh, int dw, float* y, size_t ldy, int nq) {
  __m256 acc[MK][V];
#pragma GCC unroll 4
  for (int m = 0; m < MK; ++m)
#pragma GCC unroll 8
    for (int v = 0; v < V; ++v) acc[m][v] = _mm256_setzero_ps();
  for (int c = 0; c < C; ++c) {
    const float* xc = x + (size_t)c * plane;
    for (int r = 0; r < R; ++r) {
      const float* xr = xc + (size_t)r * dh * ldx;
      for (int s = 0; s < S; ++s) {
        const float* xs = xr + s * dw;
        __m256 wb[MK];
#pragma GCC unroll 4
        for (int m = 0; m < MK; ++m) wb[m] = _mm256_set1_ps(w[m]);
        w += MK;
#pragma GCC unroll 8
        for (int v = 0; v < V; ++v) {
          const __m256 xv = _mm256_loadu_ps(xs + 8 * v);
#pragma GCC unroll 4
          for (int m = 0; m < MK; ++m) acc[m][v] = _mm256_fmadd_ps(wb[m], xv, acc[m][v]);
        }
      }
    }
  }
  for (int m = 0; m < MK; ++m) {
    float* ym = y + (size_t)m * ldy;
    for (int v = 0; v < V; ++v) {
      const int left = nq - 8 * v;
      if (left >= 8) {
        _mm256_storeu_ps(ym + 8 * v, acc[m][v]);
      } else if (left > 0) {  // lanes i < left: a mask of sign bits
        const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        _mm256_maskstore_ps(ym + 8 * v, _mm256_cmpgt_epi32(_mm256_set1_epi32(left), lane), acc[m][v]);
      }
    }
  }
}

const DirectTile kTiles[4] = {{1, 64, tile<1, 8>}, {2, 48, tile<2, 6>}, {3, 32, tile<3, 4>}, {4, 24, tile<4, 3>}};

}  // namespace

const DirectTile* direct_tiles_avx2() { return kTiles; }

}  // namespace tinct::cpu::detail

#else  // built without AVX2 (not x86-64)

namespace tinct::cpu::detail {
const DirectTile* direct_tiles_avx2() { return nullptr; }
}  // namespace tinct::cpu::detail

#endif
