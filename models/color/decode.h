// From a predicted distribution over the Q bins to one ab value per pixel.
//
// Three point estimates (Zhang et al. 2016, section 2.3):
//   mode          the centre of the most probable bin: vivid, but flips
//                 between bins across a region and leaves spatial artefacts;
//   mean          the expectation of the bin centres: smooth, but averaging
//                 a bimodal "red or blue" gives a desaturated brown-gray;
//   annealed mean the expectation under the distribution sharpened by a
//                 temperature T < 1,
//                     f_T(z)_q = exp(log z_q / T) / sum_r exp(log z_r / T),
//                 T = 0.38: between the two, vivid and spatially consistent.
// T = 1 gives back the mean, T -> 0 the mode.
//
// From logits s (what the network outputs): z = softmax(s), and
// f_T(softmax(s)) = softmax(s / T) exactly (the softmax's normaliser cancels
// in f_T), so decode_logits applies one softmax at temperature T.
//
// Layouts: distributions and logits are planar [Q, n] (row q = bin q at every
// pixel, n = H*W), as the network produces them for one image; ab out is
// planar [2, n].
#pragma once

#include <cstddef>
#include <vector>

#include "models/color/gamut.h"

namespace tinct::color {

inline constexpr float kAnnealTemperature = 0.38f;

// Softmax over the Q axis of [Q, n] logits, at temperature T
// (probs_q = exp(s_q / T) / sum_r exp(s_r / T)). probs may equal logits.
void softmax(const float* logits, int Q, std::size_t n, float* probs, float T = 1.0f);

// Annealed mean of a distribution z ([Q, n], each column summing to 1;
// zeros allowed).
void decode_annealed_mean(const AbGamut& gamut, const float* z, std::size_t n, float* ab,
                          float T = kAnnealTemperature);

// The mean: decode_annealed_mean with T = 1.
void decode_mean(const AbGamut& gamut, const float* z, std::size_t n, float* ab);

// The centre of the most probable bin (ties: the lower bin index).
void decode_mode(const AbGamut& gamut, const float* z, std::size_t n, float* ab);

// Annealed mean straight from logits: the expectation of the centres under
// softmax((s + offset) / T). offset [Q] (may be null: zeros) is added to
// every pixel's logits before the temperature: offset_q = log m_q multiplies
// the distribution by m before it is sharpened (prior_correction_offsets).
void decode_logits(const AbGamut& gamut, const float* logits, std::size_t n, float* ab,
                   float T = kAnnealTemperature, const float* offset = nullptr);
// decode_logits is vectorised (16 pixels at a time, a polynomial exp) and
// threaded over pixels; decode_logits_ref is its specification, one pixel
// at a time through std::exp. They agree within 1e-4 in ab (in practice about
// 1e-5, a float rounding of ab; tests/test_colorize_pipeline.cpp).
void decode_logits_ref(const AbGamut& gamut, const float* logits, std::size_t n, float* ab,
                       float T = kAnnealTemperature, const float* offset = nullptr);

// Undoing the class rebalancing at decoding. A network trained with the
// rebalanced loss (pixels weighted by w(true bin)) learns, where it is
// unsure, z_q proportional to w_q p(q | x) rather than p(q | x): the rare
// colours' weights tilt every uncertain pixel towards their mean colour
// (docs/quality.md: a golden cast on tinct's training prior). Dividing z by
// w^beta before annealing removes that tilt: beta 0 is Zhang et al.'s
// decoding, beta 1 removes the rebalancing entirely. Returns the logit
// offsets -beta * log w_q for decode_logits; w must be positive.
std::vector<float> prior_correction_offsets(const std::vector<float>& weights, float beta);

}  // namespace tinct::color
