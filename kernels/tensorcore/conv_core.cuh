// conv_core.cuh — the tensor-core implicit-GEMM convolutions shared by
// kernels/conv/cuda_4_igemm_tf32.cu and cuda_5_igemm_bf16.cu (not a public
// API; the entry points are declared in kernels/cuda.h).
//
// The three passes are GEMMs whose operands are gathered from NCHW fp32
// tensors (kernels/conv/ref.cpp is the specification, kernels/tensorcore/
// ref_conv.cpp the same maths with the operands rounded; channels-last
// tensors: the loaders of conv_core_nhwc.cuh on this file's kernel):
//   forward        y[K][N*P*Q]      = W[K][R*S*C]       . im2col(x)[R*S*C][N*P*Q]
//   backward-data  dx[C][N*H*W]     = Wt[C][R*S*K]      . col(dy)[R*S*K][N*H*W]
//   backward-filter dw[K][R*S*C]   += dy[K][N*P*Q]      . im2col(x)^T[N*P*Q][R*S*C]
// The reductions over the filter run tap-major, j = (r*S + s)*channels + c
// (CUTLASS's order for NHWC, used here on NCHW): consecutive j of a thread
// are the same tap of consecutive channels, so a gather finds the tap's
// image position and its bounds once per tap (TapWalk) and then reads one
// plane further per element, instead of dividing j into (c, r, s) and testing
// the bounds for every element. The weights are packed in that order;
// backward-filter's epilogue writes dw back in [K][C][R][S].
// on gemm_core.cuh's machinery: 128x128 block tile, 8 warps of 64x32,
// 128 bytes of K per row and stage (BK = 32 tf32 / 64 bf16), a 3-stage ring
// of padded shared-memory tiles, fragments by ldmatrix (load_fragments) and
// mma.sync m16n8k8 (tf32) / m16n8k16 (bf16) with fp32 accumulators.
//
// Operand loaders (one per operand, chosen per pass):
//   DenseA     the weights as a dense K-contiguous matrix in the precision's
//              element type, packed once per call by pack_kernel (fwd:
//              W[k][(r*S + s)*C + c]; bwd-data: W transposed per tap,
//              Wt[c][(r*S + s)*K + k];
//              rows padded to a multiple of 16 bytes, so every 16-byte chunk
//              is contiguous and aligned): cp.async straight into the stage,
//              zero-filled past the edges.
//   the gathers (im2col of x, the strided-transposed gather of dy, dy's rows
//              per pixel): not 16-byte contiguous in general (stride,
//              dilation, padding, image edges), so one element at a time, in
//              one of two ways (Gather):
//              async      tf32 only (the default): a 4-byte cp.async per
//                         element straight into the stage of slice kt+2,
//                         zero-filled where the tap misses; no registers
//                         hold the slice and no store follows the mma, as
//                         CUTLASS does for operands aligned to one element;
//              registers  each thread loads its elements of slice kt+2 into
//                         registers before the tensor cores work on slice kt
//                         and stores them (converted: bf16 by cvt.rn here;
//                         tf32 keeps fp32 and load_fragments rounds with
//                         cvt.rna) into the free stage after. BF16 needs it
//                         (cp.async cannot convert); at tf32 it is the
//                         variant to compare with (TINCT_TC_GATHER=registers,
//                         cuda::set_tc_gather).
//              Consecutive threads take consecutive pixels: coalesced global
//              reads, consecutive shared-memory words.
// The gathered operand is stored [BK][128 + 8] (pixels contiguous) in the
// forward and backward-data passes (the MN-contiguous B of gemm_core), and
// [128][BK + pad] (pixels = the reduction contiguous) in backward-filter.
// Backward-data for stride > 1 runs one GEMM per output phase (h mod sh,
// w mod sw), as cuda_2_igemm.cu does: the pixels of a phase receive only the
// taps with (h + pad - r*dil) a multiple of the stride, and the phase's
// reduction holds only those (a 3x3 stride-2 conv: 1, 2, 2 and 4 of 9 taps;
// a 4x4 stride-2 deconvolution: 4 of 16 each), instead of gathering every
// tap and zeroing the misses (4x the tensor-core work). Backward-filter splits
// the N*P*Q reduction over blockIdx.z; each split writes its partial tile to
// a workspace and reduce_splits adds them to dw in a fixed order
// (deterministic); one split adds into dw directly.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "kernels/common/common.cuh"
#include "kernels/conv/cuda_check.cuh"
#include "kernels/kernels.h"
#include "kernels/tensorcore/gemm_core.cuh"
#include "kernels/tensorcore/phases.h"

