// Colour science: LAB conversions, the ab gamut, soft-encoding, rebalancing,
// decoding and colorfulness (models/color/).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "doctest/doctest.h"
#include "models/color/colorfulness.h"
#include "models/color/decode.h"
#include "models/color/gamut.h"
#include "models/color/lab.h"
#include "models/color/rebalance.h"
#include "models/color/soft_encode.h"

using namespace tinct::color;

namespace {

void check_lab(const Rgb& srgb, double L, double a, double b, double tol = 0.01) {
  const Lab lab = srgb_to_lab(srgb);
  CHECK(std::abs(lab.L - L) <= tol);
  CHECK(std::abs(lab.a - a) <= tol);
  CHECK(std::abs(lab.b - b) <= tol);
}

// The 8 corners of the RGB cube, in sRGB.
std::vector<Rgb> cube_corners() {
  std::vector<Rgb> v;
  for (int r = 0; r < 2; ++r)
    for (int g = 0; g < 2; ++g)
      for (int b = 0; b < 2; ++b) v.push_back({double(r), double(g), double(b)});
  return v;
}

// Grid coordinate of the candidate whose cell holds x (nearest multiple of 10).
int cell_of(double x) { return static_cast<int>(std::lround((x - kGridMin) / kBinSpacing)); }

}  // namespace

// ===========================================================================
// LAB

TEST_CASE("lab: published sRGB -> LAB values (D65)") {
  // The commonly published values for sRGB under D65 (e.g. Bruce Lindbloom's
  // tables), to their two decimals.
  check_lab({1, 0, 0}, 53.24, 80.09, 67.20);
  check_lab({0, 1, 0}, 87.73, -86.18, 83.18);
  check_lab({0, 0, 1}, 32.30, 79.19, -107.86);
  check_lab({1, 1, 1}, 100.0, 0.0, 0.0);
  check_lab({0, 0, 0}, 0.0, 0.0, 0.0);
  check_lab({0.5, 0.5, 0.5}, 53.39, 0.0, 0.0);
  // Grays are exactly on the L axis: the matrix maps R = G = B onto the white.
  for (double g : {0.01, 0.2, 0.5, 0.9}) {
    const Lab lab = srgb_to_lab({g, g, g});
    CHECK(std::abs(lab.a) < 1e-9);
    CHECK(std::abs(lab.b) < 1e-9);
  }
}

TEST_CASE("lab: the derived matrix is the published sRGB (D65) matrix") {
  const double published[3][3] = {{0.4124564, 0.3575761, 0.1804375},
                                  {0.2126729, 0.7151522, 0.0721750},
                                  {0.0193339, 0.1191920, 0.9503041}};
  const Mat3& M = linear_rgb_to_xyz_matrix();
  const Mat3& Minv = xyz_to_linear_rgb_matrix();
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) {
      CHECK(std::abs(M.m[i][j] - published[i][j]) < 1e-7);
      double identity = 0.0;
      for (int k = 0; k < 3; ++k) identity += Minv.m[i][k] * M.m[k][j];
      CHECK(std::abs(identity - (i == j ? 1.0 : 0.0)) < 1e-12);
    }
  }
  // Rows sum to the white point: R = G = B = 1 is the reference white.
  CHECK(M.m[0][0] + M.m[0][1] + M.m[0][2] == doctest::Approx(kWhiteX).epsilon(1e-12));
  CHECK(M.m[1][0] + M.m[1][1] + M.m[1][2] == doctest::Approx(kWhiteY).epsilon(1e-12));
  CHECK(M.m[2][0] + M.m[2][1] + M.m[2][2] == doctest::Approx(kWhiteZ).epsilon(1e-12));
}

TEST_CASE("lab: f and its inverse are exact, continuous at delta^3") {
  const double d = kLabDelta;
  CHECK(lab_f(d * d * d) == doctest::Approx(d).epsilon(1e-15));
  CHECK(lab_f(d * d * d * (1 + 1e-12)) == doctest::Approx(d).epsilon(1e-11));
  CHECK(lab_f(0.0) == doctest::Approx(4.0 / 29.0));
  for (double t : {0.0, 1e-4, 0.008, 0.0088, 0.01, 0.2, 0.5, 1.0, 1.2})
    CHECK(lab_f_inverse(lab_f(t)) == doctest::Approx(t).epsilon(1e-13).scale(1));
}

TEST_CASE("lab: sRGB -> LAB -> sRGB round trip over a 17^3 grid") {
  double worst = 0.0, worst_image = 0.0;
  std::vector<float> rgb, L, ab, back;
  for (int r = 0; r <= 16; ++r)
    for (int g = 0; g <= 16; ++g)
      for (int b = 0; b <= 16; ++b) {
        const Rgb c{r / 16.0, g / 16.0, b / 16.0};
        const Rgb t = lab_to_srgb(srgb_to_lab(c));
        worst = std::max({worst, std::abs(t.r - c.r), std::abs(t.g - c.g), std::abs(t.b - c.b)});
        rgb.insert(rgb.end(), {float(c.r), float(c.g), float(c.b)});
      }
  CHECK(worst < 1e-10);  // double per-pixel path
  // The float image path: LAB stored as float costs about 1e-6.
  const std::size_t n = rgb.size() / 3;
  L.resize(n);
  ab.resize(2 * n);
  back.resize(3 * n);
  srgb_to_lab_image(rgb.data(), n, L.data(), ab.data());
  CHECK(lab_to_srgb_image(L.data(), ab.data(), n, back.data()) == 0);
  for (std::size_t i = 0; i < 3 * n; ++i)
    worst_image = std::max(worst_image, double(std::abs(back[i] - rgb[i])));
  CHECK(worst_image < 1e-5);
}

