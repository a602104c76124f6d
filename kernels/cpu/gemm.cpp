// gemm.cpp — the fast CPU single-precision GEMM of tinct.
//
// WHAT: the same contract as sgemm_ref (gemm_ref.cpp), row-major
//   C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C,  beta == 0: C not read.
//
// HOW (the Goto / BLIS scheme, written from the published description):
//
//   for jc in N step NC                 B block  [KC x NC]  -> lives in L3
//     for pc in K step KC               pack op(B)[pc:pc+KC, jc:jc+NC] into
//                                       column panels of NR=16
//       for ic in M step MC             pack op(A)[ic:ic+MC, pc:pc+KC] into row
//                                       panels of MR=6               -> lives in L2
//         for jr in NC step NR          one B micro-panel [KC x 16] -> lives in L1
//           for ir in MC step MR        micro-kernel: a 6x16 tile of C held in
//                                       12 AVX registers for the whole KC loop
//
// The micro-kernel does 12 FMAs per k against 2 loads of B and 6 broadcasts of
// A, so it is bound by the two FMA pipes, not by loads. Packing makes every
// load in the micro-kernel unit-stride and zero-pads the edges, so the kernel
// never branches on the shape; only the final store of an edge tile goes
// through a small buffer. Transposes are absorbed by the packing routines.
// alpha and beta are applied when the tile is stored; beta is used for the
// first KC slice only (later slices accumulate with beta = 1).
//
// Block sizes for a Zen 3 core (32 KiB L1d, 512 KiB L2, shared L3):
//   KC = 256: the B micro-panel 256x16 floats = 16 KiB (half of L1);
//   MC = 144: the packed A block 144x256 floats = 144 KiB (under a third of L2);
//   NC = 4080: the packed B block 256x4080 floats = 4 MiB (in L3).
//
// Threads: C is cut into one block of rows (or of columns, for wide C) per
// thread and each thread runs the whole blocked loop on its part with its own
// packing buffers (see gemm_driver for why not a shared B panel). Called from
// inside a parallel region (e.g. conv parallel over the batch) it runs on the
// calling thread only, so there is no nested oversubscription. Each C element
// is summed by one thread in the same order whatever the thread count, so the
// result does not depend on it.
//
// Internal entry points for conv.cpp (namespace detail at the bottom, declared
// in conv.cpp, not part of kernels.h): pack_a_all packs op(A) once and
// sgemm_packed_a multiplies that packed A with any number of B matrices, so a
// convolution packs its weights once per call instead of once per image.
//
// The micro-kernel uses AVX2 + FMA intrinsics when compiled with them
// (-march=native on an x86-64 with AVX2); otherwise a portable C++ kernel of
// the same shape that the compiler may auto-vectorise.
//
// BENCHMARK: build target bench_cpu_gemm_conv (bench/bench_cpu_gemm_conv.cpp),
//   ./bench_cpu_gemm_conv --benchmark_filter=sgemm
// which compares with OpenBLAS cblas_sgemm at 1 and 2 threads; results are in
// bench/RESULTS.md.
#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "kernels/kernels.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define TINCT_GEMM_AVX2 1
#endif

namespace tinct::cpu {
namespace {

constexpr int MR = 6;     // rows of the register tile
constexpr int NR = 16;    // columns of the register tile (two 8-float vectors)
constexpr int KC = 256;   // depth of a packed slice
constexpr int MC = 144;   // rows of a packed A block (multiple of MR)
constexpr int NC = 4080;  // columns of a packed B block (multiple of NR)

// Below this many flops the OpenMP fork/join costs more than it saves.
constexpr double kMinParallelFlops = 4.0e6;

int ceil_div(int a, int b) { return (a + b - 1) / b; }

// A 64-byte aligned scratch buffer that only grows: the packing buffers are
// thread_local instances of it, so the steady state does no allocation.
class ScratchBuffer {
 public:
  ~ScratchBuffer() { std::free(data_); }
  float* get(size_t n) {
    if (n > capacity_) {
      std::free(data_);
      const size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
      data_ = static_cast<float*>(std::aligned_alloc(64, bytes));
      if (!data_) std::abort();
      capacity_ = bytes / sizeof(float);
    }
    return data_;
  }

