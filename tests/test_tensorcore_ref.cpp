// test_tensorcore_ref.cpp — the specification of the tensor-core GEMMs
// (kernels/tensorcore/ref.cpp): the rounding to TF32 and to BF16 on edge
// values (ties, subnormals, inf, NaN, the largest finite values) and against
// an independent oracle (std::round / std::nearbyint on the scaled value),
// then the reference GEMMs against double precision with the error bound
// their arithmetic implies (tests/tensorcore_check.h):
//   on the rounded inputs:  (K + 2) u (|alpha| S + |beta c|)   (fp32 accumulation alone)
//   on the fp32 inputs:     adds (2d + d^2) |alpha| S, the input rounding,
//                           d = 2^-11 (tf32, to nearest) or 2^-8 (bf16)
// where S = sum_k |a_k b_k|, u = 2^-24.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "doctest/doctest.h"
#include "kernels/kernels.h"
#include "kernels/tensorcore/tensorcore.h"
#include "tensorcore_check.h"

using namespace tinct;

namespace {

float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
uint32_t to_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

// Independent oracles for finite x: round to `mant` mantissa bits, ties away
// (std::round) or to even (std::nearbyint in the default rounding mode), in
// double (exact: the scaled value has <= 24 significant bits). Subnormal
// inputs keep the spacing of the smallest normal binade.
double round_bits(float x, int mant, bool ties_away) {
  if (x == 0) return x;
  const int e = std::max(std::ilogb(x), -126);
  const double ulp = std::ldexp(1.0, e - mant);
  const double q = double(x) / ulp;
  return (ties_away ? std::round(q) : std::nearbyint(q)) * ulp;
}
double as_float_or_inf(double v) {  // what fp32 holds: beyond FLT_MAX is inf
  return std::fabs(v) > std::numeric_limits<float>::max() ? std::copysign(INFINITY, v) : v;
}

}  // namespace

TEST_CASE("round_tf32: cvt.rna.tf32.f32 on edge values") {
  struct Case {
    uint32_t in, out;
    const char* what;
  };
  const Case cases[] = {
      {0x3f800000u, 0x3f800000u, "1 is exact"},
      {0x3f801000u, 0x3f802000u, "1 + 2^-11: a tie, away from zero (even would keep 1)"},
      {0xbf801000u, 0xbf802000u, "-(1 + 2^-11): a tie, away from zero"},
      {0x3f800fffu, 0x3f800000u, "just below the tie: down"},
      {0x3f803000u, 0x3f804000u, "tie above an odd mantissa: up"},
      {0x3fffffffu, 0x40000000u, "carry into the exponent"},
      {0x7f7fefffu, 0x7f7fe000u, "largest value that stays finite"},
      {0x7f7fffffu, 0x7f800000u, "FLT_MAX rounds to inf"},
      {0x7f800000u, 0x7f800000u, "inf"},
      {0xff800000u, 0xff800000u, "-inf"},
      {0x00000001u, 0x00000000u, "smallest subnormal: to 0"},
      {0x00001000u, 0x00002000u, "subnormal tie: away"},
      {0x007fffffu, 0x00800000u, "largest subnormal: up to FLT_MIN"},
      {0x80000000u, 0x80000000u, "-0"},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    CHECK(to_bits(cpu::round_tf32(from_bits(c.in))) == c.out);
  }
  CHECK(std::isnan(cpu::round_tf32(std::numeric_limits<float>::quiet_NaN())));
  CHECK(std::isnan(cpu::round_tf32(-std::numeric_limits<float>::quiet_NaN())));

  // Random finite values of every magnitude against the oracle; idempotent;
  // low 13 bits clear.
  std::mt19937 gen(12);
  int checked = 0;
  for (int i = 0; i < 200000; ++i) {
    const float x = from_bits(gen());
    if (!std::isfinite(x)) continue;
    const float r = cpu::round_tf32(x);
    const double want = as_float_or_inf(round_bits(x, 10, true));
    if (double(r) != want) {
      FAIL_CHECK("tf32(" << x << ") = " << r << ", oracle " << want);
      break;
    }
    CHECK_EQ(to_bits(r) & 0x1fffu, 0u);
    if (std::isfinite(r)) CHECK_EQ(to_bits(cpu::round_tf32(r)), to_bits(r));
    ++checked;
  }
  CHECK(checked > 190000);
}

