// optim/cpu_avx512.cpp — the Adam / AdamW update (optim/ref.cpp, the
// specification) on 8 weights at a time in AVX-512 doubles: the reference
// computes every element in double, and the scalar divsd / sqrtsd it compiles
// to (sqrt keeps errno, so the compiler does not vectorise it) made the step
// ~25 cycles a weight. The same operations in the same order, each correctly
// rounded, so the result is the reference's bit for bit.
// Compiled with -mavx512f -mavx2 -mfma (CMakeLists.txt); only called when the
// avx512 kernel set is active. The arithmetic uses the _round_ intrinsics
// (round to nearest, as the default): the compiler never contracts those into
// fused multiply-adds, which would change the bits.
// Benchmark: the training step's "adam step" row, e.g.
//   printf "train gan compact 1 8 128 3\nquit\n" | TINCT_PROFILE=1 build-cpu/bench/bench_peer_forward
#include "kernels/optim/adam_simd.h"

#if defined(__AVX512F__)
#include "kernels/common/avx512_intrinsics.h"

namespace tinct::cpu::detail {
namespace {

constexpr int kRound = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;

inline __m512d add(__m512d a, __m512d b) { return _mm512_add_round_pd(a, b, kRound); }
inline __m512d sub(__m512d a, __m512d b) { return _mm512_sub_round_pd(a, b, kRound); }
inline __m512d mul(__m512d a, __m512d b) { return _mm512_mul_round_pd(a, b, kRound); }
inline __m512d div(__m512d a, __m512d b) { return _mm512_div_round_pd(a, b, kRound); }

size_t adam_avx512(size_t n, float* w, const float* g, float* m, float* v, const AdamConsts& k) {
  const __m512d wscale = _mm512_set1_pd(k.wscale), l2 = _mm512_set1_pd(k.l2);
  const __m512d b1 = _mm512_set1_pd(k.b1), c1 = _mm512_set1_pd(k.c1), b2 = _mm512_set1_pd(k.b2),
                c2 = _mm512_set1_pd(k.c2);
  const __m512d step = _mm512_set1_pd(k.step), rs2 = _mm512_set1_pd(k.rs2), eps = _mm512_set1_pd(k.eps);
  const size_t done = n / 8 * 8;
  for (size_t i = 0; i < done; i += 8) {
    __m512d wi = _mm512_cvtps_pd(_mm256_loadu_ps(w + i));
    __m512d grad = _mm512_cvtps_pd(_mm256_loadu_ps(g + i));
    if (k.decoupled)
      wi = mul(wi, wscale);
    else
      grad = add(grad, mul(l2, wi));
    const __m512d mi = add(mul(b1, _mm512_cvtps_pd(_mm256_loadu_ps(m + i))), mul(c1, grad));
    const __m512d vi = add(mul(b2, _mm512_cvtps_pd(_mm256_loadu_ps(v + i))), mul(mul(c2, grad), grad));
    _mm256_storeu_ps(m + i, _mm512_cvtpd_ps(mi));
    _mm256_storeu_ps(v + i, _mm512_cvtpd_ps(vi));
    const __m512d den = add(mul(_mm512_sqrt_round_pd(vi, kRound), rs2), eps);
    wi = sub(wi, div(mul(step, mi), den));
    _mm256_storeu_ps(w + i, _mm512_cvtpd_ps(wi));
  }
  return done;
}

}  // namespace

AdamSimdFn adam_simd_avx512() { return adam_avx512; }

}  // namespace tinct::cpu::detail

#else  // built without AVX-512 (not x86-64)

namespace tinct::cpu::detail {
AdamSimdFn adam_simd_avx512() { return nullptr; }
}  // namespace tinct::cpu::detail

#endif
