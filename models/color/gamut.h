// The quantized ab gamut: the output classes of the classification colorizer.
//
// Zhang et al. (ECCV 2016) quantize the ab plane on a grid of spacing 10 and
// keep the bins that are "in gamut". The candidate bins here are the 23 x 23
// = 529 centres (a, b) with a, b in {-110, -100, ..., 110}; each centre owns
// the square cell [a-5, a+5] x [b-5, b+5], which is exactly the set of ab
// points whose nearest candidate it is (the Voronoi cell of a square grid).
//
// Which bins to keep: two criteria, both decided by sampling the LAB -> RGB
// conversion (an (L, a, b) is an sRGB colour when its linear RGB lies in
// [0,1]^3):
//
//   kCellTouchesGamut  (the default, 262 bins) keep a bin when some point of
//       its cell is an sRGB colour at some L. Sampled: (a, b) every 1 unit
//       over the cell (edges included, 11 x 11 points) times L every 0.1 over
//       [0, 100]. Why the cell and not the centre: this is Zhang et al.'s own
//       criterion, "the bins that occur in the data", taken to the limit of a
//       data set that holds every sRGB colour. Every pixel of every image
//       falls in one of these bins (its nearest candidate is kept), so no
//       colour is quantized by more than 5*sqrt(2) = 7.07, and no bin is one
//       that no image can populate.
//   kCentreInGamut     (229 bins) keep a bin when its centre (a, b) is an
//       sRGB colour at some L (L every 0.1). Every kept centre is displayable,
//       but it drops 33 cells that hold real colours, whose pixels then go to
//       a neighbour bin up to 9.35 units away.
//
// Zhang et al.'s own 313 bins are a published table (zhang313.h): they are
// the classification model's default (AbGamut::zhang313(), named "zhang313"
// in weights files), this computed gamut the option "srgb262".
//
// Why our criterion does not give 313: Zhang et al. took their bins from the ImageNet empirical
// distribution, not from a gamut computation, and no sRGB data can populate
// more than 262 bins under nearest-bin quantization (all 2^24 8-bit colours
// reach 261 of them; the 262nd, (20, -80), holds only a sliver of non-8-bit
// colours). So at least 51 of their 313 bins are bins that no sRGB colour
// is nearest to. Growing our 262 by one ring of 4-neighbours gives 322, close to
// 313: their set looks like ours dilated by the histogram smoothing or by a
// coarser assignment than nearest-bin (their published code does not say).
// (Their table contains all 262 of ours, zhang313.h.) The convex hull of
// the gamut's ab shadow holds 233 centres. Any other set of centres on the
// grid makes an AbGamut too.
//
// Lookups (nearest bin, 5 nearest bins) are exact: they return what a brute
// force scan over all bins by Euclidean distance returns, ties going to the
// lower bin index, but read a precomputed table of candidates for each
// 1 x 1 square of the ab plane instead of scanning every bin.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace tinct::color {

inline constexpr float kBinSpacing = 10.0f;  // grid of the ab quantization
inline constexpr int kGridSide = 23;         // centres -110, -100, ..., 110 per axis
inline constexpr int kGridCandidates = kGridSide * kGridSide;  // 529
inline constexpr float kGridMin = -110.0f;   // the first centre on each axis
inline constexpr int kNeighbours = 5;        // soft-encoding spreads over 5 bins

// The named gamuts, as weights files and `tinct prepare --gamut` name them.
inline constexpr const char* kGamutZhang313 = "zhang313";  // Zhang et al.'s table, 313 bins
inline constexpr const char* kGamutSrgb262 = "srgb262";    // kCellTouchesGamut, 262 bins
inline constexpr const char* kDefaultGamut = kGamutZhang313;  // the classification model's

// The ab value (-110, -100, ..., 110) of grid coordinate i (0..22).
inline float grid_to_ab(int i) { return kGridMin + kBinSpacing * static_cast<float>(i); }

enum class GamutCriterion {
  kCellTouchesGamut,  // some point of the bin's cell is an sRGB colour (262 bins)
  kCentreInGamut,     // the bin's centre is an sRGB colour (229 bins)
};

struct GamutSampling {
  double ab_step = 1.0;  // spacing of (a, b) samples across a cell (kCellTouchesGamut);
                         // rounded so that a whole number of steps spans 10
  double L_step = 0.1;   // spacing of L samples over [0, 100]
};

// True when (L, a, b) converts to linear RGB inside [0,1]^3 (up to 1e-9 of
// rounding, so that the white (100, 0, 0) and black count as inside).
bool lab_in_srgb_gamut(double L, double a, double b);

