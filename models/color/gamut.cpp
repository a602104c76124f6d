// The quantized ab gamut. See gamut.h for the criteria and the bin count.
#include "models/color/gamut.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>

#include "models/color/lab.h"
#include "models/color/zhang313.h"

namespace tinct::color {

// ---------------------------------------------------------------------------
// Gamut membership by sampling.

bool lab_in_srgb_gamut(double L, double a, double b) {
  // The sRGB transfer curve maps [0,1] onto [0,1] monotonically, so testing
  // linear RGB is the same as testing sRGB, without three pow() calls.
  return in_unit_cube(lab_to_linear_rgb({L, a, b}), 1e-9);
}

// ---------------------------------------------------------------------------
// Fitting into the gamut.

void fit_chroma_to_gamut_ref(const float* L, float* ab, std::size_t n) {
  // Pixels are independent; out-of-gamut ones cluster, hence dynamic chunks.
#pragma omp parallel for schedule(dynamic, 2048) if (n >= 4096)
  for (std::size_t i = 0; i < n; ++i) {
    const double l = L[i], a = ab[i], b = ab[n + i];
    if (lab_in_srgb_gamut(l, a, b)) continue;
    double lo = 0, hi = 1;  // scale 0 (gray) is always in gamut for L in [0, 100]
    for (int it = 0; it < 12; ++it) {
      const double mid = 0.5 * (lo + hi);
      (lab_in_srgb_gamut(l, a * mid, b * mid) ? lo : hi) = mid;
    }
    ab[i] = float(a * lo);
    ab[n + i] = float(b * lo);
  }
}

namespace {

// lab_in_srgb_gamut(L, t a, t b) for one pixel, with the terms that depend on
// L only computed once. The operations are those of lab_to_xyz,
// xyz_to_linear_rgb and in_unit_cube, in the same order, so the answer is
// the same bit for bit (fy and Y are the same doubles whether computed once
// or per call).
struct RayTest {
  double fy, Y, a, b;
  const Mat3& M = xyz_to_linear_rgb_matrix();
  RayTest(double L, double a_, double b_)
      : fy((L + 16.0) / 116.0), Y(kWhiteY * lab_f_inverse(fy)), a(a_), b(b_) {}
  bool inside(double t) const {
    const double fx = fy + (a * t) / 500.0;
    const double fz = fy - (b * t) / 200.0;
    const double X = kWhiteX * lab_f_inverse(fx), Z = kWhiteZ * lab_f_inverse(fz);
    constexpr double lo = -1e-9, hi = 1.0 + 1e-9;  // lab_in_srgb_gamut's tolerance
    for (int r = 0; r < 3; ++r) {
      const double c = M.m[r][0] * X + M.m[r][1] * Y + M.m[r][2] * Z;
      if (!(c >= lo && c <= hi)) return false;
    }
    return true;
  }
};

}  // namespace

void fit_chroma_to_gamut(const float* L, float* ab, std::size_t n) {
  // The float screen: within 1e-5 of the cube's inside, far more than the
  // float conversion's error (about 1e-6), the double chain is inside too.
  constexpr float kMargin = 1e-5f;
  constexpr std::size_t kSpan = kLinearSpan;
#pragma omp parallel for schedule(dynamic, 8) if (n >= 4096)
  for (std::size_t s = 0; s < n; s += kSpan) {
    const int m = static_cast<int>(std::min<std::size_t>(kSpan, n - s));
    alignas(32) float r[kSpan], g[kSpan], bl[kSpan];
    alignas(32) std::int32_t surely[kSpan];
    lab_to_linear_span(L + s, ab + s, ab + n + s, m, kMargin, 1.0f - kMargin, r, g, bl, surely);
    for (int k = 0; k < m; ++k) {
      if (surely[k]) continue;
      const std::size_t i = s + static_cast<std::size_t>(k);
      const double a = ab[i], b = ab[n + i];
      const RayTest ray(L[i], a, b);
      if (ray.inside(1.0)) continue;
      double lo = 0, hi = 1;  // the reference's bisection, step for step
      for (int it = 0; it < 12; ++it) {
        const double mid = 0.5 * (lo + hi);
        (ray.inside(mid) ? lo : hi) = mid;
      }
      ab[i] = float(a * lo);
      ab[n + i] = float(b * lo);
    }
  }
}

namespace {

// Answers "is (L, a, b) an sRGB colour for some sample L = j * L_step in
// [0, 100]?" with exactly the result of testing every sample, but without
// testing most of them.
//
// For a fixed (a, b), X, Y and Z all grow with L: fy = (L + 16) / 116 grows,
// fx = fy + a/500 and fz = fy - b/200 grow with it, and f^-1 is increasing.
// So over a range of L, each of X, Y, Z lies between its values at the two
// ends, and each linear RGB channel (a fixed linear combination of X, Y, Z)
// lies between the bounds that interval arithmetic gives. When those bounds
// put a channel entirely below 0 or above 1, no sample in the range can be in
// gamut and the range is skipped; otherwise it is halved, down to ranges of a
// few samples, which are tested one by one. Out-of-gamut (a, b) (half of the
// lattice) are dismissed after a handful of bound evaluations instead of
// 1001 tests.
class GamutScan {
 public:
  GamutScan() {
    // Fold the white point into the XYZ -> linear RGB matrix:
    // rgb = Minv * (Xn f^-1(fx), Yn f^-1(fy), Zn f^-1(fz)).
    const Mat3& Minv = xyz_to_linear_rgb_matrix();
    const double white[3] = {kWhiteX, kWhiteY, kWhiteZ};
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 3; ++j) m_[i][j] = Minv.m[i][j] * white[j];
  }