namespace tinct::cuda::tc {

using detail::FastDiv;

// fp32 -> the element type the tensor core reads: tf32 stays fp32 (rounded by
// load_fragments), bf16 is rounded to nearest even here.
template <class T>
__device__ __forceinline__ T to_elem(float v) {
  if constexpr (sizeof(T) == 4)
    return v;
  else
    return f32_to_bf16(v);
}

// Registers holding one thread's gathered elements of one stage; bf16 packed
// two to a register (32 bf16 values would otherwise take 32 registers).
template <class T, int N>
struct Stash {
  uint32_t w[sizeof(T) == 4 ? N : N / 2];
  __device__ __forceinline__ void set(int i, float v) {
    if constexpr (sizeof(T) == 4) {
      w[i] = as_bits(v);
    } else {
      const uint32_t b = f32_to_bf16(v);
      w[i / 2] = (i & 1) ? ((w[i / 2] & 0xffffu) | (b << 16)) : b;
    }
  }
  __device__ __forceinline__ T get(int i) const {
    if constexpr (sizeof(T) == 4)
      return as_float(w[i]);
    else
      return T((i & 1) ? (w[i / 2] >> 16) : (w[i / 2] & 0xffffu));
  }
};

// The convolution's geometry, with the divisions the gathers need.
struct Geom {
  int N, C, H, W, K, P, Q, R, S, sh, sw, ph, pw, dh, dw;
  FastDiv div_C, div_K, div_S, div_PQ, div_Q, div_sh, div_sw;
  explicit Geom(const Conv2dParams& p)
      : N(p.N), C(p.C), H(p.H), W(p.W), K(p.K), P(p.P), Q(p.Q), R(p.R), S(p.S), sh(p.stride_h),
        sw(p.stride_w), ph(p.pad_h), pw(p.pad_w), dh(p.dil_h), dw(p.dil_w), div_C(p.C), div_K(p.K), div_S(p.S),
        div_PQ(p.P * p.Q), div_Q(p.Q), div_sh(p.stride_h), div_sw(p.stride_w) {}
  // Where filter tap `tap` (= r*S + s) of the output pixel whose window
  // starts at (hb, wb) = (p*sh - ph, q*sw - pw) reads x's channel plane 0:
  // h*W + w, or -1 past the last tap or in the padding. (Offsets in an image
  // are 32-bit, check_conv: 32-bit offsets instead of pointers keep the
  // backward-filter kernel's TF32 variant from spilling.)
  __device__ __forceinline__ int x_tap(int hb, int wb, int tap) const {
    if (tap >= R * S) return -1;
    const int r = div_S.div(tap), s = tap - r * S;
    const int h = hb + r * dh, w = wb + s * dw;
    return (h >= 0 && h < H && w >= 0 && w < W) ? h * W + w : -1;
  }
};

// A thread's walk along a tap-major reduction, j = tap*ch + c, in steps of
// `step` (its rows of a stage). start() divides once; advance() moves on by
// additions and says whether the tap changed (then the caller finds the
// tap's position again). A warp's lanes share j, so the branches are uniform.
struct TapWalk {
  int c = 0, tap = 0;
  __device__ __forceinline__ void start(int j, const FastDiv& div_ch, int ch) {
    tap = div_ch.div(j);
    c = j - tap * ch;
  }
  __device__ __forceinline__ bool advance(int step, int ch) {
    c += step;
    if (c < ch) return false;
    do {  // more than once only when ch < step
      c -= ch;
      ++tap;
    } while (c >= ch);
    return true;
  }
};

// Backward-data's output phase (phases.h) with the divisions its pixel
// index needs.
struct Phase : PhaseGeom {
  FastDiv div_plane, div_Wp;
  Phase() = default;
  explicit Phase(const PhaseGeom& f) : PhaseGeom(f), div_plane(f.Hp * f.Wp), div_Wp(f.Wp) {}
};

enum class Pass { fwd, bwd_data, bwd_filter };
using Gather = TcGather;  // kernels/cuda.h

// Everything a pass's kernel needs (passed by value as the kernel argument).
template <class T>
struct ConvArgs {
  Pass pass;
  Geom g;
  int M, Ncol, Kred;   // the GEMM
  const T* a;          // DenseA: packed weights [M][lda]
  int lda;
  const float* x;      // fwd, bwd-filter: the input; bwd-data: dy
  const float* dy;     // bwd-filter: the output gradient
  const float* bias;   // fwd, may be null
  float* out;          // fwd: y; bwd-data: dx; bwd-filter: dw (one split) or the workspace
  int kt_per_split;    // bwd-filter: K slices per blockIdx.z
  int splits;
  Phase ph;            // bwd-data: the output phase of this launch
  bool nhwc = false;   // x, y, dy, dx channels-last (conv_core_nhwc.cuh); dw stays [K][C][R][S]
};

// Output pixel j of the forward GEMM (fwd: pixel of y) or of backward-data's
// phase (a pixel of dx): its image n and where its window starts, (hb, wb) =
// fwd: (p*sh - ph, q*sw - pw); bwd-data: (h + ph, w + pw). False past the last.
template <class T>
__device__ __forceinline__ bool pixel_origin(const ConvArgs<T>& q, int j, int& n, int& hb, int& wb) {
  if (j >= q.Ncol) return false;
  const Geom& g = q.g;
  if (q.pass == Pass::fwd) {
    n = g.div_PQ.div(j);
    const int pq = j - n * g.P * g.Q, p = g.div_Q.div(pq), qq = pq - p * g.Q;
    hb = p * g.sh - g.ph;
    wb = qq * g.sw - g.pw;
  } else {  // pixel (hh, ww) of the phase
    const Phase& f = q.ph;
    n = f.div_plane.div(j);
    const int hw = j - n * f.Hp * f.Wp, hh = f.div_Wp.div(hw), ww = hw - hh * f.Wp;
    hb = hh * f.step_h + f.a + g.ph;
    wb = ww * f.step_w + f.b + g.pw;
  }
  return true;
}

// Where tap number `tap` of the reduction reads for the pixel of pixel_origin:
// the pixel's index in its image's plane (fwd: h*W + w of x; bwd-data: p*Q + q
// of dy), or -1 where it falls outside the image (fwd: padding; bwd-data: a
// tap that misses the stride grid or the output). Layout-free: NCHW adds
// c * plane, NHWC multiplies by the channels.
template <class T>
__device__ __forceinline__ int pixel_tap(const ConvArgs<T>& q, int hb, int wb, int tap) {
  const Geom& g = q.g;
  if (q.pass == Pass::fwd) return g.x_tap(hb, wb, tap);  // x[n, c, p*sh - ph + r*dh, q*sw - pw + s*dw]
  // bwd-data: dy[n, k_out, p, q] with p*sh = h + ph - r*dh (in a phase of
  // its own taps always a multiple; with `all`, the misses give 0)
  const Phase& f = q.ph;
  int r, s;
  if (f.all) {
    if (tap >= g.R * g.S) return -1;
    r = g.div_S.div(tap), s = tap - r * g.S;
  } else {
    if (tap >= f.taps.n) return -1;
    r = f.taps.r[tap], s = f.taps.s[tap];
  }
  const int th = hb - r * g.dh, tw = wb - s * g.dw;
  if (th < 0 || tw < 0) return -1;
  const int p = g.div_sh.div(th), qq = g.div_sw.div(tw);
  if (p * g.sh != th || qq * g.sw != tw || p >= g.P || qq >= g.Q) return -1;
  return p * g.Q + qq;
}

// ---- A: packed weights, cp.async ------------------------------------------
template <class T>
struct DenseA {
  const ConvArgs<T>& q;
  int m0;
  __device__ DenseA(const ConvArgs<T>& q_, int m0_) : q(q_), m0(m0_) {}
  __device__ __forceinline__ void fetch(T* s, int kt) {
    load_tile<T, kBM, true, true>(s, q.a, q.lda, m0, q.M, kt * Tile<T, kBM, true>::BK, q.Kred);
  }
  __device__ __forceinline__ void store(T*) {}
};

// ---- B of forward / backward-data: one pixel column per thread -------------
// Stored [BK][128 + 8]; thread t owns column t % 128 and rows t / 128 + 2 i.
template <class T, Gather G>
struct PixelGather {
  static_assert(G == Gather::registers || sizeof(T) == 4, "cp.async copies; bf16 needs the conversion");
  using Tl = Tile<T, kBN, false>;
  static constexpr int kStep = kThreads / kBN, kPer = Tl::BK / kStep;
  const ConvArgs<T>& q;
  const float* img = nullptr;  // this pixel's image (x, or dy for backward-data); null past the last pixel
  int hb = 0, wb = 0;          // fwd: p*sh - ph, q*sw - pw; bwd-data: h + ph, w + pw
  Stash<T, kPer> st;
  __device__ PixelGather(const ConvArgs<T>& q_, int n0) : q(q_) {
    int n;
    if (!pixel_origin(q, n0 + int(threadIdx.x) % kBN, n, hb, wb)) return;
    const Geom& g = q.g;
    img = q.x + size_t(n) * (q.pass == Pass::fwd ? size_t(g.C) * g.H * g.W : size_t(g.K) * g.P * g.Q);
  }
  // pixel_tap for this thread's pixel: -1 past the last pixel.
  __device__ __forceinline__ int tap_at(int tap) const { return img == nullptr ? -1 : pixel_tap(q, hb, wb, tap); }
  __device__ __forceinline__ void fetch(T* s, int kt) {
    const Geom& g = q.g;
    const bool fwd = q.pass == Pass::fwd;
    T* d = s + (int(threadIdx.x) / kBN) * Tl::kLd + int(threadIdx.x) % kBN;  // async: where element i goes
    const int ch = fwd ? g.C : g.K;
    const int plane = fwd ? g.H * g.W : g.P * g.Q;
    const int j0 = kt * Tl::BK + int(threadIdx.x) / kBN;
    TapWalk at;
    at.start(j0, fwd ? g.div_C : g.div_K, ch);
    // A pointer here, not an offset as in ReductionGather: each keeps its kernel free of spills.
    int pos = tap_at(at.tap);
    const float* ptr = pos < 0 ? nullptr : img + pos + size_t(at.c) * plane;
#pragma unroll
    for (int i = 0; i < kPer; ++i) {
      const bool in = ptr != nullptr && j0 + i * kStep < q.Kred;
      if constexpr (G == Gather::async)
        cp_async_4(d + i * kStep * Tl::kLd, in ? ptr : q.x, in ? 4 : 0);
      else
        st.set(i, in ? *ptr : 0.0f);
      if (at.advance(kStep, ch)) {
        pos = tap_at(at.tap);
        ptr = pos < 0 ? nullptr : img + pos + size_t(at.c) * plane;
      } else if (ptr != nullptr) {
        ptr += kStep * plane;
      }
    }
  }
  __device__ __forceinline__ void store(T* s) {
    if constexpr (G == Gather::async) return;  // the copies went straight to the stage
    T* d = s + (int(threadIdx.x) / kBN) * Tl::kLd + int(threadIdx.x) % kBN;
#pragma unroll
    for (int i = 0; i < kPer; ++i) d[i * kStep * Tl::kLd] = st.get(i);
  }
};

// ---- backward-filter: both operands indexed by pixel along the reduction ---
// Stored [128][BK + pad]; thread t owns reduction column t % BK and rows
// t / BK + (256 / BK) i. A: dy[n, m, pq]; B: x at row j = (r*S + s)*C + c.
template <class T, bool kIsA, Gather G>
struct ReductionGather {
  static_assert(G == Gather::registers || sizeof(T) == 4, "cp.async copies; bf16 needs the conversion");
  using Tl = Tile<T, 128, true>;
  static constexpr int kStep = kThreads / Tl::BK, kPer = 128 / kStep;
  const ConvArgs<T>& q;
  int r0;
  Stash<T, kPer> st;
  __device__ ReductionGather(const ConvArgs<T>& q_, int r0_) : q(q_), r0(r0_) {}
  // Element i of this thread, base[off] where `in`, else zero: async, copied
  // to the stage; registers, kept in st. (32-bit offsets: see Geom::x_tap.)
  __device__ __forceinline__ void put(T* d, int i, bool in, const float* base, int off) {
    if constexpr (G == Gather::async)
      cp_async_4(d + i * kStep * Tl::kLd, base + (in ? off : 0), in ? 4 : 0);
    else
      st.set(i, in ? base[off] : 0.0f);
  }
  __device__ __forceinline__ void fetch(T* s, int kt) {
    const Geom& g = q.g;
    const int pix = kt * Tl::BK + int(threadIdx.x) % Tl::BK, row0 = r0 + int(threadIdx.x) / Tl::BK;
    const int rows = kIsA ? q.M : q.Ncol;
    T* d = s + (int(threadIdx.x) / Tl::BK) * Tl::kLd + int(threadIdx.x) % Tl::BK;
    if (pix >= q.Kred) {
#pragma unroll
      for (int i = 0; i < kPer; ++i) put(d, i, false, q.x, 0);
      return;
    }
    const int n = g.div_PQ.div(pix), pq = pix - n * g.P * g.Q;
    if constexpr (kIsA) {
      const float* base = q.dy + size_t(n) * g.K * g.P * g.Q + pq;
#pragma unroll
      for (int i = 0; i < kPer; ++i) {
        const int m = row0 + i * kStep;
        put(d, i, m < rows, base, m * g.P * g.Q);
      }
    } else {  // rows j = (r*S + s)*C + c of im2col(x)^T, walked tap-major
      const int p = g.div_Q.div(pq), qq = pq - p * g.Q;
      const int hb = p * g.sh - g.ph, wb = qq * g.sw - g.pw;
      const float* img = q.x + size_t(n) * g.C * g.H * g.W;
      const int plane = g.H * g.W;
      TapWalk at;
      at.start(row0, g.div_C, g.C);
      int pos = g.x_tap(hb, wb, at.tap), off = pos < 0 ? -1 : pos + at.c * plane;
#pragma unroll
      for (int i = 0; i < kPer; ++i) {
        put(d, i, off >= 0 && row0 + i * kStep < rows, img, off);
        if (at.advance(kStep, g.C)) {
          pos = g.x_tap(hb, wb, at.tap);
          off = pos < 0 ? -1 : pos + at.c * plane;
        } else if (off >= 0) {
          off += kStep * plane;
        }
      }
    }
  }
  __device__ __forceinline__ void store(T* s) {
    if constexpr (G == Gather::async) return;
    T* d = s + (int(threadIdx.x) / Tl::BK) * Tl::kLd + int(threadIdx.x) % Tl::BK;
#pragma unroll
    for (int i = 0; i < kPer; ++i) d[i * kStep * Tl::kLd] = st.get(i);
  }
};

// The main loop of all three passes: gemm_core's pipeline with the loaders
// above (LA / LB; KC_A / KC_B: their tiles K-contiguous), then the pass's
// epilogue.
template <class P, bool KC_A, bool KC_B, class LA, class LB>
__global__ void __launch_bounds__(kThreads, 2) conv_kernel(const __grid_constant__ ConvArgs<typename P::T> q) {
  using T = typename P::T;
  using TlA = Tile<T, kBM, KC_A>;
  using TlB = Tile<T, kBN, KC_B>;
  constexpr int BK = TlA::BK;
  TINCT_DYNAMIC_SMEM(smem);
  T* As = reinterpret_cast<T*>(smem);
  T* Bs = As + kStages * TlA::kElems;

  // Pixel tiles on x (up to 2^31 - 1 of them), weight rows on y.
  const int m0 = blockIdx.y * kBM, n0 = blockIdx.x * kBN;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int wm = (warp >> 2) * kWarpM, wn = (warp & 3) * kWarpN;
  const int nk_all = (q.Kred + BK - 1) / BK;
  const int kt0 = blockIdx.z * q.kt_per_split, kt1 = min(nk_all, kt0 + q.kt_per_split);
  const int nk = max(kt1 - kt0, 0);  // an empty split still writes its (zero) partial tile

  LA la(q, m0);
  LB lb(q, n0);

  float acc[kMI][kNI][4];
  zero_acc(acc);

#pragma unroll
  for (int s = 0; s < kStages - 1; ++s) {
    if (s < nk) {
      la.fetch(As + s * TlA::kElems, kt0 + s);
      lb.fetch(Bs + s * TlB::kElems, kt0 + s);
      la.store(As + s * TlA::kElems);
      lb.store(Bs + s * TlB::kElems);
    }
    cp_async_commit();
  }
  for (int i = 0; i < nk; ++i) {
    cp_async_wait<kStages - 2>();
    __syncthreads();  // slice i visible to all; slice i-1's stage no longer read
    const int next = i + kStages - 1, sn = next % kStages;
    const bool more = next < nk;
    if (more) {  // cp.async requests and the gathers' global loads, in flight during the mma below
      la.fetch(As + sn * TlA::kElems, kt0 + next);
      lb.fetch(Bs + sn * TlB::kElems, kt0 + next);
    }
    cp_async_commit();
    const T* as = As + (i % kStages) * TlA::kElems;
    const T* bs = Bs + (i % kStages) * TlB::kElems;
    mma_stage<P, KC_A, KC_B>(as, bs, wm, wn, acc);
    if (more) {  // the gathered registers into the stage freed by this step's barrier
      la.store(As + sn * TlA::kElems);
      lb.store(Bs + sn * TlB::kElems);
    }
  }

  // Epilogue: c0, c1 at (g, 2t + i), c2, c3 at (g + 8, 2t + i) of each m16n8 tile.
  const Geom& g = q.g;
  const int gr = lane >> 2, t = lane & 3;
  const int plane = q.pass == Pass::fwd ? g.P * g.Q : g.H * g.W;
  float* part = q.out + size_t(blockIdx.z) * q.M * q.Ncol;  // bwd-filter with splits
#pragma unroll
  for (int ni = 0; ni < kNI; ++ni)
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      const int n = n0 + wn + ni * 8 + 2 * t + i;
      if (n >= q.Ncol) continue;
      // col: where channel 0 of output column n lies (channel m: + m * plane, NHWC + m)
      size_t col;
      if (q.pass == Pass::fwd) {  // image n / plane, pixel n % plane
        const int img = g.div_PQ.div(n);
        col = q.nhwc ? size_t(n) * q.M : size_t(img) * q.M * plane + (n - img * plane);
      } else if (q.pass == Pass::bwd_data) {  // pixel (hh, ww) of the phase
        const Phase& f = q.ph;
        const int img = f.div_plane.div(n), hw = n - img * f.Hp * f.Wp, hh = f.div_Wp.div(hw), ww = hw - hh * f.Wp;
        const size_t pix = size_t(hh * f.step_h + f.a) * g.W + ww * f.step_w + f.b;
        col = q.nhwc ? (size_t(img) * plane + pix) * q.M : size_t(img) * q.M * plane + pix;
      } else {  // tap-major j = tap*C + c back to dw's c*R*S + tap
        const int tap = g.div_C.div(n);
        col = size_t(n - tap * g.C) * g.R * g.S + tap;
      }
#pragma unroll
      for (int mi = 0; mi < kMI; ++mi)
#pragma unroll
        for (int h = 0; h < 2; ++h) {
          const int m = m0 + wm + mi * 16 + gr + 8 * h;
          if (m >= q.M) continue;
          const float v = acc[mi][ni][2 * h + i];
          if (q.pass == Pass::bwd_filter) {
            if (q.splits == 1)
              q.out[size_t(m) * q.Ncol + col] += v;
            else
              part[size_t(m) * q.Ncol + col] = v;
          } else {
            q.out[col + (q.nhwc ? size_t(m) : size_t(m) * plane)] = q.bias ? v + q.bias[m] : v;
          }
        }
    }
}

