// conv/cuda_3_winograd.cu — CUDA convolution variant 3: 3x3 stride-1
// convolutions (any dilation whose padding is a multiple of it) by Winograd's
// minimal filtering F(4x4, 3x3): forward, backward-data and the weight gradient.
// Variants of the family (the numbers mean the same in tinct-kbench,
// bench_gpu_kernels and kernels/README.md): 0 cuDNN (benchmarks only),
// 1 naive, 2 implicit GEMM, 3 this file; dispatch.cu picks 2 or 3 per shape.
//
// What it computes: the same y, dx and dw as cuda_2_igemm.cu — kernels/conv/ref.cpp
// is the specification of the result, kernels/conv/ref_winograd.cpp the
// readable specification of the algorithm (matrices, tiles, phases, layouts).
//
// Why: a 3x3 layer with C input and K output channels costs 9 C K multiply-
// adds per output pixel directly; Winograd computes each 4x4 output block
// from its 6x6 input block with 36 C K, i.e. 4x fewer. At FP32 without
// tensor cores the direct implicit GEMM is bound by the FMA rate (about 40
// TFLOP/s of the H100's 51.6), so fewer multiplies is the way past it — cuDNN
// picks its own Winograd for these layers.
//
// Variant (non-fused: transforms around batched GEMMs on the gemm/cuda_1_tiled.cu core):
//   forward        U[t][m][c] = (G g G^T)[t]  (t = 0..35), V[t][c][tile] =
//                  (B^T d B)[t] (d: a 6x6 input tile), M[t] = U[t] . V[t]
//                  (36 GEMMs, one launch), y = A^T M A (+ bias) per tile;
//   backward-data  the forward of the flipped filter, channels swapped,
//                  padding 2 dil - pad: only the filter transform differs;
//   weight grad    dw += G^T [ sum over tiles (A dy_tile A^T) (.) V ] G: the
//                  sum over tiles is 36 x nsplit GEMMs (the tiles split so the
//                  GPU fills), the splits added in the last transform in a
//                  fixed order: deterministic.
// Dilation d: d_h x d_w phases of tiles (pixels of one residue mod d), each
// an undilated conv on its sub-grid, all in the same GEMMs. The transforms
// are memory-bound elementwise kernels (one thread per channel and tile,
// consecutive threads on consecutive tiles: coalesced stores of V and Z,
// coalesced loads of M and S). Workspace: the forward passes take it from
// the stream-ordered pool; the batch runs in chunks of images so that each
// transformed operand stays under 256 MiB.
//
// Not on the tensor cores: at --precision tf32 / bf16 every shape runs the
// implicit GEMMs of variants 4 / 5 instead. Rounding U and V to TF32 / BF16
// gives F(4x4, 3x3) 11-12x the direct convolution's RMS error (bf16: 2.4% of
// the output's RMS, max 0.26 on outputs of RMS 1.3); F(2x2, 3x3) keeps it to
// 1.7x but saves only 2.25x of the multiplies while its V and M are 4x the
// size of x and y, traffic that costs more than the tensor cores save
// (bench/bench_winograd_tc_error.cpp; bench/RESULTS.md, 2026-12-07 third session).
// Benchmark: build/bench/bench_gpu_kernels --benchmark_filter=conv (the tinct
// rows run what conv2d_* dispatch; the summary prints conv2d_plan).
#include <cuda_runtime.h>

#include <algorithm>
#include <stdexcept>
#include <string>

#include "kernels/cuda.h"
#include "kernels/common/common.cuh"
#include "kernels/kernels.h"

