// Colorization metrics. See metrics.h for the definitions and the choices.
#include "models/eval/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <ostream>
#include <stdexcept>
#include <utility>

#include "models/color/colorfulness.h"
#include "models/color/lab.h"
#include "models/eval/artifact.h"

namespace tinct::eval {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

}  // namespace

// ===========================================================================
// The cumulative ab-error curve

AbWeightFn nearest_bin_weights(const color::AbGamut& gamut, std::vector<float> weights) {
  if (static_cast<int>(weights.size()) != gamut.size())
    throw std::invalid_argument("nearest_bin_weights: " + std::to_string(weights.size()) +
                                " weights for a gamut of " + std::to_string(gamut.size()) +
                                " bins");
  const color::AbGamut* g = &gamut;
  return [g, w = std::move(weights)](float a, float b) {
    return w[static_cast<std::size_t>(g->nearest(a, b))];
  };
}

AbErrorCurve::AbErrorCurve() : counts_(kSlots, 0), weights_(kSlots, 0.0) {}

namespace {

// The slot of a pixel with error e: the smallest integer threshold t with
// e <= t, i.e. ceil(e), or the overflow slot beyond 150. A NaN error (a
// broken prediction) fails `e <= 150` and lands in the overflow: it counts
// as a pixel that no threshold accepts.
int error_slot(double e, int overflow) {
  return e <= static_cast<double>(kAucMaxThreshold) ? static_cast<int>(std::ceil(e)) : overflow;
}

// e = sqrt(da^2 + db^2) in double: with float inputs the squares and their
// sum are exact enough that an integer distance (e.g. a shift of (18, 24))
// comes out as exactly that integer and lands on the right threshold.
double ab_error(const float* pred_ab, const float* true_ab, std::size_t n, std::size_t i) {
  const double da = static_cast<double>(pred_ab[i]) - static_cast<double>(true_ab[i]);
  const double db = static_cast<double>(pred_ab[n + i]) - static_cast<double>(true_ab[n + i]);
  return std::sqrt(da * da + db * db);
}

}  // namespace

void AbErrorCurve::add(const float* pred_ab, const float* true_ab, std::size_t n,
                       const float* weights) {
  for (std::size_t i = 0; i < n; ++i) {
    const double e = ab_error(pred_ab, true_ab, n, i);
    const double w = weights ? static_cast<double>(weights[i]) : 1.0;
    const int slot = error_slot(e, kSlots - 1);
    counts_[static_cast<std::size_t>(slot)] += 1;
    weights_[static_cast<std::size_t>(slot)] += w;
    total_weight_ += w;
    error_sum_ += e;
  }
  pixels_ += n;
}

void AbErrorCurve::add(const float* pred_ab, const float* true_ab, std::size_t n,
                       const AbWeightFn& weight_of) {
  if (!weight_of) {
    add(pred_ab, true_ab, n, static_cast<const float*>(nullptr));
    return;
  }
  std::vector<float> w(n);
  for (std::size_t i = 0; i < n; ++i) w[i] = weight_of(true_ab[i], true_ab[n + i]);
  add(pred_ab, true_ab, n, w.data());
}

void AbErrorCurve::merge(const AbErrorCurve& other) {
  for (int s = 0; s < kSlots; ++s) {
    counts_[static_cast<std::size_t>(s)] += other.counts_[static_cast<std::size_t>(s)];
    weights_[static_cast<std::size_t>(s)] += other.weights_[static_cast<std::size_t>(s)];
  }
  pixels_ += other.pixels_;
  total_weight_ += other.total_weight_;
  error_sum_ += other.error_sum_;
}

double AbErrorCurve::mean_error() const {
  return pixels_ == 0 ? kNaN : error_sum_ / static_cast<double>(pixels_);
}

double AbErrorCurve::fraction(int t) const {
  if (t < 0 || t > kAucMaxThreshold) throw std::out_of_range("AbErrorCurve::fraction: t");
  if (pixels_ == 0) return kNaN;
  std::uint64_t below = 0;
  for (int s = 0; s <= t; ++s) below += counts_[static_cast<std::size_t>(s)];
  return static_cast<double>(below) / static_cast<double>(pixels_);
}

