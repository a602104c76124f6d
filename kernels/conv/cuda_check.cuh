// cuda_check.cuh — the argument check every CUDA convolution variant makes
// (kernels/conv/cuda_*.cu, dispatch.cu): a finalized Conv2dParams with sizes
// >= 1, and offsets that fit the kernels' 32-bit in-image index math.
#pragma once

#include <climits>
#include <stdexcept>

#include "kernels/kernels.h"

namespace tinct::cuda::detail {

inline void check_conv(const Conv2dParams& p) {
  Conv2dParams q = p;
  const bool ok = q.finalize();
  if (p.N < 1 || p.C < 1 || p.H < 1 || p.W < 1 || p.K < 1 || p.R < 1 || p.S < 1 ||
      p.stride_h < 1 || p.stride_w < 1 || p.dil_h < 1 || p.dil_w < 1 || p.pad_h < 0 ||
      p.pad_w < 0 || !ok || q.P != p.P || q.Q != p.Q)
    throw std::invalid_argument("conv2d: invalid Conv2dParams (call finalize(); sizes >= 1)");
  const long long lim = INT_MAX;
  if (1LL * p.C * p.H * p.W > lim || 1LL * p.K * p.P * p.Q > lim || 1LL * p.N * p.P * p.Q > lim ||
      1LL * p.N * p.H * p.W > lim || 1LL * p.K * p.C * p.R * p.S > lim)
    throw std::invalid_argument("conv2d: tensor too large for 32-bit in-image offsets");
}

}  // namespace tinct::cuda::detail
