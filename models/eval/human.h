// human.h — the human test of `tinct eval --human`: Zhang et al.'s real-vs-fake
// protocol (ECCV 2016, section 3.1) in one self-contained HTML page, and the
// reader that folds the page's exported answers back into the report.
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
// Wilson interval, and saves the results as a JSON file (a download; the same
// text in <pre id="results">). People taking turns on one browser: each one
// may type a name, and "Next person" starts a fresh session; a finished
// session whose file was not saved yet is kept and offered for download on
// the start screen, so a hurried click loses nothing.
//
// One file, not a local server: the page works from file:// (images are PNG
// data URIs, the script and styles inline, nothing is fetched: no http:// or
// https:// reference at all, so no network is needed), it can be mailed or
// copied to a friend's computer, which a server bound to 127.0.0.1 could not
// reach, and there is no port, firewall or process to stop. `tinct eval
// --human --open` opens it in the desktop's browser. The HTML, CSS and JS
// are models/eval/assets/human.{html,css,js}, compiled in at build time
// (cmake/embed_assets.cmake). Each photo is shrunk (antialiased) to at most
// HumanPageOptions::max_side pixels on its long side before it is embedded:
// at 384, a Kodak image is 384 x 256, about 0.2 MB of PNG, and the page for
// Kodak24 and three models (24 real + 72 fakes) about 25 MB. PNG and not
// JPEG: JPEG artefacts would differ between real and fake and could give the
// fakes away.
//
// Scripting (for tests, and for a dry run): the URL parameter
// ?autoplay=left|right|real|fake|alternate answers every pair at once with
// that rule and shows the results (nothing is stored); window.tinctAnswer(
// "left" | "right" | 1 | 2) answers the current pair; window.tinctResults()
// returns the results object. When all pairs are answered, <body
// data-state="done"> is set and #results holds the JSON. Scripted answers are
// marked ("scripted": true) and the report says so.
//
// The results file (what the page saves and read_human_results reads):
//   {"format": "tinct-human-test", "version": 2, "page_id": "...",
//    "seed": S, "participant": "Ann", "pairs": 72, "started": ISO, "finished": ISO,
//    "complete": true, "scripted": false, ...,
//    "models": [{"name": "gan", "weights": "gan.safetensors",
//                "fingerprint": "fnv1a64:0123456789abcdef"}, ...],
//    "images": ["kodim01.png", ...],
//    "answers": [{"pair": 0, "image": "kodim01.png", "model": "gan",
//                 "real_side": "left", "choice": "right", "fooled": true,
//                 "ms": 1834}, ...],
//    "summary": [{"model": "gan", "pairs": 24, "fooled": 9, "rate": 0.375,
//                 "ci95": [0.212, 0.573]}, ...]}
// Version 1 (before the page named its photos and models) is still read.
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

// A model as a page and its results name it. The fingerprint ties answers to
// the weights that made the fakes: the report refuses answers about other
// weights of the same kind (a retrained model is another model).
struct HumanModel {
  std::string name;         // "gan"
  std::string weights;      // the weights file's name ("" when untrained)
  std::string fingerprint;  // weights_fingerprint(), "untrained", or "" (not known: version 1)
};

// "fnv1a64:" and the 16 hex digits of FNV-1a (64 bits) over the file's bytes:
// not a cryptographic hash, a check that two runs used the same file. Throws
// std::runtime_error when the file cannot be read.
std::string weights_fingerprint(const std::string& path);

// The fingerprint of a spec: weights_fingerprint(spec.weights), or
// "untrained" for a spec without weights.
HumanModel human_model(const ModelSpec& spec);

struct HumanPageOptions {
  std::uint64_t seed = 1;  // order of the pairs and sides of the real photos
  int max_side = 384;      // long side of the embedded photos (larger ones are shrunk)
  std::string title = "Real or colorized?";
  // The models of the page, with their fingerprints; a model of the images
  // that is not listed here is named without one.
  std::vector<HumanModel> models;
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
  std::string url;                  // file:// URL of the page (absolute)
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
  double ms = 0.0;                // response time
};

// One results file.
struct HumanResults {
  std::string source;  // where it was read from (for messages and the report)
  int version = 1;
  std::string page_id, participant, started, finished;
  std::size_t page_pairs = 0;  // pairs of the page (0: not given)
  bool complete = false, scripted = false;
  std::vector<HumanModel> models;   // the page's models (version 2)
  std::vector<std::string> images;  // the page's photos (version 2)
  std::vector<HumanAnswer> answers;
};

// A whole results file, checked: JSON; "format" "tinct-human-test"; a known
// version; every answer with a model and two sides "left" / "right"; pair
// ids unique and below "pairs"; a "fooled" that agrees with the sides; as
// many answers as pairs when "complete"; (version 2) every answer's model and
// photo among the page's. Throws std::runtime_error naming `source` and what
// is wrong.
HumanResults read_human_results(const std::string& json_text, const std::string& source = "");

// The answers of a results file alone, without the checks on the whole file
// (a missing "format", a "fooled" that disagrees with the sides: fooled is
// recomputed). Throws std::runtime_error for what cannot be read as answers
// (not JSON, another format, no "answers" array, a bad answer).
std::vector<HumanAnswer> parse_human_results(const std::string& json_text);

// Several people's files, pooled. Throws std::runtime_error for an
// unreadable or bad file (as read_human_results, prefixed with its path), the
// same session twice (same page and start time: a file passed twice), or one
// model name with two fingerprints (answers about different weights).
struct HumanPool {
  std::vector<HumanResults> files;
  std::vector<HumanAnswer> answers;  // every file's, in order
};
HumanPool pool_human_results(const std::vector<std::string>& paths);
HumanPool pool_human_results(std::vector<HumanResults> files);

// The pool against an evaluation: every photo of the answers must be one of
// `images` (the --data listing), and every model of the answers that the
// evaluation also runs must have the same fingerprint. Throws
// std::invalid_argument naming the file and the mismatch.
void check_human_results(const HumanPool& pool, const std::vector<ImageEntry>& images,
                         const std::vector<HumanModel>& evaluated);

struct FoolingRate {
  std::string model;
  std::size_t pairs = 0, fooled = 0;
  double rate = 0.0;  // fooled / pairs
  Interval ci95;
};

// Per model, in order of first appearance; several participants' answers can
// simply be concatenated.
std::vector<FoolingRate> fooling_rates(const std::vector<HumanAnswer>& answers);

// A Markdown table: model, pairs, fooled, fooling rate, 95% interval.
std::string fooling_table(const std::vector<FoolingRate>& rates);

// The report's section on the pool: the files (participant, answers,
// complete, scripted), the fooling table, and what it means. Models of the
// answers that are not in `evaluated_models` are marked as not run in this
// report (empty: no such mark, as for --human-results alone); answers_csv,
// when given, names the file that holds every answer.
std::string human_report_section(const HumanPool& pool, const std::vector<std::string>& evaluated_models,
                                 const std::string& answers_csv = "");

// Every answer of the pool as CSV: file, participant, pair, image, model,
// real_side, choice, fooled, ms.
std::string human_answers_csv(const HumanPool& pool);

}  // namespace tinct::eval