TEST_CASE("lab: uint8 images round-trip exactly") {
  // Every channel value on its own, all grays, and a 52^3 grid (step 5,
  // 0..255) of mixtures.
  std::vector<std::uint8_t> rgb;
  for (int v = 0; v < 256; ++v) {
    const auto u = static_cast<std::uint8_t>(v);
    rgb.insert(rgb.end(), {u, 0, 0, 0, u, 0, 0, 0, u, u, u, u});
  }
  for (int r = 0; r < 256; r += 5)
    for (int g = 0; g < 256; g += 5)
      for (int b = 0; b < 256; b += 5)
        rgb.insert(rgb.end(), {std::uint8_t(r), std::uint8_t(g), std::uint8_t(b)});
  const std::size_t n = rgb.size() / 3;
  std::vector<float> L(n), ab(2 * n);
  std::vector<std::uint8_t> back(3 * n), mask(n, 7);
  srgb_to_lab_image(rgb.data(), n, L.data(), ab.data());
  CHECK(lab_to_srgb_image(L.data(), ab.data(), n, back.data(), mask.data()) == 0);
  CHECK(back == rgb);
  CHECK(std::all_of(mask.begin(), mask.end(), [](std::uint8_t m) { return m == 0; }));
  // Planar layout: pixel 0 is black; pixel 4 * 255 is (255, 0, 0), whose a
  // sits in the a plane at 4 * 255 and whose b sits n further on.
  CHECK(std::abs(L[0]) < 1e-6f);
  CHECK(L[4 * 255] == doctest::Approx(53.2408f).epsilon(1e-5));
  CHECK(ab[4 * 255] == doctest::Approx(80.0925f).epsilon(1e-5));
  CHECK(ab[n + 4 * 255] == doctest::Approx(67.2032f).epsilon(1e-5));
}

TEST_CASE("lab: out-of-gamut LAB is clamped and counted") {
  // (50, 100, 100): far more saturated than any sRGB colour at L = 50.
  // White (100, 0, 0), black (0, 0, 0) and the magenta corner of the cube
  // (1, 0, 1) sit on the gamut's boundary: inside, up to rounding.
  const Lab magenta = srgb_to_lab({1, 0, 1});
  const float L[4] = {50.0f, 100.0f, 0.0f, float(magenta.L)};
  const float ab[8] = {100.0f, 0.0f, 0.0f, float(magenta.a),    // a plane
                       100.0f, 0.0f, 0.0f, float(magenta.b)};  // b plane
  std::uint8_t rgb[12], mask[4];
  float rgbf[12];
  CHECK(lab_to_srgb_image(L, ab, 4, rgb, mask) == 1);
  CHECK(mask[0] == 1);
  CHECK(mask[1] == 0);
  CHECK(mask[2] == 0);
  CHECK(mask[3] == 0);
  CHECK(lab_to_srgb_image(L, ab, 4, rgbf) == 1);
  for (float v : rgbf) {
    CHECK(v >= 0.0f);
    CHECK(v <= 1.0f);
  }
  CHECK(rgb[3] == 255);
  CHECK(rgb[4] == 255);
  CHECK(rgb[5] == 255);
  CHECK(rgb[9] == 255);
  CHECK(rgb[10] == 0);
  CHECK(rgb[11] == 255);
  // Unclamped, the first colour has a channel outside [0, 1].
  CHECK_FALSE(in_unit_cube(lab_to_srgb({50, 100, 100})));
}

TEST_CASE("lab: model scalings") {
  CHECK(normalize_L(0.0f) == -1.0f);
  CHECK(normalize_L(50.0f) == 0.0f);
  CHECK(normalize_L(100.0f) == 1.0f);
  CHECK(denormalize_L(normalize_L(37.5f)) == doctest::Approx(37.5f));
  CHECK(normalize_ab(110.0f) == 1.0f);
  CHECK(normalize_ab(-55.0f) == -0.5f);
  CHECK(denormalize_ab(normalize_ab(-86.18f)) == doctest::Approx(-86.18f));
  float x[3] = {0.0f, 25.0f, 100.0f};
  normalize_L(x, 3);
  CHECK(x[1] == -0.5f);
  denormalize_L(x, 3);
  CHECK(x[1] == 25.0f);
  // The whole sRGB gamut fits inside ab/110 in (-1, 1): tanh can reach it.
  for (const Rgb& c : cube_corners()) {
    const Lab lab = srgb_to_lab(c);
    CHECK(std::abs(lab.a) < kAbScale);
    CHECK(std::abs(lab.b) < kAbScale);
  }
}

// ===========================================================================
// Gamut

TEST_CASE("gamut: 262 bins, the table is what the sampling computes") {
  // See gamut.h: the cell criterion (some point of the bin's 10 x 10 cell is
  // an sRGB colour at some L) keeps 262 of the 529 candidates; the centre
  // criterion (the centre itself is an sRGB colour) keeps 229. Zhang et al.'s
  // 313 came from ImageNet statistics and include 51 bins that no sRGB
  // colour is nearest to (next test); our 262 grown by one ring of
  // neighbours is 322.
  const AbGamut& g = AbGamut::standard();
  CHECK(g.size() == 262);
  const std::vector<std::uint8_t> cell = compute_gamut_mask(GamutCriterion::kCellTouchesGamut);
  const std::vector<std::uint8_t> centre = compute_gamut_mask(GamutCriterion::kCentreInGamut);
  int n_cell = 0, n_centre = 0;
  for (int ia = 0; ia < kGridSide; ++ia) {
    for (int ib = 0; ib < kGridSide; ++ib) {
      const std::size_t k = static_cast<std::size_t>(ia * kGridSide + ib);
      n_cell += cell[k];
      n_centre += centre[k];
      // The table in gamut.cpp is the computed mask.
      CHECK((g.bin_at_grid(ia, ib) >= 0) == bool(cell[k]));
      // A centre in gamut is a point of its cell in gamut: centre => cell.
      if (centre[k]) CHECK(cell[k]);
    }
  }
  CHECK(n_cell == 262);
  CHECK(n_centre == 229);
  CHECK(AbGamut::from_criterion(GamutCriterion::kCentreInGamut).size() == 229);
  // A coarser sampling finds the same cells: the count is not a sampling
  // artefact (finer ones, tried when writing this, also give 262).
  CHECK(compute_gamut_mask(GamutCriterion::kCellTouchesGamut, {2.0, 1.0}) == cell);
}

