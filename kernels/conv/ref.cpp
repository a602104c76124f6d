// conv/ref.cpp — the reference 2-D convolution (cross-correlation, as in
// PyTorch): the specification the fast path (conv/cpu.cpp) and the CUDA kernels
// are tested against. Direct nested loops, straight from the formula.
//
// Shapes (NCHW, contiguous): x[N,C,H,W], w[K,C,R,S], b[K], y[N,K,P,Q].
// Output pixel (p, q) with filter tap (r, s) reads input pixel
//   h = p * stride_h - pad_h + r * dil_h,   w = q * stride_w - pad_w + s * dil_w
// and taps that fall outside the image read zero (zero padding):
//
//   y[n,k,p,q]  = b[k] + sum_{c,r,s} x[n,c,h,w] * w[k,c,r,s]
//   dx[n,c,h,w] = sum over every (k,p,q,r,s) that reads (h,w) of dy[n,k,p,q] * w[k,c,r,s]
//   dw[k,c,r,s] += sum_{n,p,q} dy[n,k,p,q] * x[n,c,h,w]
//   db[k]      += sum_{n,p,q} dy[n,k,p,q]
//
// bwd_data OVERWRITES dx; bwd_filter ACCUMULATES into dw and db (kernels.h).
#include "kernels/kernels.h"

namespace tinct::cpu {
namespace {

// Flat NCHW offset of element [a, b, c, d] of a tensor shaped [*, B, C, D].
inline size_t at(int a, int b, int c, int d, int B, int C, int D) {
  return ((size_t(a) * B + b) * C + c) * D + d;
}

}  // namespace

void conv2d_fwd_ref(const Conv2dParams& p, const float* x, const float* w, const float* b, float* y) {
  for (int n = 0; n < p.N; ++n)
    for (int k = 0; k < p.K; ++k)
      for (int op = 0; op < p.P; ++op)
        for (int oq = 0; oq < p.Q; ++oq) {
          float sum = 0.0f;
          for (int c = 0; c < p.C; ++c)
            for (int r = 0; r < p.R; ++r)
              for (int s = 0; s < p.S; ++s) {
                const int h = op * p.stride_h - p.pad_h + r * p.dil_h;
                const int ww = oq * p.stride_w - p.pad_w + s * p.dil_w;
                if (h < 0 || h >= p.H || ww < 0 || ww >= p.W) continue;  // zero padding
                sum += x[at(n, c, h, ww, p.C, p.H, p.W)] * w[at(k, c, r, s, p.C, p.R, p.S)];
              }
          y[at(n, k, op, oq, p.K, p.P, p.Q)] = b ? sum + b[k] : sum;
        }
}

// Backward-data as the transpose of the forward loop: every multiply-add
// y[n,k,p,q] += x[n,c,h,w] * w[k,c,r,s] of the forward pass sends
// dy[n,k,p,q] * w[k,c,r,s] back to dx[n,c,h,w].
void conv2d_bwd_data_ref(const Conv2dParams& p, const float* dy, const float* w, float* dx) {
  const size_t dx_size = size_t(p.N) * p.C * p.H * p.W;
  for (size_t i = 0; i < dx_size; ++i) dx[i] = 0.0f;  // overwrite, then accumulate
  for (int n = 0; n < p.N; ++n)
    for (int k = 0; k < p.K; ++k)
      for (int op = 0; op < p.P; ++op)
        for (int oq = 0; oq < p.Q; ++oq) {
          const float g = dy[at(n, k, op, oq, p.K, p.P, p.Q)];
          for (int c = 0; c < p.C; ++c)
            for (int r = 0; r < p.R; ++r)
              for (int s = 0; s < p.S; ++s) {
                const int h = op * p.stride_h - p.pad_h + r * p.dil_h;
                const int ww = oq * p.stride_w - p.pad_w + s * p.dil_w;
                if (h < 0 || h >= p.H || ww < 0 || ww >= p.W) continue;  // padding: no input
                dx[at(n, c, h, ww, p.C, p.H, p.W)] += g * w[at(k, c, r, s, p.C, p.R, p.S)];
              }
        }
}

void conv2d_bwd_filter_ref(const Conv2dParams& p, const float* x, const float* dy, float* dw, float* db) {
  for (int k = 0; k < p.K; ++k)
    for (int c = 0; c < p.C; ++c)
      for (int r = 0; r < p.R; ++r)
        for (int s = 0; s < p.S; ++s) {
          float sum = 0.0f;
          for (int n = 0; n < p.N; ++n)
            for (int op = 0; op < p.P; ++op)
              for (int oq = 0; oq < p.Q; ++oq) {
                const int h = op * p.stride_h - p.pad_h + r * p.dil_h;
                const int ww = oq * p.stride_w - p.pad_w + s * p.dil_w;
                if (h < 0 || h >= p.H || ww < 0 || ww >= p.W) continue;
                sum += dy[at(n, k, op, oq, p.K, p.P, p.Q)] * x[at(n, c, h, ww, p.C, p.H, p.W)];
              }
          dw[at(k, c, r, s, p.C, p.R, p.S)] += sum;  // accumulate: kernels.h contract
        }
  if (db) {
    for (int k = 0; k < p.K; ++k) {
      float sum = 0.0f;
      for (int n = 0; n < p.N; ++n)
        for (int i = 0; i < p.P * p.Q; ++i) sum += dy[(size_t(n) * p.K + k) * p.P * p.Q + i];
      db[k] += sum;
    }
  }
}

}  // namespace tinct::cpu
