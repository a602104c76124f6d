// conv/cpu_winograd_wgrad.cpp — the fast CPU Winograd F(4x4, 3x3) and
// F(3x3, 4x4) backward-filters.
//
// WHAT: conv2d_bwd_filter_winograd computes dw += dL/dw of a 3x3 stride-1
// convolution (the shapes conv2d_winograd_supported accepts, dilation as
// phases) from x and dy, the same result as conv2d_bwd_filter_ref up to
// Winograd's rounding. Its specification is conv2d_bwd_filter_winograd_ref
// (conv/ref_winograd.cpp): every output tile is y_tile = A^T [U (.) V] A with
// U = G g G^T, linear in U, so
//   dL/dU[t][k][c] = sum over tiles Z[t][k][tile] V[t][c][tile],
//   Z = A dy_tile A^T (6x6 from the tile's 4x4 block of dy, cropped: zeros),
//   V = B^T d B       (the forward's input transform),
//   dw[k][c] += G^T dL/dU[.][k][c] G.
// The bias gradient is not computed here (conv2d_bwd_filter does it).
// The 4x4 stride-1 undilated convs (conv2d_winograd43_supported) run the same
// with F(3x3, 4x4): 3x3 blocks of dy, A 6x3, G 6x4 (kWino43AT / winograd::kG4).
//
// HOW: the batch's tiles are cut, as in the forward, into groups of <= 16
// tiles (packed segments of short tile rows on the avx512 set, rows of <= 4
// tiles: conv/winograd_tiles.h), and the groups into blocks of nb tiles (nb
// from the channel counts only: V and Z of a block about 512 KiB).
// Per block: the forward's input transform (AVX-512 or portable, from
// conv/cpu_winograd.cpp) writes V[t] as a C x ld row-major matrix (one GEMM
// panel as wide as the block), the dy transform below writes Z[t] as K x ld;
// then the 36 GEMMs dU[t] (K x C) += Z[t] V[t]^T of depth = the block's tiles
// (detail::sgemm_with on the active kernel set, which packs both operands).
// At the end dw += G^T dU G.
// Threads: the blocks are cut into two slices (fixed, whatever the thread
// count), each summed into its own dU by one thread, added in the output
// transform (split over the threads): the result is bit-for-bit the same at
// 1 and 2 threads; more than 2 threads are not used (the CPU target has 2
// cores; a third slice would cost another 36 K C floats).
// Variants: one (fp32); the bf16 / tf32 precisions keep im2col + GEMM
// (WinogradOffScope).
//
// BENCHMARK: bench/bench_conv_winograd.cpp --wgrad (target bench_conv_winograd)
// times it against conv2d_bwd_filter's im2col + GEMM on the models' 3x3
// stride-1 layers at 1 and 2 threads:
//   ./build/bench/bench_conv_winograd --wgrad 5
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

namespace {


using winograd::Block;
using winograd::Group;

// Z[t][k][col + l] = (A e_l A^T)[t] for the group's n <= 16 tiles, e_l the m x m
// block of dy at rows p0 + dh i, columns q0 + dw (m l + j) (zero outside the
// output). Rows of A e are the combinations of kWinoAT's columns (m = 4):
// z0 = e0, z1 = e0+e1+e2+e3, z2 = e0-e1+e2-e3, z3 = e0+2e1+4e2+8e3,
// z4 = e0-2e1+4e2-8e3, z5 = e3; of kWino43AT's (m = 3): z0 = e0,
// z1 = e0+e1+e2, z2 = e0-e1+e2, z3 = e0+2e1+4e2, z4 = e0-2e1+4e2, z5 = e2.
// The loops run along the tiles (lanes).
inline void a6_3(const float* e0, const float* e1, const float* e2, int n, float (*o)[64]) {
  for (int q = 0; q < n; ++q) {
    const float s02 = e0[q] + e2[q], t02 = e0[q] + 4 * e2[q], e1q = e1[q], e1q2 = 2 * e1[q];
    o[0][q] = e0[q];
    o[1][q] = s02 + e1q;
    o[2][q] = s02 - e1q;
    o[3][q] = t02 + e1q2;
    o[4][q] = t02 - e1q2;
    o[5][q] = e2[q];
  }
}
inline void a6(const float* e0, const float* e1, const float* e2, const float* e3, int n, float (*o)[64]) {
  for (int q = 0; q < n; ++q) {
    const float s02 = e0[q] + e2[q], s13 = e1[q] + e3[q];
    const float t02 = e0[q] + 4 * e2[q], t13 = 2 * e1[q] + 8 * e3[q];
    o[0][q] = e0[q];
    o[1][q] = s02 + s13;
    o[2][q] = s02 - s13;
    o[3][q] = t02 + t13;
    o[4][q] = t02 - t13;
    o[5][q] = e3[q];
  }
}

void dy_transform(const float* dy, int P, int Q, int K, int p0, int q0, int dh, int dw, int n, float* Z,
                  size_t tstride, int ld, int col, int m) {
  const size_t PQ = (size_t)P * Q;
  const int w = m * n;
  int qv = 0;  // columns of the group inside the output
  while (qv < w && q0 + dw * qv < Q) ++qv;
  alignas(64) float e[4][64], f[6][64], s[4][16], z[6][64];
  for (int k = 0; k < K; ++k) {
    const float* yk = dy + (size_t)k * PQ;
    for (int i = 0; i < m; ++i) {
      const int op = p0 + dh * i;
      int q = 0;
      if (op < P) {
        const float* row = yk + (size_t)op * Q + q0;
        if (dw == 1) for (; q < qv; ++q) e[i][q] = row[q];
        else for (; q < qv; ++q) e[i][q] = row[(size_t)dw * q];
      }
      for (; q < w; ++q) e[i][q] = 0.0f;
    }
    if (m == 4) a6(e[0], e[1], e[2], e[3], w, f);  // vertical: 6 rows of m n columns
    else a6_3(e[0], e[1], e[2], w, f);
    for (int r = 0; r < 6; ++r) {
      for (int j = 0; j < m; ++j)
        for (int l = 0; l < n; ++l) s[j][l] = f[r][m * l + j];  // column j of every tile
      if (m == 4) a6(s[0], s[1], s[2], s[3], n, z);           // horizontal, along the tiles
      else a6_3(s[0], s[1], s[2], n, z);
      for (int c = 0; c < 6; ++c) {
        float* dst = Z + (size_t)(r * 6 + c) * tstride + (size_t)k * ld + col;
        for (int l = 0; l < n; ++l) dst[l] = z[c][l];
      }
    }
  }
}

}  // namespace