double AbErrorCurve::fraction_rebalanced(int t) const {
  if (t < 0 || t > kAucMaxThreshold)
    throw std::out_of_range("AbErrorCurve::fraction_rebalanced: t");
  if (!(total_weight_ > 0.0)) return kNaN;
  double below = 0.0;
  for (int s = 0; s <= t; ++s) below += weights_[static_cast<std::size_t>(s)];
  return below / total_weight_;
}

std::vector<double> AbErrorCurve::curve() const {
  std::vector<double> c(kAucThresholds, kNaN);
  if (pixels_ == 0) return c;
  // A running sum of the counts: c(t) = #{e <= t} / N.
  std::uint64_t below = 0;
  for (int t = 0; t < kAucThresholds; ++t) {
    below += counts_[static_cast<std::size_t>(t)];
    c[static_cast<std::size_t>(t)] = static_cast<double>(below) / static_cast<double>(pixels_);
  }
  return c;
}

std::vector<double> AbErrorCurve::curve_rebalanced() const {
  std::vector<double> c(kAucThresholds, kNaN);
  if (!(total_weight_ > 0.0)) return c;
  double below = 0.0;
  for (int t = 0; t < kAucThresholds; ++t) {
    below += weights_[static_cast<std::size_t>(t)];
    c[static_cast<std::size_t>(t)] = below / total_weight_;
  }
  return c;
}

double AbErrorCurve::auc() const { return normalized_trapezoid_area(curve()); }
double AbErrorCurve::auc_rebalanced() const {
  return normalized_trapezoid_area(curve_rebalanced());
}

double normalized_trapezoid_area(const std::vector<double>& curve) {
  if (curve.size() < 2) return kNaN;
  // Unit spacing: area = c0/2 + c1 + ... + c_{m-1} + c_m/2, over a span of m.
  double area = 0.5 * (curve.front() + curve.back());
  for (std::size_t i = 1; i + 1 < curve.size(); ++i) area += curve[i];
  return area / static_cast<double>(curve.size() - 1);
}

// ===========================================================================
// PSNR

double mse_rgb8(const std::uint8_t* a, const std::uint8_t* b, std::size_t n) {
  if (n == 0) return 0.0;
  // Exact in integers: each squared difference is at most 255^2 < 2^16, so a
  // 64-bit sum holds 2^48 channel values.
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < 3 * n; ++i) {
    const int d = static_cast<int>(a[i]) - static_cast<int>(b[i]);
    sum += static_cast<std::uint64_t>(d * d);
  }
  return static_cast<double>(sum) / static_cast<double>(3 * n);
}

double psnr_from_mse(double mse) {
  if (mse <= 0.0) return kInf;
  return 10.0 * std::log10(kPsnrMax * kPsnrMax / mse);
}

double psnr_rgb8(const std::uint8_t* a, const std::uint8_t* b, std::size_t n) {
  return psnr_from_mse(mse_rgb8(a, b, n));
}

double capped_psnr(double psnr) { return std::min(psnr, kPsnrCapDb); }

// ===========================================================================
// SSIM

const std::vector<double>& ssim_gaussian_1d() {
  static const std::vector<double> g = [] {
    // exp(-(x^2 + y^2) / (2 sigma^2)) = exp(-x^2 / (2 sigma^2)) exp(-y^2 / (2 sigma^2)):
    // the 2-D window normalised to sum 1 is the outer product of the 1-D one
    // normalised to sum 1. (MATLAB's fspecial also zeroes entries below
    // eps * max; the smallest 2-D entry, a corner, is exp(-50 / 4.5) ~ 1.5e-5
    // of the max, so nothing is zeroed.)
    std::vector<double> v(kSsimWindow);
    const int r = kSsimWindow / 2;
    double sum = 0.0;
    for (int i = 0; i < kSsimWindow; ++i) {
      const double x = static_cast<double>(i - r);
      v[static_cast<std::size_t>(i)] = std::exp(-x * x / (2.0 * kSsimSigma * kSsimSigma));
      sum += v[static_cast<std::size_t>(i)];
    }
    for (double& w : v) w /= sum;
    return v;
  }();
  return g;
}

