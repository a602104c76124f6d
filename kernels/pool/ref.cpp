// pool/ref.cpp — 2-D max pooling, the reference (the specification: plain
// single-threaded loops; pool/cpu.cpp is the fast path).
//
//   y[n,c,p,q] = max over r < kh, s < kw of x[n, c, p*stride_h - pad_h + r,
//                                                  q*stride_w - pad_w + s]
//   argmax[n,c,p,q] = h*W + w, the position inside the (n,c) input plane of
//                     the element that won
//   dx[n,c,h,w] = sum of dy[n,c,p,q] over the (p,q) whose argmax is h*W + w
// Padding behaves as -inf: it never wins, so a window over all-negative inputs
// returns a negative maximum, never 0. Ties go to the first element in scan
// order (r outer, s inner), because only a strictly larger value replaces the
// current best. A NaN wins over any number (max propagates NaN, as PyTorch).
// Backward overwrites dx: zero, then scatter-add each dy to its argmax.
#include <cmath>
#include <limits>

#include "kernels/kernels.h"

namespace tinct::cpu {

void maxpool2d_fwd_ref(const Pool2dParams& p, const float* x, float* y, int32_t* argmax) {
  const size_t in_plane = size_t(p.H) * p.W, out_plane = size_t(p.P) * p.Q;
  // Each (n,c) plane is independent.
  for (int n = 0; n < p.N; ++n)
    for (int c = 0; c < p.C; ++c) {
      const size_t plane = size_t(n) * p.C + c;
      const float* xp = x + plane * in_plane;
      float* yp = y + plane * out_plane;
      int32_t* ap = argmax + plane * out_plane;
      for (int oh = 0; oh < p.P; ++oh)
        for (int ow = 0; ow < p.Q; ++ow) {
          float best = -std::numeric_limits<float>::infinity();
          int32_t best_idx = -1;  // stays -1 only if the window holds no input
          for (int r = 0; r < p.kh; ++r) {
            const int h = oh * p.stride_h - p.pad_h + r;
            if (h < 0 || h >= p.H) continue;  // padding: -inf, never wins
            for (int s = 0; s < p.kw; ++s) {
              const int w = ow * p.stride_w - p.pad_w + s;
              if (w < 0 || w >= p.W) continue;
              const float v = xp[h * p.W + w];
              const bool first = best_idx < 0;
              const bool larger = v > best;                          // strict: ties keep the first
              const bool new_nan = std::isnan(v) && !std::isnan(best);  // the first NaN wins
              if (first || larger || new_nan) {
                best = v;
                best_idx = h * p.W + w;
              }
            }
          }
          yp[oh * p.Q + ow] = best;
          ap[oh * p.Q + ow] = best_idx;
        }
    }
}

void maxpool2d_bwd_ref(const Pool2dParams& p, const float* dy, const int32_t* argmax, float* dx) {
  const size_t in_plane = size_t(p.H) * p.W, out_plane = size_t(p.P) * p.Q;
  // Overlapping windows (stride < kernel) can send several dy to one dx, but
  // only within one (n,c) plane; a plane is handled serially by one thread,
  // so the sums are formed in a fixed order.
  for (int n = 0; n < p.N; ++n)
    for (int c = 0; c < p.C; ++c) {
      const size_t plane = size_t(n) * p.C + c;
      const float* dyp = dy + plane * out_plane;
      const int32_t* ap = argmax + plane * out_plane;
      float* dxp = dx + plane * in_plane;
      for (size_t i = 0; i < in_plane; ++i) dxp[i] = 0.0f;
      for (size_t o = 0; o < out_plane; ++o)
        if (ap[o] >= 0) dxp[ap[o]] += dyp[o];
    }
}

// Channels-last: x[n][h][w][c], y and argmax [n][p][q][c], dx [n][h][w][c];
// argmax keeps its meaning (h*W + w inside the image, for channel c). The
// same scan and the same order of additions as above, so the results are
// the NCHW ones transposed, bit for bit.
void maxpool2d_fwd_nhwc_ref(const Pool2dParams& p, const float* x, float* y, int32_t* argmax) {
  const int C = p.C;
  for (int n = 0; n < p.N; ++n)
    for (int oh = 0; oh < p.P; ++oh)
      for (int ow = 0; ow < p.Q; ++ow)
        for (int c = 0; c < C; ++c) {
          float best = -std::numeric_limits<float>::infinity();
          int32_t best_idx = -1;
          for (int r = 0; r < p.kh; ++r) {
            const int h = oh * p.stride_h - p.pad_h + r;
            if (h < 0 || h >= p.H) continue;
            for (int s = 0; s < p.kw; ++s) {
              const int w = ow * p.stride_w - p.pad_w + s;
              if (w < 0 || w >= p.W) continue;
              const float v = x[((size_t(n) * p.H + h) * p.W + w) * C + c];
              const bool first = best_idx < 0;
              const bool larger = v > best;
              const bool new_nan = std::isnan(v) && !std::isnan(best);
              if (first || larger || new_nan) {
                best = v;
                best_idx = h * p.W + w;
              }
            }
          }
          const size_t o = ((size_t(n) * p.P + oh) * p.Q + ow) * C + c;
          y[o] = best;
          argmax[o] = best_idx;
        }
}

void maxpool2d_bwd_nhwc_ref(const Pool2dParams& p, const float* dy, const int32_t* argmax, float* dx) {
  const int C = p.C;
  const size_t in_plane = size_t(p.H) * p.W, out_plane = size_t(p.P) * p.Q;
  for (int n = 0; n < p.N; ++n)
    for (int c = 0; c < C; ++c) {
      const size_t in0 = size_t(n) * in_plane * C + c, out0 = size_t(n) * out_plane * C + c;
      for (size_t i = 0; i < in_plane; ++i) dx[in0 + i * C] = 0.0f;
      for (size_t o = 0; o < out_plane; ++o) {
        const int32_t a = argmax[out0 + o * C];
        if (a >= 0) dx[in0 + size_t(a) * C] += dy[out0 + o * C];
      }
    }
}

}  // namespace tinct::cpu
