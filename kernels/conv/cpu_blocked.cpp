// conv/cpu_blocked.cpp — the blocked direct CPU convolution for layers of
// any width (the models' 32-128-channel 3x3 layers): y = conv(x, w), then the
// fused epilogue, without im2col.
//
// WHY: im2col + GEMM writes C*R*S floats per output pixel, packs them again
// for the GEMM and reads them back: for the compact models' layers (32-128
// channels at 64x64-256x256) that lowering was measured at a quarter of the
// forward, and a GEMM with K = 32 rows reuses each packed column only 32
// times. Here the output is summed in registers straight from a zero-padded
// copy of the image (C planes, 1/(R*S) of im2col's floats), each input vector
// loaded once per tap and reused by MK output channels.
//
// WHAT: the contract of conv2d_fwd_fused (conv/ref.cpp + epilogue/ref.cpp is
// the specification) for conv2d_blocked_supported shapes: any K, C, R, S,
// padding, dilation and row stride; column stride 1 or 2; the avx512 kernel
// set (tiles in conv/cpu_blocked_avx512.cpp; other sets keep im2col + GEMM).
//
// HOW, per image:
//   1. xp = x zero-padded, stored [Hp][C][Wp] (a padded row of every channel,
//      then the next row: the rows one output row reads are one contiguous
//      block, where [C][Hp][Wp] planes 2^n-ish bytes apart measured cache
//      conflicts on 256-wide layers); with column stride 2 every row is
//      stored deinterleaved, its even columns then its odd ones, so that the
//      pixels of one tap of consecutive outputs are contiguous again (tap
//      offsets `taps` say where each (r, s) starts); slack at the end for the
//      last tile's over-read;
//   2. the weights are packed per block of MK output channels as
//      [C][R*S][MK], the order the tile reads them;
//   3. for each output row, each segment of 16 V <= 64 pixels, each chunk of
//      input channels (all of them unless C > 256), each block: one register
//      tile of MK x V vectors (MK * V <= 24 accumulators);
//   4. the epilogue on each piece of work while it is in cache.
// Threads: over images when the batch divides among them, otherwise inside
// each image: the padded copy over channels, then pieces of (a band of output
// rows) x (a group of channel blocks). Deterministic: every output is summed
// by one thread in a fixed order.
//
// BENCHMARK: bench/bench_conv_blocked.cpp times the models' layers against
// im2col + GEMM at 1 and 2 threads, interleaved:
//   ./build/bench/bench_conv_blocked [reps=5]
#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "kernels/conv/cpu_blocked.h"
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

const detail::BlockedTileFn* active_tiles() {
  return cpu_kernels() == CpuKernels::Avx512 ? detail::blocked_tiles_avx512() : nullptr;
}

constexpr int kChunk = 256;

struct Plan {
  int Hp, Wp;          // padded plane (rows of Wp floats, deinterleaved for stride 2)
  int even;            // stride 2: the even columns' count (the odd ones follow)
  size_t ldh;          // floats from one padded row to the next: C * Wp (rows of all channels)
  size_t floats;       // Hp rows + slack
  std::vector<int> taps;  // R*S offsets of the taps from an output's first input
  int v_index, V, mk;  // tile: V pixel vectors, up to mk channels
  int seg;             // pixels per row segment (<= 16 V)
  int chunk;           // input channels per chunk
  int blocks;          // channel blocks of mk (the last may be smaller)
};

Plan plan(const Conv2dParams& p) {
  Plan g;
  g.Hp = (p.P - 1) * p.stride_h + (p.R - 1) * p.dil_h + 1;
  g.Wp = (p.Q - 1) * p.stride_w + (p.S - 1) * p.dil_w + 1;
  g.even = p.stride_w == 2 ? (g.Wp + 1) / 2 : g.Wp;
  g.ldh = (size_t)p.C * g.Wp;
  g.floats = g.ldh * g.Hp + detail::kBlockedMaxPixels + 16;  // the last tile reads past its row
  for (int r = 0; r < p.R; ++r)
    for (int s = 0; s < p.S; ++s) {
      const int off = s * p.dil_w;
      const int col = p.stride_w == 2 ? (off % 2 == 0 ? off / 2 : g.even + off / 2) : off;
      g.taps.push_back((int)(r * p.dil_h * g.ldh + col));
    }
  // Row segments of at most 4 vectors (64 pixels), as equal as that allows,
  // V even: 6x4 tiles measured 1.2-2x faster than 3x8 on 128- and 256-wide
  // rows (bench_conv_blocked, 1 thread): per tap they issue 6 broadcasts and
  // 4 (mostly line-splitting) pixel loads for 24 FMAs, not 3 and 8.
  const int segs = (p.Q + 63) / 64;
  g.seg = (p.Q + segs - 1) / segs;
  g.V = g.seg > 32 ? 4 : 2;
  g.v_index = g.V / 2 - 1;
  g.mk = std::min(p.K, detail::blocked_max_mk(g.V));
  g.blocks = (p.K + g.mk - 1) / g.mk;
  // Input channels per pass over the taps: all of them up to kChunk. Chunks
  // sized for L1 (8-32 channels) measured 10-40% slower than none on the
  // models' layers (their rows fit the 2 MiB L2), so only very wide layers
  // split, each later chunk adding to the outputs.
  g.chunk = std::min(p.C, kChunk);
  return g;
}

