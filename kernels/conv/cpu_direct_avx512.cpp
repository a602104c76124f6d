// conv/cpu_direct_avx512.cpp — the AVX-512F register tiles of the direct
// convolution (conv/cpu_direct.cpp): one output row segment of MK channels by
// V x 16 pixels, summed over every input channel and tap straight from a
// zero-padded copy of the image, no im2col.
// Compiled with -mavx512f -mavx2 -mfma (CMakeLists.txt); only called when the
// avx512 kernel set is active (common/cpu_features.cpp checked cpuid).
//
// Per tap (c, r, s): MK weight broadcasts, V unaligned loads of 16 pixels and
// MK x V FMAs into MK x V zmm accumulators (tiles 1x8, 2x8, 3x8, 4x6: at most
// 24 accumulators + the broadcasts + one pixel vector of the 32 registers).
// Nothing but intrinsics here (see gemm/microkernels.h for why).
#include "kernels/conv/cpu_direct.h"

#if defined(__AVX512F__)
#include <immintrin.h>

namespace tinct::cpu::detail {
namespace {

// y[m * ldy + i] for m < MK, i < nq (at most 16 V) = sum over c < C, r < R,
// s < S of w[((c * R + r) * S + s) * MK + m] * x[c * plane + r * dh * ldx + s * dw + i].
// x may be read up to 16 V - 1 + (S - 1) dw floats past a row's start
// (the caller's padded copy has that slack); lanes past nq are not stored.
template <int MK, int V>
void tile(const float* __restrict x, size_t plane, int ldx, const float* __restrict w, int C, int R, int S,
          int dh, int dw, float* y, size_t ldy, int nq) {
  __m512 acc[MK][V];
#pragma GCC unroll 4
  for (int m = 0; m < MK; ++m)
#pragma GCC unroll 8
    for (int v = 0; v < V; ++v) acc[m][v] = _mm512_setzero_ps();
  for (int c = 0; c < C; ++c) {
    const float* xc = x + (size_t)c * plane;
    for (int r = 0; r < R; ++r) {
      const float* xr = xc + (size_t)r * dh * ldx;
      for (int s = 0; s < S; ++s) {
        const float* xs = xr + s * dw;
        __m512 wb[MK];
#pragma GCC unroll 4
        for (int m = 0; m < MK; ++m) wb[m] = _mm512_set1_ps(w[m]);
        w += MK;
#pragma GCC unroll 8
        for (int v = 0; v < V; ++v) {
          const __m512 xv = _mm512_loadu_ps(xs + 16 * v);
#pragma GCC unroll 4
          for (int m = 0; m < MK; ++m) acc[m][v] = _mm512_fmadd_ps(wb[m], xv, acc[m][v]);
        }
      }
    }
  }
#pragma GCC unroll 4
  for (int m = 0; m < MK; ++m) {
    float* ym = y + (size_t)m * ldy;
#pragma GCC unroll 8
    for (int v = 0; v < V; ++v) {
      const int left = nq - 16 * v;
      if (left >= 16) _mm512_storeu_ps(ym + 16 * v, acc[m][v]);
      else if (left > 0) _mm512_mask_storeu_ps(ym + 16 * v, (__mmask16)((1u << left) - 1), acc[m][v]);
    }
  }
}

const DirectTile kTiles[4] = {{1, 128, tile<1, 8>}, {2, 128, tile<2, 8>}, {3, 128, tile<3, 8>}, {4, 96, tile<4, 6>}};

}  // namespace

const DirectTile* direct_tiles_avx512() { return kTiles; }

}  // namespace tinct::cpu::detail

#else  // built without AVX-512 (not x86-64)

namespace tinct::cpu::detail {
const DirectTile* direct_tiles_avx512() { return nullptr; }
}  // namespace tinct::cpu::detail

#endif
