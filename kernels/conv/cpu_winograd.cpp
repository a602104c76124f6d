// conv/cpu_winograd.cpp — the fast CPU Winograd F(4x4, 3x3) and F(3x3, 4x4)
// forward convolutions.
//
// WHAT: conv2d_fwd_winograd_fused computes y = epilogue(conv(x, w)) (the
// Epilogue of kernels.h: bias, batch norm, residual, activation) for the shapes
// conv2d_winograd_supported accepts (3x3, stride 1, padding a multiple of the
// dilation, pad / dil <= 2; dilation d as d^2 phases), the same result as
// conv2d_fwd_ref + epilogue_ref up to Winograd's rounding (~1e-4 relative in
// FP32). Its specification is conv/ref_winograd.cpp: the same tiles, the same
// matrices. conv2d_fwd_winograd is the bias-only form. The same driver runs
// F(3x3, 4x4) for the 4x4 stride-1 undilated convs (conv2d_winograd43_supported:
// the PatchGAN's 128 -> 256 layer): the same 6x6 input tiles and B^T, tiles
// stepping by 3, its own filter (6x4 G) and output (3x6 A^T) transforms.
//
// HOW: U[t] = G g G^T (t = 0..35, [K, C] each) is computed once per call and
// written straight in the packed-A layout of the active GEMM kernel set. The
// tiles of the batch are cut into groups of <= 16 tiles (conv/winograd_tiles.h:
// one run of consecutive tiles of a tile row, or on the avx512 set, where a
// row leaves lanes idle, several runs, "segments", one idle lane apart:
// 16 x 16 outputs 12 tiles a group, not 4; TINCT_WINOGRAD_SEGMENTS=0 turns
// that off), and the groups into blocks of about nb tiles; for each block:
//   V[t][C][nb] = B^T d B     (input transform, written straight into the
//                              GEMM's kc x nr packed-B panels: no repacking)
//   M[K][t][nb] = U[t] V[t]   (the micro-kernel of the kernel set called
//                              directly on the 36 products; M per output
//                              channel holds its 36 t rows together, as the
//                              output transform reads them)
//   y           = epilogue(A^T M A)  (output transform, tiles cropped at the
//                              edges, the epilogue applied in registers;
//                              F(3x3, 4x4): these two by chunks of output
//                              channels, M of a chunk in L2)
// The transforms come from conv/cpu_winograd_avx512.cpp on the avx512 kernel
// set (16 tiles in the 16 lanes) and from the portable loops below otherwise.
// Tanh / sigmoid epilogues run as a second pass (epilogue_strip).
// Threads: OpenMP over the blocks (dynamic; blocks write disjoint outputs
// (packed groups take a dilated layer's rows with both column phases
// together, so two threads do not write interleaved columns of one row),
// and every tile's sums are the same whatever block it lands in, so the result
// does not depend on the thread count or the schedule); batch 1 is cut into a
// multiple of the thread count of blocks, each at least one GEMM panel wide.
// The filter transform is split over the threads.
// Variants: forward (conv2d_fwd_winograd_fused / conv2d_fwd_winograd) and
// backward-data as the forward of dy with the flipped, transposed filter
// (conv2d_bwd_data_winograd), each F(4x4, 3x3) or F(3x3, 4x4) by the filter
// size; backward-filter (F(4x4, 3x3) only): conv/cpu_winograd_wgrad.cpp.
// Workspaces are thread_local, 64-byte aligned, and only grow.
//
// BENCHMARK: bench/bench_conv_winograd.cpp (target bench_conv_winograd) prints
// ms and GFLOP/s (direct-conv flops) of im2col + GEMM, the blocked direct conv
// and this file on the models' 3x3 stride-1 layers, at 1 and 2 threads
// (--bwd: backward-data against col2im + GEMM; --f43: the 4x4 layers):
//   ./build-cpu/bench/bench_conv_winograd 5
//   ./build-cpu/bench/bench_conv_winograd --bwd 5
//   ./build-cpu/bench/bench_conv_winograd --train --f43 5
#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "kernels/conv/cpu_winograd.h"
#include "kernels/common/aligned_scratch.h"
#include "kernels/conv/winograd_tiles.h"
#include "kernels/gemm/microkernels.h"

