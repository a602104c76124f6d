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
// the specification) for conv2d_direct_supported shapes: stride 1 or 2 (rows
// and columns each; dilation 1 with stride 2 in columns), any padding and
// dilation, K <= 16, on the avx512 or avx2 kernel set (tiles in
// conv/cpu_direct_avx512.cpp / conv/cpu_direct_avx2.cpp).
//
// HOW, per band of output rows of an image (about 384 KiB of input copy):
//   1. xp = the rows of x the band reads, zero-padded, [C][rows][Wp] (stride
//      2 in columns: [C][2 phases][rows][Wp], see Geometry) + slack at the
//      end for the last tile's over-read, so no tap tests a bound;
//   2. the weights are packed once per call per block of mk <= 4 output
//      channels as [C][R][S][mk] (stride 2: [C][2][R][ceil(S/2)][mk]), the
//      order the tile reads them;
//   3. for each output row, each channel block, each segment of px pixels:
//      one register tile over all the taps;
//   4. the epilogue on the band while it is in cache.
// Threads: over images when the batch divides among them, otherwise over the
// bands of each image (each thread pads its own bands).
// Deterministic: every output is summed by one thread in tap order, whatever
// the bands.
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

// The padded copy, made a band of output rows at a time: the input rows the
// band reads (R - 1 more than its own), every channel, so the copy is still
// in L2 when the tiles read it (a whole padded image is 8-17 MiB at 512x512
// and went to memory and back). Stride 1 in columns: one plane per channel,
// row length Wp. Stride 2 in columns: two planes per channel, its padded even
// columns and its odd ones (phase ph holds padded column 2 j + ph at j), so
// the convolution is a stride-1 one over 2C channels with taps s' = s / 2 of
// phase s % 2 (Sp = ceil(S / 2) taps a row, a zero weight where 2 s' + ph >=
// S): every tap reads a contiguous run of pixels, as the tiles need. Stride
// 2 in rows only moves the row an output row starts from.
struct Geometry {
  int Wp;          // padded row (of one phase)
  int phases;      // column phases per channel: 1 or stride_w (2)
  int Sp, dwp;     // taps a row per phase and their step, as the tile reads them
  int band;        // output rows a band
};

Geometry geometry(const Conv2dParams& p, int nt) {
  Geometry g;
  g.phases = p.stride_w;
  if (g.phases == 1) {
    g.Wp = p.Q + (p.S - 1) * p.dil_w, g.Sp = p.S, g.dwp = p.dil_w;
  } else {  // stride 2, dilation 1 (conv2d_direct_supported)
    g.Sp = (p.S + 1) / 2, g.dwp = 1;
    g.Wp = p.Q + g.Sp - 1;
  }
  // About 96 Ki floats (384 KiB) of copy a band; with the threads sharing an
  // image, at least 2 bands a thread.
  const long per_row = (long)p.C * g.phases * g.Wp * p.stride_h;
  g.band = (int)std::max(1L, std::min<long>(p.P, (96L << 10) / std::max(1L, per_row)));
  if (nt > 1) g.band = std::max(1, std::min(g.band, p.P / (2 * nt)));
  return g;
}

