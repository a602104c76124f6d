// channel_reduce.cuh — per-channel sums over an NCHW tensor (bias gradient,
// batch-norm statistics and backward): partial[c][g] = sum over the g-th
// slice of channel c of op(address), then a fixed-order pass over g.
//
// Channel c is N planes of HW contiguous floats, N*HW values in all. They are
// cut into G contiguous slices (G from the sizes only), one block per
// (slice, channel): blockIdx.x = slice, blockIdx.y = channel. A block reads
// its slice in units of V floats (V = 4 when HW % 4 == 0 and the pointers are
// 16-byte aligned: one float4 per thread per step, coalesced), sums in double
// per thread, then a fixed block tree. No atomics: the result is identical on
// every run and on every GPU.
//
// HW == 1 is the channels-last case: an NHWC tensor [N][H][W][C] is, in
// memory, the NCHW tensor [N*H*W][C][1][1], so every per-channel kernel
// serves both layouts when called with (N*H*W, C, 1). A channel's values are
// then C floats apart, so instead of one block per channel walking them, a
// block takes 32 channels side by side (one warp reads 32 consecutive floats
// of a row) and 8 row lanes, and its rows are again a fixed slice.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <stdexcept>

#include "kernels/common/common.cuh"

namespace tinct::cuda::detail {

// Op: __device__ double2 operator()(int c, size_t addr, float4 / float) — called
// with the flat address of the unit (its first float) in the NCHW tensor.
template <int V, class Op>
__global__ void __launch_bounds__(kBlock)
    channel_reduce_kernel(int N, int C, int HW, int G, FastDiv div_units_per_plane, Op op,
                          double2* __restrict__ partial) {
  const int c = blockIdx.y, g = blockIdx.x;
  const int upp = HW / V;                      // units per plane
  const long long units = 1LL * N * upp;       // units in channel c
  const long long begin = units * g / G, end = units * (g + 1) / G;
  double2 acc = make_double2(0.0, 0.0);
  for (long long u = begin + threadIdx.x; u < end; u += kBlock) {
    const int n = div_units_per_plane.div(int(u));  // u < N*HW < 2^31 (checked on the host)
    const int i = int(u) - n * upp;
    const size_t addr = (size_t(n) * C + c) * HW + size_t(i) * V;
    const double2 v = op.template apply<V>(c, addr);
    acc.x += v.x;
    acc.y += v.y;
  }
  const double2 s = block_sum2<kBlock>(acc);
  if (threadIdx.x == 0) partial[size_t(c) * G + g] = s;
}

// HW == 1: rows [N][C]; block (32 channels, 8 row lanes), blockIdx.y the
// channel group, blockIdx.x the row slice. Each lane sums its rows of the
// slice in order, then lane 0 adds the 8 lanes in order.
constexpr int kRowLanes = kBlock / 32;
template <class Op>
__global__ void __launch_bounds__(kBlock)
    channel_reduce_rows_kernel(int N, int C, int G, Op op, double2* __restrict__ partial) {
  __shared__ double2 lanes[kRowLanes][32];
  const int tx = threadIdx.x % 32, ty = threadIdx.x / 32;
  const int c = blockIdx.y * 32 + tx, g = blockIdx.x;
  const long long begin = 1LL * N * g / G, end = 1LL * N * (g + 1) / G;
  double2 acc = make_double2(0.0, 0.0);
  if (c < C)
    for (long long r = begin + ty; r < end; r += kRowLanes) {
      const double2 v = op.template apply<1>(c, size_t(r) * C + c);
      acc.x += v.x;
      acc.y += v.y;
    }
  lanes[ty][tx] = acc;
  __syncthreads();
  if (ty == 0 && c < C) {
    double2 s = lanes[0][tx];
    for (int l = 1; l < kRowLanes; ++l) {
      s.x += lanes[l][tx].x;
      s.y += lanes[l][tx].y;
    }
    partial[size_t(c) * G + g] = s;
  }
}

// Slices per channel: about 4 blocks per SM of a large GPU in all (~512), at
// least 2048 floats per block, at most 1024 slices. From the sizes only.
inline int channel_slices(int N, int C, int HW) {
  if (HW == 1) {  // rows of C channels: blocks of 32 channels x a slice of >= 256 rows
    const long long groups = (C + 31) / 32;
    long long g = (512 + groups - 1) / groups;
    g = std::min<long long>(g, std::max<long long>(1, N / 256));
    return int(std::max<long long>(std::min<long long>(g, 1024), 1));
  }
  const long long per_channel = 1LL * N * HW;
  long long g = (512 + C - 1) / C;
  g = std::min<long long>(g, std::max<long long>(1, per_channel / 2048));
  g = std::min<long long>(g, 1024);
  return int(std::max<long long>(g, 1));
}

// Launches the reduction with V = 4 when allowed (every pointer the op reads
// must be 16-byte aligned: `vec_ok`).
template <class Op>
void launch_channel_reduce(int N, int C, int HW, int G, const Op& op, bool vec_ok,
                           double2* partial, cudaStream_t stream) {
  if (1LL * N * HW > 0x7fffffffLL || C > 65535)
    throw std::invalid_argument("per-channel reduction: N*HW >= 2^31 or C > 65535");
  if (HW == 1) {
    const dim3 rows_grid{unsigned(G), unsigned((C + 31) / 32), 1u};
    channel_reduce_rows_kernel<Op><<<rows_grid, kBlock, 0, stream>>>(N, C, G, op, partial);
    TINCT_CUDA_LAUNCH_CHECK();
    return;
  }
  const dim3 grid{unsigned(G), unsigned(C), 1u};
  if (vec_ok && HW % 4 == 0) {
    channel_reduce_kernel<4, Op><<<grid, kBlock, 0, stream>>>(N, C, HW, G, FastDiv(HW / 4), op,
                                                              partial);
  } else {
    channel_reduce_kernel<1, Op><<<grid, kBlock, 0, stream>>>(N, C, HW, G, FastDiv(HW), op,
                                                              partial);
  }
  TINCT_CUDA_LAUNCH_CHECK();
}

// Loads V floats at addr as a float array.
template <int V>
__device__ __forceinline__ void load_v(const float* __restrict__ p, size_t addr, float (&v)[V]) {
  if constexpr (V == 4) {
    const float4 t = __ldg(reinterpret_cast<const float4*>(p + addr));
    v[0] = t.x;
    v[1] = t.y;
    v[2] = t.z;
    v[3] = t.w;
  } else {
    v[0] = __ldg(p + addr);
  }
}

}  // namespace tinct::cuda::detail
