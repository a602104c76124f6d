// human.h — the human test of `tinct eval --human`: Zhang et al.'s real-vs-fake
// protocol (ECCV 2016, section 3.1) in one self-contained HTML page.
//
// The page shows, pair after pair, a real photo and a colorized version of
// the same photo side by side, the real one on a side drawn at random, and
// asks "Which photo is real?". There is one pair per (image, model), in a
// random order, so a participant never sees which model made a fake; the
// order and the sides come from a seed (same seed, same page). Answers are
// clicks or keys (1 / left arrow, 2 / right arrow); every answer is recorded
// (pair id, image, model, real side, choice, whether the fake fooled the
// participant, response time in ms) and kept in the browser's localStorage,
// so a reload resumes where the participant stopped. At the end the page
// shows, per model, the fooling rate (the fraction of pairs in which the fake
// was chosen as real; 50% = indistinguishable from real photos) with its 95%
// Wilson interval, and exports the results as JSON: a download, and the same
// text in <pre id="results">.
//
// Self-contained: the images are PNG data URIs inside the page, the script
// and the styles are inline, nothing is fetched (no http:// or https://
// reference at all), so the file can be mailed, opened from disk, or served
// on localhost. Each photo is shrunk (antialiased) to at most
// HumanPageOptions::max_side pixels on its long side before it is embedded:
// at 384, a Kodak image is 384 x 256, about 0.2 MB of PNG, and the page for
// Kodak24 and three models (24 real + 72 fakes) about 25 MB. PNG and not
// JPEG: JPEG artefacts would differ between real and fake and could give the
// fakes away.
//
// Scripting (for tests, and for a dry run): the URL parameter
// ?autoplay=left|right|real|fake|alternate answers every pair at once with
// that rule and shows the results; window.tinctAnswer("left" | "right" | 1 |
// 2) answers the current pair; window.tinctResults() returns the results
// object. When all pairs are answered, <body data-state="done"> is set and
// #results holds the JSON.
//
// The results JSON (what the page exports and summarize_human_results reads):
//   {"format": "tinct-human-test", "version": 1, "page_id": "...",
//    "seed": S, "complete": true, "scripted": false, ...,
//    "answers": [{"pair": 0, "image": "kodim01.png", "model": "gan",
//                 "real_side": "left", "choice": "right", "fooled": true,
//                 "ms": 1834}, ...],
//    "summary": [{"model": "gan", "pairs": 24, "fooled": 9, "rate": 0.375,
//                 "ci95": [0.212, 0.573]}, ...]}
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "models/data/image.h"
#include "models/eval/report.h"

namespace tinct::eval {

// ---------------------------------------------------------------------------
// The Wilson score interval

// z of a two-sided 95% interval: the 97.5th percentile of the standard normal.
inline constexpr double kZ95 = 1.959963984540054;

struct Interval {
  double lo = 0.0, hi = 0.0;
};

// The Wilson score interval for `successes` out of `trials` (Wilson 1927):
//   centre = (p + z^2 / 2n) / (1 + z^2 / n),
//   half   = z / (1 + z^2 / n) * sqrt(p (1 - p) / n + z^2 / 4n^2),
// with p = successes / n. Why Wilson and not p +- z sqrt(p(1-p)/n): with the
// few dozen pairs of one participant and rates near 0 or 1, the normal
// interval collapses to a point (0/20 gives [0, 0]) or leaves [0, 1]; the
// Wilson interval stays inside [0, 1] and keeps its coverage. 0 trials give
// [0, 1] (nothing is known); successes > trials throws std::invalid_argument.
Interval wilson_interval(std::size_t successes, std::size_t trials, double z = kZ95);

// ---------------------------------------------------------------------------
// The page

// One photo and its colorized versions.
struct HumanTestImage {
  std::string name;                                         // recorded in the results, never shown
  data::Image real;                                         // RGB
  std::vector<std::pair<std::string, data::Image>> fakes;   // (model, colorized RGB), same size as real
};

// One pair of the page, in the order it is shown.
struct HumanPair {
  int id = 0;          // position in the page (0-based)
  std::size_t image = 0;  // index into the images
  std::size_t fake = 0;   // index into that image's fakes
  std::string model;
  bool real_left = false;  // the real photo on the left
};

struct HumanPageOptions {
  std::uint64_t seed = 1;  // order of the pairs and sides of the real photos
  int max_side = 384;      // long side of the embedded photos (larger ones are shrunk)
  std::string title = "Real or colorized?";
};

// The pairs of a page: one per (image, fake), shuffled, each with its side.
// Deterministic in the seed on every platform (its own generator, not the
// standard library's distributions, whose output is implementation-defined).
std::vector<HumanPair> human_pairs(const std::vector<HumanTestImage>& images, std::uint64_t seed);

// `img` shrunk (antialiased) so that its long side is at most max_side; a
// smaller image is returned as it is.
data::Image fit_max_side(const data::Image& img, int max_side);

// The whole page. Throws std::invalid_argument when there is no pair, or a
// fake's size differs from its real photo's.
std::string human_test_html(const std::vector<HumanTestImage>& images, const HumanPageOptions& options = {});

// RFC 4648 base64 (with padding).
std::string base64(const std::uint8_t* data, std::size_t size);

// `tinct eval --human`: the images of `o.data`, colorized by the models of
// `o.models` (resolved as for the report; the gray baseline is not a fake
// worth testing), written to o.out/human_test.html. Bad images are skipped
// and listed. Refuses an existing page without o.overwrite.
struct HumanPageResult {
  std::string path;                 // the page
  std::size_t images = 0, pairs = 0;
  std::size_t bytes = 0;
  std::vector<std::string> models;
  std::vector<SkippedImage> skipped;
  std::vector<ModelFailure> failures;
  double seconds = 0.0;
};
HumanPageResult write_human_page(const EvalOptions& o, const HumanPageOptions& page);

// ---------------------------------------------------------------------------
// Reading the results back

struct HumanAnswer {
  int pair = 0;
  std::string image, model;
  std::string real_side, choice;  // "left" | "right"
  bool fooled = false;            // choice != real_side (recomputed, not trusted from the file)
  double ms = 0.0;
};

struct FoolingRate {
  std::string model;
  std::size_t pairs = 0, fooled = 0;
  double rate = 0.0;  // fooled / pairs
  Interval ci95;
};

// The answers of one results file (the JSON above). Throws std::runtime_error
// naming what is wrong (not JSON, not a tinct results file, a bad answer).
std::vector<HumanAnswer> parse_human_results(const std::string& json_text);

// Per model, in order of first appearance; several participants' answers can
// simply be concatenated.
std::vector<FoolingRate> fooling_rates(const std::vector<HumanAnswer>& answers);

// A Markdown table: model, pairs, fooled, fooling rate, 95% interval.
std::string fooling_table(const std::vector<FoolingRate>& rates);

}  // namespace tinct::eval