namespace tinct::cuda {
namespace {

// One Winograd convolution: in[N][Ci][Hi][Wi] -> out[N][Mo][Ho][Wo],
// Ho = Hi + 2 pad - 2 dil, in tiles of 4x4 outputs. Dilation d splits each
// image into d_h x d_w phases (the pixels of one residue mod d), each an
// undilated conv on its sub-grid with padding pad / d (conv/ref_winograd.cpp,
// struct Tiles): phase (a, b), tile (th, tw) covers the outputs
// (a + dh (4 th + i), b + dw (4 tw + j)) and reads the inputs
// (a + dh (4 th - ph + i), b + dw (4 tw - pw + j)).
struct WinoGeom {
  int N, Ci, Hi, Wi, Mo, Ho, Wo;
  int ph, pw;  // padding / dilation
  int dh, dw;  // dilation
  int TH, TW;  // tiles per phase: per column, per row
  __host__ __device__ int per_image() const { return dh * dw * TH * TW; }
  // tile u of an image -> its phase (a, b) and first output row / column
  __device__ void origin(int u, int& a, int& b, int& oh0, int& ow0) const {
    const int phase = u / (TH * TW), r = u % (TH * TW);
    a = phase / dw, b = phase % dw;
    oh0 = 4 * (r / TW), ow0 = 4 * (r % TW);  // in sub-grid units
  }
};

WinoGeom make_geom(int N, int Ci, int Hi, int Wi, int Mo, int Ho, int Wo, int pad_h, int pad_w, int dh, int dw) {
  const int TH = ((Ho + dh - 1) / dh + 3) / 4, TW = ((Wo + dw - 1) / dw + 3) / 4;  // per phase
  return WinoGeom{N, Ci, Hi, Wi, Mo, Ho, Wo, pad_h / dh, pad_w / dw, dh, dw, TH, TW};
}

// The rows of B^T applied to a 6-vector (kWinoBT in conv/ref_winograd.cpp).
__device__ __forceinline__ void bt6(const float d[6], float r[6]) {
  r[0] = 4.0f * d[0] - 5.0f * d[2] + d[4];
  r[1] = -4.0f * (d[1] + d[2]) + d[3] + d[4];
  r[2] = 4.0f * (d[1] - d[2]) - d[3] + d[4];
  r[3] = 2.0f * (d[3] - d[1]) - d[2] + d[4];
  r[4] = 2.0f * (d[1] - d[3]) - d[2] + d[4];
  r[5] = 4.0f * d[1] - 5.0f * d[3] + d[5];
}

// The rows of G applied to a 3-vector (winograd::kG3, conv/winograd_tiles.h).
__device__ __forceinline__ void g3(const float g[3], float r[6]) {
  r[0] = 0.25f * g[0];
  r[1] = -(g[0] + g[1] + g[2]) * (1.0f / 6.0f);
  r[2] = -(g[0] - g[1] + g[2]) * (1.0f / 6.0f);
  r[3] = g[0] * (1.0f / 24.0f) + g[1] * (1.0f / 12.0f) + g[2] * (1.0f / 6.0f);
  r[4] = g[0] * (1.0f / 24.0f) - g[1] * (1.0f / 12.0f) + g[2] * (1.0f / 6.0f);
  r[5] = g[2];
}

// The rows of A^T applied to a 6-vector (kWinoAT).
__device__ __forceinline__ void at6(const float m[6], float r[4]) {
  const float s12 = m[1] + m[2], d12 = m[1] - m[2], s34 = m[3] + m[4], d34 = m[3] - m[4];
  r[0] = m[0] + s12 + s34;
  r[1] = d12 + 2.0f * d34;
  r[2] = s12 + 4.0f * s34;
  r[3] = d12 + 8.0f * d34 + m[5];
}

// U[t][m][c] = (G g G^T)[t] for filter g of output m, input c. flip: the
// backward-data filter g'[m][c](r, s) = w[c][m](2 - r, 2 - s) (w is [Ci][Mo][3][3]).
__global__ void filter_transform_kernel(const float* __restrict__ w, int Mo, int Ci, int flip,
                                        float* __restrict__ U) {
  const size_t total = size_t(Mo) * Ci, plane = total;
  for (size_t idx = blockIdx.x * size_t(blockDim.x) + threadIdx.x; idx < total;
       idx += size_t(gridDim.x) * blockDim.x) {
    const int m = int(idx / Ci), c = int(idx % Ci);
    float g[3][3];
    if (flip) {
      const float* src = w + (size_t(c) * Mo + m) * 9;
#pragma unroll
      for (int r = 0; r < 3; ++r)
#pragma unroll
        for (int s = 0; s < 3; ++s) g[r][s] = __ldg(src + (2 - r) * 3 + (2 - s));
    } else {
      const float* src = w + idx * 9;
#pragma unroll
      for (int r = 0; r < 3; ++r)
#pragma unroll
        for (int s = 0; s < 3; ++s) g[r][s] = __ldg(src + r * 3 + s);
    }
    float col[3][6];  // G applied to each filter column: col[s][i] = (G g)[i][s]
#pragma unroll
    for (int s = 0; s < 3; ++s) {
      const float v[3] = {g[0][s], g[1][s], g[2][s]};
      g3(v, col[s]);
    }
#pragma unroll
    for (int i = 0; i < 6; ++i) {
      const float v[3] = {col[0][i], col[1][i], col[2][i]};
      float u[6];
      g3(v, u);  // row i of (G g) G^T
#pragma unroll
      for (int j = 0; j < 6; ++j) U[size_t(i * 6 + j) * plane + idx] = u[j];
    }
  }
}

// V[t][s][c][tl] = (B^T d B)[t] of tile s*L + tl of the chunk that starts at
// image n0 (ntile tiles; tiles past ntile are zero). The forward passes use
// one split (nsplit = 1, L = ntile): V[t][c][tile]. The weight gradient
// splits its long reduction over tiles into nsplit GEMMs of length L.
__global__ void input_transform_kernel(const float* __restrict__ in, WinoGeom g, int n0, int ntile, int nsplit,
                                       int L, float* __restrict__ V) {
  const size_t per_split = size_t(g.Ci) * L, total = per_split * nsplit, plane = total;
  const int per_img = g.per_image();
  for (size_t idx = blockIdx.x * size_t(blockDim.x) + threadIdx.x; idx < total;
       idx += size_t(gridDim.x) * blockDim.x) {
    const int sp = int(idx / per_split), rem0 = int(idx % per_split);
    const int c = rem0 / L, tile = sp * L + rem0 % L;
    float d[6][6];
    if (tile < ntile) {
      const int n = n0 + tile / per_img;
      int a, b, oh0, ow0;
      g.origin(tile % per_img, a, b, oh0, ow0);
      const int h0 = a + g.dh * (oh0 - g.ph), w0 = b + g.dw * (ow0 - g.pw);
      const float* src = in + (size_t(n) * g.Ci + c) * g.Hi * g.Wi;
#pragma unroll
      for (int i = 0; i < 6; ++i) {
        const int h = h0 + i * g.dh;
        const bool hok = unsigned(h) < unsigned(g.Hi);
#pragma unroll
        for (int j = 0; j < 6; ++j) {
          const int w = w0 + j * g.dw;
          d[i][j] = (hok && unsigned(w) < unsigned(g.Wi)) ? __ldg(src + h * g.Wi + w) : 0.0f;
        }
      }
    } else {
#pragma unroll
      for (int i = 0; i < 6; ++i)
#pragma unroll
        for (int j = 0; j < 6; ++j) d[i][j] = 0.0f;
    }
    float t[6][6];  // B^T d, column by column
#pragma unroll
    for (int j = 0; j < 6; ++j) {
      const float v[6] = {d[0][j], d[1][j], d[2][j], d[3][j], d[4][j], d[5][j]};
      float r[6];
      bt6(v, r);
#pragma unroll
      for (int i = 0; i < 6; ++i) t[i][j] = r[i];
    }
#pragma unroll
    for (int i = 0; i < 6; ++i) {  // (B^T d) B, row by row
      float r[6];
      bt6(t[i], r);
#pragma unroll
      for (int j = 0; j < 6; ++j) V[size_t(i * 6 + j) * plane + idx] = r[j];
    }
  }
}

// The rows of A (6x4, the transpose of kWinoAT) applied to a 4-vector.
__device__ __forceinline__ void a4(const float e[4], float r[6]) {
  const float s02 = e[0] + e[2], s13 = e[1] + e[3];
  r[0] = e[0];
  r[1] = s02 + s13;
  r[2] = s02 - s13;
  r[3] = e[0] + 2.0f * e[1] + 4.0f * e[2] + 8.0f * e[3];
  r[4] = e[0] - 2.0f * e[1] + 4.0f * e[2] - 8.0f * e[3];
  r[5] = e[3];
}

// The rows of G^T (3x6) applied to a 6-vector.
__device__ __forceinline__ void gt6(const float s[6], float r[3]) {
  const float p12 = s[1] + s[2], m12 = s[2] - s[1], p34 = s[3] + s[4], m34 = s[3] - s[4];
  r[0] = 0.25f * s[0] - p12 * (1.0f / 6.0f) + p34 * (1.0f / 24.0f);
  r[1] = m12 * (1.0f / 6.0f) + m34 * (1.0f / 12.0f);
  r[2] = -p12 * (1.0f / 6.0f) + p34 * (1.0f / 6.0f) + s[5];
}

// Weight gradient, step 1 for dy: Z[t][s][k][tl] = (A e A^T)[t], e the 4x4
// block of dy[n][k] at tile s*L + tl (zero outside the image and past ntile).
// Since y_tile = A^T (U (.) V) A is linear in U = G g G^T,
//   dL/dg = sum over tiles of G^T [ (A dy_tile A^T) (.) V ] G.
__global__ void grad_output_transform_kernel(const float* __restrict__ dy, WinoGeom g, int n0, int ntile,
                                             int nsplit, int L, float* __restrict__ Z) {
  const size_t per_split = size_t(g.Mo) * L, total = per_split * nsplit, plane = total;
  const int per_img = g.per_image();
  for (size_t idx = blockIdx.x * size_t(blockDim.x) + threadIdx.x; idx < total;
       idx += size_t(gridDim.x) * blockDim.x) {
    const int sp = int(idx / per_split), rem0 = int(idx % per_split);
    const int k = rem0 / L, tile = sp * L + rem0 % L;
    float e[4][4] = {};
    if (tile < ntile) {
      const int n = n0 + tile / per_img;
      int a, b, oh0, ow0;
      g.origin(tile % per_img, a, b, oh0, ow0);
      const float* src = dy + (size_t(n) * g.Mo + k) * g.Ho * g.Wo;
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        const int oh = a + g.dh * (oh0 + i);
#pragma unroll
        for (int j = 0; j < 4; ++j) {
          const int ow = b + g.dw * (ow0 + j);
          if (oh < g.Ho && ow < g.Wo) e[i][j] = __ldg(src + size_t(oh) * g.Wo + ow);
        }
      }
    }
    float u[6][4];  // A e, column by column
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const float v[4] = {e[0][j], e[1][j], e[2][j], e[3][j]};
      float r[6];
      a4(v, r);
#pragma unroll
      for (int i = 0; i < 6; ++i) u[i][j] = r[i];
    }
#pragma unroll
    for (int i = 0; i < 6; ++i) {  // (A e) A^T, row by row
      float r[6];
      a4(u[i], r);
#pragma unroll
      for (int j = 0; j < 6; ++j) Z[size_t(i * 6 + j) * plane + idx] = r[j];
    }
  }
}