  bool at_some_L(double a, double b, double L_step) const {
    const int steps = static_cast<int>(std::lround(100.0 / L_step));
    return any_in_range(a, b, 0, steps, L_step);
  }

 private:
  // A channel is inside when it lies in [-kTol, 1 + kTol]: the tolerance
  // lets white (100, 0, 0) and black (0, 0, 0), whose channels are 1 and 0
  // up to rounding, count as inside.
  static constexpr double kTol = 1e-9;

  static double f_inverse(double u) {
    constexpr double d = kLabDelta;
    return u > d ? u * u * u : 3.0 * d * d * (u - 4.0 / 29.0);
  }

  // The relative XYZ (f^-1 of fx, fy, fz) of (L, a, b).
  static void xyz(double L, double a, double b, double out[3]) {
    const double fy = (L + 16.0) / 116.0;
    out[0] = f_inverse(fy + a / 500.0);
    out[1] = f_inverse(fy);
    out[2] = f_inverse(fy - b / 200.0);
  }

  // lab_in_srgb_gamut, with the white point folded into the matrix.
  bool in_gamut(double L, double a, double b) const {
    double v[3];
    xyz(L, a, b, v);
    for (int i = 0; i < 3; ++i) {
      const double c = m_[i][0] * v[0] + m_[i][1] * v[1] + m_[i][2] * v[2];
      if (c < -kTol || c > 1.0 + kTol) return false;
    }
    return true;
  }

  // Can some L in [L0, L1] put (L, a, b) in gamut? False is a proof of "no".
  bool maybe_in_gamut(double L0, double L1, double a, double b) const {
    double lo[3], hi[3];
    xyz(L0, a, b, lo);
    xyz(L1, a, b, hi);
    for (int i = 0; i < 3; ++i) {
      double cmin = 0.0, cmax = 0.0;
      for (int k = 0; k < 3; ++k) {
        const double p = m_[i][k] * lo[k], q = m_[i][k] * hi[k];
        cmin += std::min(p, q);
        cmax += std::max(p, q);
      }
      // 1e-12 of slack covers the rounding of these sums.
      if (cmax < -kTol - 1e-12 || cmin > 1.0 + kTol + 1e-12) return false;
    }
    return true;
  }

