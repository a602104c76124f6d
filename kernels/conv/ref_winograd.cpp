// conv/ref_winograd.cpp — the readable CPU reference of Winograd's minimal
// filtering F(4x4, 3x3) (Lavin & Gray, "Fast Algorithms for Convolutional
// Neural Networks", 2016), the algorithm of kernels/conv/cuda_3_winograd.cu.
//
// A 3x3 stride-1 convolution computes each 4x4 block of outputs from a 6x6
// block of input. Winograd writes that block as
//     Y = A^T [ (G g G^T) (.) (B^T d B) ] A        ((.) = elementwise product)
// where g is the 3x3 filter, d the 6x6 input tile and A, B, G the constant
// matrices below (interpolation points 0, +-1, +-2 and infinity). Summed over
// input channels, the elementwise products become 36 independent GEMMs
//     M[t][k][tile] = sum_c U[t][k][c] V[t][c][tile],   t = 0..35,
// with 36 multiplies per 16 outputs and channel pair instead of 144: 4x
// fewer. The transforms cost additions only, and some rounding: the errors
// are ~5x those of the direct sum in FP32 (still within the tests' budget).
//
// Dilation d (with a padding that is a multiple of d) is d^2 undilated
// convolutions, one per phase: the output rows a, a + d, a + 2d, ... read only
// the input rows of the same residue a mod d, so each phase (a, b) is a
// 3x3 conv on its sub-grid with padding pad / d. Its tiles simply join the
// others in the GEMMs.
// Backward-data is the forward of the flipped filter (channels swapped,
// padding 2d - pad). The weight gradient follows from y being linear in
// U = G g G^T:  dL/dg = G^T [ sum over tiles (A dy_tile A^T) (.) V ] G.
//
// F(3x3, 4x4), for 4x4 stride-1 filters (dilation 1, padding <= 3), uses the
// same 6x6 input tiles and the same points, so the same B^T; only G (6x4:
// row t is s_t (1, p_t, p_t^2, p_t^3) with the scales s_t of F(4x4, 3x3)'s G, and
// (0, 0, 0, 1) for infinity) and A^T (3x6: p_t^i, and 1 for infinity in the
// last row) differ, and the tiles step by 3 (winograd_tiles.h). 36 multiplies
// per 9 outputs and channel pair instead of 144: 4x fewer again.
// Its backward-data is the same forward of the flipped filter (padding 3 - pad),
// its backward-filter the same sum with 3x3 blocks of dy and these A, G.
//
// This file is the specification the CUDA kernels follow: the same tiles,
// the same transform matrices, the same GEMM layout; plain loops. It is
// tested against conv/ref.cpp (tests/test_conv_winograd.cpp).
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/conv/winograd_tiles.h"
#include "kernels/kernels.h"