// Weight gradient, last step: dw[k][c] += G^T (sum over splits of S[t][s][k][c]) G.
__global__ void filter_grad_transform_kernel(const float* __restrict__ S, int Mo, int Ci, int nsplit,
                                             float* __restrict__ dw) {
  const size_t total = size_t(Mo) * Ci;
  for (size_t idx = blockIdx.x * size_t(blockDim.x) + threadIdx.x; idx < total;
       idx += size_t(gridDim.x) * blockDim.x) {
    float m[6][6];
#pragma unroll
    for (int t = 0; t < 36; ++t) {
      float acc = 0.0f;
      for (int sp = 0; sp < nsplit; ++sp) acc += __ldg(S + (size_t(t) * nsplit + sp) * total + idx);
      m[t / 6][t % 6] = acc;
    }
    float u[3][6];  // G^T m, column by column
#pragma unroll
    for (int j = 0; j < 6; ++j) {
      const float v[6] = {m[0][j], m[1][j], m[2][j], m[3][j], m[4][j], m[5][j]};
      float r[3];
      gt6(v, r);
#pragma unroll
      for (int i = 0; i < 3; ++i) u[i][j] = r[i];
    }
    float* out = dw + idx * 9;
#pragma unroll
    for (int i = 0; i < 3; ++i) {  // (G^T m) G, row by row
      float r[3];
      gt6(u[i], r);
#pragma unroll
      for (int j = 0; j < 3; ++j) out[i * 3 + j] += r[j];
    }
  }
}

