// upsample/cuda_1_tables.cu — resizing x[N,C,H,W] -> y[N,C,Ho,Wo]: nearest and bilinear
// (align_corners = false), forward and backward.
//
// What it computes (kernels/upsample/ref.cpp):
//   nearest:  src = min(floor(dst * in / out), in - 1), exact integers;
//   bilinear: src = max((dst + 0.5) * in / out - 0.5, 0), i0 = floor(src),
//             i1 = min(i0 + 1, in - 1), weights 1 - lambda, lambda;
//   backward: the exact adjoint dx = A^T dy (overwrites dx).
// Both axes are separable, so the taps are computed once per launch into
// small tables (one entry per output row / column), with the reference's
// double-precision formula: the same source pixels and the same float
// weights, bit for bit.
// Variants:
//   forward   one thread per output, 2 (nearest: 1) table lookups per axis.
//   backward  GATHER form, one thread per input: it visits the outputs that
//             read it — a contiguous range per axis, because i0(o) is
//             monotone in o (found by binary search once per input row /
//             column, also into the tables) — and adds their dy with the
//             forward's weights. No atomics, deterministic, and the terms
//             are added in the reference's order (outputs in row-major
//             order, the 4 taps of each in the same order).
// Variants: this file is variant 1 of the upsample family, the only one so far
// (kernels/README.md: variant 0 is the vendor library, in benchmarks).
// Benchmark: tinct-kbench upsample_fwd 1 --n 16 --c 64 --h 64 --w 64 --mode bilinear (upsample_bwd likewise).
// Napkin math: memory-bound; a 2x bilinear backward reads ~16 dy per dx, from L1.
#include <cuda_runtime.h>

#include <stdexcept>

#include "kernels/cuda.h"
#include "kernels/common/common.cuh"