namespace tinct::cpu {

using detail::GemmKernel;
using detail::WinoEpi;
using detail::WinoIn;
using detail::WinoOut;
using detail::WinoSeg;
using detail::WinoTransforms;

namespace {

float* u_buffer(size_t n) {  // the 36 packed U[t], the calling thread's
  thread_local detail::AlignedScratch s;
  return s.get(n);
}
float* v_buffer(size_t n) {  // V of one block, per thread
  thread_local detail::AlignedScratch s;
  return s.get(n);
}
float* m_buffer(size_t n) {  // M of one block, per thread
  thread_local detail::AlignedScratch s;
  return s.get(n);
}
const float* filled(std::vector<float>& v, int n, float value) {
  v.assign(n, value);
  return v.data();
}

using winograd::Tiles;

// Row transform of 6 values by B^T (kWinoBT of the ref).
inline void bt6(const float* d, int st, float* o, int os) {
  const float d0 = d[0], d1 = d[st], d2 = d[2 * st], d3 = d[3 * st], d4 = d[4 * st], d5 = d[5 * st];
  o[0] = 4 * d0 - 5 * d2 + d4;
  o[os] = -4 * d1 - 4 * d2 + d3 + d4;
  o[2 * os] = 4 * d1 - 4 * d2 - d3 + d4;
  o[3 * os] = -2 * d1 - d2 + 2 * d3 + d4;
  o[4 * os] = 2 * d1 - d2 - 2 * d3 + d4;
  o[5 * os] = 4 * d1 - 5 * d3 + d5;
}
// Row transform of 6 values by A^T (kWinoAT).
inline void at6(const float* m, int st, float* o, int os) {
  const float m0 = m[0], m1 = m[st], m2 = m[2 * st], m3 = m[3 * st], m4 = m[4 * st], m5 = m[5 * st];
  const float s12 = m1 + m2, d12 = m1 - m2, s34 = m3 + m4, d34 = m3 - m4;
  o[0] = m0 + s12 + s34;
  o[os] = d12 + 2 * d34;
  o[2 * os] = s12 + 4 * s34;
  o[3 * os] = d12 + 8 * d34 + m5;
}

// The portable input transform (contract: conv/cpu_winograd.h), one tile at a time.
void input_portable(const WinoIn& in, float* V, size_t tstride, int col, int nr) {
  for (int s = 0, j = col; s < in.nseg; ++s)
  for (int l = 0; l < in.seg[s].cnt; ++l, ++j) {
    const WinoSeg& sg = in.seg[s];
    float* vj = V + (size_t)(j / nr) * nr * in.C + j % nr;
    int hs[6], ws[6];
    bool inside = true;
    for (int i = 0; i < 6; ++i) {
      hs[i] = sg.r0 + in.dh * i, ws[i] = sg.c0 + in.dw * (in.m * l + i);
      inside = inside && hs[i] >= 0 && hs[i] < in.H && ws[i] >= 0 && ws[i] < in.W;
    }
    for (int c = 0; c < in.C; ++c) {
      const float* xc = in.x + sg.off + (size_t)c * in.plane;
      float d[36], e[36];
      for (int i = 0; i < 6; ++i)
        for (int k = 0; k < 6; ++k) {
          const bool ok = inside || (hs[i] >= 0 && hs[i] < in.H && ws[k] >= 0 && ws[k] < in.W);
          d[i * 6 + k] = ok ? xc[(size_t)hs[i] * in.W + ws[k]] : 0.0f;
        }
      for (int k = 0; k < 6; ++k) bt6(d + k, 6, e + k, 6);  // columns: B^T d
      float* v = vj + (size_t)c * nr;
      for (int i = 0; i < 6; ++i) {  // rows: (B^T d) B
        float r[6];
        bt6(e + i * 6, 1, r, 1);
        for (int k = 0; k < 6; ++k) v[(i * 6 + k) * tstride] = r[k];
      }
    }
  }
}

// The portable output transform and epilogue, one tile at a time.
void output_portable(const WinoOut& o, const WinoEpi& e, const float* M, int ldm, int col) {
  const size_t PQ = (size_t)o.P * o.Q;
  for (int s = 0, j = col; s < o.nseg; ++s)
  for (int l = 0; l < o.seg[s].cnt; ++l, ++j) {
    const WinoSeg& sg = o.seg[s];
    for (int k = 0; k < o.K; ++k) {
      const float* mk = M + (size_t)k * 36 * ldm + j;
      float m[36], t[24], v[16];
      for (int i = 0; i < 36; ++i) m[i] = mk[(size_t)i * ldm];
      for (int c = 0; c < 6; ++c) at6(m + c, 6, t + c, 6);  // A^T M: 4 x 6
      for (int i = 0; i < 4; ++i) at6(t + i * 6, 1, v + i * 4, 1);
      for (int i = 0; i < 4; ++i) {
        const int op = sg.r0 + o.dh * i;
        if (op >= o.P) break;
        for (int c = 0; c < 4; ++c) {
          const int oq = sg.c0 + o.dw * (4 * l + c);
          if (oq >= o.Q) break;
          const size_t at = sg.off + (size_t)k * PQ + (size_t)op * o.Q + oq;
          float r = v[i * 4 + c] * e.sc[k] + e.sh[k];
          if (o.residual) r += o.residual[at];
          if (e.act == 1) r = r < 0.0f ? 0.0f : r;
          else if (e.act == 2) r = r < 0.0f ? e.slope * r : r;
          o.y[at] = r * e.psc[k] + e.psh[k];
        }
      }
    }
  }
}

const WinoTransforms kPortable{input_portable, output_portable, nullptr, false};

// Row transform of 6 values by the F(3x3, 4x4) A^T (kWino43AT).
inline void at6_3(const float* m, int st, float* o, int os) {
  const float m0 = m[0], m1 = m[st], m2 = m[2 * st], m3 = m[3 * st], m4 = m[4 * st], m5 = m[5 * st];
  const float s12 = m1 + m2, s34 = m3 + m4;
  o[0] = m0 + s12 + s34;
  o[os] = m1 - m2 + 2 * (m3 - m4);
  o[2 * os] = s12 + 4 * s34 + m5;
}

// The portable F(3x3, 4x4) output transform and epilogue, one tile at a time.
void output43_portable(const WinoOut& o, const WinoEpi& e, const float* M, int ldm, int col) {
  const size_t PQ = (size_t)o.P * o.Q;
  for (int s = 0, j = col; s < o.nseg; ++s)
  for (int l = 0; l < o.seg[s].cnt; ++l, ++j) {
    const WinoSeg& sg = o.seg[s];
    for (int k = 0; k < o.K; ++k) {
      const float* mk = M + (size_t)k * 36 * ldm + j;
      float m[36], t[18], v[9];
      for (int i = 0; i < 36; ++i) m[i] = mk[(size_t)i * ldm];
      for (int c = 0; c < 6; ++c) at6_3(m + c, 6, t + c, 6);  // A^T M: 3 x 6
      for (int i = 0; i < 3; ++i) at6_3(t + i * 6, 1, v + i * 3, 1);
      for (int i = 0; i < 3; ++i) {
        const int op = sg.r0 + o.dh * i;
        if (op >= o.P) break;
        for (int c = 0; c < 3; ++c) {
          const int oq = sg.c0 + o.dw * (3 * l + c);
          if (oq >= o.Q) break;
          const size_t at = sg.off + (size_t)k * PQ + (size_t)op * o.Q + oq;
          float r = v[i * 3 + c] * e.sc[k] + e.sh[k];
          if (o.residual) r += o.residual[at];
          if (e.act == 1) r = r < 0.0f ? 0.0f : r;
          else if (e.act == 2) r = r < 0.0f ? e.slope * r : r;
          o.y[at] = r * e.psc[k] + e.psh[k];
        }
      }
    }
  }
}

const WinoTransforms kPortable43{input_portable, output43_portable, nullptr, false};


// U[t] = G g G^T for every (k, c), written where pack_a_all would put it:
// slice pc = c / KC of U[t] is one block of all m_pad rows, row panels of MR
// (gemm/cpu.cpp); rows K..m_pad are zero. One row panel and one c at a time:
// the MR filters' 36 values land as 36 contiguous runs of MR floats (one
// store per (k, c, t) scattered over 36 U[t] megabytes apart cost a TLB miss
// each: 100 ms for 512 x 512 channels), the loops over the MR rows innermost
// so they vectorise.
template <int MR>
void filter_transform_t(int KC, const Conv2dParams& p, const float* w, float* U, size_t upack) {
  const int panels = (p.K + MR - 1) / MR, m_pad = panels * MR;
  constexpr int kMaxMr = MR;
  const float(*G)[4] = winograd::filter_g(p.R);  // conv/winograd_tiles.h
  const int R = p.R, RR = R * R;
#pragma omp parallel for schedule(static) if (!omp_in_parallel() && (long)p.K * p.C >= 4096)
  for (int ip = 0; ip < panels; ++ip) {
    const int rows = std::min(MR, p.K - ip * MR);
    for (int c = 0; c < p.C; ++c) {
      float gm[16][kMaxMr] = {}, e[6][4][kMaxMr] = {}, u[36][kMaxMr];
      for (int m = 0; m < rows; ++m)
        for (int q = 0; q < RR; ++q) gm[q][m] = w[((size_t)(ip * MR + m) * p.C + c) * RR + q];
      for (int i = 0; i < 6; ++i)
        for (int q = 0; q < R; ++q)
          for (int r = 0; r < R; ++r)
            for (int m = 0; m < kMaxMr; ++m) e[i][q][m] += G[i][r] * gm[r * R + q][m];
      for (int i = 0; i < 6; ++i)
        for (int j = 0; j < 6; ++j) {
          for (int m = 0; m < kMaxMr; ++m) u[i * 6 + j][m] = 0.0f;
          for (int q = 0; q < R; ++q)
            for (int m = 0; m < kMaxMr; ++m) u[i * 6 + j][m] += e[i][q][m] * G[j][q];
        }
      const int pc = c / KC * KC, kcs = std::min(KC, p.C - pc);
      const size_t at = (size_t)m_pad * pc + (size_t)ip * MR * kcs + (size_t)(c - pc) * MR;
      for (int t = 0; t < 36; ++t)
        for (int m = 0; m < MR; ++m) U[t * upack + at + m] = u[t][m];
    }
  }
}
// The tiles of gemm/microkernels.h: MR 6 or 14; or the kernel set's own
// vectorised transform (one row panel of MR filters at a time, the same layout).
void filter_transform(const GemmKernel& g, const WinoTransforms& tf, const Conv2dParams& p, const float* w, float* U,
                      size_t upack) {
  if (tf.filter && g.mr <= 16) {
    const int MR = g.mr, KC = g.kc, panels = (p.K + MR - 1) / MR;
    const size_t m_pad = (size_t)panels * MR;
#pragma omp parallel for schedule(static) if (!omp_in_parallel() && (long)p.K * p.C >= 4096)
    for (int ip = 0; ip < panels; ++ip) {
      const int rows = std::min(MR, p.K - ip * MR);
      for (int c = 0; c < p.C; ++c) {
        const int pc = c / KC * KC, kcs = std::min(KC, p.C - pc);
        tf.filter(w + ((size_t)ip * MR * p.C + c) * p.R * p.S, (size_t)p.C * p.R * p.S, rows, MR,
                  U + m_pad * pc + (size_t)ip * MR * kcs + (size_t)(c - pc) * MR, upack);
      }
    }
    return;
  }
  switch (g.mr) {
    case 6: return filter_transform_t<6>(g.kc, p, w, U, upack);
    case 14: return filter_transform_t<14>(g.kc, p, w, U, upack);
  }
  std::abort();
}

const WinoTransforms& active_transforms(const Conv2dParams& p) {
  return p.R == 4 ? detail::winograd43_active_transforms() : detail::winograd_active_transforms();
}

using winograd::Block;
using winograd::Group;

// TINCT_WINOGRAD_SEGMENTS=0: one segment a group (tile_groups) on every
// kernel set, as before the packed groups (to time them in one binary).
// TINCT_<NAME>=0 turns a path off (read once).
bool env_flag(const char* name) {
  const char* e = std::getenv(name);
  return !(e && std::strcmp(e, "0") == 0);
}

int g_segments_override = -1;  // detail::winograd_segments_for_test
bool segments_on() {
  static const bool on = [] {
    const char* e = std::getenv("TINCT_WINOGRAD_SEGMENTS");
    return !(e && std::strcmp(e, "0") == 0);
  }();
  return g_segments_override < 0 ? on : g_segments_override == 1;
}

}  // namespace

int detail::winograd_segments_for_test(int on) {
  const int was = g_segments_override;
  g_segments_override = on;
  return was;
}

// The groups of a call: packed segments where the transforms take them and
// some tile row (of <= max_tw tiles) leaves lanes of a group idle, one
// segment a group otherwise.
std::vector<winograd::Group> detail::winograd_groups(const Conv2dParams& p, const winograd::Tiles& T,
                                                     const WinoTransforms& tf, int nb, int max_tw) {
  if (tf.segments && segments_on() && T.TW % 16 != 0 && T.TW <= max_tw) return winograd::tile_groups_packed(p, T, nb);
  return winograd::tile_groups(p, T);
}

detail::WinoIn detail::winograd_in(const winograd::Group& G, const winograd::Tiles& T, const Conv2dParams& p,
                                   const float* x) {
  WinoIn in{x, (size_t)p.H * p.W, p.H, p.W, T.dh, T.dw, G.cnt, p.C, T.m, G.nseg, {}};
  for (int s = 0; s < G.nseg; ++s) {
    const winograd::Segment& S = G.seg[s];
    in.seg[s] = {(size_t)S.n * p.C * p.H * p.W, S.a + T.dh * (T.m * S.th - T.ph), S.b + T.dw * (T.m * S.tw0 - T.pw),
                 S.lane, S.cnt};
  }
  return in;
}

detail::WinoSeg detail::winograd_out_seg(const winograd::Segment& S, const winograd::Tiles& T, const Conv2dParams& p) {
  return {(size_t)S.n * p.K * p.P * p.Q, S.a + T.dh * T.m * S.th, S.b + T.dw * T.m * S.tw0, S.lane, S.cnt};
}

const WinoTransforms& detail::winograd43_active_transforms() {
  if (cpu_kernels() == CpuKernels::Avx512)
    if (const WinoTransforms* t = detail::winograd43_transforms_avx512()) return *t;
  return kPortable43;
}

const WinoTransforms& detail::winograd_active_transforms() {
  if (cpu_kernels() == CpuKernels::Avx512)
    if (const WinoTransforms* t = detail::winograd_transforms_avx512()) return *t;
  return kPortable;
}

void conv2d_fwd_winograd_fused(const Conv2dParams& p, const float* x, const float* w, const Epilogue& e,
                               float* y) {
  if (!conv2d_winograd_supported(p) && !conv2d_winograd43_supported(p))
    throw std::invalid_argument("conv2d_fwd_winograd_fused: needs a 3x3 stride-1 conv (padding a multiple of the "
                                "dilation, pad / dil <= 2) or a 4x4 stride-1 undilated one (padding <= 3)");
  const GemmKernel& g = detail::active_gemm_kernel();
  const WinoTransforms& tf = active_transforms(p);
  const Tiles T(p);
  const int MR = g.mr, NR = g.nr, KC = g.kc;
  const size_t m_pad = (size_t)(p.K + MR - 1) / MR * MR, upack = m_pad * p.C;
  float* U = u_buffer(upack * 36);
  filter_transform(g, tf, p, w, U, upack);

  // The epilogue's constants (1s and 0s for what it lacks); tanh and sigmoid
  // are left to a second pass.
  const bool vector_act = !e.has_act || e.act == Act::Relu || e.act == Act::LeakyRelu;
  thread_local std::vector<float> ones, zeros;
  const float* one = filled(ones, p.K, 1.0f);
  const float* zero = filled(zeros, p.K, 0.0f);
  WinoEpi ep{one, zero, one, zero, 0, 0.0f};
  if (vector_act) {
    ep.sc = e.scale ? e.scale : one, ep.sh = e.shift ? e.shift : zero;
    ep.psc = e.post_scale ? e.post_scale : one, ep.psh = e.post_shift ? e.post_shift : zero;
    ep.act = !e.has_act ? 0 : e.act == Act::Relu ? 1 : 2;
    ep.slope = e.slope;
  }

  // Groups of <= 16 tiles of one tile row; blocks of about nb tiles: V of a
  // block about 1 MiB, and at least two blocks per thread where there are
  // tiles enough.
  const long total = (long)p.N * T.per_image();
  const int nt = omp_in_parallel() ? 1 : omp_get_max_threads();
  int nb = (int)((1u << 20) / (sizeof(float) * 36 * (size_t)std::max(p.C, 1)));
  nb = std::max(64, std::min(256, nb / 16 * 16));
  if (nt > 1) {  // a multiple of the thread count of equal blocks (5 on 2 threads would run as 3 + 2)
    long want = std::max<long>(nt, (total + nb - 1) / nb);
    want = (want + nt - 1) / nt * nt;
    // at least one whole GEMM panel a block: 64 tiles on 2 threads as 4 x 16
    // ran the micro-kernel on half-empty panels (0.94x im2col instead of 2.7x)
    nb = (int)std::max<long>(std::min<long>(NR, total), ((total + want - 1) / want + 15) / 16 * 16);
  }
  const std::vector<Group> groups = detail::winograd_groups(p, T, tf, nb, 1 << 30);
  static const int d2_stores = env_flag("TINCT_WINOGRAD_D2STORE");
  const std::vector<Block> blocks = winograd::tile_blocks(groups, nb);
  int max_tiles = 0;
  for (const Block& bl : blocks) max_tiles = std::max(max_tiles, bl.tiles);
  const int ld = (max_tiles + NR - 1) / NR * NR;  // columns of V and M: whole panels
  const size_t tstride = (size_t)p.C * ld, PQ = (size_t)p.P * p.Q;

  const int threads = std::min<int>(nt, (int)blocks.size());
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1) if (threads > 1)
  for (int bi = 0; bi < (int)blocks.size(); ++bi) {
    const Block& bl = blocks[bi];
    float* V = v_buffer(36 * tstride);
    float* M = m_buffer((size_t)36 * p.K * ld);
    const int nb_pad = (bl.tiles + NR - 1) / NR * NR;
    if (nb_pad > bl.tiles) {  // the last panel's unused columns: zeros, not stale values
      const int jp = bl.tiles / NR, off = bl.tiles % NR;
      for (int t = 0; t < 36; ++t)
        for (int c = 0; c < p.C; ++c)
          std::fill_n(V + t * tstride + (size_t)jp * NR * p.C + (size_t)c * NR + off, NR - off, 0.0f);
    }
    int col = 0;
    for (int gi = bl.g0; gi < bl.g1; ++gi) {
      const Group& G = groups[gi];
      tf.input(detail::winograd_in(G, T, p, x), V, tstride, col, NR);
      col += G.cnt;
    }
    // M[k][t][j] = sum_c U[t][k][c] V[t][c][j]: per t, KC slices of C, B
    // panels of NR tiles (in L1 across the row tiles), row tiles of MR.
    const int ldc = 36 * ld;
    // F(3x3, 4x4): the GEMMs and the output transform by chunks of output
    // channels with about 256 KiB of M each, so the output transform reads M
    // from L2 (the PatchGAN forward 10.2 -> 8.8 ms, RESULTS.md; the 3x3 path
    // was not measured with it and keeps all K at once).
    const int KB = p.R == 4 ? std::max(MR, (int)((256u << 10) / (sizeof(float) * (size_t)ldc)) / MR * MR) : p.K;
    for (int k0 = 0; k0 < p.K; k0 += KB) {
      const int k1 = std::min(p.K, k0 + KB);
      for (int t = 0; t < 36; ++t) {
        const float* Ut = U + t * upack;
        const float* Vt = V + t * tstride;
        for (int pc = 0; pc < p.C; pc += KC) {
          const int kcs = std::min(KC, p.C - pc);
          const float beta = pc == 0 ? 0.0f : 1.0f;
          for (int j = 0; j < bl.tiles; j += NR) {
            const float* bp = Vt + (size_t)j * p.C + (size_t)pc * NR;
            for (int ir = k0; ir < k1; ir += MR)
              g.kernel(kcs, Ut + m_pad * pc + (size_t)ir * kcs, bp, M + (size_t)ir * ldc + (size_t)t * ld + j, ldc,
                       1.0f, beta, std::min(MR, p.K - ir), std::min(NR, bl.tiles - j));
          }
        }
      }
      const WinoEpi epk{ep.sc + k0, ep.sh + k0, ep.psc + k0, ep.psh + k0, ep.act, ep.slope};
      col = 0;
      for (int gi = bl.g0; gi < bl.g1; ++gi) {
        const Group& G = groups[gi];
        const size_t at = (size_t)k0 * PQ;
        WinoOut out{y + at, e.residual && vector_act ? e.residual + at : nullptr, p.P, p.Q, T.dh, T.dw, G.cnt,
                    k1 - k0, d2_stores, G.nseg, {}};
        for (int s = 0; s < G.nseg; ++s) out.seg[s] = detail::winograd_out_seg(G.seg[s], T, p);
        tf.output(out, epk, M + (size_t)k0 * ldc, ld, col);
        col += G.cnt;
      }
    }
  }