double ssim_channel(const std::uint8_t* x, const std::uint8_t* y, int width, int height,
                    int stride) {
  if (width < kSsimWindow || height < kSsimWindow)
    throw std::invalid_argument("ssim: the image (" + std::to_string(width) + " x " +
                                std::to_string(height) + ") is smaller than the " +
                                std::to_string(kSsimWindow) + " x " +
                                std::to_string(kSsimWindow) + " window");
  const std::vector<double>& g = ssim_gaussian_1d();
  const double C1 = (kSsimK1 * kSsimL) * (kSsimK1 * kSsimL);
  const double C2 = (kSsimK2 * kSsimL) * (kSsimK2 * kSsimL);
  const int K = kSsimWindow;
  const int out_w = width - K + 1, out_h = height - K + 1;  // 'valid' positions
  const std::size_t W = static_cast<std::size_t>(width);
  const std::size_t OW = static_cast<std::size_t>(out_w);
  const std::size_t S = static_cast<std::size_t>(stride);

  // Pass 1, along rows: the Gaussian-weighted sums of x, y, x^2, y^2, xy over
  // the 11 columns starting at each valid column, for every row. Double
  // precision throughout: the variances are E[x^2] - E[x]^2 of values up to
  // 255^2 = 65025, where float would lose about 0.004, not far below C2 = 58.5
  // on flat regions.
  const std::size_t rows_n = static_cast<std::size_t>(height) * OW;
  std::vector<double> hx(rows_n), hy(rows_n), hxx(rows_n), hyy(rows_n), hxy(rows_n);
  for (int r = 0; r < height; ++r) {
    const std::size_t row = static_cast<std::size_t>(r) * W;
    for (int c = 0; c < out_w; ++c) {
      double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
      for (int k = 0; k < K; ++k) {
        const std::size_t p = (row + static_cast<std::size_t>(c + k)) * S;
        const double vx = x[p], vy = y[p], w = g[static_cast<std::size_t>(k)];
        sx += w * vx;
        sy += w * vy;
        sxx += w * vx * vx;
        syy += w * vy * vy;
        sxy += w * vx * vy;
      }
      const std::size_t o = static_cast<std::size_t>(r) * OW + static_cast<std::size_t>(c);
      hx[o] = sx, hy[o] = sy, hxx[o] = sxx, hyy[o] = syy, hxy[o] = sxy;
    }
  }

  // Pass 2, down the columns, one output row at a time, then the SSIM map:
  //   ((2 mu_x mu_y + C1)(2 sigma_xy + C2)) / ((mu_x^2 + mu_y^2 + C1)(sigma_x^2 + sigma_y^2 + C2))
  std::vector<double> mx(OW), my(OW), mxx(OW), myy(OW), mxy(OW);
  double sum = 0.0;
  for (int r = 0; r < out_h; ++r) {
    std::fill(mx.begin(), mx.end(), 0.0);
    std::fill(my.begin(), my.end(), 0.0);
    std::fill(mxx.begin(), mxx.end(), 0.0);
    std::fill(myy.begin(), myy.end(), 0.0);
    std::fill(mxy.begin(), mxy.end(), 0.0);
    for (int k = 0; k < K; ++k) {
      const double w = g[static_cast<std::size_t>(k)];
      const std::size_t base = static_cast<std::size_t>(r + k) * OW;
      for (std::size_t c = 0; c < OW; ++c) {
        mx[c] += w * hx[base + c];
        my[c] += w * hy[base + c];
        mxx[c] += w * hxx[base + c];
        myy[c] += w * hyy[base + c];
        mxy[c] += w * hxy[base + c];
      }
    }
    for (std::size_t c = 0; c < OW; ++c) {
      const double mu_x = mx[c], mu_y = my[c];
      const double var_x = mxx[c] - mu_x * mu_x;
      const double var_y = myy[c] - mu_y * mu_y;
      const double cov = mxy[c] - mu_x * mu_y;
      sum += ((2.0 * mu_x * mu_y + C1) * (2.0 * cov + C2)) /
             ((mu_x * mu_x + mu_y * mu_y + C1) * (var_x + var_y + C2));
    }
  }
  return sum / (static_cast<double>(out_h) * static_cast<double>(out_w));
}

