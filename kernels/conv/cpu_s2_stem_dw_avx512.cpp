// conv/cpu_s2_stem_dw_avx512.cpp — the stems' backward-filter dot products
// (conv/cpu_stem_dw.cpp) for up to 4 output channels at once.
//
// WHY: the one-channel row loop (conv/cpu_thin_avx512.cpp, dots) loads one
// dy vector and G shifted x vectors per G FMAs: 9 loads for 8 FMAs, so it
// runs at under half the FMA rate and the GEMM path beat it where C*R*S
// reaches 48 (the PatchGAN's 3 -> 32 4x4 stride 2). Here a register tile of
// MK dy rows by G taps (MK * G <= 24 accumulators) loads MK + G vectors per
// MK * G FMAs: 10 loads for 24 at MK = 4, G = 6.
//
// WHAT: detail::StemDotsFn (conv/cpu_s2_stem_dw.h): MK <= 4 channels' dot
// products against T <= 64 shifted windows, the taps in ceil(T / G) groups
// of (nearly) equal size. Each sum is its own 16 lanes, so the result does
// not depend on MK or on how the taps are grouped.
// BENCHMARK: bench/bench_conv_thin.cpp --stem (the stems' path against
// im2col + GEMM); switch TINCT_CONV_STEM_DW_MK=0 (the one-channel loop).
#include "kernels/conv/cpu_s2_stem_dw.h"

#include <utility>

#if defined(__AVX512F__)
#include "kernels/common/avx512_intrinsics.h"
#endif

namespace tinct::cpu::detail {

#if defined(__AVX512F__)
namespace {

template <int MK, int G>
void tile(int R, size_t n, const float* y, size_t ldk, size_t ldy, const float* x, size_t ldx, const size_t* off,
          int T, float* out) {
  __m512 a[MK][G];
  for (int m = 0; m < MK; ++m)
    for (int g = 0; g < G; ++g) a[m][g] = _mm512_setzero_ps();
  const size_t whole = n / 16 * 16;
  const __mmask16 tail = (__mmask16)((1u << (n - whole)) - 1);
  for (int r = 0; r < R; ++r) {
    const float* yr = y + r * ldy;
    const float* xr = x + r * ldx;
    for (size_t i = 0; i < whole; i += 16) {
      __m512 d[MK];
      for (int m = 0; m < MK; ++m) d[m] = _mm512_loadu_ps(yr + m * ldk + i);
#pragma GCC unroll 8
      for (int g = 0; g < G; ++g) {
        const __m512 v = _mm512_loadu_ps(xr + off[g] + i);
        for (int m = 0; m < MK; ++m) a[m][g] = _mm512_fmadd_ps(d[m], v, a[m][g]);
      }
    }
    if (whole < n) {
      __m512 d[MK];
      for (int m = 0; m < MK; ++m) d[m] = _mm512_maskz_loadu_ps(tail, yr + m * ldk + whole);
#pragma GCC unroll 8
      for (int g = 0; g < G; ++g) {
        const __m512 v = _mm512_maskz_loadu_ps(tail, xr + off[g] + whole);
        for (int m = 0; m < MK; ++m) a[m][g] = _mm512_fmadd_ps(d[m], v, a[m][g]);
      }
    }
  }
  for (int m = 0; m < MK; ++m)
    for (int g = 0; g < G; ++g) out[m * T + g] = _mm512_reduce_add_ps(a[m][g]);
}

using TileFn = void (*)(int, size_t, const float*, size_t, size_t, const float*, size_t, const size_t*, int, float*);
constexpr int kMaxG = 8;
constexpr int max_g(int mk) { return 24 / mk < kMaxG ? 24 / mk : kMaxG; }

template <int MK, int... Gs>
constexpr TileFn pick(int g, std::integer_sequence<int, Gs...>) {
  TileFn fns[] = {tile<MK, Gs + 1>...};
  return fns[g - 1];
}
template <int MK>
TileFn tile_for(int g) {
  return pick<MK>(g, std::make_integer_sequence<int, max_g(MK)>{});
}

void stem_dots(int MK, int R, size_t n, const float* y, size_t ldk, size_t ldy, const float* x, size_t ldx,
               const size_t* off, int T, float* out) {
  const int gmax = max_g(MK), groups = (T + gmax - 1) / gmax;
  for (int q = 0, t0 = 0; q < groups; ++q) {
    const int G = (T - t0) / (groups - q);
    const TileFn f = MK == 4 ? tile_for<4>(G) : MK == 3 ? tile_for<3>(G) : MK == 2 ? tile_for<2>(G) : tile_for<1>(G);
    f(R, n, y, ldk, ldy, x, ldx, off + t0, T, out + t0);
    t0 += G;
  }
}

}  // namespace
#endif

StemDotsFn stem_dots_avx512() {
#if defined(__AVX512F__)
  return stem_dots;
#else
  return nullptr;
#endif
}

}  // namespace tinct::cpu::detail
