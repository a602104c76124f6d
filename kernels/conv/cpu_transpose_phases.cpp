// conv/cpu_transpose_phases.cpp — the transposed convolution (conv2d
// backward-data) computed per output phase, without a column buffer: the
// decoders' ConvTranspose2d(k=4, s=2, p=1) upsampling layers.
//
// WHY: as backward-data, conv_transpose2d multiplies W^T into a column buffer
// of C*R*S rows (16x the output per channel for 4x4) and scatters it back
// with col2im; on the models' decoders that ran at ~37 GFLOP/s where their
// convolutions reach ~90 (bench/RESULTS.md). But with stride s the output
// pixel (s i + a, s j + b) only meets the taps r = r0(a) + s t, s' = s0(b) + s u,
// and reads x at (i + base(a) - t, j + base(b) - u): each of the s^2 output
// phases is a small stride-1 convolution of x (2x2 for k = 4, s = 2) with its
// own sub-kernel, and no tap is multiplied by a zero.
//
// WHAT: the contract of conv_transpose2d_fwd_fused / conv2d_bwd_data (the
// specification: conv2d_bwd_data_ref in conv/ref.cpp, then epilogue_ref) for
// conv_transpose2d_phases_supported shapes: dilation 1, any stride, kernel and
// padding (a phase the kernel has no tap for is just the epilogue of 0), any
// output size (an output_padding row is a phase row like any other); the
// avx512 kernel set.
//
// HOW, per image, in conv2d terms (x = dy [K, P, Q], y = dx [C, H, W]):
//   1. xp = x zero-padded to every row and column any phase reads, stored
//      [rows][K][cols] like the blocked convolution's copy (conv/cpu_blocked.cpp);
//   2. the weights of each phase are packed per block of mk output channels
//      as [K][taps][mk] (the blocked tile's order), once per call;
//   3. for each row i of the phase grid, each row phase a, each segment of
//      up to 64 phase columns, each block of channels: the blocked
//      convolution's register tile (conv/cpu_blocked_avx512.cpp) sums each
//      column phase b into a small buffer in L1, and the phases of the
//      segment are interleaved into output row s i + a (AVX-512 permutes for
//      s = 2, conv/cpu_transpose_phases_avx512.cpp), applying a simple
//      epilogue (scale, shift, ReLU / leaky ReLU: the decoders' folded batch
//      norm + ReLU) on the way;
//   4. any other epilogue on each piece of work while it is in cache.
// Threads: over images when the batch divides among them, otherwise inside
// each image: the padded copy over channels, then pieces of (a band of phase
// rows) x (a group of channel blocks), which write disjoint output rows.
// Deterministic: every output is summed by one thread in a fixed order.
//
// BENCHMARK: bench/bench_conv_transpose.cpp times the models' deconv layers
// against the GEMM + col2im path at 1 and 2 threads, interleaved:
//   ./build/bench/bench_conv_transpose [reps=5] [filter]
#include "kernels/conv/cpu_transpose_phases.h"

#include <omp.h>

#include <algorithm>
#include <climits>
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
std::vector<float>& phase_workspace() {  // one segment's column phases, per thread
  thread_local std::vector<float> v;
  return v;
}

const detail::BlockedTileFn* active_tiles() {
  return cpu_kernels() == CpuKernels::Avx512 ? detail::blocked_tiles_avx512() : nullptr;
}

constexpr int kChunk = 256;  // input channels per pass over the taps (as conv/cpu_blocked.cpp)

// One phase f of one axis: outputs o = stride * i + f, i < count, meet the taps
// k = first + stride * t, t < taps, which read input i + base - t.
struct Phase {
  int first, taps, base, count;
};
// The phases of one axis and the input range [lo, lo + size) they read.
struct Axis {
  std::vector<Phase> ph;
  int lo = 0, size = 0, max_count = 0;
};

// Output o = i_in * stride - pad + k meets input i_in through tap k.
Axis make_axis(int out, int k, int stride, int pad) {
  Axis a;
  int lo = INT_MAX, hi = INT_MIN;
  for (int f = 0; f < stride; ++f) {
    Phase q;
    q.first = (f + pad) % stride;
    q.taps = q.first < k ? (k - q.first + stride - 1) / stride : 0;
    q.base = (f + pad - q.first) / stride;
    q.count = out > f ? (out - f + stride - 1) / stride : 0;
    if (q.taps > 0 && q.count > 0) {
      lo = std::min(lo, q.base - q.taps + 1);
      hi = std::max(hi, q.base + q.count);
    }
    a.max_count = std::max(a.max_count, q.count);
    a.ph.push_back(q);
  }
  if (lo < hi) a.lo = lo, a.size = hi - lo;
  return a;
}

