// Colorization metrics (models/eval/metrics.h) and the report helpers
// (models/eval/plot.h), against values computed by hand on small images.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "doctest/doctest.h"
#include "models/color/colorfulness.h"
#include "models/color/gamut.h"
#include "models/color/lab.h"
#include "models/eval/metrics.h"
#include "models/eval/plot.h"

using namespace tinct::eval;
namespace color = tinct::color;

namespace {

// A w x h interleaved RGB image of random colours (deterministic).
std::vector<std::uint8_t> random_rgb(int w, int h, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> u(0, 255);
  std::vector<std::uint8_t> img(static_cast<std::size_t>(3 * w * h));
  for (auto& v : img) v = static_cast<std::uint8_t>(u(rng));
  return img;
}

// A smooth colourful image (gradients), more like a photo than noise.
std::vector<std::uint8_t> gradient_rgb(int w, int h) {
  std::vector<std::uint8_t> img(static_cast<std::size_t>(3 * w * h));
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const std::size_t p = 3 * static_cast<std::size_t>(y * w + x);
      img[p] = static_cast<std::uint8_t>(40 + 160 * x / (w - 1));
      img[p + 1] = static_cast<std::uint8_t>(200 - 150 * y / (h - 1));
      img[p + 2] = static_cast<std::uint8_t>(60 + 60 * ((x + y) % 7) / 6);
    }
  return img;
}

std::vector<std::uint8_t> constant_rgb(int w, int h, int r, int g, int b) {
  std::vector<std::uint8_t> img(static_cast<std::size_t>(3 * w * h));
  for (std::size_t i = 0; i < img.size(); i += 3) {
    img[i] = static_cast<std::uint8_t>(r);
    img[i + 1] = static_cast<std::uint8_t>(g);
    img[i + 2] = static_cast<std::uint8_t>(b);
  }
  return img;
}

// Planar ab ([2, n]) from a list of (a, b) pairs.
std::vector<float> planar_ab(const std::vector<std::pair<float, float>>& px) {
  const std::size_t n = px.size();
  std::vector<float> ab(2 * n);
  for (std::size_t i = 0; i < n; ++i) {
    ab[i] = px[i].first;
    ab[n + i] = px[i].second;
  }
  return ab;
}

// The AuC of one pixel whose error is exactly the integer d, by the trapezoid
// rule over [0, 150] / 150: the curve is 0 for t < d and 1 for t >= d, so the
// area is (150 - d) for the flat part plus 1/2 for the ramp over [d-1, d];
// d = 0: the curve is 1 everywhere, area 150.
double single_error_auc(int d) {
  if (d == 0) return 1.0;
  if (d > 150) return 0.0;
  return (150.5 - d) / 150.0;
}

}  // namespace

// ===========================================================================
// The ab-error curve and its AuC

TEST_CASE("ab curve: identical ab -> every fraction 1, AuC 1") {
  const auto ab = planar_ab({{10, -20}, {0, 0}, {-45.5f, 60.25f}, {90, 3}});
  AbErrorCurve c;
  c.add(ab.data(), ab.data(), 4);
  CHECK(c.pixels() == 4);
  for (double f : c.curve()) CHECK(f == 1.0);
  CHECK(c.auc() == doctest::Approx(1.0).epsilon(1e-15));
  CHECK(c.auc_rebalanced() == doctest::Approx(1.0).epsilon(1e-15));
  CHECK(c.mean_error() == 0.0);
}

TEST_CASE("ab curve: a constant shift of d steps from 0 to 1 at t = d") {
  // (18, 24), (-30, 40), (0, -7): shifts of length 30, 50 and 7, exact in float.
  struct Shift { float da, db; int d; };
  for (const Shift s : {Shift{18, 24, 30}, Shift{-30, 40, 50}, Shift{0, -7, 7}, Shift{1, 0, 1},
                        Shift{90, 120, 150}}) {
    CAPTURE(s.d);
    const auto truth = planar_ab({{10, -20}, {0, 0}, {-45, 60}, {90, 3}, {5, 5}});
    std::vector<float> pred = truth;
    const std::size_t n = 5;
    for (std::size_t i = 0; i < n; ++i) {
      pred[i] += s.da;
      pred[n + i] += s.db;
    }
    AbErrorCurve c;
    c.add(pred.data(), truth.data(), n);
    const std::vector<double> curve = c.curve();
    REQUIRE(curve.size() == 151);
    for (int t = 0; t <= 150; ++t) CHECK(curve[static_cast<std::size_t>(t)] == (t < s.d ? 0.0 : 1.0));
    CHECK(c.fraction(s.d - 1) == 0.0);
    CHECK(c.fraction(s.d) == 1.0);
    // (150 - d)/150 plus the trapezoid's half step over [d-1, d].
    CHECK(c.auc() == doctest::Approx((150.0 - s.d + 0.5) / 150.0).epsilon(1e-12));
    CHECK(c.mean_error() == doctest::Approx(s.d));
  }
}

