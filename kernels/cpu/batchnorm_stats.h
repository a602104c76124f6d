// batchnorm_stats.h — what the CPU batch norms (reference and fast) do with a
// channel's batch statistics once they have them: the running averages and
// the saved values for backward (kernels.h, batch norm).
#pragma once

namespace tinct::cpu::detail {

// mean, biased var over M values; any output pointer may be null.
inline void store_channel_stats(int c, double M, double mean, double var, double invstd, float momentum,
                                float* running_mean, float* running_var, float* save_mean, float* save_invstd) {
  if (running_mean) running_mean[c] = float((1.0 - momentum) * running_mean[c] + momentum * mean);
  if (running_var) {
    const double unbiased = M > 1 ? var * M / (M - 1) : var;  // M == 1: the biased 0 (see batchnorm_ref.cpp)
    running_var[c] = float((1.0 - momentum) * running_var[c] + momentum * unbiased);
  }
  if (save_mean) save_mean[c] = float(mean);
  if (save_invstd) save_invstd[c] = float(invstd);
}

}  // namespace tinct::cpu::detail
