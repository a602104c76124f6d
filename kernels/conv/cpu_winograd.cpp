// conv/cpu_winograd.cpp — the fast CPU Winograd F(4x4, 3x3) forward convolution.
//
// WHAT: conv2d_fwd_winograd computes y = conv(x, w) + b for the shapes
// conv2d_winograd_supported accepts (3x3, stride 1, padding a multiple of the
// dilation, pad / dil <= 2; dilation d as d^2 phases), the same result as
// conv2d_fwd_ref up to Winograd's rounding (~1e-4 relative in FP32). Its
// specification is conv/ref_winograd.cpp: the same tiles, the same matrices.
//
// HOW: the filter transform U[t] = G g G^T (t = 0..35, [K, C] each) is done
// once per call and each U[t] packed for the GEMM (detail::pack_a_all). The
// tiles of the whole batch form one stream cut into blocks of `tb` tiles; for
// each block:
//   V[t][C][tb] = B^T d B     (input transform, straight into GEMM layout)
//   M[t][K][tb] = U[t] V[t]   (36 GEMMs on the active kernel set)
//   y           = A^T M A + b (output transform, tiles cropped at the edges)
// tb is chosen so V of one block stays about 1 MiB (in L2 between the
// transform writing it and the GEMM reading it), at least 32 tiles.
// Threads: OpenMP over the blocks (dynamic; blocks write disjoint outputs, so
// the result does not depend on the schedule), each GEMM single-threaded; so
// batch 1 uses every core as soon as there are two blocks.
// Variants: forward only (backward-data / -filter stay im2col + GEMM).
// Workspaces are thread_local vectors that only grow.
//
// BENCHMARK: bench/bench_conv_winograd.cpp (target bench_conv_winograd) prints
// ms and GFLOP/s (direct-conv flops) of im2col + GEMM against this file on
// the models' 3x3 stride-1 layers, at 1 and 2 threads.
#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "kernels/gemm/microkernels.h"
#include "kernels/conv/winograd_tiles.h"