// Packs the weights into the dense A operand, tap-major: dst[m][j] (row
// length ld, zeros in the padding), j = t*ch + c' with ch the reduction's
// channels and t the t-th tap of `taps` (all: the filter's taps in order,
// rs = t) = fwd (ch = C): w[m][c'][rs]; bwd-data (m = c, ch = K): w[c'][m][rs].
template <class T>
__global__ void pack_kernel(const float* __restrict__ w, T* __restrict__ dst, int M, int J, int ld, int C, int ch,
                            int S, int RS, bool transpose, bool all, const Taps taps) {
  const long long total = 1LL * M * ld;
  for (long long i = blockIdx.x * 1LL * blockDim.x + threadIdx.x; i < total; i += 1LL * gridDim.x * blockDim.x) {
    const int m = int(i / ld), j = int(i % ld);
    float v = 0.0f;
    if (j < J) {
      const int t = j / ch, c = j - t * ch, rs = all ? t : taps.r[t] * S + taps.s[t];
      v = transpose ? w[(size_t(c) * C + m) * RS + rs] : w[(size_t(m) * C + c) * RS + rs];
    }
    dst[i] = to_elem<T>(v);
  }
}

// dw[i] += sum over splits z (in order) of ws[z][i]. (A template only so
// that the two variant files may both instantiate it.)
template <int kUnused = 0>
__global__ void reduce_splits(const float* __restrict__ ws, float* __restrict__ dw, int n, int splits) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
    float s = 0.0f;
    for (int z = 0; z < splits; ++z) s += ws[size_t(z) * n + i];
    dw[i] += s;
  }
}