struct Plan {
  Axis rows, cols;
  size_t ldh = 0;       // floats from one padded row to the next: K * cols.size
  size_t floats = 0;    // the padded copy + slack for the last tile's over-read
  int seg = 0, V = 2, v_index = 0;  // phase columns per segment (<= 16 V), tile width
  int blocks = 0;       // channel blocks, as equal as possible, each <= blocked_max_mk(V)
  int chunk = 0;        // input channels per pass
  std::vector<std::vector<int>> taps;  // per phase (a * sw + b): tap offsets in xp
  std::vector<size_t> wofs;            // per phase: its packed weights in the buffer
  size_t wfloats = 0;
  int block_k0(int b, int C) const { return (int)((long)C * b / blocks); }
};

Plan make_plan(const Conv2dParams& p) {
  Plan g;
  g.rows = make_axis(p.H, p.R, p.stride_h, p.pad_h);
  g.cols = make_axis(p.W, p.S, p.stride_w, p.pad_w);
  g.ldh = (size_t)p.K * g.cols.size;
  g.floats = g.ldh * g.rows.size + detail::kBlockedMaxPixels + 16;
  // Segments of at most 64 phase columns, as equal as that allows; 4 vectors
  // wide where they fill them (the blocked convolution's measured choice).
  const int qmax = std::max(1, g.cols.max_count);
  const int segs = (qmax + 63) / 64;
  g.seg = (qmax + segs - 1) / segs;
  g.V = g.seg > 32 ? 4 : 2;
  g.v_index = g.V / 2 - 1;
  const int mk_max = detail::blocked_max_mk(g.V);
  g.blocks = (p.C + mk_max - 1) / mk_max;
  g.chunk = std::min(p.K, kChunk);
  for (const Phase& a : g.rows.ph)
    for (const Phase& b : g.cols.ph) {
      std::vector<int> t;
      for (int ti = 0; ti < a.taps; ++ti)
        for (int ui = 0; ui < b.taps; ++ui)
          t.push_back((int)((a.base - ti - g.rows.lo) * g.ldh + (b.base - ui - g.cols.lo)));
      g.wofs.push_back(g.wfloats);
      g.wfloats += (size_t)p.K * p.C * t.size();
      g.taps.push_back(std::move(t));
    }
  return g;
}

// Phase (a, b)'s weights per block of channels [k0, k1) as [K][taps][k1 - k0]
// (in conv2d terms w is [K][C][R][S]: x's channels by y's).
void pack_weights(const Conv2dParams& p, const Plan& g, const float* w, int a, int b, float* wpack) {
  const Phase& pr = g.rows.ph[a];
  const Phase& pc = g.cols.ph[b];
  float* d = wpack + g.wofs[a * p.stride_w + b];
  for (int blk = 0; blk < g.blocks; ++blk) {
    const int k0 = g.block_k0(blk, p.C), mk = g.block_k0(blk + 1, p.C) - k0;
    for (int c = 0; c < p.K; ++c)
      for (int ti = 0; ti < pr.taps; ++ti)
        for (int ui = 0; ui < pc.taps; ++ui) {
          const int r = pr.first + p.stride_h * ti, s = pc.first + p.stride_w * ui;
          for (int m = 0; m < mk; ++m) *d++ = w[(((size_t)c * p.C + k0 + m) * p.R + r) * p.S + s];
        }
  }
}

// Channels [c0, c1) of image x into xp.
void pad_channels(const Conv2dParams& p, const Plan& g, const float* x, int c0, int c1, float* xp) {
  const int Wp = g.cols.size;
  for (int c = c0; c < c1; ++c) {
    const float* xc = x + (size_t)c * p.P * p.Q;
    for (int yy = 0; yy < g.rows.size; ++yy) {
      float* d = xp + yy * g.ldh + (size_t)c * Wp;
      const int h = yy + g.rows.lo;
      if (h < 0 || h >= p.P) {
        std::fill(d, d + Wp, 0.0f);
        continue;
      }
      const int lo = std::clamp(-g.cols.lo, 0, Wp), hi = std::clamp(p.Q - g.cols.lo, lo, Wp);
      std::fill(d, d + lo, 0.0f);
      std::memcpy(d + lo, xc + (size_t)h * p.Q + (lo + g.cols.lo), sizeof(float) * (hi - lo));
      std::fill(d + hi, d + Wp, 0.0f);
    }
  }
}

