// gemm/cpu_avx2.cpp — the AVX2 + FMA GEMM micro-kernel (kernel set "avx2").
// Compiled with -mavx2 -mfma -mno-avx512f (CMakeLists.txt); only called after
// common/cpu_features.cpp has seen avx2 and fma in cpuid.
//
// Tile 6 x 16: 12 ymm accumulators, 2 loads of B and 6 broadcasts of A per k
// against 12 FMAs, so the two FMA pipes, not the loads, bound it.
// Blocking for a Zen 3 / Zen 4 / Intel core (32-48 KiB L1d, >= 512 KiB L2):
//   KC = 256: the B micro-panel 256x16 floats = 16 KiB (half of L1);
//   MC = 144: the packed A block 144x256 floats = 144 KiB (under a third of L2);
//   NC = 4080: the packed B block 256x4080 floats = 4 MiB (in L3).
// Nothing but intrinsics here (see gemm/microkernels.h for why).
#include "kernels/gemm/microkernels.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

namespace tinct::cpu::detail {
namespace {

constexpr int MR = 6, NR = 16;

// The tile of M <= MR rows: an edge tile (M = mr < MR) computes only its own
// rows (a 16-channel conv is 6 + 6 + 4 rows, an 8 -> 2 output conv 2).
template <int M>
void tile(int kc, const float* __restrict a, const float* __restrict b, float* C, int ldc, float alpha,
          float beta, int nr) {
  __m256 c[M][2];
#pragma GCC unroll 6
  for (int i = 0; i < M; ++i) c[i][0] = c[i][1] = _mm256_setzero_ps();

  // Touch the C tile early so its lines arrive while the k loop runs.
  for (int i = 0; i < M; ++i) _mm_prefetch(reinterpret_cast<const char*>(C + (size_t)i * ldc), _MM_HINT_T0);

#pragma GCC unroll 4
  for (int k = 0; k < kc; ++k) {
    const __m256 b0 = _mm256_load_ps(b);
    const __m256 b1 = _mm256_load_ps(b + 8);
#pragma GCC unroll 6
    for (int i = 0; i < M; ++i) {
      const __m256 ai = _mm256_broadcast_ss(a + i);
      c[i][0] = _mm256_fmadd_ps(ai, b0, c[i][0]);
      c[i][1] = _mm256_fmadd_ps(ai, b1, c[i][1]);
    }
    a += MR;  // the packed panel keeps its MR stride, zero rows past mr
    b += NR;
  }

  const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
  if (nr == NR) {
#pragma GCC unroll 6
    for (int i = 0; i < M; ++i) {
      float* row = C + (size_t)i * ldc;
      __m256 lo = _mm256_mul_ps(va, c[i][0]), hi = _mm256_mul_ps(va, c[i][1]);
      if (beta != 0.0f) {
        lo = _mm256_fmadd_ps(vb, _mm256_loadu_ps(row), lo);
        hi = _mm256_fmadd_ps(vb, _mm256_loadu_ps(row + 8), hi);
      }
      _mm256_storeu_ps(row, lo);
      _mm256_storeu_ps(row + 8, hi);
    }
    return;
  }
  // Edge tile: through a buffer, only the mr x nr corner written (and read).
  alignas(32) float t[M * NR];
#pragma GCC unroll 6
  for (int i = 0; i < M; ++i) {
    _mm256_store_ps(t + i * NR, _mm256_mul_ps(va, c[i][0]));
    _mm256_store_ps(t + i * NR + 8, _mm256_mul_ps(va, c[i][1]));
  }
  for (int i = 0; i < M; ++i) {
    float* row = C + (size_t)i * ldc;
    if (beta == 0.0f) {
      for (int j = 0; j < nr; ++j) row[j] = t[i * NR + j];
    } else {
      for (int j = 0; j < nr; ++j) row[j] = t[i * NR + j] + beta * row[j];
    }
  }
}

using Tile = void (*)(int, const float*, const float*, float*, int, float, float, int);
constexpr Tile kTiles[MR] = {tile<1>, tile<2>, tile<3>, tile<4>, tile<5>, tile<6>};

void micro_kernel(int kc, const float* __restrict a, const float* __restrict b, float* C, int ldc,
                  float alpha, float beta, int mr, int nr) {
  kTiles[mr - 1](kc, a, b, C, ldc, alpha, beta, nr);
}

const GemmKernel kAvx2{CpuKernels::Avx2, MR, NR, 256, 144, 4080, micro_kernel};

}  // namespace

const GemmKernel* gemm_kernel_avx2() { return &kAvx2; }

}  // namespace tinct::cpu::detail

#else  // built without AVX2 (not x86-64): the set does not exist

namespace tinct::cpu::detail {
const GemmKernel* gemm_kernel_avx2() { return nullptr; }
}  // namespace tinct::cpu::detail

#endif
