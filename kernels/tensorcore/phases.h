// phases.h — backward-data's output phases for the tensor-core convolutions
// (kernels/tensorcore/conv_core.cuh): which taps reach which output pixels.
//
// dx[h] receives dy[p] through tap r when p*stride = h + pad - r*dil. For
// stride > 1 only the taps with (h + pad - r*dil) a multiple of the stride
// do, and which ones depends on h mod stride alone: the pixels of one phase
// (h mod stride_h, w mod stride_w) share their taps. So backward-data runs
// one GEMM per phase over its taps only (a 3x3 stride-2 conv: 1, 2, 2 and 4
// of 9 taps; a 4x4 stride-2 deconvolution: 4 of 16 each) instead of every tap
// for every pixel with the misses zeroed. Host code, plain C++: tests/
// test_tc_phases.cpp checks it against the definition by brute force.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "kernels/kernels.h"

namespace tinct::cuda::tc {

constexpr int kMaxTaps = 64;  // larger filters: one phase of all taps (PhaseGeom::all)

// The taps (r, s) of one phase, in the order of its reduction.
struct Taps {
  int n = 0;
  uint8_t r[kMaxTaps] = {}, s[kMaxTaps] = {};
};

// One phase: the pixels h = hh*step_h + a, w = ww*step_w + b (hh < Hp,
// ww < Wp) of every image and the taps that reach them. all: every tap,
// t = r*S + s, for filters of more than kMaxTaps taps (then step 1: one
// phase of all pixels, the misses zeroed by the gather).
struct PhaseGeom {
  int a = 0, b = 0, step_h = 1, step_w = 1, Hp = 0, Wp = 0;
  bool all = true;
  Taps taps;
  // The taps in the phase's reduction (its length is tap_count * channels).
  int tap_count(const Conv2dParams& p) const { return all ? p.R * p.S : taps.n; }
};

// The phases of backward-data for p, covering every pixel of dx once. A
// phase may have no taps (stride 2 with dilation 2: the odd phases): its
// pixels of dx are zero, and it is still returned so that they get written.
inline std::vector<PhaseGeom> bwd_data_phases(const Conv2dParams& p) {
  std::vector<PhaseGeom> v;
  const bool one = p.R * p.S > kMaxTaps;
  const int sh = one ? 1 : p.stride_h, sw = one ? 1 : p.stride_w;
  auto mod = [](int x, int m) { return ((x % m) + m) % m; };
  for (int a = 0; a < std::min(sh, p.H); ++a)
    for (int b = 0; b < std::min(sw, p.W); ++b) {
      PhaseGeom f;
      f.a = a, f.b = b, f.step_h = sh, f.step_w = sw, f.all = one;
      f.Hp = (p.H - a + sh - 1) / sh, f.Wp = (p.W - b + sw - 1) / sw;
      if (!one)
        for (int r = 0; r < p.R; ++r)
          for (int s = 0; s < p.S; ++s)
            if (mod(a + p.pad_h - r * p.dil_h, p.stride_h) == 0 && mod(b + p.pad_w - s * p.dil_w, p.stride_w) == 0)
              f.taps.r[f.taps.n] = uint8_t(r), f.taps.s[f.taps.n++] = uint8_t(s);
      v.push_back(f);
    }
  return v;
}

}  // namespace tinct::cuda::tc