// Whether the interleaving store can apply e itself: no residual, no post
// scale or shift, activation none, ReLU or leaky ReLU (the decoders' batch norm + ReLU).
bool is_simple(const Epilogue& e) {
  return !e.residual && !e.post_scale && !e.post_shift && (!e.has_act || e.act == Act::Relu || e.act == Act::LeakyRelu);
}
detail::SimpleEpilogue simple_epilogue(const Epilogue& e, int k) {
  detail::SimpleEpilogue s;
  s.scale = e.scale ? e.scale[k] : 1.0f;
  s.shift = e.shift ? e.shift[k] : 0.0f;
  s.act = !e.has_act ? 0 : e.act == Act::Relu ? 1 : 2;
  s.slope = e.slope;
  return s;
}

// Phase rows [i0, i1) (output rows stride_h * i + a) and channel blocks
// [b0, b1) of one image, then their epilogue.
void piece(const Conv2dParams& p, const Plan& g, const detail::BlockedTileFn* tiles, detail::InterleaveFn interleave,
           const float* wpack, const float* xp, int i0, int i1, int b0, int b1, const Epilogue& e, int n,
           float* yn) {
  const int sh = p.stride_h, sw = p.stride_w, HW = p.H * p.W;
  const int ld = (g.seg + 15) / 16 * 16;  // a phase row segment in the buffer
  const int mk_max = detail::blocked_max_mk(g.V);
  const bool fused = sw == 2 && interleave && is_simple(e);  // the store applies e
  std::vector<float>& buf = phase_workspace();
  if (buf.size() < (size_t)sw * mk_max * ld) buf.resize((size_t)sw * mk_max * ld);
  float* tmp = buf.data();
  for (int i = i0; i < i1; ++i)
    for (int a = 0; a < sh; ++a) {
      const Phase& pr = g.rows.ph[a];
      if (i >= pr.count) continue;
      const int h = sh * i + a;
      const float* xrow = xp + (size_t)i * g.ldh;
      for (int q0 = 0; q0 < g.cols.max_count; q0 += g.seg) {
        for (int blk = b0; blk < b1; ++blk) {
          const int k0 = g.block_k0(blk, p.C), mk = g.block_k0(blk + 1, p.C) - k0;
          const detail::BlockedTileFn tile = tiles[g.v_index * detail::kBlockedMaxMk + mk - 1];
          for (int b = 0; b < sw; ++b) {
            const Phase& pc = g.cols.ph[b];
            const int nq = std::min(g.seg, pc.count - q0);
            if (nq <= 0) continue;
            const int ph = a * sw + b, T = (int)g.taps[ph].size();
            const float* wp = wpack + g.wofs[ph] + (size_t)k0 * p.K * T;
            for (int c0 = 0; c0 < p.K; c0 += g.chunk) {
              const int cc = std::min(g.chunk, p.K - c0);
              tile(xrow + (size_t)c0 * g.cols.size + q0, g.cols.size, g.taps[ph].data(), T, wp + (size_t)c0 * T * mk, cc,
                   tmp + (size_t)b * mk_max * ld, ld, nq, c0 > 0);
            }
          }
          // The segment's outputs in row h: columns [sw * q0, sw * (q0 + seg)) of it.
          const int n_out = std::min(p.W - sw * q0, sw * g.seg);
          for (int m = 0; m < mk; ++m) {
            float* yrow = yn + (size_t)(k0 + m) * HW + (size_t)h * p.W + sw * q0;
            if (sw == 2 && interleave) {
              const detail::SimpleEpilogue se = fused ? simple_epilogue(e, k0 + m) : detail::SimpleEpilogue{};
              interleave(tmp + (size_t)m * ld, tmp + (size_t)(mk_max + m) * ld, n_out, se, yrow);
            } else {
              for (int o = 0; o < n_out; ++o) yrow[o] = tmp[(size_t)(o % sw * mk_max + m) * ld + o / sw];
            }
          }
        }
      }
    }
  if (!fused && !e.identity()) {
    const int h0 = sh * i0, h1 = std::min(p.H, sh * i1);
    epilogue_strip(e, n, p.C, HW, g.block_k0(b0, p.C), g.block_k0(b1, p.C), h0 * p.W, (h1 - h0) * p.W, yn);
  }
}

}  // namespace

bool conv_transpose2d_phases_supported(const Conv2dParams& p) {
  if (!active_tiles() || p.dil_h != 1 || p.dil_w != 1 || p.stride_h < 1 || p.stride_w < 1) return false;
  // The tap offsets are ints: the padded copy must hold less than 2^31 floats.
  const long rows = make_axis(p.H, p.R, p.stride_h, p.pad_h).size, cols = make_axis(p.W, p.S, p.stride_w, p.pad_w).size;
  return rows * cols * p.K < (1L << 31);
}

