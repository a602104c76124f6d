// gemm/cpu.cpp — the fast CPU single-precision GEMM of tinct.
//
// WHAT: the same contract as sgemm_ref (gemm/ref.cpp), row-major
//   C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C,  beta == 0: C not read.
//
// HOW (the Goto / BLIS scheme, written from the published description):
//
//   for jc in N step NC                 B block  [KC x NC]  -> lives in L3
//     for pc in K step KC               pack op(B)[pc:pc+KC, jc:jc+NC] into
//                                       column panels of NR
//       for ic in M step MC             pack op(A)[ic:ic+MC, pc:pc+KC] into row
//                                       panels of MR                 -> lives in L2
//         for jr in NC step NR          one B micro-panel [KC x NR] -> lives in L1
//           for ir in MC step MR        micro-kernel: an MR x NR tile of C held
//                                       in vector registers for the whole KC loop
//
// The register tile MR x NR, the block sizes and the micro-kernel belong to
// the CPU kernel set in use (gemm/microkernels.h; 6x16 for AVX2 and the portable
// fallback, 14x32 for AVX-512, each with its own KC / MC / NC), chosen once at
// start-up by common/cpu_features.cpp; this file is the ISA-independent rest, built
// at the baseline ISA. A bf16 set (AVX-512 BF16 or AMX, for Precision::bf16) runs the
// same loops on panels packed as bf16 pairs (pack_*_bf16_t below, which do the
// rounding); offsets into packed panels count 32-bit slots (packed_depth). Packing makes every load in the micro-kernel
// unit-stride and zero-pads the edges, so the kernel never branches on the
// shape; only the final store of an edge tile is masked. Transposes are
// absorbed by the packing routines. alpha and beta are applied when the tile
// is stored; beta is used for the first KC slice only (later slices
// accumulate with beta = 1).
//
// Threads: C is cut into one block of rows (or of columns, for wide C) per
// thread and each thread runs the whole blocked loop on its part with its own
// packing buffers (see gemm_driver for why not a shared B panel). Called from
// inside a parallel region (e.g. conv parallel over the batch) it runs on the
// calling thread only, so there is no nested oversubscription. Each C element
// is summed by one thread in the same order whatever the thread count, so the
// result does not depend on it.
//
// Internal entry points for conv/cpu.cpp (namespace detail at the bottom, declared
// in gemm/microkernels.h, not part of kernels.h): pack_a_all packs op(A) once and
// sgemm_packed_a multiplies that packed A with any number of B matrices, so a
// convolution packs its weights once per call instead of once per image;
// sgemm_b_panels takes its B panels from a producer instead of a matrix, so
// backward-filter lowers its input straight into them.
//
// BENCHMARK: build target bench_cpu_gemm_conv (bench/bench_cpu_gemm_conv.cpp),
//   ./bench_cpu_gemm_conv --benchmark_filter=sgemm
// which compares with OpenBLAS cblas_sgemm at 1 and 2 threads, for the kernel
// set in use (TINCT_CPU_KERNELS to pick one); results are in bench/RESULTS.md.
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#if defined(__SSE2__)
#include <xmmintrin.h>
#endif
#if defined(__SSE4_1__)
#include <smmintrin.h>
#endif

#include "kernels/gemm/microkernels.h"
#include "kernels/common/aligned_scratch.h"

