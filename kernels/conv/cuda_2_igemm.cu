// conv/cuda_2_igemm.cu — CUDA convolution variant 2: 2-D convolution as
// implicit GEMMs, forward, backward-data (which is also conv_transpose2d's
// forward) and backward-filter (split-K), FP32 FMA (no tensor cores).
//
// What it computes (kernels/conv/ref.cpp is the specification):
//   y[n,k,p,q]   = b[k] + sum_{c,r,s} x[n,c,p*sh-ph+r*dh, q*sw-pw+s*dw] w[k,c,r,s]
//   dx[n,c,h,w]  = sum over the (k,p,q,r,s) that read (h,w) of dy[n,k,p,q] w[k,c,r,s]
//   dw[k,c,r,s] += sum_{n,p,q} dy[n,k,p,q] x[n,c,h(p,r),w(q,s)];  db[k] += sum dy
//
// Variants of the family (the numbers mean the same in tinct-kbench,
// bench_gpu_kernels and kernels/README.md): 0 cuDNN (benchmarks only),
// 1 naive (cuda_1_naive.cu), 2 this file, 3 Winograd F(4x4, 3x3)
// (cuda_3_winograd.cu); dispatch.cu picks 2 or 3 per shape
// (conv2d_fwd, conv2d_bwd_data, conv2d_bwd_filter); conv2d_*_igemm name
// this variant explicitly.
//
// How:
//     forward      C[M=K][N*P*Q] = W[K][C*R*S] . im2col(x)[C*R*S][N*P*Q]; the
//                  im2col matrix is never formed: each thread gathers its
//                  pixel column of a BK x BN slice straight from x, with
//                  stride, padding and dilation in the index math. Bias is
//                  added in the epilogue.
//     backward-data the same kernel in "gather" form: each dx pixel sums over
//                  the (k, r, s) that reach it. For stride > 1 only the taps
//                  with (h + pad - r*dil) divisible by the stride reach a
//                  given pixel, and which ones depends only on h mod stride.
//                  So dx is split into stride_h*stride_w phases (pixels with
//                  the same h mod sh, w mod sw), each a dense conv over its
//                  own tap subset: no work on taps that fail the divisibility
//                  test (a 4x4 stride-2 transposed conv does 4 dense 2x2
//                  convs instead of one 4x4 conv with 3/4 of its taps zero).
//                  All phases run in one launch (blockIdx.z = phase).
//     backward-filter C[K][C*R*S] = dy[K][N*P*Q] . im2col(x)^T, reducing over
//                  N*P*Q. Few output tiles, a very long reduction: split-K
//                  over N*P*Q (blockIdx.y = split), each split writing its
//                  partial tile to a workspace, then a second pass adds the
//                  splits to dw in a fixed order. DETERMINISTIC (no atomics):
//                  the same inputs give the same dw bit for bit on a given
//                  GPU. With one split the epilogue adds straight into dw.
// Tiles (see tile_core.cuh for the register tiling):
//   block tile BM x BN x BK(8), thread tile TM x TN, shared memory double
//   buffered (the next slice is fetched into registers while the current one
//   is multiplied: one __syncthreads per slice).
//     M > 64 (enough blocks)  128x128, 8x8 per thread, 256 threads
//     M <= 64                  64x128, 4x8, 256 threads
//     M <= 32                  32x128, 4x4, 256 threads
//     M <= 8                    8x128, 2x4, 128 threads (K = 1, 2 output convs)
//   backward-filter: 128x128 8x8, 64x64 4x4 (K <= 64 or C*R*S <= 64),
//   16x64 2x4 (K <= 16).
// Two gather paths: when the reduction channels are a multiple of 8 (every
// layer but the 1- and 3-channel inputs) the reduction index is ordered
// (tap, channel) so that a whole BK slice shares one filter tap: one bounds
// check per thread and slice, the channel just adds a plane stride. Otherwise
// each element decomposes its index with FastDiv (multiply-high, no division).
//
// Limits: 32-bit offsets within one image (C*H*W, K*P*Q < 2^31) and
// N*P*Q, N*H*W < 2^31; checked, std::invalid_argument otherwise.
//
// Benchmark: tinct-kbench conv2d_fwd 2 --n 8 --c 64 --h 64 --w 64 --k 64
// (likewise conv2d_bwd_data, conv2d_bwd_filter); cuDNN beside it on the model
// shapes of docs/anchors.md: build/bench/bench_gpu_kernels --benchmark_filter=conv
// Expected: 55-75% of cuDNN FP32 on the large 3x3 layers (a register-staged
// 128x128x8 SGEMM core reaches ~70-80% of cuBLAS FP32; the gather adds a few
// instructions per slice), the cheap 1-channel layers bound by the output write.
#include <cuda_runtime.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <numeric>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/cuda.h"
#include "kernels/common/common.cuh"
#include "kernels/common/tile_core.cuh"
#include "kernels/conv/cuda_check.cuh"
#include "kernels/kernels.h"

