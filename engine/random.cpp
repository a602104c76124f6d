// random.cpp — xoshiro256** and the tensor fillers built on it.
#include "engine/random.h"

#include <cmath>

namespace tinct {

static uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

Rng::Rng(uint64_t seed) {
  for (auto& s : s_) s = splitmix64(seed);
}

uint64_t Rng::next_u64() {
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

// 24 random bits: every float in [0,1) on a uniform grid of 2^-24.
float Rng::uniform() { return float(next_u64() >> 40) * (1.0f / 16777216.0f); }
float Rng::uniform(float lo, float hi) { return lo + (hi - lo) * uniform(); }

float Rng::normal() {
  float u1 = uniform();
  if (u1 < 1e-12f) u1 = 1e-12f;
  const float u2 = uniform();
  return std::sqrt(-2.f * std::log(u1)) * std::cos(6.2831853071795864f * u2);
}

uint32_t Rng::below(uint32_t n) { return uint32_t((next_u64() >> 32) * uint64_t(n) >> 32); }

void Rng::get_state(uint64_t out[4]) const {
  for (int i = 0; i < 4; ++i) out[i] = s_[i];
}
void Rng::set_state(const uint64_t in[4]) {
  for (int i = 0; i < 4; ++i) s_[i] = in[i];
}

Tensor rand_uniform(const Shape& shape, Rng& rng, float lo, float hi) {
  Tensor t = Tensor::empty(shape);
  float* p = t.data();
  for (int64_t i = 0, n = t.numel(); i < n; ++i) p[i] = rng.uniform(lo, hi);
  return t;
}

Tensor rand_normal(const Shape& shape, Rng& rng, float mean, float std) {
  Tensor t = Tensor::empty(shape);
  float* p = t.data();
  for (int64_t i = 0, n = t.numel(); i < n; ++i) p[i] = mean + std * rng.normal();
  return t;
}

}  // namespace tinct
