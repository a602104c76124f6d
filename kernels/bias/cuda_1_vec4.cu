// bias/cuda_1_vec4.cu — per-channel bias on NCHW tensors.
//
// What it computes (kernels/bias/ref.cpp):
//   bias_add:  y[n,c,i] += b[c]                 (in place)
//   bias_grad: db[c]    += sum_{n,i} dy[n,c,i]  (accumulates)
// Variants: one each. bias_add is a grid-stride loop over float4 units (when
// HW % 4 == 0 and y is 16-byte aligned a float4 never straddles two planes);
// the channel of a unit is found with two FastDivs, no integer division.
// bias_grad is the deterministic per-channel reduction of channel_reduce.cuh
// (double partial sums per (slice, channel), then the slices in order).
// The forward of a convolution adds its bias in the GEMM epilogue instead
// (conv/cuda_2_igemm.cu); these kernels serve the other uses and the conv's db.
// Variants: this file is variant 1 of the bias family, the only one so far
// (kernels/README.md: variant 0 is the vendor library, in benchmarks).
// Benchmark: tinct-kbench bias_add 1 --n 16 --c 64 --h 64 --w 64 (bias_grad likewise).
// Napkin math: memory-bound; compare GB/s (read + write) with the device copy
// bandwidth (about 3 TB/s on an H100 SXM, docs/anchors.md).
#include <cuda_runtime.h>

#include <stdexcept>

#include "kernels/cuda.h"
#include "kernels/common/channel_reduce.cuh"
#include "kernels/common/common.cuh"

namespace tinct::cuda {
namespace {

using detail::FastDiv;

template <int V>
__global__ void bias_add_kernel(long long units, int C, FastDiv div_upp, FastDiv div_C,
                                const float* __restrict__ b, float* __restrict__ y) {
  for (long long u = blockIdx.x * (long long)blockDim.x + threadIdx.x; u < units;
       u += (long long)gridDim.x * blockDim.x) {
    const int plane = div_upp.div(int(u));
    const int c = plane - div_C.div(plane) * C;
    const float bv = __ldg(b + c);
    if constexpr (V == 4) {
      float4 v = reinterpret_cast<float4*>(y)[u];
      v.x += bv;
      v.y += bv;
      v.z += bv;
      v.w += bv;
      reinterpret_cast<float4*>(y)[u] = v;
    } else {
      y[u] += bv;
    }
  }
}

struct SumOp {
  const float* __restrict__ x;
  template <int V>
  __device__ __forceinline__ double2 apply(int, size_t addr) const {
    float v[V];
    detail::load_v<V>(x, addr, v);
    double s = 0.0;
#pragma unroll
    for (int e = 0; e < V; ++e) s += v[e];
    return make_double2(s, 0.0);
  }
};

__global__ void bias_grad_finalize(int C, int G, const double2* __restrict__ partial,
                                   float* __restrict__ db) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= C) return;
  double s = 0.0;
  for (int g = 0; g < G; ++g) s += partial[size_t(c) * G + g].x;
  db[c] += float(s);
}

}  // namespace

void bias_add(int N, int C, int HW, const float* b, float* y, cudaStream_t stream) {
  if (N <= 0 || C <= 0 || HW <= 0) return;
  const long long total = 1LL * N * C * HW;
  if (total > 0x7fffffffLL) throw std::invalid_argument("bias_add: tensor has >= 2^31 elements");
  if (HW % 4 == 0 && detail::aligned16(y)) {
    const long long units = total / 4;
    bias_add_kernel<4><<<detail::grid_for(units), detail::kBlock, 0, stream>>>(
        units, C, FastDiv(HW / 4), FastDiv(C), b, y);
  } else {
    bias_add_kernel<1><<<detail::grid_for(total), detail::kBlock, 0, stream>>>(
        total, C, FastDiv(HW), FastDiv(C), b, y);
  }
  TINCT_CUDA_LAUNCH_CHECK();
}

void bias_grad(int N, int C, int HW, const float* dy, float* db, cudaStream_t stream) {
  if (C <= 0) return;
  if (N <= 0 || HW <= 0) return;  // empty sum: db unchanged
  const int G = detail::channel_slices(N, C, HW);
  detail::Scratch scratch(sizeof(double2) * size_t(G) * C, stream);
  double2* partial = scratch.as<double2>();
  detail::launch_channel_reduce(N, C, HW, G, SumOp{dy}, detail::aligned16(dy), partial, stream);
  bias_grad_finalize<<<(C + 127) / 128, 128, 0, stream>>>(C, G, partial, db);
  TINCT_CUDA_LAUNCH_CHECK();
}

}  // namespace tinct::cuda
