// artifact.h — an automatic proxy for the periodic "lattice" artifact of a
// colorizer: colour dots repeating on the network's own pixel grid.
//
// Why this measure: a network whose upsampling layers (transposed
// convolutions, stride 2) respond differently on the four output phases
// paints a pattern of period 2 at each such layer's output, i.e. of period
// 2, 4, 8, 16, 32 pixels of the model's input grid. On the model's grid of
// gw x gh pixels a pattern of period p has the spatial frequencies
// (gw/p, 0), (0, gh/p) and (gw/p, +-gh/p) cycles per image, integers when p
// divides the grid (the model sides are multiples of 32), and those stay the
// same frequencies after the ab planes are resized to the photo's size.
// Photos' ab planes have smooth, falling spectra and no reason to peak
// exactly there; a lattice is a sharp peak above its neighbours.
//
// The measure, on the output's ab planes (LAB units, planar [2, n]):
//  1. each plane minus its mean, times a separable Hann window (so that the
//     image's borders do not leak a cross of energy through the spectrum);
//  2. the power |F_a|^2 + |F_b|^2 of the 2-D DFT at the bins needed (a
//     direct, separable DFT over a few hundred bins, not a whole FFT);
//  3. for each period p and each of its peak positions (at least
//     kLatticeMinCycles cycles per region), peak = the largest power within
//     +-1 bin of the position (the Hann window spreads a pure tone over 3
//     bins), background = the median power of the bins at a Chebyshev
//     distance 3..kLatticeRing from it (for a peak on an axis, of those
//     along the axis, +-1 bin across it);
//  4. the ratio peak / background; a position's score is log10 of it.
// The image's lattice score is the largest over the tiles of the image
// (kLatticeTile grid pixels, half-overlapping, plus the whole image), the
// periods and the positions: a lattice often covers only a flat region (a
// background, a cheek), which a whole-image spectrum would dilute.
// An image is flagged when the score exceeds kLatticeThreshold, chosen on
// examples (tests/test_artifact.cpp, docs/quality.md): on Kodak24 at --size
// 256 the shipped GAN with its trained phases scores 1.76..3.43 (all 24
// photos), phase-equalized 0.89..1.59, the ground truths 0.65..1.19;
// synthetic lattices of 2 LAB units on smooth fields are flagged.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

namespace tinct::eval {

// The model-grid periods examined: the strides of the generator's upsampling.
inline const std::vector<int>& lattice_periods() {
  static const std::vector<int> p = {2, 4, 8, 16, 32};
  return p;
}

inline constexpr int kLatticeRing = 6;      // background ring: Chebyshev distance 3..6 bins
// Frequencies below this many cycles per region are not examined: there the
// steep fall of a photo's spectrum towards DC makes any bin look like a peak
// over its (higher-frequency) neighbours.
inline constexpr double kLatticeMinCycles = 8.0;
inline constexpr double kLatticeThreshold = 1.7;  // log10(peak / background): 50x the neighbours

struct LatticeScore {
  double score = 0.0;  // log10(peak / background), the largest found; 0 when nothing was examined
  int period = 0;      // the model-grid period of that peak (0: none)
  int tile_x = 0, tile_y = 0, tile_w = 0, tile_h = 0;  // where (output pixels)
  bool flagged() const { return score > kLatticeThreshold; }
};

// The score of one region of planar ab (plane stride `n`, the region `w` x
// `h` starting at (x0, y0) in an image `width` pixels wide), for a grid of
// gw x gh model pixels over the region's extent. Periods whose frequency on
// the region is below 2 cycles or above its Nyquist limit are skipped.
LatticeScore lattice_score_region(const float* ab, std::size_t n, int width, int x0, int y0, int w, int h,
                                  double gw, double gh, const std::vector<int>& periods = lattice_periods());

// The image's score. ab (planar [2, width * height]) is first averaged down
// to the model's grid, grid_w x grid_h (its input size for this image,
// models::model_input_size; each grid pixel the mean of the image pixels in
// its footprint), then scored as a whole and in half-overlapping tiles of
// kLatticeTile grid pixels (a grid smaller than a tile: as a whole only).
// The tile is reported in the image's pixels. Throws std::invalid_argument
// for an image or grid under 8 x 8.
inline constexpr int kLatticeTile = 192;
std::vector<float> resample_to_grid(const float* ab, int width, int height, int grid_w, int grid_h);
LatticeScore lattice_score(const float* ab, int width, int height, int grid_w, int grid_h,
                           const std::vector<int>& periods = lattice_periods());

}  // namespace tinct::eval