// Channels [c0, c1) of image x into xp (plan g).
void pad_channels(const Conv2dParams& p, const Plan& g, const float* x, int c0, int c1, float* xp) {
  for (int c = c0; c < c1; ++c) {
    const float* xc = x + (size_t)c * p.H * p.W;
    for (int yy = 0; yy < g.Hp; ++yy) {
      float* d = xp + yy * g.ldh + (size_t)c * g.Wp;
      const int h = yy - p.pad_h;
      if (h < 0 || h >= p.H) {
        std::fill(d, d + g.Wp, 0.0f);
        continue;
      }
      const float* src = xc + (size_t)h * p.W;
      if (p.stride_w == 1) {
        const int lo = std::min(g.Wp, p.pad_w), hi = std::max(lo, std::min(g.Wp, p.pad_w + p.W));
        std::fill(d, d + lo, 0.0f);
        std::memcpy(d + lo, src + (lo - p.pad_w), sizeof(float) * (hi - lo));
        std::fill(d + hi, d + g.Wp, 0.0f);
      } else {  // padded column j goes to j / 2, odd ones after the even
        for (int j = 0; j < g.Wp; ++j) {
          const int w = j - p.pad_w;
          d[(j & 1) ? g.even + j / 2 : j / 2] = w >= 0 && w < p.W ? src[w] : 0.0f;
        }
      }
    }
  }
}

// Output rows [p0, p1) and channel blocks [b0, b1) of one image, then their epilogue.
void piece(const Conv2dParams& p, const Plan& g, detail::BlockedTileFn const* tiles, const float* wpack,
           const float* xp, int p0, int p1, int b0, int b1, const Epilogue& e, int n, float* yn) {
  const size_t PQ = (size_t)p.P * p.Q;
  const int T = p.R * p.S;
  const size_t block_floats = (size_t)g.mk * p.C * T;
  for (int oh = p0; oh < p1; ++oh)
    for (int q0 = 0; q0 < p.Q; q0 += g.seg) {
      const int nq = std::min(g.seg, p.Q - q0);
      const float* xrow = xp + (size_t)oh * p.stride_h * g.ldh + q0;
      for (int c0 = 0; c0 < p.C; c0 += g.chunk) {
        const int cc = std::min(g.chunk, p.C - c0);
        for (int b = b0; b < b1; ++b) {
          const int k0 = b * g.mk, mk = std::min(g.mk, p.K - k0);
          tiles[g.v_index * detail::kBlockedMaxMk + mk - 1](
              xrow + (size_t)c0 * g.Wp, g.Wp, g.taps.data(), T,
              wpack + b * block_floats + (size_t)c0 * T * mk, cc, yn + (size_t)k0 * PQ + (size_t)oh * p.Q + q0, PQ,
              nq, c0 > 0);
        }
      }
    }
  if (!e.identity())
    epilogue_strip(e, n, p.K, (int)PQ, b0 * g.mk, std::min(p.K, b1 * g.mk), p0 * p.Q, (p1 - p0) * p.Q, yn);
}

}  // namespace

bool conv2d_blocked_supported(const Conv2dParams& p) {
  // The tap offsets are ints: the rows one output row reads must span less than 2^31 floats.
  const long reach = (long)p.R * p.dil_h * p.C * ((p.Q - 1) * p.stride_w + (p.S - 1) * p.dil_w + 1);
  return active_tiles() && (p.stride_w == 1 || p.stride_w == 2) && reach < (1L << 31);
}

