// Colorization metrics: what `tinct eval` measures, per image and per set.
//
// Every function here works on plain arrays in the layouts of
// models/color/lab.h (interleaved 8-bit sRGB; planar L and ab), with no
// dependency on the engine, so that the numbers can be checked by hand.
//
// The metrics, and the choices behind them:
//
//  * AbErrorCurve: Zhang et al. (ECCV 2016, section 3.1, "raw accuracy" and
//    "class-rebalanced accuracy"). For each pixel, the L2 distance in the ab
//    plane between prediction and ground truth, in LAB units:
//        e = sqrt((a_pred - a_true)^2 + (b_pred - b_true)^2).
//    For the thresholds t = 0, 1, ..., 150 the curve is the fraction of pixels
//    with e <= t (a cumulative distribution, sampled at integers). The AuC is
//    the area under it by the trapezoid rule over [0, 150], divided by 150 so
//    that it lies in [0, 1]:
//        AuC = (c(0)/2 + c(1) + ... + c(149) + c(150)/2) / 150.
//    1 means every pixel exact; a pixel whose error is an integer d in
//    [1, 150] contributes (150.5 - d) / 150 (the curve is 0 up to t = d - 1
//    and 1 from t = d, and the trapezoid rule draws the step as a ramp over
//    [d - 1, d], hence the extra half); a pixel with e > 150 contributes 0.
//    The class-rebalanced curve weighs each pixel by the rebalancing weight of
//    the GROUND TRUTH's nearest ab bin (models/color/rebalance.h), so that
//    rare, saturated colours count as much as the common desaturated ones:
//        c_w(t) = sum_{pixels with e <= t} w / sum_{pixels} w.
//    Zhang et al. use the prior of the ImageNet training set for those
//    weights; tinct uses the prior of its own training set (the weights the
//    classification model trained with), so the rebalanced numbers are
//    comparable between tinct's models but not digit-for-digit with the
//    paper's table. The caller passes the weights in (an AbWeightFn, or
//    per-pixel weights) and so chooses the prior.
//
//  * PSNR on 8-bit RGB, MAX = 255, the MSE taken over all pixels and all three
//    channels: PSNR = 10 log10(255^2 / MSE). Identical images give +infinity:
//    kept as +inf in the per-image record, written "inf", and counted as
//    kPsnrCapDb (100 dB) in set averages (see SetSummary).
//
//  * SSIM on RGB (Wang, Bovik, Sheikh and Simoncelli, IEEE TIP 2004) with the
//    constants of their reference implementation (ssim_index.m): an 11 x 11
//    Gaussian window, sigma = 1.5, normalised to sum 1; K1 = 0.01, K2 = 0.03,
//    L = 255, C1 = (K1 L)^2, C2 = (K2 L)^2; per window position
//        SSIM = ((2 mu_x mu_y + C1)(2 sigma_xy + C2))
//             / ((mu_x^2 + mu_y^2 + C1)(sigma_x^2 + sigma_y^2 + C2)),
//    with Gaussian-weighted means, variances and covariance (weights summing
//    to 1, no N-1 correction). Only 'valid' positions (the window entirely
//    inside the image, (H-10) x (W-10) of them, as filter2(..., 'valid') in
//    the reference) are averaged. Computed on each of R, G, B at full
//    resolution, and the three means averaged. There is no automatic
//    downsampling (the later ssim.m shrinks images larger than 256 pixels
//    first; we measure the full-resolution output that a user sees). This is
//    what scikit-image's structural_similarity computes with
//    gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
//    data_range=255, channel_axis=-1.
//
//  * Colorfulness of the output and of the ground truth (Hasler and
//    Suesstrunk 2003, models/color/colorfulness.h), and their ratio: below 1
//    the colorizer is duller than the truth, above 1 more vivid.
//
//  * Mean chroma: the mean over pixels of the CIE LAB chroma
//    C*ab = sqrt(a^2 + b^2), in LAB units. This is the "mean saturation" of the
//    report. Why chroma and not the HSV S channel: HSV S = (max - min) / max
//    blows up near black (RGB (2, 0, 0) has S = 1, and sensor noise in the
//    shadows makes dark regions look "fully saturated"), and it is not
//    perceptual; chroma is small for dark and for gray pixels, is in the same
//    units as the ab error above, and is exactly the quantity a desaturating
//    colorizer shrinks (a gray prediction has chroma 0 everywhere).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <limits>
#include <string>
#include <vector>

#include "models/color/gamut.h"