TEST_CASE("gamut: Zhang et al.'s 313 bins") {
  const AbGamut& z = AbGamut::zhang313();
  REQUIRE(z.size() == 313);
  CHECK(z.name() == "zhang313");
  CHECK(AbGamut::standard().name() == "srgb262");
  CHECK(&AbGamut::named("zhang313") == &z);
  CHECK(&AbGamut::named("srgb262") == &AbGamut::standard());
  CHECK(AbGamut::names().front() == kDefaultGamut);
  CHECK(std::string(kDefaultGamut) == "zhang313");
  CHECK_THROWS_AS(AbGamut::named("zhang312"), std::invalid_argument);
  CHECK(AbGamut::with_bins(313) == &z);
  CHECK(AbGamut::with_bins(262) == &AbGamut::standard());
  CHECK(AbGamut::with_bins(229) == nullptr);
  // Spacing 10, inside the grid of candidates ([-110, 110]^2, the extended ab
  // range that holds every sRGB colour's nearest candidate), distinct,
  // numbered a-major, as in the source.
  std::set<std::pair<int, int>> seen;
  for (int q = 0; q < z.size(); ++q) {
    const AbBin c = z.centre(q);
    CHECK(std::fmod(c.a, 10.0f) == 0.0f);
    CHECK(std::fmod(c.b, 10.0f) == 0.0f);
    CHECK(c.a >= -110.0f);
    CHECK(c.a <= 110.0f);
    CHECK(c.b >= -110.0f);
    CHECK(c.b <= 110.0f);
    CHECK(seen.insert({int(c.a), int(c.b)}).second);
    CHECK(z.bin_at_grid(cell_of(c.a), cell_of(c.b)) == q);
    if (q > 0) {
      const AbBin p = z.centre(q - 1);
      CHECK((p.a < c.a || (p.a == c.a && p.b < c.b)));
    }
  }
  // The extremes of the published table (pts_in_hull.npy): a in [-90, 100],
  // b in [-110, 100]; bin 0 is (-90, 50), the last (100, 0).
  float amin = 1e9f, amax = -1e9f, bmin = 1e9f, bmax = -1e9f;
  for (const AbBin& c : z.centres()) {
    amin = std::min(amin, c.a), amax = std::max(amax, c.a);
    bmin = std::min(bmin, c.b), bmax = std::max(bmax, c.b);
  }
  CHECK(amin == -90.0f);
  CHECK(amax == 100.0f);
  CHECK(bmin == -110.0f);
  CHECK(bmax == 100.0f);
  CHECK(z.centre(0).a == -90.0f);
  CHECK(z.centre(0).b == 50.0f);
  CHECK(z.centre(312).a == 100.0f);
  CHECK(z.centre(312).b == 0.0f);
  // Every bin of our computed sRGB gamut is one of theirs; their 51 others
  // are cells that no sRGB colour touches (so no sRGB pixel is nearest to
  // them: its nearest candidate is one of the 262).
  const AbGamut& g = AbGamut::standard();
  for (const AbBin& c : g.centres()) CHECK(z.bin_at_grid(cell_of(c.a), cell_of(c.b)) >= 0);
  int extra = 0;
  for (const AbBin& c : z.centres()) extra += g.bin_at_grid(cell_of(c.a), cell_of(c.b)) < 0;
  CHECK(extra == 51);
  // Every grid neighbour (4-neighbourhood) of a bin is a bin or outside
  // their set's shape: the set has no holes.
  for (int ia = 1; ia + 1 < kGridSide; ++ia)
    for (int ib = 1; ib + 1 < kGridSide; ++ib)
      if (z.bin_at_grid(ia, ib) < 0) {
        const int around = (z.bin_at_grid(ia - 1, ib) >= 0) + (z.bin_at_grid(ia + 1, ib) >= 0) +
                           (z.bin_at_grid(ia, ib - 1) >= 0) + (z.bin_at_grid(ia, ib + 1) >= 0);
        CHECK(around < 4);
      }
}

TEST_CASE("gamut: nearest-bin lookups in the 313 bins equal brute force") {
  const AbGamut& z = AbGamut::zhang313();
  std::mt19937 rng(313);
  std::uniform_real_distribution<float> ab(-130.0f, 130.0f);
  int mismatches = 0, mismatches5 = 0, off = 0;
  for (int i = 0; i < 20000; ++i) {
    const float a = ab(rng), b = ab(rng);
    const int q = z.nearest(a, b);
    mismatches += q != z.nearest_brute_force(a, b);
    std::int32_t i1[kNeighbours], i2[kNeighbours];
    float d1[kNeighbours], d2[kNeighbours];
    z.nearest5(a, b, i1, d1);
    z.nearest5_brute_force(a, b, i2, d2);
    for (int k = 0; k < kNeighbours; ++k) mismatches5 += (i1[k] != i2[k]) || (d1[k] != d2[k]);
    // A point whose own grid cell is a bin is nearest to that bin.
    const int own = z.bin_at_grid(cell_of(a), cell_of(b));
    if (own >= 0 && std::abs(a) < 115 && std::abs(b) < 115) off += q != own;
  }
  CHECK(mismatches == 0);
  CHECK(mismatches5 == 0);
  CHECK(off == 0);
}

