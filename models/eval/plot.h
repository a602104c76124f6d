// Report helpers for `tinct eval`: a small SVG line-plot writer (for the
// cumulative ab-error curves) and a Markdown table writer. No dependencies:
// an SVG is text, and a browser, an image viewer or GitHub shows it as it is.
//
// The SVG is a single <svg> element (no XML prolog, so the text starts with
// "<svg" and ends with "</svg>\n"): a title on top, the plot area with a light
// grid, ticks and tick labels on both axes, the axis labels, one <polyline>
// per series clipped to the plot area, and a legend to the right of the plot
// (outside it, so it never hides a curve). It carries a viewBox, so it scales
// to any width without blurring.
#pragma once

#include <limits>
#include <string>
#include <vector>

namespace tinct::eval {

// ---------------------------------------------------------------------------
// SVG line plot

struct PlotSeries {
  std::string name;          // the legend entry (any text; escaped for XML)
  std::vector<double> x, y;  // the points, in order; pairs with a non-finite
                             // coordinate are skipped
  std::string color = "";    // any SVG colour ("#0072b2", "gray"); empty: the
                             // next colour of the palette
  bool dashed = false;       // e.g. for a baseline
};
// The same, under the short name (aggregate: Curve{name, x, y}).
using Curve = PlotSeries;

struct PlotOptions {
  std::string title, x_label, y_label;
  // The axis ranges; NaN: the range of the finite data, widened outwards to
  // the nearest ticks (on a log axis, to whole decades when the data spans
  // one or more).
  double x_min = std::numeric_limits<double>::quiet_NaN();
  double x_max = std::numeric_limits<double>::quiet_NaN();
  double y_min = std::numeric_limits<double>::quiet_NaN();
  double y_max = std::numeric_limits<double>::quiet_NaN();
  // A logarithmic y axis (e.g. for training losses that fall by decades):
  // points with y <= 0 are skipped; ticks at 1, 2, 5 times powers of ten.
  bool log_y = false;
  int width = 820, height = 500;  // pixels, legend included; widened if a long
                                  // legend leaves the plot narrower than 320
};

// The palette: Okabe and Ito's colour-blind-safe colours, without the yellow
// that vanishes on white. Series without a colour take them in turn.
const std::vector<std::string>& plot_palette();

// Ticks at "nice" values (1, 2, 2.5 or 5 times a power of ten) covering
// [lo, hi], about `target` intervals; e.g. [0, 150] -> 0, 25, ..., 150 and
// [0, 1] -> 0, 0.2, ..., 1.
std::vector<double> nice_ticks(double lo, double hi, int target = 6);

// Ticks for a log axis over [lo, hi] (lo > 0): the powers of ten inside it
// (every k-th one when there are more than about `target`), with 2 and 5
// times them added when the range spans fewer than 3 decades; linear nice
// ticks when it holds fewer than 2 of those.
std::vector<double> log_ticks(double lo, double hi, int target = 6);

// The whole SVG document.
std::string svg_line_plot(const std::vector<PlotSeries>& series, const PlotOptions& options);

// A curve sampled at thresholds t = 0, 1, ..., fractions.size() - 1 (an
// AbErrorCurve's curve()) as a series.
PlotSeries error_curve_series(const std::string& name, const std::vector<double>& fractions,
                              const std::string& color = "", bool dashed = false);
// The error-curve plot of the report: x = threshold 0..150 (LAB units), y =
// fraction of pixels 0..1, the given title. Name the series with their AuC
// (e.g. "regression (AuC 0.912)") and draw the gray baseline dashed in gray.
std::string error_curves_svg(const std::vector<PlotSeries>& curves, const std::string& title);

// &, <, >, " and ' as XML entities.
std::string xml_escape(const std::string& s);

// ---------------------------------------------------------------------------
// Markdown

enum class Align { kLeft, kRight, kCenter };

// A GitHub-flavoured Markdown pipe table, columns padded to equal width so
// the raw text reads as a table too. `align` gives each column's alignment
// (missing entries: left; numbers read best right-aligned). '|' in a cell is
// escaped and line breaks become <br>. Rows shorter than the header are
// padded with empty cells; a longer row throws std::invalid_argument.
std::string markdown_table(const std::vector<std::string>& header,
                           const std::vector<std::vector<std::string>>& rows,
                           const std::vector<Align>& align = {});

// v with `decimals` digits after the point; "inf", "-inf", and "n/a" for NaN.
std::string format_number(double v, int decimals);

}  // namespace tinct::eval
