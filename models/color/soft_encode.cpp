// Soft-encoding of ab over the 5 nearest bins. See soft_encode.h.
#include "models/color/soft_encode.h"

#include <algorithm>
#include <cmath>

namespace tinct::color {

void soft_encode_pixel(const AbGamut& gamut, float a, float b, std::int32_t idx[kNeighbours],
                       float w[kNeighbours], float sigma) {
  float d2[kNeighbours];
  gamut.nearest5(a, b, idx, d2);
  // exp(-d^2 / 2 sigma^2) relative to the nearest bin: subtracting d2[0]
  // (the smallest) multiplies every weight by the same factor, which the
  // normalisation removes, and keeps the largest term at exp(0) = 1. Without
  // it a pixel far outside the bins (ab = (127, 127), say) would underflow
  // every weight to 0 and divide 0 by 0.
  const float inv_two_sigma2 = 1.0f / (2.0f * sigma * sigma);
  float sum = 0.0f;
  for (int k = 0; k < kNeighbours; ++k) {
    w[k] = std::exp(-(d2[k] - d2[0]) * inv_two_sigma2);
    sum += w[k];
  }
  for (int k = 0; k < kNeighbours; ++k) w[k] /= sum;
}

void soft_encode_sparse(const AbGamut& gamut, const float* ab, std::size_t n, std::int32_t* idx,
                        float* w, float sigma) {
  for (std::size_t i = 0; i < n; ++i)
    soft_encode_pixel(gamut, ab[i], ab[n + i], idx + kNeighbours * i, w + kNeighbours * i, sigma);
}

void sparse_to_dense(const std::int32_t* idx, const float* w, std::size_t n, int Q, float* out) {
  std::fill(out, out + static_cast<std::size_t>(Q) * n, 0.0f);
  for (std::size_t i = 0; i < n; ++i)
    for (int k = 0; k < kNeighbours; ++k)
      out[static_cast<std::size_t>(idx[kNeighbours * i + k]) * n + i] = w[kNeighbours * i + k];
}

void soft_encode_dense(const AbGamut& gamut, const float* ab, std::size_t n, float* out,
                       float sigma) {
  std::fill(out, out + static_cast<std::size_t>(gamut.size()) * n, 0.0f);
  std::int32_t idx[kNeighbours];
  float w[kNeighbours];
  for (std::size_t i = 0; i < n; ++i) {
    soft_encode_pixel(gamut, ab[i], ab[n + i], idx, w, sigma);
    for (int k = 0; k < kNeighbours; ++k) out[static_cast<std::size_t>(idx[k]) * n + i] = w[k];
  }
}

}  // namespace tinct::color
