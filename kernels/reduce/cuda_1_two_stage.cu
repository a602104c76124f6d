// reduce/cuda_1_two_stage.cu — full reduction: *out = sum_i x[i], in double.
//
// What it computes (kernels/reduce/ref.cpp): the sum of n floats,
// accumulated in double (the value to double rounding; a float accumulator
// loses small terms once the sum is 2^24 times larger).
// Variant: two stages, both deterministic (the grid and every tree depend on
// n only): (1) reduce_blocks(n) blocks, each thread sums its float4 units
// (grid-stride) in double, then a fixed block tree writes one partial per
// block; (2) finish_sum: one block sums the <= 1024 partials in a fixed
// order and writes the device scalar. The result is the same on every run
// and every GPU (it differs from the serial reference in the last bits of
// the double only).
// Variants: this file is variant 1 of the reduce family, the only one so far
// (kernels/README.md: variant 0 is the vendor library, in benchmarks).
// Benchmark: tinct-kbench sum 1 --n 16777216.
// Napkin math: memory-bound, 4 bytes per element: ~3 TB/s on an H100 SXM.
// Also store_scalar: *dst = float(*src * scale), one thread, so a device
// double (what sums and losses write) becomes a float tensor element without
// a trip to the host.
#include <cuda_runtime.h>

#include "kernels/cuda.h"
#include "kernels/common/common.cuh"
#include "kernels/common/map.cuh"

namespace tinct::cuda {
namespace detail {
namespace {

template <bool kVec>
__global__ void __launch_bounds__(kBlock)
    sum_stage1_kernel(size_t n, const float* __restrict__ x, double* __restrict__ partial) {
  const size_t stride = size_t(gridDim.x) * kBlock;
  const size_t first = blockIdx.x * size_t(kBlock) + threadIdx.x;
  double acc = 0.0;
  size_t done = 0;
  if constexpr (kVec) {
    const size_t n4 = n / 4;
    const float4* x4 = reinterpret_cast<const float4*>(x);
    for (size_t u = first; u < n4; u += stride) {
      const float4 v = __ldg(x4 + u);
      acc += double(v.x) + double(v.y) + double(v.z) + double(v.w);
    }
    done = n4 * 4;
  }
  for (size_t i = done + first; i < n; i += stride) acc += double(__ldg(x + i));
  const double s = block_sum<kBlock>(acc);
  if (threadIdx.x == 0) partial[blockIdx.x] = s;
}

__global__ void __launch_bounds__(kBlock)
    finish_sum_kernel(const double* __restrict__ partial, int count, double divisor,
                      double* __restrict__ out) {
  double acc = 0.0;
  for (int i = threadIdx.x; i < count; i += kBlock) acc += partial[i];
  const double s = block_sum<kBlock>(acc);
  if (threadIdx.x == 0) *out = s / divisor;
}

__global__ void store_scalar_kernel(const double* __restrict__ src, double scale, float* __restrict__ dst) {
  *dst = float(*src * scale);
}

}  // namespace

void finish_sum(const double* partial, int count, double divisor, double* out, cudaStream_t stream) {
  finish_sum_kernel<<<1, kBlock, 0, stream>>>(partial, count, divisor, out);
  TINCT_CUDA_LAUNCH_CHECK();
}

}  // namespace detail

void sum(size_t n, const float* x, double* out, cudaStream_t stream) {
  if (n == 0) {
    TINCT_CUDA_CHECK(cudaMemsetAsync(out, 0, sizeof(double), stream));
    return;
  }
  const int blocks = detail::reduce_blocks(n, 16);
  detail::Scratch scratch(sizeof(double) * blocks, stream);
  double* partial = scratch.as<double>();
  if (detail::aligned16(x))
    detail::sum_stage1_kernel<true><<<blocks, detail::kBlock, 0, stream>>>(n, x, partial);
  else
    detail::sum_stage1_kernel<false><<<blocks, detail::kBlock, 0, stream>>>(n, x, partial);
  TINCT_CUDA_LAUNCH_CHECK();
  detail::finish_sum(partial, blocks, 1.0, out, stream);
}

void store_scalar(const double* src, double scale, float* dst, cudaStream_t stream) {
  detail::store_scalar_kernel<<<1, 1, 0, stream>>>(src, scale, dst);
  TINCT_CUDA_LAUNCH_CHECK();
}

}  // namespace tinct::cuda