namespace tinct::cuda {
namespace {

using detail::BK;
using detail::check_conv;
using detail::FastDiv;
using detail::kFar;
using detail::kPad;

// ============================================================================
// Forward and backward-data: one implicit-GEMM kernel over a general gather
// ============================================================================
//
// The kernel computes out[n, m, oh0 + i*ostr_h, ow0 + i2*ostr_w] =
//   bias[m] + sum_{t < Rt, u < St, cr < Cr} W(m, cr, t, u) * in[n, cr, hin, win]
// with  hin = i*istr_h + ioff_h + t*idil_h,  win likewise (zero outside),
//       W(m, cr, t, u) = w[w_base + m*w_sm + cr*w_sc + t*w_st + u*w_su].
// Forward:       m = k, cr = c, taps (r, s), istr = stride, ioff = -pad,
//                idil = dil, one phase covering all of y.
// Backward-data: m = c, cr = k, in = dy; phase (a, b) covers the dx pixels
//                h = a + i*sh, w = b + i2*sw; its taps are the r with
//                (a + pad_h - r*dil_h) % sh == 0, which form the progression
//                r0 + t*step, step = sh / gcd(sh, dil_h); then
//                p = i + (a + pad_h - r0*dil_h)/sh - t*(dil_h / gcd), exactly:
//                istr = 1, ioff = (a + pad - r0*dil)/sh, idil = -dil/gcd.
// The GEMM reduction index is kidx = (t*St + u)*Cr + cr (tap-major).

constexpr int kMaxPhases = 16;

struct Phase {
  int Gh, Gw;              // output grid of this phase: i < Gh, i2 < Gw
  int oh0, ow0;            // its first output row / column in the output tensor
  int ioff_h, ioff_w;      // input row = i*istr_h + ioff_h + t*idil_h
  int idil_h, idil_w;
  int Rt, St;              // taps (rows, columns) of this phase
  int w_base, w_st, w_su;  // weight offset of tap (t, u): w_base + t*w_st + u*w_su
  int npix;                // N * Gh * Gw: GEMM columns
  int kred;                // Rt * St * Cr: GEMM reduction length
  FastDiv div_St, div_GhGw, div_Gw;
};

struct IgemmParams {
  const float* in;
  const float* w;
  const float* bias;  // may be null
  float* out;
  int M;                 // GEMM rows: output channels
  int Cr, Hin, Win;      // reduction channels and the plane they are gathered from
  int istr_h, istr_w;    // input stride per output-grid step
  int Ho, Wo;            // output tensor plane
  int ostr_h, ostr_w;    // output-grid step in the output tensor
  int w_sm, w_sc;        // weight offset of (row m, reduction channel cr)
  long long in_img, out_img;  // per-image element strides
  FastDiv div_Cr;
  int m_tiles;
  int vec_store;  // one phase covering the whole output plane, plane % 4 == 0, aligned
  int nphase;
  Phase ph[kMaxPhases];
};

template <int BM, int BN, int TM, int TN>
struct TileTraits {
  static constexpr int kThreads = (BM / TM) * (BN / TN);
  static constexpr int kMinBlocks = kThreads >= 256 ? 2 : 4;  // ~128 registers per thread
};

template <int BM, int BN, int TM, int TN, bool kFastC>
__global__ void __launch_bounds__(TileTraits<BM, BN, TM, TN>::kThreads,
                                  TileTraits<BM, BN, TM, TN>::kMinBlocks)
    igemm_kernel(const __grid_constant__ IgemmParams p) {
  constexpr int T = TileTraits<BM, BN, TM, TN>::kThreads;
  constexpr int A_ELEMS = BM * BK;
  constexpr int A_PER = (A_ELEMS + T - 1) / T;  // weights per thread per slice
  constexpr int ASTEP = T / BM;                 // reduction rows between them
  constexpr int B_PER = BK * BN / T;            // gathered inputs per thread per slice
  constexpr int BSTEP = T / BN;
  static_assert(T % BN == 0 && (BK * BN) % T == 0, "each thread gathers one pixel column");
  static_assert(T % BM == 0, "each thread loads one weight row");

  const Phase& ph = p.ph[blockIdx.z];
  // Consecutive blocks take the M tiles of one pixel tile: the gathered input
  // tile is then read from DRAM once and from L2 by its sibling blocks.
  const int m_tile = blockIdx.x % p.m_tiles;
  const int pix0 = (blockIdx.x / p.m_tiles) * BN;
  if (pix0 >= ph.npix) return;  // whole block, before any barrier
  const int m0 = m_tile * BM;

  __shared__ __align__(16) float As[2][BK][BM + kPad];
  __shared__ __align__(16) float Bs[2][BK][BN + kPad];

  const int t = threadIdx.x;
  const int tx = t % (BN / TN), ty = t / (BN / TN);

  // ---- B (gather) side: one pixel column per thread, fixed for the whole loop.
  // Consecutive threads take consecutive pixels: for stride 1 their loads are
  // consecutive addresses (coalesced) and the shared-memory stores hit
  // consecutive banks.
  const int bj = t % BN, bk0 = t / BN;
  const float* in_img = p.in;
  int hb = kFar, wb = kFar;  // a pixel past the end reads only zeros
  {
    const int j = pix0 + bj;
    if (j < ph.npix) {
      const int n = ph.div_GhGw.div(j);
      const int rem = j - n * (ph.Gh * ph.Gw);
      const int i = ph.div_Gw.div(rem);
      const int i2 = rem - i * ph.Gw;
      in_img = p.in + size_t(n) * size_t(p.in_img);
      hb = i * p.istr_h + ph.ioff_h;
      wb = i2 * p.istr_w + ph.ioff_w;
    }
  }
  const int HWin = p.Hin * p.Win;

  // ---- A (weight) side: one row per thread. Consecutive threads take
  // consecutive rows so that the transposing store As[kk][m] is conflict-free;
  // the weights are small and L2-resident, so the strided reads cost little.
  const int am = t % BM, ak0 = t / BM;
  const bool a_row_ok = (m0 + am) < p.M;
  const float* w_row = p.w + ph.w_base + (a_row_ok ? size_t(m0 + am) * size_t(p.w_sm) : 0);

  float ra[A_PER], rb[B_PER];
  // Fast path state: the slice's tap (ft, fu) and first channel fc, uniform
  // over the block (a slice never straddles two taps when Cr % BK == 0).
  int ft = 0, fu = 0, fc = 0;

  auto gather = [&](int k0) {
    if constexpr (kFastC) {
      const int h = hb + ft * ph.idil_h, w = wb + fu * ph.idil_w;
      const bool ok = unsigned(h) < unsigned(p.Hin) && unsigned(w) < unsigned(p.Win);
      const float* src = in_img + (ok ? (fc + bk0) * HWin + h * p.Win + w : 0);
#pragma unroll
      for (int i = 0; i < B_PER; ++i) rb[i] = ok ? __ldg(src + i * BSTEP * HWin) : 0.0f;
      const float* wsrc = w_row + ft * ph.w_st + fu * ph.w_su + (fc + ak0) * p.w_sc;
#pragma unroll
      for (int i = 0; i < A_PER; ++i) {
        const int kk = ak0 + ASTEP * i;
        ra[i] = (a_row_ok && (A_ELEMS >= T || kk < BK)) ? __ldg(wsrc + i * ASTEP * p.w_sc) : 0.0f;
      }
    } else {
#pragma unroll
      for (int i = 0; i < B_PER; ++i) {
        const int kidx = k0 + bk0 + BSTEP * i;
        float v = 0.0f;
        if (kidx < ph.kred) {
          const int tu = p.div_Cr.div(kidx);
          const int cr = kidx - tu * p.Cr;
          const int tt = ph.div_St.div(tu);
          const int uu = tu - tt * ph.St;
          const int h = hb + tt * ph.idil_h, w = wb + uu * ph.idil_w;
          if (unsigned(h) < unsigned(p.Hin) && unsigned(w) < unsigned(p.Win))
            v = __ldg(in_img + cr * HWin + h * p.Win + w);
        }
        rb[i] = v;
      }
#pragma unroll
      for (int i = 0; i < A_PER; ++i) {
        const int kk = ak0 + ASTEP * i;
        const int kidx = k0 + kk;
        float v = 0.0f;
        if (a_row_ok && (A_ELEMS >= T || kk < BK) && kidx < ph.kred) {
          const int tu = p.div_Cr.div(kidx);
          const int cr = kidx - tu * p.Cr;
          const int tt = ph.div_St.div(tu);
          const int uu = tu - tt * ph.St;
          v = __ldg(w_row + cr * p.w_sc + tt * ph.w_st + uu * ph.w_su);
        }
        ra[i] = v;
      }
    }
  };
  auto stash = [&](int buf) {
#pragma unroll
    for (int i = 0; i < A_PER; ++i) {
      const int kk = ak0 + ASTEP * i;
      if (A_ELEMS >= T || kk < BK) As[buf][kk][am] = ra[i];
    }
#pragma unroll
    for (int i = 0; i < B_PER; ++i) Bs[buf][bk0 + BSTEP * i][bj] = rb[i];
  };
  auto advance = [&]() {  // fast path: next slice = next BK channels, then next tap
    fc += BK;
    if (fc == p.Cr) {
      fc = 0;
      if (++fu == ph.St) {
        fu = 0;
        ++ft;
      }
    }
  };

  float acc[TM][TN];
#pragma unroll
  for (int i = 0; i < TM; ++i)
#pragma unroll
    for (int j = 0; j < TN; ++j) acc[i][j] = 0.0f;

  const int nk = (ph.kred + BK - 1) / BK;  // 0 for a phase no tap reaches: writes zeros
  if (nk > 0) {
    gather(0);
    stash(0);
    __syncthreads();
    for (int kt = 0; kt < nk; ++kt) {
      const int cur = kt & 1;
      const bool more = kt + 1 < nk;
      if (more) {  // issue the global loads of the next slice before the math
        if constexpr (kFastC) advance();
        gather((kt + 1) * BK);
      }
      detail::mma_stage<BM, BN, TM, TN>(As[cur], Bs[cur], tx, ty, acc);
      if (more) stash(cur ^ 1);  // the other buffer: last read before the previous barrier
      __syncthreads();
    }
  }

  // ---- epilogue: bias, then NCHW stores. For a fixed row the 16 (or 32)
  // threads of a warp row write 4 consecutive pixels each: 256-512 contiguous
  // bytes, as float4 when the plane allows it.
  const int GhGw = ph.Gh * ph.Gw;
  const size_t out_plane = size_t(p.Ho) * p.Wo;
#pragma unroll
  for (int i = 0; i < TM; ++i) {
    const int m = m0 + detail::frag_row<BM, TM>(ty, i);
    if (m >= p.M) continue;
    const float bv = p.bias ? __ldg(p.bias + m) : 0.0f;
#pragma unroll
    for (int g = 0; g < TN / 4; ++g) {
      const int jb = pix0 + g * (BN / TN) * 4 + tx * 4;
      if (jb >= ph.npix) continue;
      if (p.vec_store) {  // jb % 4 == 0 and GhGw % 4 == 0: 4 pixels of one image
        const int n = ph.div_GhGw.div(jb);
        const int pq = jb - n * GhGw;
        const float4 v = make_float4(acc[i][4 * g] + bv, acc[i][4 * g + 1] + bv,
                                     acc[i][4 * g + 2] + bv, acc[i][4 * g + 3] + bv);
        *reinterpret_cast<float4*>(p.out + size_t(n) * size_t(p.out_img) + size_t(m) * out_plane +
                                   pq) = v;
      } else {
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const int j = jb + e;
          if (j >= ph.npix) break;
          const int n = ph.div_GhGw.div(j);
          const int rem = j - n * GhGw;
          const int ii = ph.div_Gw.div(rem);
          const int ii2 = rem - ii * ph.Gw;
          const int oh = ph.oh0 + ii * p.ostr_h, ow = ph.ow0 + ii2 * p.ostr_w;
          p.out[size_t(n) * size_t(p.out_img) + size_t(m) * out_plane + size_t(oh) * p.Wo + ow] =
              acc[i][4 * g + e] + bv;
        }
      }
    }
  }
}

enum class FwdTile { T128, T64, T32, T8 };

const char* tile_name(FwdTile t) {
  switch (t) {
    case FwdTile::T128: return "128x128 (8x8 per thread, 256 thr)";
    case FwdTile::T64: return "64x128 (4x8 per thread, 256 thr)";
    case FwdTile::T32: return "32x128 (4x4 per thread, 256 thr)";
    case FwdTile::T8: return "8x128 (2x4 per thread, 128 thr)";
  }
  return "?";
}

FwdTile pick_fwd_tile(int M, long long max_npix, int nphase) {
  if (M <= 8) return FwdTile::T8;
  if (M <= 32) return FwdTile::T32;
  if (M <= 64) return FwdTile::T64;
  // 128-row tiles only when they still give every SM two blocks.
  const long long blocks = (M + 127) / 128 * ((max_npix + 127) / 128) * nphase;
  return blocks >= 2LL * detail::sm_count() ? FwdTile::T128 : FwdTile::T64;
}

template <int BM, int BN, int TM, int TN>
void launch_igemm_cfg(IgemmParams& q, long long max_npix, bool fast, cudaStream_t stream) {
  constexpr int T = TileTraits<BM, BN, TM, TN>::kThreads;
  q.m_tiles = (q.M + BM - 1) / BM;
  const long long blocks = (max_npix + BN - 1) / BN * q.m_tiles;
  if (blocks > INT_MAX) throw std::invalid_argument("conv2d: too many output tiles for one launch");
  const dim3 grid(unsigned(blocks), 1, unsigned(q.nphase));
  if (fast)
    igemm_kernel<BM, BN, TM, TN, true><<<grid, T, 0, stream>>>(q);
  else
    igemm_kernel<BM, BN, TM, TN, false><<<grid, T, 0, stream>>>(q);
  TINCT_CUDA_LAUNCH_CHECK();
}

void launch_igemm(IgemmParams& q, cudaStream_t stream) {
  long long max_npix = 0;
  for (int i = 0; i < q.nphase; ++i) max_npix = std::max<long long>(max_npix, q.ph[i].npix);
  if (max_npix == 0 || q.M == 0) return;
  const bool fast = q.Cr % BK == 0;
  switch (pick_fwd_tile(q.M, max_npix, q.nphase)) {
    case FwdTile::T128: launch_igemm_cfg<128, 128, 8, 8>(q, max_npix, fast, stream); break;
    case FwdTile::T64: launch_igemm_cfg<64, 128, 4, 8>(q, max_npix, fast, stream); break;
    case FwdTile::T32: launch_igemm_cfg<32, 128, 4, 4>(q, max_npix, fast, stream); break;
    case FwdTile::T8: launch_igemm_cfg<8, 128, 2, 4>(q, max_npix, fast, stream); break;
  }
}

// ---- geometry ----------------------------------------------------------------

Phase make_fwd_phase(const Conv2dParams& p) {
  Phase f{};
  f.Gh = p.P;
  f.Gw = p.Q;
  f.oh0 = f.ow0 = 0;
  f.ioff_h = -p.pad_h;
  f.ioff_w = -p.pad_w;
  f.idil_h = p.dil_h;
  f.idil_w = p.dil_w;
  f.Rt = p.R;
  f.St = p.S;
  f.w_base = 0;
  f.w_st = p.S;
  f.w_su = 1;
  f.npix = p.N * p.P * p.Q;
  f.kred = p.C * p.R * p.S;
  f.div_St = FastDiv(p.S);
  f.div_GhGw = FastDiv(p.P * p.Q);
  f.div_Gw = FastDiv(p.Q);
  return f;
}

// One axis of a backward-data phase: the outputs o = a + i*stride (i < G) and
// the taps r = r0 + t*step (t < taps) that reach them.
struct AxisPhase {
  int G = 0, ioff = 0, idil = 0, taps = 0, r0 = 0, step = 1;
};

AxisPhase axis_phase(int a, int out_size, int stride, int pad, int dil, int R) {
  AxisPhase ap;
  ap.G = a < out_size ? (out_size - a + stride - 1) / stride : 0;
  const int g = std::gcd(dil, stride);
  ap.step = stride / g;
  int r0 = -1;
  for (int r = 0; r < R; ++r)
    if ((a + pad - r * dil) % stride == 0) {
      r0 = r;
      break;
    }
  if (r0 >= 0) {
    ap.r0 = r0;
    ap.taps = (R - 1 - r0) / ap.step + 1;
    ap.ioff = (a + pad - r0 * dil) / stride;  // exact: the numerator is a multiple of stride
    ap.idil = -(dil / g);
  }
  // The solutions of r*dil == a + pad (mod stride) are exactly r0 + k*step.
  for (int r = 0; r < R; ++r) {
    const bool reaches = (a + pad - r * dil) % stride == 0;
    const bool listed = r0 >= 0 && r >= r0 && (r - r0) % ap.step == 0;
    if (reaches != listed) throw std::logic_error("conv2d_bwd_data: phase tap set is not a progression");
  }
  return ap;
}

std::vector<Phase> make_bwd_data_phases(const Conv2dParams& p) {
  std::vector<Phase> phases;
  for (int a = 0; a < p.stride_h; ++a)
    for (int b = 0; b < p.stride_w; ++b) {
      const AxisPhase ah = axis_phase(a, p.H, p.stride_h, p.pad_h, p.dil_h, p.R);
      const AxisPhase aw = axis_phase(b, p.W, p.stride_w, p.pad_w, p.dil_w, p.S);
      Phase f{};
      f.Gh = ah.G;
      f.Gw = aw.G;
      f.oh0 = a;
      f.ow0 = b;
      f.ioff_h = ah.ioff;
      f.ioff_w = aw.ioff;
      f.idil_h = ah.idil;
      f.idil_w = aw.idil;
      f.Rt = ah.taps;
      f.St = aw.taps;
      f.w_base = ah.r0 * p.S + aw.r0;
      f.w_st = ah.step * p.S;
      f.w_su = aw.step;
      f.npix = p.N * f.Gh * f.Gw;
      f.kred = f.Rt * f.St * p.K;
      f.div_St = FastDiv(std::max(f.St, 1));
      f.div_GhGw = FastDiv(std::max(f.Gh * f.Gw, 1));
      f.div_Gw = FastDiv(std::max(f.Gw, 1));
      if (f.npix > 0) phases.push_back(f);
    }
  return phases;
}

IgemmParams fwd_params(const Conv2dParams& p, const float* x, const float* w, const float* b, float* y) {
  IgemmParams q{};
  q.in = x;
  q.w = w;
  q.bias = b;
  q.out = y;
  q.M = p.K;
  q.Cr = p.C;
  q.Hin = p.H;
  q.Win = p.W;
  q.istr_h = p.stride_h;
  q.istr_w = p.stride_w;
  q.Ho = p.P;
  q.Wo = p.Q;
  q.ostr_h = q.ostr_w = 1;
  q.w_sm = p.C * p.R * p.S;
  q.w_sc = p.R * p.S;
  q.in_img = 1LL * p.C * p.H * p.W;
  q.out_img = 1LL * p.K * p.P * p.Q;
  q.div_Cr = FastDiv(p.C);
  q.nphase = 1;
  q.ph[0] = make_fwd_phase(p);
  q.vec_store = (p.P * p.Q) % 4 == 0 && detail::aligned16(y);
  return q;
}

IgemmParams bwd_data_params(const Conv2dParams& p, const float* dy, const float* w, float* dx) {
  IgemmParams q{};
  q.in = dy;
  q.w = w;
  q.bias = nullptr;
  q.out = dx;
  q.M = p.C;
  q.Cr = p.K;
  q.Hin = p.P;
  q.Win = p.Q;
  q.istr_h = q.istr_w = 1;
  q.Ho = p.H;
  q.Wo = p.W;
  q.ostr_h = p.stride_h;
  q.ostr_w = p.stride_w;
  q.w_sm = p.R * p.S;
  q.w_sc = p.C * p.R * p.S;
  q.in_img = 1LL * p.K * p.P * p.Q;
  q.out_img = 1LL * p.C * p.H * p.W;
  q.div_Cr = FastDiv(p.K);
  q.vec_store = p.stride_h == 1 && p.stride_w == 1 && (p.H * p.W) % 4 == 0 && detail::aligned16(dx);
  return q;
}

// ============================================================================
// Backward-filter: dw[K][C*R*S] += dy[K][N*P*Q] . im2col(x)^T, split-K
// ============================================================================

struct WgradParams {
  const float* x;
  const float* dy;
  float* out;  // dw (accumulate) or the workspace (one K*CRS slab per split)
  int K, H, W, HW, crs, RS, S;
  int sh, sw, ph, pw, dh, dw;
  int P, Q, PQ, npq;
  long long x_img, dy_img;
  FastDiv div_PQ, div_Q, div_RS, div_S;
  int m_tiles, chunk;  // chunk: reduction elements per split (multiple of BK)
  int accumulate;      // 1: out[idx] += acc (one split); 0: workspace slab of split blockIdx.y
};

template <int BM, int BN, int TM, int TN>
__global__ void __launch_bounds__(TileTraits<BM, BN, TM, TN>::kThreads,
                                  TileTraits<BM, BN, TM, TN>::kMinBlocks)
    wgrad_kernel(const __grid_constant__ WgradParams p) {
  constexpr int T = TileTraits<BM, BN, TM, TN>::kThreads;
  constexpr int A_PER = BM * BK / T, B_PER = BN * BK / T;
  constexpr int RSTEP = T / BK;  // rows (or columns) between a thread's loads
  static_assert(T % BK == 0 && (BM * BK) % T == 0 && (BN * BK) % T == 0, "loader mapping");

  const int m_tile = blockIdx.x % p.m_tiles, n_tile = blockIdx.x / p.m_tiles;
  const int m0 = m_tile * BM, n0 = n_tile * BN;
  const int kbeg = blockIdx.y * p.chunk;
  const int kend = min(p.npq, kbeg + p.chunk);

  __shared__ __align__(16) float As[2][BK][BM + kPad];
  __shared__ __align__(16) float Bs[2][BK][BN + kPad];
  // Per column (c, r, s) of the tile: the in-image offset of its tap and the
  // tap's row / column displacement for the bounds test. Computed once; the
  // main loop then needs no division for the x side.
  __shared__ int4 ctab[BN];

  const int t = threadIdx.x;
  const int tx = t % (BN / TN), ty = t / (BN / TN);
  for (int c = t; c < BN; c += T) {
    const int col = n0 + c;
    int4 e = make_int4(0, kFar, kFar, 0);
    if (col < p.crs) {
      const int cc = p.div_RS.div(col);
      const int rs = col - cc * p.RS;
      const int r = p.div_S.div(rs);
      const int s = rs - r * p.S;
      e = make_int4(cc * p.HW + r * p.dh * p.W + s * p.dw, r * p.dh, s * p.dw, 0);
    }
    ctab[c] = e;
  }
  __syncthreads();

  // Loader mapping: thread t takes reduction position kk = t % 8 (8 threads
  // read 8 consecutive (p,q): one 32-byte sector per row) and rows / columns
  // t / 8 + RSTEP * i.
  const int kk = t % BK, r0 = t / BK;
  float ra[A_PER], rb[B_PER];

  auto gather = [&](int k0) {
    const int j = k0 + kk;
    const bool jok = j < kend;
    int n = 0, pq = 0, hb = kFar, wb = kFar;
    if (jok) {
      n = p.div_PQ.div(j);
      pq = j - n * p.PQ;
      const int op = p.div_Q.div(pq);
      const int oq = pq - op * p.Q;
      hb = op * p.sh - p.ph;
      wb = oq * p.sw - p.pw;
    }
    const float* dyp = p.dy + size_t(n) * size_t(p.dy_img) + pq;
#pragma unroll
    for (int i = 0; i < A_PER; ++i) {
      const int m = m0 + r0 + RSTEP * i;
      ra[i] = (jok && m < p.K) ? __ldg(dyp + size_t(m) * p.PQ) : 0.0f;
    }
    const float* xp = p.x + size_t(n) * size_t(p.x_img);
#pragma unroll
    for (int i = 0; i < B_PER; ++i) {
      const int4 e = ctab[r0 + RSTEP * i];
      const int h = hb + e.y, w = wb + e.z;
      rb[i] = (jok && unsigned(h) < unsigned(p.H) && unsigned(w) < unsigned(p.W))
                  ? __ldg(xp + (e.x + hb * p.W + wb))
                  : 0.0f;
    }
  };
  auto stash = [&](int buf) {
#pragma unroll
    for (int i = 0; i < A_PER; ++i) As[buf][kk][r0 + RSTEP * i] = ra[i];
#pragma unroll
    for (int i = 0; i < B_PER; ++i) Bs[buf][kk][r0 + RSTEP * i] = rb[i];
  };

  float acc[TM][TN];
#pragma unroll
  for (int i = 0; i < TM; ++i)
#pragma unroll
    for (int j = 0; j < TN; ++j) acc[i][j] = 0.0f;

  const int nk = kend > kbeg ? (kend - kbeg + BK - 1) / BK : 0;
  if (nk > 0) {
    gather(kbeg);
    stash(0);
    __syncthreads();
    for (int kt = 0; kt < nk; ++kt) {
      const int cur = kt & 1;
      const bool more = kt + 1 < nk;
      if (more) gather(kbeg + (kt + 1) * BK);
      detail::mma_stage<BM, BN, TM, TN>(As[cur], Bs[cur], tx, ty, acc);
      if (more) stash(cur ^ 1);
      __syncthreads();
    }
  }

  const size_t slab = size_t(p.K) * p.crs;
  float* out = p.accumulate ? p.out : p.out + size_t(blockIdx.y) * slab;
#pragma unroll
  for (int i = 0; i < TM; ++i) {
    const int k = m0 + detail::frag_row<BM, TM>(ty, i);
    if (k >= p.K) continue;
#pragma unroll
    for (int j = 0; j < TN; ++j) {
      const int col = n0 + detail::frag_col<BN, TN>(tx, j);
      if (col >= p.crs) continue;
      const size_t idx = size_t(k) * p.crs + col;
      if (p.accumulate)
        out[idx] += acc[i][j];
      else
        out[idx] = acc[i][j];
    }
  }
}

// dw[i] += sum_{s < splits} ws[s][i], the splits in order: deterministic.
__global__ void split_reduce_kernel(const float* __restrict__ ws, int splits, size_t n,
                                    float* __restrict__ dw) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n;
       i += size_t(gridDim.x) * blockDim.x) {
    float s = ws[i];
    for (int z = 1; z < splits; ++z) s += ws[size_t(z) * n + i];
    dw[i] += s;
  }
}