TEST_CASE("ab curve: a shift beyond 150 gives AuC 0") {
  const auto truth = planar_ab({{-80, -90}, {-70, -60}});
  const auto pred = planar_ab({{80, 90}, {70, 60}});  // errors 240.8 and 184.4
  AbErrorCurve c;
  c.add(pred.data(), truth.data(), 2);
  CHECK(c.fraction(150) == 0.0);
  CHECK(c.auc() == 0.0);
}

TEST_CASE("ab curve: gray prediction -> the error of each pixel is its chroma") {
  // Chromas 0, 5, 10, 50 (3-4-5 triangles).
  const auto truth = planar_ab({{0, 0}, {3, -4}, {-6, 8}, {30, 40}});
  const std::vector<float> gray(8, 0.0f);
  AbErrorCurve c;
  c.add(gray.data(), truth.data(), 4);
  // Fraction of pixels with chroma <= t.
  CHECK(c.fraction(0) == 0.25);
  CHECK(c.fraction(4) == 0.25);
  CHECK(c.fraction(5) == 0.5);
  CHECK(c.fraction(9) == 0.5);
  CHECK(c.fraction(10) == 0.75);
  CHECK(c.fraction(49) == 0.75);
  CHECK(c.fraction(50) == 1.0);
  CHECK(c.fraction(150) == 1.0);
  // The AuC is linear in the pixels: the mean of the single-pixel AuCs,
  // (150 + 145.5 + 140.5 + 100.5) / (4 * 150) = 536.5 / 600.
  CHECK(c.auc() == doctest::Approx(536.5 / 600.0).epsilon(1e-12));
  CHECK(c.auc() == doctest::Approx((single_error_auc(0) + single_error_auc(5) +
                                     single_error_auc(10) + single_error_auc(50)) / 4));
  CHECK(c.mean_error() == doctest::Approx(65.0 / 4.0));
  CHECK(mean_chroma(truth.data(), 4) == doctest::Approx(65.0 / 4.0));
  CHECK(mean_chroma(gray.data(), 4) == 0.0);
}

TEST_CASE("ab curve: non-integer errors land on the next integer threshold") {
  const auto truth = planar_ab({{0, 0}, {0, 0}});
  const auto pred = planar_ab({{2.5f, 0}, {0, 0.001f}});  // errors 2.5 and 0.001
  AbErrorCurve c;
  c.add(pred.data(), truth.data(), 2);
  CHECK(c.fraction(0) == 0.0);
  CHECK(c.fraction(1) == 0.5);
  CHECK(c.fraction(2) == 0.5);
  CHECK(c.fraction(3) == 1.0);
}

TEST_CASE("ab curve: rebalanced with all weights 1 equals raw") {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-100.0f, 100.0f);
  const std::size_t n = 500;
  std::vector<float> truth(2 * n), pred(2 * n);
  for (auto& v : truth) v = u(rng);
  for (auto& v : pred) v = u(rng);

  const color::AbGamut& gamut = color::AbGamut::standard();
  AbErrorCurve none, ones_fn, ones_array;
  none.add(pred.data(), truth.data(), n);
  ones_fn.add(pred.data(), truth.data(), n,
              nearest_bin_weights(gamut, std::vector<float>(static_cast<std::size_t>(gamut.size()), 1.0f)));
  const std::vector<float> ones(n, 1.0f);
  ones_array.add(pred.data(), truth.data(), n, ones.data());

  CHECK(none.auc() > 0.1);
  CHECK(none.auc() < 0.9);
  for (const AbErrorCurve* c : {&none, &ones_fn, &ones_array}) {
    CHECK(c->auc_rebalanced() == doctest::Approx(none.auc()).epsilon(1e-12));
    CHECK(c->auc() == doctest::Approx(none.auc()).epsilon(1e-12));
    const auto raw = c->curve(), rb = c->curve_rebalanced();
    for (std::size_t t = 0; t < raw.size(); ++t) CHECK(rb[t] == doctest::Approx(raw[t]).epsilon(1e-12));
  }
}