namespace tinct::cpu {
using detail::GemmKernel;
namespace {

// Below this many flops the OpenMP fork/join costs more than it saves.
constexpr double kMinParallelFlops = 4.0e6;

int ceil_div(int a, int b) { return (a + b - 1) / b; }


float* a_pack_buffer(size_t n) {
  thread_local detail::AlignedScratch buf;
  return buf.get(n);
}
float* b_pack_buffer(size_t n) {
  thread_local detail::AlignedScratch buf;
  return buf.get(n);
}

// Packs op(A)[i0:i0+mc, p0:p0+kc] as row panels of MR: panel r holds, for each
// k, the MR values op(A)[i0+r*MR+ii, p0+k] contiguously. Rows past mc are 0.
template <int MR>
void pack_a_t(bool trans, const float* A, int lda, int i0, int mc, int p0, int kc, float* dst) {
  for (int ip = 0; ip < mc; ip += MR) {
    const int mr = std::min(MR, mc - ip);
    float* d = dst + (size_t)ip * kc;
    if (!trans) {
      // op(A)[i,k] = A[i*lda + k]: MR row streams, gathered column by column.
      const float* rows[MR];
      for (int ii = 0; ii < MR; ++ii)
        rows[ii] = A + (size_t)(i0 + ip + std::min(ii, mr - 1)) * lda + p0;
      if (mr == MR) {
        for (int k = 0; k < kc; ++k)
          for (int ii = 0; ii < MR; ++ii) d[k * MR + ii] = rows[ii][k];
      } else {
        for (int k = 0; k < kc; ++k)
          for (int ii = 0; ii < MR; ++ii) d[k * MR + ii] = ii < mr ? rows[ii][k] : 0.0f;
      }
    } else {
      // op(A)[i,k] = A[k*lda + i]: each k is already a contiguous run of rows.
      for (int k = 0; k < kc; ++k) {
        const float* src = A + (size_t)(p0 + k) * lda + i0 + ip;
        if (mr == MR) {
          std::memcpy(d + k * MR, src, MR * sizeof(float));
        } else {
          for (int ii = 0; ii < MR; ++ii) d[k * MR + ii] = ii < mr ? src[ii] : 0.0f;
        }
      }
    }
  }
}

// Packs one column panel op(B)[p0:p0+kc, j0:j0+nr] (nr <= NR): for each k the
// NR values of row k contiguously, columns past nr are 0.
template <int NR>
void pack_b_panel_t(bool trans, const float* B, int ldb, int p0, int kc, int j0, int nr, float* d) {
  if (!trans) {
    // op(B)[k,j] = B[k*ldb + j]: each k is a contiguous run of columns.
    for (int k = 0; k < kc; ++k) {
      const float* src = B + (size_t)(p0 + k) * ldb + j0;
      float* dk = d + (size_t)k * NR;
      if (nr == NR) {
        std::memcpy(dk, src, NR * sizeof(float));
      } else {
        for (int jj = 0; jj < NR; ++jj) dk[jj] = jj < nr ? src[jj] : 0.0f;
      }
    }
    return;
  }
  // op(B)[k,j] = B[j*ldb + k]: a transpose, in blocks of 4 (SSE) or 8 k by
  // all NR columns, so the nr source rows are read in runs and each
  // destination line is written whole while it is in L1.
  const float* src[NR];
  for (int jj = 0; jj < NR; ++jj) src[jj] = B + (size_t)(j0 + std::min(jj, nr - 1)) * ldb + p0;
  int k = 0;
#if defined(__SSE2__)
  // 4x4 blocks transposed in SSE registers (the x86-64 baseline).
  for (; k + 4 <= kc; k += 4) {
    float* dk = d + (size_t)k * NR;
    for (int jj = 0; jj < NR; jj += 4) {
      __m128 r0 = _mm_loadu_ps(src[jj] + k), r1 = _mm_loadu_ps(src[jj + 1] + k);
      __m128 r2 = _mm_loadu_ps(src[jj + 2] + k), r3 = _mm_loadu_ps(src[jj + 3] + k);
      _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
      _mm_store_ps(dk + jj, r0);
      _mm_store_ps(dk + NR + jj, r1);
      _mm_store_ps(dk + 2 * NR + jj, r2);
      _mm_store_ps(dk + 3 * NR + jj, r3);
    }
  }
#endif
  for (; k + 8 <= kc; k += 8) {
    float* dk = d + (size_t)k * NR;
    for (int jj = 0; jj < NR; ++jj) {
      const float* s = src[jj] + k;
      for (int kk = 0; kk < 8; ++kk) dk[kk * NR + jj] = s[kk];
    }
  }
  for (; k < kc; ++k)
    for (int jj = 0; jj < NR; ++jj) d[(size_t)k * NR + jj] = src[jj][k];
  if (nr < NR)  // the columns past nr were filled from row nr-1: zero them
    for (int kk = 0; kk < kc; ++kk)
      for (int jj = nr; jj < NR; ++jj) d[(size_t)kk * NR + jj] = 0.0f;
}

// --- The bf16 layout (gemm/microkernels.h): one 32-bit slot per k pair,
// k = 2t in the low half, each value rounded as cpu::bf16_from_float
// (tensorcore/ref.cpp) rounds it: to nearest even, a NaN kept (quiet).
// Not the hardware's VCVTNE2PS2BF16 (_mm512_cvtne2ps_pbh): it rounds to
// nearest even and quiets NaNs alike, but flushes subnormal inputs to zero
// (checked on the Zen 4: 1e-39f -> 0x0000, the reference's 0x000b).
// Two shapes of source, four values at a time in SSE4.1 (the x86-64-v2
// baseline) with a scalar rest: a pair's values side by side in one row
// (row_slots), or the same column of two rows (column_slots). Scalar code
// here spent a quarter of the GAN's bf16 forward in packing B (perf, 2026-12-05).

inline uint32_t bf16_bits(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (u >> 16) | 0x0040u;  // NaN: keep the sign, force quiet
  return (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;  // RNE on the 16 dropped bits
}
inline void store_slot(float* d, uint32_t w) { std::memcpy(d, &w, 4); }

#if defined(__SSE4_1__)
// bf16_bits of four floats, left in the upper 16 bits of each lane.
inline __m128i bf16_high4(__m128 x) {
  const __m128i u = _mm_castps_si128(x);
  const __m128i lsb = _mm_and_si128(_mm_srli_epi32(u, 16), _mm_set1_epi32(1));
  const __m128i rne = _mm_add_epi32(u, _mm_add_epi32(lsb, _mm_set1_epi32(0x7fff)));
  const __m128i nan = _mm_cmpgt_epi32(_mm_and_si128(u, _mm_set1_epi32(0x7fffffff)), _mm_set1_epi32(0x7f800000));
  return _mm_blendv_epi8(rne, _mm_or_si128(u, _mm_set1_epi32(0x00400000)), nan);
}
#endif

// d[t * stride] = the slot of (s[2t], s[2t+1]) for t < kc / 2, then (s[kc-1], 0) when kc is odd.
void row_slots(const float* s, int kc, float* d, int stride) {
  const int full = kc / 2;
  int t = 0;
#if defined(__SSE4_1__)
  // 8 values -> 4 slots: the high halves of lanes 0..3 of each vector, in order.
  const __m128i pick = _mm_setr_epi8(2, 3, 6, 7, 10, 11, 14, 15, -1, -1, -1, -1, -1, -1, -1, -1);
  for (; t + 4 <= full; t += 4) {
    const __m128i a = _mm_shuffle_epi8(bf16_high4(_mm_loadu_ps(s + 2 * t)), pick);
    const __m128i b = _mm_shuffle_epi8(bf16_high4(_mm_loadu_ps(s + 2 * t + 4)), pick);
    const __m128i w = _mm_unpacklo_epi64(a, b);
    float* dt = d + (size_t)t * stride;
    store_slot(dt, (uint32_t)_mm_cvtsi128_si32(w));
    store_slot(dt + stride, (uint32_t)_mm_extract_epi32(w, 1));
    store_slot(dt + 2 * stride, (uint32_t)_mm_extract_epi32(w, 2));
    store_slot(dt + 3 * stride, (uint32_t)_mm_extract_epi32(w, 3));
  }
#endif
  for (; t < full; ++t) store_slot(d + (size_t)t * stride, bf16_bits(s[2 * t]) | (bf16_bits(s[2 * t + 1]) << 16));
  if (kc % 2) store_slot(d + (size_t)full * stride, bf16_bits(s[kc - 1]));
}

// d[j] = the slot of (r0[j], r1[j]) for j < n (r1 null: a zero k), then zero slots up to `width`.
void column_slots(const float* r0, const float* r1, int n, int width, float* d) {
  int j = 0;
#if defined(__SSE4_1__)
  for (; j + 4 <= n; j += 4) {
    const __m128i lo = _mm_srli_epi32(bf16_high4(_mm_loadu_ps(r0 + j)), 16);
    const __m128i w = r1 ? _mm_blend_epi16(lo, bf16_high4(_mm_loadu_ps(r1 + j)), 0xAA) : lo;
    _mm_storeu_si128(reinterpret_cast<__m128i*>(d + j), w);
  }
#endif
  for (; j < n; ++j) store_slot(d + j, bf16_bits(r0[j]) | (r1 ? bf16_bits(r1[j]) << 16 : 0u));
  for (; j < width; ++j) store_slot(d + j, 0u);
}

// pack_a_t in the bf16 layout: panel r holds, for each pair t, MR slots.
template <int MR>
void pack_a_bf16_t(bool trans, const float* A, int lda, int i0, int mc, int p0, int kc, float* dst) {
  const int pairs = (kc + 1) / 2;
  for (int ip = 0; ip < mc; ip += MR) {
    const int mr = std::min(MR, mc - ip);
    float* d = dst + (size_t)ip * pairs;
    if (!trans) {
      // op(A)[i,k] = A[i*lda + k]: a row's pairs are adjacent; rows past mr are 0.
      for (int ii = 0; ii < MR; ++ii) {
        if (ii < mr) {
          row_slots(A + (size_t)(i0 + ip + ii) * lda + p0, kc, d + ii, MR);
        } else {
          for (int t = 0; t < pairs; ++t) store_slot(d + (size_t)t * MR + ii, 0u);
        }
      }
    } else {
      // op(A)[i,k] = A[k*lda + i]: rows k and k+1 of A are runs of i.
      for (int t = 0; t < pairs; ++t) {
        const float* r0 = A + (size_t)(p0 + 2 * t) * lda + i0 + ip;
        column_slots(r0, 2 * t + 1 < kc ? r0 + lda : nullptr, mr, MR, d + (size_t)t * MR);
      }
    }
  }
}

// pack_b_panel_t in the bf16 layout: for each pair t, NR slots.
template <int NR>
void pack_b_panel_bf16_t(bool trans, const float* B, int ldb, int p0, int kc, int j0, int nr, float* d) {
  const int pairs = (kc + 1) / 2;
  if (!trans) {
    // op(B)[k,j] = B[k*ldb + j]: rows k and k+1 of B are runs of columns.
    for (int t = 0; t < pairs; ++t) {
      const float* r0 = B + (size_t)(p0 + 2 * t) * ldb + j0;
      column_slots(r0, 2 * t + 1 < kc ? r0 + ldb : nullptr, nr, NR, d + (size_t)t * NR);
    }
    return;
  }
  // op(B)[k,j] = B[j*ldb + k]: column jj's pairs are adjacent in its source row.
  for (int jj = 0; jj < NR; ++jj) {
    if (jj < nr) {
      row_slots(B + (size_t)(j0 + jj) * ldb + p0, kc, d + jj, NR);
    } else {
      for (int t = 0; t < pairs; ++t) store_slot(d + (size_t)t * NR + jj, 0u);
    }
  }
}

// --- The AMX layout (gemm/microkernels.h): A per 32-k chunk as MR rows x 16
// slots, B as pack_b_panel_bf16_t; both padded with zero pairs to whole chunks.
template <int MR>
void pack_a_amx_t(bool trans, const float* A, int lda, int i0, int mc, int p0, int kc, float* dst) {
  const int chunks = (kc + 31) / 32, kw = chunks * 16;
  for (int ip = 0; ip < mc; ip += MR) {
    const int mr = std::min(MR, mc - ip);
    float* d = dst + (size_t)ip * kw;
    std::memset(d, 0, (size_t)MR * kw * sizeof(float));  // rows past mr, pairs past kc
    for (int c = 0; c < chunks; ++c) {
      const int k0 = 32 * c, klen = std::min(32, kc - k0);
      float* dc = d + (size_t)c * MR * 16;
      if (!trans) {
        // op(A)[i,k] = A[i*lda + k]: a row's chunk is one run of k.
        for (int ii = 0; ii < mr; ++ii)
          row_slots(A + (size_t)(i0 + ip + ii) * lda + p0 + k0, klen, dc + ii * 16, 1);
      } else {
        // op(A)[i,k] = A[k*lda + i]: rows k and k+1 of A are runs of i, scattered to the rows' slots.
        float pair[MR];
        for (int t = 0; t < (klen + 1) / 2; ++t) {
          const float* r0 = A + (size_t)(p0 + k0 + 2 * t) * lda + i0 + ip;
          column_slots(r0, 2 * t + 1 < klen ? r0 + lda : nullptr, mr, mr, pair);
          for (int ii = 0; ii < mr; ++ii) dc[ii * 16 + t] = pair[ii];
        }
      }
    }
  }
}
template <int NR>
void pack_b_panel_amx_t(bool trans, const float* B, int ldb, int p0, int kc, int j0, int nr, float* d) {
  pack_b_panel_bf16_t<NR>(trans, B, ldb, p0, kc, j0, nr, d);
  const int pairs = (kc + 1) / 2, kw = (kc + 31) / 32 * 16;
  std::memset(d + (size_t)pairs * NR, 0, (size_t)(kw - pairs) * NR * sizeof(float));
}

// The packers for kernel g's tile (the tiles of gemm/microkernels.h: MR 6, 14 or 32, NR 16 or 32)
// and layout (fp32, bf16 pairs, or AMX).
void pack_a(const GemmKernel& g, bool trans, const float* A, int lda, int i0, int mc, int p0,
            int kc, float* dst) {
  if (g.amx) {
    if (g.mr == 32) return pack_a_amx_t<32>(trans, A, lda, i0, mc, p0, kc, dst);
    std::abort();
  }
  if (g.bf16) {
    if (g.mr == 14) return pack_a_bf16_t<14>(trans, A, lda, i0, mc, p0, kc, dst);
    std::abort();
  }
  switch (g.mr) {
    case 6: return pack_a_t<6>(trans, A, lda, i0, mc, p0, kc, dst);
    case 14: return pack_a_t<14>(trans, A, lda, i0, mc, p0, kc, dst);
  }
  std::abort();
}
void pack_b_panel(const GemmKernel& g, bool trans, const float* B, int ldb, int p0, int kc, int j0,
                  int nr, float* d) {
  if (g.amx) {  // (a plain op(B) with the set's own packer goes to pack_b_block_rows instead)
    if (g.nr == 32) return pack_b_panel_amx_t<32>(trans, B, ldb, p0, kc, j0, nr, d);
    std::abort();
  }
  if (g.bf16) {
    if (g.nr == 32) return pack_b_panel_bf16_t<32>(trans, B, ldb, p0, kc, j0, nr, d);
    std::abort();
  }
  switch (g.nr) {
    case 16: return pack_b_panel_t<16>(trans, B, ldb, p0, kc, j0, nr, d);
    case 32: return pack_b_panel_t<32>(trans, B, ldb, p0, kc, j0, nr, d);
  }
  std::abort();
}

// C = beta * C, with beta == 0 writing zeros without reading C.
void scale_c(int M, int N, float beta, float* C, int ldc) {
  for (int i = 0; i < M; ++i) {
    float* c = C + (size_t)i * ldc;
    if (beta == 0.0f) {
      std::fill(c, c + N, 0.0f);
    } else if (beta != 1.0f) {
      for (int j = 0; j < N; ++j) c[j] *= beta;
    }
  }
}

// Where the driver gets its packed A blocks: packed on the fly from op(A), or
// read from a buffer that detail::pack_a_all filled beforehand (conv reuses one
// weight matrix for every image).
struct ASource {
  bool trans = false;
  const float* A = nullptr;
  int lda = 0;
  const float* prepacked = nullptr;  // when set, A/trans/lda are unused
  int m_pad = 0;                     // rows of the prepacked matrix (a multiple of MR)
  int row0 = 0;                      // first prepacked row of this (sub)product

  // The same source starting m0 rows further down (m0 a multiple of MR).
  ASource rows_from(int m0) const {
    ASource s = *this;
    if (prepacked) s.row0 += m0;
    else s.A += trans ? (size_t)m0 : (size_t)m0 * lda;
    return s;
  }
};

// Where the driver gets its packed B panels: packed from op(B), or produced on
// request by a detail::BPanelSource (conv backward-filter lowers its input
// straight into them).
struct BSource {
  bool trans = false;
  const float* B = nullptr;
  int ldb = 0;
  const detail::BPanelSource* producer = nullptr;  // when set, B/trans/ldb are unused
  int col0 = 0;                                     // first column of this (sub)product

  void pack(const GemmKernel& g, int p0, int kc, int j0, int nr, float* d) const {
    if (producer) producer->pack(p0, kc, col0 + j0, nr, d);
    else pack_b_panel(g, trans, B, ldb, p0, kc, j0, nr, d);
  }
  // The same source starting n0 columns further right.
  BSource cols_from(int n0) const {
    BSource s = *this;
    if (producer) s.col0 += n0;
    else s.B += trans ? (size_t)n0 * ldb : (size_t)n0;
    return s;
  }
};

// All panels of op(B)[p0:p0+kc, j0:j0+nc] (B not transposed) for a bf16 set
// with its own GemmKernel::column_slots, row pair by row pair: each pass reads
// two rows of B along their length. Panel by panel, it read 2 x 128 bytes of
// each of kc rows (col strips are 1-8 KiB a row apart) and stalled on the
// misses: the packing was a fifth of a bf16 forward with AMX (perf, 2026-12-06).
void pack_b_block_rows(const GemmKernel& g, const float* B, int ldb, int p0, int kc, int j0, int nc, float* d) {
  const int NR = g.nr, pairs = (kc + 1) / 2, kw = detail::packed_depth(g, kc);
  const int n_panels = ceil_div(nc, NR);
  for (int t = 0; t < pairs; ++t) {
    const float* r0 = B + (size_t)(p0 + 2 * t) * ldb + j0;
    const float* r1 = 2 * t + 1 < kc ? r0 + ldb : nullptr;
    for (int jp = 0; jp < n_panels; ++jp)
      g.column_slots(r0 + jp * NR, r1 ? r1 + jp * NR : nullptr, std::min(NR, nc - jp * NR), NR,
                     d + (size_t)jp * NR * kw + (size_t)t * NR);
  }
  for (int jp = 0; jp < n_panels; ++jp)  // zero pairs up to the padded depth
    std::memset(d + (size_t)jp * NR * kw + (size_t)pairs * NR, 0, (size_t)(kw - pairs) * NR * sizeof(float));
}

// The blocked loops described at the top of the file, on the calling thread.
void gemm_serial(const GemmKernel& g, const ASource& a, const BSource& b, int M, int N, int K,
                 float alpha, float beta, float* C, int ldc) {
  const int MR = g.mr, NR = g.nr, KC = g.kc, MC = g.mc, NC = g.nc;
  const int kw_max = detail::packed_depth(g, std::min(K, KC));  // AMX pads: may exceed K
  float* bpack = b_pack_buffer((size_t)kw_max * std::min(ceil_div(N, NR) * NR, NC));
  float* apack = a.prepacked ? nullptr : a_pack_buffer((size_t)std::min(ceil_div(M, MR) * MR, MC) * kw_max);

  for (int jc = 0; jc < N; jc += NC) {
    const int nc = std::min(NC, N - jc);
    const int n_panels = ceil_div(nc, NR);
    for (int pc = 0; pc < K; pc += KC) {
      const int kc = std::min(KC, K - pc);
      const int kw = detail::packed_depth(g, kc);  // 32-bit slots per packed row / column
      const float beta_pc = pc == 0 ? beta : 1.0f;
      if (g.column_slots && !b.producer && !b.trans) {
        pack_b_block_rows(g, b.B, b.ldb, pc, kc, jc, nc, bpack);
      } else {
        for (int jp = 0; jp < n_panels; ++jp) {
          b.pack(g, pc, kc, jc + jp * NR, std::min(NR, nc - jp * NR), bpack + (size_t)jp * NR * kw);
        }
      }
      for (int ic = 0; ic < M; ic += MC) {
        const int mc = std::min(MC, M - ic);
        const float* ablock;
        if (a.prepacked) {
          // pack_a_all stores slice pc as one block of all rows: row i starts at
          // i*kw (pc is a multiple of KC, even for a bf16 set).
          ablock = a.prepacked + (size_t)a.m_pad * detail::packed_depth(g, pc) + (size_t)(a.row0 + ic) * kw;
        } else {
          pack_a(g, a.trans, a.A, a.lda, ic, mc, pc, kc, apack);
          ablock = apack;
        }
        for (int jp = 0; jp < n_panels; ++jp) {
          const int j = jp * NR;
          const int nr = std::min(NR, nc - j);
          const float* bp = bpack + (size_t)jp * NR * kw;
          for (int ir = 0; ir < mc; ir += MR) {
            g.kernel(kc, ablock + (size_t)ir * kw, bp, C + (size_t)(ic + ir) * ldc + jc + j, ldc,
                     alpha, beta_pc, std::min(MR, mc - ir), nr);
          }
        }
      }
    }
  }
}

// Splits C into one independent sub-product per thread, each run by
// gemm_serial with its own packing buffers. There is no barrier inside: on a
// machine shared with other work, a thread that loses its core for a while
// delays only its own part, where a barrier per KC slice would stall everyone.
// The price is packing the operand that the parts share once per thread:
//   split rows of C    -> every thread packs all of op(B);
//   split columns of C -> every thread packs all of op(A) (free if prepacked).
// The sums for each C element are the same whichever split is used, so the
// result does not depend on the thread count. (Rows of C sharing one packed
// op(B), the BLIS way, with a barrier after each packed block, was measured
// 2026-12-05 on a 2-core Intel Xeon, AVX-512, load 1-2, 2 threads: tinct /
// OpenBLAS 0.96 -> 0.93 at 512^3 and 0.91 -> 0.88 at 1024^3 (medians of 6-10),
// the barriers with OMP_WAIT_POLICY=passive costing more than half of op(B)'s
// packing saves; it was not kept.)
void gemm_driver(const GemmKernel& g, const ASource& a, const BSource& b, int M, int N, int K,
                 float alpha, float beta, float* C, int ldc) {
  int nthreads = omp_in_parallel() ? 1 : omp_get_max_threads();
  if (2.0 * M * N * K < kMinParallelFlops) nthreads = 1;
  nthreads = std::min(nthreads, std::max(ceil_div(M, g.mr), ceil_div(N, g.nr)));
  if (nthreads <= 1) {
    gemm_serial(g, a, b, M, N, K, alpha, beta, C, ldc);
    return;
  }
  // Split the larger side (the smaller shared operand is repacked); with A
  // prepacked, columns cost nothing extra as long as each part is wide enough.
  const bool split_rows = a.prepacked ? N < nthreads * 4 * g.nr : M >= N;
  const int unit = split_rows ? g.mr : g.nr, extent = split_rows ? M : N;
  const int units = ceil_div(extent, unit);
#pragma omp parallel for num_threads(nthreads) schedule(static)
  for (int t = 0; t < nthreads; ++t) {
    const int begin = std::min(extent, (int)((long)units * t / nthreads) * unit);
    const int end = std::min(extent, (int)((long)units * (t + 1) / nthreads) * unit);
    if (begin >= end) continue;
    if (split_rows) {
      gemm_serial(g, a.rows_from(begin), b, end - begin, N, K, alpha, beta,
                  C + (size_t)begin * ldc, ldc);
    } else {
      gemm_serial(g, a, b.cols_from(begin), M, end - begin, K, alpha, beta, C + begin, ldc);
    }
  }
}

}  // namespace

void sgemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A,
           int lda, const float* B, int ldb, float beta, float* C, int ldc) {
  detail::sgemm_with(detail::active_gemm_kernel(), trans_a, trans_b, M, N, K, alpha, A, lda, B,
                     ldb, beta, C, ldc);
}

void sgemm_bf16(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda,
                const float* B, int ldb, float beta, float* C, int ldc) {
  const GemmKernel* g = detail::active_bf16_gemm_kernel();
  if (!g) throw std::logic_error("sgemm_bf16: the bf16 GEMM is not in use (cpu_bf16_gemm())");
  detail::sgemm_with(*g, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

// Internal entry points (gemm/microkernels.h): an explicit kernel set, and op(A)
// packed once and multiplied with many B matrices (conv/cpu.cpp).
namespace detail {

void sgemm_with(const GemmKernel& g, bool trans_a, bool trans_b, int M, int N, int K, float alpha,
                const float* A, int lda, const float* B, int ldb, float beta, float* C, int ldc) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0 || alpha == 0.0f) {  // nothing to multiply: BLAS semantics, A and B unread
    scale_c(M, N, beta, C, ldc);
    return;
  }
  ASource a;
  a.trans = trans_a, a.A = A, a.lda = lda;
  BSource b;
  b.trans = trans_b, b.B = B, b.ldb = ldb;
  gemm_driver(g, a, b, M, N, K, alpha, beta, C, ldc);
}

void sgemm_b_panels(const GemmKernel& g, bool trans_a, int M, int N, int K, float alpha,
                    const float* A, int lda, const BPanelSource& producer, float beta, float* C,
                    int ldc) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0 || alpha == 0.0f) {
    scale_c(M, N, beta, C, ldc);
    return;
  }
  ASource a;
  a.trans = trans_a, a.A = A, a.lda = lda;
  BSource b;
  b.producer = &producer;
  gemm_driver(g, a, b, M, N, K, alpha, beta, C, ldc);
}