void conv2d_bwd_filter_winograd(const Conv2dParams& p, const float* x, const float* dy, float* dw) {
  const bool f43 = conv2d_winograd43_supported(p);
  if (!conv2d_winograd_supported(p) && !f43)
    throw std::invalid_argument(
        "conv2d_bwd_filter_winograd: needs a 3x3 stride-1 conv with padding a multiple of the dilation, pad / dil <= 2"
        " or a 4x4 stride-1 undilated one with padding <= 3");
  const detail::GemmKernel& g = detail::active_gemm_kernel();
  const detail::WinoTransforms& tf = f43 ? detail::winograd43_active_transforms() : detail::winograd_active_transforms();
  const winograd::Tiles T(p);
  const int C = p.C, K = p.K;
  if ((long)p.N * T.per_image() == 0 || C == 0 || K == 0) return;


  // Blocks of about nb tiles (from the channels only, not the thread count:
  // the sums' order, and so the result, stays the same at any thread count).
  // 512 KiB of V and Z a block (a quarter of L2): 1.3-1.7x im2col on the
  // models' layers at 1 thread, against 0.9-1.5x at 2 MiB and 0.5-0.8x at
  // 8 MiB (RESULTS.md "CPU Winograd backward-filter").
  int nb = (int)((512u << 10) / (sizeof(float) * 36 * (size_t)(C + K)));
  nb = std::max(64, std::min(512, nb / 16 * 16));
  // packed segments where the transforms take them (the AVX-512 F(4x4, 3x3))
  // and tile rows are <= 4 tiles (16 x 16 outputs, dilated 32 x 32): the dy
  // transform runs segment by segment, and rows of 8 split into 8 + 7, 1 + 8
  // + 5, ... ran slower (32 x 32, 64 -> 64: 3.8-4.1 -> 4.5-4.6 ms, batch 8,
  // 1 thread) than groups of 8; blocks of nb tiles, whatever the thread count
  const std::vector<Group> groups = detail::winograd_groups(p, T, tf, nb, 4);
  const std::vector<Block> blocks = winograd::tile_blocks(groups, nb);
  int max_tiles = 0;
  for (const Block& bl : blocks) max_tiles = std::max(max_tiles, bl.tiles);
  const int ld = (max_tiles + 15) / 16 * 16;
  const size_t vstride = (size_t)C * ld, zstride = (size_t)K * ld, PQ = (size_t)p.P * p.Q;
  const size_t kc = (size_t)K * C;

  // Two slices of the blocks (whatever the thread count: the same sums at 1
  // and 2 threads), each summed into its own dU by one thread with no
  // synchronisation until the end; dU = dU_0 + dU_1 in the output transform.
  // (Sharing every block between the threads, transforms split over the
  // groups and the 36 GEMMs over the threads, needed two barriers a block and
  // ran slower at 2 threads than at 1 on the loaded machine.)
  const int S = blocks.size() >= 2 ? 2 : 1;
  thread_local detail::AlignedScratch su;
  float* dU = su.get(S * 36 * kc);  // each slice's first block writes it (beta 0), the others add

  const bool k_cols = K > C;
  const int nt = omp_in_parallel() ? 1 : std::min(S, omp_get_max_threads());
  const int nbl = (int)blocks.size();
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
#pragma omp for schedule(static, 1)
    for (int s = 0; s < S; ++s) {
      thread_local detail::AlignedScratch sv, sz;
      float* V = sv.get(36 * vstride);
      float* Z = sz.get(36 * zstride);
      float* dUs = dU + (size_t)s * 36 * kc;
      for (int bi = nbl * s / S; bi < nbl * (s + 1) / S; ++bi) {
        const Block& bl = blocks[bi];
        int col = 0;  // the group's first column in the block
        for (int gi = bl.g0; gi < bl.g1; ++gi) {
          const Group& G = groups[gi];
          tf.input(detail::winograd_in(G, T, p, x), V, vstride, col, ld);  // one panel of width ld: V[t] is C x ld row-major
          for (int si = 0; si < G.nseg; ++si) {  // Z: segment by segment, to the same dense columns
            const winograd::Segment& S = G.seg[si];
            dy_transform(dy + (size_t)S.n * K * PQ, p.P, p.Q, K, S.a + T.dh * T.m * S.th, S.b + T.dw * T.m * S.tw0,
                         T.dh, T.dw, S.cnt, Z, zstride, ld, col, T.m);
            col += S.cnt;
          }
        }
        // dU[t] += Z[t] V[t]^T (single-threaded GEMMs: inside the parallel
        // region, or at one thread); the larger of K, C as the GEMM's columns
        // (panels of nr = 32 on avx512: 16 columns of 32 ran half empty)
        const float beta = bi == nbl * s / S ? 0.0f : 1.0f;  // no zero fill of dU (0 + x = x: the same bits)
        for (int t = 0; t < 36; ++t) {
          if (k_cols)  // dU[t] as C x K
            detail::sgemm_with(g, false, true, C, K, bl.tiles, 1.0f, V + t * vstride, ld, Z + t * zstride, ld, beta,
                               dUs + t * kc, K);
          else  // dU[t] as K x C
            detail::sgemm_with(g, false, true, K, C, bl.tiles, 1.0f, Z + t * zstride, ld, V + t * vstride, ld, beta,
                               dUs + t * kc, C);
        }
      }
    }
  }
  const int nt2 = omp_in_parallel() ? 1 : omp_get_max_threads();