double ssim_rgb8(const std::uint8_t* x, const std::uint8_t* y, int width, int height) {
  double sum = 0.0;
  for (int ch = 0; ch < 3; ++ch) sum += ssim_channel(x + ch, y + ch, width, height, 3);
  return sum / 3.0;
}

// ===========================================================================
// Chroma, gray baseline

double mean_chroma(const float* ab, std::size_t n) {
  if (n == 0) return 0.0;
  double sum = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    const double a = ab[i], b = ab[n + i];
    sum += std::sqrt(a * a + b * b);
  }
  return sum / static_cast<double>(n);
}

std::vector<std::uint8_t> gray_baseline(const std::uint8_t* truth_rgb, std::size_t n) {
  std::vector<float> L(n), ab(2 * n);
  color::srgb_to_lab_image(truth_rgb, n, L.data(), ab.data());
  std::fill(ab.begin(), ab.end(), 0.0f);
  std::vector<std::uint8_t> out(3 * n);
  color::lab_to_srgb_image(L.data(), ab.data(), n, out.data());
  return out;
}

// ===========================================================================
// Per image, per set

ImageMetrics evaluate_image(const std::uint8_t* truth_rgb, const std::uint8_t* output_rgb,
                            int width, int height, const AbWeightFn& weight_of, int grid_w,
                            int grid_h) {
  if (width <= 0 || height <= 0) throw std::invalid_argument("evaluate_image: empty image");
  const std::size_t n = static_cast<std::size_t>(width) * static_cast<std::size_t>(height);
  ImageMetrics m;
  m.width = width;
  m.height = height;

  // L is converted too but not used: the error curve compares ab only.
  std::vector<float> L(n), truth_ab(2 * n), out_ab(2 * n);
  color::srgb_to_lab_image(truth_rgb, n, L.data(), truth_ab.data());
  color::srgb_to_lab_image(output_rgb, n, L.data(), out_ab.data());

  m.curve.add(out_ab.data(), truth_ab.data(), n, weight_of);
  m.auc = m.curve.auc();
  m.auc_rebalanced = m.curve.auc_rebalanced();
  m.mean_ab_error = m.curve.mean_error();

  m.psnr = psnr_rgb8(truth_rgb, output_rgb, n);
  m.ssim = ssim_rgb8(truth_rgb, output_rgb, width, height);

  m.colorfulness = color::colorfulness(output_rgb, n);
  m.colorfulness_truth = color::colorfulness(truth_rgb, n);
  m.colorfulness_ratio =
      m.colorfulness_truth > 0.0 ? m.colorfulness / m.colorfulness_truth : kNaN;

  m.mean_chroma = mean_chroma(out_ab.data(), n);
  m.mean_chroma_truth = mean_chroma(truth_ab.data(), n);

  double sa = 0, sb = 0, ta = 0, tb = 0;
  for (std::size_t i = 0; i < n; ++i) {
    sa += out_ab[i];
    sb += out_ab[n + i];
    ta += truth_ab[i];
    tb += truth_ab[n + i];
  }
  m.mean_a = sa / double(n);
  m.mean_b = sb / double(n);
  m.mean_a_truth = ta / double(n);
  m.mean_b_truth = tb / double(n);
  m.mean_color_error = std::hypot(m.mean_a - m.mean_a_truth, m.mean_b - m.mean_b_truth);

  if (grid_w > 0 && grid_h > 0 && width >= 8 && height >= 8) {
    const LatticeScore ls = lattice_score(out_ab.data(), width, height, grid_w, grid_h);
    m.lattice_score = ls.score;
    m.lattice_period = ls.period;
  }
  return m;
}

bool ImageMetrics::lattice_flagged() const { return lattice_score > kLatticeThreshold; }

