// Hasler and Suesstrunk colorfulness. See colorfulness.h.
#include "models/color/colorfulness.h"

#include <cmath>

namespace tinct::color {

namespace {

template <typename T>
double colorfulness_of(const T* rgb, std::size_t n) {
  if (n == 0) return 0.0;
  // Two passes: the means first, then the squared deviations from them. The
  // one-pass formula E[x^2] - E[x]^2 cancels catastrophically for large,
  // nearly constant images (it can even go slightly negative).
  double sum_rg = 0.0, sum_yb = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    const double R = rgb[3 * i], G = rgb[3 * i + 1], B = rgb[3 * i + 2];
    sum_rg += R - G;
    sum_yb += 0.5 * (R + G) - B;
  }
  const double mean_rg = sum_rg / static_cast<double>(n);
  const double mean_yb = sum_yb / static_cast<double>(n);
  double ss_rg = 0.0, ss_yb = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    const double R = rgb[3 * i], G = rgb[3 * i + 1], B = rgb[3 * i + 2];
    const double drg = (R - G) - mean_rg;
    const double dyb = (0.5 * (R + G) - B) - mean_yb;
    ss_rg += drg * drg;
    ss_yb += dyb * dyb;
  }
  // sd_rg^2 + sd_yb^2 = (ss_rg + ss_yb) / n: the square root is taken once.
  const double sd = std::sqrt((ss_rg + ss_yb) / static_cast<double>(n));
  const double mean = std::sqrt(mean_rg * mean_rg + mean_yb * mean_yb);
  return sd + 0.3 * mean;
}

}  // namespace

double colorfulness(const std::uint8_t* rgb, std::size_t n) { return colorfulness_of(rgb, n); }
double colorfulness(const float* rgb, std::size_t n) { return colorfulness_of(rgb, n); }

}  // namespace tinct::color