  if (!vector_act) {  // tanh / sigmoid: the whole epilogue as a second pass
#pragma omp parallel for schedule(static) if (!omp_in_parallel() && nt > 1)
    for (long nk = 0; nk < (long)p.N * p.K; ++nk) {
      const int n = (int)(nk / p.K), k = (int)(nk % p.K);
      epilogue_strip(e, n, p.K, (int)PQ, k, k + 1, 0, (int)PQ, y + (size_t)n * p.K * PQ);
    }
  }
}

void conv2d_fwd_winograd(const Conv2dParams& p, const float* x, const float* w, const float* b, float* y) {
  Epilogue e;
  e.shift = b;
  conv2d_fwd_winograd_fused(p, x, w, e, y);
}

// Backward-data of an R x R (3 or 4) stride-1 convolution as a forward one:
// dx[c, h, w] = sum dy[k, h + pad - d r, w + pad - d s] w[k, c, r, s] is the
// convolution of dy with w'[c, k, r, s] = w[k, c, R-1 - r, R-1 - s] (flipped,
// transposed) at padding d - pad, which Winograd supports whenever p's
// padding is d or 2 d (or 0) for 3x3, any padding <= 3 for 4x4.
Conv2dParams winograd_bwd_data_params(const Conv2dParams& p) {
  Conv2dParams q = p;
  q.C = p.K, q.K = p.C, q.H = p.P, q.W = p.Q;
  q.pad_h = (p.R - 1) * p.dil_h - p.pad_h, q.pad_w = (p.S - 1) * p.dil_w - p.pad_w;
  if ((p.R != 3 && p.R != 4) || p.S != p.R || p.stride_h != 1 || p.stride_w != 1 || q.pad_h < 0 || q.pad_w < 0 ||
      !q.finalize() || q.P != p.H || q.Q != p.W)
    q.N = 0;
  return q;
}