namespace tinct::eval {

// ---------------------------------------------------------------------------
// The cumulative ab-error curve

inline constexpr int kAucMaxThreshold = 150;                 // thresholds 0, 1, ..., 150
inline constexpr int kAucThresholds = kAucMaxThreshold + 1;  // 151 points on the curve

// The rebalancing weight of a ground-truth ab value (a, b).
using AbWeightFn = std::function<float(float a, float b)>;

// weights[gamut.nearest(a, b)]: the weight of the nearest bin, as in the
// rebalanced training loss. `weights` must hold gamut.size() values (throws
// std::invalid_argument); it is copied, `gamut` is referenced and must
// outlive the returned function (AbGamut::standard() does).
AbWeightFn nearest_bin_weights(const color::AbGamut& gamut, std::vector<float> weights);

// Accumulates pixels' ab errors into the raw and the rebalanced curves.
// Feed it one image to get that image's curve, or merge() images together
// for a set: the set curve is then pixel-weighted (each pixel of the set
// counts once, so large images count more), which is the curve the report
// plots and the AuC its table shows. The mean of per-image AuCs (each image
// counts once) is kept as well, in SetSummary.
//
// Storage: per integer k, the number (and total weight) of pixels whose
// error e has ceil(e) = k, i.e. whose smallest threshold with e <= t is k,
// plus one overflow slot for e > 150. The curve is then a running sum, exact
// at every threshold; a whole set costs 2 x 152 numbers.
class AbErrorCurve {
 public:
  AbErrorCurve();

  // n pixels of planar ab ([2, n]: the a plane, then the b plane) for the
  // prediction and the ground truth. `weights` holds one rebalancing weight
  // per pixel (e.g. from color::pixel_weights on the ground truth), or is
  // null for weight 1 everywhere (then the rebalanced curve equals the raw).
  void add(const float* pred_ab, const float* true_ab, std::size_t n,
           const float* weights = nullptr);
  // The same, weighting each pixel by weight_of(ground truth a, b); an empty
  // function means weight 1.
  void add(const float* pred_ab, const float* true_ab, std::size_t n,
           const AbWeightFn& weight_of);

  // Adds another curve's pixels (e.g. the next image of the set).
  void merge(const AbErrorCurve& other);

  std::uint64_t pixels() const { return pixels_; }
  double total_weight() const { return total_weight_; }
  // Mean of the raw per-pixel ab errors e (NaN when empty).
  double mean_error() const;

  // Fraction of pixels (raw) or of weight (rebalanced) with e <= t, for an
  // integer t in [0, 150]. NaN when no pixel (or zero total weight) was added.
  double fraction(int t) const;
  double fraction_rebalanced(int t) const;
  // The whole curve, 151 values for t = 0..150.
  std::vector<double> curve() const;
  std::vector<double> curve_rebalanced() const;
  // Trapezoid area over [0, 150] divided by 150 (see the top of this file).
  double auc() const;
  double auc_rebalanced() const;

