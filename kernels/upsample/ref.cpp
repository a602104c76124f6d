// upsample/ref.cpp — resizing x[N,C,H,W] to y[N,C,Ho,Wo], the reference (the
// specification: plain single-threaded loops; upsample/cpu.cpp threads them).
// Ho, Wo are arbitrary: larger (upsampling) or smaller (plain resampling,
// no antialiasing), as torch.nn.functional.interpolate without antialias.
//
// Nearest (PyTorch mode='nearest'), per axis:
//   src(dst) = min(floor(dst * H / Ho), H - 1)
//   y[ho,wo] = x[src_h(ho), src_w(wo)]
// computed in exact integer arithmetic. (PyTorch forms the float H/Ho first;
// for a few size pairs its rounding can pick a different source pixel.)
//
// Bilinear (align_corners = false, PyTorch's default), per axis:
//   src    = (dst + 0.5) * H / Ho - 0.5,  then src = max(src, 0)
//   i0     = floor(src),  i1 = min(i0 + 1, H - 1),  lambda = src - i0
//   y[ho,wo] = sum over a in {0,1}, b in {0,1} of
//              wh_a * ww_b * x[ih_a, iw_b]   with wh_0 = 1 - lambda_h,
//                                                 wh_1 = lambda_h (same for w)
// The pixel centres of input and output are aligned, not their corners.
// Near the far edge i0 = i1 = H - 1, and the two weights land on one pixel.
//
// Both maps are linear, y = A x. Backward is the exact adjoint dx = A^T dy:
// each dy is scattered to the inputs it was read from, with the same weights.
// dx is overwritten.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "kernels/kernels.h"

namespace tinct::cpu {

namespace {

// For one axis: output index o reads inputs i0[o] (weight w0[o]) and i1[o]
// (weight w1[o]). Nearest is the case i1 = i0, w0 = 1, w1 = 0.
struct AxisTaps {
  std::vector<int> i0, i1;
  std::vector<float> w0, w1;
};

AxisTaps axis_taps(Upsample mode, int in, int out) {
  AxisTaps t;
  t.i0.resize(out);
  t.i1.resize(out);
  t.w0.resize(out);
  t.w1.resize(out);
  for (int o = 0; o < out; ++o) {
    if (mode == Upsample::Nearest) {
      const int src = int(std::min<int64_t>(int64_t(o) * in / out, in - 1));
      t.i0[o] = t.i1[o] = src;
      t.w0[o] = 1.0f;
      t.w1[o] = 0.0f;
    } else {
      double src = (o + 0.5) * double(in) / double(out) - 0.5;
      if (src < 0.0) src = 0.0;  // left of the first pixel centre: clamp
      const int i0 = std::min(int(std::floor(src)), in - 1);
      const int i1 = std::min(i0 + 1, in - 1);
      const double lambda = src - i0;
      t.i0[o] = i0;
      t.i1[o] = i1;
      t.w0[o] = float(1.0 - lambda);
      t.w1[o] = float(lambda);
    }
  }
  return t;
}

}  // namespace

void upsample_fwd_ref(Upsample mode, int N, int C, int H, int W, int Ho, int Wo, const float* x,
                      float* y) {
  const AxisTaps th = axis_taps(mode, H, Ho), tw = axis_taps(mode, W, Wo);
  const size_t in_plane = size_t(H) * W, out_plane = size_t(Ho) * Wo;
  for (int n = 0; n < N; ++n)
    for (int c = 0; c < C; ++c) {
      const size_t plane = size_t(n) * C + c;
      const float* xp = x + plane * in_plane;
      float* yp = y + plane * out_plane;
      for (int ho = 0; ho < Ho; ++ho) {
        const float* row0 = xp + size_t(th.i0[ho]) * W;
        const float* row1 = xp + size_t(th.i1[ho]) * W;
        const float a0 = th.w0[ho], a1 = th.w1[ho];
        for (int wo = 0; wo < Wo; ++wo) {
          const int j0 = tw.i0[wo], j1 = tw.i1[wo];
          const float b0 = tw.w0[wo], b1 = tw.w1[wo];
          float v;
          if (mode == Upsample::Nearest)
            v = row0[j0];  // a plain copy: no 0 * x terms (0 * inf would be NaN)
          else
            v = a0 * (b0 * row0[j0] + b1 * row0[j1]) + a1 * (b0 * row1[j0] + b1 * row1[j1]);
          yp[size_t(ho) * Wo + wo] = v;
        }
      }
    }
}

void upsample_bwd_ref(Upsample mode, int N, int C, int H, int W, int Ho, int Wo, const float* dy,
                      float* dx) {
  const AxisTaps th = axis_taps(mode, H, Ho), tw = axis_taps(mode, W, Wo);
  const size_t in_plane = size_t(H) * W, out_plane = size_t(Ho) * Wo;
  // Several outputs read one input, but only within one (n,c) plane, which
  // one thread handles in a fixed order: deterministic.
  for (int n = 0; n < N; ++n)
    for (int c = 0; c < C; ++c) {
      const size_t plane = size_t(n) * C + c;
      const float* dyp = dy + plane * out_plane;
      float* dxp = dx + plane * in_plane;
      for (size_t i = 0; i < in_plane; ++i) dxp[i] = 0.0f;
      for (int ho = 0; ho < Ho; ++ho) {
        float* row0 = dxp + size_t(th.i0[ho]) * W;
        float* row1 = dxp + size_t(th.i1[ho]) * W;
        const float a0 = th.w0[ho], a1 = th.w1[ho];
        for (int wo = 0; wo < Wo; ++wo) {
          const int j0 = tw.i0[wo], j1 = tw.i1[wo];
          const float b0 = tw.w0[wo], b1 = tw.w1[wo];
          const float g = dyp[size_t(ho) * Wo + wo];
          if (mode == Upsample::Nearest) {
            row0[j0] += g;
            continue;
          }
          // The transpose of the forward's four taps, with the same weights.
          row0[j0] += a0 * b0 * g;
          row0[j1] += a0 * b1 * g;
          row1[j0] += a1 * b0 * g;
          row1[j1] += a1 * b1 * g;
        }
      }
    }
}

}  // namespace tinct::cpu
