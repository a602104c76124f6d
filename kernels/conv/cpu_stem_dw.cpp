// conv/cpu_stem_dw.cpp — the backward-filter of the stems: convolutions with
// few input channels (C <= 4) and any number of outputs, stride 1 or 2,
// without im2col.
//
// WHY: the first layer of every model reads the 1-3 image channels (the
// classification model's 1 -> 16 3x3, the ResNet stems' 1 -> 32 7x7 stride 2,
// the PatchGAN's 3 -> 32 4x4 stride 2). Their dW = dY * col^T is a GEMM whose
// columns are only C*R*S = 9-49 filter taps against a depth of every pixel
// of the batch (131,072 at batch 8 of 128x128): for the 3x3 one the GEMM's
// 32-wide panel runs over two thirds empty, and every pixel is lowered R*S
// times for one use each: 9 GFLOP/s (bench/RESULTS.md, "The stems'
// backward-filter"). Where C*R*S fills the panels (the 4x4 stride-2 and 7x7
// stems, 48-49 columns) im2col + GEMM stays as fast on one thread.
//
// WHAT: the contract of conv2d_bwd_filter (dw +=, db +=); conv/ref.cpp is the
// specification. C <= 4, stride 1 or 2 in each direction, any padding and
// dilation.
//
// HOW: with stride st, output pixel (p, q) reads input row st p + r dil_h of
// the zero-padded image. Writing r dil_h = st ro + a splits that into phase a
// of the rows (every st-th, from a) at row p + ro; the same for columns. So
// each image channel is stored once as its st_h x st_w phase planes
// ([Hph][Wph], Hph = ceil(Hp / st_h): for stride 1 the padded plane itself),
// and every tap (r, s) of every (k, c) is ONE two-dimensional dot product of
// dy's plane [P][Q] with the window of its phase plane at (ro, so):
//   dw[k,c,r,s] += sum_n sum_{p,q} dy[n,k,p,q] * phase[n][c][a][b][p + ro][q + so]
// (the window lies inside the plane for every valid convolution). The thin
// convolution's row loops (conv/cpu_thin.h) run it: `dots` takes up to eight
// taps against one dy row at a time.
// Threads: over (k, c) pairs, each summing the images in order: 1 and 2
// threads give the same bits.
//
// On the avx512 set the dot products run MK <= 4 output channels at a time
// (conv/cpu_s2_stem_dw_avx512.cpp: each x window loaded once for MK dy rows;
// the same sums, the same bits), which also takes the PatchGAN's 4x4
// stride-2 first layer (C R S = 48) from im2col + GEMM.
//
// Switch: TINCT_CONV_STEM_DW=0 never (im2col + GEMM), =force every supported
// shape; TINCT_CONV_STEM_DW_MK=0 one output channel at a time (and the rule
// of C R S <= 32).
//
// BENCHMARK: bench/bench_conv_thin.cpp --stem (this path against im2col +
// GEMM on the models' stems, 1 and 2 threads):
//   ./build/bench/bench_conv_thin --stem
#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "kernels/common/lane_sum.h"
#include "kernels/conv/cpu_s2_stem_dw.h"
#include "kernels/conv/cpu_thin.h"
#include "kernels/kernels.h"

