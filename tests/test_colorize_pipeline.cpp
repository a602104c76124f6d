// The colour pipeline of colorize, threaded and vectorised (issue 13): each
// fast path against its reference (the per-pixel scalar chain, the bisection,
// the std::exp decoding), at odd sizes and at 1 and 2 threads, with the
// worst difference printed.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <utility>
#include <vector>

#include "doctest/doctest.h"
#include "models/color/decode.h"
#include "models/color/gamut.h"
#include "models/color/lab.h"
#include "models/data/image.h"
#include "models/data/loader.h"

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

TEST_CASE("lab_to_srgb_image: the reference equals the per-pixel chain; the fast path is within 1 level") {
  ThreadsGuard guard;
  std::mt19937 rng(13);
  std::size_t total = 0, fast_diffs = 0, flag_diffs = 0;
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
      // The reference: bit for bit.
      CHECK(lab_to_srgb_image_ref(L.data(), ab.data(), n, got.data(), oog.data()) == want_outside);
      CHECK(got == want);
      CHECK(oog == want_oog);
      // The fast path: at most 1 level, and only at a rounding boundary.
      const std::size_t outside = lab_to_srgb_image(L.data(), ab.data(), n, got.data(), oog.data());
      std::size_t diffs = 0, worst = 0, flags = 0;
      for (std::size_t i = 0; i < 3 * n; ++i) {
        const int d = std::abs(int(got[i]) - int(want[i]));
        diffs += d != 0;
        worst = std::max<std::size_t>(worst, std::size_t(d));
      }
      for (std::size_t i = 0; i < n; ++i) flags += oog[i] != want_oog[i];
      std::printf("lab_to_srgb_image %dx%d threads %d: %zu of %zu bytes differ from the reference (max %zu), "
                  "%zu gamut flags differ, %zu out of gamut\n",
                  w, h, threads, diffs, 3 * n, worst, flags, outside);
      CHECK(worst <= 1);
      if (threads == 1) total += 3 * n, fast_diffs += diffs, flag_diffs += flags;
      std::vector<float> gotf(3 * n);
      CHECK(lab_to_srgb_image(L.data(), ab.data(), n, gotf.data()) == want_outside);
      double worstf = 0;
      for (std::size_t i = 0; i < 3 * n; ++i)
        worstf = std::max(worstf, std::abs(gotf[i] * 255.0 - double(want[i])));
      CHECK(worstf <= 0.5 + 1e-3);  // the float result (the double chain) rounds to the same byte
    }
  }
  // Random colours: a rounding boundary within ~1e-7 is rare (the bound:
  // a few in a million bytes; 1 in 10^4 is far above it).
  CHECK(fast_diffs * 10000 <= total);
  CHECK(flag_diffs * 10000 <= total);
}

TEST_CASE("linear_to_srgb8 equals lround(255 * linear_to_srgb) around every byte boundary") {
  // The pow path in double, rounded as lab_to_srgb_image_ref does.
  auto want = [](float l) {
    return int(std::lround(std::clamp(linear_to_srgb(double(l)), 0.0, 1.0) * 255.0));
  };
  std::size_t tested = 0, diffs = 0;
  int worst = 0;
  float where = 0;
  auto check = [&](float l) {
    const int d = std::abs(int(linear_to_srgb8(l)) - want(l));
    ++tested;
    if (d) ++diffs;
    if (d > worst) worst = d, where = l;
  };
  for (int k = 0; k < 255; ++k) {
    // The boundary between byte k and k + 1, and 8 floats either side of it.
    float t = float(srgb_to_linear((k + 0.5) / 255.0));
    for (int u = 0; u < 8; ++u) t = std::nextafter(t, -1.0f);
    for (int u = 0; u < 17; ++u, t = std::nextafter(t, 2.0f)) check(t);
  }
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> any(-0.1f, 1.1f), low(0.0f, 0.01f);
  for (int i = 0; i < 1000000; ++i) check(any(rng)), check(low(rng));
  for (float l : {0.0f, -0.0f, -1.0f, 1.0f, 2.0f, 1e-30f, 1e30f, -1e30f}) check(l);
  std::printf("linear_to_srgb8: %zu of %zu values differ from the pow() path (max %d at %.9g)\n", diffs,
              tested, worst, double(where));
  // Exact for the float given, up to the double pow()'s own rounding at a
  // boundary: at most 1 level, and only right at boundaries.
  CHECK(worst <= 1);
  CHECK(diffs <= 255 * 2);
  CHECK(linear_to_srgb8(0.0f) == 0);
  CHECK(linear_to_srgb8(1.0f) == 255);
  CHECK(linear_to_srgb8(-5.0f) == 0);
  CHECK(linear_to_srgb8(7.0f) == 255);
}

