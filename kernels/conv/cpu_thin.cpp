// conv/cpu_thin.cpp — the "thin" CPU convolution: the three passes of a
// stride-1 convolution with few output channels (K <= 4), without im2col.
//
// WHY: the PatchGAN's last layer (256 -> 1 channel, 4x4, on 15x15 maps) and
// the generator's output layer (16 -> 2, 3x3) are GEMMs with 1-2 rows: im2col
// + GEMM writes and reads C*R*S floats per output pixel (col2im as many for
// backward-data) for one or two multiply-adds each, and ran at 0.6-5 GFLOP/s
// (bench/RESULTS.md, "The GAN training step: thin convolutions").
//
// WHAT: the contracts of conv2d_fwd_fused, conv2d_bwd_data (dx overwritten)
// and conv2d_bwd_filter (dw +=, db +=); conv/ref.cpp + epilogue/ref.cpp are
// the specification. Stride 1, any padding and dilation, K <= 4.
//
// HOW: with stride 1, output pixel (p, q) of a plane zero-padded to
// [Hp = H + 2 pad_h][Wp = W + 2 pad_w], flattened with row length Wp, reads
// tap (r, s) at flat offset r dil_h Wp + s dil_w from its own flat index. So
// each tap of each channel pair is ONE long vector loop over P * Wp floats:
//   fwd:         yflat[i]            += w[k,c,r,s] * xpad[c][i + off]
//   bwd-data:    dxpad[c][i + off]   += w[k,c,r,s] * dyflat[k][i]
//   bwd-filter:  dw[k,c,r,s]         += sum_i dyflat[k][i] * xpad[c][i + off]
// where yflat / dyflat have row length Wp; the Wp - Q columns past each row's
// end are garbage in yflat (dropped) and zeros in dyflat (so they add
// nothing). The planes get (S-1) dil_w floats of zero slack at the end.
// The row loops (axpy, dot) come from conv/cpu_thin_avx512.cpp or the portable
// versions below.
// Threads: fwd over (image, output channel), bwd-data over (image, input
// channel), bwd-filter over input channels: every output is summed by one
// thread in a fixed order, so 1 and 2 threads give the same bits.
//
// Switch: TINCT_CONV_THIN=0 never, =force every supported shape (also the
// 3x3 backward-filter with 3-4 output channels, left to the 3x3 stride-1
// backward-filter's own path by default, and forwards of maps over 64x64).
//
// BENCHMARK: bench/bench_conv_thin.cpp (thin against im2col + GEMM on the
// models' layers, each pass, 1 and 2 threads):
//   ./build/bench/bench_conv_thin
#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "kernels/conv/cpu_thin.h"
#include "kernels/kernels.h"

