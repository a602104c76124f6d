// Soft-encoding of ground-truth ab into a distribution over the Q bins: the
// target of the classification colorizer's cross-entropy.
//
// A one-hot target (the nearest bin only) would throw away where the colour
// lies inside its cell and treat a neighbouring bin, 7 units away, as wrong as
// a bin across the plane. Zhang et al. instead spread each pixel over its 5
// nearest bins, with weights from a Gaussian of the distance to each centre:
//
//   w_k = exp(-d_k^2 / (2 sigma^2)) / sum_j exp(-d_j^2 / (2 sigma^2)),   sigma = 5,
//
// k, j over the 5 nearest bins. A pixel exactly on a centre with its four
// neighbours at distance 10 puts 1 / (1 + 4 e^-2) = 0.649 of its mass there
// (more at the edge of the gamut, where some of the 5 are farther), so the
// target stays peaked at the right bin.
//
// Layouts: ab is planar [2, n] (the a plane then the b plane), n = H*W.
//   dense : [Q, n] floats, row q = the weight of bin q at every pixel (zero
//           outside each pixel's 5 bins): what the loss consumes.
//   sparse: for each pixel, 5 bin indices and 5 weights, [n, 5] each,
//           ordered by increasing distance: 5/Q of the memory.
#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/tensor.h"
#include "models/color/gamut.h"

namespace tinct::color {

inline constexpr float kSoftEncodeSigma = 5.0f;

// The 5 bins and normalised weights for one ab value. The bins come in
// increasing distance (ties: lower index first).
void soft_encode_pixel(const AbGamut& gamut, float a, float b, std::int32_t idx[kNeighbours],
                       float w[kNeighbours], float sigma = kSoftEncodeSigma);

// Sparse form: idx and w hold n * 5 values each (pixel-major).
void soft_encode_sparse(const AbGamut& gamut, const float* ab, std::size_t n, std::int32_t* idx,
                        float* w, float sigma = kSoftEncodeSigma);

// Dense form: out holds Q * n floats, written in full (zeros included).
void soft_encode_dense(const AbGamut& gamut, const float* ab, std::size_t n, float* out,
                       float sigma = kSoftEncodeSigma);

// Sparse -> dense: scatters the 5 weights of each pixel into a zeroed [Q, n].
void sparse_to_dense(const std::int32_t* idx, const float* w, std::size_t n, int Q, float* out);

// The dense form on the GPU (kernels/color/cuda_1_pixel.cu, checked against
// soft_encode_dense by tests/gpu/test_gpu_color.cpp): ab [N, 2, h, w] ->
// [N, Q, h, w], both CUDA tensors; centres: the gamut's (a, b) pairs as a CUDA
// tensor [Q, 2] (gamut_centres_tensor). So a training batch crosses the bus
// as 2 planes instead of Q. Throws std::runtime_error in a build without CUDA.
Tensor soft_encode_device(const Tensor& ab, const Tensor& centres, float sigma = kSoftEncodeSigma);
Tensor gamut_centres_tensor(const AbGamut& gamut, Device device);

}  // namespace tinct::color