TEST_CASE("lab_to_linear_rgb_image (float) stays within 2e-6 of the double chain") {
  ThreadsGuard guard;
  std::mt19937 rng(17);
  for (const auto& [w, h] : kSizes) {
    const std::size_t n = std::size_t(w) * h;
    std::vector<float> L, ab;
    random_lab(n, rng, L, ab);
    for (int threads : {1, 2}) {
      omp_set_num_threads(threads);
      std::vector<float> rgb(3 * n);
      lab_to_linear_rgb_image(L.data(), ab.data(), n, rgb.data());
      double worst = 0, worst_rel = 0;
      std::size_t where = 0;
      for (std::size_t i = 0; i < n; ++i) {
        const Rgb c = lab_to_linear_rgb({L[i], ab[i], ab[n + i]});
        const double ch[3] = {c.r, c.g, c.b};
        for (int k = 0; k < 3; ++k) {
          const double d = std::abs(rgb[3 * i + k] - ch[k]);
          // Far outside the gamut channels reach ~20: relative there.
          const double rel = d / std::max(1.0, std::abs(ch[k]));
          if (rel > worst_rel) worst_rel = rel, worst = d, where = i;
        }
      }
      std::printf("lab_to_linear_rgb_image %dx%d threads %d: worst %.3g (relative %.3g) at pixel %zu\n", w, h,
                  threads, worst, worst_rel, where);
      CHECK(worst_rel <= 2e-6);
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

TEST_CASE("fit_chroma_to_gamut equals the reference bisection") {
  ThreadsGuard guard;
  std::mt19937 rng(23);
  for (const auto& [w, h] : kSizes) {
    const std::size_t n = std::size_t(w) * h;
    std::vector<float> L, ab;
    random_lab(n, rng, L, ab);
    // Awkward pixels too: the extremes of L, gray, and colours right on the
    // gamut's surface (a fitted colour, and the same a hair further out).
    const float extremes[][3] = {{0, 0, 0}, {100, 0, 0}, {100, 5, -5}, {0, 20, 20}, {50, 0, 0}};
    for (std::size_t i = 0; i < std::min<std::size_t>(n, 5); ++i)
      L[i] = extremes[i][0], ab[i] = extremes[i][1], ab[n + i] = extremes[i][2];
    std::vector<float> surface = ab;
    fit_chroma_to_gamut_ref(L.data(), surface.data(), n);
    for (std::size_t i = 5; i + 1 < n; i += 7) {
      ab[i] = surface[i], ab[n + i] = surface[n + i];
      ab[i + 1] = surface[i + 1] * 1.0001f, ab[n + i + 1] = surface[n + i + 1] * 1.0001f;
    }
    std::vector<float> want = ab;
    fit_chroma_to_gamut_ref(L.data(), want.data(), n);
    for (int threads : {1, 2}) {
      omp_set_num_threads(threads);
      std::vector<float> got = ab;
      fit_chroma_to_gamut(L.data(), got.data(), n);
      std::size_t diffs = 0, changed = 0;
      double worst = 0;
      for (std::size_t i = 0; i < 2 * n; ++i) {
        diffs += got[i] != want[i];
        changed += want[i] != ab[i];
        // One bisection step (1/4096 of the scale) is the most a rounding
        // difference could move the result.
        worst = std::max(worst, std::abs(double(got[i]) - want[i]) / (std::abs(double(ab[i])) / 4096 + 1e-6));
      }
      std::printf("fit_chroma_to_gamut %dx%d threads %d: %zu of %zu values differ from the reference "
                  "(worst %.3g bisection steps), %zu changed by the fit\n",
                  w, h, threads, diffs, 2 * n, worst, changed);
#if defined(__FMA__)
      CHECK(worst <= 1.0);  // FMA contraction may round differently from the reference
#else
      CHECK(diffs == 0);    // the same double operations in the same order
#endif
    }
  }
}

TEST_CASE("decode_logits (vectorised, threaded) agrees with decode_logits_ref within 1e-4") {
  ThreadsGuard guard;
  std::mt19937 rng(29);
  const std::size_t sizes[] = {1, 7, 16, 17, 333 * 97};
  for (const AbGamut* gamut : {&AbGamut::zhang313(), &AbGamut::standard()}) {
    const int Q = gamut->size();
    std::vector<float> weights(static_cast<std::size_t>(Q));
    std::uniform_real_distribution<float> wd(0.2f, 5.0f);
    for (auto& v : weights) v = wd(rng);
    const std::vector<float> offset = prior_correction_offsets(weights, 0.5f);
    for (std::size_t n : sizes)
      for (float spread : {0.1f, 2.0f, 8.0f})
        for (float T : {kAnnealTemperature, 1.0f}) {
          std::normal_distribution<float> logit(0.0f, spread);
          std::vector<float> s(std::size_t(Q) * n);
          for (auto& v : s) v = logit(rng);
          for (const float* off : {static_cast<const float*>(nullptr), offset.data()}) {
            std::vector<float> want(2 * n), got1(2 * n), got2(2 * n);
            decode_logits_ref(*gamut, s.data(), n, want.data(), T, off);
            omp_set_num_threads(1);
            decode_logits(*gamut, s.data(), n, got1.data(), T, off);
            omp_set_num_threads(2);
            decode_logits(*gamut, s.data(), n, got2.data(), T, off);
            double worst = 0;
            std::size_t where = 0;
            for (std::size_t i = 0; i < 2 * n; ++i)
              if (std::abs(got1[i] - want[i]) > worst) worst = std::abs(got1[i] - want[i]), where = i;
            if (n == 333 * 97 || worst > 1e-5)
              std::printf("decode_logits Q %d n %zu spread %g T %g offset %d: worst %.3g at %zu\n", Q, n,
                          double(spread), double(T), off != nullptr, worst, where);
            CHECK(worst <= 1e-4);
            CHECK(got1 == got2);  // pixels are independent: threads change nothing
          }
        }
  }
}

TEST_CASE("data::resize threaded gives the same bytes as one thread") {
  ThreadsGuard guard;
  std::mt19937 rng(31);
  const int shapes[][4] = {{333, 297, 101, 77}, {256, 256, 512, 512}, {640, 200, 640, 100}, {1, 1, 3, 2}};
  for (const auto& sh : shapes)
    for (int c : {1, 3}) {
      tinct::data::Image src(sh[0], sh[1], c);
      for (auto& v : src.pixels) v = std::uint8_t(rng());
      omp_set_num_threads(1);
      const tinct::data::Image one = tinct::data::resize(src, sh[2], sh[3]);
      omp_set_num_threads(2);
      const tinct::data::Image two = tinct::data::resize(src, sh[2], sh[3]);
      CHECK(one.pixels == two.pixels);
    }
}

TEST_CASE("srgb8_to_L_image gives data::FastLab's L, threaded") {
  ThreadsGuard guard;
  std::mt19937 rng(37);
  const tinct::data::FastLab fast;
  for (const auto& [w, h] : kSizes) {
    const std::size_t n = std::size_t(w) * h;
    std::vector<std::uint8_t> rgb(3 * n);
    for (auto& v : rgb) v = std::uint8_t(rng());
    if (n >= 2) rgb[0] = rgb[1] = rgb[2] = 0, rgb[3] = rgb[4] = rgb[5] = 255;  // black, white
    std::vector<float> wantL(n), wantab(2 * n);
    fast.convert(rgb.data(), n, wantL.data(), wantab.data());
    for (int threads : {1, 2}) {
      omp_set_num_threads(threads);
      std::vector<float> L(n);
      srgb8_to_L_image(rgb.data(), n, L.data());
      double worst = 0, worst_ref = 0;
      for (std::size_t i = 0; i < n; ++i) {
        worst = std::max(worst, double(std::abs(L[i] - wantL[i])));
        const Lab c = srgb_to_lab({rgb[3 * i] / 255.0, rgb[3 * i + 1] / 255.0, rgb[3 * i + 2] / 255.0});
        worst_ref = std::max(worst_ref, std::abs(L[i] - c.L));
      }
      std::printf("srgb8_to_L_image %dx%d threads %d: worst %.3g from FastLab, %.3g from the double chain\n", w,
                  h, threads, worst, worst_ref);
#if defined(__FMA__)
      CHECK(worst <= 1e-5);  // contraction may round differently from FastLab's
#else
      CHECK(worst == 0);  // the same float operations, lane for lane
#endif
      CHECK(worst_ref <= 1e-4);
    }
  }
}
