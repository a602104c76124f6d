// Class rebalancing (Zhang et al. 2016, section 2.2).
//
// Natural images are dominated by low-saturation ab (sky, walls, skin, the
// gray axis): trained with a plain cross-entropy, a colorizer learns to
// predict desaturated colours everywhere. The loss therefore weights each
// pixel by how rare its colour is:
//
//   1. p      : the empirical distribution of the pixels' nearest bins over
//               the training set (a histogram, accumulated image by image);
//   2. p~     : p smoothed with a Gaussian of sigma = 5 in ab space
//               (p~_q = sum_r p_r exp(-|c_q - c_r|^2 / (2 sigma^2)), over all
//               bins r, then renormalised to sum to 1), so that bins the data
//               happen to miss do not get a huge weight;
//   3. w      : w_q proportional to 1 / ((1 - lambda) p~_q + lambda / Q),
//               lambda = 0.5: the inverse of p~ mixed half-and-half with the
//               uniform distribution, so that weights stay bounded: an empty
//               bin weighs ((1 - lambda) + lambda/Q) / (lambda/Q) = Q + 1
//               times a bin that holds every pixel, not infinitely more;
//   4. scale  : w normalised so that E_p~[w] = sum_q p~_q w_q = 1, so the
//               weighted loss keeps the scale of the unweighted one on
//               average.
//
// A pixel's weight is w at its nearest bin. Everything here is plain float
// vectors of length Q, to be stored as they are (e.g. in a safetensors file).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "models/color/gamut.h"

namespace tinct::color {

inline constexpr float kRebalanceSigma = 5.0f;
inline constexpr float kRebalanceLambda = 0.5f;

// Counts of nearest bins, accumulated over a data set. 64-bit counts: a data
// set of 10^5 images of 128 x 128 holds 1.6 * 10^9 pixels, beyond the 2^24 at
// which float counts stop incrementing.
class BinHistogram {
 public:
  explicit BinHistogram(int Q) : counts_(static_cast<std::size_t>(Q), 0) {}

  // Adds n pixels of planar ab ([2, n]): each counts for its nearest bin.
  void add_ab(const AbGamut& gamut, const float* ab, std::size_t n);
  // Adds n pixels whose nearest bins are already known.
  void add_bins(const std::int32_t* bins, std::size_t n);
  // Adds another histogram (e.g. one per loader thread).
  void merge(const BinHistogram& other);

  int size() const { return static_cast<int>(counts_.size()); }
  std::uint64_t total() const;
  const std::vector<std::uint64_t>& counts() const { return counts_; }

  // counts / total (all zeros if the histogram is empty).
  std::vector<float> distribution() const;

 private:
  std::vector<std::uint64_t> counts_;
};

// Step 2: Gaussian smoothing of p over the bins, by the ab distance between
// their centres, then renormalised to sum to 1.
std::vector<float> smooth_distribution(const AbGamut& gamut, const std::vector<float>& p,
                                       float sigma = kRebalanceSigma);

// Steps 3 and 4, given the (smoothed) distribution p over Q bins.
std::vector<float> rebalance_weights(const std::vector<float>& p,
                                     float lambda = kRebalanceLambda);

// Everything the loss needs, from a histogram.
struct RebalancePrior {
  std::vector<float> p;          // empirical distribution (step 1)
  std::vector<float> p_smooth;   // smoothed (step 2)
  std::vector<float> weights;    // per-bin weights (steps 3 and 4)

  static RebalancePrior from_histogram(const AbGamut& gamut, const BinHistogram& histogram,
                                       float sigma = kRebalanceSigma,
                                       float lambda = kRebalanceLambda);
};

// Per-pixel weights: out[i] = weights[nearest bin of (ab[i], ab[n + i])].
void pixel_weights(const AbGamut& gamut, const std::vector<float>& weights, const float* ab,
                   std::size_t n, float* out);

}  // namespace tinct::color
