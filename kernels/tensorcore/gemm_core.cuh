// gemm_core.cuh — the tensor-core GEMM shared by cuda_1_mma_tf32.cu and
// cuda_2_mma_bf16.cu (not a public API; see tensorcore_cuda.h).
//
// Block tile 128x128, 256 threads = 8 warps as 2 (M) x 4 (N), warp tile
// 64x32 = 4 x 4 mma tiles of m16n8 (64 fp32 accumulators a thread). Why: a
// 128x128 tile reads (128 + 128) * BK inputs for 128 * 128 * BK MACs, 64
// MACs per loaded element, enough to keep the tensor cores fed from shared
// memory; 64x32 per warp loads 4 A + 4 B fragments for 16 mma per k-step.
// K slice per stage: 128 bytes of each row (BK = 32 fp32 or 64 bf16), in a
// 3-stage cp.async pipeline (up to 110.6 KB of dynamic shared memory, 2 blocks per
// H100 SM): while the tensor cores work on slice k, slices k+1 and k+2 are
// in flight.
//
// Shared memory follows the global layout, so that cp.async can copy 16-byte
// chunks verbatim (rows of 16-byte chunks; zero-filled past the matrix edge):
//   K-contiguous operand (A not transposed, B transposed): [rows][BK + 16 B]
//     rows 144 B apart, so the 8 row addresses of an ldmatrix fall in 8
//     different 4-bank groups (no conflicts); fragments by ldmatrix.x4
//     (a tf32 element is two b16 halves, so the b16 8x8 matrix is 8x4 tf32:
//     exactly the tf32 A / B fragment layout).
//   MN-contiguous operand (A transposed, B not): [BK][rows + 8 elements]
//     bf16: ldmatrix.x4.trans (rows 272 B apart, conflict-free as above);
//     fp32: no transposing ldmatrix for 32-bit elements, so scalar loads:
//     lanes t = 0..3 read k-rows t (136 words apart: banks 8t..8t+7) at 8
//     consecutive m: conflict-free.
// The pipeline: S-1 slices are requested up front; at step kt the thread
// waits for its slice kt (cp.async.wait_group S-2), a barrier makes everyone's
// copies visible and guarantees slice kt-1's buffer is no longer read, slice
// kt+S-1 is requested into that buffer, then the tensor cores run on slice kt.
// Unaligned operands (lda or a pointer not a multiple of 16 bytes) take the
// same path with synchronous element loads instead of cp.async.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "kernels/cuda.h"
#include "kernels/tensorcore/mma_ptx.cuh"