enum class WTile { T128, T64, T16 };

const char* wtile_name(WTile t) {
  switch (t) {
    case WTile::T128: return "128x128 (8x8 per thread, 256 thr)";
    case WTile::T64: return "64x64 (4x4 per thread, 256 thr)";
    case WTile::T16: return "16x64 (2x4 per thread, 128 thr)";
  }
  return "?";
}

WTile pick_wtile(const Conv2dParams& p) {
  const int crs = p.C * p.R * p.S;
  if (p.K <= 16) return WTile::T16;
  if (p.K <= 64 || crs <= 64) return WTile::T64;
  return WTile::T128;
}

struct WgradPlan {
  WTile tile;
  int BM, BN, m_tiles, n_tiles;
  int splits, chunk;
  size_t workspace;  // bytes, 0 when splits == 1
};

template <int BM, int BN, int TM, int TN>
int wgrad_blocks_per_sm() {
  int dev = 0;
  TINCT_CUDA_CHECK(cudaGetDevice(&dev));
  static int cache[64] = {};
  if (dev < 64 && cache[dev] > 0) return cache[dev];
  int b = 0;
  TINCT_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(
      &b, wgrad_kernel<BM, BN, TM, TN>, TileTraits<BM, BN, TM, TN>::kThreads, 0));
  b = std::max(b, 1);
  if (dev < 64) cache[dev] = b;
  return b;
}

