// pool/cuda_1_gather.cu — 2-D max pooling.
//
// What it computes (kernels/pool/ref.cpp):
//   y[n,c,p,q] = max of the window (padding is -inf and never wins; ties go
//                to the first element in scan order; the first NaN wins),
//   argmax[n,c,p,q] = h*W + w of the winner (-1 if the window holds no input);
//   dx[n,c,h,w] = sum of the dy whose argmax is (h, w)   (overwrites dx).
// Layouts: NCHW (maxpool2d_*) and channels-last (maxpool2d_*_nhwc, spec
// maxpool2d_*_nhwc_ref: consecutive threads take consecutive channels of a
// pixel, so every read is coalesced), one template.
// Variants: forward, one thread per output (the reference's scan, so the
// same winner). Backward in GATHER form: one thread per input element visits
// the outputs whose window covers it, in increasing (p, q), and adds the dy
// that chose it. No atomics, deterministic, and the additions happen in the
// reference's order (it scatters outputs in increasing order): bit-exact.
// Variants: this file is variant 1 of the pool family, the only one so far
// (kernels/README.md: variant 0 is the vendor library, in benchmarks).
// Benchmark: tinct-kbench maxpool2d_fwd 1 --n 16 --c 64 --h 64 --w 64 (maxpool2d_bwd likewise).
// Napkin math: memory-bound; the ResNet max-pool (3x3, stride 2, pad 1) reads
// 9 inputs per output, mostly from L1.
#include <cuda_runtime.h>

#include <stdexcept>

#include "kernels/cuda.h"
#include "kernels/common/common.cuh"

