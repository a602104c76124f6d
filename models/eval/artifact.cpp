// artifact.cpp — the lattice proxy (see artifact.h for what and why).
#include "models/eval/artifact.h"

#include <algorithm>
#include <cmath>
#include <complex>
#include <stdexcept>

namespace tinct::eval {

namespace {

using cd = std::complex<double>;
constexpr double kPi = 3.14159265358979323846;

// Hann window of n samples (symmetric, zero at both ends).
std::vector<double> hann(int n) {
  std::vector<double> w(static_cast<std::size_t>(n), 1.0);
  if (n < 2) return w;
  for (int i = 0; i < n; ++i) w[static_cast<std::size_t>(i)] = 0.5 - 0.5 * std::cos(2.0 * kPi * i / (n - 1));
  return w;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  const std::size_t m = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(m), v.end());
  return v[m];
}

}  // namespace

LatticeScore lattice_score_region(const float* ab, std::size_t n, int width, int x0, int y0, int w, int h,
                                  double gw, double gh, const std::vector<int>& periods) {
  if (!ab || w < 8 || h < 8 || width < x0 + w || x0 < 0 || y0 < 0 || !(gw > 0) || !(gh > 0))
    throw std::invalid_argument("lattice_score_region: bad region or grid");
  LatticeScore best;
  best.tile_x = x0;
  best.tile_y = y0;
  best.tile_w = w;
  best.tile_h = h;

  // The peak positions (fx, fy) in cycles per region, for each period.
  struct Peak { double fx, fy; int period; };
  std::vector<Peak> peaks;
  for (int p : periods) {
    const double fx = gw / p, fy = gh / p;
    const bool okx = fx >= kLatticeMinCycles && fx + kLatticeRing <= w / 2.0,
               oky = fy >= kLatticeMinCycles && fy + kLatticeRing <= h / 2.0;
    if (okx) peaks.push_back({fx, 0.0, p});
    if (oky) peaks.push_back({0.0, fy, p});
    if (okx && oky) {
      peaks.push_back({fx, fy, p});
      peaks.push_back({fx, -fy, p});
    }
  }
  if (peaks.empty()) return best;

  // The frequencies needed along each axis: every peak's +-kLatticeRing bins.
  std::vector<double> ux, uy;
  auto add_range = [](std::vector<double>& u, double f) {
    for (int d = -kLatticeRing; d <= kLatticeRing; ++d) u.push_back(f + d);
  };
  for (const Peak& pk : peaks) {
    add_range(ux, pk.fx);
    add_range(uy, pk.fy);
  }
  std::sort(ux.begin(), ux.end());
  ux.erase(std::unique(ux.begin(), ux.end(), [](double a, double b) { return std::fabs(a - b) < 1e-9; }), ux.end());
  std::sort(uy.begin(), uy.end());
  uy.erase(std::unique(uy.begin(), uy.end(), [](double a, double b) { return std::fabs(a - b) < 1e-9; }), uy.end());
  auto index_of = [](const std::vector<double>& u, double f) {
    const auto it = std::lower_bound(u.begin(), u.end(), f - 1e-9);
    return static_cast<std::size_t>(it - u.begin());
  };

  const std::vector<double> wx = hann(w), wy = hann(h);
  // Twiddles e^{-2 pi i f x / w} for every needed fx and x (and the same in y).
  std::vector<cd> tx(ux.size() * static_cast<std::size_t>(w)), ty(uy.size() * static_cast<std::size_t>(h));
  for (std::size_t k = 0; k < ux.size(); ++k)
    for (int x = 0; x < w; ++x) tx[k * w + x] = std::polar(1.0, -2.0 * kPi * ux[k] * x / w);
  for (std::size_t k = 0; k < uy.size(); ++k)
    for (int y = 0; y < h; ++y) ty[k * h + y] = std::polar(1.0, -2.0 * kPi * uy[k] * y / h);

  std::vector<double> power(ux.size() * uy.size(), 0.0);
  std::vector<double> row(static_cast<std::size_t>(w));
  std::vector<cd> g(static_cast<std::size_t>(h) * ux.size());
  for (int c = 0; c < 2; ++c) {
    const float* plane = ab + c * n;
    double mean = 0.0;
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) mean += plane[static_cast<std::size_t>(y0 + y) * width + x0 + x];
    mean /= double(w) * h;
    // Rows: G[y][kx] = sum_x window * (v - mean) * twiddle.
    for (int y = 0; y < h; ++y) {
      const float* src = plane + static_cast<std::size_t>(y0 + y) * width + x0;
      for (int x = 0; x < w; ++x) row[x] = (src[x] - mean) * wx[x] * wy[y];
      for (std::size_t k = 0; k < ux.size(); ++k) {
        const cd* t = &tx[k * w];
        double re = 0, im = 0;
        for (int x = 0; x < w; ++x) {
          re += row[x] * t[x].real();
          im += row[x] * t[x].imag();
        }
        g[static_cast<std::size_t>(y) * ux.size() + k] = cd(re, im);
      }
    }
    // Columns: F[ky][kx] = sum_y G[y][kx] * twiddle.
    for (std::size_t j = 0; j < uy.size(); ++j)
      for (std::size_t k = 0; k < ux.size(); ++k) {
        cd s = 0;
        for (int y = 0; y < h; ++y) s += g[static_cast<std::size_t>(y) * ux.size() + k] * ty[j * h + y];
        power[j * ux.size() + k] += std::norm(s);
      }
  }

  for (const Peak& pk : peaks) {
    const std::size_t cx = index_of(ux, pk.fx - kLatticeRing), cy = index_of(uy, pk.fy - kLatticeRing);
    double peak = 0.0;
    std::vector<double> ring;
    // A peak on an axis (fy = 0 or fx = 0) is compared along that axis only:
    // photos' horizontal and vertical edges put a ridge of energy on the
    // axes, which bins off the axis would not see.
    const bool on_x_axis = pk.fy == 0.0, on_y_axis = pk.fx == 0.0;
    for (int dy = -kLatticeRing; dy <= kLatticeRing; ++dy)
      for (int dx = -kLatticeRing; dx <= kLatticeRing; ++dx) {
        const double v = power[(cy + kLatticeRing + dy) * ux.size() + cx + kLatticeRing + dx];
        const int d = std::max(std::abs(dx), std::abs(dy));
        if (d <= 1) {
          peak = std::max(peak, v);
        } else if (d >= 3) {
          if (on_x_axis && (std::abs(dy) > 1 || std::abs(dx) < 3)) continue;
          if (on_y_axis && (std::abs(dx) > 1 || std::abs(dy) < 3)) continue;
          ring.push_back(v);
        }
      }
    // The floor keeps a flat (constant-colour) region from scoring 0/0.
    const double bg = std::max(median(ring), 1e-12 * double(w) * h);
    const double score = std::log10(std::max(peak, 1e-300) / bg);
    if (score > best.score) {
      best.score = score;
      best.period = pk.period;
    }
  }
  return best;
}