TEST_CASE("bf16_from_float: cvt.rn.bf16.f32 on edge values") {
  struct Case {
    uint32_t in;
    uint16_t out;
    const char* what;
  };
  const Case cases[] = {
      {0x3f800000u, 0x3f80, "1 is exact"},
      {0x3f808000u, 0x3f80, "1 + 2^-8: a tie, to even (down)"},
      {0x3f818000u, 0x3f82, "tie above an odd mantissa: to even (up)"},
      {0xbf808000u, 0xbf80, "negative tie: to even"},
      {0x3f808001u, 0x3f81, "just above the tie: up"},
      {0x3fffffffu, 0x4000, "carry into the exponent"},
      {0x7f7f7fffu, 0x7f7f, "largest value that stays finite"},
      {0x7f7fffffu, 0x7f80, "FLT_MAX rounds to inf"},
      {0x7f800000u, 0x7f80, "inf"},
      {0xff800000u, 0xff80, "-inf"},
      {0x00008000u, 0x0000, "subnormal tie: to even (0)"},
      {0x00018000u, 0x0002, "subnormal tie above odd: up"},
      {0x007fffffu, 0x0080, "largest subnormal: up to FLT_MIN"},
      {0x80000000u, 0x8000, "-0"},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    CHECK(cpu::bf16_from_float(from_bits(c.in)) == c.out);
  }
  // NaN stays NaN (quiet, sign kept), even one whose payload is all in the
  // dropped bits (truncation would make it inf).
  const uint16_t n1 = cpu::bf16_from_float(from_bits(0x7f800001u));
  const uint16_t n2 = cpu::bf16_from_float(from_bits(0xffc00000u));
  CHECK(std::isnan(cpu::bf16_to_float(n1)));
  CHECK(std::isnan(cpu::bf16_to_float(n2)));
  CHECK((n2 & 0x8000) != 0);

  // Every bf16 value converts back to itself (bf16 -> fp32 is exact).
  for (uint32_t b = 0; b < 0x10000u; ++b) {
    const float f = cpu::bf16_to_float(uint16_t(b));
    if (std::isnan(f)) continue;
    if (cpu::bf16_from_float(f) != b) {
      FAIL_CHECK("bf16 " << b << " does not round-trip");
      break;
    }
  }
  std::mt19937 gen(13);
  for (int i = 0; i < 200000; ++i) {
    const float x = from_bits(gen());
    if (!std::isfinite(x)) continue;
    const double want = as_float_or_inf(round_bits(x, 7, false));
    if (double(cpu::round_bf16(x)) != want) {
      FAIL_CHECK("bf16(" << x << ") = " << cpu::round_bf16(x) << ", oracle " << want);
      break;
    }
  }
}