namespace tinct::cuda {
namespace {

struct Tap {
  int i0, i1;
  float w0, w1;
};
struct Range {
  int lo, hi;  // outputs [lo, hi) read this input
};

__device__ Tap axis_tap(bool nearest, int in, int out, int o) {
  Tap t;
  if (nearest) {
    const long long s = (long long)o * in / out;
    t.i0 = t.i1 = int(s < in - 1 ? s : in - 1);
    t.w0 = 1.0f;
    t.w1 = 0.0f;
  } else {
    double src = (o + 0.5) * double(in) / double(out) - 0.5;
    if (src < 0.0) src = 0.0;
    const int i0 = min(int(floor(src)), in - 1);
    const int i1 = min(i0 + 1, in - 1);
    const double lambda = src - i0;
    t.i0 = i0;
    t.i1 = i1;
    t.w0 = float(1.0 - lambda);
    t.w1 = float(lambda);
  }
  return t;
}

// First output o in [0, out) with i0(o) >= target (out if none): i0 is monotone.
__device__ int first_output_at_least(bool nearest, int in, int out, int target) {
  int lo = 0, hi = out;
  while (lo < hi) {
    const int mid = (lo + hi) / 2;
    if (axis_tap(nearest, in, out, mid).i0 >= target)
      hi = mid;
    else
      lo = mid + 1;
  }
  return lo;
}

// Tables: taps_h[Ho], taps_w[Wo], range_h[H], range_w[W], one thread per entry.
// Input i is read by the outputs with i0(o) == i (weight w0, and w1 at the
// far edge where i1 == i0) or i0(o) == i - 1 (weight w1): one contiguous range.
__global__ void tables_kernel(bool nearest, int H, int W, int Ho, int Wo, Tap* taps_h, Tap* taps_w,
                              Range* range_h, Range* range_w) {
  const int e = blockIdx.x * blockDim.x + threadIdx.x;
  if (e < Ho) {
    taps_h[e] = axis_tap(nearest, H, Ho, e);
  } else if (e < Ho + Wo) {
    taps_w[e - Ho] = axis_tap(nearest, W, Wo, e - Ho);
  } else if (e < Ho + Wo + H) {
    const int i = e - Ho - Wo;
    range_h[i] = Range{first_output_at_least(nearest, H, Ho, nearest ? i : i - 1),
                       first_output_at_least(nearest, H, Ho, i + 1)};
  } else if (e < Ho + Wo + H + W) {
    const int i = e - Ho - Wo - H;
    range_w[i] = Range{first_output_at_least(nearest, W, Wo, nearest ? i : i - 1),
                       first_output_at_least(nearest, W, Wo, i + 1)};
  }
}

template <bool kNearest>
__global__ void fwd_kernel(int planes, int H, int W, int Ho, int Wo, const Tap* __restrict__ taps_h,
                           const Tap* __restrict__ taps_w, const float* __restrict__ x,
                           float* __restrict__ y) {
  const long long total = 1LL * planes * Ho * Wo;
  for (long long idx = blockIdx.x * (long long)blockDim.x + threadIdx.x; idx < total;
       idx += (long long)gridDim.x * blockDim.x) {
    const int wo = int(idx % Wo);
    const int ho = int((idx / Wo) % Ho);
    const long long plane = idx / (1LL * Wo * Ho);
    const float* xp = x + plane * H * W;
    const Tap th = taps_h[ho], tw = taps_w[wo];
    const float* row0 = xp + size_t(th.i0) * W;
    float v;
    if constexpr (kNearest) {
      v = __ldg(row0 + tw.i0);  // a plain copy, as the reference
    } else {
      const float* row1 = xp + size_t(th.i1) * W;
      v = th.w0 * (tw.w0 * __ldg(row0 + tw.i0) + tw.w1 * __ldg(row0 + tw.i1)) +
          th.w1 * (tw.w0 * __ldg(row1 + tw.i0) + tw.w1 * __ldg(row1 + tw.i1));
    }
    y[idx] = v;
  }
}

template <bool kNearest>
__global__ void bwd_kernel(int planes, int H, int W, int Ho, int Wo, const Tap* __restrict__ taps_h,
                           const Tap* __restrict__ taps_w, const Range* __restrict__ range_h,
                           const Range* __restrict__ range_w, const float* __restrict__ dy,
                           float* __restrict__ dx) {
  const long long total = 1LL * planes * H * W;
  for (long long idx = blockIdx.x * (long long)blockDim.x + threadIdx.x; idx < total;
       idx += (long long)gridDim.x * blockDim.x) {
    const int iw = int(idx % W);
    const int ih = int((idx / W) % H);
    const long long plane = idx / (1LL * W * H);
    const float* dyp = dy + plane * Ho * Wo;
    const Range rh = range_h[ih], rw = range_w[iw];
    float acc = 0.0f;
    for (int ho = rh.lo; ho < rh.hi; ++ho) {
      const Tap th = taps_h[ho];
      for (int wo = rw.lo; wo < rw.hi; ++wo) {
        const Tap tw = taps_w[wo];
        const float g = __ldg(dyp + size_t(ho) * Wo + wo);
        if constexpr (kNearest) {
          acc += g;  // the range holds exactly the outputs that copy this input
        } else {
          // The forward's 4 taps in the reference's order.
          if (th.i0 == ih && tw.i0 == iw) acc += th.w0 * tw.w0 * g;
          if (th.i0 == ih && tw.i1 == iw) acc += th.w0 * tw.w1 * g;
          if (th.i1 == ih && tw.i0 == iw) acc += th.w1 * tw.w0 * g;
          if (th.i1 == ih && tw.i1 == iw) acc += th.w1 * tw.w1 * g;
        }
      }
    }
    dx[idx] = acc;
  }
}

struct Tables {
  detail::Scratch scratch;
  Tap *th, *tw;
  Range *rh, *rw;
  Tables(bool nearest, int H, int W, int Ho, int Wo, cudaStream_t stream)
      : scratch(detail::align256(sizeof(Tap) * Ho) + detail::align256(sizeof(Tap) * Wo) +
                    detail::align256(sizeof(Range) * H) + sizeof(Range) * W,
                stream) {
    size_t off = 0;
    th = scratch.as<Tap>(off);
    off += detail::align256(sizeof(Tap) * Ho);
    tw = scratch.as<Tap>(off);
    off += detail::align256(sizeof(Tap) * Wo);
    rh = scratch.as<Range>(off);
    off += detail::align256(sizeof(Range) * H);
    rw = scratch.as<Range>(off);
    const int entries = Ho + Wo + H + W;
    tables_kernel<<<(entries + 127) / 128, 128, 0, stream>>>(nearest, H, W, Ho, Wo, th, tw, rh, rw);
    TINCT_CUDA_LAUNCH_CHECK();
  }
};

bool check(int N, int C, int H, int W, int Ho, int Wo) {
  if (N < 0 || C < 0 || H < 0 || W < 0 || Ho < 0 || Wo < 0)
    throw std::invalid_argument("upsample: negative size");
  if (N == 0 || C == 0 || Ho == 0 || Wo == 0 || H == 0 || W == 0) return false;
  if (1LL * N * C > 0x7fffffffLL) throw std::invalid_argument("upsample: too many planes");
  return true;
}

}  // namespace

void upsample_fwd(Upsample mode, int N, int C, int H, int W, int Ho, int Wo, const float* x, float* y,
                  cudaStream_t stream) {
  if (!check(N, C, H, W, Ho, Wo)) return;
  const bool nearest = mode == Upsample::Nearest;
  Tables t(nearest, H, W, Ho, Wo, stream);
  const long long total = 1LL * N * C * Ho * Wo;
  if (nearest)
    fwd_kernel<true><<<detail::grid_for(total), detail::kBlock, 0, stream>>>(N * C, H, W, Ho, Wo,
                                                                            t.th, t.tw, x, y);
  else
    fwd_kernel<false><<<detail::grid_for(total), detail::kBlock, 0, stream>>>(N * C, H, W, Ho, Wo,
                                                                             t.th, t.tw, x, y);
  TINCT_CUDA_LAUNCH_CHECK();
}

void upsample_bwd(Upsample mode, int N, int C, int H, int W, int Ho, int Wo, const float* dy,
                  float* dx, cudaStream_t stream) {
  if (!check(N, C, H, W, Ho, Wo)) {
    // An empty output sends nothing back, but dx is still overwritten (zeros).
    if (1LL * N * C * H * W > 0)
      TINCT_CUDA_CHECK(cudaMemsetAsync(dx, 0, sizeof(float) * size_t(N) * C * H * W, stream));
    return;
  }
  const bool nearest = mode == Upsample::Nearest;
  Tables t(nearest, H, W, Ho, Wo, stream);
  const long long total = 1LL * N * C * H * W;
  if (nearest)
    bwd_kernel<true><<<detail::grid_for(total), detail::kBlock, 0, stream>>>(
        N * C, H, W, Ho, Wo, t.th, t.tw, t.rh, t.rw, dy, dx);
  else
    bwd_kernel<false><<<detail::grid_for(total), detail::kBlock, 0, stream>>>(
        N * C, H, W, Ho, Wo, t.th, t.tw, t.rh, t.rw, dy, dx);
  TINCT_CUDA_LAUNCH_CHECK();
}

}  // namespace tinct::cuda
