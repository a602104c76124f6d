// pool/cuda_1_gather.cu — 2-D max pooling.
//
// What it computes (kernels/pool/ref.cpp):
//   y[n,c,p,q] = max of the window (padding is -inf and never wins; ties go
//                to the first element in scan order; the first NaN wins),
//   argmax[n,c,p,q] = h*W + w of the winner (-1 if the window holds no input);
//   dx[n,c,h,w] = sum of the dy whose argmax is (h, w)   (overwrites dx).
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

__global__ void maxpool_fwd_kernel(Pool2dParams p, const float* __restrict__ x,
                                   float* __restrict__ y, int32_t* __restrict__ argmax) {
  // 32-bit index math (sizes checked on the host): 64-bit division is slow.
  const int total = p.N * p.C * p.P * p.Q;
  for (int idx = blockIdx.x * blockDim.x + threadIdx.x; idx < total; idx += gridDim.x * blockDim.x) {
    const int ow = idx % p.Q;
    const int oh = (idx / p.Q) % p.P;
    const size_t plane = size_t(idx / (p.Q * p.P));
    const float* xp = x + plane * size_t(p.H) * p.W;
    float best = -INFINITY;
    int32_t best_idx = -1;
    for (int r = 0; r < p.kh; ++r) {
      const int h = oh * p.stride_h - p.pad_h + r;
      if (h < 0 || h >= p.H) continue;
      for (int s = 0; s < p.kw; ++s) {
        const int w = ow * p.stride_w - p.pad_w + s;
        if (w < 0 || w >= p.W) continue;
        const float v = __ldg(xp + h * p.W + w);
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

__global__ void maxpool_bwd_kernel(Pool2dParams p, const float* __restrict__ dy,
                                   const int32_t* __restrict__ argmax, float* __restrict__ dx) {
  const int total = p.N * p.C * p.H * p.W;
  for (int idx = blockIdx.x * blockDim.x + threadIdx.x; idx < total; idx += gridDim.x * blockDim.x) {
    const int w = idx % p.W;
    const int h = (idx / p.W) % p.H;
    const size_t plane = size_t(idx / (p.W * p.H));
    // Outputs whose window covers row h: p*stride - pad <= h <= p*stride - pad + kh - 1.
    const int lo_h = h + p.pad_h - p.kh + 1, lo_w = w + p.pad_w - p.kw + 1;
    const int p0 = lo_h <= 0 ? 0 : (lo_h + p.stride_h - 1) / p.stride_h;
    const int p1 = min(p.P - 1, (h + p.pad_h) / p.stride_h);
    const int q0 = lo_w <= 0 ? 0 : (lo_w + p.stride_w - 1) / p.stride_w;
    const int q1 = min(p.Q - 1, (w + p.pad_w) / p.stride_w);
    const int32_t me = h * p.W + w;
    const size_t out_plane = plane * size_t(p.P) * p.Q;
    float acc = 0.0f;
    for (int op = p0; op <= p1; ++op)
      for (int oq = q0; oq <= q1; ++oq) {
        const size_t o = out_plane + size_t(op) * p.Q + oq;
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

}  // namespace

void maxpool2d_fwd(const Pool2dParams& p, const float* x, float* y, int32_t* argmax,
                   cudaStream_t stream) {
  check_pool(p);
  const size_t total = size_t(p.N) * p.C * p.P * p.Q;
  maxpool_fwd_kernel<<<detail::grid_for(total), detail::kBlock, 0, stream>>>(p, x, y, argmax);
  TINCT_CUDA_LAUNCH_CHECK();
}

void maxpool2d_bwd(const Pool2dParams& p, const float* dy, const int32_t* argmax, float* dx,
                   cudaStream_t stream) {
  check_pool(p);
  const size_t total = size_t(p.N) * p.C * p.H * p.W;
  maxpool_bwd_kernel<<<detail::grid_for(total), detail::kBlock, 0, stream>>>(p, dy, argmax, dx);
  TINCT_CUDA_LAUNCH_CHECK();
}

}  // namespace tinct::cuda