namespace {

struct Shape {
  bool ta, tb;
  int M, N, K;
  float alpha, beta;
};

// Runs one precision's reference on one shape and checks both bounds.
// `round_in` turns an fp32 input into the value the precision multiplies.
template <class T, class ToT, class Widen, class Ref>
void check_reference(const char* name, const Shape& s, double d, ToT to_t, Widen widen, Ref ref) {
  const int pad = 3;  // padded leading dimensions: the padding is never read
  const int lda = (s.ta ? s.M : s.K) + pad, ldb = (s.tb ? s.K : s.N) + pad, ldc = s.N + pad;
  const size_t na = (size_t)(s.ta ? s.K : s.M) * lda, nb = (size_t)(s.tb ? s.N : s.K) * ldb;
  std::mt19937 gen(uint32_t(s.M * 131 + s.N * 17 + s.K));
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> A(na), B(nb), C((size_t)s.M * ldc);
  for (auto& x : A) x = u(gen);
  for (auto& x : B) x = u(gen);
  for (auto& x : C) x = u(gen);
  std::vector<T> At(na), Bt(nb);
  std::vector<double> Ar(na), Br(nb), Ad(na), Bd(nb);  // rounded and original, widened
  for (size_t i = 0; i < na; ++i) At[i] = to_t(A[i]), Ar[i] = widen(At[i]), Ad[i] = A[i];
  for (size_t i = 0; i < nb; ++i) Bt[i] = to_t(B[i]), Br[i] = widen(Bt[i]), Bd[i] = B[i];
  std::vector<float> got = C;
  ref(s.ta, s.tb, s.M, s.N, s.K, s.alpha, At.data(), lda, Bt.data(), ldb, s.beta, got.data(), ldc);

  char what[160];
  std::snprintf(what, sizeof what, "%s %c%c M=%d N=%d K=%d alpha=%g beta=%g", name, s.ta ? 'T' : 'N',
                s.tb ? 'T' : 'N', s.M, s.N, s.K, s.alpha, s.beta);
  const double acc = (s.K + 2) * tccheck::kU;
  const tccheck::Exact on_rounded =
      tccheck::exact_gemm(s.ta, s.tb, s.M, s.N, s.K, s.alpha, Ar, lda, Br, ldb, s.beta, C, ldc);
  std::printf("%s\n", what);
  CHECK(tccheck::worst_ratio("vs exact on the rounded inputs", got.data(), ldc, on_rounded.c, on_rounded.s, s.M,
                             s.N, acc) <= 1.0);
  const tccheck::Exact on_fp32 =
      tccheck::exact_gemm(s.ta, s.tb, s.M, s.N, s.K, s.alpha, Ad, lda, Bd, ldb, s.beta, C, ldc);
  CHECK(tccheck::worst_ratio("vs exact on the fp32 inputs", got.data(), ldc, on_fp32.c, on_fp32.s, s.M, s.N,
                             2 * d + d * d + acc * (1 + d) * (1 + d)) <= 1.0);
}

const Shape kShapes[] = {
    {false, false, 1, 1, 1, 1.0f, 0.0f},    {false, true, 3, 313, 7, 1.0f, 0.0f},
    {true, false, 17, 5, 64, 0.5f, -2.0f},  {true, true, 33, 65, 129, 1.0f, 1.0f},
    {false, false, 7, 9, 576, -1.5f, 0.25f}, {true, false, 1, 313, 3, 2.0f, 0.0f},
};

}  // namespace

TEST_CASE("gemm_tf32_ref: fp32 accumulation of tf32-rounded inputs, within the bound of double") {
  for (const Shape& s : kShapes)
    check_reference<float>("tf32", s, std::ldexp(1.0, -11), [](float x) { return x; },
                           [](float x) { return double(cpu::round_tf32(x)); }, cpu::gemm_tf32_ref);
}

TEST_CASE("gemm_bf16_ref: fp32 accumulation of bf16 inputs, within the bound of double") {
  for (const Shape& s : kShapes)
    check_reference<uint16_t>("bf16", s, std::ldexp(1.0, -8), cpu::bf16_from_float,
                              [](uint16_t b) { return double(cpu::bf16_to_float(b)); }, cpu::gemm_bf16_ref);
}

TEST_CASE("gemm_tf32_ref rounds its inputs: it differs from the fp32 sgemm_ref beyond fp32 rounding") {
  // K = 64 products of values in [-1, 1]: fp32 alone differs by ~1e-6, the
  // tf32 rounding of the inputs by ~1e-3.
  const int M = 8, N = 8, K = 64;
  std::mt19937 gen(7);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> A(M * K), B(K * N), c32(M * N), ctf(M * N);
  for (auto& x : A) x = u(gen);
  for (auto& x : B) x = u(gen);
  cpu::sgemm_ref(false, false, M, N, K, 1.0f, A.data(), K, B.data(), N, 0.0f, c32.data(), N);
  cpu::gemm_tf32_ref(false, false, M, N, K, 1.0f, A.data(), K, B.data(), N, 0.0f, ctf.data(), N);
  double worst = 0;
  for (int i = 0; i < M * N; ++i) worst = std::max(worst, std::fabs(double(c32[i]) - ctf[i]));
  std::printf("max |sgemm_ref - gemm_tf32_ref| = %.3g\n", worst);
  CHECK(worst > 1e-4);
}