SetSummary summarize(const std::string& model, const std::vector<ImageMetrics>& rows) {
  SetSummary s;
  s.model = model;
  double auc = 0, auc_rb = 0, psnr = 0, ssim = 0, cf = 0, cf_truth = 0, chroma = 0,
         chroma_truth = 0;
  std::vector<double> ratios;
  for (const ImageMetrics& m : rows) {
    if (m.model != model) continue;
    ++s.images;
    s.curve.merge(m.curve);
    auc += m.auc;
    auc_rb += m.auc_rebalanced;
    psnr += capped_psnr(m.psnr);
    if (!(m.psnr < kPsnrCapDb)) ++s.psnr_capped;
    ssim += m.ssim;
    cf += m.colorfulness;
    cf_truth += m.colorfulness_truth;
    chroma += m.mean_chroma;
    chroma_truth += m.mean_chroma_truth;
    s.mean_a += m.mean_a;
    s.mean_b += m.mean_b;
    s.mean_a_truth += m.mean_a_truth;
    s.mean_b_truth += m.mean_b_truth;
    s.abs_a_error += std::fabs(m.mean_a - m.mean_a_truth);
    s.abs_b_error += std::fabs(m.mean_b - m.mean_b_truth);
    s.mean_color_error += m.mean_color_error;
    s.colorfulness_error += std::fabs(m.colorfulness - m.colorfulness_truth);
    if (!std::isnan(m.colorfulness_ratio)) ratios.push_back(m.colorfulness_ratio);
    if (!std::isnan(m.lattice_score)) {
      ++s.lattice_measured;
      if (m.lattice_flagged()) ++s.lattice_flagged;
      if (m.lattice_flagged() && m.lattice_score_truth > kLatticeThreshold) ++s.lattice_flagged_truth;
      s.max_lattice_score = std::max(s.max_lattice_score, m.lattice_score);
    }
  }
  const double k = s.images ? static_cast<double>(s.images) : kNaN;
  s.auc_pooled = s.curve.auc();
  s.auc_rebalanced_pooled = s.curve.auc_rebalanced();
  s.mean_auc = auc / k;
  s.mean_auc_rebalanced = auc_rb / k;
  s.mean_ab_error = s.curve.mean_error();
  s.mean_psnr = psnr / k;
  s.mean_ssim = ssim / k;
  s.mean_colorfulness = cf / k;
  s.mean_colorfulness_truth = cf_truth / k;
  s.colorfulness_ratio =
      s.mean_colorfulness_truth > 0.0 ? s.mean_colorfulness / s.mean_colorfulness_truth : kNaN;
  s.mean_chroma = chroma / k;
  s.mean_chroma_truth = chroma_truth / k;
  for (double* v : {&s.mean_a, &s.mean_b, &s.mean_a_truth, &s.mean_b_truth, &s.abs_a_error, &s.abs_b_error,
                    &s.mean_color_error, &s.colorfulness_error})
    *v /= k;
  s.cast_a = s.mean_a - s.mean_a_truth;  // the mean of the differences is the difference of the means
  s.cast_b = s.mean_b - s.mean_b_truth;
  if (ratios.empty()) {
    s.median_colorfulness_ratio = kNaN;
  } else {
    std::sort(ratios.begin(), ratios.end());
    const std::size_t h = ratios.size() / 2;
    s.median_colorfulness_ratio = ratios.size() % 2 ? ratios[h] : 0.5 * (ratios[h - 1] + ratios[h]);
  }
  if (s.lattice_measured == 0) s.max_lattice_score = kNaN;
  return s;
}

std::vector<SetSummary> summarize_by_model(const std::vector<ImageMetrics>& rows) {
  std::vector<std::string> models;
  for (const ImageMetrics& m : rows)
    if (std::find(models.begin(), models.end(), m.model) == models.end())
      models.push_back(m.model);
  std::vector<SetSummary> out;
  out.reserve(models.size());
  for (const std::string& model : models) out.push_back(summarize(model, rows));
  return out;
}

// ===========================================================================
// CSV

std::string csv_number(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) {
    if (c == '"') q += '"';  // a quote inside a quoted field is doubled
    q += c;
  }
  q += '"';
  return q;
}

