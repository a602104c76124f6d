// random.h — a small deterministic generator (SplitMix64 seeding a xoshiro256**)
// so that weight init, tests and data order are reproducible across machines.
#pragma once

#include <cstdint>

#include "engine/tensor.h"

namespace tinct {

class Rng {
 public:
  explicit Rng(uint64_t seed = 0x5eed);
  uint64_t next_u64();
  float uniform();                 // [0, 1)
  float uniform(float lo, float hi);
  float normal();                  // standard normal (Box-Muller)
  uint32_t below(uint32_t n);      // [0, n)
  // The whole state, for checkpoints (resume must continue the same stream).
  void get_state(uint64_t out[4]) const;
  void set_state(const uint64_t in[4]);

 private:
  uint64_t s_[4];
};

Tensor rand_uniform(const Shape& shape, Rng& rng, float lo = 0.f, float hi = 1.f);
Tensor rand_normal(const Shape& shape, Rng& rng, float mean = 0.f, float std = 1.f);

}  // namespace tinct