// y[n][m] 4x4 block of each tile = A^T M A + bias, the outputs inside the image.
__global__ void output_transform_kernel(const float* __restrict__ M, const float* __restrict__ bias,
                                        WinoGeom g, int n0, int ntile, int vec, float* __restrict__ out) {
  const size_t total = size_t(g.Mo) * ntile, plane = total;
  const int per_img = g.per_image();
  for (size_t idx = blockIdx.x * size_t(blockDim.x) + threadIdx.x; idx < total;
       idx += size_t(gridDim.x) * blockDim.x) {
    const int m = int(idx / ntile), tile = int(idx % ntile);
    const int n = n0 + tile / per_img;
    int a, bb, oh0, ow0;
    g.origin(tile % per_img, a, bb, oh0, ow0);
    float t[4][6];  // A^T M, column by column
#pragma unroll
    for (int j = 0; j < 6; ++j) {
      float v[6];
#pragma unroll
      for (int i = 0; i < 6; ++i) v[i] = __ldg(M + size_t(i * 6 + j) * plane + idx);
      float r[4];
      at6(v, r);
#pragma unroll
      for (int i = 0; i < 4; ++i) t[i][j] = r[i];
    }
    const float b = bias ? __ldg(bias + m) : 0.0f;
    float* dst = out + (size_t(n) * g.Mo + m) * g.Ho * g.Wo;
    const int ow = bb + g.dw * ow0;  // first output column of the tile
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const int oh = a + g.dh * (oh0 + i);
      if (oh >= g.Ho) break;
      float o[4];
      at6(t[i], o);
      float* row = dst + size_t(oh) * g.Wo;
      if (vec && ow + 4 <= g.Wo) {  // undilated: 4 consecutive pixels
        *reinterpret_cast<float4*>(row + ow) = make_float4(o[0] + b, o[1] + b, o[2] + b, o[3] + b);
      } else {
#pragma unroll
        for (int j = 0; j < 4; ++j)
          if (ow + j * g.dw < g.Wo) row[ow + j * g.dw] = o[j] + b;
      }
    }
  }
}