// ---- host side -----------------------------------------------------------

template <class P, bool KC_A, bool KC_B>
constexpr int conv_smem_bytes() {
  using T = typename P::T;
  return kStages * (Tile<T, kBM, KC_A>::kBytes + Tile<T, kBN, KC_B>::kBytes);
}

template <class P, bool KC_A, bool KC_B, class LA, class LB>
void launch_conv(const ConvArgs<typename P::T>& q, int splits, cudaStream_t stream) {
  constexpr int bytes = conv_smem_bytes<P, KC_A, KC_B>();
  static const bool configured = [] {  // once per instantiation: above 48 KB needs the opt-in
    TINCT_CUDA_CHECK(cudaFuncSetAttribute(reinterpret_cast<const void*>(&conv_kernel<P, KC_A, KC_B, LA, LB>),
                                          cudaFuncAttributeMaxDynamicSharedMemorySize, bytes));
    return true;
  }();
  (void)configured;
  const dim3 grid((q.Ncol + kBN - 1) / kBN, (q.M + kBM - 1) / kBM, splits);
  conv_kernel<P, KC_A, KC_B, LA, LB><<<grid, kThreads, bytes, stream>>>(q);
  TINCT_CUDA_LAUNCH_CHECK();
}

inline int pad16(int elems, int elem_bytes) {
  const int v = 16 / elem_bytes;
  return (elems + v - 1) / v * v;
}