TEST_CASE("gamut: the pruned scan equals testing every sample") {
  // compute_gamut_mask skips ranges of L that interval bounds prove out of
  // gamut. Testing all 1001 samples of L with the plain definition
  // (lab_in_srgb_gamut) must give the same answer, here at every centre.
  const std::vector<std::uint8_t> centre = compute_gamut_mask(GamutCriterion::kCentreInGamut);
  for (int ia = 0; ia < kGridSide; ++ia) {
    for (int ib = 0; ib < kGridSide; ++ib) {
      bool any = false;
      for (int j = 0; j <= 1000 && !any; ++j)
        any = lab_in_srgb_gamut(std::min(100.0, j * 0.1), grid_to_ab(ia), grid_to_ab(ib));
      CHECK(any == bool(centre[static_cast<std::size_t>(ia * kGridSide + ib)]));
    }
  }
}

TEST_CASE("gamut: centres on the 10-grid, a-major, (0,0) present") {
  const AbGamut& g = AbGamut::standard();
  std::set<std::pair<int, int>> seen;
  for (int q = 0; q < g.size(); ++q) {
    const AbBin c = g.centre(q);
    CHECK(std::fmod(c.a, 10.0f) == 0.0f);
    CHECK(std::fmod(c.b, 10.0f) == 0.0f);
    CHECK(std::abs(c.a) <= 110.0f);
    CHECK(std::abs(c.b) <= 110.0f);
    CHECK(seen.insert({int(c.a), int(c.b)}).second);
    CHECK(g.bin_at_grid(cell_of(c.a), cell_of(c.b)) == q);
    if (q > 0) {  // numbered by a, then b
      const AbBin p = g.centre(q - 1);
      CHECK((p.a < c.a || (p.a == c.a && p.b < c.b)));
    }
  }
  const int zero = g.bin_at_grid(cell_of(0), cell_of(0));
  REQUIRE(zero >= 0);
  CHECK(g.centre(zero).a == 0.0f);
  CHECK(g.centre(zero).b == 0.0f);
  // Bin 0 is (-90, 80), the cell of pure green (-86.18, 83.18).
  CHECK(g.centre(0).a == -90.0f);
  CHECK(g.centre(0).b == 80.0f);
}

TEST_CASE("gamut: extent and (a)symmetry follow from the cube's corners") {
  // The extremes of a and b over the sRGB solid are reached at corners of the
  // RGB cube (checked over all 2^24 8-bit colours when writing this):
  // min a at green (-86.18), max a at magenta (98.23), min b at blue
  // (-107.86), max b at yellow (94.48). So the bins span exactly the cells of
  // those four values: a in [-90, 100], b in [-110, 90]. The gamut is not
  // symmetric under a -> -a or b -> -b, and neither are the bins.
  const AbGamut& g = AbGamut::standard();
  double amin = 1e9, amax = -1e9, bmin = 1e9, bmax = -1e9;
  for (const Rgb& c : cube_corners()) {
    const Lab lab = srgb_to_lab(c);
    amin = std::min(amin, lab.a), amax = std::max(amax, lab.a);
    bmin = std::min(bmin, lab.b), bmax = std::max(bmax, lab.b);
    // Every corner colour lies in a bin.
    CHECK(g.bin_at_grid(cell_of(lab.a), cell_of(lab.b)) >= 0);
  }
  float ca_min = 1e9f, ca_max = -1e9f, cb_min = 1e9f, cb_max = -1e9f;
  for (const AbBin& c : g.centres()) {
    ca_min = std::min(ca_min, c.a), ca_max = std::max(ca_max, c.a);
    cb_min = std::min(cb_min, c.b), cb_max = std::max(cb_max, c.b);
  }
  CHECK(ca_min == grid_to_ab(cell_of(amin)));
  CHECK(ca_max == grid_to_ab(cell_of(amax)));
  CHECK(cb_min == grid_to_ab(cell_of(bmin)));
  CHECK(cb_max == grid_to_ab(cell_of(bmax)));
  CHECK(ca_min == -90.0f);
  CHECK(ca_max == 100.0f);
  CHECK(cb_min == -110.0f);
  CHECK(cb_max == 90.0f);
  CHECK(g.bin_at_grid(cell_of(100), cell_of(-60)) >= 0);  // magenta's cell...
  CHECK(g.bin_at_grid(cell_of(-100), cell_of(60)) < 0);   // ...mirrored: none
  CHECK(g.bin_at_grid(cell_of(0), cell_of(-110)) < 0);
  CHECK(g.bin_at_grid(cell_of(80), cell_of(-110)) >= 0);  // blue's cell

  // No holes: each row (fixed a) and column (fixed b) of bins is one run.
  // Every constant-L slice of the gamut has this property (at fixed L, Y is
  // fixed, a depends only on X and b only on Z, both monotonically, and the
  // slice of the cube is a convex polygon in (X, Z)); the union over L keeps
  // it here.
  for (int i = 0; i < kGridSide; ++i) {
    int first_r = -1, last_r = -1, count_r = 0, first_c = -1, last_c = -1, count_c = 0;
    for (int j = 0; j < kGridSide; ++j) {
      if (g.bin_at_grid(i, j) >= 0) {
        if (first_r < 0) first_r = j;
        last_r = j, ++count_r;
      }
      if (g.bin_at_grid(j, i) >= 0) {
        if (first_c < 0) first_c = j;
        last_c = j, ++count_c;
      }
    }
    if (count_r) CHECK(last_r - first_r + 1 == count_r);
    if (count_c) CHECK(last_c - first_c + 1 == count_c);
  }
}