 private:
  static constexpr int kSlots = kAucThresholds + 1;  // ceil(e) = 0..150, and e > 150
  std::vector<std::uint64_t> counts_;
  std::vector<double> weights_;
  std::uint64_t pixels_ = 0;
  double total_weight_ = 0.0;
  double error_sum_ = 0.0;
};

// Trapezoid area of a curve sampled at t = 0, 1, ..., divided by its span
// (size - 1): the AuC of a 151-point curve. NaN for fewer than 2 points.
double normalized_trapezoid_area(const std::vector<double>& curve);

// ---------------------------------------------------------------------------
// Image metrics on interleaved 8-bit RGB (n = width * height pixels)

inline constexpr double kPsnrMax = 255.0;
// In set averages, each image's PSNR counts as min(PSNR, 100 dB). Why a cap
// rather than dropping the infinite ones: dropping would reward a method for
// the images it got wrong (a perfect image would vanish from its mean). Why
// 100 dB: it is an MSE of 6.5e-6, fewer than one 8-bit step in 150,000
// channel values, beyond what any comparison of colorizers distinguishes.
// Taking the min for every image (finite ones too) keeps the capped value
// monotone in the error.
inline constexpr double kPsnrCapDb = 100.0;

// Mean over all 3n channel values of the squared difference (0 for n = 0).
double mse_rgb8(const std::uint8_t* a, const std::uint8_t* b, std::size_t n);
// 10 log10(255^2 / mse); +infinity for mse = 0.
double psnr_from_mse(double mse);
double psnr_rgb8(const std::uint8_t* a, const std::uint8_t* b, std::size_t n);
// min(psnr, kPsnrCapDb): the value set averages use.
double capped_psnr(double psnr);

// SSIM constants (Wang et al. 2004, and their reference implementation).
inline constexpr int kSsimWindow = 11;
inline constexpr double kSsimSigma = 1.5;
inline constexpr double kSsimK1 = 0.01;
inline constexpr double kSsimK2 = 0.03;
inline constexpr double kSsimL = 255.0;

// The 11 x 11 window is separable: the outer product of these 11 weights
// (exp(-(i - 5)^2 / (2 sigma^2)), normalised to sum 1) with themselves.
const std::vector<double>& ssim_gaussian_1d();

// Mean SSIM of one channel: `stride` apart in memory (3 for a channel of an
// interleaved RGB image, 1 for a plane), width x height values. Throws
// std::invalid_argument if the image is smaller than the window (11 x 11):
// there is no valid position then, and the reference implementation refuses
// too.
double ssim_channel(const std::uint8_t* x, const std::uint8_t* y, int width, int height,
                    int stride = 1);
// Mean over R, G, B of ssim_channel. Symmetric in x and y; 1 for identical
// images.
double ssim_rgb8(const std::uint8_t* x, const std::uint8_t* y, int width, int height);

// Mean CIE LAB chroma sqrt(a^2 + b^2) of planar ab ([2, n]); 0 for n = 0.
double mean_chroma(const float* ab, std::size_t n);

// The gray baseline: the ground truth's L with a = b = 0, back to 8-bit sRGB
// (R = G = B on every pixel). What a colorizer that adds no colour outputs.
std::vector<std::uint8_t> gray_baseline(const std::uint8_t* truth_rgb, std::size_t n);

// ---------------------------------------------------------------------------
// Records

// Everything measured on one output image.
struct ImageMetrics {
  std::string model;  // "regression", "classification", "gan", "gray", ...
  std::string image;  // the image's name (e.g. its file name)
  int width = 0, height = 0;

  AbErrorCurve curve;            // this image's error curves (raw and rebalanced)
  double auc = 0.0;              // curve.auc()
  double auc_rebalanced = 0.0;   // curve.auc_rebalanced()
  double mean_ab_error = 0.0;    // curve.mean_error(), LAB units

  double psnr = 0.0;             // dB; +inf for an output identical to the truth
  double ssim = 0.0;

  double colorfulness = 0.0;        // of the output
  double colorfulness_truth = 0.0;  // of the ground truth
  double colorfulness_ratio = 0.0;  // output / truth; NaN when the truth is gray (0)

  double mean_chroma = 0.0;        // of the output, LAB units
  double mean_chroma_truth = 0.0;  // of the ground truth

  // Plausibility (issue 17). The mean a and b over the image's pixels, of the
  // output and the truth: a colorizer's global cast is the difference (e.g.
  // mean b above the truth's: a yellow wash). mean_color_error =
  // sqrt((mean_a - mean_a_truth)^2 + (mean_b - mean_b_truth)^2), LAB units.
  double mean_a = 0.0, mean_b = 0.0, mean_a_truth = 0.0, mean_b_truth = 0.0;
  double mean_color_error = 0.0;
  // The lattice proxy of models/eval/artifact.h on the output's ab planes, for
  // the grid the model ran on, and on the truth's (the control: a photo with
  // a flagged truth has a real periodic texture, not a network artifact).
  // NaN when not measured (evaluate_image without a grid).
  double lattice_score = std::numeric_limits<double>::quiet_NaN();
  int lattice_period = 0;
  double lattice_score_truth = std::numeric_limits<double>::quiet_NaN();
  bool lattice_flagged() const;  // lattice_score > kLatticeThreshold
};

// All metrics of one output against its ground truth, both interleaved 8-bit
// sRGB of width x height. The ab values for the error curve come from
// converting both images to LAB (color::srgb_to_lab_image), so every metric
// measures the same delivered 8-bit image, gamut clipping and rounding
// included. The rebalancing weight of each pixel is weight_of(ground truth
// ab) (empty: weight 1). model and image are left empty for the caller.
// grid_w x grid_h: the model's input size for this image (what its lattice
// would be periodic on); 0 leaves the lattice scores NaN.
ImageMetrics evaluate_image(const std::uint8_t* truth_rgb, const std::uint8_t* output_rgb,
                            int width, int height, const AbWeightFn& weight_of = {},
                            int grid_w = 0, int grid_h = 0);

// One model over a set of images. Two kinds of average, both kept:
//  * pooled: `curve` merges every pixel of the set; its AuC (auc_pooled,
//    auc_rebalanced_pooled) and curve are what the report's table and plot
//    show, as in Zhang et al. (their test images all have one size, where
//    pooled and per-image means coincide; Kodak's do too);
//  * per image: the mean over images of each per-image number (each image
//    counts once). PSNR averages capped_psnr (see kPsnrCapDb).
// The colorfulness ratio of the set is the ratio of the means (robust to a
// near-gray truth image, whose per-image ratio explodes or is NaN).
struct SetSummary {
  std::string model;
  std::size_t images = 0;
  AbErrorCurve curve;

