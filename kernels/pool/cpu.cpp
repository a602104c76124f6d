// pool/cpu.cpp — the fast CPU max pooling forward.
//
// WHAT: maxpool2d_fwd_ref's contract exactly (pool/ref.cpp is the
// specification: padding never wins, ties keep the first tap in r-then-s
// order, the first NaN wins), with the argmax optional: inference passes
// null and saves writing (and allocating) an index per output.
//
// HOW: the reference visits one output at a time and tests every tap against
// the padding. Here each output row is built tap by tap: for tap (r, s) the
// outputs q whose input column is inside the image form one range [lo, hi),
// found once per row, so the inner loop over q has no bounds tests and the
// compiler vectorises it. Visiting the taps in the reference's order (r outer,
// s inner) offers every output its candidates in the same order, so the
// tie-breaking, and hence the argmax, is identical.
//
// Where the AVX-512 kernel set runs, pool/cpu_avx512.cpp builds each output
// row instead (strides 1 and 2; all taps in registers, the stride-2 columns
// by permutes; the same result).
//
// Threads: OpenMP over the (n, c) planes, as the reference.
//
// BENCHMARK: the stem pool of every colorizer; bench_peer_forward's 512x512
// forward (bench/cpu_peer/run.sh) times it inside the models.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "kernels/common/parallel.h"
#include "kernels/pool/cpu_rows.h"
#include "kernels/kernels.h"

namespace tinct::cpu {

namespace {

// The outputs q in [lo, hi) whose tap at offset `off` (input column q*stride
// + off) lies inside [0, size).
void tap_range(int size, int out, int stride, int off, int* lo, int* hi) {
  const int first = -off, last = size - 1 - off;
  *lo = first <= 0 ? 0 : (first + stride - 1) / stride;
  *hi = last < 0 ? 0 : std::min(out, last / stride + 1);
  if (*lo > *hi) *lo = *hi;
}

// The AVX-512 row (pool/cpu_avx512.cpp) where that kernel set is active and
// it serves the stride, unless TINCT_POOL_AVX512=0.
detail::PoolRow fast_row(const Pool2dParams& p) {
  if (p.stride_w != 1 && p.stride_w != 2) return nullptr;
  if (cpu_kernels() != CpuKernels::Avx512) return nullptr;
  static const bool on = [] {
    const char* e = std::getenv("TINCT_POOL_AVX512");
    return !(e && std::strcmp(e, "0") == 0);
  }();
  return on ? detail::pool_row_avx512() : nullptr;
}

}  // namespace

void maxpool2d_fwd(const Pool2dParams& p, const float* x, float* y, int32_t* argmax) {
  const size_t in_plane = size_t(p.H) * p.W, out_plane = size_t(p.P) * p.Q;
  const float neg_inf = -std::numeric_limits<float>::infinity();
  const detail::PoolRow fast = fast_row(p);
#pragma omp parallel for collapse(2) schedule(static)
  for (int n = 0; n < p.N; ++n)
    for (int c = 0; c < p.C; ++c) {
      const size_t plane = size_t(n) * p.C + c;
      const float* xp = x + plane * in_plane;
      for (int oh = 0; oh < p.P; ++oh) {
        float* yr = y + plane * out_plane + size_t(oh) * p.Q;
        int32_t* ar = argmax ? argmax + plane * out_plane + size_t(oh) * p.Q : nullptr;
        if (fast) {
          fast(p, xp, oh, yr, ar);
          continue;
        }
        std::fill(yr, yr + p.Q, neg_inf);
        if (ar) std::fill(ar, ar + p.Q, -1);
        for (int r = 0; r < p.kh; ++r) {
          const int h = oh * p.stride_h - p.pad_h + r;
          if (h < 0 || h >= p.H) continue;
          const float* xr = xp + size_t(h) * p.W;
          for (int s = 0; s < p.kw; ++s) {
            const int off = s - p.pad_w;
            int lo, hi;
            tap_range(p.W, p.Q, p.stride_w, off, &lo, &hi);
            const int sw = p.stride_w;
            if (!ar) {
              // max that keeps a NaN: a NaN candidate replaces, and nothing
              // replaces a NaN (v > NaN is false).
              for (int q = lo; q < hi; ++q) {
                const float v = xr[q * sw + off], b = yr[q];
                yr[q] = (v > b || v != v) ? v : b;
              }
            } else {
              // The reference's test, without branches (non-short-circuit
              // | and selects) so that the compiler vectorises it: a branch
              // per tap mispredicts on data of no order.
              const int32_t base = h * p.W + off;
              for (int q = lo; q < hi; ++q) {
                const float v = xr[q * sw + off], b = yr[q];
                const int32_t a = ar[q];
                const bool take = (a < 0) | (v > b) | ((v != v) & (b == b));
                yr[q] = take ? v : b;
                ar[q] = take ? base + q * sw : a;
              }
            }
          }
        }
      }
    }
}

// The reference's backward on one contiguous range of the N*C planes per
// thread (a plane's sums stay in one thread, in the reference's order).
void maxpool2d_bwd(const Pool2dParams& p, const float* dy, const int32_t* argmax, float* dx) {
  const size_t in_plane = size_t(p.H) * p.W, out_plane = size_t(p.P) * p.Q;
  detail::parallel_chunks(size_t(p.N) * p.C, [&](size_t i, size_t e) {
    Pool2dParams q = p;
    q.N = 1;
    q.C = int(e - i);
    maxpool2d_bwd_ref(q, dy + i * out_plane, argmax + i * out_plane, dx + i * in_plane);
  });
}

}  // namespace tinct::cpu