TEST_CASE("gamut: every sRGB colour's nearest candidate is a bin (cell criterion)") {
  // This is the defining property of the cell criterion: quantizing a real
  // colour to the full 23 x 23 grid always lands on a kept bin, within
  // 5*sqrt(2) of the colour. The centre criterion fails it.
  const AbGamut& g = AbGamut::standard();
  const AbGamut centre_only = AbGamut::from_criterion(GamutCriterion::kCentreInGamut);
  int dropped_by_centre = 0;
  const int N = 32;
  for (int r = 0; r <= N; ++r)
    for (int gg = 0; gg <= N; ++gg)
      for (int b = 0; b <= N; ++b) {
        const Lab lab = srgb_to_lab({r / double(N), gg / double(N), b / double(N)});
        const int q = g.bin_at_grid(cell_of(lab.a), cell_of(lab.b));
        CHECK(q >= 0);
        CHECK(g.nearest(float(lab.a), float(lab.b)) == q);
        const AbBin c = g.centre(q);
        CHECK(std::hypot(lab.a - c.a, lab.b - c.b) <= 5.0 * std::sqrt(2.0) + 1e-4);
        dropped_by_centre += centre_only.bin_at_grid(cell_of(lab.a), cell_of(lab.b)) < 0;
      }
  CHECK(dropped_by_centre > 0);
}

TEST_CASE("gamut: nearest and 5-nearest lookups equal brute force") {
  const AbGamut& g = AbGamut::standard();
  std::mt19937 rng(1234);
  std::uniform_real_distribution<float> ab(-130.0f, 130.0f);  // beyond the table too
  std::vector<std::pair<float, float>> points;
  for (int i = 0; i < 10000; ++i) points.push_back({ab(rng), ab(rng)});
  // Ties: cell edges and corners, integer points, the table's own edges.
  for (float a = -120.0f; a <= 120.0f; a += 2.5f)
    for (float b = -120.0f; b <= 120.0f; b += 2.5f) points.push_back({a, b});
  points.push_back({-120.0f, -120.0f});
  points.push_back({119.999f, 119.999f});
  points.push_back({120.0f, 0.0f});
  int mismatches = 0, mismatches5 = 0;
  for (const auto& [a, b] : points) {
    mismatches += g.nearest(a, b) != g.nearest_brute_force(a, b);
    std::int32_t i1[kNeighbours], i2[kNeighbours];
    float d1[kNeighbours], d2[kNeighbours];
    g.nearest5(a, b, i1, d1);
    g.nearest5_brute_force(a, b, i2, d2);
    for (int k = 0; k < kNeighbours; ++k) mismatches5 += (i1[k] != i2[k]) || (d1[k] != d2[k]);
    // Sorted by distance, and the first is the nearest.
    for (int k = 1; k < kNeighbours; ++k) CHECK(d1[k - 1] <= d1[k]);
    CHECK(i1[0] == g.nearest(a, b));
  }
  CHECK(mismatches == 0);
  CHECK(mismatches5 == 0);
  // A tie: (5, 0) is equidistant from (0, 0) and (10, 0); the lower index,
  // (0, 0) (a-major numbering), wins.
  CHECK(g.nearest(5.0f, 0.0f) == g.bin_at_grid(cell_of(0), cell_of(0)));
  // The same holds for a gamut built from any list of grid centres (as one
  // would load Zhang et al.'s 313): here a small irregular set.
  const AbGamut small({{0, 0}, {10, 0}, {0, 10}, {-50, -50}, {100, 20}, {30, -110}});
  for (int i = 0; i < 2000; ++i) {
    const float a = ab(rng), b = ab(rng);
    CHECK(small.nearest(a, b) == small.nearest_brute_force(a, b));
  }
  CHECK_THROWS(AbGamut({{0, 0}, {5, 0}, {10, 0}, {20, 0}, {30, 0}}));  // off-grid
  CHECK_THROWS(AbGamut({{0, 0}, {0, 0}, {10, 0}, {20, 0}, {30, 0}}));  // duplicate
}

// ===========================================================================
// Soft-encoding

TEST_CASE("soft-encode: a pixel by hand") {
  // ab = (3, 4). Its 5 nearest centres and squared distances:
  //   (0, 0): 9 + 16 = 25        (0, 10): 9 + 36 = 45
  //   (10, 0): 49 + 16 = 65      (10, 10): 49 + 36 = 85
  //   (-10, 0): 169 + 16 = 185   (next: (0, -10) and (-10, 10) at 205)
  // weights exp(-d^2 / 50) normalised:
  //   e^-0.5 = 0.60653, e^-0.9 = 0.40657, e^-1.3 = 0.27253, e^-1.7 = 0.18268,
  //   e^-3.7 = 0.02472; sum = 1.49304, so w = 0.40624, 0.27231, 0.18253,
  //   0.12236, 0.01656.
  const AbGamut& g = AbGamut::standard();
  std::int32_t idx[kNeighbours];
  float w[kNeighbours];
  soft_encode_pixel(g, 3.0f, 4.0f, idx, w);
  const int expect_a[5] = {0, 0, 10, 10, -10}, expect_b[5] = {0, 10, 0, 10, 0};
  const double expect_w[5] = {0.40624, 0.27231, 0.18253, 0.12236, 0.01656};
  double sum = 0.0;
  for (int k = 0; k < kNeighbours; ++k) {
    CHECK(g.centre(idx[k]).a == float(expect_a[k]));
    CHECK(g.centre(idx[k]).b == float(expect_b[k]));
    CHECK(w[k] == doctest::Approx(expect_w[k]).epsilon(2e-4));
    sum += w[k];
  }
  CHECK(sum == doctest::Approx(1.0).epsilon(1e-6));
  // Ratios are exactly the Gaussian of the distances: w1/w0 = exp(-(45-25)/50).
  CHECK(w[1] / w[0] == doctest::Approx(std::exp(-20.0 / 50.0)).epsilon(1e-5));
}