  double auc_pooled = 0.0, auc_rebalanced_pooled = 0.0;
  double mean_auc = 0.0, mean_auc_rebalanced = 0.0;
  double mean_ab_error = 0.0;      // pooled over pixels
  double mean_psnr = 0.0;          // of capped_psnr
  std::size_t psnr_capped = 0;     // images at or above the cap (+inf included)
  double mean_ssim = 0.0;
  double mean_colorfulness = 0.0, mean_colorfulness_truth = 0.0;
  double colorfulness_ratio = 0.0;  // mean_colorfulness / mean_colorfulness_truth
  double mean_chroma = 0.0, mean_chroma_truth = 0.0;

  // Plausibility, each a mean over images (each image counts once):
  double mean_a = 0.0, mean_b = 0.0, mean_a_truth = 0.0, mean_b_truth = 0.0;
  double cast_a = 0.0, cast_b = 0.0;            // signed: mean of (mean_a - mean_a_truth), (b)
  double abs_a_error = 0.0, abs_b_error = 0.0;  // mean of |mean_a - mean_a_truth|, (b)
  double mean_color_error = 0.0;                // mean of ImageMetrics::mean_color_error
  double median_colorfulness_ratio = 0.0;       // median of the per-image ratios (NaN ones left out)
  double colorfulness_error = 0.0;              // mean of |colorfulness - colorfulness_truth|: how far
                                                // each photo is from its own colourfulness
  std::size_t lattice_measured = 0;             // images with a lattice score
  std::size_t lattice_flagged = 0;              // ... of them flagged
  std::size_t lattice_flagged_truth = 0;        // ... whose truth is flagged too (the control)
  double max_lattice_score = 0.0;               // NaN when none measured
};

// Summarises the rows of `rows` whose model is `model`. With no such rows,
// images = 0 and the means are NaN.
SetSummary summarize(const std::string& model, const std::vector<ImageMetrics>& rows);
// One summary per distinct model, in order of first appearance.
std::vector<SetSummary> summarize_by_model(const std::vector<ImageMetrics>& rows);

// ---------------------------------------------------------------------------
// CSV (RFC 4180: comma-separated, fields quoted when they hold a comma, a
// quote or a line break). Numbers with 6 significant digits; +infinity is
// written "inf" and NaN "nan" (both read back by Python's float() and by
// pandas).

// Per image: model,image,width,height,auc,auc_rebalanced,mean_ab_error,
// psnr_db,ssim,colorfulness,colorfulness_truth,colorfulness_ratio,
// mean_chroma,mean_chroma_truth,mean_a,mean_b,mean_a_truth,mean_b_truth,
// mean_color_error,lattice_score,lattice_period,lattice_flagged,
// lattice_score_truth
void write_image_csv(std::ostream& out, const std::vector<ImageMetrics>& rows);
// Per model: model,images,auc,auc_rebalanced,mean_auc,mean_auc_rebalanced,
// mean_ab_error,psnr_db,psnr_capped,ssim,colorfulness,colorfulness_truth,
// colorfulness_ratio,mean_chroma,mean_chroma_truth,mean_a,mean_b,
// mean_a_truth,mean_b_truth,cast_a,cast_b,abs_a_error,abs_b_error,
// mean_color_error,median_colorfulness_ratio,lattice_measured,
// lattice_flagged,lattice_flagged_truth  (auc = pooled; psnr_db = mean of
// capped PSNR)
void write_summary_csv(std::ostream& out, const std::vector<SetSummary>& sets);
// The pooled curves, one row per threshold t = 0..150:
// t,<model>_raw,<model>_rebalanced,... (model names as given, then the suffix)
void write_curves_csv(std::ostream& out, const std::vector<SetSummary>& sets);

// One CSV field: a number as above, or a string quoted if it needs to be.
std::string csv_number(double v);
std::string csv_field(const std::string& s);

}  // namespace tinct::eval