// Padded rows [y0, y1) of every channel of image x into xp, planes of
// (y1 - y0) rows (geometry g).
void pad_rows(const Conv2dParams& p, const Geometry& g, const float* x, int y0, int y1, float* xp) {
  const size_t plane = (size_t)(y1 - y0) * g.Wp;
  for (int c = 0; c < p.C; ++c) {
    const float* xc = x + (size_t)c * p.H * p.W;
    for (int ph = 0; ph < g.phases; ++ph) {
      float* dc = xp + (size_t)(c * g.phases + ph) * plane;
      for (int yy = y0; yy < y1; ++yy) {
        float* d = dc + (size_t)(yy - y0) * g.Wp;
        const int h = yy - p.pad_h;
        if (h < 0 || h >= p.H) {
          std::fill(d, d + g.Wp, 0.0f);
          continue;
        }
        const float* xr = xc + (size_t)h * p.W;
        if (g.phases == 1) {
          const int lo = std::min(g.Wp, p.pad_w), hi = std::max(lo, std::min(g.Wp, p.pad_w + p.W));
          std::fill(d, d + lo, 0.0f);
          std::memcpy(d + lo, xr + (lo - p.pad_w), sizeof(float) * (hi - lo));
          std::fill(d + hi, d + g.Wp, 0.0f);
        } else {  // d[j] = input column 2 j + ph - pad_w, zero outside [0, W)
          const int off = ph - p.pad_w;
          const int lo = std::min(g.Wp, std::max(0, (1 - off) / 2));           // first j with 2 j + off >= 0
          const int hi = std::max(lo, std::min(g.Wp, (p.W - off + 1) / 2));  // first j with 2 j + off >= W
          std::fill(d, d + lo, 0.0f);
          const float* src = xr + off;
          for (int j = lo; j < hi; ++j) d[j] = src[2 * j];  // a constant stride: vectorised
          std::fill(d + hi, d + g.Wp, 0.0f);
        }
      }
    }
  }
}