#pragma omp parallel num_threads(nt2) if (nt2 > 1 && kc >= 1024)
  {
    // dw += G^T dU G (G of conv/winograd_tiles.h), 16 consecutive elements
    // of dU (16 (k, c) pairs) at a time so the loops over them vectorise; each
    // value's sums in the order of the scalar form (the same bits)
    const float(*Gm)[4] = winograd::filter_g(f43 ? 4 : 3);
    const int R = p.R;
#pragma omp for schedule(static)
    for (long a0 = 0; a0 < (long)kc; a0 += 16) {
      const int nl = (int)std::min<long>(16, (long)kc - a0);
      float u[36][16], h[4][6][16];
      if (nl < 16) std::fill(&u[0][0], &u[0][0] + 36 * 16, 0.0f);  // the unused lanes: zeros, not garbage
      for (int t = 0; t < 36; ++t) {
        const float* d0 = dU + t * kc + a0;
        if (S == 2)
          for (int l = 0; l < nl; ++l) u[t][l] = d0[l] + d0[36 * kc + l];
        else
          for (int l = 0; l < nl; ++l) u[t][l] = d0[l];
      }
      for (int q = 0; q < R; ++q)  // (dU G)[i][q]
        for (int i = 0; i < 6; ++i) {
          float acc[16] = {};
          for (int j = 0; j < 6; ++j)
            for (int l = 0; l < 16; ++l) acc[l] += u[i * 6 + j][l] * Gm[j][q];
          for (int l = 0; l < 16; ++l) h[q][i][l] = acc[l];
        }
      float o[16][16];  // o[l][r * R + q]
      for (int r = 0; r < R; ++r)
        for (int q = 0; q < R; ++q) {
          float acc[16] = {};
          for (int i = 0; i < 6; ++i)
            for (int l = 0; l < 16; ++l) acc[l] += Gm[i][r] * h[q][i][l];
          for (int l = 0; l < 16; ++l) o[l][r * R + q] = acc[l];
        }
      for (int l = 0; l < nl; ++l) {
        const long at = a0 + l;  // dU's element: (k, c) of dw
        const long kcI = k_cols ? (at % K) * C + at / K : at;
        float* d = dw + kcI * R * R;
        for (int e = 0; e < R * R; ++e) d[e] += o[l][e];
      }
    }
  }
}

}  // namespace tinct::cpu