namespace tinct::cuda::tc {

constexpr int kBM = 128, kBN = 128, kThreads = 256, kStages = 3;
constexpr int kWarpM = 64, kWarpN = 32;  // 2 x 4 warps
constexpr int kMI = kWarpM / 16, kNI = kWarpN / 8;
constexpr int kRowBytes = 128;  // one K slice of a row

// The two precisions: element type and the K of one mma.
struct Tf32 {
  using T = float;
  static constexpr int kMmaK = 8;
};
struct Bf16 {
  using T = uint16_t;
  static constexpr int kMmaK = 16;
};

template <class T>
struct GemmArgs {
  int M, N, K;
  float alpha, beta;
  const T* A;
  int lda;
  const T* B;
  int ldb;
  float* C;
  int ldc;
};

// One operand's tile for one stage: R rows of the output side (BM or BN) by
// BK; KC: stored [R][BK] (K contiguous), else [BK][R].
template <class T, int R, bool KC>
struct Tile {
  static constexpr int E = sizeof(T);
  static constexpr int BK = kRowBytes / E;
  static constexpr int VE = 16 / E;  // elements per 16-byte chunk
  static constexpr int kRows = KC ? R : BK;
  static constexpr int kLd = (KC ? BK + 16 / E : R + 8);  // padded row, elements (see above)
  static constexpr int kElems = kRows * kLd;
  static constexpr int kBytes = kElems * E;
  static_assert((kLd * E) % 16 == 0, "rows must stay 16-byte aligned for cp.async and ldmatrix");
};

// Requests one stage of one operand: element (r, k) of op(X) lies at
// g[r * ld + k] when KC, else at g[k * ld + r]; r in [r0, r0 + R), valid
// below rlim; k in [k0, k0 + BK), valid below K. Outside: zeros.
template <class T, int R, bool KC, bool VEC>
__device__ __forceinline__ void load_tile(T* s, const T* __restrict__ g, int ld, int r0, int rlim, int k0, int K) {
  using Tl = Tile<T, R, KC>;
  constexpr int kCpr = (KC ? Tl::BK : R) / Tl::VE;  // 16-byte chunks per smem row
  constexpr int kChunks = Tl::kRows * kCpr;
  static_assert(kChunks % kThreads == 0, "loader mapping");
#pragma unroll
  for (int i = 0; i < kChunks / kThreads; ++i) {
    const int c = int(threadIdx.x) + i * kThreads;
    const int row = c / kCpr, col = (c % kCpr) * Tl::VE;  // consecutive threads: consecutive chunks of a row
    int n, off;                                          // valid elements of the chunk, their offset in g
    if (KC) {
      const int gr = r0 + row, gk = k0 + col;
      n = gr < rlim ? min(max(K - gk, 0), Tl::VE) : 0;
      off = gr * ld + gk;
    } else {
      const int gk = k0 + row, gr = r0 + col;
      n = gk < K ? min(max(rlim - gr, 0), Tl::VE) : 0;
      off = gk * ld + gr;
    }
    T* dst = s + row * Tl::kLd + col;
    if constexpr (VEC) {
      cp_async_16(dst, n > 0 ? g + off : g, n * Tl::E);
    } else {
#pragma unroll
      for (int e = 0; e < Tl::VE; ++e) dst[e] = e < n ? g[off + e] : T(0);
    }
  }
}

// The fragments of one k-step (kMmaK wide at column kk of the stage) for this
// warp: a[mi] for its 4 m16 tiles, b[ni] for its 4 n8 tiles.
template <class P, bool KC_A, bool KC_B>
__device__ __forceinline__ void load_fragments(const typename P::T* As, const typename P::T* Bs, int kk, int wm,
                                               int wn, uint32_t (&a)[kMI][4], uint32_t (&b)[kNI][2]) {
  using T = typename P::T;
  using TA = Tile<T, kBM, KC_A>;
  using TB = Tile<T, kBN, KC_B>;
  constexpr bool kTf32 = sizeof(T) == 4;
  const int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
  const int l8 = lane & 7, q0 = (lane >> 3) & 1, q1 = lane >> 4;  // row in matrix, matrix index bits
  constexpr int kHalfK = 16 / int(sizeof(T));                      // 16 bytes of k: 4 tf32 or 8 bf16
#pragma unroll
  for (int mi = 0; mi < kMI; ++mi) {
    const int m = wm + mi * 16;
    if constexpr (KC_A) {
      // matrices: (rows 0-7, k lo) (rows 8-15, k lo) (rows 0-7, k hi) (rows 8-15, k hi) = a0..a3 (tf32) / a0a1..a6a7 (bf16)
      ldmatrix_x4(a[mi], As + (m + l8 + 8 * q0) * TA::kLd + kk + kHalfK * q1);
    } else if constexpr (kTf32) {
      const float* p = As + (kk + t) * TA::kLd + m + g;  // a0 (g, t) a1 (g+8, t) a2 (g, t+4) a3 (g+8, t+4)
      a[mi][0] = as_bits(p[0]);
      a[mi][1] = as_bits(p[8]);
      a[mi][2] = as_bits(p[4 * TA::kLd]);
      a[mi][3] = as_bits(p[4 * TA::kLd + 8]);
    } else {
      // stored [k][m]: the transposes of (k 0-7, m 0-7) (k 0-7, m 8-15) (k 8-15, m 0-7) (k 8-15, m 8-15)
      ldmatrix_x4_trans(a[mi], As + (kk + l8 + 8 * q1) * TA::kLd + m + 8 * q0);
    }
  }
#pragma unroll
  for (int p = 0; p < kNI / 2; ++p) {  // two n8 tiles at a time
    const int n = wn + p * 16;
    uint32_t r[4];
    if constexpr (KC_B) {
      // stored [n][k]: (n 0-7, k lo) (n 0-7, k hi) (n 8-15, k lo) (n 8-15, k hi)
      ldmatrix_x4(r, Bs + (n + l8 + 8 * q1) * TB::kLd + kk + kHalfK * q0);
    } else if constexpr (kTf32) {
      const float* s = Bs + (kk + t) * TB::kLd + n + g;  // b0 (k = t, n = g), b1 (k = t + 4, n = g)
      r[0] = as_bits(s[0]);
      r[1] = as_bits(s[4 * TB::kLd]);
      r[2] = as_bits(s[8]);
      r[3] = as_bits(s[4 * TB::kLd + 8]);
    } else {
      // stored [k][n]: the transposes of (k 0-7, n 0-7) (k 8-15, n 0-7) (k 0-7, n 8-15) (k 8-15, n 8-15)
      ldmatrix_x4_trans(r, Bs + (kk + l8 + 8 * q0) * TB::kLd + n + 8 * q1);
    }
    b[2 * p][0] = r[0];
    b[2 * p][1] = r[1];
    b[2 * p + 1][0] = r[2];
    b[2 * p + 1][1] = r[3];
  }
  if constexpr (kTf32) {  // fp32 bits -> tf32, rounded to nearest (ties away), as gemm_tf32_ref
#pragma unroll
    for (int mi = 0; mi < kMI; ++mi)
#pragma unroll
      for (int i = 0; i < 4; ++i) a[mi][i] = f32_to_tf32(as_float(a[mi][i]));
#pragma unroll
    for (int ni = 0; ni < kNI; ++ni)
#pragma unroll
      for (int i = 0; i < 2; ++i) b[ni][i] = f32_to_tf32(as_float(b[ni][i]));
  }
}

// The warp's 4 x 4 m16n8 accumulators (64 fp32 a thread), zeroed.
__device__ __forceinline__ void zero_acc(float (&acc)[kMI][kNI][4]) {
#pragma unroll
  for (int mi = 0; mi < kMI; ++mi)
#pragma unroll
    for (int ni = 0; ni < kNI; ++ni)
#pragma unroll
      for (int i = 0; i < 4; ++i) acc[mi][ni][i] = 0.0f;
}

// One stage's tensor-core work of this warp: the BK / kMmaK k-steps of its
// 4 x 4 mma tiles, on the stage's A tile `as` and B tile `bs`.
template <class P, bool KC_A, bool KC_B>
__device__ __forceinline__ void mma_stage(const typename P::T* as, const typename P::T* bs, int wm, int wn,
                                          float (&acc)[kMI][kNI][4]) {
  constexpr int BK = Tile<typename P::T, kBM, KC_A>::BK;
#pragma unroll
  for (int kk = 0; kk < BK; kk += P::kMmaK) {
    uint32_t a[kMI][4], b[kNI][2];
    load_fragments<P, KC_A, KC_B>(as, bs, kk, wm, wn, a, b);
#pragma unroll
    for (int mi = 0; mi < kMI; ++mi)
#pragma unroll
      for (int ni = 0; ni < kNI; ++ni) {
        if constexpr (sizeof(typename P::T) == 4)
          mma_m16n8k8_tf32(acc[mi][ni], a[mi], b[ni]);
        else
          mma_m16n8k16_bf16(acc[mi][ni], a[mi], b[ni]);
      }
  }
}

template <class P, bool TA, bool TB, bool VEC>
__global__ void __launch_bounds__(kThreads, 2) gemm_kernel(const GemmArgs<typename P::T> p) {
  using T = typename P::T;
  constexpr bool KC_A = !TA, KC_B = TB;  // K-contiguous operands
  using TlA = Tile<T, kBM, KC_A>;
  using TlB = Tile<T, kBN, KC_B>;
  constexpr int BK = TlA::BK;
  TINCT_DYNAMIC_SMEM(smem);
  T* As = reinterpret_cast<T*>(smem);
  T* Bs = As + kStages * TlA::kElems;

  const int m0 = blockIdx.x * kBM, n0 = blockIdx.y * kBN;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int wm = (warp >> 2) * kWarpM, wn = (warp & 3) * kWarpN;

  auto request = [&](int stage, int kt) {
    const int k0 = kt * BK;
    load_tile<T, kBM, KC_A, VEC>(As + stage * TlA::kElems, p.A, p.lda, m0, p.M, k0, p.K);
    load_tile<T, kBN, KC_B, VEC>(Bs + stage * TlB::kElems, p.B, p.ldb, n0, p.N, k0, p.K);
  };

  float acc[kMI][kNI][4];
  zero_acc(acc);

  const int nk = (p.K + BK - 1) / BK;
#pragma unroll
  for (int s = 0; s < kStages - 1; ++s) {
    if (s < nk) request(s, s);
    cp_async_commit();  // empty groups too: the wait count below stays exact
  }
  for (int kt = 0; kt < nk; ++kt) {
    cp_async_wait<kStages - 2>();
    __syncthreads();
    const int next = kt + kStages - 1;
    if (next < nk) request(next % kStages, next);
    cp_async_commit();
    const T* as = As + (kt % kStages) * TlA::kElems;
    const T* bs = Bs + (kt % kStages) * TlB::kElems;
    mma_stage<P, KC_A, KC_B>(as, bs, wm, wn, acc);
  }

  // Epilogue: c0, c1 at (g, 2t + i), c2, c3 at (g + 8, 2t + i) of each m16n8 tile.
  const int g = lane >> 2, t = lane & 3;
#pragma unroll
  for (int mi = 0; mi < kMI; ++mi)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int m = m0 + wm + mi * 16 + g + 8 * h;
      if (m >= p.M) continue;
#pragma unroll
      for (int ni = 0; ni < kNI; ++ni)
#pragma unroll
        for (int i = 0; i < 2; ++i) {
          const int n = n0 + wn + ni * 8 + 2 * t + i;
          if (n >= p.N) continue;
          float* c = p.C + (m * p.ldc + n);
          const float v = acc[mi][ni][2 * h + i];
          *c = p.beta == 0.0f ? p.alpha * v : p.alpha * v + p.beta * *c;
        }
    }
}

