// optim/cuda_1_multi_tensor.cu — optimizer steps: SGD (momentum, Nesterov, L2) and Adam / AdamW.
//
// What it computes (kernels/optim/ref.cpp, torch.optim semantics):
//   SGD   g' = g + wd*w; m = g' (first step) or momentum*m + g'; w -= lr * d,
//         d = nesterov ? g' + momentum*m : m   (d = g' without momentum)
//   Adam  g' = g + wd*w (AdamW: w *= 1 - lr*wd); m = b1 m + (1-b1) g';
//         v = b2 v + (1-b2) g'^2; w -= lr (m / bc1) / (sqrt(v / bc2) + eps),
//         as w -= step m / (sqrt(v) rs2 + eps), step = lr / bc1, rs2 = 1 / sqrt(bc2)
// Per element in double, as the reference (the bias corrections bc = 1 - b^t
// are formed on the host with pow in double, as there): the result matches
// the reference to the last float bit except where FMA contraction of the
// double expressions differs (rare, one float ulp).
// Variants:
//   single tensor  sgd_step, adam_step: grid-stride, float4 when aligned.
//   multi-tensor   sgd_step_multi, adam_step_multi: ALL the parameters of a
//                  model in ONE launch. The parameters are a table of chunks
//                  (device memory, uploaded by the caller: engine/optim.cpp); chunk i is
//                  cut into tiles of kOptimTile elements numbered from
//                  tile_begin[i]. Block b takes tiles b, b + grid, ...; finds
//                  the chunk of a tile by binary search over tile_begin (a few
//                  L1-cached loads) and updates its elements, float4 when the
//                  chunk's pointers are aligned. Tiny tensors (biases, BN
//                  parameters) and huge ones share the launch evenly, and a
//                  step costs one launch instead of one per tensor.
// Variants: this file is variant 1 of the optim family, the only one so far
// (kernels/README.md: variant 0 is the vendor library, in benchmarks).
// Benchmark: tinct-kbench adam_step 1 --n 16777216 (sgd_step; adam_step_multi, sgd_step_multi likewise).
// Napkin math: memory-bound: Adam reads w, g, m, v and writes w, m, v: 28 bytes
// per parameter (18 M parameters of the classification model: ~0.17 ms at
// 3 TB/s, against ~5 us of launch overhead per tensor when unfused).
#include <cuda_runtime.h>

#include <cmath>
#include <stdexcept>
#include <utility>

#include "kernels/cuda.h"
#include "kernels/common/common.cuh"
#include "kernels/common/map.cuh"