namespace tinct::cpu {

const float kWinoBT[6][6] = {
    {4, 0, -5, 0, 1, 0},  {0, -4, -4, 1, 1, 0}, {0, 4, -4, -1, 1, 0},
    {0, -2, -1, 2, 1, 0}, {0, 2, -1, -2, 1, 0}, {0, 4, 0, -5, 0, 1},
};
// G: winograd::kG3 (conv/winograd_tiles.h, shared with the fast paths).
const float kWinoAT[4][6] = {
    {1, 1, 1, 1, 1, 0},
    {0, 1, -1, 2, -2, 0},
    {0, 1, 1, 4, 4, 0},
    {0, 1, -1, 8, -8, 1},
};

// F(3x3, 4x4): G is winograd::kG4 (conv/winograd_tiles.h).
const float kWino43AT[3][6] = {
    {1, 1, 1, 1, 1, 0},
    {0, 1, -1, 2, -2, 0},
    {0, 1, 1, 4, 4, 1},
};

bool conv2d_winograd43_supported(const Conv2dParams& p) {
  return p.R == 4 && p.S == 4 && p.stride_h == 1 && p.stride_w == 1 && p.dil_h == 1 && p.dil_w == 1 &&
         p.pad_h >= 0 && p.pad_h <= 3 && p.pad_w >= 0 && p.pad_w <= 3;
}

bool conv2d_winograd_supported(const Conv2dParams& p) {
  return p.R == 3 && p.S == 3 && p.stride_h == 1 && p.stride_w == 1 && p.dil_h >= 1 && p.dil_w >= 1 &&
         p.pad_h % p.dil_h == 0 && p.pad_w % p.dil_w == 0 && p.pad_h / p.dil_h <= 2 && p.pad_w / p.dil_w <= 2;
}

namespace {

using winograd::Tiles;

void check(const Conv2dParams& p, const char* who) {
  if (!conv2d_winograd_supported(p) && !conv2d_winograd43_supported(p))
    throw std::invalid_argument(std::string(who) +
                                ": needs a 3x3 stride-1 conv with padding a multiple of the dilation, pad / dil <= 2"
                                " or a 4x4 stride-1 undilated conv with padding <= 3");
}

// The matrices of the algorithm for p's filter size: G (6 x r), A^T (m x 6).
float wino_g(const Conv2dParams& p, int i, int r) { return winograd::filter_g(p.R)[i][r]; }
float wino_at(const Conv2dParams& p, int i, int r) { return p.R == 4 ? kWino43AT[i][r] : kWinoAT[i][r]; }

// V[t][c] = B^T d B of tile u of image n (d: its 6x6 input tile).
void input_tile(const Conv2dParams& p, const Tiles& T, const float* x, int n, int u, std::vector<float>& V) {
  int a, b, th, tw;
  T.decode(u, a, b, th, tw);
  for (int c = 0; c < p.C; ++c) {
    float d[6][6];
    for (int i = 0; i < 6; ++i)
      for (int j = 0; j < 6; ++j) {
        const int h = a + T.dh * (T.m * th - T.ph + i), w = b + T.dw * (T.m * tw - T.pw + j);
        d[i][j] = (h >= 0 && h < p.H && w >= 0 && w < p.W) ? x[((size_t(n) * p.C + c) * p.H + h) * p.W + w] : 0.0f;
      }
    for (int i = 0; i < 6; ++i)
      for (int j = 0; j < 6; ++j) {
        double s = 0;
        for (int r = 0; r < 6; ++r)
          for (int e = 0; e < 6; ++e) s += double(kWinoBT[i][r]) * d[r][e] * kWinoBT[j][e];
        V[size_t(i * 6 + j) * p.C + c] = float(s);
      }
  }
}

}  // namespace

void conv2d_fwd_winograd_ref(const Conv2dParams& p, const float* x, const float* w, const float* b,
                             float* y) {
  check(p, "conv2d_fwd_winograd_ref");
  const Tiles T(p);
  const int R = p.R, m = T.m;
  // U[t][k][c] = (G g G^T)[t], t = 6 * row + column
  std::vector<float> U(size_t(36) * p.K * p.C), V(size_t(36) * p.C);
  for (int k = 0; k < p.K; ++k)
    for (int c = 0; c < p.C; ++c) {
      const float* g = w + (size_t(k) * p.C + c) * R * R;
      for (int i = 0; i < 6; ++i)
        for (int j = 0; j < 6; ++j) {
          double s = 0;
          for (int r = 0; r < R; ++r)
            for (int q = 0; q < R; ++q) s += double(wino_g(p, i, r)) * g[r * R + q] * wino_g(p, j, q);
          U[(size_t(i * 6 + j) * p.K + k) * p.C + c] = float(s);
        }
    }
  for (int n = 0; n < p.N; ++n)
    for (int u = 0; u < T.per_image(); ++u) {
      input_tile(p, T, x, n, u, V);
      int a, bb, th, tw;
      T.decode(u, a, bb, th, tw);
      for (int k = 0; k < p.K; ++k) {
        // M[t] = sum_c U[t][k][c] V[t][c]: one column of the 36 GEMMs
        float M[36];
        for (int t = 0; t < 36; ++t) {
          double s = 0;
          for (int c = 0; c < p.C; ++c) s += double(U[(size_t(t) * p.K + k) * p.C + c]) * V[size_t(t) * p.C + c];
          M[t] = float(s);
        }
        // Y = A^T M A: the m x m outputs (those inside the image), plus bias
        for (int i = 0; i < m; ++i)
          for (int j = 0; j < m; ++j) {
            const int op = a + T.dh * (m * th + i), oq = bb + T.dw * (m * tw + j);
            if (op >= p.P || oq >= p.Q) continue;
            double s = b ? b[k] : 0.0;
            for (int r = 0; r < 6; ++r)
              for (int e = 0; e < 6; ++e) s += double(wino_at(p, i, r)) * M[r * 6 + e] * wino_at(p, j, e);
            y[((size_t(n) * p.K + k) * p.P + op) * p.Q + oq] = float(s);
          }
      }
    }
}

void conv2d_bwd_data_winograd_ref(const Conv2dParams& p, const float* dy, const float* w, float* dx) {
  check(p, "conv2d_bwd_data_winograd_ref");
  // dx = conv(dy, w') with w'[c][k](r, s) = w[k][c](R-1 - r, R-1 - s), the same
  // dilation and padding dil - pad
  const int R = p.R;
  std::vector<float> wf(size_t(p.C) * p.K * R * R);
  for (int k = 0; k < p.K; ++k)
    for (int c = 0; c < p.C; ++c)
      for (int r = 0; r < R; ++r)
        for (int q = 0; q < R; ++q)
          wf[((size_t(c) * p.K + k) * R + r) * R + q] = w[((size_t(k) * p.C + c) * R + (R - 1 - r)) * R + (R - 1 - q)];
  Conv2dParams f;
  f.N = p.N, f.C = p.K, f.H = p.P, f.W = p.Q, f.K = p.C, f.R = f.S = R;
  f.dil_h = p.dil_h, f.dil_w = p.dil_w;
  f.pad_h = (R - 1) * p.dil_h - p.pad_h, f.pad_w = (R - 1) * p.dil_w - p.pad_w;
  if (!f.finalize() || f.P != p.H || f.Q != p.W)
    throw std::logic_error("conv2d_bwd_data_winograd_ref: the flipped conv does not give back H x W");
  conv2d_fwd_winograd_ref(f, dy, wf.data(), nullptr, dx);
}

void conv2d_bwd_filter_winograd_ref(const Conv2dParams& p, const float* x, const float* dy, float* dw) {
  check(p, "conv2d_bwd_filter_winograd_ref");
  // Each output tile is y_tile = A^T [U (.) V] A with U = G g G^T: linear in U.
  // For L = sum <dy, y>:  dL/dU = sum over tiles of (A dy_tile A^T) (.) V, and
  // dL/dg = G^T (dL/dU) G. The sum over tiles is the GEMM the GPU runs.
  const Tiles T(p);
  const int R = p.R, m = T.m;
  std::vector<double> S(size_t(36) * p.K * p.C, 0.0);  // dL/dU[t][k][c]
  std::vector<float> V(size_t(36) * p.C), Z(size_t(36) * p.K);
  for (int n = 0; n < p.N; ++n)
    for (int u = 0; u < T.per_image(); ++u) {
      input_tile(p, T, x, n, u, V);
      int a, b, th, tw;
      T.decode(u, a, b, th, tw);
      for (int k = 0; k < p.K; ++k) {  // Z = A e A^T, e = this tile's m x m block of dy
        float e[4][4];
        for (int i = 0; i < m; ++i)
          for (int j = 0; j < m; ++j) {
            const int op = a + T.dh * (m * th + i), oq = b + T.dw * (m * tw + j);
            e[i][j] = (op < p.P && oq < p.Q) ? dy[((size_t(n) * p.K + k) * p.P + op) * p.Q + oq] : 0.0f;
          }
        for (int r = 0; r < 6; ++r)
          for (int q = 0; q < 6; ++q) {
            double s = 0;
            for (int i = 0; i < m; ++i)
              for (int j = 0; j < m; ++j) s += double(wino_at(p, i, r)) * e[i][j] * wino_at(p, j, q);
            Z[size_t(r * 6 + q) * p.K + k] = float(s);
          }
      }
      for (int t = 0; t < 36; ++t)
        for (int k = 0; k < p.K; ++k)
          for (int c = 0; c < p.C; ++c)
            S[(size_t(t) * p.K + k) * p.C + c] += double(Z[size_t(t) * p.K + k]) * V[size_t(t) * p.C + c];
    }
  for (int k = 0; k < p.K; ++k)
    for (int c = 0; c < p.C; ++c)
      for (int r = 0; r < R; ++r)
        for (int q = 0; q < R; ++q) {
          double s = 0;
          for (int i = 0; i < 6; ++i)
            for (int j = 0; j < 6; ++j)
              s += double(wino_g(p, i, r)) * S[(size_t(i * 6 + j) * p.K + k) * p.C + c] * wino_g(p, j, q);
          dw[((size_t(k) * p.C + c) * R + r) * R + q] += float(s);
        }
}

}  // namespace tinct::cpu