 private:
  float* data_ = nullptr;
  size_t capacity_ = 0;
};

float* a_pack_buffer(size_t n) {
  thread_local ScratchBuffer buf;
  return buf.get(n);
}
float* b_pack_buffer(size_t n) {
  thread_local ScratchBuffer buf;
  return buf.get(n);
}

// Packs op(A)[i0:i0+mc, p0:p0+kc] as row panels of MR: panel r holds, for each
// k, the MR values op(A)[i0+r*MR+ii, p0+k] contiguously. Rows past mc are 0.
void pack_a(bool trans, const float* A, int lda, int i0, int mc, int p0, int kc, float* dst) {
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
        for (int ii = 0; ii < MR; ++ii) d[k * MR + ii] = ii < mr ? src[ii] : 0.0f;
      }
    }
  }
}

// Packs one column panel op(B)[p0:p0+kc, j0:j0+nr] (nr <= NR): for each k the
// NR values of row k contiguously, columns past nr are 0.
void pack_b_panel(bool trans, const float* B, int ldb, int p0, int kc, int j0, int nr, float* d) {
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
  } else {
    // op(B)[k,j] = B[j*ldb + k]: read each of the nr rows of B sequentially.
    for (int jj = 0; jj < nr; ++jj) {
      const float* src = B + (size_t)(j0 + jj) * ldb + p0;
      for (int k = 0; k < kc; ++k) d[(size_t)k * NR + jj] = src[k];
    }
    for (int jj = nr; jj < NR; ++jj)
      for (int k = 0; k < kc; ++k) d[(size_t)k * NR + jj] = 0.0f;
  }
}

// Writes an MR x NR accumulator tile t (row-major, NR per row) to the mr x nr
// corner of C: C = alpha * t + beta * C (C not read when beta == 0).
void store_edge_tile(const float* t, float* C, int ldc, float alpha, float beta, int mr, int nr) {
  for (int i = 0; i < mr; ++i) {
    float* c = C + (size_t)i * ldc;
    if (beta == 0.0f) {
      for (int j = 0; j < nr; ++j) c[j] = alpha * t[i * NR + j];
    } else {
      for (int j = 0; j < nr; ++j) c[j] = alpha * t[i * NR + j] + beta * c[j];
    }
  }
}

#if TINCT_GEMM_AVX2

// C[0:mr, 0:nr] = alpha * (Apanel^T Bpanel) + beta * C, the panels packed by
// pack_a / pack_b_panel with depth kc.
void micro_kernel(int kc, const float* __restrict a, const float* __restrict b, float* C, int ldc,
                  float alpha, float beta, int mr, int nr) {
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
  __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
  __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
  __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();

  // Touch the C tile early so its lines arrive while the k loop runs.
  for (int i = 0; i < mr; ++i) _mm_prefetch(reinterpret_cast<const char*>(C + (size_t)i * ldc), _MM_HINT_T0);

#pragma GCC unroll 4
  for (int k = 0; k < kc; ++k) {
    const __m256 b0 = _mm256_load_ps(b);
    const __m256 b1 = _mm256_load_ps(b + 8);
    __m256 ai;
    ai = _mm256_broadcast_ss(a + 0);
    c00 = _mm256_fmadd_ps(ai, b0, c00);
    c01 = _mm256_fmadd_ps(ai, b1, c01);
    ai = _mm256_broadcast_ss(a + 1);
    c10 = _mm256_fmadd_ps(ai, b0, c10);
    c11 = _mm256_fmadd_ps(ai, b1, c11);
    ai = _mm256_broadcast_ss(a + 2);
    c20 = _mm256_fmadd_ps(ai, b0, c20);
    c21 = _mm256_fmadd_ps(ai, b1, c21);
    ai = _mm256_broadcast_ss(a + 3);
    c30 = _mm256_fmadd_ps(ai, b0, c30);
    c31 = _mm256_fmadd_ps(ai, b1, c31);
    ai = _mm256_broadcast_ss(a + 4);
    c40 = _mm256_fmadd_ps(ai, b0, c40);
    c41 = _mm256_fmadd_ps(ai, b1, c41);
    ai = _mm256_broadcast_ss(a + 5);
    c50 = _mm256_fmadd_ps(ai, b0, c50);
    c51 = _mm256_fmadd_ps(ai, b1, c51);
    a += MR;
    b += NR;
  }

  if (mr == MR && nr == NR) {
    const __m256 va = _mm256_set1_ps(alpha);
    auto store_row = [&](float* c, __m256 lo, __m256 hi) {
      lo = _mm256_mul_ps(va, lo);
      hi = _mm256_mul_ps(va, hi);
      if (beta != 0.0f) {
        const __m256 vb = _mm256_set1_ps(beta);
        lo = _mm256_fmadd_ps(vb, _mm256_loadu_ps(c), lo);
        hi = _mm256_fmadd_ps(vb, _mm256_loadu_ps(c + 8), hi);
      }
      _mm256_storeu_ps(c, lo);
      _mm256_storeu_ps(c + 8, hi);
    };
    store_row(C + 0 * (size_t)ldc, c00, c01);
    store_row(C + 1 * (size_t)ldc, c10, c11);
    store_row(C + 2 * (size_t)ldc, c20, c21);
    store_row(C + 3 * (size_t)ldc, c30, c31);
    store_row(C + 4 * (size_t)ldc, c40, c41);
    store_row(C + 5 * (size_t)ldc, c50, c51);
  } else {
    alignas(32) float t[MR * NR];
    _mm256_store_ps(t + 0 * NR, c00); _mm256_store_ps(t + 0 * NR + 8, c01);
    _mm256_store_ps(t + 1 * NR, c10); _mm256_store_ps(t + 1 * NR + 8, c11);
    _mm256_store_ps(t + 2 * NR, c20); _mm256_store_ps(t + 2 * NR + 8, c21);
    _mm256_store_ps(t + 3 * NR, c30); _mm256_store_ps(t + 3 * NR + 8, c31);
    _mm256_store_ps(t + 4 * NR, c40); _mm256_store_ps(t + 4 * NR + 8, c41);
    _mm256_store_ps(t + 5 * NR, c50); _mm256_store_ps(t + 5 * NR + 8, c51);
    store_edge_tile(t, C, ldc, alpha, beta, mr, nr);
  }
}

