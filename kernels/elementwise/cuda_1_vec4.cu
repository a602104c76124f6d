// elementwise/cuda_1_vec4.cu — elementwise arithmetic.
//
// What it computes (kernels/elementwise/ref.cpp):
//   add y = a + b;  mul y = a * b;  scale y = s * x;  axpy y += a * x;  fill y = v
//   scale_by_scalar y = alpha * s[0] * x (x null: y = alpha * s[0]), s a DEVICE
//   scalar: how the engine applies the upstream gradient of a scalar loss
//   without copying it to the host (no synchronisation in a training step).
// y may alias an input. Variants: one each, float4-vectorised when all
// pointers are 16-byte aligned, grid-stride (map.cuh).
// axpy is written a * x + y with fmaf, i.e. one rounding where the reference
// (compiled without contraction) may round twice: within 1 ulp of it.
// Variants: this file is variant 1 of the elementwise family, the only one so far
// (kernels/README.md: variant 0 is the vendor library, in benchmarks).
// Benchmark: tinct-kbench add 1 --n 16777216 (mul, scale, axpy, fill, scale_by_scalar likewise).
// Napkin math: memory-bound; add moves 12 bytes per element.
#include <cuda_runtime.h>

#include "kernels/cuda.h"
#include "kernels/common/map.cuh"

namespace tinct::cuda {
namespace {

struct AddF {
  const float* a;
  const float* b;
  float* y;
  bool vec;
  template <int V>
  __device__ __forceinline__ void run(size_t i) const {
    float u[V], v[V];
    detail::ld<V>(a, i, u);
    detail::ld<V>(b, i, v);
#pragma unroll
    for (int e = 0; e < V; ++e) u[e] = u[e] + v[e];
    detail::st<V>(y, i, u);
  }
};

struct MulF {
  const float* a;
  const float* b;
  float* y;
  bool vec;
  template <int V>
  __device__ __forceinline__ void run(size_t i) const {
    float u[V], v[V];
    detail::ld<V>(a, i, u);
    detail::ld<V>(b, i, v);
#pragma unroll
    for (int e = 0; e < V; ++e) u[e] = u[e] * v[e];
    detail::st<V>(y, i, u);
  }
};

struct ScaleF {
  float s;
  const float* x;
  float* y;
  bool vec;
  template <int V>
  __device__ __forceinline__ void run(size_t i) const {
    float u[V];
    detail::ld<V>(x, i, u);
#pragma unroll
    for (int e = 0; e < V; ++e) u[e] = s * u[e];
    detail::st<V>(y, i, u);
  }
};

struct AxpyF {
  float a;
  const float* x;
  float* y;
  bool vec;
  template <int V>
  __device__ __forceinline__ void run(size_t i) const {
    float u[V], v[V];
    detail::ld<V>(x, i, u);
    detail::ld<V>(y, i, v);
#pragma unroll
    for (int e = 0; e < V; ++e) v[e] = fmaf(a, u[e], v[e]);
    detail::st<V>(y, i, v);
  }
};

struct FillF {
  float val;
  float* y;
  bool vec;
  template <int V>
  __device__ __forceinline__ void run(size_t i) const {
    float u[V];
#pragma unroll
    for (int e = 0; e < V; ++e) u[e] = val;
    detail::st<V>(y, i, u);
  }
};

struct ScaleByScalarF {
  const float* s;
  float alpha;
  const float* x;  // null: broadcast alpha * s[0]
  float* y;
  bool vec;
  template <int V>
  __device__ __forceinline__ void run(size_t i) const {
    const float f = alpha * __ldg(s);
    float u[V];
    if (x) {
      detail::ld<V>(x, i, u);
    } else {
#pragma unroll
      for (int e = 0; e < V; ++e) u[e] = 1.f;
    }
#pragma unroll
    for (int e = 0; e < V; ++e) u[e] = f * u[e];
    detail::st<V>(y, i, u);
  }
};

}  // namespace

void add(size_t n, const float* a, const float* b, float* y, cudaStream_t stream) {
  detail::launch_map(n, AddF{a, b, y, detail::all_aligned({a, b, y})}, stream);
}
void mul(size_t n, const float* a, const float* b, float* y, cudaStream_t stream) {
  detail::launch_map(n, MulF{a, b, y, detail::all_aligned({a, b, y})}, stream);
}
void scale(size_t n, float s, const float* x, float* y, cudaStream_t stream) {
  detail::launch_map(n, ScaleF{s, x, y, detail::all_aligned({x, y})}, stream);
}
void axpy(size_t n, float a, const float* x, float* y, cudaStream_t stream) {
  detail::launch_map(n, AxpyF{a, x, y, detail::all_aligned({x, y})}, stream);
}
void fill(size_t n, float v, float* y, cudaStream_t stream) {
  detail::launch_map(n, FillF{v, y, detail::all_aligned({y})}, stream);
}
void scale_by_scalar(size_t n, const float* s, float alpha, const float* x, float* y, cudaStream_t stream) {
  const bool vec = x ? detail::all_aligned({x, y}) : detail::all_aligned({y});
  detail::launch_map(n, ScaleByScalarF{s, alpha, x, y, vec}, stream);
}

}  // namespace tinct::cuda
