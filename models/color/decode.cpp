// Decoding [Q, n] distributions to ab. See decode.h.
#include "models/color/decode.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace tinct::color {

namespace {

// ab[i], ab[n + i] = sum_q weight_q * centre_q / sum_q weight_q, where the
// (unnormalised) weights of pixel i are the column weight(q) for q in 0..Q-1.
template <typename Weight>
void expectation(const AbGamut& gamut, std::size_t i, std::size_t n, float* ab, Weight weight) {
  double sum = 0.0, a = 0.0, b = 0.0;
  for (int q = 0; q < gamut.size(); ++q) {
    const double w = weight(q);
    sum += w;
    a += w * gamut.centre(q).a;
    b += w * gamut.centre(q).b;
  }
  if (!(sum > 0.0)) {  // a column with no mass at all: decode as gray
    ab[i] = ab[n + i] = 0.0f;
    return;
  }
  ab[i] = static_cast<float>(a / sum);
  ab[n + i] = static_cast<float>(b / sum);
}

inline float at(const float* x, int q, std::size_t i, std::size_t n) {
  return x[static_cast<std::size_t>(q) * n + i];
}

}  // namespace

void softmax(const float* logits, int Q, std::size_t n, float* probs, float T) {
  for (std::size_t i = 0; i < n; ++i) {
    // Subtract the largest logit before exp(): exp of large logits overflows,
    // and the shift cancels in the ratio.
    float top = -std::numeric_limits<float>::infinity();
    for (int q = 0; q < Q; ++q) top = std::max(top, at(logits, q, i, n));
    double sum = 0.0;
    for (int q = 0; q < Q; ++q) {
      const float e = std::exp((at(logits, q, i, n) - top) / T);
      probs[static_cast<std::size_t>(q) * n + i] = e;
      sum += e;
    }
    const float inv = static_cast<float>(1.0 / sum);
    for (int q = 0; q < Q; ++q) probs[static_cast<std::size_t>(q) * n + i] *= inv;
  }
}

void decode_annealed_mean(const AbGamut& gamut, const float* z, std::size_t n, float* ab,
                          float T) {
  const int Q = gamut.size();
  const double inv_T = 1.0 / T;
  for (std::size_t i = 0; i < n; ++i) {
    // exp(log z_q / T) = z_q^(1/T). Divided by the largest z first,
    // (z_q / z_max)^(1/T) lies in [0, 1]: the largest term is 1 and nothing
    // underflows to an all-zero column; the common factor cancels in the
    // normalisation. z_q = 0 gives weight 0 (log 0 = -inf).
    float z_max = 0.0f;
    for (int q = 0; q < Q; ++q) z_max = std::max(z_max, at(z, q, i, n));
    expectation(gamut, i, n, ab, [&](int q) {
      const float zq = at(z, q, i, n);
      return zq > 0.0f ? std::pow(zq / static_cast<double>(z_max), inv_T) : 0.0;
    });
  }
}

void decode_mean(const AbGamut& gamut, const float* z, std::size_t n, float* ab) {
  for (std::size_t i = 0; i < n; ++i)
    expectation(gamut, i, n, ab, [&](int q) { return static_cast<double>(at(z, q, i, n)); });
}

void decode_mode(const AbGamut& gamut, const float* z, std::size_t n, float* ab) {
  for (std::size_t i = 0; i < n; ++i) {
    int best = 0;
    for (int q = 1; q < gamut.size(); ++q)
      if (at(z, q, i, n) > at(z, best, i, n)) best = q;
    ab[i] = gamut.centre(best).a;
    ab[n + i] = gamut.centre(best).b;
  }
}

void decode_logits(const AbGamut& gamut, const float* logits, std::size_t n, float* ab,
                   float T, const float* offset) {
  const int Q = gamut.size();
  auto s = [&](int q, std::size_t i) { return at(logits, q, i, n) + (offset ? offset[q] : 0.0f); };
  for (std::size_t i = 0; i < n; ++i) {
    // softmax(s / T) up to its normaliser, which expectation() divides out;
    // shifted by the largest logit so that exp() cannot overflow.
    float top = -std::numeric_limits<float>::infinity();
    for (int q = 0; q < Q; ++q) top = std::max(top, s(q, i));
    const double inv_T = 1.0 / T;
    expectation(gamut, i, n, ab, [&](int q) { return std::exp((s(q, i) - top) * inv_T); });
  }
}

std::vector<float> prior_correction_offsets(const std::vector<float>& weights, float beta) {
  std::vector<float> offset(weights.size());
  for (std::size_t q = 0; q < weights.size(); ++q) {
    if (!(weights[q] > 0.0f) || !std::isfinite(weights[q]))
      throw std::invalid_argument("prior correction: rebalancing weight " + std::to_string(weights[q]) +
                                  " of bin " + std::to_string(q) + " is not a positive number");
    offset[q] = -beta * std::log(weights[q]);
  }
  return offset;
}

}  // namespace tinct::color