WgradPlan plan_wgrad(const Conv2dParams& p) {
  WgradPlan pl{};
  pl.tile = pick_wtile(p);
  int bps = 1;
  switch (pl.tile) {
    case WTile::T128: pl.BM = 128, pl.BN = 128, bps = wgrad_blocks_per_sm<128, 128, 8, 8>(); break;
    case WTile::T64: pl.BM = 64, pl.BN = 64, bps = wgrad_blocks_per_sm<64, 64, 4, 4>(); break;
    case WTile::T16: pl.BM = 16, pl.BN = 64, bps = wgrad_blocks_per_sm<16, 64, 2, 4>(); break;
  }
  const int crs = p.C * p.R * p.S;
  const long long npq = 1LL * p.N * p.P * p.Q;
  pl.m_tiles = (p.K + pl.BM - 1) / pl.BM;
  pl.n_tiles = (crs + pl.BN - 1) / pl.BN;
  const long long tiles = 1LL * pl.m_tiles * pl.n_tiles;
  const long long slots = 1LL * detail::sm_count() * bps;
  const long long ktiles = (npq + BK - 1) / BK;
  // At least 32 slices (256 reduction elements) per split; workspace <= 256 MiB.
  const long long slab = 1LL * p.K * crs;
  long long smax = std::min<long long>(ktiles / 32, 4096);
  smax = std::min<long long>(smax, (64LL << 20) / std::max<long long>(slab, 1));
  smax = std::max<long long>(smax, 1);
  // Splits: the first count that fills the GPU with >= 90% of the last wave
  // busy; failing that, the best wave efficiency.
  long long best = 1;
  double best_eff = -1.0;
  for (long long s = 1; s <= smax; ++s) {
    const long long w = tiles * s;
    const long long waves = (w + slots - 1) / slots;
    const double eff = double(w) / double(waves * slots);
    if (w >= slots && eff >= 0.9) {
      best = s;
      break;
    }
    if (eff > best_eff + 1e-9) {
      best_eff = eff;
      best = s;
    }
  }
  const long long chunk_tiles = (ktiles + best - 1) / best;
  pl.chunk = int(std::max<long long>(chunk_tiles, 1) * BK);
  pl.splits = int(std::max<long long>((npq + pl.chunk - 1) / pl.chunk, 1));
  pl.workspace = pl.splits > 1 ? size_t(pl.splits) * size_t(slab) * sizeof(float) : 0;
  return pl;
}