TEST_CASE("soft-encode: a pixel on a centre keeps most of its mass there") {
  const AbGamut& g = AbGamut::standard();
  std::int32_t idx[kNeighbours];
  float w[kNeighbours];
  for (int q = 0; q < g.size(); ++q) {
    soft_encode_pixel(g, g.centre(q).a, g.centre(q).b, idx, w);
    CHECK(idx[0] == q);
    CHECK(*std::max_element(w, w + kNeighbours) == w[0]);
  }
  // Inside the gamut its 4 neighbours are at 10: w = 1 / (1 + 4 e^-2).
  soft_encode_pixel(g, 0.0f, 0.0f, idx, w);
  CHECK(w[0] == doctest::Approx(1.0 / (1.0 + 4.0 * std::exp(-2.0))).epsilon(1e-5));
}

TEST_CASE("soft-encode: dense and sparse forms sum to 1 and agree") {
  const AbGamut& g = AbGamut::standard();
  const int Q = g.size();
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-110.0f, 110.0f);
  const std::size_t n = 300;
  std::vector<float> ab(2 * n);
  for (auto& v : ab) v = u(rng);
  ab[0] = 127.0f, ab[n] = 127.0f;  // far outside every bin: no NaN
  std::vector<float> dense(static_cast<std::size_t>(Q) * n, -1.0f), from_sparse(dense.size());
  std::vector<std::int32_t> idx(kNeighbours * n);
  std::vector<float> w(kNeighbours * n);
  soft_encode_dense(g, ab.data(), n, dense.data());
  soft_encode_sparse(g, ab.data(), n, idx.data(), w.data());
  sparse_to_dense(idx.data(), w.data(), n, Q, from_sparse.data());
  CHECK(dense == from_sparse);
  for (std::size_t i = 0; i < n; ++i) {
    double s = 0.0;
    int nonzero = 0;
    for (int q = 0; q < Q; ++q) {
      const float v = dense[static_cast<std::size_t>(q) * n + i];
      CHECK(std::isfinite(v));
      s += v;
      nonzero += v != 0.0f;
    }
    CHECK(s == doctest::Approx(1.0).epsilon(1e-6));
    CHECK(nonzero <= kNeighbours);
    CHECK(idx[kNeighbours * i] == g.nearest(ab[i], ab[n + i]));
  }
}

// ===========================================================================
// Rebalancing

TEST_CASE("rebalance: uniform p gives w = 1") {
  const int Q = AbGamut::standard().size();
  const std::vector<float> p(static_cast<std::size_t>(Q), 1.0f / Q);
  for (float w : rebalance_weights(p)) CHECK(w == doctest::Approx(1.0f).epsilon(1e-6));
}

TEST_CASE("rebalance: E_p[w] = 1 and rarer bins weigh more") {
  const int Q = AbGamut::standard().size();
  std::mt19937 rng(99);
  std::exponential_distribution<double> e(1.0);
  std::vector<float> p(static_cast<std::size_t>(Q));
  double total = 0.0;
  for (auto& v : p) {
    const double x = std::pow(e(rng), 4.0);  // heavily skewed
    v = static_cast<float>(x);
    total += x;
  }
  for (auto& v : p) v = static_cast<float>(v / total);
  p[3] = 0.0f;  // an empty bin
  const std::vector<float> w = rebalance_weights(p);
  double expectation = 0.0;
  for (int q = 0; q < Q; ++q) expectation += double(p[q]) * w[q];
  CHECK(expectation == doctest::Approx(1.0).epsilon(1e-5));
  // w is decreasing in p: strictly, where p differs by more than float
  // rounding can resolve (bins with p ~ 1e-9 all get the same float weight).
  for (int q = 0; q < Q; ++q)
    for (int r = 0; r < Q; ++r) {
      if (p[q] < p[r]) CHECK(w[q] >= w[r]);
      if (p[q] + 1e-4f < p[r]) CHECK(w[q] > w[r]);
    }
  // The empty bin gets the largest weight, bounded: (Q + 1) times what a
  // bin holding every pixel would get (see rebalance.h).
  CHECK(*std::max_element(w.begin(), w.end()) == w[3]);
  std::vector<float> one_hot(static_cast<std::size_t>(Q), 0.0f);
  one_hot[0] = 1.0f;
  const std::vector<float> w1 = rebalance_weights(one_hot);
  CHECK(w1[1] / w1[0] == doctest::Approx(Q + 1.0).epsilon(1e-5));
}

TEST_CASE("rebalance: smoothing by ab distance") {
  const AbGamut& g = AbGamut::standard();
  const int Q = g.size();
  // All mass on (0, 0): the smoothed mass at a neighbour 10 away is e^-2 of
  // the centre's (sigma = 5: exp(-100 / 50)), at (10, 10) e^-4.
  std::vector<float> p(static_cast<std::size_t>(Q), 0.0f);
  const int zero = g.bin_at_grid(cell_of(0), cell_of(0));
  p[static_cast<std::size_t>(zero)] = 1.0f;
  const std::vector<float> s = smooth_distribution(g, p);
  double total = 0.0;
  for (float v : s) total += v;
  CHECK(total == doctest::Approx(1.0).epsilon(1e-6));
  const float s10 = s[static_cast<std::size_t>(g.bin_at_grid(cell_of(10), cell_of(0)))];
  const float s1010 = s[static_cast<std::size_t>(g.bin_at_grid(cell_of(10), cell_of(10)))];
  CHECK(s10 / s[zero] == doctest::Approx(std::exp(-2.0)).epsilon(1e-5));
  CHECK(s1010 / s[zero] == doctest::Approx(std::exp(-4.0)).epsilon(1e-5));
}