  static double sample_L(int j, double L_step) { return std::min(100.0, j * L_step); }

  // Is some sample j in [j0, j1] in gamut?
  bool any_in_range(double a, double b, int j0, int j1, double L_step) const {
    if (!maybe_in_gamut(sample_L(j0, L_step), sample_L(j1, L_step), a, b)) return false;
    if (j1 - j0 < 8) {
      for (int j = j0; j <= j1; ++j)
        if (in_gamut(sample_L(j, L_step), a, b)) return true;
      return false;
    }
    const int mid = j0 + (j1 - j0) / 2;
    return any_in_range(a, b, j0, mid, L_step) || any_in_range(a, b, mid + 1, j1, L_step);
  }

  double m_[3][3];
};

}  // namespace

bool ab_in_srgb_gamut_at_some_L(double a, double b, double L_step) {
  return GamutScan().at_some_L(a, b, L_step);
}

std::vector<std::uint8_t> compute_gamut_mask(GamutCriterion criterion,
                                             const GamutSampling& s) {
  const GamutScan scan;
  std::vector<std::uint8_t> mask(kGridCandidates, 0);
  if (criterion == GamutCriterion::kCentreInGamut) {
    for (int ia = 0; ia < kGridSide; ++ia)
      for (int ib = 0; ib < kGridSide; ++ib)
        mask[static_cast<std::size_t>(ia * kGridSide + ib)] =
            scan.at_some_L(grid_to_ab(ia), grid_to_ab(ib), s.L_step);
    return mask;
  }
  // kCellTouchesGamut. The (a, b) samples form one lattice of spacing ab_step
  // over the whole grid, aligned with the cell edges (c - 5, c + 5), so that
  // samples on an edge are shared by the two cells that meet there and tested
  // once. A cell is kept when any lattice point of the closed cell is in gamut.
  // (ab_step is rounded so that a whole number of steps spans a cell.)
  const int per_cell = std::max(1, static_cast<int>(std::lround(kBinSpacing / s.ab_step)));
  const double step = static_cast<double>(kBinSpacing) / per_cell;
  const int side = kGridSide * per_cell + 1;
  const double origin = kGridMin - 0.5 * kBinSpacing;  // -115, the first cell edge
  std::vector<std::uint8_t> hit(static_cast<std::size_t>(side) * side);
  for (int i = 0; i < side; ++i)
    for (int j = 0; j < side; ++j)
      hit[static_cast<std::size_t>(i) * side + j] =
          scan.at_some_L(origin + i * step, origin + j * step, s.L_step);
  for (int ia = 0; ia < kGridSide; ++ia) {
    for (int ib = 0; ib < kGridSide; ++ib) {
      bool keep = false;
      for (int i = ia * per_cell; i <= (ia + 1) * per_cell && !keep; ++i)
        for (int j = ib * per_cell; j <= (ib + 1) * per_cell && !keep; ++j)
          keep = hit[static_cast<std::size_t>(i) * side + j];
      mask[static_cast<std::size_t>(ia * kGridSide + ib)] = keep;
    }
  }
  return mask;
}