bool conv2d_bwd_data_winograd_supported(const Conv2dParams& p) {
  const Conv2dParams q = winograd_bwd_data_params(p);
  return q.N > 0 && (conv2d_winograd_supported(q) || conv2d_winograd43_supported(q));
}

void conv2d_bwd_data_winograd(const Conv2dParams& p, const float* dy, const float* w, float* dx) {
  if (!conv2d_bwd_data_winograd_supported(p))
    throw std::invalid_argument("conv2d_bwd_data_winograd: needs a 3x3 stride-1 conv with padding 0, d or 2 d, or a "
                                "4x4 stride-1 undilated one with padding <= 3");
  const Conv2dParams q = winograd_bwd_data_params(p);
  const int RS = p.R * p.S;
  thread_local std::vector<float> wt;
  wt.resize((size_t)p.K * p.C * RS);
  for (int k = 0; k < p.K; ++k)
    for (int c = 0; c < p.C; ++c)
      for (int t = 0; t < RS; ++t)
        wt[((size_t)c * p.K + k) * RS + t] = w[((size_t)k * p.C + c) * RS + RS - 1 - t];
  conv2d_fwd_winograd_fused(q, dy, wt.data(), Epilogue{}, dx);
}

}  // namespace tinct::cpu

namespace tinct::cpu {

namespace {
thread_local bool t_winograd_off = false;
thread_local bool t_training = false;

// The tiles an image needs before Winograd beats im2col + GEMM with the
// avx512 transforms: per image, never per batch (a layer's path, and so its
// rounding, must not depend on the batch size, or a batch split over ranks
// would not train as one process: tests/test_train_dist.cpp).
int env_mode(const char* name) {  // 0 off, 1 where it pays, 2 always
  const char* e = std::getenv(name);
  return !e ? 1 : std::strcmp(e, "0") == 0 ? 0 : std::strcmp(e, "force") == 0 ? 2 : 1;
}
bool winograd_rule(const Conv2dParams& p, int min_tiles_per_image) {
  if (t_winograd_off) return false;
  static const int mode = env_mode("TINCT_CONV_WINOGRAD");
  if (mode == 0 || !conv2d_winograd_supported(p)) return false;
  if (mode == 2) return true;
  if (cpu_kernels() != CpuKernels::Avx512)  // portable transforms: the old rule, measured with them
    return p.C >= 256 && p.K >= 256 && (long)p.P * p.Q >= 64 * 64;
  return p.C >= 16 && p.K >= 16 && winograd::Tiles(p).per_image() >= min_tiles_per_image;
}
}  // namespace
WinogradOffScope::WinogradOffScope(bool off) : saved_(t_winograd_off) { t_winograd_off = saved_ || off; }
WinogradOffScope::~WinogradOffScope() { t_winograd_off = saved_; }
WinogradTrainingScope::WinogradTrainingScope(bool on) : saved_(t_training) { t_training = saved_ || on; }
WinogradTrainingScope::~WinogradTrainingScope() { t_training = saved_; }

// Where conv2d_fwd takes this path, ahead of the direct and blocked convs
// (bench/bench_conv_winograd.cpp, RESULTS.md "CPU Winograd F(4x4,3x3),
// vectorised"; Zen 4, batch 1, 1 thread, loaded machine): 1.6-5x im2col + GEMM
// and 1.2-4x the blocked conv on every 3x3 stride-1 layer of the models at
// 512x512 input with >= 16 channels in and out and >= 64 tiles an image (a
// 32 x 32 output), 2.4x the direct conv on 16 -> 16 at 256 x 256; on 16 x 16 outputs
// (16 tiles) it lost to im2col (0.5-0.9x): the filter transform (36 K C
// values written per call) costs as much as the products there.
// In a training step (WinogradTrainingScope) the batch shares that transform:
// at batch 8 (bench_conv_winograd --train [--bwd], Xeon, 1 thread, idle,
// 2026-12-06; RESULTS.md) the forward and backward-data were 1.2-2.7x
// im2col + GEMM on every layer of the models with an 8 x 8 output or more
// (>= 4 tiles an image, dilated 16 x 16 included) and 0.7-0.85x on 4 x 4
// (1 tile), so training takes >= 4 tiles.
// TINCT_CONV_WINOGRAD=0 turns it off, =force takes it for every supported
// shape (to check a model's outputs against the im2col path). Other kernel
// sets (scalar transforms) keep the earlier rule: >= 256 channels, >= 64 x 64.
// F(3x3, 4x4) (the 4x4 stride-1 layers: the PatchGAN's 128 -> 256 on 16 x 16):
// only inside a training step (the discriminator does not run at inference),
// on the avx512 kernel set, >= 16 channels in and out and >= min_tiles tiles an
// image (per image, as above). TINCT_CONV_WINOGRAD=0 or TINCT_CONV_WINOGRAD43=0
// turn it off, TINCT_CONV_WINOGRAD43=force takes it for every 4x4 shape it
// supports. Measured (bench_conv_winograd --train [--bwd | --wgrad] --f43,
// batch 8, 1 thread, Xeon, loaded; RESULTS.md "Winograd F(3x3, 4x4)"):
// forward 1.85x and backward-data 1.4x im2col + GEMM on the PatchGAN layer
// (25 tiles an image), 1.4x on 64 -> 128 at 16 x 16, ~1.0x at 9 tiles; the
// backward-filter 0.53x at 25 tiles, 1.0x at 121, 1.4x at 441.
bool winograd43_rule(const Conv2dParams& p, int min_tiles) {
  static const int all = env_mode("TINCT_CONV_WINOGRAD"), mode = env_mode("TINCT_CONV_WINOGRAD43");
  if (t_winograd_off || all == 0 || mode == 0 || !conv2d_winograd43_supported(p)) return false;
  if (mode == 2) return true;
  return t_training && cpu_kernels() == CpuKernels::Avx512 && p.C >= 16 && p.K >= 16 &&
         winograd::Tiles(p).per_image() >= min_tiles;
}

bool conv2d_winograd_pays(const Conv2dParams& p) {
  return p.R == 4 ? winograd43_rule(p, 16) : winograd_rule(p, t_training ? 4 : 64);
}

bool conv2d_bwd_data_winograd_pays(const Conv2dParams& p) {
  if (t_winograd_off || !conv2d_bwd_data_winograd_supported(p)) return false;
  return conv2d_winograd_pays(winograd_bwd_data_params(p));
}

// The backward-filter (conv/cpu_winograd_wgrad.cpp): the forward's switch and
// rule (per image, never per batch), plus TINCT_CONV_WINOGRAD_DW=0 to turn off
// only this pass (to time it against im2col + GEMM in one binary).
bool conv2d_bwd_filter_winograd_pays(const Conv2dParams& p) {
  static const bool off = [] {
    const char* e = std::getenv("TINCT_CONV_WINOGRAD_DW");
    return e && std::strcmp(e, "0") == 0;
  }();
  // Measured (RESULTS.md "CPU Winograd backward-filter", batch 8, 1 thread):
  // 1.1-1.7x im2col + GEMM on every layer of the models this rule picks
  // (16 -> 16 at 64 x 64 included); on 16 x 16 outputs it won only at batch 8
  // and 128 -> 128 (1.1x; 0.75x dilated; 0.4-0.7x at batch 1), so the rule
  // stays the inference forward's, per image, in training too.
  // With the packed segments (16 tiles of 4 rows in one group, not 4 groups
  // of 4; TINCT_WINOGRAD_SEGMENTS) it also takes the 16 x 16 outputs (16 tiles
  // an image) with >= 128 channels in and out, undilated or >= 256 channels:
  // bench_conv_winograd --wgrad, batch 8, Xeon, load 4, 1 / 2 threads:
  // 128 -> 128 1.36x / 1.38x im2col + GEMM, the full preset's 128 -> 128
  // 1.31x / 1.39x, 512 -> 512 dilated 2 1.16x / 1.31x; left out: 128 -> 128
  // dilated 2 (1.02x / 1.04x), 64 -> 128 (1.0x). At batch 1 these lose
  // (0.6-0.85x; the rule is per image, never per batch).
  if (off) return false;
  if (p.R == 4) return winograd43_rule(p, 256);
  if (winograd_rule(p, 64)) return true;
  const bool undilated = p.dil_h == 1 && p.dil_w == 1;
  return segments_on() && p.C >= 128 && p.K >= 128 && (undilated || (p.C >= 256 && p.K >= 256)) &&
         winograd_rule(p, 16);
}

}  // namespace tinct::cpu