template <class T>
void pack(const float* w, T* dst, int M, int J, int ld, int C, int ch, int S, int RS, bool transpose,
          const Phase& f, cudaStream_t stream) {
  if (1LL * M * ld == 0) return;
  const int blocks = int(std::min<long long>((1LL * M * ld + 255) / 256, 4096));
  pack_kernel<T><<<blocks, 256, 0, stream>>>(w, dst, M, J, ld, C, ch, S, RS, transpose, f.all, f.taps);
  TINCT_CUDA_LAUNCH_CHECK();
}

inline void check_tc(const Conv2dParams& p, const char* name) {
  detail::check_conv(p);
  if ((p.K + kBM - 1) / kBM > 65535 || (p.C + kBM - 1) / kBM > 65535)
    throw std::invalid_argument(std::string(name) + ": too many channels");
}

// The gather of this call: cp.async at tf32 unless set otherwise (kernels/
// cuda.h, tc_gather); registers at bf16, where the elements are converted.
// Calls f(GatherIs<G>{}), G a compile-time constant (decltype(g)::value).
template <Gather G>
using GatherIs = std::integral_constant<Gather, G>;
template <class P, class F>
void with_gather(F&& f) {
  if constexpr (sizeof(typename P::T) == 4) {
    if (tc_gather() == Gather::async) return f(GatherIs<Gather::async>{});
  }
  f(GatherIs<Gather::registers>{});
}