namespace tinct::cuda {
namespace {

// The addresses of both layouts: NCHW planes, or NHWC (kNhwc: a pixel's C
// channels side by side). `idx` enumerates the tensor in its own order.
template <bool kNhwc>
struct PoolIndex {
  int n, c, h, w;  // decoded position
  __device__ PoolIndex(int idx, int C, int H, int W) {
    if constexpr (kNhwc) {
      c = idx % C;
      w = (idx / C) % W;
      h = (idx / (C * W)) % H;
      n = idx / (C * W * H);
    } else {
      w = idx % W;
      h = (idx / W) % H;
      c = (idx / (W * H)) % C;
      n = idx / (W * H * C);
    }
  }
};
template <bool kNhwc>
__device__ __forceinline__ size_t pool_addr(int n, int c, int h, int w, int C, int H, int W) {
  return kNhwc ? ((size_t(n) * H + h) * W + w) * C + c : ((size_t(n) * C + c) * H + h) * W + w;
}

template <bool kNhwc>
__global__ void maxpool_fwd_kernel(Pool2dParams p, const float* __restrict__ x,
                                   float* __restrict__ y, int32_t* __restrict__ argmax) {
  // 32-bit index math (sizes checked on the host): 64-bit division is slow.
  const int total = p.N * p.C * p.P * p.Q;
  for (int idx = blockIdx.x * blockDim.x + threadIdx.x; idx < total; idx += gridDim.x * blockDim.x) {
    const PoolIndex<kNhwc> o(idx, p.C, p.P, p.Q);
    float best = -INFINITY;
    int32_t best_idx = -1;
    for (int r = 0; r < p.kh; ++r) {
      const int h = o.h * p.stride_h - p.pad_h + r;
      if (h < 0 || h >= p.H) continue;
      for (int s = 0; s < p.kw; ++s) {
        const int w = o.w * p.stride_w - p.pad_w + s;
        if (w < 0 || w >= p.W) continue;
        const float v = __ldg(x + pool_addr<kNhwc>(o.n, o.c, h, w, p.C, p.H, p.W));
        const bool first = best_idx < 0;
        const bool larger = v > best;
        const bool new_nan = isnan(v) && !isnan(best);
        if (first || larger || new_nan) {
          best = v;
          best_idx = h * p.W + w;
        }
      }
    }
    y[idx] = best;
    argmax[idx] = best_idx;
  }
}

template <bool kNhwc>
__global__ void maxpool_bwd_kernel(Pool2dParams p, const float* __restrict__ dy,
                                   const int32_t* __restrict__ argmax, float* __restrict__ dx) {
  const int total = p.N * p.C * p.H * p.W;
  for (int idx = blockIdx.x * blockDim.x + threadIdx.x; idx < total; idx += gridDim.x * blockDim.x) {
    const PoolIndex<kNhwc> i(idx, p.C, p.H, p.W);
    const int h = i.h, w = i.w;
    // Outputs whose window covers row h: p*stride - pad <= h <= p*stride - pad + kh - 1.
    const int lo_h = h + p.pad_h - p.kh + 1, lo_w = w + p.pad_w - p.kw + 1;
    const int p0 = lo_h <= 0 ? 0 : (lo_h + p.stride_h - 1) / p.stride_h;
    const int p1 = min(p.P - 1, (h + p.pad_h) / p.stride_h);
    const int q0 = lo_w <= 0 ? 0 : (lo_w + p.stride_w - 1) / p.stride_w;
    const int q1 = min(p.Q - 1, (w + p.pad_w) / p.stride_w);
    const int32_t me = h * p.W + w;
    float acc = 0.0f;
    for (int op = p0; op <= p1; ++op)
      for (int oq = q0; oq <= q1; ++oq) {
        const size_t o = pool_addr<kNhwc>(i.n, i.c, op, oq, p.C, p.P, p.Q);
        if (__ldg(argmax + o) == me) acc += __ldg(dy + o);
      }
    dx[idx] = acc;
  }
}

void check_pool(const Pool2dParams& p) {
  Pool2dParams q = p;
  if (p.N < 1 || p.C < 1 || p.H < 1 || p.W < 1 || p.kh < 1 || p.kw < 1 || p.stride_h < 1 ||
      p.stride_w < 1 || p.pad_h < 0 || p.pad_w < 0 || !q.finalize() || q.P != p.P || q.Q != p.Q)
    throw std::invalid_argument("maxpool2d: invalid Pool2dParams (call finalize())");
  // One grid-stride index per element, 32-bit; the stride must not overflow either.
  if (1LL * p.N * p.C * p.H * p.W > 0x7fffffffLL - (1LL << 22))
    throw std::invalid_argument("maxpool2d: tensor has >= 2^31 elements");
}

template <bool kNhwc>
void launch_fwd(const Pool2dParams& p, const float* x, float* y, int32_t* argmax, cudaStream_t stream) {
  check_pool(p);
  const size_t total = size_t(p.N) * p.C * p.P * p.Q;
  maxpool_fwd_kernel<kNhwc><<<detail::grid_for(total), detail::kBlock, 0, stream>>>(p, x, y, argmax);
  TINCT_CUDA_LAUNCH_CHECK();
}

template <bool kNhwc>
void launch_bwd(const Pool2dParams& p, const float* dy, const int32_t* argmax, float* dx, cudaStream_t stream) {
  check_pool(p);
  const size_t total = size_t(p.N) * p.C * p.H * p.W;
  maxpool_bwd_kernel<kNhwc><<<detail::grid_for(total), detail::kBlock, 0, stream>>>(p, dy, argmax, dx);
  TINCT_CUDA_LAUNCH_CHECK();
}

}  // namespace

void maxpool2d_fwd(const Pool2dParams& p, const float* x, float* y, int32_t* argmax,
                   cudaStream_t stream) {
  launch_fwd<false>(p, x, y, argmax, stream);
}

void maxpool2d_bwd(const Pool2dParams& p, const float* dy, const int32_t* argmax, float* dx,
                   cudaStream_t stream) {
  launch_bwd<false>(p, dy, argmax, dx, stream);
}

void maxpool2d_fwd_nhwc(const Pool2dParams& p, const float* x, float* y, int32_t* argmax,
                        cudaStream_t stream) {
  launch_fwd<true>(p, x, y, argmax, stream);
}

void maxpool2d_bwd_nhwc(const Pool2dParams& p, const float* dy, const int32_t* argmax, float* dx,
                        cudaStream_t stream) {
  launch_bwd<true>(p, dy, argmax, dx, stream);
}

}  // namespace tinct::cuda