// ---------------------------------------------------------------------------
// The standard gamut: compute_gamut_mask(kCellTouchesGamut) with the default
// sampling, written out so that a reader can see the gamut and programs do
// not recompute it at start-up. test_color recomputes it and compares.
//
// Row = a, column = b, both from -110 (top / left) to 110 (bottom / right);
// '#' = a bin. Bins are numbered in reading order: bin 0 is the first '#'
// (a = -90, b = 80: the green corner of the cube). The shape is the shadow
// of the sRGB gamut on the ab plane: green at the top (a < 0, b > 0), blue on
// the left (b = -110), red and magenta at the bottom (a > 0).
//
// The same count at every sampling tried, (a, b) every 2, 1, 0.5, 0.25 and
// 0.1 units times L every 1, 0.1 and 0.01: 262 is not a sampling artefact.
//
// kCentreInGamut keeps 229 of these 262; the 33 it drops ('+') are boundary
// cells whose centre lies outside the gamut although part of the cell does
// not. Pixels there are quantized to a neighbour bin up to 9.35 units away,
// instead of at most 5*sqrt(2) = 7.07 with every cell kept.
//
//   ".......................",  // a = -110
//   ".......................",  // a = -100
//   "...................+...",  // a =  -90
//   "...............++###...",  // a =  -80
//   ".............+######+..",  // a =  -70
//   "...........+########+..",  // a =  -60
//   ".........+##########+..",  // a =  -50
//   "........+############..",  // a =  -40
//   ".......+#############..",  // a =  -30
//   ".......##############..",  // a =  -20
//   "......+##############..",  // a =  -10
//   ".....+##############+..",  // a =    0
//   "....+###############...",  // a =   10
//   "...+################...",  // a =   20
//   "...+###############+...",  // a =   30
//   "..+################+...",  // a =   40
//   "..#################....",  // a =   50
//   ".+#################....",  // a =   60
//   "+#################+....",  // a =   70
//   "+#################+....",  // a =   80
//   "..++#####+++...........",  // a =   90
//   "....+++................",  // a =  100
//   ".......................",  // a =  110

namespace {

// clang-format off
const char* const kStandardMask[kGridSide] = {
    // b = -110 ... 0 ... 110, every 10
    ".......................",  // a = -110
    ".......................",  // a = -100
    "...................#...",  // a =  -90
    "...............#####...",  // a =  -80
    ".............########..",  // a =  -70
    "...........##########..",  // a =  -60
    ".........############..",  // a =  -50
    "........#############..",  // a =  -40
    ".......##############..",  // a =  -30
    ".......##############..",  // a =  -20
    "......###############..",  // a =  -10
    ".....################..",  // a =    0
    "....################...",  // a =   10
    "...#################...",  // a =   20
    "...#################...",  // a =   30
    "..##################...",  // a =   40
    "..#################....",  // a =   50
    ".##################....",  // a =   60
    "###################....",  // a =   70
    "###################....",  // a =   80
    "..##########...........",  // a =   90
    "....###................",  // a =  100
    ".......................",  // a =  110
};
// clang-format on

std::vector<AbBin> centres_from_mask(const std::vector<std::uint8_t>& mask) {
  std::vector<AbBin> centres;
  for (int ia = 0; ia < kGridSide; ++ia)
    for (int ib = 0; ib < kGridSide; ++ib)
      if (mask[static_cast<std::size_t>(ia * kGridSide + ib)])
        centres.push_back({grid_to_ab(ia), grid_to_ab(ib)});
  return centres;
}

// Squared distance from (a, b) to a centre. The same expression serves the
// table lookups and the brute force, so that both round identically and agree
// on ties.
inline float dist2(float a, float b, const AbBin& c) {
  const float da = a - c.a, db = b - c.b;
  return da * da + db * db;
}

// Orders bins by (distance, index): the tie rule of every lookup.
struct Ranked {
  float d2;
  std::int32_t q;
  bool operator<(const Ranked& o) const { return d2 < o.d2 || (d2 == o.d2 && q < o.q); }
};

}  // namespace

const AbGamut& AbGamut::standard() {
  static const AbGamut gamut = [] {
    std::vector<std::uint8_t> mask(kGridCandidates, 0);
    for (int ia = 0; ia < kGridSide; ++ia)
      for (int ib = 0; ib < kGridSide; ++ib)
        mask[static_cast<std::size_t>(ia * kGridSide + ib)] = kStandardMask[ia][ib] == '#';
    return AbGamut(centres_from_mask(mask), kGamutSrgb262);
  }();
  return gamut;
}

const AbGamut& AbGamut::zhang313() {
  static const AbGamut gamut(std::vector<AbBin>(kZhang313, kZhang313 + kZhang313Bins), kGamutZhang313);
  return gamut;
}

