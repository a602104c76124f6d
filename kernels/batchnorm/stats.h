// batchnorm/stats.h — what the CPU batch norms (reference and fast) share:
// what they do with a channel's batch statistics once they have them (the
// running averages and the saved values for backward, kernels.h), and the
// eval-mode backward of one channel (the reference's loop, threaded over
// channels by batchnorm/cpu.cpp).
#pragma once

#include <cmath>
#include <cstddef>

namespace tinct::cpu::detail {

// mean, biased var over M values; any output pointer may be null.
inline void store_channel_stats(int c, double M, double mean, double var, double invstd, float momentum,
                                float* running_mean, float* running_var, float* save_mean, float* save_invstd) {
  if (running_mean) running_mean[c] = float((1.0 - momentum) * running_mean[c] + momentum * mean);
  if (running_var) {
    const double unbiased = M > 1 ? var * M / (M - 1) : var;  // M == 1: the biased 0 (see batchnorm/ref.cpp)
    running_var[c] = float((1.0 - momentum) * running_var[c] + momentum * unbiased);
  }
  if (save_mean) save_mean[c] = float(mean);
  if (save_invstd) save_invstd[c] = float(invstd);
}

// Eval-mode backward of channel c: dx = dy * gamma * invstd (overwritten),
// dgamma[c] += sum dy * xhat, dbeta[c] += sum dy (either may be null).
inline void bwd_eval_channel(int N, int C, int HW, int c, const float* x, const float* dy, const float* gamma,
                             const float* running_mean, const float* running_var, float eps, float* dx,
                             float* dgamma, float* dbeta) {
  const double mean = running_mean[c];
  const double invstd = 1.0 / std::sqrt(double(running_var[c]) + eps);
  const double g = gamma ? gamma[c] : 1.0;
  double sum_dy = 0.0, sum_dy_xhat = 0.0;
  for (int n = 0; n < N; ++n) {
    const size_t off = (size_t(n) * C + c) * HW;
    const float *xp = x + off, *dyp = dy + off;
    float* dxp = dx + off;
    for (int i = 0; i < HW; ++i) {
      dxp[i] = float(dyp[i] * g * invstd);
      sum_dy += dyp[i];
      sum_dy_xhat += dyp[i] * (xp[i] - mean) * invstd;
    }
  }
  if (dgamma) dgamma[c] += float(sum_dy_xhat);
  if (dbeta) dbeta[c] += float(sum_dy);
}

}  // namespace tinct::cpu::detail
