// gemm/cpu_avx512bf16.cpp — the AVX-512 BF16 GEMM micro-kernel (the bf16 kernel
// set "avx512-bf16"): C = alpha * A B + beta * C with A and B rounded to bf16
// (round to nearest even, as cpu::bf16_from_float in tensorcore/ref.cpp) and
// the products summed in fp32: the CPU arithmetic of Precision::bf16.
// Compiled with -mavx512f -mavx512bf16 -mavx512bw -mavx512vl (CMakeLists.txt);
// only called after common/cpu_features.cpp has seen avx512_bf16 in cpuid, and
// only for the bf16 precision (fp32 stays on the fp32 sets; conv/cpu.cpp picks).
//
// VDPBF16PS multiplies 32 bf16 pairs into 16 fp32 lanes per instruction:
// lane j += a[2t] b[2t][j] + a[2t+1] b[2t+1][j] (products exact in fp32). So
// the packing (gemm/cpu.cpp, layout in gemm/microkernels.h) rounds the
// operands to bf16 and interleaves k in pairs: one 32-bit slot per pair.
// Tile 14 x 32, as the fp32 AVX-512 set: 28 zmm accumulators + 2 B vectors;
// per k PAIR, 2 loads of B and 14 broadcast A pairs (folded into the
// instructions as {1to16} memory operands) against 28 VDPBF16PS, twice the
// multiply-adds of the fp32 kernel's 28 FMAs for the same instruction count.
// The hardware flushes bf16 subnormal operands and fp32 subnormal results to
// zero (DAZ / FTZ): below 2^-126, far inside any test's tolerance.
// Blocking: a bf16 panel is half the bytes of an fp32 one, so KC doubles for
// the same cache footprint as gemm/cpu_avx512.cpp's (384 floats):
//   KC = 768: the B micro-panel 768 x 32 bf16 = 48 KiB (served from L1 / L2);
//   MC = 336: the packed A block 336 x 768 bf16 = 504 KiB (half a Zen 4 L2);
//   NC = 4096: the packed B block 768 x 4096 bf16 = 6 MiB (in L3).
// BENCHMARK: bench_cpu_gemm_conv --benchmark_filter=bf16 (bench/RESULTS.md).
// Nothing but intrinsics here (see gemm/microkernels.h for why).
#include "kernels/gemm/microkernels.h"

#if defined(__AVX512F__) && defined(__AVX512BF16__)
#include <immintrin.h>

namespace tinct::cpu::detail {
namespace {

constexpr int MR = 14, NR = 32;

// The tile of M <= MR rows (an edge tile computes only its own rows, as in
// gemm/cpu_avx512.cpp). a and b hold bf16 pairs in 32-bit slots; they are
// loaded as floats (bit patterns untouched) and reinterpreted.
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

  const int pairs = (kc + 1) / 2;  // an odd kc's last pair has a zero k
#pragma GCC unroll 2
  for (int t = 0; t < pairs; ++t) {
    const __m512bh b0 = (__m512bh)_mm512_load_ps(b);
    const __m512bh b1 = (__m512bh)_mm512_load_ps(b + 16);
#pragma GCC unroll 14
    for (int i = 0; i < M; ++i) {
      const __m512bh ai = (__m512bh)_mm512_set1_ps(a[i]);
      c[i][0] = _mm512_dpbf16_ps(c[i][0], ai, b0);
      c[i][1] = _mm512_dpbf16_ps(c[i][1], ai, b1);
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

const GemmKernel kAvx512Bf16{CpuKernels::Avx512, MR, NR, 768, 336, 4096, micro_kernel, true};

}  // namespace

const GemmKernel* gemm_kernel_avx512_bf16() { return &kAvx512Bf16; }

}  // namespace tinct::cpu::detail

#else  // built without AVX-512 BF16 (not x86-64, or a compiler without it): no bf16 set

namespace tinct::cpu::detail {
const GemmKernel* gemm_kernel_avx512_bf16() { return nullptr; }
}  // namespace tinct::cpu::detail

#endif