// Output rows [p0, p1) of image x (its output yn): their band of the padded
// copy in the calling thread's workspace, the tiles, then the epilogue while
// the rows are in cache.
void rows(const Conv2dParams& p, const Geometry& g, const std::vector<Block>& blocks, const float* x, int p0,
          int p1, const Epilogue& e, int n, float* yn) {
  const int y0 = p0 * p.stride_h, y1 = (p1 - 1) * p.stride_h + (p.R - 1) * p.dil_h + 1;
  const size_t plane = (size_t)(y1 - y0) * g.Wp, data = plane * p.C * g.phases;
  std::vector<float>& v = padded_workspace();
  if (v.size() < data + detail::kDirectMaxPixels) v.resize(data + detail::kDirectMaxPixels);
  float* xp = v.data();
  std::fill(xp + data, xp + data + detail::kDirectMaxPixels, 0.0f);  // the last tile reads past its row
  pad_rows(p, g, x, y0, y1, xp);
  const size_t PQ = (size_t)p.P * p.Q;
  for (int oh = p0; oh < p1; ++oh)
    for (const Block& b : blocks) {
      const int step = b.tile->px;
      for (int q0 = 0; q0 < p.Q; q0 += step)
        b.tile->fn(xp + (size_t)(oh - p0) * p.stride_h * g.Wp + q0, plane, g.Wp, b.w, p.C * g.phases, p.R, g.Sp,
                   p.dil_h, g.dwp, yn + (size_t)b.k0 * PQ + (size_t)oh * p.Q + q0, PQ, std::min(step, p.Q - q0));
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
  const bool strides = (p.stride_h == 1 || p.stride_h == 2) &&
                       (p.stride_w == 1 || (p.stride_w == 2 && p.dil_w == 1));
  return active_tiles() && strides && p.K <= 16;
}

// Measured on the models' layers (bench_conv_winograd --direct, Zen 4, 1
// thread, 2026-12-04, loaded machine): avx512 1.3-2.5x im2col + GEMM for K <=
// 16; avx2 (16 registers: 4-channel tiles of 24 pixels) 2.2-2.4x for K <= 8,
// but 0.87-1.0x at K = 16, which stays with the GEMM. Rows must be a few tiles
// wide. Stride 2 (Xeon avx512, 1 thread, CPU time, 2026-12-06, load 4): the
// classification model's 16 -> 16 3x3 at 512x512 input 1.21x, a 4x4 3 -> 16
// 1.3-1.6x, the regression decoder's 16 -> 8 4x4 deconvolution's
// backward-data (8 -> 16, 4x4 stride 2, 64-pixel rows) 1.52x, but 16 -> 16
// 3x3 on 128x128 inputs (64-pixel rows) 0.98x (an odd kernel wastes a zero tap
// a row: 2 + 2 taps for 3): odd kernels with stride 2 take rows of 128
// outputs or more. TINCT_CONV_DIRECT=0 turns it off, =force takes every
// supported shape.
bool conv2d_direct_pays(const Conv2dParams& p) {
  static const int mode = [] {  // 0 off, 1 where it pays, 2 always
    const char* e = std::getenv("TINCT_CONV_DIRECT");
    return !e ? 1 : std::strcmp(e, "0") == 0 ? 0 : std::strcmp(e, "force") == 0 ? 2 : 1;
  }();
  if (mode == 0 || !conv2d_direct_supported(p)) return false;
  if (mode == 2) return true;
  const int max_k = cpu_kernels() == CpuKernels::Avx512 ? 16 : 8;
  const int min_q = p.stride_w == 2 && p.S % 2 == 1 ? 128 : 64;
  return p.K <= max_k && p.Q >= min_q && (long)p.P * p.Q >= 64 * 64;
}

void conv2d_fwd_direct(const Conv2dParams& p, const float* x, const float* w, const Epilogue& e, float* y) {
  const detail::DirectTile* tiles = active_tiles();
  if (!tiles || !conv2d_direct_supported(p)) std::abort();  // callers check conv2d_direct_supported
  const int CRS = p.C * p.R * p.S;
  const int nt = omp_in_parallel() ? 1 : omp_get_max_threads();
  const bool by_image = nt > 1 && p.N >= nt && (p.N % nt == 0 || p.N >= 4 * nt);
  const Geometry g = geometry(p, by_image ? 1 : nt);
  const int taps = p.C * g.phases * p.R * g.Sp;  // the tile's (channel, row, tap) steps

  // Channel blocks of at most 4, each with its weights as the tile reads them:
  // [C * phases][R][Sp][mk], tap s = s' phases + ph of channel c = c' / phases
  // (zero past S).
  std::vector<Block> blocks;
  std::vector<float>& packed = weight_workspace();
  packed.resize((size_t)p.K * taps);
  float* wp = packed.data();
  for (int k0 = 0; k0 < p.K; k0 += 4) {
    const int mk = std::min(4, p.K - k0);
    float* d = wp + (size_t)k0 * taps;
    for (int t = 0; t < taps; ++t) {
      const int sp = t % g.Sp, r = t / g.Sp % p.R, cp = t / (g.Sp * p.R);
      const int c = cp / g.phases, sx = sp * g.phases + cp % g.phases;
      for (int m = 0; m < mk; ++m)
        d[(size_t)t * mk + m] = sx < p.S ? w[(size_t)(k0 + m) * CRS + ((size_t)c * p.R + r) * p.S + sx] : 0.0f;
    }
    blocks.push_back({k0, &tiles[mk - 1], d});
  }

  const size_t x_img = (size_t)p.C * p.H * p.W, y_img = (size_t)p.K * p.P * p.Q;
  const int bands = (p.P + g.band - 1) / g.band;
  if (by_image) {
    // Images are independent: each thread convolves its own, band by band.
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
    for (int n = 0; n < p.N; ++n)
      for (int b = 0; b < bands; ++b)
        rows(p, g, blocks, x + n * x_img, b * g.band, std::min(p.P, (b + 1) * g.band), e, n, y + n * y_img);
    return;
  }
  // The threads share each image: bands over the threads, each padding its own.
#pragma omp parallel num_threads(nt) if (nt > 1)
  for (int n = 0; n < p.N; ++n) {
#pragma omp for schedule(static)
    for (int b = 0; b < bands; ++b)
      rows(p, g, blocks, x + n * x_img, b * g.band, std::min(p.P, (b + 1) * g.band), e, n, y + n * y_img);
  }
}

}  // namespace tinct::cpu