// Fitting predicted colours into the gamut (colorize's last step before RGB).
// A predicted (L, a, b) outside the sRGB gamut would be clipped per channel
// on the way to RGB, which shifts its lightness and hue. Instead its ab is
// scaled by the largest t in {k / 4096} found by 12 bisection steps on
// [0, 1] such that (L, t a, t b) is in gamut (lab_in_srgb_gamut): lightness
// and hue are kept. L [n], ab [2, n] planar, ab modified in place.
//
// fit_chroma_to_gamut_ref is the readable specification (a bisection per
// pixel through lab_in_srgb_gamut). fit_chroma_to_gamut gives the same
// result: pixels that a float conversion puts inside the cube by a margin
// (1e-5, ten times the float error) are skipped, 8 at a time; the rest run
// the same double-precision bisection, inlined. Equal bit for bit when both
// are compiled without FMA contraction (the default x86-64-v2 build);
// tests/test_colorize_pipeline.cpp compares them.
void fit_chroma_to_gamut_ref(const float* L, float* ab, std::size_t n);
void fit_chroma_to_gamut(const float* L, float* ab, std::size_t n);

// True when some sampled L in [0, 100] makes (L, a, b) an sRGB colour.
bool ab_in_srgb_gamut_at_some_L(double a, double b, double L_step = 0.1);

// One flag per candidate (index ia * 23 + ib, centre (grid_to_ab(ia),
// grid_to_ab(ib))): 1 = keep. Computed from scratch (about 0.1 s).
std::vector<std::uint8_t> compute_gamut_mask(GamutCriterion criterion,
                                             const GamutSampling& sampling = {});

struct AbBin {
  float a, b;
};

class AbGamut {
 public:
  // The computed sRGB gamut, "srgb262": kCellTouchesGamut, 262 bins,
  // numbered a-major (by a, then b). Read from a table in gamut.cpp that
  // test_color recomputes. (The classification model's default is zhang313.)
  static const AbGamut& standard();

  // Zhang et al.'s 313 bins (zhang313.h), in their order; named "zhang313".
  static const AbGamut& zhang313();

  // A named gamut ("zhang313", "srgb262"); throws std::invalid_argument
  // naming the known ones for any other name.
  static const AbGamut& named(const std::string& name);
  // The names, the default first.
  static std::vector<std::string> names();
  // The named gamut with Q bins (Q = 262 or 313), or null: how a weights
  // file that predates the "gamut" metadata (262 bins) is told apart.
  static const AbGamut* with_bins(int Q);

  // Bins chosen by a criterion, numbered a-major.
  static AbGamut from_criterion(GamutCriterion criterion, const GamutSampling& sampling = {});

  // Any set of at least 5 distinct centres on the grid (multiples of 10 in
  // [-110, 110]), numbered in the order given. Throws std::invalid_argument.
  explicit AbGamut(std::vector<AbBin> centres);

  int size() const { return static_cast<int>(centres_.size()); }
  // "zhang313", "srgb262", or "" for a gamut built from a list of centres.
  const std::string& name() const { return name_; }
  const std::vector<AbBin>& centres() const { return centres_; }
  const AbBin& centre(int q) const { return centres_[static_cast<std::size_t>(q)]; }

  // Bin index of the centre at grid coordinates (ia, ib), or -1 if that
  // candidate is not a bin (or the coordinates are off the grid).
  int bin_at_grid(int ia, int ib) const;

  // Nearest bin of (a, b) by Euclidean distance; ties go to the lower index.
  int nearest(float a, float b) const;
  int nearest_brute_force(float a, float b) const;

  // The 5 nearest bins in increasing distance (ties: lower index first), and
  // their squared distances if d2 is not null.
  void nearest5(float a, float b, std::int32_t idx[kNeighbours], float* d2 = nullptr) const;
  void nearest5_brute_force(float a, float b, std::int32_t idx[kNeighbours],
                            float* d2 = nullptr) const;

 private:
  // A lookup table over [kLutMin, kLutMin + kLutSide)^2 in squares of side 1:
  // for each square, the bins that can be nearest (resp. among the 5 nearest)
  // for some point of the square, in CSR form (about 2 MB for the standard
  // gamut, built in about 50 ms). Points outside fall back to brute force.
  static constexpr float kLutMin = -120.0f;
  static constexpr int kLutSide = 240;

  AbGamut(std::vector<AbBin> centres, std::string name) : AbGamut(std::move(centres)) {
    name_ = std::move(name);
  }
  void build_lookup();
  int lut_square(float a, float b) const;  // -1 outside the table

  std::vector<AbBin> centres_;
  std::string name_;
  std::vector<std::int32_t> grid_to_bin_;  // 529 entries, -1 = not a bin
  std::vector<std::int32_t> nn_begin_, nn_bins_;    // candidates for nearest()
  std::vector<std::int32_t> knn_begin_, knn_bins_;  // candidates for nearest5()
};

}  // namespace tinct::color
