// fast_tanh.h — tanh in float without a libm call, for the fast CPU loops.
//
// WHY: std::tanh is a scalar libm call of about 9-15 ns a value here; the
// GAN's output layer applies it to every ab value of a colorized photo
// (2 x 512 x 512 of them: ~4.7 ms of a 90 ms forward on one core). This
// version is a few dozen float operations with no branch and no call, so a
// loop over it vectorises (4 or 16 lanes).
//
// HOW, with a = |x| (the sign is put back at the end, tanh being odd):
//   tanh(a) = E / (E + 2), E = e^(2a) - 1, which has no cancellation for
//   any a >= 0 (1 - 2 / (e^(2a) + 1) loses bits below a ~ 0.5). With y = 2a
//   clamped to 20 (tanh is 1 in float from ~9), n = round(y / ln 2) and
//   r = y - n ln 2 in [-0.35, 0.35] (ln 2 in two parts, so r is exact):
//   E = 2^n (e^r - 1) + (2^n - 1), e^r - 1 by its Taylor series to r^7
//   (error < 6e-9 of it), 2^n - 1 exact.
// Worst error against double-precision tanh: a few float ulps (tests/
// test_fast_tanh.cpp sweeps every float exponent and prints it). NaN stays
// NaN, +-inf gives +-1, -0 gives -0.
#pragma once

#include <cstdint>
#include <cstring>

#include "kernels/common/select.h"

namespace tinct::cpu::detail {

inline float fast_tanh(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  const uint32_t sign = bits & 0x80000000u;
  const uint32_t abs_bits = bits & 0x7fffffffu;
  float a;
  std::memcpy(&a, &abs_bits, sizeof a);

  // E = e^y - 1 with y = min(2a, 20): n = round(y / ln 2) by the 1.5 * 2^23
  // trick (exact for 0 <= y / ln 2 < 2^22; no rounding call), r = y - n ln 2,
  // E = 2^n (e^r - 1) + (2^n - 1), both parts without cancellation.
  const float y = detail::select(2.0f * a < 20.0f, 2.0f * a, 20.0f);
  const float shifter = 12582912.0f;  // 1.5 * 2^23
  const float n = (y * 1.44269504f + shifter) - shifter;
  const float r = (y - n * 0.693145752f) - n * 1.42860677e-6f;  // ln 2 = 0.693145752 + 1.42860677e-6
  const float em1 =
      r + r * r * (0.5f + r * (0.166666667f + r * (0.0416666667f + r * (0.00833333333f + r * (0.00138888889f + r * 0.000198412698f)))));
  const int32_t ni = (int32_t)n;
  const uint32_t scale_bits = (uint32_t)(ni + 127) << 23;
  float scale;
  std::memcpy(&scale, &scale_bits, sizeof scale);
  const float E = scale * em1 + (scale - 1.0f);
  const float t = E / (E + 2.0f);  // tanh(a) = (e^2a - 1) / (e^2a + 1)
  uint32_t tb;
  std::memcpy(&tb, &t, sizeof tb);
  tb |= sign;
  float out;
  std::memcpy(&out, &tb, sizeof out);
  return detail::select(x != x, x, out);  // NaN in, NaN out
}

}  // namespace tinct::cpu::detail