TEST_CASE("ab curve: rebalanced weights by the ground truth's nearest bin") {
  // Pixel 1: exact, truth in the bin of (0, 0) with weight 3.
  // Pixel 2: error 50, truth in the bin of (60, 20) with weight 1.
  // Raw curve: 1/2 below t = 50; rebalanced: 3/4.
  const color::AbGamut& gamut = color::AbGamut::standard();
  std::vector<float> w(static_cast<std::size_t>(gamut.size()), 1.0f);
  const int q0 = gamut.nearest(0.0f, 0.0f), q1 = gamut.nearest(61.0f, 19.0f);
  REQUIRE(q0 != q1);
  w[static_cast<std::size_t>(q0)] = 3.0f;
  const auto truth = planar_ab({{1, -1}, {61, 19}});
  const auto pred = planar_ab({{1, -1}, {61 - 30, 19 + 40}});
  AbErrorCurve c;
  c.add(pred.data(), truth.data(), 2, nearest_bin_weights(gamut, w));
  CHECK(c.total_weight() == 4.0);
  CHECK(c.fraction(49) == 0.5);
  CHECK(c.fraction_rebalanced(49) == 0.75);
  CHECK(c.fraction_rebalanced(50) == 1.0);
  CHECK(c.auc() == doctest::Approx((1.0 + (150.5 - 50) / 150) / 2).epsilon(1e-12));
  CHECK(c.auc_rebalanced() ==
        doctest::Approx(0.75 * 1.0 + 0.25 * (150.5 - 50) / 150).epsilon(1e-12));

  // The same weights given per pixel.
  const std::vector<float> per_pixel = {3.0f, 1.0f};
  AbErrorCurve d;
  d.add(pred.data(), truth.data(), 2, per_pixel.data());
  CHECK(d.auc_rebalanced() == doctest::Approx(c.auc_rebalanced()).epsilon(1e-15));

  CHECK_THROWS_AS(nearest_bin_weights(gamut, std::vector<float>(3, 1.0f)), std::invalid_argument);
}

TEST_CASE("ab curve: merging images pools their pixels") {
  // Image A: 1 pixel, error 0. Image B: 3 pixels, error 10.
  const auto ta = planar_ab({{5, 5}});
  const auto tb = planar_ab({{0, 0}, {0, 0}, {0, 0}});
  const auto pb = planar_ab({{6, 8}, {-6, 8}, {10, 0}});
  AbErrorCurve a, b;
  a.add(ta.data(), ta.data(), 1);
  b.add(pb.data(), tb.data(), 3);
  AbErrorCurve set;
  set.merge(a);
  set.merge(b);
  CHECK(set.pixels() == 4);
  CHECK(set.fraction(9) == 0.25);
  CHECK(set.fraction(10) == 1.0);
  // Pooled AuC = pixel-weighted mean of the image AuCs.
  CHECK(set.auc() == doctest::Approx((1 * a.auc() + 3 * b.auc()) / 4).epsilon(1e-12));
}

TEST_CASE("ab curve: empty curve is NaN; trapezoid helper") {
  AbErrorCurve c;
  CHECK(std::isnan(c.auc()));
  CHECK(std::isnan(c.fraction(10)));
  CHECK(std::isnan(c.mean_error()));
  CHECK(normalized_trapezoid_area({0.0, 1.0}) == 0.5);
  CHECK(normalized_trapezoid_area({1.0, 1.0, 1.0}) == 1.0);
  CHECK(normalized_trapezoid_area({0.0, 0.5, 1.0, 1.0}) == doctest::Approx(2.0 / 3.0));
  CHECK(std::isnan(normalized_trapezoid_area({1.0})));
}

// ===========================================================================
// PSNR

TEST_CASE("psnr: identical images are +inf, capped at 100 dB in averages") {
  const auto img = random_rgb(16, 12, 1);
  CHECK(mse_rgb8(img.data(), img.data(), 16 * 12) == 0.0);
  const double p = psnr_rgb8(img.data(), img.data(), 16 * 12);
  CHECK(std::isinf(p));
  CHECK(p > 0);
  CHECK(capped_psnr(p) == kPsnrCapDb);
  CHECK(csv_number(p) == "inf");
  CHECK(format_number(p, 2) == "inf");
}

TEST_CASE("psnr: every channel off by 10 -> 20 log10(255 / 10)") {
  const auto a = constant_rgb(8, 8, 100, 150, 200);
  auto b = random_rgb(8, 8, 2);
  // A non-constant image and the same image with every channel moved by +-10.
  for (auto& v : b) v = static_cast<std::uint8_t>(20 + v % 200);
  std::vector<std::uint8_t> c = b;
  for (std::size_t i = 0; i < c.size(); ++i) c[i] = static_cast<std::uint8_t>(i % 2 ? c[i] + 10 : c[i] - 10);
  CHECK(mse_rgb8(b.data(), c.data(), 64) == 100.0);
  CHECK(psnr_rgb8(b.data(), c.data(), 64) == doctest::Approx(20.0 * std::log10(25.5)).epsilon(1e-12));
  CHECK(psnr_rgb8(b.data(), c.data(), 64) == doctest::Approx(28.1308036).epsilon(1e-8));
  // A single channel off by 30, others exact: MSE = 900 / 3 = 300.
  auto d = a;
  for (std::size_t i = 0; i < d.size(); i += 3) d[i] = static_cast<std::uint8_t>(d[i] + 30);
  CHECK(psnr_rgb8(a.data(), d.data(), 64) == doctest::Approx(10.0 * std::log10(65025.0 / 300.0)));
  CHECK(capped_psnr(40.0) == 40.0);
}