namespace tinct::cpu {

namespace detail {

namespace {

void axpy_generic(size_t n, float a, const float* __restrict x, float* __restrict y) {
  for (size_t i = 0; i < n; ++i) y[i] += a * x[i];
}

float dot_generic(size_t n, const float* __restrict x, const float* __restrict y) {
  float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
  for (size_t i = 0; i < n; ++i) sum += x[i] * y[i];
  return sum;
}

void dots_generic(int R, size_t n, const float* y, size_t ldy, const float* x, size_t ldx, const size_t* off,
                  int T, float* out) {
  for (int t = 0; t < T; ++t) {
    float sum = 0.0f;
    for (int r = 0; r < R; ++r) sum += dot_generic(n, y + r * ldy, x + off[t] + r * ldx);
    out[t] = sum;
  }
}

}  // namespace

const ThinRowOps& thin_row_ops_generic() {
  static const ThinRowOps ops{axpy_generic, dot_generic, dots_generic};
  return ops;
}

}  // namespace detail

namespace {

constexpr int kThinMaxK = 4;

const detail::ThinRowOps& row_ops() {
  if (cpu_kernels() == CpuKernels::Avx512)
    if (const detail::ThinRowOps* o = detail::thin_row_ops_avx512()) return *o;
  return detail::thin_row_ops_generic();
}

int mode() {  // 0 off, 1 where it pays, 2 always
  static const int m = [] {
    const char* e = std::getenv("TINCT_CONV_THIN");
    return !e ? 1 : std::strcmp(e, "0") == 0 ? 0 : std::strcmp(e, "force") == 0 ? 2 : 1;
  }();
  return m;
}

struct Geometry {
  int Hp, Wp;
  size_t plane;  // Hp * Wp + slack: one padded plane
  size_t flat;   // P * Wp: the length of every row loop
  size_t slack;
};

Geometry geometry(const Conv2dParams& p) {
  Geometry g;
  g.Hp = p.H + 2 * p.pad_h;
  g.Wp = p.W + 2 * p.pad_w;
  g.slack = (size_t)(p.S - 1) * p.dil_w;
  g.plane = (size_t)g.Hp * g.Wp + g.slack;
  g.flat = (size_t)p.P * g.Wp;
  return g;
}

// dst[Hp * Wp + slack] = plane src[H][W] zero-padded.
void pad_plane(const Conv2dParams& p, const Geometry& g, const float* src, float* dst) {
  std::fill(dst, dst + (size_t)p.pad_h * g.Wp, 0.0f);
  for (int h = 0; h < p.H; ++h) {
    float* row = dst + (size_t)(h + p.pad_h) * g.Wp;
    std::fill(row, row + p.pad_w, 0.0f);
    std::memcpy(row + p.pad_w, src + (size_t)h * p.W, sizeof(float) * p.W);
    std::fill(row + p.pad_w + p.W, row + g.Wp, 0.0f);
  }
  std::fill(dst + (size_t)(p.H + p.pad_h) * g.Wp, dst + g.plane, 0.0f);
}

// dst[P][Wp] = src[P][Q] with zeros in the Wp - Q columns past each row.
void widen_plane(const Conv2dParams& p, const Geometry& g, const float* src, float* dst) {
  for (int r = 0; r < p.P; ++r) {
    float* row = dst + (size_t)r * g.Wp;
    std::memcpy(row, src + (size_t)r * p.Q, sizeof(float) * p.Q);
    std::fill(row + p.Q, row + g.Wp, 0.0f);
  }
}

size_t tap_offset(const Conv2dParams& p, const Geometry& g, int r, int s) {
  return (size_t)r * p.dil_h * g.Wp + (size_t)s * p.dil_w;
}

std::vector<float>& workspace() {  // the calling thread's padded / flat planes
  thread_local std::vector<float> v;
  return v;
}

std::vector<float>& shared_workspace() {  // dy widened to row length Wp, every image and channel
  thread_local std::vector<float> v;
  return v;
}

float* grow(std::vector<float>& v, size_t n) {
  if (v.size() < n) v.resize(n);
  return v.data();
}

// dyflat[n][k][P * Wp] for the two backward passes, widened over the threads.
const float* widen_dy(const Conv2dParams& p, const Geometry& g, const float* dy) {
  const long planes = (long)p.N * p.K;
  float* out = grow(shared_workspace(), (size_t)planes * g.flat);
#pragma omp parallel for schedule(static) if (planes > 1 && !omp_in_parallel())
  for (long i = 0; i < planes; ++i) widen_plane(p, g, dy + (size_t)i * p.P * p.Q, out + (size_t)i * g.flat);
  return out;
}

}  // namespace

bool conv2d_thin_supported(const Conv2dParams& p) {
  return p.stride_h == 1 && p.stride_w == 1 && p.K >= 1 && p.K <= kThinMaxK && p.P >= 1 && p.Q >= 1;
}

bool conv2d_thin_pays(const Conv2dParams& p, ThinPass pass) {
  const int m = mode();
  if (m == 0 || !conv2d_thin_supported(p)) return false;
  if (m == 2) return true;
  // The 3x3 stride-1 backward-filter is another path's (the Winograd / GEMM
  // owners') except with 1-2 output channels (the generators' ab layers:
  // 8 -> 2 and 16 -> 2 at 128x128, 1.4-1.7x the GEMM's 8 GFLOP/s); the
  // forward where the direct path pays is the direct path's (conv2d_fwd_fused
  // asks that first). (Until 2026-12-06 only K = 1 was taken: 2-channel
  // layers once put tests/test_train_dist.cpp's 2-rank run 18% off one
  // process; with today's code it is 0.08% either way, as the test prints.)
  if (pass == ThinPass::BwdFilter && p.R == 3 && p.S == 3 && p.K > 2) return false;
  // The forward only where it was measured (maps up to 64x64, where the direct
  // path does not pay): larger maps keep the direct path or, on the portable
  // set, im2col + GEMM.
  if (pass == ThinPass::Fwd) return (long)p.P * p.Q < 64L * 64;
  return true;
}

void conv2d_fwd_thin(const Conv2dParams& p, const float* x, const float* w, const Epilogue& e, float* y) {
  if (!conv2d_thin_supported(p)) std::abort();  // callers check conv2d_thin_supported
  const detail::ThinRowOps& ops = row_ops();
  const Geometry g = geometry(p);
  const int T = p.R * p.S;
  const size_t x_img = (size_t)p.C * p.H * p.W, PQ = (size_t)p.P * p.Q;
  const long tasks = (long)p.N * p.K;
#pragma omp parallel for schedule(static) if (tasks > 1 && !omp_in_parallel())
  for (long t = 0; t < tasks; ++t) {
    const int n = (int)(t / p.K), k = (int)(t % p.K);
    float* xpad = grow(workspace(), g.plane + g.flat);
    float* acc = xpad + g.plane;
    std::fill(acc, acc + g.flat, 0.0f);
    for (int c = 0; c < p.C; ++c) {
      pad_plane(p, g, x + n * x_img + (size_t)c * p.H * p.W, xpad);
      const float* wk = w + ((size_t)k * p.C + c) * T;
      for (int r = 0; r < p.R; ++r)
        for (int s = 0; s < p.S; ++s) ops.axpy(g.flat, wk[r * p.S + s], xpad + tap_offset(p, g, r, s), acc);
    }
    float* yk = y + ((size_t)n * p.K + k) * PQ;
    for (int r = 0; r < p.P; ++r) std::memcpy(yk + (size_t)r * p.Q, acc + (size_t)r * g.Wp, sizeof(float) * p.Q);
    if (!e.identity()) epilogue_strip(e, n, p.K, (int)PQ, k, k + 1, 0, (int)PQ, y + (size_t)n * p.K * PQ);
  }
}

void conv2d_bwd_data_thin(const Conv2dParams& p, const float* dy, const float* w, float* dx) {
  if (!conv2d_thin_supported(p)) std::abort();
  const detail::ThinRowOps& ops = row_ops();
  const Geometry g = geometry(p);
  const int T = p.R * p.S;
  const float* dyflat = widen_dy(p, g, dy);
  const long tasks = (long)p.N * p.C;
#pragma omp parallel for schedule(static) if (tasks > 1 && !omp_in_parallel())
  for (long t = 0; t < tasks; ++t) {
    const int n = (int)(t / p.C), c = (int)(t % p.C);
    float* dxpad = grow(workspace(), g.plane);
    std::fill(dxpad, dxpad + g.plane, 0.0f);
    for (int k = 0; k < p.K; ++k) {
      const float* g_k = dyflat + ((size_t)n * p.K + k) * g.flat;
      const float* wk = w + ((size_t)k * p.C + c) * T;
      for (int r = 0; r < p.R; ++r)
        for (int s = 0; s < p.S; ++s) ops.axpy(g.flat, wk[r * p.S + s], g_k, dxpad + tap_offset(p, g, r, s));
    }
    float* dxc = dx + ((size_t)n * p.C + c) * p.H * p.W;
    for (int h = 0; h < p.H; ++h)
      std::memcpy(dxc + (size_t)h * p.W, dxpad + (size_t)(h + p.pad_h) * g.Wp + p.pad_w, sizeof(float) * p.W);
  }
}

void conv2d_bwd_filter_thin(const Conv2dParams& p, const float* x, const float* dy, float* dw, float* db) {
  if (!conv2d_thin_supported(p)) std::abort();
  const detail::ThinRowOps& ops = row_ops();
  const Geometry g = geometry(p);
  const int T = p.R * p.S;
  const size_t x_img = (size_t)p.C * p.H * p.W, PQ = (size_t)p.P * p.Q;
  const float* dyflat = widen_dy(p, g, dy);
#pragma omp parallel for schedule(static) if (p.C > 1 && !omp_in_parallel())
  for (int c = 0; c < p.C; ++c) {
    float* xpad = grow(workspace(), g.plane);
    float sums[kThinMaxK * 64];  // [k][tap], T <= 64 here; larger kernels below
    std::vector<float> big;
    float* acc = T <= 64 ? sums : (big.resize((size_t)p.K * T), big.data());
    std::fill(acc, acc + (size_t)p.K * T, 0.0f);
    for (int n = 0; n < p.N; ++n) {  // images in order: the same sum at any thread count
      pad_plane(p, g, x + n * x_img + (size_t)c * p.H * p.W, xpad);
      for (int k = 0; k < p.K; ++k) {
        const float* g_k = dyflat + ((size_t)n * p.K + k) * g.flat;
        for (int r = 0; r < p.R; ++r)
          for (int s = 0; s < p.S; ++s)
            acc[k * T + r * p.S + s] += ops.dot(g.flat, g_k, xpad + tap_offset(p, g, r, s));
      }
    }
    for (int k = 0; k < p.K; ++k)
      for (int t = 0; t < T; ++t) dw[((size_t)k * p.C + c) * T + t] += acc[k * T + t];
  }
  if (db)
    for (int k = 0; k < p.K; ++k) {
      float sum = 0.0f;
      for (int n = 0; n < p.N; ++n) {
        const float* dyk = dy + ((size_t)n * p.K + k) * PQ;
        for (size_t i = 0; i < PQ; ++i) sum += dyk[i];
      }
      db[k] += sum;
    }
}

}  // namespace tinct::cpu
