// SVG line plots and Markdown tables. See plot.h.
#include "models/eval/plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <stdexcept>

namespace tinct::eval {

namespace {

// Layout, in SVG user units (= CSS pixels at the nominal size).
constexpr double kMarginLeft = 72;    // y tick labels and the rotated y label
constexpr double kMarginTop = 48;     // the title
constexpr double kMarginBottom = 58;  // x tick labels and the x label
constexpr double kLegendGap = 18;     // between the plot area and the legend
constexpr double kLegendPad = 10;     // inside the legend box
constexpr double kLegendSwatch = 28;  // the line sample in front of each name
constexpr double kLegendRow = 20;
constexpr double kMarginRight = 16;
constexpr double kMinPlotWidth = 320;
constexpr double kFontSize = 13;
constexpr double kTitleSize = 16;
// A rough width of one character of the sans-serif font at kFontSize, to size
// the legend (SVG has no text measurement without a renderer).
constexpr double kCharWidth = 7.2;
constexpr const char* kFont = "system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif";

// Coordinates with two decimals: plenty for a screen, and short.
std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

// A tick value as a person writes it: 0, 25, 0.2, 1e-05.
std::string tick_label(double v) {
  if (std::abs(v) < 1e-12) v = 0.0;  // no "-0" or "2.7e-17" for the zero tick
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

// Number of Unicode code points of UTF-8 text (not counting continuation
// bytes): the width of a cell or a legend entry in characters.
std::size_t text_length(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

// Whether the point (x, y) is drawn: both finite, and y > 0 on a log axis.
bool drawable(double x, double y, bool log_y) {
  return std::isfinite(x) && std::isfinite(y) && (!log_y || y > 0.0);
}

// The range of the drawable points' x (use_x) or y, or (NaN, NaN) if none.
void data_range(const std::vector<PlotSeries>& series, bool use_x, bool log_y, double& lo,
                double& hi) {
  lo = std::numeric_limits<double>::infinity();
  hi = -lo;
  for (const PlotSeries& s : series) {
    const std::size_t n = std::min(s.x.size(), s.y.size());
    for (std::size_t i = 0; i < n; ++i) {
      if (!drawable(s.x[i], s.y[i], log_y)) continue;
      const double v = use_x ? s.x[i] : s.y[i];
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  }
  if (lo > hi) lo = hi = std::numeric_limits<double>::quiet_NaN();
}

// The nice step of nice_ticks: span/target rounded up to 1, 2, 2.5, 5 or 10
// times its power of ten (2.5 so that [0, 150] gets steps of 25).
double nice_step(double lo, double hi, int target) {
  const double raw = (hi - lo) / static_cast<double>(std::max(target, 1));
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double norm = raw / mag;
  double step;
  if (norm < 1.5) step = 1.0;
  else if (norm < 2.25) step = 2.0;
  else if (norm < 3.5) step = 2.5;
  else if (norm < 7.5) step = 5.0;
  else step = 10.0;
  return step * mag;
}

// One axis: its range in plot units (log10 of the value on a log axis) and
// its ticks in data units.
struct Axis {
  bool log = false;
  double lo = 0.0, hi = 1.0;
  std::vector<double> ticks;
  double unit(double v) const { return log ? std::log10(v) : v; }
  double frac(double v) const { return (unit(v) - lo) / (hi - lo); }  // 0..1 along the axis
};

// The option where given (and > 0 on a log axis), else the data's range
// widened to ticks, else a default; never empty, so the scale never divides
// by zero.
Axis make_axis(double opt_lo, double opt_hi, double data_lo, double data_hi, bool log,
               int target) {
  Axis a;
  a.log = log;
  auto usable = [log](double v) { return std::isfinite(v) && (!log || v > 0.0); };
  const bool fixed_lo = usable(opt_lo), fixed_hi = usable(opt_hi);
  double lo = fixed_lo ? opt_lo : (usable(data_lo) ? data_lo : (log ? 1.0 : 0.0));
  double hi = fixed_hi ? opt_hi : (usable(data_hi) ? data_hi : (log ? 10.0 : 1.0));
  if (hi < lo) std::swap(lo, hi);
  if (!log) {
    if (hi == lo) lo -= 1.0, hi += 1.0;
    const double step = nice_step(lo, hi, target);
    if (!fixed_lo) lo = std::floor(lo / step + 1e-9) * step;
    if (!fixed_hi) hi = std::ceil(hi / step - 1e-9) * step;
    a.lo = lo;
    a.hi = hi;
    a.ticks = nice_ticks(lo, hi, target);
    return a;
  }
  double llo = std::log10(lo), lhi = std::log10(hi);
  if (lhi == llo) llo -= 0.5, lhi += 0.5;
  if (lhi - llo >= 1.0) {
    // A decade or more: whole decades at the data-driven ends.
    if (!fixed_lo) llo = std::floor(llo + 1e-9);
    if (!fixed_hi) lhi = std::ceil(lhi - 1e-9);
  } else {
    const double pad = 0.05 * (lhi - llo);
    if (!fixed_lo) llo -= pad;
    if (!fixed_hi) lhi += pad;
  }
  a.lo = llo;
  a.hi = lhi;
  a.ticks = log_ticks(std::pow(10.0, llo), std::pow(10.0, lhi), target);
  return a;
}

}  // namespace

const std::vector<std::string>& plot_palette() {
  static const std::vector<std::string> p = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                             "#E69F00", "#56B4E9", "#000000"};
  return p;
}

std::vector<double> nice_ticks(double lo, double hi, int target) {
  std::vector<double> ticks;
  if (!std::isfinite(lo) || !std::isfinite(hi) || !(hi > lo)) return ticks;
  const double step = nice_step(lo, hi, target);
  // Ticks are k * step for integer k (computed by multiplication, not by
  // repeated addition, so that 0.6 does not come out as 0.6000000000000001).
  const double eps = step * 1e-9;
  const double k0 = std::ceil((lo - eps) / step), k1 = std::floor((hi + eps) / step);
  for (double k = k0; k <= k1; k += 1.0) ticks.push_back(k * step);
  return ticks;
}

std::vector<double> log_ticks(double lo, double hi, int target) {
  std::vector<double> ticks;
  if (!std::isfinite(lo) || !std::isfinite(hi) || !(lo > 0.0) || !(hi > lo)) return ticks;
  const double eps = 1e-9;
  const double llo = std::log10(lo), lhi = std::log10(hi);
  const int k0 = static_cast<int>(std::ceil(llo - eps)), k1 = static_cast<int>(std::floor(lhi + eps));
  if (lhi - llo < 3.0) {
    // Few decades: 1, 2 and 5 times each power of ten inside the range.
    for (int k = k0 - 1; k <= k1; ++k)
      for (double m : {1.0, 2.0, 5.0}) {
        const double v = m * std::pow(10.0, k);
        if (v >= lo * (1 - eps) && v <= hi * (1 + eps)) ticks.push_back(v);
      }
    if (ticks.size() >= 2) return ticks;
    return nice_ticks(lo, hi, target);  // less than a factor of ~2.5: linear ticks read best
  }
  // Many decades: every `every`-th power of ten, about `target` of them.
  const int decades = k1 - k0 + 1;
  const int every = std::max(1, (decades + std::max(target, 1) - 1) / std::max(target, 1));
  for (int k = k0; k <= k1; ++k)
    if (((k % every) + every) % every == 0) ticks.push_back(std::pow(10.0, k));
  return ticks;
}

std::string xml_escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string svg_line_plot(const std::vector<PlotSeries>& series, const PlotOptions& options) {
  // --- geometry ---------------------------------------------------------------
  std::size_t longest = 0;
  for (const PlotSeries& s : series) longest = std::max(longest, text_length(s.name));
  const double legend_w =
      series.empty() ? 0.0
                     : 2 * kLegendPad + kLegendSwatch + 8 + kCharWidth * static_cast<double>(longest);
  const double legend_space = series.empty() ? 0.0 : kLegendGap + legend_w;
  double width = std::max(options.width, 200);
  const double height = std::max(options.height, 200);
  double plot_w = width - kMarginLeft - legend_space - kMarginRight;
  if (plot_w < kMinPlotWidth) {
    width += kMinPlotWidth - plot_w;
    plot_w = kMinPlotWidth;
  }
  const double plot_h = height - kMarginTop - kMarginBottom;
  const double px0 = kMarginLeft, py0 = kMarginTop;  // top-left of the plot area

  const bool log_y = options.log_y;
  double dx0, dx1, dy0, dy1;
  data_range(series, true, log_y, dx0, dx1);
  data_range(series, false, log_y, dy0, dy1);
  const Axis ax = make_axis(options.x_min, options.x_max, dx0, dx1, false, 6);
  const Axis ay = make_axis(options.y_min, options.y_max, dy0, dy1, log_y, 5);
  auto X = [&](double x) { return px0 + ax.frac(x) * plot_w; };
  auto Y = [&](double y) { return py0 + plot_h - ay.frac(y) * plot_h; };

  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"" << num(width)
    << "\" height=\"" << num(height) << "\" viewBox=\"0 0 " << num(width) << ' ' << num(height)
    << "\" font-family=\"" << kFont << "\" font-size=\"" << num(kFontSize) << "\">\n";
  o << "<title>" << xml_escape(options.title) << "</title>\n";
  o << "<defs><clipPath id=\"plot-area\"><rect x=\"" << num(px0) << "\" y=\"" << num(py0)
    << "\" width=\"" << num(plot_w) << "\" height=\"" << num(plot_h)
    << "\"/></clipPath></defs>\n";
  o << "<rect x=\"0\" y=\"0\" width=\"" << num(width) << "\" height=\"" << num(height)
    << "\" fill=\"white\"/>\n";

  // --- title ----------------------------------------------------------------
  if (!options.title.empty())
    o << "<text x=\"" << num(px0 + plot_w / 2) << "\" y=\"" << num(kMarginTop / 2 + 5)
      << "\" text-anchor=\"middle\" font-size=\"" << num(kTitleSize)
      << "\" font-weight=\"bold\">" << xml_escape(options.title) << "</text>\n";

  // --- grid, ticks, tick labels -----------------------------------------------
  o << "<g class=\"grid\" stroke=\"#e3e3e3\" stroke-width=\"1\">\n";
  const std::vector<double>& xt = ax.ticks;
  const std::vector<double>& yt = ay.ticks;
  for (double t : xt)
    o << "<line x1=\"" << num(X(t)) << "\" y1=\"" << num(py0) << "\" x2=\"" << num(X(t))
      << "\" y2=\"" << num(py0 + plot_h) << "\"/>\n";
  for (double t : yt)
    o << "<line x1=\"" << num(px0) << "\" y1=\"" << num(Y(t)) << "\" x2=\""
      << num(px0 + plot_w) << "\" y2=\"" << num(Y(t)) << "\"/>\n";
  o << "</g>\n";

  o << "<g class=\"axes\" stroke=\"#333333\" stroke-width=\"1\">\n";
  o << "<rect x=\"" << num(px0) << "\" y=\"" << num(py0) << "\" width=\"" << num(plot_w)
    << "\" height=\"" << num(plot_h) << "\" fill=\"none\"/>\n";
  for (double t : xt)
    o << "<line x1=\"" << num(X(t)) << "\" y1=\"" << num(py0 + plot_h) << "\" x2=\""
      << num(X(t)) << "\" y2=\"" << num(py0 + plot_h + 5) << "\"/>\n";
  for (double t : yt)
    o << "<line x1=\"" << num(px0 - 5) << "\" y1=\"" << num(Y(t)) << "\" x2=\"" << num(px0)
      << "\" y2=\"" << num(Y(t)) << "\"/>\n";
  o << "</g>\n";

  o << "<g class=\"tick-labels\" fill=\"#333333\">\n";
  for (double t : xt)
    o << "<text x=\"" << num(X(t)) << "\" y=\"" << num(py0 + plot_h + 20)
      << "\" text-anchor=\"middle\">" << tick_label(t) << "</text>\n";
  for (double t : yt)
    o << "<text x=\"" << num(px0 - 9) << "\" y=\"" << num(Y(t) + 4)
      << "\" text-anchor=\"end\">" << tick_label(t) << "</text>\n";
  o << "</g>\n";

  // --- axis labels -------------------------------------------------------------
  if (!options.x_label.empty())
    o << "<text x=\"" << num(px0 + plot_w / 2) << "\" y=\"" << num(height - 14)
      << "\" text-anchor=\"middle\">" << xml_escape(options.x_label) << "</text>\n";
  if (!options.y_label.empty()) {
    const double lx = 18, ly = py0 + plot_h / 2;
    o << "<text x=\"" << num(lx) << "\" y=\"" << num(ly) << "\" text-anchor=\"middle\" "
      << "transform=\"rotate(-90 " << num(lx) << ' ' << num(ly) << ")\">"
      << xml_escape(options.y_label) << "</text>\n";
  }

  // --- the curves ----------------------------------------------------------------
  const std::vector<std::string>& palette = plot_palette();
  std::vector<std::string> colors;
  std::size_t next = 0;
  for (const PlotSeries& s : series)
    colors.push_back(!s.color.empty() ? s.color : palette[next++ % palette.size()]);

  o << "<g class=\"series\" clip-path=\"url(#plot-area)\" fill=\"none\" stroke-width=\"2\" "
       "stroke-linejoin=\"round\" stroke-linecap=\"round\">\n";
  for (std::size_t k = 0; k < series.size(); ++k) {
    const PlotSeries& s = series[k];
    o << "<polyline data-name=\"" << xml_escape(s.name) << "\" stroke=\""
      << xml_escape(colors[k]) << '"';
    if (s.dashed) o << " stroke-dasharray=\"7 5\"";
    o << " points=\"";
    const std::size_t n = std::min(s.x.size(), s.y.size());
    bool first = true;
    for (std::size_t i = 0; i < n; ++i) {
      if (!drawable(s.x[i], s.y[i], log_y)) continue;
      if (!first) o << ' ';
      o << num(X(s.x[i])) << ',' << num(Y(s.y[i]));
      first = false;
    }
    o << "\"/>\n";
  }
  o << "</g>\n";

  // --- legend ---------------------------------------------------------------------
  if (!series.empty()) {
    const double lx = px0 + plot_w + kLegendGap, ly = py0;
    const double lh = 2 * kLegendPad + kLegendRow * static_cast<double>(series.size()) - 6;
    o << "<g class=\"legend\">\n";
    o << "<rect x=\"" << num(lx) << "\" y=\"" << num(ly) << "\" width=\"" << num(legend_w)
      << "\" height=\"" << num(lh) << "\" fill=\"white\" stroke=\"#cccccc\"/>\n";
    for (std::size_t k = 0; k < series.size(); ++k) {
      const double cy = ly + kLegendPad + 7 + kLegendRow * static_cast<double>(k);
      o << "<line x1=\"" << num(lx + kLegendPad) << "\" y1=\"" << num(cy) << "\" x2=\""
        << num(lx + kLegendPad + kLegendSwatch) << "\" y2=\"" << num(cy) << "\" stroke=\""
        << xml_escape(colors[k]) << "\" stroke-width=\"2.5\"";
      if (series[k].dashed) o << " stroke-dasharray=\"7 5\"";
      o << "/>\n";
      o << "<text x=\"" << num(lx + kLegendPad + kLegendSwatch + 8) << "\" y=\""
        << num(cy + 4.5) << "\">" << xml_escape(series[k].name) << "</text>\n";
    }
    o << "</g>\n";
  }
  o << "</svg>\n";
  return o.str();
}

PlotSeries error_curve_series(const std::string& name, const std::vector<double>& fractions,
                              const std::string& color, bool dashed) {
  PlotSeries s;
  s.name = name;
  s.y = fractions;
  s.x.resize(fractions.size());
  for (std::size_t t = 0; t < fractions.size(); ++t) s.x[t] = static_cast<double>(t);
  s.color = color;
  s.dashed = dashed;
  return s;
}

std::string error_curves_svg(const std::vector<PlotSeries>& curves, const std::string& title) {
  PlotOptions opt;
  opt.title = title;
  opt.x_label = "threshold t on the ab error (L2 distance in LAB units)";
  opt.y_label = "fraction of pixels with error \u2264 t";
  opt.x_min = 0.0;
  opt.x_max = 150.0;
  opt.y_min = 0.0;
  opt.y_max = 1.0;
  return svg_line_plot(curves, opt);
}

// ===========================================================================
// Markdown

namespace {

std::string markdown_cell(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '|') out += "\\|";
    else if (c == '\r') continue;
    else if (c == '\n') out += "<br>";
    else out += c;
  }
  return out;
}

std::string pad(const std::string& s, std::size_t width, Align align) {
  const std::size_t len = text_length(s);
  if (len >= width) return s;
  const std::size_t fill = width - len;
  switch (align) {
    case Align::kRight: return std::string(fill, ' ') + s;
    case Align::kCenter: return std::string(fill / 2, ' ') + s + std::string(fill - fill / 2, ' ');
    case Align::kLeft:
    default: return s + std::string(fill, ' ');
  }
}

}  // namespace

std::string markdown_table(const std::vector<std::string>& header,
                           const std::vector<std::vector<std::string>>& rows,
                           const std::vector<Align>& align) {
  const std::size_t cols = header.size();
  if (cols == 0) return "";
  std::vector<std::vector<std::string>> cells;
  cells.reserve(rows.size() + 1);
  cells.emplace_back();
  for (const std::string& h : header) cells.back().push_back(markdown_cell(h));
  for (const auto& row : rows) {
    if (row.size() > cols)
      throw std::invalid_argument("markdown_table: a row has more cells than the header");
    cells.emplace_back();
    for (std::size_t c = 0; c < cols; ++c)
      cells.back().push_back(c < row.size() ? markdown_cell(row[c]) : std::string());
  }
  std::vector<Align> al(cols, Align::kLeft);
  for (std::size_t c = 0; c < cols && c < align.size(); ++c) al[c] = align[c];
  // At least 3 wide: the separator needs "---" (":--:" for centred).
  std::vector<std::size_t> width(cols, 3);
  for (const auto& row : cells)
    for (std::size_t c = 0; c < cols; ++c) width[c] = std::max(width[c], text_length(row[c]));
  for (std::size_t c = 0; c < cols; ++c)
    if (al[c] == Align::kCenter) width[c] = std::max<std::size_t>(width[c], 4);

  std::string out;
  auto emit_row = [&](const std::vector<std::string>& row) {
    out += '|';
    for (std::size_t c = 0; c < cols; ++c) out += ' ' + pad(row[c], width[c], al[c]) + " |";
    out += '\n';
  };
  emit_row(cells[0]);
  out += '|';
  for (std::size_t c = 0; c < cols; ++c) {
    std::string sep(width[c], '-');
    if (al[c] == Align::kRight) sep.back() = ':';
    if (al[c] == Align::kCenter) sep.front() = sep.back() = ':';
    out += ' ' + sep + " |";
  }
  out += '\n';
  for (std::size_t r = 1; r < cells.size(); ++r) emit_row(cells[r]);
  return out;
}

std::string format_number(double v, int decimals) {
  if (std::isnan(v)) return "n/a";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", std::max(0, decimals), v);
  return buf;
}

}  // namespace tinct::eval
