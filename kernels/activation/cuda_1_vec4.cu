// activation/cuda_1_vec4.cu — pointwise activations, forward and backward.
//
// What it computes (kernels/activation/ref.cpp):
//   Relu       y = x < 0 ? 0 : x            dx = x > 0 ? dy : 0
//   LeakyRelu  y = x < 0 ? slope*x : x      dx = x > 0 ? dy : slope*dy
//   Tanh       y = tanh(x)                  dx = dy * (1 - y^2)
//   Sigmoid    y = 1 / (1 + exp(-x))        dx = dy * y * (1 - y)
// (the kink derivative from the left, NaN propagates in forward, as the
// reference). Sigmoid uses exp(x) / (1 + exp(x)) for x < 0, as the reference.
// Variants: one kernel per activation (a template over the enum: no switch
// per element), float4-vectorised when aligned (map.cuh). dx overwritten.
// Variants: this file is variant 1 of the activation family, the only one so far
// (kernels/README.md: variant 0 is the vendor library, in benchmarks).
// Benchmark: tinct-kbench act_fwd 1 --n 16777216 --act tanh (act_bwd likewise).
// Napkin math: memory-bound: 8 bytes per element forward, 12-16 backward;
// compare with the device copy bandwidth.
#include <cuda_runtime.h>

#include "kernels/cuda.h"
#include "kernels/common/map.cuh"

namespace tinct::cuda {
namespace {

__device__ __forceinline__ float sigmoidf(float x) {
  if (x >= 0.0f) return 1.0f / (1.0f + expf(-x));
  const float e = expf(x);
  return e / (1.0f + e);
}

template <Act A>
struct Fwd {
  float slope;
  const float* x;
  float* y;
  bool vec;
  template <int V>
  __device__ __forceinline__ void run(size_t i) const {
    float v[V];
    detail::ld<V>(x, i, v);
#pragma unroll
    for (int e = 0; e < V; ++e) {
      if constexpr (A == Act::Relu) v[e] = v[e] < 0.0f ? 0.0f : v[e];
      if constexpr (A == Act::LeakyRelu) v[e] = v[e] < 0.0f ? slope * v[e] : v[e];
      if constexpr (A == Act::Tanh) v[e] = tanhf(v[e]);
      if constexpr (A == Act::Sigmoid) v[e] = sigmoidf(v[e]);
    }
    detail::st<V>(y, i, v);
  }
};

template <Act A>
struct Bwd {
  float slope;
  const float* x;  // Relu, LeakyRelu
  const float* y;  // Tanh, Sigmoid
  const float* dy;
  float* dx;
  bool vec;
  template <int V>
  __device__ __forceinline__ void run(size_t i) const {
    float g[V], v[V];
    detail::ld<V>(dy, i, g);
    if constexpr (A == Act::Relu || A == Act::LeakyRelu)
      detail::ld<V>(x, i, v);
    else
      detail::ld<V>(y, i, v);
#pragma unroll
    for (int e = 0; e < V; ++e) {
      if constexpr (A == Act::Relu) g[e] = v[e] > 0.0f ? g[e] : 0.0f;
      if constexpr (A == Act::LeakyRelu) g[e] = v[e] > 0.0f ? g[e] : slope * g[e];
      if constexpr (A == Act::Tanh) g[e] = g[e] * (1.0f - v[e] * v[e]);
      if constexpr (A == Act::Sigmoid) g[e] = g[e] * v[e] * (1.0f - v[e]);
    }
    detail::st<V>(dx, i, g);
  }
};

template <Act A>
void fwd(float slope, size_t n, const float* x, float* y, cudaStream_t stream) {
  detail::launch_map(n, Fwd<A>{slope, x, y, detail::all_aligned({x, y})}, stream);
}

template <Act A>
void bwd(float slope, size_t n, const float* x, const float* y, const float* dy, float* dx,
         cudaStream_t stream) {
  const bool uses_x = A == Act::Relu || A == Act::LeakyRelu;
  const bool vec = detail::all_aligned({uses_x ? x : y, dy, dx});
  detail::launch_map(n, Bwd<A>{slope, x, y, dy, dx, vec}, stream);
}

}  // namespace

void act_fwd(Act a, float slope, size_t n, const float* x, float* y, cudaStream_t stream) {
  switch (a) {
    case Act::Relu: fwd<Act::Relu>(slope, n, x, y, stream); break;
    case Act::LeakyRelu: fwd<Act::LeakyRelu>(slope, n, x, y, stream); break;
    case Act::Tanh: fwd<Act::Tanh>(slope, n, x, y, stream); break;
    case Act::Sigmoid: fwd<Act::Sigmoid>(slope, n, x, y, stream); break;
  }
}

void act_bwd(Act a, float slope, size_t n, const float* x, const float* y, const float* dy, float* dx,
             cudaStream_t stream) {
  switch (a) {
    case Act::Relu: bwd<Act::Relu>(slope, n, x, y, dy, dx, stream); break;
    case Act::LeakyRelu: bwd<Act::LeakyRelu>(slope, n, x, y, dy, dx, stream); break;
    case Act::Tanh: bwd<Act::Tanh>(slope, n, x, y, dy, dx, stream); break;
    case Act::Sigmoid: bwd<Act::Sigmoid>(slope, n, x, y, dy, dx, stream); break;
  }
}

}  // namespace tinct::cuda