template <int BM, int BN, int TM, int TN>
void launch_wgrad_cfg(WgradParams& q, const WgradPlan& pl, cudaStream_t stream) {
  const dim3 grid(unsigned(pl.m_tiles * pl.n_tiles), unsigned(pl.splits), 1);
  wgrad_kernel<BM, BN, TM, TN><<<grid, TileTraits<BM, BN, TM, TN>::kThreads, 0, stream>>>(q);
  TINCT_CUDA_LAUNCH_CHECK();
}

}  // namespace

// ============================================================================
// Host API
// ============================================================================

void conv2d_fwd_igemm(const Conv2dParams& p, const float* x, const float* w, const float* b, float* y,
                      cudaStream_t stream) {
  check_conv(p);
  IgemmParams q = fwd_params(p, x, w, b, y);
  launch_igemm(q, stream);
}

void conv2d_bwd_data_igemm(const Conv2dParams& p, const float* dy, const float* w, float* dx,
                           cudaStream_t stream) {
  check_conv(p);
  const std::vector<Phase> phases = make_bwd_data_phases(p);
  IgemmParams q = bwd_data_params(p, dy, w, dx);
  // Every dx pixel belongs to exactly one phase, and every phase with pixels
  // is launched (a phase with no taps writes zeros), so dx is fully written.
  for (size_t first = 0; first < phases.size(); first += kMaxPhases) {
    q.nphase = int(std::min<size_t>(kMaxPhases, phases.size() - first));
    for (int i = 0; i < q.nphase; ++i) q.ph[i] = phases[first + i];
    launch_igemm(q, stream);
  }
}