size_t g_chunk_bytes = size_t(256) << 20;  // each transformed operand of one chunk at most this

// Images per chunk: the transformed operands (36 values per tile and channel,
// for the larger of the two channel counts) within the chunk budget, and one
// GEMM operand under 2^31 elements (the GEMM's 32-bit offsets).
int chunk_images(const WinoGeom& g) {
  const long long per_img = g.per_image(), ch = std::max(g.Ci, g.Mo);
  if (per_img * ch >= (1LL << 31))
    throw std::invalid_argument("conv2d_winograd: image too large for one GEMM (32-bit offsets)");
  int nb = int(std::clamp<long long>((long long)g_chunk_bytes / std::max<long long>(36LL * 4 * per_img * ch, 1), 1,
                                     g.N));
  while (nb > 1 && 1LL * nb * per_img * ch >= (1LL << 31)) nb /= 2;
  return nb;
}

void winograd_conv(const WinoGeom& g, const float* in, const float* w, int flip, const float* bias, float* out,
                   cudaStream_t stream) {
  if (g.N == 0 || g.Mo == 0 || g.Ho <= 0 || g.Wo <= 0) return;
  const int nb = chunk_images(g);
  const long long per_img = g.per_image(), max_tiles = nb * per_img;
  const size_t u_bytes = detail::align256(36 * size_t(g.Mo) * g.Ci * sizeof(float));
  const size_t v_bytes = detail::align256(36 * size_t(g.Ci) * max_tiles * sizeof(float));
  const size_t m_bytes = detail::align256(36 * size_t(g.Mo) * max_tiles * sizeof(float));
  detail::Scratch ws(u_bytes + v_bytes + m_bytes, stream);
  float* U = ws.as<float>(0);
  float* V = ws.as<float>(u_bytes);
  float* M = ws.as<float>(u_bytes + v_bytes);

  const size_t nu = size_t(g.Mo) * g.Ci;
  filter_transform_kernel<<<detail::grid_for(nu), detail::kBlock, 0, stream>>>(w, g.Mo, g.Ci, flip, U);
  TINCT_CUDA_LAUNCH_CHECK();
  const int vec = g.dw == 1 && g.Wo % 4 == 0 && detail::aligned16(out);
  for (int n0 = 0; n0 < g.N; n0 += nb) {
    const int ntile = int(std::min(nb, g.N - n0) * per_img);
    const size_t nv = size_t(g.Ci) * ntile, nm = size_t(g.Mo) * ntile;
    input_transform_kernel<<<detail::grid_for(nv), detail::kBlock, 0, stream>>>(in, g, n0, ntile, 1, ntile, V);
    TINCT_CUDA_LAUNCH_CHECK();
    // M[t] (Mo x ntile) = U[t] (Mo x Ci) . V[t] (Ci x ntile), t = 0..35
    sgemm_strided_batched(false, false, g.Mo, ntile, g.Ci, 1.0f, U, g.Ci, (long long)nu, V, ntile,
                          (long long)nv, 0.0f, M, ntile, (long long)nm, 36, stream);
    output_transform_kernel<<<detail::grid_for(nm), detail::kBlock, 0, stream>>>(M, bias, g, n0, ntile, vec,
                                                                                 out);
    TINCT_CUDA_LAUNCH_CHECK();
  }
}