bool conv2d_blocked_pays(const Conv2dParams& p) {
  static const int mode = [] {  // 0 off, 1 where it pays, 2 always
    const char* e = std::getenv("TINCT_CONV_BLOCKED");
    return !e ? 1 : std::strcmp(e, "0") == 0 ? 0 : std::strcmp(e, "force") == 0 ? 2 : 1;
  }();
  if (mode == 0 || !conv2d_blocked_supported(p)) return false;
  if (mode == 2) return true;
  // Measured on the models' layers (bench_conv_blocked, 1 thread, Xeon
  // avx512, 2026-12-05, loaded machine; bench/RESULTS.md): 3x3 stride 1 with
  // 16-128 channels in and 17-128 out 1.1-1.9x im2col + GEMM at 32-256-wide
  // rows; stride 2 0.3-0.9x (stays with the GEMM). K <= 16 is the direct
  // path's, wider layers Winograd's or the GEMM's.
  // The ResNet stems (1 input channel, 7x7 stride 2): im2col's GEMM has
  // only 49 rows of depth and its column buffer is 49 copies of the image;
  // here 1.24-1.56x it at 1 and 2 threads (bench_conv_blocked "stem", Xeon
  // with AMX, 2026-12-06, load 6; bench/RESULTS.md).
  const bool stem = p.C <= 4 && p.R >= 5 && p.S >= 5 && p.K > 16 && p.K <= 128 && p.Q >= 32;
  return stem || (p.R == 3 && p.S == 3 && p.stride_h == 1 && p.stride_w == 1 && p.C >= 16 && p.C <= 128 &&
                  p.K > 16 && p.K <= 128 && p.Q >= 32);
}

void conv2d_fwd_blocked(const Conv2dParams& p, const float* x, const float* w, const Epilogue& e, float* y) {
  const detail::BlockedTileFn* tiles = active_tiles();
  if (!tiles || !conv2d_blocked_supported(p)) std::abort();  // callers check conv2d_blocked_supported
  const Plan g = plan(p);
  const int T = p.R * p.S;

  // Weights per block of mk channels as [C][T][mk].
  std::vector<float>& packed = weight_workspace();
  packed.resize((size_t)g.blocks * g.mk * p.C * T);
  float* wpack = packed.data();
  for (int b = 0; b < g.blocks; ++b) {
    const int k0 = b * g.mk, mk = std::min(g.mk, p.K - k0);
    float* d = wpack + (size_t)b * g.mk * p.C * T;
    for (int ct = 0; ct < p.C * T; ++ct)
      for (int m = 0; m < mk; ++m) d[(size_t)ct * mk + m] = w[(size_t)(k0 + m) * p.C * T + ct];
  }

  const size_t x_img = (size_t)p.C * p.H * p.W, y_img = (size_t)p.K * p.P * p.Q;
  const int nt = omp_in_parallel() ? 1 : omp_get_max_threads();
  if (nt > 1 && p.N >= nt && (p.N % nt == 0 || p.N >= 4 * nt)) {
    // Images are independent: each thread pads and convolves its own.
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
    for (int n = 0; n < p.N; ++n) {
      std::vector<float>& v = padded_workspace();
      if (v.size() < g.floats) v.resize(g.floats);
      std::fill(v.begin() + (ptrdiff_t)(g.ldh * g.Hp), v.begin() + (ptrdiff_t)g.floats, 0.0f);
      pad_channels(p, g, x + n * x_img, 0, p.C, v.data());
      piece(p, g, tiles, wpack, v.data(), 0, p.P, 0, g.blocks, e, n, y + n * y_img);
    }
    return;
  }
  std::vector<float>& v = padded_workspace();  // the calling thread's, shared by the team
  if (v.size() < g.floats) v.resize(g.floats);
  float* xp = v.data();
  std::fill(xp + g.ldh * g.Hp, xp + g.floats, 0.0f);
  // Pieces: bands of up to 4 rows, at least 4 per thread; when the rows are
  // too few for that, the channel blocks split into groups as well.
  const int band = std::max(1, std::min(4, p.P / (4 * nt)));
  const int bands = (p.P + band - 1) / band;
  const int groups = nt > 1 && bands < 4 * nt ? std::min(g.blocks, (4 * nt + bands - 1) / bands) : 1;
  const int pieces = bands * groups;
#pragma omp parallel num_threads(nt) if (nt > 1)
  for (int n = 0; n < p.N; ++n) {
#pragma omp for schedule(static)
    for (int c = 0; c < p.C; ++c) pad_channels(p, g, x + n * x_img, c, c + 1, xp);
#pragma omp for schedule(static)
    for (int i = 0; i < pieces; ++i) {
      const int b = i / groups, k = i % groups;
      piece(p, g, tiles, wpack, xp, b * band, std::min(p.P, (b + 1) * band), g.blocks * k / groups,
            g.blocks * (k + 1) / groups, e, n, y + n * y_img);
    }
  }
}

}  // namespace tinct::cpu
