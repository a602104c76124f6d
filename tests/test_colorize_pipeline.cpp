// The colour pipeline of colorize, threaded (issue 13): the image conversions
// against the per-pixel scalar chain (their specification), at odd sizes and
// at 1 and 2 threads, bit for bit.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <utility>
#include <vector>

#include "doctest/doctest.h"
#include "models/color/lab.h"

using namespace tinct::color;

namespace {

const std::pair<int, int> kSizes[] = {{1, 1}, {7, 3}, {333, 97}, {129, 65}, {64, 64}};

// Random LAB planes, a third of them well out of the sRGB gamut.
void random_lab(std::size_t n, std::mt19937& rng, std::vector<float>& L, std::vector<float>& ab) {
  std::uniform_real_distribution<float> l(0.f, 100.f), c(-128.f, 128.f);
  L.resize(n);
  ab.resize(2 * n);
  for (std::size_t i = 0; i < n; ++i) L[i] = l(rng), ab[i] = c(rng), ab[n + i] = c(rng);
}

struct ThreadsGuard {
  int saved = omp_get_max_threads();
  ~ThreadsGuard() { omp_set_num_threads(saved); }
};

}  // namespace

TEST_CASE("lab_to_srgb_image threaded equals the per-pixel chain, bytes and floats") {
  ThreadsGuard guard;
  std::mt19937 rng(13);
  for (const auto& [w, h] : kSizes) {
    const std::size_t n = std::size_t(w) * h;
    std::vector<float> L, ab;
    random_lab(n, rng, L, ab);
    // The specification, one pixel at a time.
    std::vector<std::uint8_t> want(3 * n), want_oog(n);
    std::size_t want_outside = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const Rgb c = lab_to_srgb({L[i], ab[i], ab[n + i]});
      want_oog[i] = !in_unit_cube(c, kImageGamutTolerance);
      want_outside += want_oog[i];
      const double ch[3] = {c.r, c.g, c.b};
      for (int k = 0; k < 3; ++k)
        want[3 * i + k] = std::uint8_t(std::lround(std::clamp(ch[k], 0.0, 1.0) * 255.0));
    }
    for (int threads : {1, 2}) {
      omp_set_num_threads(threads);
      std::vector<std::uint8_t> got(3 * n), oog(n);
      const std::size_t outside = lab_to_srgb_image(L.data(), ab.data(), n, got.data(), oog.data());
      std::size_t diffs = 0, first = n;
      for (std::size_t i = 0; i < 3 * n; ++i)
        if (got[i] != want[i]) diffs += 1, first = std::min(first, i / 3);
      std::printf("lab_to_srgb_image %dx%d threads %d: %zu differing bytes (first pixel %zu), %zu out of gamut\n",
                  w, h, threads, diffs, first, outside);
      CHECK(diffs == 0);
      CHECK(outside == want_outside);
      CHECK(oog == want_oog);
      std::vector<float> gotf(3 * n);
      CHECK(lab_to_srgb_image(L.data(), ab.data(), n, gotf.data()) == want_outside);
      double worst = 0;
      for (std::size_t i = 0; i < 3 * n; ++i)
        worst = std::max(worst, std::abs(gotf[i] * 255.0 - double(want[i])));
      CHECK(worst <= 0.5 + 1e-3);  // the float result rounds to the same byte
    }
  }
}

TEST_CASE("srgb_to_lab_image (bytes) threaded equals the per-pixel chain") {
  ThreadsGuard guard;
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> byte(0, 255);
  for (const auto& [w, h] : kSizes) {
    const std::size_t n = std::size_t(w) * h;
    std::vector<std::uint8_t> rgb(3 * n);
    for (auto& v : rgb) v = std::uint8_t(byte(rng));
    std::vector<float> wantL(n), wantab(2 * n);
    for (std::size_t i = 0; i < n; ++i) {
      const Lab c = srgb_to_lab({rgb[3 * i] / 255.0, rgb[3 * i + 1] / 255.0, rgb[3 * i + 2] / 255.0});
      wantL[i] = float(c.L), wantab[i] = float(c.a), wantab[n + i] = float(c.b);
    }
    for (int threads : {1, 2}) {
      omp_set_num_threads(threads);
      std::vector<float> L(n), ab(2 * n);
      srgb_to_lab_image(rgb.data(), n, L.data(), ab.data());
      double worst = 0;
      std::size_t where = 0;
      for (std::size_t i = 0; i < n; ++i) {
        const double d = std::max({std::abs(L[i] - wantL[i]), std::abs(ab[i] - wantab[i]),
                                   std::abs(ab[n + i] - wantab[n + i])});
        if (d > worst) worst = d, where = i;
      }
      std::printf("srgb_to_lab_image %dx%d threads %d: worst %.3g at pixel %zu\n", w, h, threads, worst, where);
      // The table holds srgb_to_linear(v/255) exactly as the chain computes it.
      CHECK(worst <= 1e-4);
    }
  }
}
