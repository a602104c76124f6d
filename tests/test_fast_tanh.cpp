// test_fast_tanh.cpp — kernels/common/fast_tanh.h against double-precision
// tanh: a sweep over the float bit patterns (every 61st, both signs: every
// exponent, the clamp at 2a = 20 and the n = 0 / n = 1 switch of its
// exponential included), the worst error in float ulps and where; the
// special values (+-0, +-inf, NaN, subnormals); and a deliberately wrong
// variant (the cancelling 1 - 2 / (e^2a + 1) form near a = 0.05) that the
// same bound rejects, so the bound can fail.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <initializer_list>

#include "doctest/doctest.h"
#include "kernels/common/fast_tanh.h"

using tinct::cpu::detail::fast_tanh;

namespace {

float from_bits(uint32_t b) {
  float f;
  std::memcpy(&f, &b, sizeof f);
  return f;
}

// |got - exact| in units of the float spacing at the exact value.
double ulps(float got, double exact) {
  const float e = (float)std::fabs(exact);
  const double spacing = (double)std::nextafter(e, INFINITY) - (double)e;
  return std::fabs((double)got - exact) / (spacing > 0 ? spacing : 1e-45);
}

constexpr double kMaxUlps = 4.0;  // measured: 2.4

}  // namespace

TEST_CASE("fast_tanh is within a few float ulps of tanh over the whole float range") {
  double worst = 0;
  float worst_at = 0;
  for (uint32_t b = 0; b < 0x7f800000u; b += 61)
    for (uint32_t sign : {0u, 0x80000000u}) {
      const float x = from_bits(b | sign);
      const double u = ulps(fast_tanh(x), std::tanh((double)x));
      if (u > worst) worst = u, worst_at = x;
    }
  std::printf("fast_tanh: worst %.2f ulps at x = %.9g (bound %.1f)\n", worst, worst_at, kMaxUlps);
  CHECK(worst <= kMaxUlps);
}

TEST_CASE("fast_tanh keeps tanh's special values") {
  CHECK(fast_tanh(0.0f) == 0.0f);
  CHECK_FALSE(std::signbit(fast_tanh(0.0f)));
  CHECK(std::signbit(fast_tanh(-0.0f)));
  CHECK(fast_tanh(INFINITY) == 1.0f);
  CHECK(fast_tanh(-INFINITY) == -1.0f);
  CHECK(std::isnan(fast_tanh(NAN)));
  CHECK(fast_tanh(1e-40f) == 1e-40f);  // subnormal: tanh(x) = x
  CHECK(fast_tanh(-1e-40f) == -1e-40f);
  CHECK(fast_tanh(30.0f) == 1.0f);
  CHECK(fast_tanh(-1e30f) == -1.0f);
}

TEST_CASE("the ulp bound rejects the cancelling form of tanh") {
  // 1 - 2 / (e^2a + 1) in float: right near 1, wrong by many ulps near 0.
  const float x = 0.05f;
  const float wrong = 1.0f - 2.0f / (std::exp(2.0f * x) + 1.0f);
  const double u = ulps(wrong, std::tanh((double)x));
  std::printf("cancelling form at x = 0.05: %.1f ulps off\n", u);
  CHECK(u > kMaxUlps);
}
