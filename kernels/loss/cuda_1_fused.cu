// loss/cuda_1_fused.cu — scalar losses with their gradient, in one pass.
//
// What it computes (kernels/loss/ref.cpp):
//   mse        L = mean (pred - target)^2      grad = gscale * 2 (pred - target) / n
//   l1         L = mean |pred - target|        grad = gscale * sign(pred - target) / n
//   mse_const  L = mean (pred - c)^2           (LSGAN, c = 1 real / 0 fake)
//   soft_ce    per pixel of logits[N,Q,HW]: w * sum_q -t_q log softmax(z)_q,
//              averaged over the N*HW pixels; grad = gscale * w * (softmax *
//              sum_q t_q - t) / (N*HW)
// The value goes to a device double (*loss, may be null); grad (may be null)
// is overwritten.
// Variants:
//   pointwise losses: one kernel writes the gradient and a per-block partial
//     sum (double) of the loss terms, float4-vectorised; finish_sum adds the
//     partials in a fixed order and divides by n. The gradient uses the
//     reference's double expression, so it matches it bit for bit.
//   soft_ce: one thread per pixel (consecutive threads, consecutive pixels:
//     each class plane is read coalesced). Pass 1 over the Q classes keeps an
//     online max and sum of exp (one expf per logit: the sum is rescaled when
//     the max grows), plus sum t and sum t*z; then lse = max + log(sum), the
//     pixel loss is lse * sum t - sum t*z (zero targets skipped, as the
//     reference, so a -inf logit with t = 0 is harmless); pass 2 writes the
//     gradient. Logits and targets are each read twice, the gradient written
//     once: 5 * 4 bytes per logit.
// Deterministic: the grids depend on the sizes only, the trees are fixed.
// Variants: this file is variant 1 of the loss family, the only one so far
// (kernels/README.md: variant 0 is the vendor library, in benchmarks).
// Benchmark: tinct-kbench soft_ce 1 --n 64 --c 313 --h 32 --w 32 (mse, l1, mse_const likewise).
// Napkin math: memory-bound; soft_ce at the classification model's output
// (64 x 313 x 32 x 32) moves ~410 MB: ~0.15 ms at 3 TB/s.
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "kernels/cuda.h"
#include "kernels/common/common.cuh"
#include "kernels/common/map.cuh"

