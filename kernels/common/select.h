// select.h — a branch-free select for the fast CPU elementwise loops.
//
// `c ? a : b` on floats, where a or b is a product, compiles to a branch
// (with the default -ftrapping-math the compiler may not form the product for
// every element, and it will not if-convert the select): on activations of
// random sign the branch mispredicts about half the time and the loop runs
// ~10x below memory speed. select() forms both values and picks one with an
// integer mask, which the compiler vectorises (a compare and an and/or). The
// result is the chosen value bit for bit, NaNs and signed zeros included.
#pragma once

#include <cstdint>
#include <cstring>

namespace tinct::cpu::detail {

inline float select(bool c, float a, float b) {
  uint32_t ia, ib;
  std::memcpy(&ia, &a, sizeof ia);
  std::memcpy(&ib, &b, sizeof ib);
  const uint32_t m = 0u - uint32_t(c);
  const uint32_t r = (ia & m) | (ib & ~m);
  float out;
  std::memcpy(&out, &r, sizeof out);
  return out;
}

inline double select(bool c, double a, double b) {
  uint64_t ia, ib;
  std::memcpy(&ia, &a, sizeof ia);
  std::memcpy(&ib, &b, sizeof ib);
  const uint64_t m = 0u - uint64_t(c);
  const uint64_t r = (ia & m) | (ib & ~m);
  double out;
  std::memcpy(&out, &r, sizeof out);
  return out;
}

}  // namespace tinct::cpu::detail