namespace tinct::cpu {

using detail::GemmKernel;

namespace {

float* grow(std::vector<float>& v, size_t n) {
  if (v.size() < n) v.resize(n);
  return v.data();
}
std::vector<float>& u_workspace() {  // 36 packed U[t], the calling thread's
  thread_local std::vector<float> v;
  return v;
}
std::vector<float>& v_workspace() {  // V of one block, per thread
  thread_local std::vector<float> v;
  return v;
}
std::vector<float>& m_workspace() {  // M of one block, per thread
  thread_local std::vector<float> v;
  return v;
}
std::vector<float>& ut_workspace() {  // U[t] unpacked, one t at a time
  thread_local std::vector<float> v;
  return v;
}

using winograd::Tiles;

constexpr size_t kBlockBytes = 1u << 20;

int block_tiles(int C, long total) {
  int tb = (int)(kBlockBytes / (sizeof(float) * 36 * (size_t)C));
  tb = std::max(32, std::min(256, tb / 32 * 32));
  return (int)std::min<long>(tb, total);
}

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

// V[t][c][j] for tiles [t0, t0 + nb) of the batch's stream.
void input_block(const Conv2dParams& p, const Tiles& T, const float* x, long t0, int nb, int ld,
                 float* V) {
  const int per = T.per_image();
  const size_t tstride = (size_t)p.C * ld;
  for (int j = 0; j < nb; ++j) {
    const long id = t0 + j;
    const int n = (int)(id / per), u = (int)(id % per);
    int a, b, th, tw;
    T.decode(u, a, b, th, tw);
    const int h0 = a + T.dh * (4 * th - T.ph), w0 = b + T.dw * (4 * tw - T.pw);
    int hs[6], ws[6];
    bool inside = true;
    for (int i = 0; i < 6; ++i) {
      hs[i] = h0 + T.dh * i, ws[i] = w0 + T.dw * i;
      inside = inside && hs[i] >= 0 && hs[i] < p.H && ws[i] >= 0 && ws[i] < p.W;
    }
    for (int c = 0; c < p.C; ++c) {
      const float* xc = x + ((size_t)n * p.C + c) * p.H * p.W;
      float d[36], e[36];
      if (inside) {
        for (int i = 0; i < 6; ++i)
          for (int k = 0; k < 6; ++k) d[i * 6 + k] = xc[(size_t)hs[i] * p.W + ws[k]];
      } else {
        for (int i = 0; i < 6; ++i)
          for (int k = 0; k < 6; ++k) {
            const bool ok = hs[i] >= 0 && hs[i] < p.H && ws[k] >= 0 && ws[k] < p.W;
            d[i * 6 + k] = ok ? xc[(size_t)hs[i] * p.W + ws[k]] : 0.0f;
          }
      }
      for (int k = 0; k < 6; ++k) bt6(d + k, 6, e + k, 6);     // columns: B^T d
      float* v = V + (size_t)c * ld + j;
      for (int i = 0; i < 6; ++i) {                            // rows: (B^T d) B
        float r[6];
        bt6(e + i * 6, 1, r, 1);
        for (int k = 0; k < 6; ++k) v[(i * 6 + k) * tstride] = r[k];
      }
    }
  }
}

// y = A^T M A + b for tiles [t0, t0 + nb).
void output_block(const Conv2dParams& p, const Tiles& T, const float* M, long t0, int nb, int ld,
                  const float* bias, float* y) {
  const int per = T.per_image();
  const size_t tstride = (size_t)p.K * ld;
  for (int j = 0; j < nb; ++j) {
    const long id = t0 + j;
    const int n = (int)(id / per), u = (int)(id % per);
    int a, b, th, tw;
    T.decode(u, a, b, th, tw);
    const int p0 = a + T.dh * 4 * th, q0 = b + T.dw * 4 * tw;
    for (int k = 0; k < p.K; ++k) {
      const float* mk = M + (size_t)k * ld + j;
      float m[36], e[24], o[16];
      for (int t = 0; t < 36; ++t) m[t] = mk[t * tstride];
      for (int c = 0; c < 6; ++c) at6(m + c, 6, e + c, 6);  // A^T M: 4 x 6
      for (int i = 0; i < 4; ++i) at6(e + i * 6, 1, o + i * 4, 1);
      const float bk = bias ? bias[k] : 0.0f;
      float* yk = y + ((size_t)n * p.K + k) * p.P * p.Q;
      for (int i = 0; i < 4; ++i) {
        const int op = p0 + T.dh * i;
        if (op >= p.P) break;
        for (int c = 0; c < 4; ++c) {
          const int oq = q0 + T.dw * c;
          if (oq >= p.Q) break;
          yk[(size_t)op * p.Q + oq] = o[i * 4 + c] + bk;
        }
      }
    }
  }
}

}  // namespace

void conv2d_fwd_winograd(const Conv2dParams& p, const float* x, const float* w, const float* b,
                         float* y) {
  const GemmKernel& g = detail::active_gemm_kernel();
  const Tiles T(p);
  // U[t] = G g G^T, [K, C] each, packed as GEMM A operands.
  const size_t upack = detail::packed_a_size(g, p.K, p.C);
  float* U = grow(u_workspace(), upack * 36);
  {
    float* ut = grow(ut_workspace(), (size_t)36 * p.K * p.C);
    const float G[6][3] = {{0.25f, 0, 0},
                           {-1.0f / 6, -1.0f / 6, -1.0f / 6},
                           {-1.0f / 6, 1.0f / 6, -1.0f / 6},
                           {1.0f / 24, 1.0f / 12, 1.0f / 6},
                           {1.0f / 24, -1.0f / 12, 1.0f / 6},
                           {0, 0, 1}};
    const size_t KC = (size_t)p.K * p.C;
#pragma omp parallel for schedule(static) if (!omp_in_parallel() && KC >= 4096)
    for (long kc = 0; kc < (long)KC; ++kc) {
      const float* gk = w + kc * 9;
      float e[6][3];
      for (int i = 0; i < 6; ++i)
        for (int q = 0; q < 3; ++q)
          e[i][q] = G[i][0] * gk[q] + G[i][1] * gk[3 + q] + G[i][2] * gk[6 + q];
      for (int i = 0; i < 6; ++i)
        for (int j = 0; j < 6; ++j)
          ut[(i * 6 + j) * KC + kc] = e[i][0] * G[j][0] + e[i][1] * G[j][1] + e[i][2] * G[j][2];
    }
#pragma omp parallel for schedule(static) if (!omp_in_parallel() && KC >= 4096)
    for (int t = 0; t < 36; ++t)
      detail::pack_a_all(g, false, p.K, p.C, ut + t * KC, p.C, U + t * upack);
  }

  const long total = (long)p.N * T.per_image();
  const int tb = block_tiles(p.C, total);
  const long blocks = (total + tb - 1) / tb;
  const int nt = omp_in_parallel() ? 1 : (int)std::min<long>(omp_get_max_threads(), blocks);
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1) if (nt > 1)
  for (long blk = 0; blk < blocks; ++blk) {
    const long t0 = blk * tb;
    const int nb = (int)std::min<long>(tb, total - t0);
    float* V = grow(v_workspace(), (size_t)36 * p.C * tb);
    float* M = grow(m_workspace(), (size_t)36 * p.K * tb);
    input_block(p, T, x, t0, nb, tb, V);
    for (int t = 0; t < 36; ++t)
      detail::sgemm_packed_a(g, p.K, nb, p.C, 1.0f, U + t * upack, false, V + (size_t)t * p.C * tb,
                             tb, 0.0f, M + (size_t)t * p.K * tb, tb);
    output_block(p, T, M, t0, nb, tb, b, y);
  }
}

}  // namespace tinct::cpu

namespace tinct::cpu {

// Where conv2d_fwd takes this path (bench/bench_conv_winograd.cpp, RESULTS.md
// "CPU Winograd (issue 13)"): it measured faster than im2col + GEMM at both 1
// and 2 threads only with >= 256 channels in and out and >= 64x64 outputs
// (the classification model's dilated and head convs at 512x512 input:
// +1..25% at 1 thread); below that the 36 filter transforms and packings per
// call and the narrow GEMMs cost more than the 4x fewer multiplies save.
// TINCT_CONV_WINOGRAD=0 turns it off, =force takes it for every supported
// shape (to check a model's outputs against the im2col path).
bool conv2d_winograd_pays(const Conv2dParams& p) {
  static const int mode = [] {  // 0 off, 1 where it pays, 2 always
    const char* e = std::getenv("TINCT_CONV_WINOGRAD");
    return !e ? 1 : std::strcmp(e, "0") == 0 ? 0 : std::strcmp(e, "force") == 0 ? 2 : 1;
  }();
  if (mode == 0 || !conv2d_winograd_supported(p)) return false;
  return mode == 2 || (p.C >= 256 && p.K >= 256 && (long)p.P * p.Q >= 64 * 64);
}

}  // namespace tinct::cpu