TEST_CASE("rebalance: histogram, prior and per-pixel weights") {
  const AbGamut& g = AbGamut::standard();
  // 6 pixels: three near (0, 0), two near (20, 30), one near (-40, 60).
  // The first three as a planar ab image (a plane, then b plane); the other
  // three as already-known bins, in a second histogram merged into the first.
  const float ab[6] = {1, -2, 3,    // a
                       0, 1, -3};   // b
  BinHistogram h(g.size()), h2(g.size());
  h.add_ab(g, ab, 3);
  const std::int32_t bins[3] = {g.nearest(19, 31), g.nearest(21, 29), g.nearest(-41, 58)};
  h2.add_bins(bins, 3);
  h.merge(h2);
  CHECK(h.total() == 6);
  const int q0 = g.bin_at_grid(cell_of(0), cell_of(0));
  const int q1 = g.bin_at_grid(cell_of(20), cell_of(30));
  const int q2 = g.bin_at_grid(cell_of(-40), cell_of(60));
  CHECK(h.counts()[q0] == 3);
  CHECK(h.counts()[q1] == 2);
  CHECK(h.counts()[q2] == 1);
  const std::vector<float> p = h.distribution();
  CHECK(p[q0] == doctest::Approx(0.5));
  const RebalancePrior prior = RebalancePrior::from_histogram(g, h);
  double e = 0.0;
  for (int q = 0; q < g.size(); ++q) e += double(prior.p_smooth[q]) * prior.weights[q];
  CHECK(e == doctest::Approx(1.0).epsilon(1e-5));
  CHECK(prior.weights[q2] > prior.weights[q1]);
  CHECK(prior.weights[q1] > prior.weights[q0]);
  // Per pixel: w at the nearest bin (ab planar, a then b).
  const float pix[4] = {2, -39, 1, 61};
  float out[2];
  pixel_weights(g, prior.weights, pix, 2, out);
  CHECK(out[0] == prior.weights[q0]);
  CHECK(out[1] == prior.weights[q2]);
}

// ===========================================================================
// Decoding

TEST_CASE("decode: one-hot, mode, mean and the annealed mean") {
  const AbGamut& g = AbGamut::standard();
  const int Q = g.size();
  const std::size_t n = 3;
  std::vector<float> z(static_cast<std::size_t>(Q) * n, 0.0f);
  auto at = [&](int q, std::size_t i) -> float& { return z[static_cast<std::size_t>(q) * n + i]; };
  const int qa = g.bin_at_grid(cell_of(20), cell_of(30));
  const int qb = g.bin_at_grid(cell_of(-40), cell_of(60));
  const int qc = g.bin_at_grid(cell_of(60), cell_of(-20));
  at(qa, 0) = 1.0f;                  // pixel 0: one-hot
  at(qa, 1) = 0.75f, at(qb, 1) = 0.25f;  // pixel 1: two bins
  for (int q = 0; q < Q; ++q) at(q, 2) = 0.5f / (Q - 1);  // pixel 2: broad...
  at(qc, 2) = 0.5f;                                        // ...with a peak
  float ann[2 * n], mean[2 * n], mode[2 * n], t1[2 * n];
  decode_annealed_mean(g, z.data(), n, ann);
  decode_mean(g, z.data(), n, mean);
  decode_mode(g, z.data(), n, mode);
  decode_annealed_mean(g, z.data(), n, t1, 1.0f);
  // One-hot: every decoder returns the bin's centre.
  CHECK(ann[0] == doctest::Approx(20.0f));
  CHECK(ann[n] == doctest::Approx(30.0f));
  CHECK(mean[0] == doctest::Approx(20.0f));
  CHECK(mode[0] == 20.0f);
  CHECK(mode[n] == 30.0f);
  // Mode of pixels 1 and 2.
  CHECK(mode[1] == 20.0f);
  CHECK(mode[n + 1] == 30.0f);
  CHECK(mode[2] == 60.0f);
  CHECK(mode[n + 2] == -20.0f);
  // Mean of pixel 1: 0.75 (20, 30) + 0.25 (-40, 60) = (5, 37.5).
  CHECK(mean[1] == doctest::Approx(5.0f));
  CHECK(mean[n + 1] == doctest::Approx(37.5f));
  // Annealed, T = 0.38: weights 0.75^(1/T) : 0.25^(1/T), i.e. 1 : 3^(-1/0.38).
  const double r = std::pow(1.0 / 3.0, 1.0 / 0.38);  // = 0.0554
  CHECK(ann[1] == doctest::Approx((20.0 - 40.0 * r) / (1.0 + r)).epsilon(1e-5));
  CHECK(ann[n + 1] == doctest::Approx((30.0 + 60.0 * r) / (1.0 + r)).epsilon(1e-5));
  // T = 1 is the mean.
  for (std::size_t i = 0; i < 2 * n; ++i) CHECK(t1[i] == doctest::Approx(mean[i]).epsilon(1e-5));
  // Annealing pulls pixel 2 from the mean towards its mode.
  const double d_ann = std::hypot(ann[2] - 60.0, ann[n + 2] + 20.0);
  const double d_mean = std::hypot(mean[2] - 60.0, mean[n + 2] + 20.0);
  CHECK(d_ann < d_mean);
  // A very low temperature is the mode.
  float cold[2 * n];
  decode_annealed_mean(g, z.data(), n, cold, 0.01f);
  CHECK(cold[2] == doctest::Approx(60.0f).epsilon(1e-4));
  CHECK(cold[n + 2] == doctest::Approx(-20.0f).epsilon(1e-4));
}

TEST_CASE("decode: from logits = softmax then annealed mean") {
  const AbGamut& g = AbGamut::standard();
  const int Q = g.size();
  const std::size_t n = 4;
  std::mt19937 rng(5);
  std::normal_distribution<float> N(0.0f, 3.0f);
  std::vector<float> logits(static_cast<std::size_t>(Q) * n), z(logits.size());
  for (auto& v : logits) v = N(rng);
  logits[0] = 500.0f;  // large logits must not overflow
  softmax(logits.data(), Q, n, z.data());
  for (std::size_t i = 0; i < n; ++i) {
    double s = 0.0;
    for (int q = 0; q < Q; ++q) s += z[static_cast<std::size_t>(q) * n + i];
    CHECK(s == doctest::Approx(1.0).epsilon(1e-5));
  }
  float a1[2 * n], a2[2 * n];
  decode_annealed_mean(g, z.data(), n, a1);
  decode_logits(g, logits.data(), n, a2);
  for (std::size_t i = 0; i < 2 * n; ++i) CHECK(a1[i] == doctest::Approx(a2[i]).epsilon(1e-3));
  CHECK(a2[0] == doctest::Approx(g.centre(0).a));  // pixel 0 is one-hot on bin 0
}