template <class P>
constexpr int smem_bytes(bool ta, bool tb) {
  using T = typename P::T;
  const int a = ta ? Tile<T, kBM, false>::kBytes : Tile<T, kBM, true>::kBytes;
  const int b = tb ? Tile<T, kBN, true>::kBytes : Tile<T, kBN, false>::kBytes;
  return kStages * (a + b);
}

// The launch itself (the triple-chevron call) is written in each variant's .cu file, as
// `launch`: launch.template run<TA, TB, VEC>(args, grid, smem bytes, stream).
template <class P, bool TA, bool TB, bool VEC, class Launch>
void launch_one(const GemmArgs<typename P::T>& q, const Launch& launch, cudaStream_t stream) {
  constexpr int bytes = smem_bytes<P>(TA, TB);
  static const bool configured = [] {  // once per instantiation: above 48 KB needs the opt-in
    TINCT_CUDA_CHECK(cudaFuncSetAttribute(reinterpret_cast<const void*>(&gemm_kernel<P, TA, TB, VEC>),
                                          cudaFuncAttributeMaxDynamicSharedMemorySize, bytes));
    return true;
  }();
  (void)configured;
  const dim3 grid((q.M + kBM - 1) / kBM, (q.N + kBN - 1) / kBN);
  launch.template run<TA, TB, VEC>(q, grid, bytes, stream);
  TINCT_CUDA_LAUNCH_CHECK();
}

