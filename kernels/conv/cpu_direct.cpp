// conv/cpu_direct.cpp — the direct CPU convolution for layers with few output
// channels: y = conv(x, w), then the fused epilogue, without im2col.
//
// WHY: im2col + GEMM packs C*R*S floats per output pixel and then computes K
// outputs from them. For K = 2 (the models' last conv, 8 or 16 -> 2 channels
// at 512x512) that is 72-144 floats written and read twice per 2 outputs: the
// packing, not the arithmetic, is the layer's time. Here each output row
// segment is summed in registers straight from the image.
//
// WHAT: the contract of conv2d_fwd_fused (conv/ref.cpp + epilogue/ref.cpp is
// the specification) for conv2d_direct_supported shapes: stride 1, any
// padding and dilation, K <= 16, on the avx512 or avx2 kernel set (tiles in
// conv/cpu_direct_avx512.cpp / conv/cpu_direct_avx2.cpp).
//
// HOW, per image:
//   1. xp = x zero-padded to [C, P + (R-1) dil_h, Q + (S-1) dil_w] (+ slack at
//      the end for the last tile's over-read), so no tap tests a bound;
//   2. the weights are packed per block of mk <= 4 output channels as
//      [C][R][S][mk], the order the tile reads them;
//   3. for each output row, each channel block, each segment of px pixels:
//      one register tile over all C*R*S taps;
//   4. the epilogue on each band of rows while it is in cache.
// Threads: over images when the batch divides among them, otherwise inside
// each image: the padded copy over channels, then bands of output rows.
// Deterministic: every output is summed by one thread in tap order.
//
// BENCHMARK: bench/bench_conv_winograd.cpp prints the models' small-K layers
// (direct against im2col + GEMM, 1 and 2 threads):
//   ./build/bench/bench_conv_winograd --direct
#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "kernels/conv/cpu_direct.h"
#include "kernels/kernels.h"