// ===========================================================================
// SSIM

TEST_CASE("ssim: the Gaussian window") {
  const auto& g = ssim_gaussian_1d();
  REQUIRE(g.size() == 11);
  double sum = 0;
  for (double v : g) sum += v;
  CHECK(sum == doctest::Approx(1.0).epsilon(1e-15));
  CHECK(g[5] / g[4] == doctest::Approx(std::exp(1.0 / 4.5)));  // exp(1 / (2 * 1.5^2))
  CHECK(g[0] == doctest::Approx(g[10]).epsilon(1e-15));
}

TEST_CASE("ssim: identical images -> 1") {
  const auto img = random_rgb(23, 17, 3);
  CHECK(ssim_rgb8(img.data(), img.data(), 23, 17) == doctest::Approx(1.0).epsilon(1e-12));
  const auto grad = gradient_rgb(32, 20);
  CHECK(ssim_rgb8(grad.data(), grad.data(), 32, 20) == doctest::Approx(1.0).epsilon(1e-12));
}

TEST_CASE("ssim: constant vs constant -> the luminance term only") {
  // No variance and no covariance: the contrast-structure factor is
  // (0 + C2) / (0 + C2) = 1, and SSIM = (2 x y + C1) / (x^2 + y^2 + C1) with
  // C1 = (0.01 * 255)^2 = 6.5025, the same at every window position.
  const double C1 = 6.5025;
  const auto x = constant_rgb(14, 12, 100, 100, 100);
  const auto y = constant_rgb(14, 12, 120, 100, 0);
  const double r = (2 * 100.0 * 120 + C1) / (100.0 * 100 + 120.0 * 120 + C1);  // 0.98362...
  const double g = 1.0;
  const double b = C1 / (100.0 * 100 + C1);  // one side black: 6.5025 / 10006.5025
  CHECK(ssim_channel(x.data(), y.data(), 14, 12, 3) == doctest::Approx(r).epsilon(1e-10));
  CHECK(ssim_channel(x.data() + 2, y.data() + 2, 14, 12, 3) == doctest::Approx(b).epsilon(1e-8));
  CHECK(ssim_rgb8(x.data(), y.data(), 14, 12) == doctest::Approx((r + g + b) / 3).epsilon(1e-10));
}

TEST_CASE("ssim: symmetric, and < 1 for a noisy image") {
  const auto clean = gradient_rgb(40, 30);
  auto noisy = clean;
  std::mt19937 rng(11);
  std::normal_distribution<double> noise(0.0, 12.0);
  for (auto& v : noisy) v = static_cast<std::uint8_t>(std::clamp(v + noise(rng), 0.0, 255.0));
  const double s1 = ssim_rgb8(clean.data(), noisy.data(), 40, 30);
  const double s2 = ssim_rgb8(noisy.data(), clean.data(), 40, 30);
  CHECK(s1 == doctest::Approx(s2).epsilon(1e-13));
  CHECK(s1 < 0.99);
  CHECK(s1 > 0.0);
  // More noise, lower SSIM.
  auto noisier = clean;
  std::normal_distribution<double> noise2(0.0, 40.0);
  for (auto& v : noisier) v = static_cast<std::uint8_t>(std::clamp(v + noise2(rng), 0.0, 255.0));
  CHECK(ssim_rgb8(clean.data(), noisier.data(), 40, 30) < s1);
}

TEST_CASE("ssim: brute-force reference at one window position") {
  // The 'valid' map of an 11 x 11 image is a single position: the SSIM is the
  // formula evaluated with the full 2-D window, written out directly.
  const auto x = random_rgb(11, 11, 4), y = random_rgb(11, 11, 5);
  const auto& g = ssim_gaussian_1d();
  double mx = 0, my = 0, sxx = 0, syy = 0, sxy = 0;
  for (int i = 0; i < 11; ++i)
    for (int j = 0; j < 11; ++j) {
      const double w = g[static_cast<std::size_t>(i)] * g[static_cast<std::size_t>(j)];
      const double vx = x[3 * static_cast<std::size_t>(i * 11 + j)];
      const double vy = y[3 * static_cast<std::size_t>(i * 11 + j)];
      mx += w * vx;
      my += w * vy;
    }
  for (int i = 0; i < 11; ++i)
    for (int j = 0; j < 11; ++j) {
      const double w = g[static_cast<std::size_t>(i)] * g[static_cast<std::size_t>(j)];
      const double dx = x[3 * static_cast<std::size_t>(i * 11 + j)] - mx;
      const double dy = y[3 * static_cast<std::size_t>(i * 11 + j)] - my;
      sxx += w * dx * dx;
      syy += w * dy * dy;
      sxy += w * dx * dy;
    }
  const double C1 = 6.5025, C2 = 58.5225;
  const double expect =
      ((2 * mx * my + C1) * (2 * sxy + C2)) / ((mx * mx + my * my + C1) * (sxx + syy + C2));
  CHECK(ssim_channel(x.data(), y.data(), 11, 11, 3) == doctest::Approx(expect).epsilon(1e-10));
}

