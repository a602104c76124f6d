// conv/cuda_1_naive.cu — CUDA convolution variant 1: naive, one thread per
// output element, the loops of the reference in its order.
//
// What it computes (kernels/conv/ref.cpp is the specification):
//   y[n,k,p,q]   = b[k] + sum_{c,r,s} x[n,c,p*sh-ph+r*dh, q*sw-pw+s*dw] w[k,c,r,s]
//   dx[n,c,h,w]  = sum over the (k,p,q,r,s) that read (h,w) of dy[n,k,p,q] w[k,c,r,s]
//   dw[k,c,r,s] += sum_{n,p,q} dy[n,k,p,q] x[n,c,h(p,r),w(q,s)];  db[k] += sum dy
// Each thread reads every operand from global memory (no reuse in shared
// memory or registers): the baseline the tiled variants are measured
// against, and a second, independent implementation for the tests.
//
// Variants of the family (the numbers mean the same in tinct-kbench,
// bench_gpu_kernels and kernels/README.md): 0 cuDNN (benchmarks only),
// 1 naive (this file), 2 implicit GEMM (cuda_2_igemm.cu), 3 Winograd
// (cuda_3_winograd.cu); dispatch.cu picks 2 or 3 per shape.
// Benchmark: tinct-kbench conv2d_fwd 1 --n 8 --c 64 --h 64 --w 64 --k 64
// (likewise conv2d_bwd_data, conv2d_bwd_filter).
#include <cuda_runtime.h>

#include "kernels/common/common.cuh"
#include "kernels/conv/cuda_check.cuh"
#include "kernels/cuda.h"

namespace tinct::cuda {
namespace {

__global__ void naive_fwd_kernel(Conv2dParams p, const float* __restrict__ x,
                                 const float* __restrict__ w, const float* __restrict__ b,
                                 float* __restrict__ y) {
  const size_t total = size_t(p.N) * p.K * p.P * p.Q;
  for (size_t idx = blockIdx.x * size_t(blockDim.x) + threadIdx.x; idx < total;
       idx += size_t(gridDim.x) * blockDim.x) {
    const int oq = int(idx % p.Q);
    const int op = int((idx / p.Q) % p.P);
    const int k = int((idx / (size_t(p.Q) * p.P)) % p.K);
    const int n = int(idx / (size_t(p.Q) * p.P * p.K));
    float sum = 0.0f;
    for (int c = 0; c < p.C; ++c)
      for (int r = 0; r < p.R; ++r)
        for (int s = 0; s < p.S; ++s) {
          const int h = op * p.stride_h - p.pad_h + r * p.dil_h;
          const int ww = oq * p.stride_w - p.pad_w + s * p.dil_w;
          if (h < 0 || h >= p.H || ww < 0 || ww >= p.W) continue;
          sum += x[((size_t(n) * p.C + c) * p.H + h) * p.W + ww] *
                 w[((size_t(k) * p.C + c) * p.R + r) * p.S + s];
        }
    y[idx] = b ? sum + b[k] : sum;
  }
}

__global__ void naive_bwd_data_kernel(Conv2dParams p, const float* __restrict__ dy,
                                      const float* __restrict__ w, float* __restrict__ dx) {
  const size_t total = size_t(p.N) * p.C * p.H * p.W;
  for (size_t idx = blockIdx.x * size_t(blockDim.x) + threadIdx.x; idx < total;
       idx += size_t(gridDim.x) * blockDim.x) {
    const int iw = int(idx % p.W);
    const int ih = int((idx / p.W) % p.H);
    const int c = int((idx / (size_t(p.W) * p.H)) % p.C);
    const int n = int(idx / (size_t(p.W) * p.H * p.C));
    float sum = 0.0f;
    for (int k = 0; k < p.K; ++k)
      for (int r = 0; r < p.R; ++r) {
        const int th = ih + p.pad_h - r * p.dil_h;  // = op * stride_h
        if (th < 0 || th % p.stride_h != 0) continue;
        const int op = th / p.stride_h;
        if (op >= p.P) continue;
        for (int s = 0; s < p.S; ++s) {
          const int tw = iw + p.pad_w - s * p.dil_w;
          if (tw < 0 || tw % p.stride_w != 0) continue;
          const int oq = tw / p.stride_w;
          if (oq >= p.Q) continue;
          sum += dy[((size_t(n) * p.K + k) * p.P + op) * p.Q + oq] *
                 w[((size_t(k) * p.C + c) * p.R + r) * p.S + s];
        }
      }
    dx[idx] = sum;
  }
}

__global__ void naive_bwd_filter_kernel(Conv2dParams p, const float* __restrict__ x,
                                        const float* __restrict__ dy, float* __restrict__ dw) {
  const size_t total = size_t(p.K) * p.C * p.R * p.S;
  for (size_t idx = blockIdx.x * size_t(blockDim.x) + threadIdx.x; idx < total;
       idx += size_t(gridDim.x) * blockDim.x) {
    const int s = int(idx % p.S);
    const int r = int((idx / p.S) % p.R);
    const int c = int((idx / (size_t(p.S) * p.R)) % p.C);
    const int k = int(idx / (size_t(p.S) * p.R * p.C));
    float sum = 0.0f;
    for (int n = 0; n < p.N; ++n)
      for (int op = 0; op < p.P; ++op)
        for (int oq = 0; oq < p.Q; ++oq) {
          const int h = op * p.stride_h - p.pad_h + r * p.dil_h;
          const int ww = oq * p.stride_w - p.pad_w + s * p.dil_w;
          if (h < 0 || h >= p.H || ww < 0 || ww >= p.W) continue;
          sum += dy[((size_t(n) * p.K + k) * p.P + op) * p.Q + oq] *
                 x[((size_t(n) * p.C + c) * p.H + h) * p.W + ww];
        }
    dw[idx] += sum;
  }
}

}  // namespace

using detail::check_conv;

void conv2d_fwd_naive(const Conv2dParams& p, const float* x, const float* w, const float* b, float* y,
                      cudaStream_t stream) {
  check_conv(p);
  const size_t total = size_t(p.N) * p.K * p.P * p.Q;
  naive_fwd_kernel<<<detail::grid_for(total, 128, 65535), 128, 0, stream>>>(p, x, w, b, y);
  TINCT_CUDA_LAUNCH_CHECK();
}

void conv2d_bwd_data_naive(const Conv2dParams& p, const float* dy, const float* w, float* dx,
                           cudaStream_t stream) {
  check_conv(p);
  const size_t total = size_t(p.N) * p.C * p.H * p.W;
  naive_bwd_data_kernel<<<detail::grid_for(total, 128, 65535), 128, 0, stream>>>(p, dy, w, dx);
  TINCT_CUDA_LAUNCH_CHECK();
}

void conv2d_bwd_filter_naive(const Conv2dParams& p, const float* x, const float* dy, float* dw,
                             float* db, cudaStream_t stream) {
  check_conv(p);
  const size_t total = size_t(p.K) * p.C * p.R * p.S;
  naive_bwd_filter_kernel<<<detail::grid_for(total, 128, 65535), 128, 0, stream>>>(p, x, dy, dw);
  TINCT_CUDA_LAUNCH_CHECK();
  if (db) bias_grad(p.N, p.K, p.P * p.Q, dy, db, stream);
}

}  // namespace tinct::cuda