// The NCHW loaders of each kind of GEMM: the layout policy of conv_fwd,
// conv_bwd_data and conv_bwd_filter below (conv_core_nhwc.cuh has the
// channels-last one, with the same members).
struct Nchw {
  static constexpr bool kNhwc = false;
  // forward and backward-data: packed weights (A) times the pixels' gather (B)
  template <class P>
  static void pixels(const ConvArgs<typename P::T>& q, cudaStream_t stream) {
    using T = typename P::T;
    with_gather<P>([&](auto g) {
      launch_conv<P, true, false, DenseA<T>, PixelGather<T, decltype(g)::value>>(q, 1, stream);
    });
  }
  // backward-filter: dy (A) times im2col(x)^T (B), both gathered along the pixels
  template <class P>
  static void filter(const ConvArgs<typename P::T>& q, int splits, cudaStream_t stream) {
    using T = typename P::T;
    with_gather<P>([&](auto g) {
      constexpr Gather G = decltype(g)::value;
      launch_conv<P, true, true, ReductionGather<T, true, G>, ReductionGather<T, false, G>>(q, splits, stream);
    });
  }
  static void bias_grad(const Conv2dParams& p, const float* dy, float* db, cudaStream_t stream) {
    cuda::bias_grad(p.N, p.K, p.P * p.Q, dy, db, stream);
  }
};