TEST_CASE("ssim: an image smaller than the window is refused") {
  const auto x = random_rgb(10, 20, 6);
  CHECK_THROWS_AS(ssim_rgb8(x.data(), x.data(), 10, 20), std::invalid_argument);
}

// ===========================================================================
// Colorfulness, chroma, the gray baseline, whole images

TEST_CASE("gray baseline: R = G = B, same L, colorfulness 0, chroma 0") {
  const int w = 16, h = 12;
  const std::size_t n = static_cast<std::size_t>(w * h);
  const auto truth = gradient_rgb(w, h);
  const auto gray = gray_baseline(truth.data(), n);
  for (std::size_t i = 0; i < n; ++i) {
    CHECK(gray[3 * i] == gray[3 * i + 1]);
    CHECK(gray[3 * i] == gray[3 * i + 2]);
  }
  CHECK(color::colorfulness(gray.data(), n) == 0.0);

  const ImageMetrics m = evaluate_image(truth.data(), gray.data(), w, h);
  CHECK(m.colorfulness == 0.0);
  CHECK(m.colorfulness_truth > 10.0);
  CHECK(m.colorfulness_ratio == 0.0);
  CHECK(std::abs(m.mean_chroma) < 1e-4);
  // The error of each pixel is its chroma (the gray output's ab is 0 up to
  // the float rounding of the conversion), so the mean error is the mean
  // chroma of the truth.
  CHECK(m.mean_ab_error == doctest::Approx(m.mean_chroma_truth).epsilon(1e-4));
  std::vector<float> L(n), ab(2 * n);
  color::srgb_to_lab_image(truth.data(), n, L.data(), ab.data());
  AbErrorCurve expect;
  const std::vector<float> zero(2 * n, 0.0f);
  expect.add(zero.data(), ab.data(), n);
  CHECK(m.auc == doctest::Approx(expect.auc()).epsilon(1e-3));
  CHECK(m.auc < 1.0);
}

TEST_CASE("evaluate_image: identical images") {
  const int w = 15, h = 13;
  const auto img = gradient_rgb(w, h);
  const ImageMetrics m = evaluate_image(img.data(), img.data(), w, h);
  CHECK(m.width == w);
  CHECK(m.height == h);
  CHECK(m.curve.pixels() == static_cast<std::uint64_t>(w * h));
  CHECK(m.auc == 1.0);
  CHECK(m.auc_rebalanced == 1.0);
  CHECK(m.mean_ab_error == 0.0);
  CHECK(std::isinf(m.psnr));
  CHECK(m.ssim == doctest::Approx(1.0).epsilon(1e-12));
  CHECK(m.colorfulness == m.colorfulness_truth);
  CHECK(m.colorfulness_ratio == 1.0);
  CHECK(m.mean_chroma == m.mean_chroma_truth);
}

TEST_CASE("evaluate_image: a gray truth has no colorfulness ratio") {
  const auto g1 = constant_rgb(12, 12, 90, 90, 90), g2 = constant_rgb(12, 12, 100, 100, 100);
  const ImageMetrics m = evaluate_image(g1.data(), g2.data(), 12, 12);
  CHECK(m.colorfulness_truth == 0.0);
  CHECK(std::isnan(m.colorfulness_ratio));
  CHECK(csv_number(m.colorfulness_ratio) == "nan");
  CHECK(m.psnr == doctest::Approx(20 * std::log10(25.5)));
}

// ===========================================================================
// Set summaries and CSV

