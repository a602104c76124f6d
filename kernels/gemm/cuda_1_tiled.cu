// gemm/cuda_1_tiled.cu — single-precision GEMM, row-major, with transposes.
//
// What it computes (kernels/gemm/ref.cpp):
//   C[M,N] = alpha * op(A)[M,K] op(B)[K,N] + beta * C   (beta == 0: C not read)
// Variant: the tiled kernel of tile_core.cuh without the convolution gather:
// 128x128x8 block tiles (64x64 with 4x4 per thread when the output has too
// few 128x128 tiles to fill the GPU), 8x8 register tiles, double-buffered
// shared memory. Each of the four transpose cases has its own loader mapping
// so that global loads run along the contiguous dimension of A and B:
//   A (M x K), not transposed: K contiguous -> 8 threads read 8 consecutive k
//     of one row (a full 32-byte sector), the warp 4 rows;
//   A transposed (stored K x M): M contiguous -> consecutive threads read
//     consecutive m;
//   B likewise. Shared-memory stores are transposed to the k-major layout,
//   conflict-free thanks to the row padding (see tile_core.cuh).
// It is the same core as the convolutions, so its ratio to cuBLAS (measured
// by bench_gpu_kernels, sgemm 8192^3) is the ceiling they can reach.
// Batched (sgemm_strided_batched): blockIdx.y picks the matrix triple, at
// fixed element strides (the Winograd convolution's 36 GEMMs, one launch).
// Limits: each matrix < 2^31 elements (32-bit offsets: fewer registers).
// Variants: this file is variant 1 of the gemm family, the only one so far
// (kernels/README.md: variant 0 is the vendor library, in benchmarks).
// Benchmark: tinct-kbench sgemm 1 --m 2048 --n 2048 --k 2048.
// cuBLAS beside it: build/bench/bench_gpu_kernels --benchmark_filter=sgemm
#include <cuda_runtime.h>

#include <stdexcept>

#include "kernels/cuda.h"
#include "kernels/common/common.cuh"
#include "kernels/common/tile_core.cuh"

