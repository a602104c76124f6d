// map.cuh — the grid-stride, float4-vectorised loop of the pointwise kernels
// (activation/, elementwise/, loss/, optim/ cuda_1_*.cu).
//
// A functor F provides `template <int V> __device__ void run(size_t i) const`
// that handles elements i .. i+V-1 (V = 4 or 1). When every pointer is 16-byte
// aligned (F::vec), the bulk runs as float4 units (one 16-byte load per input
// and one store per output per thread and step: full 128-byte lines per warp
// instruction), and the n % 4 tail element by element. Pointers may alias
// (y = a + y): each element is read before it is written by the same thread.
#pragma once

#include <cuda_runtime.h>

#include <initializer_list>

#include "kernels/common/common.cuh"

namespace tinct::cuda::detail {

template <class F>
__global__ void __launch_bounds__(kBlock) map_kernel(size_t n, F f) {
  const size_t stride = size_t(gridDim.x) * blockDim.x;
  const size_t first = blockIdx.x * size_t(blockDim.x) + threadIdx.x;
  size_t done = 0;
  if (f.vec) {
    const size_t n4 = n / 4;
    for (size_t u = first; u < n4; u += stride) f.template run<4>(u * 4);
    done = n4 * 4;
  }
  for (size_t i = done + first; i < n; i += stride) f.template run<1>(i);
}

template <class F>
void launch_map(size_t n, const F& f, cudaStream_t stream) {
  if (n == 0) return;
  const size_t units = f.vec ? (n + 3) / 4 : n;
  map_kernel<F><<<grid_for(units), kBlock, 0, stream>>>(n, f);
  TINCT_CUDA_LAUNCH_CHECK();
}

// V consecutive floats at p + i (16-byte aligned when V == 4).
template <int V>
__device__ __forceinline__ void ld(const float* p, size_t i, float (&v)[V]) {
  if constexpr (V == 4) {
    const float4 t = *reinterpret_cast<const float4*>(p + i);
    v[0] = t.x, v[1] = t.y, v[2] = t.z, v[3] = t.w;
  } else {
    v[0] = p[i];
  }
}
template <int V>
__device__ __forceinline__ void st(float* p, size_t i, const float (&v)[V]) {
  if constexpr (V == 4)
    *reinterpret_cast<float4*>(p + i) = make_float4(v[0], v[1], v[2], v[3]);
  else
    p[i] = v[0];
}

inline bool all_aligned(std::initializer_list<const void*> ptrs) {
  for (const void* p : ptrs)
    if (p && !aligned16(p)) return false;
  return true;
}

}  // namespace tinct::cuda::detail