TEST_CASE("summaries: pooled and per-image means, PSNR cap, ratio of means") {
  std::vector<ImageMetrics> rows;
  // Model "m": image a, 1 pixel with error 0; image b, 3 pixels with error 10.
  ImageMetrics a, b, g;
  a.model = b.model = "m";
  g.model = "gray";
  a.image = g.image = "a.png";
  b.image = "b.png";
  const auto ta = planar_ab({{5, 5}});
  const auto tb = planar_ab({{0, 0}, {0, 0}, {0, 0}});
  const auto pb = planar_ab({{6, 8}, {-6, 8}, {10, 0}});
  a.curve.add(ta.data(), ta.data(), 1);
  b.curve.add(pb.data(), tb.data(), 3);
  g.curve.add(tb.data(), pb.data(), 3);
  for (ImageMetrics* m : {&a, &b, &g}) {
    m->auc = m->curve.auc();
    m->auc_rebalanced = m->curve.auc_rebalanced();
    m->mean_ab_error = m->curve.mean_error();
  }
  a.psnr = std::numeric_limits<double>::infinity();
  b.psnr = 30.0;
  g.psnr = 20.0;
  a.ssim = 1.0;
  b.ssim = 0.5;
  a.colorfulness = 10, a.colorfulness_truth = 20;
  b.colorfulness = 30, b.colorfulness_truth = 20;
  a.mean_chroma = 4, b.mean_chroma = 8;
  rows = {a, g, b};

  const std::vector<SetSummary> sets = summarize_by_model(rows);
  REQUIRE(sets.size() == 2);
  CHECK(sets[0].model == "m");
  CHECK(sets[1].model == "gray");
  const SetSummary& s = sets[0];
  CHECK(s.images == 2);
  CHECK(s.curve.pixels() == 4);
  const double auc_a = 1.0, auc_b = (150.5 - 10) / 150;
  CHECK(s.auc_pooled == doctest::Approx((auc_a + 3 * auc_b) / 4));
  CHECK(s.mean_auc == doctest::Approx((auc_a + auc_b) / 2));
  CHECK(s.mean_ab_error == doctest::Approx(30.0 / 4));
  CHECK(s.mean_psnr == doctest::Approx((100.0 + 30.0) / 2));
  CHECK(s.psnr_capped == 1);
  CHECK(s.mean_ssim == doctest::Approx(0.75));
  CHECK(s.colorfulness_ratio == doctest::Approx(1.0));  // (10 + 30) / (20 + 20)
  // ... while each photo is 10 away from its own truth: what the ratio hides.
  CHECK(s.colorfulness_error == doctest::Approx(10.0));
  CHECK(s.mean_chroma == doctest::Approx(6.0));
  CHECK(sets[1].images == 1);
  CHECK(sets[1].mean_psnr == 20.0);

  const SetSummary none = summarize("absent", rows);
  CHECK(none.images == 0);
  CHECK(std::isnan(none.mean_psnr));

  // CSV: a header and one line per image / per model / per threshold.
  std::ostringstream img_csv, sum_csv, curve_csv;
  write_image_csv(img_csv, rows);
  write_summary_csv(sum_csv, sets);
  write_curves_csv(curve_csv, sets);
  auto lines = [](const std::string& s) {
    std::vector<std::string> v;
    std::istringstream in(s);
    for (std::string line; std::getline(in, line);) v.push_back(line);
    return v;
  };
  const auto il = lines(img_csv.str()), sl = lines(sum_csv.str()), cl = lines(curve_csv.str());
  REQUIRE(il.size() == 4);
  CHECK(il[0].rfind("model,image,width,height,auc,auc_rebalanced,", 0) == 0);
  CHECK(il[1].rfind("m,a.png,", 0) == 0);
  CHECK(il[1].find(",inf,") != std::string::npos);  // the identical image's PSNR
  CHECK(il[2].rfind("gray,a.png,", 0) == 0);
  REQUIRE(sl.size() == 3);
  CHECK(sl[0].rfind("model,images,auc,auc_rebalanced,mean_auc,", 0) == 0);
  CHECK(sl[1].rfind("m,2,", 0) == 0);
  CHECK(sl[2].rfind("gray,1,", 0) == 0);
  REQUIRE(cl.size() == 152);
  CHECK(cl[0] == "t,m_raw,m_rebalanced,gray_raw,gray_rebalanced");
  CHECK(cl[1] == "0,0.25,0.25,0,0");
  CHECK(cl[151] == "150,1,1,1,1");
  // Every line has as many fields as its header (no field here needs quotes).
  for (const auto* v : {&il, &sl, &cl}) {
    const auto commas = [](const std::string& s) { return std::count(s.begin(), s.end(), ','); };
    for (const auto& line : *v) CHECK(commas(line) == commas((*v)[0]));
  }
}

TEST_CASE("csv: numbers and quoting") {
  CHECK(csv_number(0.5) == "0.5");
  CHECK(csv_number(28.13080360867910) == "28.1308");
  CHECK(csv_number(-std::numeric_limits<double>::infinity()) == "-inf");
  CHECK(csv_field("plain") == "plain");
  CHECK(csv_field("a,b") == "\"a,b\"");
  CHECK(csv_field("say \"hi\"") == "\"say \"\"hi\"\"\"");
}