bool conv_transpose2d_phases_pays(const Conv2dParams& p) {
  static const int mode = [] {  // 0 off, 1 where it pays, 2 always
    const char* e = std::getenv("TINCT_CONV_PHASES");
    return !e ? 1 : std::strcmp(e, "0") == 0 ? 0 : std::strcmp(e, "force") == 0 ? 2 : 1;
  }();
  if (mode == 0 || !conv_transpose2d_phases_supported(p)) return false;
  if (mode == 2) return true;
  // Measured on the models' 4x4 stride 2 layers (bench_conv_transpose, Zen 4
  // avx512, 1 thread, 2026-12-05, machine at load 5-11; bench/RESULTS.md):
  // 1.2-2.5x the GEMM + col2im with up to 256 x 128 channels on inputs 32 or
  // more wide; on 16-wide inputs the tile fills half its 2 vectors and the
  // compact GAN's 256 -> 128 measured 0.8-1.3x; with 512 x 256 channels (the
  // full GAN's first deconv, the full classifier's) the GEMM is as fast or
  // faster (0.4-1.0x). Other strides and kernels were not measured.
  return p.stride_h == 2 && p.stride_w == 2 && p.R == 4 && p.S == 4 && p.Q >= 32 && (long)p.K * p.C <= 256 * 128;
}

void conv_transpose2d_fwd_phases(const Conv2dParams& p, const float* x, const float* w, const Epilogue& e,
                                 float* y) {
  const detail::BlockedTileFn* tiles = active_tiles();
  if (!tiles || !conv_transpose2d_phases_supported(p)) std::abort();  // callers check supported
  const detail::InterleaveFn interleave = detail::interleave2_avx512();
  const Plan g = make_plan(p);
  const int sh = p.stride_h, sw = p.stride_w;
  const int nt = omp_in_parallel() ? 1 : omp_get_max_threads();

  std::vector<float>& packed = weight_workspace();
  if (packed.size() < g.wfloats) packed.resize(g.wfloats);
  float* wpack = packed.data();
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1 && g.wfloats > 65536)
  for (int ph = 0; ph < sh * sw; ++ph) pack_weights(p, g, w, ph / sw, ph % sw, wpack);

  const size_t x_img = (size_t)p.K * p.P * p.Q, y_img = (size_t)p.C * p.H * p.W;
  const int grid = g.rows.max_count;  // phase rows
  if (nt > 1 && p.N >= nt && (p.N % nt == 0 || p.N >= 4 * nt)) {
    // Images are independent: each thread pads and convolves its own.
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
    for (int n = 0; n < p.N; ++n) {
      std::vector<float>& v = padded_workspace();
      if (v.size() < g.floats) v.resize(g.floats);
      std::fill(v.begin() + (ptrdiff_t)(g.ldh * g.rows.size), v.begin() + (ptrdiff_t)g.floats, 0.0f);
      pad_channels(p, g, x + n * x_img, 0, p.K, v.data());
      piece(p, g, tiles, interleave, wpack, v.data(), 0, grid, 0, g.blocks, e, n, y + n * y_img);
    }
    return;
  }
  std::vector<float>& v = padded_workspace();  // the calling thread's, shared by the team
  if (v.size() < g.floats) v.resize(g.floats);
  float* xp = v.data();
  std::fill(xp + g.ldh * g.rows.size, xp + g.floats, 0.0f);
  // Pieces: bands of up to 4 phase rows, at least 4 per thread; when the rows
  // are too few for that, the channel blocks split into groups as well.
  const int band = std::max(1, std::min(4, grid / (4 * nt)));
  const int bands = (grid + band - 1) / band;
  const int groups = nt > 1 && bands < 4 * nt ? std::min(g.blocks, (4 * nt + bands - 1) / bands) : 1;
  const int pieces = bands * groups;
#pragma omp parallel num_threads(nt) if (nt > 1)
  for (int n = 0; n < p.N; ++n) {
#pragma omp for schedule(static)
    for (int c = 0; c < p.K; ++c) pad_channels(p, g, x + n * x_img, c, c + 1, xp);
#pragma omp for schedule(static)
    for (int i = 0; i < pieces; ++i) {
      const int b = i / groups, k = i % groups;
      piece(p, g, tiles, interleave, wpack, xp, b * band, std::min(grid, (b + 1) * band), g.blocks * k / groups,
            g.blocks * (k + 1) / groups, e, n, y + n * y_img);
    }
  }
}

}  // namespace tinct::cpu