void pack_b_panel_transposed(const GemmKernel& g, const float* src, int ld, int kc, int nr,
                             float* dst) {
  pack_b_panel(g, true, src, ld, 0, kc, 0, nr, dst);
}

size_t packed_a_size(const GemmKernel& g, int M, int K) {
  return (size_t)ceil_div(M, g.mr) * g.mr * detail::packed_depth(g, K);  // every slice but the last has even KC
}

// Packs op(A)[M,K] slice by slice (KC columns of op(A) each); every slice is
// laid out as pack_a lays out one block holding all M rows, so any MC block
// of it is a contiguous sub-range. Slices are packed in parallel.
void pack_a_all(const GemmKernel& g, bool trans_a, int M, int K, const float* A, int lda,
                float* packed) {
  const size_t m_pad = (size_t)ceil_div(M, g.mr) * g.mr;
  const int n_slices = ceil_div(K, g.kc);
#pragma omp parallel for schedule(static) if (!omp_in_parallel() && (double)M * K > 1e5)
  for (int sl = 0; sl < n_slices; ++sl) {
    const int pc = sl * g.kc;
    pack_a(g, trans_a, A, lda, 0, M, pc, std::min(g.kc, K - pc), packed + m_pad * packed_depth(g, pc));
  }
}

// sgemm with op(A) taken from pack_a_all's buffer (packed for the same g).
void sgemm_packed_a(const GemmKernel& g, int M, int N, int K, float alpha, const float* packed_a,
                    bool trans_b, const float* B, int ldb, float beta, float* C, int ldc) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0 || alpha == 0.0f) {
    scale_c(M, N, beta, C, ldc);
    return;
  }
  ASource a;
  a.prepacked = packed_a, a.m_pad = ceil_div(M, g.mr) * g.mr;
  BSource b;
  b.trans = trans_b, b.B = B, b.ldb = ldb;
  gemm_driver(g, a, b, M, N, K, alpha, beta, C, ldc);
}

}  // namespace detail

}  // namespace tinct::cpu