std::vector<std::string> AbGamut::names() { return {kGamutZhang313, kGamutSrgb262}; }

const AbGamut& AbGamut::named(const std::string& name) {
  if (name == kGamutZhang313) return zhang313();
  if (name == kGamutSrgb262) return standard();
  throw std::invalid_argument("unknown gamut '" + name + "' (" + kGamutZhang313 + ": Zhang et al.'s 313 bins, " +
                              kGamutSrgb262 + ": tinct's 262-bin sRGB gamut)");
}

const AbGamut* AbGamut::with_bins(int Q) {
  if (Q == kZhang313Bins) return &zhang313();
  if (Q == standard().size()) return &standard();
  return nullptr;
}

AbGamut AbGamut::from_criterion(GamutCriterion criterion, const GamutSampling& sampling) {
  return AbGamut(centres_from_mask(compute_gamut_mask(criterion, sampling)));
}

AbGamut::AbGamut(std::vector<AbBin> centres) : centres_(std::move(centres)) {
  if (centres_.size() < static_cast<std::size_t>(kNeighbours))
    throw std::invalid_argument("AbGamut: needs at least 5 bins");
  grid_to_bin_.assign(kGridCandidates, -1);
  for (std::size_t q = 0; q < centres_.size(); ++q) {
    const float fa = (centres_[q].a - kGridMin) / kBinSpacing;
    const float fb = (centres_[q].b - kGridMin) / kBinSpacing;
    const int ia = static_cast<int>(std::lround(fa)), ib = static_cast<int>(std::lround(fb));
    if (fa != static_cast<float>(ia) || fb != static_cast<float>(ib) || ia < 0 ||
        ia >= kGridSide || ib < 0 || ib >= kGridSide)
      throw std::invalid_argument("AbGamut: centre (" + std::to_string(centres_[q].a) + ", " +
                                  std::to_string(centres_[q].b) +
                                  ") is not on the 10-grid in [-110, 110]");
    std::int32_t& slot = grid_to_bin_[static_cast<std::size_t>(ia * kGridSide + ib)];
    if (slot != -1) throw std::invalid_argument("AbGamut: duplicate centre");
    slot = static_cast<std::int32_t>(q);
  }
  build_lookup();
}

int AbGamut::bin_at_grid(int ia, int ib) const {
  if (ia < 0 || ia >= kGridSide || ib < 0 || ib >= kGridSide) return -1;
  return grid_to_bin_[static_cast<std::size_t>(ia * kGridSide + ib)];
}

// ---------------------------------------------------------------------------
// The candidate tables.
//
// For a square S of the ab plane and a bin q, let near(q) and far(q) be the
// smallest and largest distances from q's centre to points of S.
//
// Nearest: let R = min_q far(q). Every point of S is within R of that bin,
// so its nearest bin is within R too; a bin with near(q) > R can never be
// nearest anywhere in S. The candidates are the bins with near(q) <= R.
//
// 5 nearest: let R5 = the 5th smallest far(q). Five bins lie within R5 of
// every point of S, so the 5th nearest distance is at most R5, and a bin with
// near(q) > R5 is never among the 5 nearest (nor tied with the 5th).
//
// A small slack on R absorbs the float rounding of dist2 (relative error
// below 1e-6), so that the table and the brute force see the same bins. In
// the interior of the gamut a square has 1 to 4 candidates for nearest and
// 5 to 12 (mostly 6) for the 5 nearest, instead of all Q bins.
//
// Building the table square by square over all bins would cost 57,600 x Q
// distance bounds. Blocks of 10 x 10 squares go first: a bin that is a
// candidate for a square S inside a block B is one for B too (near_B(q) <=
// near_S(q), and B's R5 >= S's R5 since far grows with the region), so each
// square only scans its block's candidates (for both tables: a candidate for
// nearest is one for the 5 nearest). The bins that set a square's R and R5
// are candidates of the square themselves (near <= far), so the block's list
// holds them and R, R5 come out the same as over all bins.