std::vector<float> resample_to_grid(const float* ab, int width, int height, int gw, int gh) {
  // Each grid pixel: the mean of the image pixels whose centres fall in its
  // footprint (the nearest one when the grid is finer than the image).
  const std::size_t n = static_cast<std::size_t>(width) * height, m = static_cast<std::size_t>(gw) * gh;
  std::vector<float> out(2 * m);
  auto span = [](int g, int G, int S) {
    int lo = int(std::ceil(double(g) * S / G - 0.5)), hi = int(std::ceil(double(g + 1) * S / G - 0.5));
    lo = std::clamp(lo, 0, S - 1);
    hi = std::clamp(hi, lo + 1, S);
    return std::pair<int, int>(lo, hi);
  };
  for (int gy = 0; gy < gh; ++gy) {
    const auto [y0, y1] = span(gy, gh, height);
    for (int gx = 0; gx < gw; ++gx) {
      const auto [x0, x1] = span(gx, gw, width);
      for (int c = 0; c < 2; ++c) {
        double sum = 0;
        for (int y = y0; y < y1; ++y)
          for (int x = x0; x < x1; ++x) sum += ab[c * n + static_cast<std::size_t>(y) * width + x];
        out[c * m + static_cast<std::size_t>(gy) * gw + gx] = float(sum / (double(y1 - y0) * (x1 - x0)));
      }
    }
  }
  return out;
}

LatticeScore lattice_score(const float* ab, int width, int height, int grid_w, int grid_h,
                           const std::vector<int>& periods) {
  if (width < 8 || height < 8 || grid_w < 8 || grid_h < 8)
    throw std::invalid_argument("lattice_score: image or grid too small");
  // On the model's grid: the output's ab is the model's, upsampled, so its
  // lattice is the grid's; and the truth is compared at the detail the model saw.
  const std::vector<float> g = resample_to_grid(ab, width, height, grid_w, grid_h);
  const std::size_t n = static_cast<std::size_t>(grid_w) * grid_h;
  LatticeScore best = lattice_score_region(g.data(), n, grid_w, 0, 0, grid_w, grid_h, grid_w, grid_h, periods);
  const int t = kLatticeTile;
  if (grid_w >= t && grid_h >= t) {
    auto starts = [t](int side) {
      std::vector<int> s;
      for (int v = 0; v + t <= side; v += t / 2) s.push_back(v);
      if (s.back() + t < side) s.push_back(side - t);
      return s;
    };
    for (int y0 : starts(grid_h))
      for (int x0 : starts(grid_w)) {
        const LatticeScore s = lattice_score_region(g.data(), n, grid_w, x0, y0, t, t, t, t, periods);
        if (s.score > best.score) best = s;
      }
  }
  // Where, in the image's pixels.
  const double sx = double(width) / grid_w, sy = double(height) / grid_h;
  best.tile_x = int(std::lround(best.tile_x * sx));
  best.tile_y = int(std::lround(best.tile_y * sy));
  best.tile_w = int(std::lround(best.tile_w * sx));
  best.tile_h = int(std::lround(best.tile_h * sy));
  return best;
}

}  // namespace tinct::eval
