// conv/cpu_blocked_avx512.cpp — the AVX-512F register tiles of the blocked
// direct convolution (conv/cpu_blocked.cpp): one output row segment of MK
// channels by V x 16 pixels, summed over a chunk of input channels and every
// tap straight from a zero-padded copy of the image, no im2col.
// Compiled with -mavx512f -mavx2 -mfma (CMakeLists.txt); only called when the
// avx512 kernel set is active (common/cpu_features.cpp checked cpuid).
//
// Per tap: MK weight broadcasts, V unaligned loads of 16 pixels and MK x V
// FMAs into MK x V <= 24 zmm accumulators (12x2, 6x4 and every smaller MK
// for the last block of channels). Nothing but intrinsics here
// (see gemm/microkernels.h for why).
#include "kernels/conv/cpu_blocked.h"

#if defined(__AVX512F__)
#include <immintrin.h>

#include <utility>

namespace tinct::cpu::detail {
namespace {

template <int MK, int V>
void tile(const float* __restrict x, size_t ldc, const int* taps, int T, const float* __restrict w, int C,
          float* y, size_t ldy, int nq, bool add) {
  __mmask16 mask[V];
#pragma GCC unroll 8
  for (int v = 0; v < V; ++v) {
    const int left = nq - 16 * v;
    mask[v] = left >= 16 ? (__mmask16)0xffff : left > 0 ? (__mmask16)((1u << left) - 1) : (__mmask16)0;
  }
  __m512 acc[MK][V];
#pragma GCC unroll 12
  for (int m = 0; m < MK; ++m)
#pragma GCC unroll 8
    for (int v = 0; v < V; ++v)
      acc[m][v] = add ? _mm512_maskz_loadu_ps(mask[v], y + m * ldy + 16 * v) : _mm512_setzero_ps();
  for (int c = 0; c < C; ++c) {
    const float* xc = x + (size_t)c * ldc;
    for (int t = 0; t < T; ++t) {
      const float* xs = xc + taps[t];
      __m512 wb[MK];
#pragma GCC unroll 12
      for (int m = 0; m < MK; ++m) wb[m] = _mm512_set1_ps(w[m]);
      w += MK;
#pragma GCC unroll 8
      for (int v = 0; v < V; ++v) {
        const __m512 xv = _mm512_loadu_ps(xs + 16 * v);
#pragma GCC unroll 12
        for (int m = 0; m < MK; ++m) acc[m][v] = _mm512_fmadd_ps(wb[m], xv, acc[m][v]);
      }
    }
  }
#pragma GCC unroll 12
  for (int m = 0; m < MK; ++m)
#pragma GCC unroll 8
    for (int v = 0; v < V; ++v) _mm512_mask_storeu_ps(y + m * ldy + 16 * v, mask[v], acc[m][v]);
}

// The table row of V: tile<1, V> ... tile<kBlockedMaxMk, V>, nullptr past blocked_max_mk(V).
template <int V, int... M>
constexpr void fill_row(BlockedTileFn* row, std::integer_sequence<int, M...>) {
  ((row[M] = M + 1 <= blocked_max_mk(V) ? tile<(M + 1 <= blocked_max_mk(V) ? M + 1 : 1), V> : nullptr), ...);
}

struct Table {
  BlockedTileFn fn[2 * kBlockedMaxMk] = {};
  Table() {
    const auto seq = std::make_integer_sequence<int, kBlockedMaxMk>{};
    fill_row<2>(fn + 0 * kBlockedMaxMk, seq);
    fill_row<4>(fn + 1 * kBlockedMaxMk, seq);
  }
};

}  // namespace

const BlockedTileFn* blocked_tiles_avx512() {
  static const Table table;
  return table.fn;
}

}  // namespace tinct::cpu::detail

#else  // built without AVX-512 (not x86-64)

namespace tinct::cpu::detail {
const BlockedTileFn* blocked_tiles_avx512() { return nullptr; }
}  // namespace tinct::cpu::detail

#endif