namespace tinct::cpu {

namespace {

std::vector<float>& padded_workspace() {  // one image's padded copy, per thread
  thread_local std::vector<float> v;
  return v;
}
std::vector<float>& weight_workspace() {  // the packed weights, the calling thread's
  thread_local std::vector<float> v;
  return v;
}

struct Block {
  int k0;
  const detail::DirectTile* tile;
  const float* w;  // [C][R][S][mk]
};

struct Geometry {
  int Hp, Wp;      // padded plane
  size_t plane;    // Hp * Wp
  size_t floats;   // C planes + slack
};

Geometry geometry(const Conv2dParams& p) {
  Geometry g;
  g.Hp = p.P + (p.R - 1) * p.dil_h;
  g.Wp = p.Q + (p.S - 1) * p.dil_w;
  g.plane = (size_t)g.Hp * g.Wp;
  g.floats = g.plane * p.C + detail::kDirectMaxPixels;  // the last tile reads past its row
  return g;
}

// Channels [c0, c1) of image x into xp (geometry g).
void pad_channels(const Conv2dParams& p, const Geometry& g, const float* x, int c0, int c1, float* xp) {
  for (int c = c0; c < c1; ++c) {
    const float* xc = x + (size_t)c * p.H * p.W;
    float* dc = xp + (size_t)c * g.plane;
    for (int yy = 0; yy < g.Hp; ++yy) {
      float* d = dc + (size_t)yy * g.Wp;
      const int h = yy - p.pad_h;
      if (h < 0 || h >= p.H) {
        std::fill(d, d + g.Wp, 0.0f);
        continue;
      }
      const int lo = std::min(g.Wp, p.pad_w), hi = std::max(lo, std::min(g.Wp, p.pad_w + p.W));
      std::fill(d, d + lo, 0.0f);
      std::memcpy(d + lo, xc + (size_t)h * p.W + (lo - p.pad_w), sizeof(float) * (hi - lo));
      std::fill(d + hi, d + g.Wp, 0.0f);
    }
  }
}

// Output rows [p0, p1) of one image from its padded copy, then their epilogue.
void rows(const Conv2dParams& p, const Geometry& g, const std::vector<Block>& blocks, const float* xp, int p0,
          int p1, const Epilogue& e, int n, float* yn) {
  const size_t PQ = (size_t)p.P * p.Q;
  for (int oh = p0; oh < p1; ++oh)
    for (const Block& b : blocks) {
      const int step = b.tile->px;
      for (int q0 = 0; q0 < p.Q; q0 += step)
        b.tile->fn(xp + (size_t)oh * g.Wp + q0, g.plane, g.Wp, b.w, p.C, p.R, p.S, p.dil_h, p.dil_w,
                   yn + (size_t)b.k0 * PQ + (size_t)oh * p.Q + q0, PQ, std::min(step, p.Q - q0));
    }
  if (!e.identity()) epilogue_strip(e, n, p.K, (int)PQ, 0, p.K, p0 * p.Q, (p1 - p0) * p.Q, yn);
}

const detail::DirectTile* active_tiles() {
  switch (cpu_kernels()) {
    case CpuKernels::Avx512: return detail::direct_tiles_avx512();
    case CpuKernels::Avx2: return detail::direct_tiles_avx2();
    default: return nullptr;  // the portable set keeps im2col + GEMM
  }
}

}  // namespace

bool conv2d_direct_supported(const Conv2dParams& p) {
  return active_tiles() && p.stride_h == 1 && p.stride_w == 1 && p.K <= 16;
}

// Measured on the models' layers (bench_conv_winograd --direct, Zen 4, 1
// thread, 2026-12-04, loaded machine): avx512 1.3-2.5x im2col + GEMM for K <=
// 16; avx2 (16 registers: 4-channel tiles of 24 pixels) 2.2-2.4x for K <= 8,
// but 0.87-1.0x at K = 16, which stays with the GEMM. Rows must be a few tiles
// wide. TINCT_CONV_DIRECT=0 turns it off, =force takes every supported shape.
bool conv2d_direct_pays(const Conv2dParams& p) {
  static const int mode = [] {  // 0 off, 1 where it pays, 2 always
    const char* e = std::getenv("TINCT_CONV_DIRECT");
    return !e ? 1 : std::strcmp(e, "0") == 0 ? 0 : std::strcmp(e, "force") == 0 ? 2 : 1;
  }();
  if (mode == 0 || !conv2d_direct_supported(p)) return false;
  if (mode == 2) return true;
  const int max_k = cpu_kernels() == CpuKernels::Avx512 ? 16 : 8;
  return p.K <= max_k && p.Q >= 64 && (long)p.P * p.Q >= 64 * 64;
}

void conv2d_fwd_direct(const Conv2dParams& p, const float* x, const float* w, const Epilogue& e, float* y) {
  const detail::DirectTile* tiles = active_tiles();
  if (!tiles || !conv2d_direct_supported(p)) std::abort();  // callers check conv2d_direct_supported
  const int CRS = p.C * p.R * p.S;
  const Geometry g = geometry(p);

  // Channel blocks of at most 4, each with its weights as the tile reads them.
  std::vector<Block> blocks;
  std::vector<float>& packed = weight_workspace();
  packed.resize((size_t)p.K * CRS);
  float* wp = packed.data();
  for (int k0 = 0; k0 < p.K; k0 += 4) {
    const int mk = std::min(4, p.K - k0);
    float* d = wp + (size_t)k0 * CRS;
    for (int t = 0; t < CRS; ++t)
      for (int m = 0; m < mk; ++m) d[(size_t)t * mk + m] = w[(size_t)(k0 + m) * CRS + t];
    blocks.push_back({k0, &tiles[mk - 1], d});
  }

  const size_t x_img = (size_t)p.C * p.H * p.W, y_img = (size_t)p.K * p.P * p.Q;
  const int nt = omp_in_parallel() ? 1 : omp_get_max_threads();
  if (nt > 1 && p.N >= nt && (p.N % nt == 0 || p.N >= 4 * nt)) {
    // Images are independent: each thread pads and convolves its own.
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
    for (int n = 0; n < p.N; ++n) {
      std::vector<float>& v = padded_workspace();
      if (v.size() < g.floats) v.resize(g.floats);
      std::fill(v.begin() + (ptrdiff_t)(g.plane * p.C), v.begin() + (ptrdiff_t)g.floats, 0.0f);
      pad_channels(p, g, x + n * x_img, 0, p.C, v.data());
      rows(p, g, blocks, v.data(), 0, p.P, e, n, y + n * y_img);
    }
    return;
  }
  std::vector<float>& v = padded_workspace();  // the calling thread's, shared by the team
  if (v.size() < g.floats) v.resize(g.floats);
  float* xp = v.data();
  std::fill(xp + g.plane * p.C, xp + g.floats, 0.0f);
  // Bands of about 4 rows, at least 2 per thread.
  const int band = std::max(1, std::min(4, p.P / (2 * nt)));
  const int bands = (p.P + band - 1) / band;
#pragma omp parallel num_threads(nt) if (nt > 1)
  for (int n = 0; n < p.N; ++n) {
#pragma omp for schedule(static)
    for (int c = 0; c < p.C; ++c) pad_channels(p, g, x + n * x_img, c, c + 1, xp);
#pragma omp for schedule(static)
    for (int b = 0; b < bands; ++b)
      rows(p, g, blocks, xp, b * band, std::min(p.P, (b + 1) * band), e, n, y + n * y_img);
  }
}

}  // namespace tinct::cpu
