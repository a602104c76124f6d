// test_color_ref.cpp — the colour family's reference (kernels/color/ref.cpp,
// the one sRGB <-> LAB implementation) against the fast CPU paths built on
// it: models/color/lab.cpp's image functions (a byte table, threads) must
// give the same floats and bytes bit for bit, the loader's data::FastLab
// (single precision) must stay within 3e-5 of it (its documented bound,
// models/data/loader.h), and color::soft_encode_dense (the gamut's nearest-5
// lookup) must equal soft_encode_dense_ref (brute force over the centres).
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "doctest/doctest.h"
#include "kernels/color/ref.h"
#include "models/color/gamut.h"
#include "models/color/lab.h"
#include "models/color/soft_encode.h"
#include "models/data/loader.h"

using namespace tinct;

namespace {

std::vector<std::uint8_t> random_bytes(size_t n, uint64_t s) {
  std::vector<std::uint8_t> v(n);
  for (auto& b : v) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    b = std::uint8_t(s >> 56);
  }
  return v;
}

// Worst |a - b| and where; prints it.
double worst(const char* what, const float* a, const float* b, size_t n) {
  double w = 0.0;
  size_t where = 0;
  for (size_t i = 0; i < n; ++i) {
    const double d = std::fabs(double(a[i]) - b[i]);
    if (d > w || std::isnan(d)) w = d, where = i;
  }
  std::printf("%-40s n=%zu worst %.3g at %zu\n", what, n, w, where);
  return w;
}

}  // namespace

TEST_CASE("srgb_to_lab_image (bytes) and FastLab vs srgb8_to_lab_ref") {
  const size_t n = 4099;  // past the threading threshold, not a multiple of any vector width
  std::vector<std::uint8_t> rgb = random_bytes(3 * n, 1);
  rgb[0] = rgb[1] = rgb[2] = 0;        // black
  rgb[3] = rgb[4] = rgb[5] = 255;      // white
  std::vector<float> L(n), ab(2 * n), Lr(n), abr(2 * n);
  cpu::srgb8_to_lab_ref(n, rgb.data(), Lr.data(), abr.data());
  color::srgb_to_lab_image(rgb.data(), n, L.data(), ab.data());
  CHECK(worst("srgb_to_lab_image L vs ref", L.data(), Lr.data(), n) == 0.0);
  CHECK(worst("srgb_to_lab_image ab vs ref", ab.data(), abr.data(), 2 * n) == 0.0);

  std::vector<float> Lf(n), af(n), bf(n);
  data::FastLab().convert(rgb.data(), n, Lf.data(), ab.data());
  for (size_t i = 0; i < n; ++i) af[i] = ab[i], bf[i] = ab[n + i];
  CHECK(worst("FastLab L vs ref", Lf.data(), Lr.data(), n) <= 3e-5);
  CHECK(worst("FastLab a vs ref", af.data(), abr.data(), n) <= 2e-4);
  CHECK(worst("FastLab b vs ref", bf.data(), abr.data() + n, n) <= 2e-4);
}

TEST_CASE("lab_to_srgb_image_ref (bytes) == lab_to_srgb8_ref") {
  const size_t n = 5003;
  std::vector<float> L(n), ab(2 * n);
  uint64_t s = 7;
  auto u = [&] {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    return double(s >> 11) * (1.0 / 9007199254740992.0);
  };
  for (size_t i = 0; i < n; ++i) L[i] = float(100 * u()), ab[i] = float(240 * u() - 120), ab[n + i] = float(240 * u() - 120);
  std::vector<std::uint8_t> a(3 * n), b(3 * n);
  color::lab_to_srgb_image_ref(L.data(), ab.data(), n, a.data());
  cpu::lab_to_srgb8_ref(n, L.data(), ab.data(), b.data());
  size_t differ = 0;
  for (size_t i = 0; i < 3 * n; ++i) differ += a[i] != b[i];
  std::printf("lab_to_srgb_image_ref vs lab_to_srgb8_ref: %zu of %zu bytes differ\n", differ, 3 * n);
  CHECK(differ == 0);
}

TEST_CASE("color::soft_encode_dense == soft_encode_dense_ref") {
  const color::AbGamut& gamut = color::AbGamut::standard();
  std::vector<float> centres;
  for (const color::AbBin& c : gamut.centres()) centres.push_back(c.a), centres.push_back(c.b);
  const size_t n = 997;
  std::vector<float> ab(2 * n);
  uint64_t s = 11;
  for (auto& v : ab) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    v = float(double(s >> 11) * (1.0 / 9007199254740992.0) * 260 - 130);
  }
  ab[0] = ab[n] = 0.0f;  // a gray: ties between equidistant bins
  const int Q = gamut.size();
  std::vector<float> a(size_t(Q) * n), b(a.size());
  color::soft_encode_dense(gamut, ab.data(), n, a.data());
  cpu::soft_encode_dense_ref(n, ab.data(), centres.data(), Q, b.data(), color::kSoftEncodeSigma);
  CHECK(worst("soft_encode_dense vs ref", a.data(), b.data(), a.size()) <= 1e-6);
}
