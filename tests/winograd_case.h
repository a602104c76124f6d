// winograd_case.h — a 3x3 stride-1 convolution case of the Winograd tests
// (test_conv_winograd.cpp: the reference; test_conv_winograd_fast.cpp: the
// fast CPU paths), and its Conv2dParams.
#pragma once

#include "doctest/doctest.h"
#include "kernels/kernels.h"

namespace winograd_case {

struct Case {
  int N, C, H, W, K, pad_h, pad_w;
  bool bias;
  int dil_h = 1, dil_w = 1;
};

// The case's convolution, P and Q set.
inline tinct::Conv2dParams params_of(const Case& c) {
  tinct::Conv2dParams p;
  p.N = c.N, p.C = c.C, p.H = c.H, p.W = c.W, p.K = c.K, p.R = 3, p.S = 3;
  p.pad_h = c.pad_h, p.pad_w = c.pad_w, p.dil_h = c.dil_h, p.dil_w = c.dil_w;
  REQUIRE(p.finalize());
  return p;
}

}  // namespace winograd_case