template <class P, bool TA, bool TB, class Launch>
void launch_vec(const GemmArgs<typename P::T>& q, bool vec, const Launch& launch, cudaStream_t stream) {
  if (vec)
    launch_one<P, TA, TB, true>(q, launch, stream);
  else
    launch_one<P, TA, TB, false>(q, launch, stream);
}

// Checks the arguments (as cuda::sgemm) and picks the instantiation.
template <class P, class Launch>
void gemm(const char* name, bool ta, bool tb, const GemmArgs<typename P::T>& q, const Launch& launch,
          cudaStream_t stream) {
  using T = typename P::T;
  if (q.M < 0 || q.N < 0 || q.K < 0) throw std::invalid_argument(std::string(name) + ": negative size");
  if (q.M == 0 || q.N == 0) return;
  const long long lim = 0x7fffffffLL;  // 32-bit element offsets inside the kernel
  if (1LL * (ta ? q.K : q.M) * q.lda > lim || 1LL * (tb ? q.N : q.K) * q.ldb > lim || 1LL * q.M * q.ldc > lim)
    throw std::invalid_argument(std::string(name) + ": matrices of >= 2^31 elements are not supported");
  if ((q.M + kBM - 1) / kBM > 0x7fffffff || (q.N + kBN - 1) / kBN > 65535)
    throw std::invalid_argument(std::string(name) + ": too many tiles");
  auto al16 = [](const void* ptr) { return (reinterpret_cast<uintptr_t>(ptr) & 15) == 0; };
  const bool vec = al16(q.A) && al16(q.B) && (q.lda * sizeof(T)) % 16 == 0 && (q.ldb * sizeof(T)) % 16 == 0;
  if (!ta && !tb) launch_vec<P, false, false>(q, vec, launch, stream);
  if (!ta && tb) launch_vec<P, false, true>(q, vec, launch, stream);
  if (ta && !tb) launch_vec<P, true, false>(q, vec, launch, stream);
  if (ta && tb) launch_vec<P, true, true>(q, vec, launch, stream);
}

}  // namespace tinct::cuda::tc
