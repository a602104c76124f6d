// deconv_phases/ref.cpp — the specification of the phase projection of a
// stride-2, padding-1, 4x4 transposed convolution's weights (kernels.h).
//
// Such a layer is four 2x2 convolutions, one per output phase (row, column
// parity): output row 2m uses kernel rows 1 and 3, row 2m + 1 rows 0 and 2
// (oy = 2 iy - 1 + ky), so kernel row ky belongs to phase (ky + 1) % 2, and
// the same for columns. Each phase's taps are shifted by a quarter of
// (mean of the four phase sums - that phase's sum): afterwards the four sums
// are equal, a flat input gives a flat output, and the change is the least-
// squares nearest one (an orthogonal projection: linear, idempotent,
// symmetric, so it applies to the weights and to their gradient alike).
// The sums are taken in double, in row-major tap order.
#include "kernels/kernels.h"

namespace tinct::cpu {

void deconv_phase_equalize_ref(size_t n_kernels, float* w) {
  for (size_t k = 0; k < n_kernels; ++k) {
    float* t = w + k * 16;
    double sum[2][2] = {{0, 0}, {0, 0}};
    for (int ky = 0; ky < 4; ++ky)
      for (int kx = 0; kx < 4; ++kx) sum[(ky + 1) % 2][(kx + 1) % 2] += t[ky * 4 + kx];
    const double mean = (sum[0][0] + sum[0][1] + sum[1][0] + sum[1][1]) / 4;
    for (int ky = 0; ky < 4; ++ky)
      for (int kx = 0; kx < 4; ++kx) t[ky * 4 + kx] += float((mean - sum[(ky + 1) % 2][(kx + 1) % 2]) / 4);
  }
}

}  // namespace tinct::cpu
