// conv/cpu_thin_avx512.cpp — the thin convolution's row loops (conv/cpu_thin.h)
// compiled with -mavx512f: plain loops the compiler vectorises 16 lanes wide,
// and the stems' multi-tap dot products in intrinsics.
// What they compute and how to benchmark: conv/cpu_thin.cpp.
#include "kernels/conv/cpu_thin.h"

#if defined(__AVX512F__)
#include "kernels/common/avx512_intrinsics.h"
#endif

namespace tinct::cpu::detail {

namespace {

void axpy(size_t n, float a, const float* __restrict x, float* __restrict y) {
#pragma omp simd
  for (size_t i = 0; i < n; ++i) y[i] += a * x[i];
}

float dot(size_t n, const float* __restrict x, const float* __restrict y) {
  float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
  for (size_t i = 0; i < n; ++i) sum += x[i] * y[i];
  return sum;
}

#if defined(__AVX512F__)
// G <= 8 taps at a time: one load of y feeds G FMAs into G independent
// accumulators (one accumulator alone waits on its own FMA latency), and the
// G x streams are shifted views of the same rows, mostly the same cache
// lines. The accumulators run over every row; each sum is its 16 lanes added
// in _mm512_reduce_add_ps's order.
template <int G>
void dots_group(int R, size_t n, const float* y, size_t ldy, const float* x, size_t ldx, const size_t* off,
                float* out) {
  __m512 a[G];
  for (int g = 0; g < G; ++g) a[g] = _mm512_setzero_ps();
  const size_t whole = n / 16 * 16;
  const __mmask16 m = (__mmask16)((1u << (n - whole)) - 1);  // lanes of the row's tail
  for (int r = 0; r < R; ++r) {
    const float* yr = y + r * ldy;
    const float* xr = x + r * ldx;
    for (size_t i = 0; i < whole; i += 16) {
      const __m512 d = _mm512_loadu_ps(yr + i);
#pragma GCC unroll 8
      for (int g = 0; g < G; ++g) a[g] = _mm512_fmadd_ps(d, _mm512_loadu_ps(xr + off[g] + i), a[g]);
    }
    if (whole < n) {  // masked: lanes past n are neither read nor added
      const __m512 d = _mm512_maskz_loadu_ps(m, yr + whole);
#pragma GCC unroll 8
      for (int g = 0; g < G; ++g)
        a[g] = _mm512_fmadd_ps(d, _mm512_maskz_loadu_ps(m, xr + off[g] + whole), a[g]);
    }
  }
  for (int g = 0; g < G; ++g) out[g] = _mm512_reduce_add_ps(a[g]);
}

using DotsGroup = void (*)(int, size_t, const float*, size_t, const float*, size_t, const size_t*, float*);
constexpr DotsGroup kGroups[8] = {dots_group<1>, dots_group<2>, dots_group<3>, dots_group<4>,
                                  dots_group<5>, dots_group<6>, dots_group<7>, dots_group<8>};

// The taps in ceil(T / 8) groups of (nearly) equal size: 9 taps as 5 + 4,
// not 8 + 1.
void dots(int R, size_t n, const float* y, size_t ldy, const float* x, size_t ldx, const size_t* off, int T,
          float* out) {
  const int groups = (T + 7) / 8;
  for (int q = 0, t0 = 0; q < groups; ++q) {
    const int G = (T - t0) / (groups - q);
    kGroups[G - 1](R, n, y, ldy, x, ldx, off + t0, out + t0);
    t0 += G;
  }
}
#endif

}  // namespace

const ThinRowOps* thin_row_ops_avx512() {
#if defined(__AVX512F__)
  static const ThinRowOps ops{axpy, dot, dots};
  return &ops;
#else
  return nullptr;
#endif
}

}  // namespace tinct::cpu::detail
