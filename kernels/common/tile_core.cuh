// tile_core.cuh — the register-tiled inner product shared by the GEMM-shaped
// kernels (conv/cuda_2_igemm.cu: forward, backward-data, backward-filter;
// gemm/cuda_1_tiled.cu).
//
// A block computes a BM x BN tile of C = A B with the reduction dimension cut
// into slices of BK = 8. Each slice of A (BM x BK) and B (BK x BN) is staged
// in shared memory "k-major": As[kk][m], Bs[kk][n], so that for one kk a
// thread reads its TM values of A and TN values of B as contiguous float4s.
// Each thread owns a TM x TN block of C in registers and does TM*TN FMAs per
// kk for (TM + TN) / 4 shared-memory loads: 64 FMAs per 4 LDS.128 at 8x8.
//
// Which rows and columns a thread owns. With TM = 8 the thread does NOT own 8
// consecutive rows but two groups of 4, BM/2 apart: rows ty*4 + {0..3} and
// BM/2 + ty*4 + {0..3} (likewise columns). With 8 consecutive columns, the 8
// threads of a quarter-warp would read float4s at column 0, 8, 16, ... = two
// float4s per 32-bank row, a 2-way bank conflict on every B load; with groups
// of 4 they read columns 0, 4, 8, ... 28: one full 128-byte row, no conflict.
// Threads of one warp share ty (or two values of it), so A loads broadcast.
//
// Rows of shared memory are padded by kPad = 4 floats: rows stay 16-byte
// aligned for the float4 reads, and the transposing stores of the loaders
// that walk the reduction dimension fastest (kk = t % 8, m = t / 8: a warp
// writes 8 rows x 4 columns; backward-filter, GEMM with K contiguous) spread
// over all 32 banks: for BM = 32, 64, 128 the row stride BM + 4 is 4 banks
// mod 32, so row kk starts at bank 4*kk (BM = 16: 20*kk mod 32, also 8
// distinct groups of 4). Loaders that walk M or N fastest (conv forward,
// backward-data) store consecutive columns of one row: conflict-free anyway.
#pragma once

#include <cuda_runtime.h>

namespace tinct::cuda::detail {

constexpr int BK = 8;
constexpr int kPad = 4;
constexpr int kFar = -(1 << 29);  // a coordinate that no tap offset brings back into an image

// Row (within the tile) of the i-th of the TM rows a thread owns.
template <int BM, int TM>
__device__ __forceinline__ int frag_row(int ty, int i) {
  if constexpr (TM >= 4)
    return (i / 4) * (BM / TM) * 4 + ty * 4 + (i % 4);
  else
    return ty * TM + i;
}

// Column (within the tile) of the j-th of the TN columns a thread owns (TN: 4 or 8).
template <int BN, int TN>
__device__ __forceinline__ int frag_col(int tx, int j) {
  static_assert(TN % 4 == 0, "TN must be a multiple of 4");
  return (j / 4) * (BN / TN) * 4 + tx * 4 + (j % 4);
}

// acc += As^T Bs over one BK slice.
template <int BM, int BN, int TM, int TN>
__device__ __forceinline__ void mma_stage(const float (&As)[BK][BM + kPad],
                                          const float (&Bs)[BK][BN + kPad], int tx, int ty,
                                          float (&acc)[TM][TN]) {
  static_assert(TM == 1 || TM == 2 || TM % 4 == 0, "TM: 1, 2 or a multiple of 4");
#pragma unroll
  for (int kk = 0; kk < BK; ++kk) {
    float a[TM], b[TN];
    if constexpr (TM >= 4) {
#pragma unroll
      for (int g = 0; g < TM / 4; ++g) {
        const float4 v = *reinterpret_cast<const float4*>(&As[kk][g * (BM / TM) * 4 + ty * 4]);
        a[4 * g + 0] = v.x;
        a[4 * g + 1] = v.y;
        a[4 * g + 2] = v.z;
        a[4 * g + 3] = v.w;
      }
    } else if constexpr (TM == 2) {
      const float2 v = *reinterpret_cast<const float2*>(&As[kk][ty * 2]);
      a[0] = v.x;
      a[1] = v.y;
    } else {
      a[0] = As[kk][ty];
    }
#pragma unroll
    for (int g = 0; g < TN / 4; ++g) {
      const float4 v = *reinterpret_cast<const float4*>(&Bs[kk][g * (BN / TN) * 4 + tx * 4]);
      b[4 * g + 0] = v.x;
      b[4 * g + 1] = v.y;
      b[4 * g + 2] = v.z;
      b[4 * g + 3] = v.w;
    }
#pragma unroll
    for (int i = 0; i < TM; ++i)
#pragma unroll
      for (int j = 0; j < TN; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
  }
}

}  // namespace tinct::cuda::detail