void write_image_csv(std::ostream& out, const std::vector<ImageMetrics>& rows) {
  out << "model,image,width,height,auc,auc_rebalanced,mean_ab_error,psnr_db,ssim,"
         "colorfulness,colorfulness_truth,colorfulness_ratio,mean_chroma,mean_chroma_truth,"
         "mean_a,mean_b,mean_a_truth,mean_b_truth,mean_color_error,lattice_score,lattice_period,"
         "lattice_flagged,lattice_score_truth\n";
  for (const ImageMetrics& m : rows) {
    out << csv_field(m.model) << ',' << csv_field(m.image) << ',' << m.width << ','
        << m.height << ',' << csv_number(m.auc) << ',' << csv_number(m.auc_rebalanced) << ','
        << csv_number(m.mean_ab_error) << ',' << csv_number(m.psnr) << ','
        << csv_number(m.ssim) << ',' << csv_number(m.colorfulness) << ','
        << csv_number(m.colorfulness_truth) << ',' << csv_number(m.colorfulness_ratio) << ','
        << csv_number(m.mean_chroma) << ',' << csv_number(m.mean_chroma_truth) << ','
        << csv_number(m.mean_a) << ',' << csv_number(m.mean_b) << ',' << csv_number(m.mean_a_truth) << ','
        << csv_number(m.mean_b_truth) << ',' << csv_number(m.mean_color_error) << ','
        << csv_number(m.lattice_score) << ',' << m.lattice_period << ','
        << (std::isnan(m.lattice_score) ? "" : m.lattice_flagged() ? "1" : "0") << ','
        << csv_number(m.lattice_score_truth) << '\n';
  }
}

void write_summary_csv(std::ostream& out, const std::vector<SetSummary>& sets) {
  out << "model,images,auc,auc_rebalanced,mean_auc,mean_auc_rebalanced,mean_ab_error,"
         "psnr_db,psnr_capped,ssim,colorfulness,colorfulness_truth,colorfulness_ratio,"
         "mean_chroma,mean_chroma_truth,mean_a,mean_b,mean_a_truth,mean_b_truth,cast_a,cast_b,"
         "abs_a_error,abs_b_error,mean_color_error,median_colorfulness_ratio,colorfulness_error,"
         "lattice_measured,lattice_flagged,lattice_flagged_truth\n";
  for (const SetSummary& s : sets) {
    out << csv_field(s.model) << ',' << s.images << ',' << csv_number(s.auc_pooled) << ','
        << csv_number(s.auc_rebalanced_pooled) << ',' << csv_number(s.mean_auc) << ','
        << csv_number(s.mean_auc_rebalanced) << ',' << csv_number(s.mean_ab_error) << ','
        << csv_number(s.mean_psnr) << ',' << s.psnr_capped << ',' << csv_number(s.mean_ssim)
        << ',' << csv_number(s.mean_colorfulness) << ','
        << csv_number(s.mean_colorfulness_truth) << ',' << csv_number(s.colorfulness_ratio)
        << ',' << csv_number(s.mean_chroma) << ',' << csv_number(s.mean_chroma_truth) << ','
        << csv_number(s.mean_a) << ',' << csv_number(s.mean_b) << ',' << csv_number(s.mean_a_truth) << ','
        << csv_number(s.mean_b_truth) << ',' << csv_number(s.cast_a) << ',' << csv_number(s.cast_b) << ','
        << csv_number(s.abs_a_error) << ',' << csv_number(s.abs_b_error) << ','
        << csv_number(s.mean_color_error) << ',' << csv_number(s.median_colorfulness_ratio) << ','
        << csv_number(s.colorfulness_error) << ','
        << s.lattice_measured << ',' << s.lattice_flagged << ',' << s.lattice_flagged_truth << '\n';
  }
}

void write_curves_csv(std::ostream& out, const std::vector<SetSummary>& sets) {
  out << 't';
  for (const SetSummary& s : sets)
    out << ',' << csv_field(s.model + "_raw") << ',' << csv_field(s.model + "_rebalanced");
  out << '\n';
  std::vector<std::pair<std::vector<double>, std::vector<double>>> curves;
  curves.reserve(sets.size());
  for (const SetSummary& s : sets) curves.emplace_back(s.curve.curve(), s.curve.curve_rebalanced());
  for (int t = 0; t < kAucThresholds; ++t) {
    out << t;
    for (const auto& c : curves)
      out << ',' << csv_number(c.first[static_cast<std::size_t>(t)]) << ','
          << csv_number(c.second[static_cast<std::size_t>(t)]);
    out << '\n';
  }
}

}  // namespace tinct::eval