size_t conv2d_bwd_filter_igemm_workspace_bytes(const Conv2dParams& p) {
  check_conv(p);
  return plan_wgrad(p).workspace;
}

void conv2d_bwd_filter_igemm(const Conv2dParams& p, const float* x, const float* dy, float* dw, float* db,
                             void* workspace, size_t workspace_bytes, cudaStream_t stream) {
  check_conv(p);
  const WgradPlan pl = plan_wgrad(p);
  if (pl.workspace > workspace_bytes || (pl.workspace > 0 && workspace == nullptr))
    throw std::invalid_argument("conv2d_bwd_filter: workspace too small (" +
                                std::to_string(workspace_bytes) + " bytes, needs " +
                                std::to_string(pl.workspace) + ")");
  WgradParams q{};
  q.x = x;
  q.dy = dy;
  q.K = p.K;
  q.H = p.H;
  q.W = p.W;
  q.HW = p.H * p.W;
  q.crs = p.C * p.R * p.S;
  q.RS = p.R * p.S;
  q.S = p.S;
  q.sh = p.stride_h;
  q.sw = p.stride_w;
  q.ph = p.pad_h;
  q.pw = p.pad_w;
  q.dh = p.dil_h;
  q.dw = p.dil_w;
  q.P = p.P;
  q.Q = p.Q;
  q.PQ = p.P * p.Q;
  q.npq = p.N * p.P * p.Q;
  q.x_img = 1LL * p.C * p.H * p.W;
  q.dy_img = 1LL * p.K * p.P * p.Q;
  q.div_PQ = FastDiv(q.PQ);
  q.div_Q = FastDiv(p.Q);
  q.div_RS = FastDiv(q.RS);
  q.div_S = FastDiv(p.S);
  q.m_tiles = pl.m_tiles;
  q.chunk = pl.chunk;
  q.accumulate = pl.splits == 1;
  q.out = pl.splits == 1 ? dw : static_cast<float*>(workspace);
  switch (pl.tile) {
    case WTile::T128: launch_wgrad_cfg<128, 128, 8, 8>(q, pl, stream); break;
    case WTile::T64: launch_wgrad_cfg<64, 64, 4, 4>(q, pl, stream); break;
    case WTile::T16: launch_wgrad_cfg<16, 64, 2, 4>(q, pl, stream); break;
  }
  if (pl.splits > 1) {
    const size_t n = size_t(p.K) * q.crs;
    split_reduce_kernel<<<detail::grid_for(n), detail::kBlock, 0, stream>>>(
        static_cast<const float*>(workspace), pl.splits, n, dw);
    TINCT_CUDA_LAUNCH_CHECK();
  }
  if (db) bias_grad(p.N, p.K, p.P * p.Q, dy, db, stream);
}