// Forward (A = W [K][R*S*C]) and backward-data (A = Wt [C][taps*K] per
// phase): the weights packed into the dense A, then the pixel-gather kernel.
// A phase without taps still runs: its pixels of dx get zeros. L: the
// activations' layout (Nchw, or conv_core_nhwc.cuh's Nhwc).
template <class P, class L = Nchw>
void conv_fwd(const Conv2dParams& p, const float* x, const float* w, const float* b, float* y, cudaStream_t stream) {
  using T = typename P::T;
  check_tc(p, "conv2d_fwd (tensor cores)");
  const int J = p.C * p.R * p.S, ld = pad16(J, sizeof(T));
  detail::Scratch ws(size_t(p.K) * ld * sizeof(T), stream);
  T* a = static_cast<T*>(ws.get());
  const Phase all{};  // fwd: every tap in order
  pack<T>(w, a, p.K, J, ld, p.C, p.C, p.S, p.R * p.S, false, all, stream);
  const ConvArgs<T> q{Pass::fwd, Geom(p), p.K, p.N * p.P * p.Q, J, a, ld, x, nullptr, b, y, 1 << 30, 1, all, L::kNhwc};
  L::template pixels<P>(q, stream);
}

template <class P, class L = Nchw>
void conv_bwd_data(const Conv2dParams& p, const float* dy, const float* w, float* dx, cudaStream_t stream) {
  using T = typename P::T;
  check_tc(p, "conv2d_bwd_data (tensor cores)");
  std::vector<Phase> phases;
  for (const PhaseGeom& f : bwd_data_phases(p)) phases.emplace_back(f);
  int ld_max = 0;
  for (const Phase& f : phases) ld_max = std::max(ld_max, pad16(f.tap_count(p) * p.K, sizeof(T)));
  detail::Scratch ws(size_t(p.C) * ld_max * sizeof(T), stream);
  T* a = static_cast<T*>(ws.get());
  for (const Phase& f : phases) {  // one after another on the stream: the packed A is reused
    if (f.Hp == 0 || f.Wp == 0) continue;
    const int J = f.tap_count(p) * p.K, ld = pad16(J, sizeof(T));
    pack<T>(w, a, p.C, J, ld, p.C, p.K, p.S, p.R * p.S, true, f, stream);
    const ConvArgs<T> q{Pass::bwd_data, Geom(p), p.C, p.N * f.Hp * f.Wp, J, a, ld, dy, nullptr, nullptr, dx,
                        1 << 30, 1, f, L::kNhwc};
    L::template pixels<P>(q, stream);
  }
}

