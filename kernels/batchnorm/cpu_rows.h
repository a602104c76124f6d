// batchnorm/cpu_rows.h — internal to the kernels library: the loops over one
// channel's data that the fast CPU batch norm (batchnorm/cpu.cpp) runs per
// channel, as a table of functions so that a kernel set can replace them.
// The portable loops sit in batchnorm/cpu.cpp; batchnorm/cpu_avx512.cpp has
// the AVX-512 ones, which compute the same bits (the same double lanes, the
// same float expressions, no fused multiply-adds).
#pragma once

#include <cstddef>

namespace tinct::cpu::detail {

// One channel of an NCHW tensor: N rows of HW floats, `stride` (= C HW) apart,
// starting at the channel's first row.
struct BnRows {
  int N, HW;
  size_t stride;
};

// What the fused activation is: none (the plain batch norm), ReLU, leaky ReLU.
enum class BnAct { None, Relu, Leaky };

struct BnRowOps {
  // sum of x, in common/lane_sum.h's lanes and order
  double (*sum)(const BnRows& r, const float* x);
  // sum of (double(x) - mean)^2, the same way
  double (*sum_sq_dev)(const BnRows& r, const float* x, double mean);
  // y = act(a * ((x - hi) - lo) + b)
  void (*normalise)(BnAct act, float slope, const BnRows& r, const float* x, float a, float hi, float lo, float b,
                    float* y);
  // *sum_g = sum of g, *sum_gx = sum of g * (double(x) - mean), g = act's
  // gradient of dy read off y (None: g = dy; y is not read): each as the
  // lane sum of its own (one pass over the data for both)
  void (*bwd_sums)(BnAct act, float slope, const BnRows& r, const float* x, const float* y, const float* dy,
                   double mean, double* sum_g, double* sum_gx);
  // dx = (a1 * g + a2 * ((x - hi) - lo)) + a0
  void (*bwd_dx)(BnAct act, float slope, const BnRows& r, const float* x, const float* y, const float* dy, float a1,
                 float a2, float hi, float lo, float a0, float* dx);
  // y = a * (x - m) + b
  void (*eval)(const BnRows& r, const float* x, float a, float m, float b, float* y);
};

const BnRowOps* bn_row_ops_avx512();  // nullptr where built without AVX-512

}  // namespace tinct::cpu::detail
