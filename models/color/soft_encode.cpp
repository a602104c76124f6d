// Soft-encoding of ab over the 5 nearest bins. See soft_encode.h.
#include "models/color/soft_encode.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#ifdef TINCT_HAS_CUDA
#include "kernels/cuda.h"
#endif

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

Tensor gamut_centres_tensor(const AbGamut& gamut, Device device) {
  std::vector<float> v;
  for (const AbBin& c : gamut.centres()) v.push_back(c.a), v.push_back(c.b);
  return Tensor::from_vector({gamut.size(), 2}, v, device);
}

Tensor soft_encode_device(const Tensor& ab, const Tensor& centres, float sigma) {
  check_arg(ab.dim() == 4 && ab.size(1) == 2, "soft_encode_device", "ab must be [N,2,H,W], got " + shape_str(ab.shape()));
  check_arg(centres.dim() == 2 && centres.size(1) == 2 && centres.size(0) >= kNeighbours, "soft_encode_device",
            "centres must be [Q,2] with Q >= 5, got " + shape_str(centres.shape()));
  check_arg(ab.device() == Device::CUDA && centres.device() == Device::CUDA, "soft_encode_device",
            "ab and centres must be CUDA tensors");
#ifdef TINCT_HAS_CUDA
  const int64_t N = ab.size(0), Q = centres.size(0);
  const size_t hw = size_t(ab.size(2) * ab.size(3));
  Tensor out = Tensor::empty({N, Q, ab.size(2), ab.size(3)}, Device::CUDA);
  for (int64_t i = 0; i < N; ++i)
    cuda::soft_encode_dense(hw, ab.data() + size_t(i) * 2 * hw, centres.data(), int(Q), out.data() + size_t(i) * Q * hw,
                            sigma);
  return out;
#else
  throw std::runtime_error("soft_encode_device: this build has no CUDA backend");
#endif
}

}  // namespace tinct::color