// ===========================================================================
// SVG and Markdown

namespace {

std::size_t count_of(const std::string& s, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + what.size())) ++n;
  return n;
}

}  // namespace

TEST_CASE("svg: error curves plot is well-formed and names every curve") {
  AbErrorCurve c;
  const auto truth = planar_ab({{0, 0}, {3, -4}, {-6, 8}, {30, 40}});
  const std::vector<float> gray(8, 0.0f);
  c.add(gray.data(), truth.data(), 4);
  std::vector<PlotSeries> curves = {
      error_curve_series("regression (AuC 0.912)", c.curve()),
      error_curve_series("classification <rebalanced> & co", c.curve_rebalanced()),
      error_curve_series("gray", c.curve(), "#888888", true),
  };
  const std::string svg = error_curves_svg(curves, "Kodak: cumulative ab error");

  CHECK(svg.rfind("<svg", 0) == 0);
  const std::string tail = "</svg>\n";
  REQUIRE(svg.size() > tail.size());
  CHECK(svg.compare(svg.size() - tail.size(), tail.size(), tail) == 0);
  CHECK(count_of(svg, "<svg") == 1);
  CHECK(count_of(svg, "</svg>") == 1);
  CHECK(svg.find("xmlns=\"http://www.w3.org/2000/svg\"") != std::string::npos);
  CHECK(count_of(svg, "<polyline") == 3);
  CHECK(svg.find("regression (AuC 0.912)") != std::string::npos);
  CHECK(svg.find("classification &lt;rebalanced&gt; &amp; co") != std::string::npos);
  CHECK(svg.find("<rebalanced>") == std::string::npos);  // escaped, never raw
  CHECK(svg.find(">gray</text>") != std::string::npos);
  CHECK(svg.find("Kodak: cumulative ab error") != std::string::npos);
  CHECK(svg.find("stroke-dasharray") != std::string::npos);
  // Ticks 0, 25, ..., 150 on x and 0, 0.2, ..., 1 on y.
  for (const char* t : {">0<", ">25<", ">75<", ">150<", ">0.2<", ">0.8<", ">1<"})
    CHECK(svg.find(t) != std::string::npos);
  // Every opening tag is closed or self-closing: count '<' of elements that
  // open (not '</', not '/>'-terminated) against the closing tags.
  std::size_t opens = 0, closes = 0;
  for (std::size_t p = svg.find('<'); p != std::string::npos; p = svg.find('<', p + 1)) {
    const std::size_t end = svg.find('>', p);
    REQUIRE(end != std::string::npos);
    if (svg[p + 1] == '/') ++closes;
    else if (svg[end - 1] != '/') ++opens;
  }
  CHECK(opens == closes);
  // 151 points per curve.
  const std::size_t first = svg.find("points=\"");
  const std::size_t last = svg.find('"', first + 8);
  const std::string pts = svg.substr(first + 8, last - first - 8);
  CHECK(count_of(pts, ",") == 151);
}

TEST_CASE("svg: nice ticks") {
  CHECK(nice_ticks(0, 150, 6) == std::vector<double>{0, 25, 50, 75, 100, 125, 150});
  const auto y = nice_ticks(0, 1, 5);
  REQUIRE(y.size() == 6);
  CHECK(y[3] == doctest::Approx(0.6));
  CHECK(nice_ticks(0, 10, 5) == std::vector<double>{0, 2, 4, 6, 8, 10});
  CHECK(nice_ticks(1, 1, 5).empty());
}

TEST_CASE("svg: log y axis for loss curves") {
  // Losses falling from 2 to 0.003 over 100 steps: a log axis spans the
  // decades 0.001 .. 10, with a tick at each power of ten.
  std::vector<double> steps, loss;
  for (int i = 0; i <= 100; ++i) {
    steps.push_back(i);
    loss.push_back(2.0 * std::pow(0.0015, i / 100.0));
  }
  loss[50] = 0.0;  // not drawable on a log axis: skipped, not a NaN in the SVG
  std::vector<Curve> curves;
  curves.push_back({"train loss", steps, loss});
  PlotOptions po;
  po.title = "losses";
  po.log_y = true;
  const std::string svg = svg_line_plot(curves, po);
  CHECK(svg.rfind("<svg", 0) == 0);
  CHECK(count_of(svg, "<polyline") == 1);
  CHECK(svg.find("nan") == std::string::npos);
  CHECK(svg.find("inf") == std::string::npos);
  for (const char* t : {">0.001<", ">0.01<", ">0.1<", ">1<", ">10<"})
    CHECK(svg.find(t) != std::string::npos);
  const std::size_t first = svg.find("points=\"");
  const std::size_t last = svg.find('"', first + 8);
  CHECK(count_of(svg.substr(first + 8, last - first - 8), ",") == 100);

  const auto lt = log_ticks(0.01, 1000.0, 6);
  CHECK(lt.size() == 6);
  CHECK(lt.front() == doctest::Approx(0.01));
  const auto few = log_ticks(0.3, 4.0, 6);  // 0.5, 1, 2
  REQUIRE(few.size() == 3);
  CHECK(few[0] == doctest::Approx(0.5));
  CHECK(few[2] == doctest::Approx(2.0));
}

