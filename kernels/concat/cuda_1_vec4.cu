// concat/cuda_1_vec4.cu — channel concatenation and its adjoint.
//
// What it computes (kernels/concat/ref.cpp):
//   channel_copy:      dst[n, c0 + c, i]  = src[n, c, i]       c < Csrc
//   channel_slice_add: dst[n, c, i]      += src[n, c0 + c, i]  c < Cdst
// Variants: one each; grid-stride over float4 units of the smaller tensor
// (when HW % 4 == 0 and both pointers are aligned, a unit never straddles a
// plane, and whole planes are contiguous in both tensors: each warp moves
// 512 contiguous bytes). The plane of a unit comes from FastDivs.
// Variants: this file is variant 1 of the concat family, the only one so far
// (kernels/README.md: variant 0 is the vendor library, in benchmarks).
// Benchmark: tinct-kbench channel_copy 1 --n 16 --c 64 --h 64 --w 64 (channel_slice_add likewise).
// Napkin math: memory-bound copy; compare GB/s with cudaMemcpy device to device.
#include <cuda_runtime.h>

#include <stdexcept>

#include "kernels/cuda.h"
#include "kernels/common/common.cuh"

namespace tinct::cuda {
namespace {

using detail::FastDiv;

// Walks the units of a tensor with C_walk channels; the other tensor has
// C_other channels and the walked channel c sits at c + c0 in it.
// kAdd == false: other[.., c0 + c, ..] = walk   (copy, walk = src)
// kAdd == true:  walk += other[.., c0 + c, ..]  (slice add, walk = dst)
template <int V, bool kAdd>
__global__ void channel_kernel(long long units, int upp, int C_walk, int C_other, int c0,
                               FastDiv div_upp, FastDiv div_C, const float* __restrict__ src,
                               float* __restrict__ dst) {
  for (long long u = blockIdx.x * (long long)blockDim.x + threadIdx.x; u < units;
       u += (long long)gridDim.x * blockDim.x) {
    const int plane = div_upp.div(int(u));
    const int i = int(u) - plane * upp;
    const int n = div_C.div(plane);
    const int c = plane - n * C_walk;
    const size_t other = (size_t(n) * C_other + c0 + c) * upp + i;
    if constexpr (!kAdd) {
      if constexpr (V == 4)
        reinterpret_cast<float4*>(dst)[other] = __ldg(reinterpret_cast<const float4*>(src) + u);
      else
        dst[other] = __ldg(src + u);
    } else {
      if constexpr (V == 4) {
        float4 d = reinterpret_cast<float4*>(dst)[u];
        const float4 s = __ldg(reinterpret_cast<const float4*>(src) + other);
        d.x += s.x, d.y += s.y, d.z += s.z, d.w += s.w;
        reinterpret_cast<float4*>(dst)[u] = d;
      } else {
        dst[u] += __ldg(src + other);
      }
    }
  }
}

template <bool kAdd>
void launch(int N, int HW, int C_walk, int C_other, int c0, const float* src, float* dst,
            cudaStream_t stream) {
  if (N <= 0 || HW <= 0 || C_walk <= 0) return;
  if (c0 < 0 || c0 + C_walk > C_other)
    throw std::invalid_argument("channel_copy / channel_slice_add: channel range out of bounds");
  const long long total = 1LL * N * C_walk * HW;
  if (1LL * N * C_other * HW > 0x7fffffffLL)
    throw std::invalid_argument("channel_copy / channel_slice_add: tensor has >= 2^31 elements");
  const FastDiv div_C(C_walk);
  if (HW % 4 == 0 && detail::aligned16(src) && detail::aligned16(dst)) {
    const long long units = total / 4;
    channel_kernel<4, kAdd><<<detail::grid_for(units), detail::kBlock, 0, stream>>>(
        units, HW / 4, C_walk, C_other, c0, FastDiv(HW / 4), div_C, src, dst);
  } else {
    channel_kernel<1, kAdd><<<detail::grid_for(total), detail::kBlock, 0, stream>>>(
        total, HW, C_walk, C_other, c0, FastDiv(HW), div_C, src, dst);
  }
  TINCT_CUDA_LAUNCH_CHECK();
}

}  // namespace

void channel_copy(int N, int HW, int Csrc, const float* src, int Cdst, int c0, float* dst,
                  cudaStream_t stream) {
  launch<false>(N, HW, Csrc, Cdst, c0, src, dst, stream);
}

void channel_slice_add(int N, int HW, int Csrc, const float* src, int c0, int Cdst, float* dst,
                       cudaStream_t stream) {
  launch<true>(N, HW, Cdst, Csrc, c0, src, dst, stream);
}

}  // namespace tinct::cuda