namespace tinct::cuda {
namespace {

struct SgdHyper {
  float lr, momentum, wd;
  bool nesterov, first_step;
};

struct AdamHyper {
  float lr, beta1, beta2, eps, wd;
  bool decoupled;
  double step, rs2;  // lr / bc1, 1 / sqrt(bc2)
};

__device__ __forceinline__ void sgd_elem(const SgdHyper& h, float& w, float g, float* m) {
  const double grad = double(g) + double(h.wd) * w;
  double d = grad;
  if (h.momentum != 0.0f) {
    const double buf = h.first_step ? grad : double(h.momentum) * *m + grad;
    *m = float(buf);
    d = h.nesterov ? grad + double(h.momentum) * buf : buf;
  }
  w = float(w - double(h.lr) * d);
}

__device__ __forceinline__ void adam_elem(const AdamHyper& h, float& w, float g, float& m, float& v) {
  double wi = w;
  double grad = g;
  if (h.decoupled)
    wi *= 1.0 - double(h.lr) * h.wd;
  else
    grad += double(h.wd) * wi;
  const double mi = double(h.beta1) * m + (1.0 - h.beta1) * grad;
  const double vi = double(h.beta2) * v + (1.0 - h.beta2) * grad * grad;
  m = float(mi);
  v = float(vi);
  wi -= h.step * mi / (sqrt(vi) * h.rs2 + h.eps);
  w = float(wi);
}

// Updates elements [i, i + V) of one tensor.
template <int V>
__device__ __forceinline__ void sgd_run(const SgdHyper& h, float* w, const float* g, float* m,
                                        size_t i) {
  float wv[V], gv[V], mv[V] = {};
  detail::ld<V>(w, i, wv);
  detail::ld<V>(g, i, gv);
  const bool mom = h.momentum != 0.0f;
  if (mom && !h.first_step) detail::ld<V>(m, i, mv);
#pragma unroll
  for (int e = 0; e < V; ++e) sgd_elem(h, wv[e], gv[e], &mv[e]);
  detail::st<V>(w, i, wv);
  if (mom) detail::st<V>(m, i, mv);
}

template <int V>
__device__ __forceinline__ void adam_run(const AdamHyper& h, float* w, const float* g, float* m,
                                         float* v, size_t i) {
  float wv[V], gv[V], mv[V], vv[V];
  detail::ld<V>(w, i, wv);
  detail::ld<V>(g, i, gv);
  detail::ld<V>(m, i, mv);
  detail::ld<V>(v, i, vv);
#pragma unroll
  for (int e = 0; e < V; ++e) adam_elem(h, wv[e], gv[e], mv[e], vv[e]);
  detail::st<V>(w, i, wv);
  detail::st<V>(m, i, mv);
  detail::st<V>(v, i, vv);
}

struct SgdF {
  SgdHyper h;
  float* w;
  const float* g;
  float* m;
  bool vec;
  template <int V>
  __device__ __forceinline__ void run(size_t i) const {
    sgd_run<V>(h, w, g, m, i);
  }
};

struct AdamF {
  AdamHyper h;
  float* w;
  const float* g;
  float* m;
  float* v;
  bool vec;
  template <int V>
  __device__ __forceinline__ void run(size_t i) const {
    adam_run<V>(h, w, g, m, v, i);
  }
};

// ---- multi-tensor ------------------------------------------------------------------

__device__ __forceinline__ int find_chunk(const ParamChunk* __restrict__ table, int num, int64_t tile) {
  int lo = 0, hi = num - 1;  // the last chunk with tile_begin <= tile
  while (lo < hi) {
    const int mid = (lo + hi + 1) / 2;
    if (table[mid].tile_begin <= tile)
      lo = mid;
    else
      hi = mid - 1;
  }
  return lo;
}

__device__ __forceinline__ bool al16(const void* p) {
  return (reinterpret_cast<uintptr_t>(p) & 15) == 0;
}

template <bool kAdam, class H>
__global__ void __launch_bounds__(detail::kBlock)
    multi_kernel(const ParamChunk* __restrict__ table, int num, int64_t total_tiles, H h) {
  for (int64_t tile = blockIdx.x; tile < total_tiles; tile += gridDim.x) {
    const ParamChunk ch = table[find_chunk(table, num, tile)];
    const int64_t off = (tile - ch.tile_begin) * kOptimTile;  // a multiple of 4
    const int64_t len = min(kOptimTile, ch.n - off);
    float* w = ch.w + off;
    const float* g = ch.g + off;
    bool vec = al16(w) && al16(g);
    if constexpr (kAdam) vec = vec && al16(ch.m + off) && al16(ch.v + off);
    else vec = vec && (ch.m == nullptr || al16(ch.m + off));
    float* m = ch.m ? ch.m + off : nullptr;
    float* v = ch.v ? ch.v + off : nullptr;
    int64_t done = 0;
    if (vec) {
      const int64_t n4 = len / 4;
      for (int64_t u = threadIdx.x; u < n4; u += detail::kBlock) {
        if constexpr (kAdam)
          adam_run<4>(h, w, g, m, v, size_t(u) * 4);
        else
          sgd_run<4>(h, w, g, m, size_t(u) * 4);
      }
      done = n4 * 4;
    }
    for (int64_t i = done + threadIdx.x; i < len; i += detail::kBlock) {
      if constexpr (kAdam)
        adam_run<1>(h, w, g, m, v, size_t(i));
      else
        sgd_run<1>(h, w, g, m, size_t(i));
    }
  }
}

template <bool kAdam, class H>
void launch_multi(const ParamChunk* table, int num_chunks, int64_t total_tiles, const H& h,
                  cudaStream_t stream) {
  if (num_chunks <= 0 || total_tiles <= 0) return;
  // One tile (4096 elements, 16 per thread) per block at a time; enough
  // blocks to keep every SM busy, never more than there are tiles.
  const int64_t grid = std::min<int64_t>(total_tiles, 8LL * detail::sm_count());
  multi_kernel<kAdam, H><<<unsigned(grid), detail::kBlock, 0, stream>>>(table, num_chunks,
                                                                       total_tiles, h);
  TINCT_CUDA_LAUNCH_CHECK();
}

AdamHyper adam_hyper(float lr, float beta1, float beta2, float eps, float wd, bool decoupled,
                     int64_t step) {
  if (step < 1) throw std::invalid_argument("adam_step: step counts from 1");
  const double bc1 = 1.0 - std::pow(double(beta1), double(step));
  const double bc2 = 1.0 - std::pow(double(beta2), double(step));
  return AdamHyper{lr, beta1, beta2, eps, wd, decoupled, double(lr) / bc1, 1.0 / std::sqrt(bc2)};
}

}  // namespace

void sgd_step(size_t n, float* w, const float* g, float* m, float lr, float momentum,
              float weight_decay, bool nesterov, bool first_step, cudaStream_t stream) {
  if (momentum != 0.0f && !m) throw std::invalid_argument("sgd_step: momentum needs a buffer m");
  const SgdHyper h{lr, momentum, weight_decay, nesterov, first_step};
  detail::launch_map(n, SgdF{h, w, g, m, detail::all_aligned({w, g, m})}, stream);
}

void adam_step(size_t n, float* w, const float* g, float* m, float* v, float lr, float beta1,
               float beta2, float eps, float weight_decay, bool decoupled, int64_t step,
               cudaStream_t stream) {
  const AdamHyper h = adam_hyper(lr, beta1, beta2, eps, weight_decay, decoupled, step);
  detail::launch_map(n, AdamF{h, w, g, m, v, detail::all_aligned({w, g, m, v})}, stream);
}

int64_t plan_param_tiles(ParamChunk* chunks, int num_chunks) {
  int64_t tiles = 0;
  for (int i = 0; i < num_chunks; ++i) {
    if (chunks[i].n < 0) throw std::invalid_argument("plan_param_tiles: negative size");
    chunks[i].tile_begin = tiles;
    tiles += (chunks[i].n + kOptimTile - 1) / kOptimTile;
  }
  return tiles;
}

void sgd_step_multi(const ParamChunk* table, int num_chunks, int64_t total_tiles, float lr,
                    float momentum, float weight_decay, bool nesterov, bool first_step,
                    cudaStream_t stream) {
  launch_multi<false>(table, num_chunks, total_tiles,
                      SgdHyper{lr, momentum, weight_decay, nesterov, first_step}, stream);
}

void adam_step_multi(const ParamChunk* table, int num_chunks, int64_t total_tiles, float lr,
                     float beta1, float beta2, float eps, float weight_decay, bool decoupled,
                     int64_t step, cudaStream_t stream) {
  launch_multi<true>(table, num_chunks, total_tiles,
                     adam_hyper(lr, beta1, beta2, eps, weight_decay, decoupled, step), stream);
}

}  // namespace tinct::cuda