// The weight gradient's plan: images per chunk, the split of each chunk's
// tiles into nsplit GEMM reductions of length L (enough GEMM blocks to fill
// the GPU: 36 x nsplit x output tiles; each reduction at least 256 tiles),
// and the workspace: V (input), Z (dy), S (36 x nsplit partial products).
struct WgradWinoPlan {
  int nb, nsplit, L;
  size_t v_bytes, z_bytes, s_bytes;
  size_t total() const { return v_bytes + z_bytes + s_bytes; }
};

WgradWinoPlan plan_wgrad_winograd(const WinoGeom& g) {
  WgradWinoPlan pl{};
  pl.nb = chunk_images(g);
  const long long max_tiles = 1LL * pl.nb * g.per_image();
  const long long out_tiles = 1LL * ((g.Mo + 127) / 128) * ((g.Ci + 127) / 128);
  const long long want = (2LL * detail::sm_count() + 36 * out_tiles - 1) / (36 * out_tiles);
  pl.nsplit = int(std::clamp<long long>(want, 1, std::clamp<long long>(max_tiles / 256, 1, 64)));
  pl.L = int((max_tiles + pl.nsplit - 1) / pl.nsplit);
  const size_t padded = size_t(pl.nsplit) * pl.L;
  pl.v_bytes = detail::align256(36 * size_t(g.Ci) * padded * sizeof(float));
  pl.z_bytes = detail::align256(36 * size_t(g.Mo) * padded * sizeof(float));
  pl.s_bytes = detail::align256(36 * size_t(pl.nsplit) * g.Mo * g.Ci * sizeof(float));
  return pl;
}

WinoGeom fwd_geom(const Conv2dParams& p) {
  // the forward conv's geometry: in = x (Ci = C), out = y (Mo = K)
  return make_geom(p.N, p.C, p.H, p.W, p.K, p.P, p.Q, p.pad_h, p.pad_w, p.dil_h, p.dil_w);
}

void check_winograd(const Conv2dParams& p, const char* who) {
  Conv2dParams q = p;
  if (!q.finalize() || q.P != p.P || q.Q != p.Q || p.N < 1 || p.C < 1 || p.K < 1)
    throw std::invalid_argument(std::string(who) + ": invalid Conv2dParams (call finalize(); sizes >= 1)");
  if (!cpu::conv2d_winograd_supported(p))
    throw std::invalid_argument(std::string(who) +
                                ": Winograd F(4x4,3x3) needs a 3x3 stride-1 conv with padding a multiple of the "
                                "dilation, pad / dilation <= 2");
}

}  // namespace