// Split-K of backward-filter: enough blocks for two waves on ~132 SMs, each
// split at least 8 K slices long.
template <class P>
int bwd_filter_splits(const Conv2dParams& p) {
  constexpr int BK = Tile<typename P::T, kBM, true>::BK;
  const long long tiles = 1LL * ((p.K + kBM - 1) / kBM) * ((p.C * p.R * p.S + kBN - 1) / kBN);
  const long long nk = (1LL * p.N * p.P * p.Q + BK - 1) / BK;
  long long s = std::min<long long>((264 + tiles - 1) / tiles, nk / 8);
  return int(std::max<long long>(1, std::min<long long>(s, 64)));
}

template <class P>
size_t bwd_filter_workspace_bytes(const Conv2dParams& p) {
  check_tc(p, "conv2d_bwd_filter (tensor cores)");
  const int s = bwd_filter_splits<P>(p);
  return s == 1 ? 0 : size_t(s) * p.K * p.C * p.R * p.S * sizeof(float);
}

template <class P, class L = Nchw>
void conv_bwd_filter(const Conv2dParams& p, const float* x, const float* dy, float* dw, float* db,
                     cudaStream_t stream) {
  using T = typename P::T;
  constexpr int BK = Tile<T, kBM, true>::BK;
  const size_t bytes = bwd_filter_workspace_bytes<P>(p);
  const int splits = bwd_filter_splits<P>(p);
  const int nk = int((1LL * p.N * p.P * p.Q + BK - 1) / BK);
  const int per = (nk + splits - 1) / splits;
  detail::Scratch ws(bytes, stream);
  float* out = splits == 1 ? dw : static_cast<float*>(ws.get());
  const ConvArgs<T> q{Pass::bwd_filter, Geom(p), p.K, p.C * p.R * p.S, p.N * p.P * p.Q, nullptr, 0, x, dy,
                      nullptr, out, per, splits, Phase{}, L::kNhwc};
  L::template filter<P>(q, splits, stream);
  if (splits > 1) {
    const int n = p.K * p.C * p.R * p.S;
    reduce_splits<><<<std::min((n + 255) / 256, 4096), 256, 0, stream>>>(out, dw, n, splits);
    TINCT_CUDA_LAUNCH_CHECK();
  }
  if (db) L::bias_grad(p, dy, db, stream);
}

}  // namespace tinct::cuda::tc