namespace tinct::cuda {
namespace {

using detail::kBlock;

enum class Kind { Mse, L1, MseConst };

// The gradient is formed with the reference's double expression
// (gscale * 2 * d / n, not a multiplication by 1/n): bit-identical to it.
template <Kind K, bool kVec>
__global__ void __launch_bounds__(kBlock)
    pointwise_loss_kernel(size_t n, const float* __restrict__ pred, const float* __restrict__ target,
                          float c, float gscale, float* __restrict__ grad,
                          double* __restrict__ partial) {
  const size_t stride = size_t(gridDim.x) * kBlock;
  const size_t first = blockIdx.x * size_t(kBlock) + threadIdx.x;
  const double dn = double(n);
  double acc = 0.0;
  auto one = [&](float p, float t) {
    const double d = double(p) - (K == Kind::MseConst ? double(c) : double(t));
    float g;
    if constexpr (K == Kind::L1) {
      const double sign = d > 0 ? 1.0 : (d < 0 ? -1.0 : 0.0);
      g = float(double(gscale) * sign / dn);
      acc += fabs(d);
    } else {
      g = float(double(gscale) * 2.0 * d / dn);
      acc += d * d;
    }
    return g;
  };
  size_t done = 0;
  if constexpr (kVec) {
    const size_t n4 = n / 4;
    for (size_t u = first; u < n4; u += stride) {
      const float4 p = __ldg(reinterpret_cast<const float4*>(pred) + u);
      float4 t = make_float4(0.f, 0.f, 0.f, 0.f);
      if constexpr (K != Kind::MseConst) t = __ldg(reinterpret_cast<const float4*>(target) + u);
      float4 g;
      g.x = one(p.x, t.x);
      g.y = one(p.y, t.y);
      g.z = one(p.z, t.z);
      g.w = one(p.w, t.w);
      if (grad) reinterpret_cast<float4*>(grad)[u] = g;
    }
    done = n4 * 4;
  }
  for (size_t i = done + first; i < n; i += stride) {
    const float t = K == Kind::MseConst ? 0.0f : __ldg(target + i);
    const float g = one(__ldg(pred + i), t);
    if (grad) grad[i] = g;
  }
  const double s = detail::block_sum<kBlock>(acc);
  if (threadIdx.x == 0) partial[blockIdx.x] = s;
}

template <Kind K>
void pointwise_loss(size_t n, const float* pred, const float* target, float c, float gscale,
                    float* grad, double* loss, cudaStream_t stream) {
  if (n == 0) {
    if (loss) TINCT_CUDA_CHECK(cudaMemsetAsync(loss, 0, sizeof(double), stream));
    return;
  }
  if (!grad && !loss) return;
  const int blocks = detail::reduce_blocks(n, 16);
  detail::Scratch scratch(sizeof(double) * blocks, stream);
  double* partial = scratch.as<double>();
  const bool vec = detail::all_aligned({pred, K == Kind::MseConst ? nullptr : target, grad});
  if (vec)
    pointwise_loss_kernel<K, true><<<blocks, kBlock, 0, stream>>>(n, pred, target, c, gscale, grad,
                                                                  partial);
  else
    pointwise_loss_kernel<K, false><<<blocks, kBlock, 0, stream>>>(n, pred, target, c, gscale, grad,
                                                                   partial);
  TINCT_CUDA_LAUNCH_CHECK();
  if (loss) detail::finish_sum(partial, blocks, double(n), loss, stream);
}

// ---- soft-target cross-entropy ----------------------------------------------------

constexpr int kCeBlock = 128;

__global__ void __launch_bounds__(kCeBlock)
    soft_ce_kernel(int N, int Q, int HW, const float* __restrict__ logits,
                   const float* __restrict__ target, const float* __restrict__ weight, float gscale,
                   float* __restrict__ grad, double* __restrict__ partial) {
  const long long pixels = 1LL * N * HW;
  const double count = double(pixels);
  double acc = 0.0;
  for (long long px = blockIdx.x * (long long)kCeBlock + threadIdx.x; px < pixels;
       px += (long long)gridDim.x * kCeBlock) {
    const int n = int(px / HW), i = int(px - 1LL * n * HW);
    const size_t base = size_t(n) * Q * HW + i;
    const float* z = logits + base;
    const float* t = target + base;
    // Pass 1: online max / sum exp; sum t and sum t*z.
    float m = -INFINITY, s = 0.0f;
    double sum_t = 0.0, sum_tz = 0.0;
#pragma unroll 4
    for (int q = 0; q < Q; ++q) {
      const float zq = __ldg(z + size_t(q) * HW);
      const float tq = __ldg(t + size_t(q) * HW);
      if (zq > m) {  // new max: rescale what was summed so far (m = -inf: s = 0 * 0 + 1)
        s = s * expf(m - zq) + 1.0f;
        m = zq;
      } else if (zq > -INFINITY) {  // a masked (-inf) logit adds exp(-inf) = 0; skipping it
        s += expf(zq - m);          // also avoids -inf - -inf = NaN when it comes first
      }
      sum_t += tq;
      if (tq != 0.0f) sum_tz += double(tq) * double(zq);
    }
    const double lse = double(m) + log(double(s));
    const double w = weight ? double(__ldg(weight + px)) : 1.0;
    acc += w * (lse * sum_t - sum_tz);
    if (grad) {
      // Pass 2: dz = k * (softmax * sum_t - t).
      const double k = double(gscale) * w / count;
      const float lsef = float(lse);
#pragma unroll 4
      for (int q = 0; q < Q; ++q) {
        const size_t j = size_t(q) * HW;
        const float sm = expf(__ldg(z + j) - lsef);
        grad[base + j] = float(k * (double(sm) * sum_t - double(__ldg(t + j))));
      }
    }
  }
  const double sblk = detail::block_sum<kCeBlock>(acc);
  if (threadIdx.x == 0) partial[blockIdx.x] = sblk;
}

}  // namespace

void mse(size_t n, const float* pred, const float* target, float gscale, float* grad, double* loss,
         cudaStream_t stream) {
  pointwise_loss<Kind::Mse>(n, pred, target, 0.0f, gscale, grad, loss, stream);
}

void l1(size_t n, const float* pred, const float* target, float gscale, float* grad, double* loss,
        cudaStream_t stream) {
  pointwise_loss<Kind::L1>(n, pred, target, 0.0f, gscale, grad, loss, stream);
}

void mse_const(size_t n, const float* pred, float c, float gscale, float* grad, double* loss,
               cudaStream_t stream) {
  pointwise_loss<Kind::MseConst>(n, pred, nullptr, c, gscale, grad, loss, stream);
}

void soft_ce(int N, int Q, int HW, const float* logits, const float* target, const float* weight,
             float gscale, float* grad, double* loss, cudaStream_t stream) {
  const long long pixels = 1LL * N * HW;
  if (pixels <= 0) {
    if (loss) TINCT_CUDA_CHECK(cudaMemsetAsync(loss, 0, sizeof(double), stream));
    return;
  }
  if (Q <= 0) throw std::invalid_argument("soft_ce: Q must be >= 1");
  if (!grad && !loss) return;
  // One pixel per thread (the loop over Q is the long one), 128-thread blocks
  // so that even 64 x 32 x 32 pixels give every SM a few blocks. From the
  // sizes only: deterministic.
  const int blocks =
      int(std::min<long long>((pixels + kCeBlock - 1) / kCeBlock, detail::kMaxPartials));
  detail::Scratch scratch(sizeof(double) * blocks, stream);
  double* partial = scratch.as<double>();
  soft_ce_kernel<<<blocks, kCeBlock, 0, stream>>>(N, Q, HW, logits, target, weight, gscale, grad,
                                                partial);
  TINCT_CUDA_LAUNCH_CHECK();
  if (loss) detail::finish_sum(partial, blocks, double(pixels), loss, stream);
}

}  // namespace tinct::cuda