namespace {

// Of the bins `pool` (all of them when pool is null), appends to nn and knn
// those that are candidates for the square [a0, a1] x [b0, b1].
void collect_candidates(const std::vector<AbBin>& centres, const std::int32_t* pool,
                        std::size_t pool_size, double a0, double a1, double b0, double b1,
                        std::vector<std::int32_t>* nn, std::vector<std::int32_t>& knn) {
  thread_local std::vector<double> near2;
  near2.resize(pool_size);
  // The 5 smallest far(q)^2, in increasing order (insertion into 5 slots).
  double far5[kNeighbours];
  std::fill(far5, far5 + kNeighbours, std::numeric_limits<double>::infinity());
  for (std::size_t k = 0; k < pool_size; ++k) {
    const AbBin& c = centres[pool ? static_cast<std::size_t>(pool[k]) : k];
    const double ca = c.a, cb = c.b;
    // Nearest point of the square: the centre clamped into it.
    const double na = ca - std::clamp(ca, a0, a1), nb = cb - std::clamp(cb, b0, b1);
    near2[k] = na * na + nb * nb;
    // Farthest point: the corner across the square on each axis.
    const double fa = std::max(std::abs(ca - a0), std::abs(ca - a1));
    const double fb = std::max(std::abs(cb - b0), std::abs(cb - b1));
    double f2 = fa * fa + fb * fb;
    for (int j = 0; j < kNeighbours; ++j)
      if (f2 < far5[j]) std::swap(f2, far5[j]);
  }
  const double slack = 1e-5;
  const double R2 = far5[0] * (1 + slack) + slack;
  const double R5sq = far5[kNeighbours - 1] * (1 + slack) + slack;
  for (std::size_t k = 0; k < pool_size; ++k) {
    const std::int32_t q = pool ? pool[k] : static_cast<std::int32_t>(k);
    if (nn && near2[k] <= R2) nn->push_back(q);
    if (near2[k] <= R5sq) knn.push_back(q);
  }
}

}  // namespace

void AbGamut::build_lookup() {
  constexpr int kBlock = 10;  // squares per block side
  constexpr int kBlocks = kLutSide / kBlock;
  static_assert(kLutSide % kBlock == 0, "blocks must tile the table");
  const std::size_t squares = static_cast<std::size_t>(kLutSide) * kLutSide;
  nn_begin_.assign(squares + 1, 0);
  knn_begin_.assign(squares + 1, 0);
  nn_bins_.clear();
  knn_bins_.clear();
  // Candidates of each block, over all bins (stored in increasing index).
  std::vector<std::int32_t> block_bins, block_begin(kBlocks * kBlocks + 1, 0);
  for (int bi = 0; bi < kBlocks; ++bi)
    for (int bj = 0; bj < kBlocks; ++bj) {
      const double a0 = double(kLutMin) + bi * kBlock, b0 = double(kLutMin) + bj * kBlock;
      collect_candidates(centres_, nullptr, centres_.size(), a0, a0 + kBlock, b0, b0 + kBlock,
                         nullptr, block_bins);
      block_begin[static_cast<std::size_t>(bi * kBlocks + bj + 1)] =
          static_cast<std::int32_t>(block_bins.size());
    }
  // Candidates of each square, from its block's (order kept: increasing index).
  for (int i = 0; i < kLutSide; ++i) {      // a
    for (int j = 0; j < kLutSide; ++j) {    // b
      const std::size_t block = static_cast<std::size_t>((i / kBlock) * kBlocks + j / kBlock);
      const std::int32_t* pool = block_bins.data() + block_begin[block];
      const std::size_t pool_size =
          static_cast<std::size_t>(block_begin[block + 1] - block_begin[block]);
      const double a0 = double(kLutMin) + i, b0 = double(kLutMin) + j;
      collect_candidates(centres_, pool, pool_size, a0, a0 + 1.0, b0, b0 + 1.0, &nn_bins_,
                         knn_bins_);
      const std::size_t s = static_cast<std::size_t>(i) * kLutSide + j;
      nn_begin_[s + 1] = static_cast<std::int32_t>(nn_bins_.size());
      knn_begin_[s + 1] = static_cast<std::int32_t>(knn_bins_.size());
    }
  }
}

