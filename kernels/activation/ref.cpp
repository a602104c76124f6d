// activation/ref.cpp — pointwise activations, the reference (the specification:
// plain single-threaded loops; activation/cpu.cpp threads them).
//
//   Relu:       y = max(x, 0)                 dx = dy * (x > 0 ? 1 : 0)
//   LeakyRelu:  y = x > 0 ? x : slope * x     dx = dy * (x > 0 ? 1 : slope)
//   Tanh:       y = tanh(x)                   dx = dy * (1 - y^2)
//   Sigmoid:    y = 1 / (1 + exp(-x))         dx = dy * y * (1 - y)
// The derivative at the kink x = 0 is taken from the left (0 for Relu, slope
// for LeakyRelu), as PyTorch does. Tanh and Sigmoid differentiate through the
// saved output y, so backward need not recompute the transcendental.
// Forward is written "x < 0 ? ... : x" so that a NaN input stays NaN (as in
// PyTorch) instead of being silently turned into 0 and hiding a divergence.
// Every element is independent. dx is overwritten.
#include <cmath>

#include "kernels/kernels.h"

namespace tinct::cpu {

namespace {

// exp(-x) overflows to inf for x < -88 (in float); 1/(1+inf) = 0 is still
// right, but for x < 0 the form exp(x) / (1 + exp(x)) never forms a huge
// number at all, and keeps the relative precision of tiny outputs.
inline float sigmoid(float x) {
  if (x >= 0.0f) return 1.0f / (1.0f + std::exp(-x));
  const float e = std::exp(x);
  return e / (1.0f + e);
}

}  // namespace

void act_fwd_ref(Act a, float slope, size_t n, const float* x, float* y) {
  switch (a) {
    case Act::Relu:
      for (size_t i = 0; i < n; ++i) y[i] = x[i] < 0.0f ? 0.0f : x[i];
      break;
    case Act::LeakyRelu:
      for (size_t i = 0; i < n; ++i) y[i] = x[i] < 0.0f ? slope * x[i] : x[i];
      break;
    case Act::Tanh:
      for (size_t i = 0; i < n; ++i) y[i] = std::tanh(x[i]);
      break;
    case Act::Sigmoid:
      for (size_t i = 0; i < n; ++i) y[i] = sigmoid(x[i]);
      break;
  }
}

void act_bwd_ref(Act a, float slope, size_t n, const float* x, const float* y, const float* dy,
                 float* dx) {
  switch (a) {
    // dy is read before the choice, so the loop is a compare and a blend the
    // compiler vectorises (a load under the condition stays scalar).
    case Act::Relu:
      for (size_t i = 0; i < n; ++i) {
        const float g = dy[i];
        dx[i] = x[i] > 0.0f ? g : 0.0f;
      }
      break;
    case Act::LeakyRelu:
      for (size_t i = 0; i < n; ++i) {
        const float g = dy[i];
        dx[i] = x[i] > 0.0f ? g : slope * g;
      }
      break;
    case Act::Tanh:
      for (size_t i = 0; i < n; ++i) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
      break;
    case Act::Sigmoid:
      for (size_t i = 0; i < n; ++i) dx[i] = dy[i] * y[i] * (1.0f - y[i]);
      break;
  }
}

}  // namespace tinct::cpu