namespace tinct::cpu {

namespace {

constexpr int kStemMaxC = 4;

int mode() {  // 0 off, 1 where it pays, 2 always
  static const int m = [] {
    const char* e = std::getenv("TINCT_CONV_STEM_DW");
    return !e ? 1 : std::strcmp(e, "0") == 0 ? 0 : std::strcmp(e, "force") == 0 ? 2 : 1;
  }();
  return m;
}

// The several-channel tile (conv/cpu_s2_stem_dw_avx512.cpp) on the avx512
// set, unless TINCT_CONV_STEM_DW_MK=0; nullptr: the one-channel row loop.
detail::StemDotsFn multi_dots() {
  static const bool on = [] {
    const char* e = std::getenv("TINCT_CONV_STEM_DW_MK");
    return !(e && std::strcmp(e, "0") == 0);
  }();
  return on && cpu_kernels() == CpuKernels::Avx512 ? detail::stem_dots_avx512() : nullptr;
}

const detail::ThinRowOps& row_ops() {
  if (cpu_kernels() == CpuKernels::Avx512)
    if (const detail::ThinRowOps* o = detail::thin_row_ops_avx512()) return *o;
  return detail::thin_row_ops_generic();
}

struct Phases {
  int sh, sw;     // strides: phases per direction
  int Hp, Wp;     // the padded image
  int Hph, Wph;   // one phase plane
  size_t plane;   // Hph * Wph
};

Phases phases_of(const Conv2dParams& p) {
  Phases g;
  g.sh = p.stride_h, g.sw = p.stride_w;
  g.Hp = p.H + 2 * p.pad_h, g.Wp = p.W + 2 * p.pad_w;
  g.Hph = (g.Hp + g.sh - 1) / g.sh, g.Wph = (g.Wp + g.sw - 1) / g.sw;
  g.plane = (size_t)g.Hph * g.Wph;
  return g;
}

// out[a][b] = phase (a, b) of the zero-padded image plane src[H][W]:
// out[a][b][i][j] = xpad[sh i + a][sw j + b], 0 past the padded image.
void build_phases(const Conv2dParams& p, const Phases& g, const float* src, float* out) {
  for (int a = 0; a < g.sh; ++a)
    for (int b = 0; b < g.sw; ++b) {
      float* dst = out + (size_t)(a * g.sw + b) * g.plane;
      std::fill(dst, dst + g.plane, 0.0f);
      for (int i = 0; i < g.Hph; ++i) {
        const int h = g.sh * i + a - p.pad_h;
        if (h < 0 || h >= p.H) continue;
        const float* row = src + (size_t)h * p.W;
        float* drow = dst + (size_t)i * g.Wph;
        // columns j with 0 <= sw j + b - pad_w < W
        const int j0 = std::max(0, (p.pad_w - b + g.sw - 1) / g.sw);
        const int j1 = std::min(g.Wph, (p.W + p.pad_w - b + g.sw - 1) / g.sw);
        if (g.sw == 1) {
          if (j1 > j0) std::memcpy(drow + j0, row + (j0 + b - p.pad_w), sizeof(float) * (j1 - j0));
        } else {
          for (int j = j0; j < j1; ++j) drow[j] = row[g.sw * j + b - p.pad_w];
        }
      }
    }
}

std::vector<float>& phase_workspace() {  // every image channel's phase planes
  thread_local std::vector<float> v;
  return v;
}
float* grow(std::vector<float>& v, size_t n) {
  if (v.size() < n) v.resize(n);
  return v.data();
}

}  // namespace

bool conv2d_bwd_filter_stem_supported(const Conv2dParams& p) {
  return p.C >= 1 && p.C <= kStemMaxC && p.stride_h >= 1 && p.stride_h <= 2 && p.stride_w >= 1 &&
         p.stride_w <= 2 && p.P >= 1 && p.Q >= 1 && p.R * p.S <= 64;
}

bool conv2d_bwd_filter_stem_pays(const Conv2dParams& p) {
  const int m = mode();
  if (m == 0 || !conv2d_bwd_filter_stem_supported(p)) return false;
  if (m == 2) return true;
  // Layers with at most 4 outputs are the thin convolution's (conv2d_bwd_filter
  // asks it first). Measured on the models' stems at batch 8, idle
  // (bench_conv_thin --stem; bench/RESULTS.md, "The stems' backward-filter"):
  // 2.9x / 3.9x im2col + GEMM (1 / 2 threads) for 1 -> 16 3x3, whose 9 GEMM
  // columns leave a 32-wide panel mostly empty; 0.76-0.95x on one thread (and
  // 1.0-1.4x on two) where C R S = 48-49 columns fill the panels (the 4x4
  // stride-2 and 7x7 stems): so at most one panel's worth. With the
  // several-channel tile (avx512) those gain too, 1.16-1.61x on one thread
  // (bench_conv_thin --stem, 2026-12-06, load 2.5-4; bench/RESULTS.md), but
  // only the PatchGAN's (C R S = 48) moves here: with the 7x7 stems (49) on
  // this path, with either tile, tests/test_train_dist's regression run (2
  // ranks against 1 process, 6 steps) went from 0.07% to 21% of values apart
  // by more than 1e-5 -- the summation order, not understood yet.
  const int most = multi_dots() ? 48 : 32;
  return p.K > 4 && p.R * p.S >= 9 && p.C * p.R * p.S <= most;
}

void conv2d_bwd_filter_stem(const Conv2dParams& p, const float* x, const float* dy, float* dw, float* db) {
  if (!conv2d_bwd_filter_stem_supported(p)) std::abort();  // callers check conv2d_bwd_filter_stem_supported
  const detail::ThinRowOps& ops = row_ops();
  const Phases g = phases_of(p);
  const int T = p.R * p.S, nph = g.sh * g.sw;
  const size_t PQ = (size_t)p.P * p.Q;
  const size_t per_channel = (size_t)nph * g.plane;
  const bool parallel = !omp_in_parallel() && omp_get_max_threads() > 1;

  // Every (image, channel)'s phase planes, shared by all (k, c) tasks below
  // (C <= 4 keeps them a few MiB at most).
  const long planes = (long)p.N * p.C;
  float* ph = grow(phase_workspace(), (size_t)planes * per_channel);
#pragma omp parallel for schedule(static) if (parallel && planes > 1)
  for (long i = 0; i < planes; ++i) build_phases(p, g, x + (size_t)i * p.H * p.W, ph + (size_t)i * per_channel);
  // Where each tap reads: its phase plane and the offset inside it.
  size_t off[64];
  for (int r = 0; r < p.R; ++r)
    for (int s = 0; s < p.S; ++s) {
      const int rr = r * p.dil_h, ss = s * p.dil_w;
      const int a = rr % g.sh, ro = rr / g.sh, b = ss % g.sw, so = ss / g.sw;
      off[r * p.S + s] = (size_t)(a * g.sw + b) * g.plane + (size_t)ro * g.Wph + so;
    }

  // Tasks: (a block of up to MK output channels, an input channel); the
  // several-channel tile reads each x window once for MK channels. Every
  // sum is one (k, c, tap)'s own, whatever the block: 1 and 2 threads agree.
  const detail::StemDotsFn multi = multi_dots();
  const int MK = multi ? detail::kStemDotsMaxMk : 1;
  const long kblocks = (p.K + MK - 1) / MK, tasks = kblocks * p.C;
#pragma omp parallel for schedule(static) if (parallel && tasks > 1)
  for (long t = 0; t < tasks; ++t) {
    const int k0 = (int)(t / p.C) * MK, c = (int)(t % p.C), mk = std::min(MK, p.K - k0);
    float acc[detail::kStemDotsMaxMk * 64];
    std::fill(acc, acc + mk * T, 0.0f);
    float part[detail::kStemDotsMaxMk * 64];
    for (int n = 0; n < p.N; ++n) {  // images in order: the same sum at any thread count
      const float* gk = dy + ((size_t)n * p.K + k0) * PQ;
      const float* xc = ph + ((size_t)n * p.C + c) * per_channel;
      if (multi) multi(mk, p.P, (size_t)p.Q, gk, PQ, (size_t)p.Q, xc, (size_t)g.Wph, off, T, part);
      else ops.dots(p.P, (size_t)p.Q, gk, (size_t)p.Q, xc, (size_t)g.Wph, off, T, part);
      for (int u = 0; u < mk * T; ++u) acc[u] += part[u];
    }
    for (int m = 0; m < mk; ++m) {
      float* dwk = dw + ((size_t)(k0 + m) * p.C + c) * T;
      for (int u = 0; u < T; ++u) dwk[u] += acc[m * T + u];
    }
  }
  if (db) {
#pragma omp parallel for schedule(static) if (parallel && p.K > 1)
    for (int k = 0; k < p.K; ++k) {
      detail::LaneSum sum;  // as the GEMM path's bias gradient
      for (int n = 0; n < p.N; ++n) sum.add_floats(dy + ((size_t)n * p.K + k) * PQ, PQ);
      db[k] += (float)sum.total();
    }
  }
}

}  // namespace tinct::cpu