size_t conv2d_bwd_filter_winograd_workspace_bytes(const Conv2dParams& p) {
  check_winograd(p, "conv2d_bwd_filter_winograd");
  return plan_wgrad_winograd(fwd_geom(p)).total();
}

void conv2d_bwd_filter_winograd(const Conv2dParams& p, const float* x, const float* dy, float* dw, float* db,
                                void* workspace, size_t workspace_bytes, cudaStream_t stream) {
  check_winograd(p, "conv2d_bwd_filter_winograd");
  const WinoGeom g = fwd_geom(p);
  const WgradWinoPlan pl = plan_wgrad_winograd(g);
  if (workspace == nullptr || workspace_bytes < pl.total())
    throw std::invalid_argument("conv2d_bwd_filter_winograd: workspace too small (" +
                                std::to_string(workspace_bytes) + " bytes, needs " + std::to_string(pl.total()) +
                                ")");
  float* V = static_cast<float*>(workspace);
  float* Z = reinterpret_cast<float*>(static_cast<char*>(workspace) + pl.v_bytes);
  float* S = reinterpret_cast<float*>(static_cast<char*>(workspace) + pl.v_bytes + pl.z_bytes);
  const long long per_img = g.per_image();
  const size_t nv = size_t(g.Ci) * pl.L, nz = size_t(g.Mo) * pl.L, ns = size_t(g.Mo) * g.Ci;
  for (int n0 = 0; n0 < g.N; n0 += pl.nb) {
    const int ntile = int(std::min(pl.nb, g.N - n0) * per_img);
    input_transform_kernel<<<detail::grid_for(nv * pl.nsplit), detail::kBlock, 0, stream>>>(
        x, g, n0, ntile, pl.nsplit, pl.L, V);
    TINCT_CUDA_LAUNCH_CHECK();
    grad_output_transform_kernel<<<detail::grid_for(nz * pl.nsplit), detail::kBlock, 0, stream>>>(
        dy, g, n0, ntile, pl.nsplit, pl.L, Z);
    TINCT_CUDA_LAUNCH_CHECK();
    // S[t][s] (K x C) (+)= Z[t][s] (K x L) . V[t][s]^T (L x C): 36 x nsplit GEMMs;
    // later chunks add onto the first one's (a fixed order: deterministic)
    sgemm_strided_batched(false, true, g.Mo, g.Ci, pl.L, 1.0f, Z, pl.L, (long long)nz, V, pl.L, (long long)nv,
                          n0 == 0 ? 0.0f : 1.0f, S, g.Ci, (long long)ns, 36 * pl.nsplit, stream);
  }
  filter_grad_transform_kernel<<<detail::grid_for(ns), detail::kBlock, 0, stream>>>(S, g.Mo, g.Ci, pl.nsplit,
                                                                                   dw);
  TINCT_CUDA_LAUNCH_CHECK();
  if (db) bias_grad(p.N, p.K, p.P * p.Q, dy, db, stream);
}

size_t set_winograd_chunk_bytes(size_t bytes) {
  const size_t old = g_chunk_bytes;
  g_chunk_bytes = bytes;
  return old;
}

void conv2d_fwd_winograd(const Conv2dParams& p, const float* x, const float* w, const float* b, float* y,
                         cudaStream_t stream) {
  check_winograd(p, "conv2d_fwd_winograd");
  winograd_conv(fwd_geom(p), x, w, 0, b, y, stream);  // the forward conv's geometry
}

void conv2d_bwd_data_winograd(const Conv2dParams& p, const float* dy, const float* w, float* dx,
                              cudaStream_t stream) {
  check_winograd(p, "conv2d_bwd_data_winograd");
  // dx = conv(dy, flipped w^T), same dilation, padding 2 dil - pad: P + 2 (2 dil - pad) - 2 dil = H
  const WinoGeom g = make_geom(p.N, p.K, p.P, p.Q, p.C, p.H, p.W, 2 * p.dil_h - p.pad_h, 2 * p.dil_w - p.pad_w,
                               p.dil_h, p.dil_w);
  winograd_conv(g, dy, w, 1, nullptr, dx, stream);
}

}  // namespace tinct::cuda