TEST_CASE("svg: a linear axis from the data widens to ticks") {
  std::vector<Curve> curves = {{"a", {0, 1, 2, 3}, {0.13, 0.5, 0.2, 0.87}}};
  const std::string svg = svg_line_plot(curves, PlotOptions{});
  CHECK(svg.find(">0.1<") == std::string::npos);  // ticks at multiples of 0.2 ...
  CHECK(svg.find(">0.2<") != std::string::npos);
  CHECK(svg.find(">0<") != std::string::npos);  // ... from 0 ...
  CHECK(svg.find(">1<") != std::string::npos);  // ... to 1
  CHECK(count_of(svg, "<text") >= 6);
}

TEST_CASE("markdown: table with alignment and escaping") {
  const std::string t = markdown_table({"model", "AuC"},
                                       {{"gray", "0.891"}, {"a|b", "1"}, {"short"}},
                                       {Align::kLeft, Align::kRight});
  const std::string expect =
      "| model |   AuC |\n"
      "| ----- | ----: |\n"
      "| gray  | 0.891 |\n"
      "| a\\|b  |     1 |\n"
      "| short |       |\n";
  CHECK(t == expect);
  CHECK_THROWS_AS(markdown_table({"a"}, {{"1", "2"}}), std::invalid_argument);
  CHECK(format_number(0.91234, 3) == "0.912");
  CHECK(format_number(std::numeric_limits<double>::quiet_NaN(), 3) == "n/a");
}

TEST_CASE("plausibility: mean colour, cast and mean-colour error per image and per set") {
  // Truth: a uniform colour; output: the same lightness shifted in a and b.
  const int w = 16, h = 16;
  const std::size_t n = static_cast<std::size_t>(w) * h;
  auto image_of = [&](float a, float b) {
    std::vector<float> L(n, 60.0f), ab(2 * n);
    std::fill(ab.begin(), ab.begin() + static_cast<std::ptrdiff_t>(n), a);
    std::fill(ab.begin() + static_cast<std::ptrdiff_t>(n), ab.end(), b);
    std::vector<std::uint8_t> rgb(3 * n);
    color::lab_to_srgb_image(L.data(), ab.data(), n, rgb.data());
    return rgb;
  };
  // 8-bit rounding moves each LAB colour by a fraction of a unit: absolute tolerances.
  auto near = [](double x, double y) { return std::fabs(x - y) < 0.5; };
  const auto truth = image_of(5.0f, 10.0f), warm = image_of(11.0f, 18.0f), cool = image_of(1.0f, 4.0f);
  ImageMetrics m = evaluate_image(truth.data(), warm.data(), w, h);
  CHECK(near(m.mean_a_truth, 5.0));
  CHECK(near(m.mean_b_truth, 10.0));
  CHECK(near(m.mean_a - m.mean_a_truth, 6.0));
  CHECK(near(m.mean_b - m.mean_b_truth, 8.0));
  CHECK(near(m.mean_color_error, 10.0));  // hypot(6, 8)
  CHECK(std::isnan(m.lattice_score));  // no grid given: not measured
  m.model = "m";
  m.image = "warm.png";
  ImageMetrics c = evaluate_image(truth.data(), cool.data(), w, h, {}, 16, 16);
  c.model = "m";
  c.image = "cool.png";
  CHECK(std::isfinite(c.lattice_score));
  CHECK_FALSE(c.lattice_flagged());  // a flat colour has no lattice
  const SetSummary s = summarize("m", {m, c});
  // The signed casts cancel partly (+6 and -4 in a), the absolute errors do not.
  CHECK(near(s.cast_a, (6.0 - 4.0) / 2));
  CHECK(near(s.cast_b, (8.0 - 6.0) / 2));
  CHECK(near(s.abs_a_error, (6.0 + 4.0) / 2));
  CHECK(near(s.abs_b_error, (8.0 + 6.0) / 2));
  CHECK(near(s.mean_color_error, (10.0 + std::hypot(4.0, 6.0)) / 2));
  CHECK(s.lattice_measured == 1);
  CHECK(s.lattice_flagged == 0);
  std::ostringstream csv;
  write_summary_csv(csv, {s});
  CHECK(csv.str().find("cast_a,cast_b,abs_a_error,abs_b_error,mean_color_error") != std::string::npos);
}