int AbGamut::lut_square(float a, float b) const {
  // In double, a - kLutMin is exact, so the point really lies in the square
  // whose candidates it reads (in float, a point a hair outside a square
  // could round into it).
  const double fa = std::floor(double(a) - kLutMin), fb = std::floor(double(b) - kLutMin);
  // The comparisons also reject NaN.
  if (!(fa >= 0.0 && fa < kLutSide && fb >= 0.0 && fb < kLutSide)) return -1;
  return static_cast<int>(fa) * kLutSide + static_cast<int>(fb);
}

// ---------------------------------------------------------------------------
// Lookups.

int AbGamut::nearest_brute_force(float a, float b) const {
  Ranked best{std::numeric_limits<float>::infinity(), 0};
  for (int q = 0; q < size(); ++q) {
    const Ranked r{dist2(a, b, centre(q)), q};
    if (r < best) best = r;
  }
  return best.q;
}

int AbGamut::nearest(float a, float b) const {
  const int s = lut_square(a, b);
  if (s < 0) return nearest_brute_force(a, b);
  // Candidates are stored in increasing index, so a strict < keeps the
  // lower index on ties, as the brute force does.
  const std::int32_t* it = nn_bins_.data() + nn_begin_[static_cast<std::size_t>(s)];
  const std::int32_t* end = nn_bins_.data() + nn_begin_[static_cast<std::size_t>(s) + 1];
  int best = *it;
  float best_d2 = dist2(a, b, centre(best));
  for (++it; it != end; ++it) {
    const float d2 = dist2(a, b, centre(*it));
    if (d2 < best_d2) best_d2 = d2, best = *it;
  }
  return best;
}

namespace {

// Keeps the k smallest of a stream of Ranked in sorted order (insertion into
// a tiny array: k = 5, a handful of candidates).
void keep_smallest(Ranked* top, int& count, const Ranked& r) {
  if (count == kNeighbours && !(r < top[kNeighbours - 1])) return;
  int pos = count < kNeighbours ? count++ : kNeighbours - 1;
  while (pos > 0 && r < top[pos - 1]) {
    top[pos] = top[pos - 1];
    --pos;
  }
  top[pos] = r;
}

void write_top(const Ranked* top, std::int32_t* idx, float* d2) {
  for (int k = 0; k < kNeighbours; ++k) {
    idx[k] = top[k].q;
    if (d2) d2[k] = top[k].d2;
  }
}

}  // namespace

void AbGamut::nearest5_brute_force(float a, float b, std::int32_t idx[kNeighbours],
                                   float* d2) const {
  Ranked top[kNeighbours];
  int count = 0;
  for (int q = 0; q < size(); ++q) keep_smallest(top, count, {dist2(a, b, centre(q)), q});
  write_top(top, idx, d2);
}

void AbGamut::nearest5(float a, float b, std::int32_t idx[kNeighbours], float* d2) const {
  const int s = lut_square(a, b);
  if (s < 0) return nearest5_brute_force(a, b, idx, d2);
  Ranked top[kNeighbours];
  int count = 0;
  for (std::int32_t k = knn_begin_[static_cast<std::size_t>(s)];
       k < knn_begin_[static_cast<std::size_t>(s) + 1]; ++k) {
    const std::int32_t q = knn_bins_[static_cast<std::size_t>(k)];
    keep_smallest(top, count, {dist2(a, b, centre(q)), q});
  }
  write_top(top, idx, d2);
}

}  // namespace tinct::color
