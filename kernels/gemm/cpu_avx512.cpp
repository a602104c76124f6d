// gemm/cpu_avx512.cpp — the AVX-512F GEMM micro-kernel (kernel set "avx512").
// Compiled with -mavx512f -mavx2 -mfma (CMakeLists.txt); only called after
// common/cpu_features.cpp has seen avx512f in cpuid (with the OS saving zmm state).
//
// Tile 14 x 32: 28 zmm accumulators + 2 B vectors of the 32 registers; per k,
// 2 loads of B and 14 broadcasts of A (folded into the FMAs as {1to16}
// memory operands) against 28 FMAs of 16 lanes. Edge tiles store through
// lane masks, so no buffer, and compute only their rows (tile<M>).
// Blocking (Intel Xeon: 48 KiB L1d, 2 MiB L2; AMD Zen 4: 32 KiB L1d, 1 MiB L2):
//   KC = 384: the B micro-panel 384x32 floats = 48 KiB, more than a Zen 4 L1,
//             but its 2 loads per 28 FMAs are served from L2 fast enough, and
//             C is read and written half as often as at KC = 192: on Zen 4
//             (2026-12-03, loaded machine) KC 384 beat 128, 192 and 256 by
//             3-10% on sgemm 1024^3, and 512 was no better;
//   MC = 336: the packed A block 336x384 floats = 504 KiB (half of a 1 MiB L2);
//   NC = 4096: the packed B block 384x4096 floats = 6 MiB (in L3).
// Nothing but intrinsics here (see gemm/microkernels.h for why).
#include "kernels/gemm/microkernels.h"

#if defined(__AVX512F__)
#include <immintrin.h>

namespace tinct::cpu::detail {
namespace {

constexpr int MR = 14, NR = 32;

// The tile of M <= MR rows: an edge tile (M = mr < MR) computes only its own
// rows. Small-channel layers have few rows (a 16-channel conv: 14 + 2, an
// 8 -> 2 output conv: 2), so computing all 14 spent up to 7x the FMAs.
template <int M>
void tile(int kc, const float* __restrict a, const float* __restrict b, float* C, int ldc, float alpha,
          float beta, int nr) {
  __m512 c[M][2];
#pragma GCC unroll 14
  for (int i = 0; i < M; ++i) c[i][0] = c[i][1] = _mm512_setzero_ps();

  // Touch the C tile (two lines a row) early so it arrives during the k loop.
#pragma GCC unroll 14
  for (int i = 0; i < M; ++i) {
    const char* row = reinterpret_cast<const char*>(C + (size_t)i * ldc);
    _mm_prefetch(row, _MM_HINT_T0);
    _mm_prefetch(row + 64, _MM_HINT_T0);
  }

#pragma GCC unroll 2
  for (int k = 0; k < kc; ++k) {
    const __m512 b0 = _mm512_load_ps(b);
    const __m512 b1 = _mm512_load_ps(b + 16);
#pragma GCC unroll 14
    for (int i = 0; i < M; ++i) {
      const __m512 ai = _mm512_set1_ps(a[i]);
      c[i][0] = _mm512_fmadd_ps(ai, b0, c[i][0]);
      c[i][1] = _mm512_fmadd_ps(ai, b1, c[i][1]);
    }
    a += MR;  // the packed panel keeps its MR stride, zero rows past mr
    b += NR;
  }

  // Lanes of the two column halves that lie inside C.
  const __mmask16 m0 = nr >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << nr) - 1);
  const __mmask16 m1 = nr >= 32 ? (__mmask16)0xFFFF
                       : nr > 16 ? (__mmask16)((1u << (nr - 16)) - 1) : (__mmask16)0;
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
#pragma GCC unroll 14
  for (int i = 0; i < M; ++i) {
    float* row = C + (size_t)i * ldc;
    __m512 lo = _mm512_mul_ps(va, c[i][0]), hi = _mm512_mul_ps(va, c[i][1]);
    if (beta != 0.0f) {  // masked loads: lanes past nr are not read
      lo = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m0, row), lo);
      hi = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m1, row + 16), hi);
    }
    _mm512_mask_storeu_ps(row, m0, lo);
    _mm512_mask_storeu_ps(row + 16, m1, hi);
  }
}

using Tile = void (*)(int, const float*, const float*, float*, int, float, float, int);
constexpr Tile kTiles[MR] = {tile<1>, tile<2>, tile<3>,  tile<4>,  tile<5>,  tile<6>,  tile<7>,
                             tile<8>, tile<9>, tile<10>, tile<11>, tile<12>, tile<13>, tile<14>};

void micro_kernel(int kc, const float* __restrict a, const float* __restrict b, float* C, int ldc,
                  float alpha, float beta, int mr, int nr) {
  kTiles[mr - 1](kc, a, b, C, ldc, alpha, beta, nr);
}

const GemmKernel kAvx512{CpuKernels::Avx512, MR, NR, 384, 336, 4096, micro_kernel};

}  // namespace

const GemmKernel* gemm_kernel_avx512() { return &kAvx512; }

}  // namespace tinct::cpu::detail

#else  // built without AVX-512 (not x86-64): the set does not exist

namespace tinct::cpu::detail {
const GemmKernel* gemm_kernel_avx512() { return nullptr; }
}  // namespace tinct::cpu::detail

#endif