TEST_CASE("decode: prior correction divides the rebalancing weights out before annealing") {
  const AbGamut& g = AbGamut::standard();
  const int Q = g.size();
  const std::size_t n = 5;
  std::mt19937 rng(11);
  std::normal_distribution<float> N(0.0f, 2.0f);
  std::uniform_real_distribution<float> U(0.2f, 6.0f);
  std::vector<float> w(Q), logits(static_cast<std::size_t>(Q) * n);
  for (auto& v : w) v = U(rng);
  for (auto& v : logits) v = N(rng);
  // beta 0: no change at all.
  const std::vector<float> zero = prior_correction_offsets(w, 0.0f);
  for (float v : zero) CHECK(v == 0.0f);
  // Any beta and T: the annealed mean of z' = z / w^beta (normalised), z = softmax(s).
  std::vector<float> z(logits.size());
  softmax(logits.data(), Q, n, z.data());
  double worst = 0;
  std::size_t worst_at = 0;
  for (float beta : {0.5f, 1.0f})
    for (float T : {1.0f, 0.38f}) {
      std::vector<float> zc(z.size());
      for (std::size_t i = 0; i < n; ++i) {
        double s = 0;
        for (int q = 0; q < Q; ++q) s += zc[q * n + i] = float(z[q * n + i] / std::pow(double(w[q]), beta));
        for (int q = 0; q < Q; ++q) zc[q * n + i] = float(zc[q * n + i] / s);
      }
      float expect[2 * n], got[2 * n];
      decode_annealed_mean(g, zc.data(), n, expect, T);
      const std::vector<float> off = prior_correction_offsets(w, beta);
      decode_logits(g, logits.data(), n, got, T, off.data());
      for (std::size_t i = 0; i < 2 * n; ++i)
        if (std::abs(got[i] - expect[i]) > worst) worst = std::abs(got[i] - expect[i]), worst_at = i;
    }
  MESSAGE("worst |ab| difference " << worst << " at value " << worst_at);
  CHECK(worst < 1e-3);
  // beta 1 on a network that learned z proportional to w p recovers p's mean (T = 1).
  std::vector<float> p(Q), s1(Q);
  double ps = 0, ea = 0, eb = 0;
  for (auto& v : p) ps += v = U(rng);
  for (int q = 0; q < Q; ++q) {
    p[q] = float(p[q] / ps);
    s1[q] = std::log(w[q] * p[q]);
    ea += p[q] * g.centre(q).a;
    eb += p[q] * g.centre(q).b;
  }
  const std::vector<float> off1 = prior_correction_offsets(w, 1.0f);
  float ab1[2];
  decode_logits(g, s1.data(), 1, ab1, 1.0f, off1.data());
  CHECK(ab1[0] == doctest::Approx(ea).epsilon(1e-4));
  CHECK(ab1[1] == doctest::Approx(eb).epsilon(1e-4));
  // A weight that is not positive cannot be divided out.
  std::vector<float> bad = w;
  bad[7] = 0.0f;
  CHECK_THROWS_AS(prior_correction_offsets(bad, 0.5f), std::invalid_argument);
}

// ===========================================================================
// Colorfulness

TEST_CASE("colorfulness: gray, constant colour, red and blue") {
  // Gray: rg = yb = 0 everywhere.
  const std::uint8_t gray[9] = {10, 10, 10, 128, 128, 128, 250, 250, 250};
  CHECK(colorfulness(gray, 3) == 0.0);
  // A constant colour: no spread, M = 0.3 sqrt(rg^2 + yb^2). (200, 100, 50):
  // rg = 100, yb = 150 - 50 = 100, M = 0.3 * sqrt(20000) = 42.4264.
  const std::uint8_t flat[6] = {200, 100, 50, 200, 100, 50};
  CHECK(colorfulness(flat, 2) == doctest::Approx(0.3 * std::sqrt(20000.0)));
  CHECK(colorfulness(flat, 2) == doctest::Approx(42.4264).epsilon(1e-5));
  // Pure red (255, 0, 0) and pure blue (0, 0, 255):
  //   red:  rg = 255, yb = 127.5;   blue: rg = 0, yb = -255.
  //   mean_rg = 127.5, mean_yb = -63.75;
  //   sd_rg = |255 - 0| / 2 = 127.5, sd_yb = |127.5 + 255| / 2 = 191.25
  //   (two values: the population sd is half their difference).
  //   With 63.75 = 127.5 / 2: sd part = 63.75 sqrt(2^2 + 3^2) = 63.75 sqrt(13),
  //   mean part = 63.75 sqrt(2^2 + 1^2) = 63.75 sqrt(5), so
  //   M = 63.75 (sqrt(13) + 0.3 sqrt(5)) = 229.854 + 42.765 = 272.619.
  const std::uint8_t rb[6] = {255, 0, 0, 0, 0, 255};
  CHECK(colorfulness(rb, 2) == doctest::Approx(63.75 * (std::sqrt(13.0) + 0.3 * std::sqrt(5.0))));
  CHECK(colorfulness(rb, 2) == doctest::Approx(272.619).epsilon(1e-5));
  const float rbf[6] = {255, 0, 0, 0, 0, 255};
  CHECK(colorfulness(rbf, 2) == colorfulness(rb, 2));
  CHECK(colorfulness(rb, 0) == 0.0);
}