std::string conv2d_igemm_plan(const Conv2dParams& p) {
  check_conv(p);
  std::ostringstream s;
  {
    const long long npix = 1LL * p.N * p.P * p.Q;
    s << "fwd: igemm " << tile_name(pick_fwd_tile(p.K, npix, 1))
      << (p.C % BK == 0 ? ", tap-major fast gather" : ", general gather") << "; ";
  }
  {
    const std::vector<Phase> ph = make_bwd_data_phases(p);
    long long max_npix = 0, work = 0;
    for (const Phase& f : ph) {
      max_npix = std::max<long long>(max_npix, f.npix);
      work += 1LL * f.npix * f.kred;
    }
    const double dense = double(p.N) * p.H * p.W * double(p.K) * p.R * p.S;
    s << "bwd-data: igemm " << tile_name(pick_fwd_tile(p.C, max_npix, int(ph.size()))) << ", "
      << ph.size() << " phase(s), " << (p.K % BK == 0 ? "fast" : "general")
      << " gather, taps done / dense = " << (dense > 0 ? double(work) / dense : 0.0) << "; ";
  }
  {
    const WgradPlan pl = plan_wgrad(p);
    s << "bwd-filter: " << wtile_name(pl.tile) << ", " << pl.m_tiles * pl.n_tiles << " tiles x "
      << pl.splits << " split(s) of " << pl.chunk << ", workspace " << pl.workspace << " B";
  }
  return s.str();
}

}  // namespace tinct::cuda
