// common.cuh — helpers shared by the CUDA kernels of tinct (not a public API).
//
//   FastDiv        division by a run-time constant with a multiply-high and a
//                  shift (index math of the implicit-GEMM gathers, per-element
//                  channel lookups), instead of the ~20-instruction integer
//                  division sequence.
//   grid_for       grid size for grid-stride loops.
//   block_sum      deterministic block-wide sums (warp shuffles, then one warp).
//   Scratch        a temporary from the stream-ordered pool (cudaMallocAsync).
//   aligned16      whether float4 access is legal for a pointer.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "kernels/cuda.h"

namespace tinct::cuda::detail {

// q = n / d for 0 <= n < 2^31 and 1 <= d < 2^31 (Granlund & Montgomery,
// "Division by invariant integers using multiplication", 1994):
//   l = ceil(log2 d),  m = floor(2^32 (2^l - d) / d) + 1  (fits in 32 bits),
//   q = (umulhi(n, m) + n) >> l.
// The sum cannot overflow because n < 2^31 and umulhi(n, m) < n.
struct FastDiv {
  uint32_t d = 1, mul = 1, shift = 0;
  FastDiv() = default;
  explicit FastDiv(int divisor) {
    d = uint32_t(divisor < 1 ? 1 : divisor);
    shift = 0;
    while ((uint64_t(1) << shift) < d) ++shift;
    mul = uint32_t(((uint64_t(1) << 32) * ((uint64_t(1) << shift) - d)) / d + 1);
  }
  __host__ __device__ __forceinline__ int div(int n) const {
#ifdef __CUDA_ARCH__
    return int((__umulhi(uint32_t(n), mul) + uint32_t(n)) >> shift);
#else
    return int(((uint64_t(uint32_t(n)) * mul >> 32) + uint32_t(n)) >> shift);
#endif
  }
};

constexpr int kBlock = 256;

// Blocks for a grid-stride loop over `units` work items: enough to fill any
// GPU several times over, capped so that each thread does a few items.
inline unsigned grid_for(size_t units, int block = kBlock, size_t cap = 8192) {
  size_t g = (units + block - 1) / block;
  if (g < 1) g = 1;
  if (g > cap) g = cap;
  return unsigned(g);
}

inline bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; }

// Block-wide sum; the result is valid in thread 0. The tree (shuffles within a
// warp, then warp 0 over the per-warp sums) is fixed for a fixed blockDim, so
// the result is bit-reproducible. Every thread of the block must call it.
template <int BLOCK>
__device__ __forceinline__ double block_sum(double v) {
  static_assert(BLOCK % 32 == 0 && BLOCK <= 1024, "block size");
  __shared__ double warp_sums[BLOCK / 32];
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  if (lane == 0) warp_sums[warp] = v;
  __syncthreads();
  v = 0.0;
  if (warp == 0) {
    if (lane < BLOCK / 32) v = warp_sums[lane];
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
  }
  __syncthreads();  // warp_sums may be reused by a following call
  return v;
}

template <int BLOCK>
__device__ __forceinline__ double2 block_sum2(double2 v) {
  double2 r;
  r.x = block_sum<BLOCK>(v.x);
  r.y = block_sum<BLOCK>(v.y);
  return r;
}

// A temporary device buffer from the stream-ordered pool, released (back to
// the pool, not to the driver) when it goes out of scope. Work queued on
// `stream` before the release may still use it: cudaFreeAsync is ordered
// after it.
class Scratch {
 public:
  Scratch(size_t bytes, cudaStream_t stream);
  ~Scratch();
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  void* get() const { return ptr_; }
  template <class T>
  T* as(size_t byte_offset = 0) const {
    return reinterpret_cast<T*>(static_cast<char*>(ptr_) + byte_offset);
  }

 private:
  void* ptr_ = nullptr;
  cudaStream_t stream_;
};

// Rounds a byte count up to a multiple of 256 (sub-allocations in one Scratch).
inline size_t align256(size_t b) { return (b + 255) & ~size_t(255); }

// SM count of the current device (cached per device).
int sm_count();

}  // namespace tinct::cuda::detail

namespace tinct::cuda::detail {

// Partial sums of a two-stage reduction (reduce/cuda_1_two_stage.cu): *out = (sum_{i < count}
// partial[i]) / divisor, by one block in a fixed order (deterministic).
void finish_sum(const double* partial, int count, double divisor, double* out, cudaStream_t stream);

// Blocks of the first stage of a reduction over n items with `per_thread`
// items per thread: a function of n only, so the summation order (and thus
// the result) is the same on every GPU. At most kMaxPartials.
constexpr int kMaxPartials = 1024;
inline int reduce_blocks(size_t n, int per_thread) {
  const size_t per_block = size_t(kBlock) * per_thread;
  size_t b = (n + per_block - 1) / per_block;
  if (b < 1) b = 1;
  if (b > size_t(kMaxPartials)) b = kMaxPartials;
  return int(b);
}

}  // namespace tinct::cuda::detail