namespace tinct::cuda {
namespace {

using detail::BK;
using detail::kPad;

struct GemmParams {
  int M, N, K;
  float alpha, beta;
  const float* A;
  int lda;
  const float* B;
  int ldb;
  float* C;
  int ldc;
  int m_tiles;
  long long sA, sB, sC;  // batch strides (elements): matrix blockIdx.y starts there
};

template <int BM, int BN, int TM, int TN, bool TA, bool TB>
__global__ void __launch_bounds__((BM / TM) * (BN / TN), (BM / TM) * (BN / TN) >= 256 ? 2 : 4)
    sgemm_kernel(const GemmParams p) {
  constexpr int T = (BM / TM) * (BN / TN);
  constexpr int A_PER = BM * BK / T, B_PER = BN * BK / T;
  static_assert((BM * BK) % T == 0 && (BN * BK) % T == 0 && T % BK == 0, "loader mapping");
  static_assert(T % BM == 0 && T % BN == 0, "loader mapping");

  const int m0 = (blockIdx.x % p.m_tiles) * BM;
  const int n0 = (blockIdx.x / p.m_tiles) * BN;
  const float* __restrict__ A = p.A + blockIdx.y * p.sA;
  const float* __restrict__ B = p.B + blockIdx.y * p.sB;
  float* __restrict__ Cm = p.C + blockIdx.y * p.sC;

  __shared__ __align__(16) float As[2][BK][BM + kPad];
  __shared__ __align__(16) float Bs[2][BK][BN + kPad];

  const int t = threadIdx.x;
  const int tx = t % (BN / TN), ty = t / (BN / TN);

  // Loader coordinates: (row within tile, k within slice) of this thread's
  // i-th element of A and of B.
  auto a_coord = [&](int i, int& m, int& kk) {
    if constexpr (!TA) {  // k contiguous
      kk = t % BK;
      m = t / BK + (T / BK) * i;
    } else {  // m contiguous
      m = t % BM;
      kk = t / BM + (T / BM) * i;
    }
  };
  auto b_coord = [&](int i, int& n, int& kk) {
    if constexpr (!TB) {  // n contiguous
      n = t % BN;
      kk = t / BN + (T / BN) * i;
    } else {  // k contiguous
      kk = t % BK;
      n = t / BK + (T / BK) * i;
    }
  };

  float ra[A_PER], rb[B_PER];
  auto gather = [&](int k0) {
#pragma unroll
    for (int i = 0; i < A_PER; ++i) {
      int m, kk;
      a_coord(i, m, kk);
      const int gm = m0 + m, gk = k0 + kk;
      float v = 0.0f;
      if (gm < p.M && gk < p.K)
        v = __ldg(A + (TA ? gk * p.lda + gm : gm * p.lda + gk));
      ra[i] = v;
    }
#pragma unroll
    for (int i = 0; i < B_PER; ++i) {
      int n, kk;
      b_coord(i, n, kk);
      const int gn = n0 + n, gk = k0 + kk;
      float v = 0.0f;
      if (gn < p.N && gk < p.K)
        v = __ldg(B + (TB ? gn * p.ldb + gk : gk * p.ldb + gn));
      rb[i] = v;
    }
  };
  auto stash = [&](int buf) {
#pragma unroll
    for (int i = 0; i < A_PER; ++i) {
      int m, kk;
      a_coord(i, m, kk);
      As[buf][kk][m] = ra[i];
    }
#pragma unroll
    for (int i = 0; i < B_PER; ++i) {
      int n, kk;
      b_coord(i, n, kk);
      Bs[buf][kk][n] = rb[i];
    }
  };

  float acc[TM][TN];
#pragma unroll
  for (int i = 0; i < TM; ++i)
#pragma unroll
    for (int j = 0; j < TN; ++j) acc[i][j] = 0.0f;

  const int nk = (p.K + BK - 1) / BK;
  if (nk > 0) {
    gather(0);
    stash(0);
    __syncthreads();
    for (int kt = 0; kt < nk; ++kt) {
      const int cur = kt & 1;
      const bool more = kt + 1 < nk;
      if (more) gather((kt + 1) * BK);
      detail::mma_stage<BM, BN, TM, TN>(As[cur], Bs[cur], tx, ty, acc);
      if (more) stash(cur ^ 1);
      __syncthreads();
    }
  }

#pragma unroll
  for (int i = 0; i < TM; ++i) {
    const int m = m0 + detail::frag_row<BM, TM>(ty, i);
    if (m >= p.M) continue;
#pragma unroll
    for (int j = 0; j < TN; ++j) {
      const int n = n0 + detail::frag_col<BN, TN>(tx, j);
      if (n >= p.N) continue;
      float* c = Cm + (m * p.ldc + n);
      *c = p.beta == 0.0f ? p.alpha * acc[i][j] : p.alpha * acc[i][j] + p.beta * *c;
    }
  }
}

template <int BM, int BN, int TM, int TN>
void launch(GemmParams q, bool ta, bool tb, int batch, cudaStream_t stream) {
  constexpr int T = (BM / TM) * (BN / TN);
  q.m_tiles = (q.M + BM - 1) / BM;
  const long long blocks = 1LL * q.m_tiles * ((q.N + BN - 1) / BN);
  if (blocks > 0x7fffffffLL) throw std::invalid_argument("sgemm: too many tiles");
  const dim3 g{unsigned(blocks), unsigned(batch), 1u};
  if (!ta && !tb) sgemm_kernel<BM, BN, TM, TN, false, false><<<g, T, 0, stream>>>(q);
  if (!ta && tb) sgemm_kernel<BM, BN, TM, TN, false, true><<<g, T, 0, stream>>>(q);
  if (ta && !tb) sgemm_kernel<BM, BN, TM, TN, true, false><<<g, T, 0, stream>>>(q);
  if (ta && tb) sgemm_kernel<BM, BN, TM, TN, true, true><<<g, T, 0, stream>>>(q);
  TINCT_CUDA_LAUNCH_CHECK();
}

}  // namespace

void sgemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda,
           const float* B, int ldb, float beta, float* C, int ldc, cudaStream_t stream) {
  sgemm_strided_batched(trans_a, trans_b, M, N, K, alpha, A, lda, 0, B, ldb, 0, beta, C, ldc, 0, 1, stream);
}

void sgemm_strided_batched(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A,
                           int lda, long long stride_a, const float* B, int ldb, long long stride_b,
                           float beta, float* C, int ldc, long long stride_c, int batch,
                           cudaStream_t stream) {
  if (M < 0 || N < 0 || K < 0 || batch < 0) throw std::invalid_argument("sgemm: negative size");
  if (batch > 65535) throw std::invalid_argument("sgemm: more than 65535 matrices in one batch");
  if (M == 0 || N == 0 || batch == 0) return;
  // 32-bit element offsets inside the kernel (fewer registers, no spills).
  const long long lim = 0x7fffffffLL;
  if (1LL * (trans_a ? K : M) * lda > lim || 1LL * (trans_b ? N : K) * ldb > lim ||
      1LL * M * ldc > lim)
    throw std::invalid_argument("sgemm: matrices of >= 2^31 elements are not supported");
  GemmParams q{M, N, K, alpha, beta, A, lda, B, ldb, C, ldc, 0, stride_a, stride_b, stride_c};
  const long long tiles128 = 1LL * ((M + 127) / 128) * ((N + 127) / 128) * batch;
  if (tiles128 >= 2LL * detail::sm_count())
    launch<128, 128, 8, 8>(q, trans_a, trans_b, batch, stream);
  else
    launch<64, 64, 4, 4>(q, trans_a, trans_b, batch, stream);
}

}  // namespace tinct::cuda