#else  // portable fallback: same tile, plain C++

void micro_kernel(int kc, const float* __restrict a, const float* __restrict b, float* C, int ldc,
                  float alpha, float beta, int mr, int nr) {
  // One row of the tile at a time: its NR sums fit in vector registers for the
  // whole k loop (without AVX there are too few registers for all 6 rows).
  float t[MR * NR];
  for (int i = 0; i < MR; ++i) {
    float acc[NR] = {};
    for (int k = 0; k < kc; ++k) {
      const float ai = a[k * MR + i];
      for (int j = 0; j < NR; ++j) acc[j] += ai * b[k * NR + j];
    }
    for (int j = 0; j < NR; ++j) t[i * NR + j] = acc[j];
  }
  store_edge_tile(t, C, ldc, alpha, beta, mr, nr);
}

#endif

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

// The blocked loops described at the top of the file, on the calling thread.
void gemm_serial(const ASource& a, bool trans_b, int M, int N, int K, float alpha, const float* B,
                 int ldb, float beta, float* C, int ldc) {
  const int kc_max = std::min(K, KC);
  float* bpack = b_pack_buffer((size_t)kc_max * std::min(ceil_div(N, NR) * NR, NC));
  float* apack = a.prepacked ? nullptr : a_pack_buffer((size_t)std::min(ceil_div(M, MR) * MR, MC) * kc_max);

  for (int jc = 0; jc < N; jc += NC) {
    const int nc = std::min(NC, N - jc);
    const int n_panels = ceil_div(nc, NR);
    for (int pc = 0; pc < K; pc += KC) {
      const int kc = std::min(KC, K - pc);
      const float beta_pc = pc == 0 ? beta : 1.0f;
      for (int jp = 0; jp < n_panels; ++jp) {
        pack_b_panel(trans_b, B, ldb, pc, kc, jc + jp * NR, std::min(NR, nc - jp * NR),
                     bpack + (size_t)jp * NR * kc);
      }
      for (int ic = 0; ic < M; ic += MC) {
        const int mc = std::min(MC, M - ic);
        const float* ablock;
        if (a.prepacked) {
          // pack_a_all stores slice pc as one block of all rows: row i starts at i*kc.
          ablock = a.prepacked + (size_t)a.m_pad * pc + (size_t)(a.row0 + ic) * kc;
        } else {
          pack_a(a.trans, a.A, a.lda, ic, mc, pc, kc, apack);
          ablock = apack;
        }
        for (int jp = 0; jp < n_panels; ++jp) {
          const int j = jp * NR;
          const int nr = std::min(NR, nc - j);
          const float* bp = bpack + (size_t)jp * NR * kc;
          for (int ir = 0; ir < mc; ir += MR) {
            micro_kernel(kc, ablock + (size_t)ir * kc, bp, C + (size_t)(ic + ir) * ldc + jc + j,
                         ldc, alpha, beta_pc, std::min(MR, mc - ir), nr);
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
// result does not depend on the thread count.
void gemm_driver(const ASource& a, bool trans_b, int M, int N, int K, float alpha, const float* B,
                 int ldb, float beta, float* C, int ldc) {
  int nthreads = omp_in_parallel() ? 1 : omp_get_max_threads();
  if (2.0 * M * N * K < kMinParallelFlops) nthreads = 1;
  nthreads = std::min(nthreads, std::max(ceil_div(M, MR), ceil_div(N, NR)));
  if (nthreads <= 1) {
    gemm_serial(a, trans_b, M, N, K, alpha, B, ldb, beta, C, ldc);
    return;
  }
  // Split the larger side (the smaller shared operand is repacked); with A
  // prepacked, columns cost nothing extra as long as each part is wide enough.
  const bool split_rows = a.prepacked ? N < nthreads * 4 * NR : M >= N;
  const int unit = split_rows ? MR : NR, extent = split_rows ? M : N;
  const int units = ceil_div(extent, unit);
#pragma omp parallel for num_threads(nthreads) schedule(static)
  for (int t = 0; t < nthreads; ++t) {
    const int begin = std::min(extent, (int)((long)units * t / nthreads) * unit);
    const int end = std::min(extent, (int)((long)units * (t + 1) / nthreads) * unit);
    if (begin >= end) continue;
    if (split_rows) {
      gemm_serial(a.rows_from(begin), trans_b, end - begin, N, K, alpha, B, ldb, beta,
                  C + (size_t)begin * ldc, ldc);
    } else {
      const float* Bt = B + (trans_b ? (size_t)begin * ldb : (size_t)begin);
      gemm_serial(a, trans_b, M, end - begin, K, alpha, Bt, ldb, beta, C + begin, ldc);
    }
  }
}

}  // namespace

void sgemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A,
           int lda, const float* B, int ldb, float beta, float* C, int ldc) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0 || alpha == 0.0f) {  // nothing to multiply: BLAS semantics, A and B unread
    scale_c(M, N, beta, C, ldc);
    return;
  }
  ASource a;
  a.trans = trans_a, a.A = A, a.lda = lda;
  gemm_driver(a, trans_b, M, N, K, alpha, B, ldb, beta, C, ldc);
}

// Internal entry points for conv.cpp (declared there, not part of kernels.h):
// pack op(A) once, then multiply it with many B matrices.
namespace detail {

size_t packed_a_size(int M, int K) { return (size_t)ceil_div(M, MR) * MR * K; }

// Packs op(A)[M,K] slice by slice (KC columns of op(A) each); every slice is
// laid out as pack_a lays out one block holding all M rows, so any MC block
// of it is a contiguous sub-range. Slices are packed in parallel.
void pack_a_all(bool trans_a, int M, int K, const float* A, int lda, float* packed) {
  const size_t m_pad = (size_t)ceil_div(M, MR) * MR;
  const int n_slices = ceil_div(K, KC);
#pragma omp parallel for schedule(static) if (!omp_in_parallel() && (double)M * K > 1e5)
  for (int sl = 0; sl < n_slices; ++sl) {
    const int pc = sl * KC;
    pack_a(trans_a, A, lda, 0, M, pc, std::min(KC, K - pc), packed + m_pad * pc);
  }
}

// sgemm with op(A) taken from pack_a_all's buffer; same contract otherwise.
void sgemm_packed_a(int M, int N, int K, float alpha, const float* packed_a, bool trans_b,
                    const float* B, int ldb, float beta, float* C, int ldc) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0 || alpha == 0.0f) {
    scale_c(M, N, beta, C, ldc);
    return;
  }
  ASource a;
  a.prepacked = packed_a, a.m_pad = ceil_div(M, MR) * MR;
  gemm_driver(a, trans_b, M, N, K, alpha, B, ldb, beta, C, ldc);
}

}  // namespace detail

}  // namespace tinct::cpu
