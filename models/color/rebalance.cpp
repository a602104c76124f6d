// Class rebalancing weights. See rebalance.h for the four steps.
#include "models/color/rebalance.h"

#include <cmath>
#include <stdexcept>

namespace tinct::color {

void BinHistogram::add_ab(const AbGamut& gamut, const float* ab, std::size_t n) {
  if (gamut.size() != size()) throw std::invalid_argument("BinHistogram: gamut size mismatch");
  for (std::size_t i = 0; i < n; ++i)
    ++counts_[static_cast<std::size_t>(gamut.nearest(ab[i], ab[n + i]))];
}

void BinHistogram::add_bins(const std::int32_t* bins, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    if (bins[i] < 0 || bins[i] >= size())
      throw std::out_of_range("BinHistogram: bin index out of range");
    ++counts_[static_cast<std::size_t>(bins[i])];
  }
}

void BinHistogram::merge(const BinHistogram& other) {
  if (other.size() != size()) throw std::invalid_argument("BinHistogram: size mismatch");
  for (std::size_t q = 0; q < counts_.size(); ++q) counts_[q] += other.counts_[q];
}

std::uint64_t BinHistogram::total() const {
  std::uint64_t t = 0;
  for (std::uint64_t c : counts_) t += c;
  return t;
}

std::vector<float> BinHistogram::distribution() const {
  const std::uint64_t t = total();
  std::vector<float> p(counts_.size(), 0.0f);
  if (t == 0) return p;
  for (std::size_t q = 0; q < counts_.size(); ++q)
    p[q] = static_cast<float>(static_cast<double>(counts_[q]) / static_cast<double>(t));
  return p;
}

std::vector<float> smooth_distribution(const AbGamut& gamut, const std::vector<float>& p,
                                       float sigma) {
  const int Q = gamut.size();
  if (static_cast<int>(p.size()) != Q)
    throw std::invalid_argument("smooth_distribution: p has the wrong size");
  // p~_q = sum_r p_r G(|c_q - c_r|): the density at each centre of the
  // mixture of Gaussians placed on the bins with masses p. Over all pairs
  // (Q^2 ~ 70,000 terms): no truncation of the kernel to think about.
  // Accumulated in double; the result is renormalised, so the Gaussian's
  // 1 / (2 pi sigma^2) factor is left out.
  const double inv_two_sigma2 = 1.0 / (2.0 * static_cast<double>(sigma) * sigma);
  std::vector<double> s(static_cast<std::size_t>(Q), 0.0);
  double total = 0.0;
  for (int q = 0; q < Q; ++q) {
    double acc = 0.0;
    for (int r = 0; r < Q; ++r) {
      const double da = gamut.centre(q).a - gamut.centre(r).a;
      const double db = gamut.centre(q).b - gamut.centre(r).b;
      acc += p[static_cast<std::size_t>(r)] * std::exp(-(da * da + db * db) * inv_two_sigma2);
    }
    s[static_cast<std::size_t>(q)] = acc;
    total += acc;
  }
  std::vector<float> out(static_cast<std::size_t>(Q), 0.0f);
  if (total <= 0.0) return out;
  for (int q = 0; q < Q; ++q)
    out[static_cast<std::size_t>(q)] = static_cast<float>(s[static_cast<std::size_t>(q)] / total);
  return out;
}

std::vector<float> rebalance_weights(const std::vector<float>& p, float lambda) {
  const std::size_t Q = p.size();
  if (Q == 0) return {};
  std::vector<double> w(Q);
  double expectation = 0.0;  // sum_q p_q w_q before scaling
  for (std::size_t q = 0; q < Q; ++q) {
    w[q] = 1.0 / ((1.0 - lambda) * p[q] + lambda / static_cast<double>(Q));
    expectation += p[q] * w[q];
  }
  // Scale so that sum_q p_q w_q = 1. (If p sums to 0 there is nothing to
  // weigh by; the unscaled weights are returned as they are.)
  const double scale = expectation > 0.0 ? 1.0 / expectation : 1.0;
  std::vector<float> out(Q);
  for (std::size_t q = 0; q < Q; ++q) out[q] = static_cast<float>(w[q] * scale);
  return out;
}

RebalancePrior RebalancePrior::from_histogram(const AbGamut& gamut,
                                              const BinHistogram& histogram, float sigma,
                                              float lambda) {
  RebalancePrior prior;
  prior.p = histogram.distribution();
  prior.p_smooth = smooth_distribution(gamut, prior.p, sigma);
  prior.weights = rebalance_weights(prior.p_smooth, lambda);
  return prior;
}

void pixel_weights(const AbGamut& gamut, const std::vector<float>& weights, const float* ab,
                   std::size_t n, float* out) {
  if (static_cast<int>(weights.size()) != gamut.size())
    throw std::invalid_argument("pixel_weights: weights do not match the gamut");
  for (std::size_t i = 0; i < n; ++i)
    out[i] = weights[static_cast<std::size_t>(gamut.nearest(ab[i], ab[n + i]))];
}

}  // namespace tinct::color
