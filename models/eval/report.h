// report.h — `tinct eval`: run the colorizers over a folder of colour photos,
// measure them against the originals (models/eval/metrics.h) beside the gray
// baseline, and write a report a person can read.
//
// What a run does:
//   1. lists the images under the data folder (recursively, sorted by path;
//      .jpg .jpeg .png .bmp; hidden files and folders skipped), or the images
//      of a training set (a pack or sharded set, as `tinct train --data`
//      takes), all of them or, with `holdout`, the ones a training run on
//      that set validates on: the held-out photos, measured with the same
//      metrics as Kodak, so a run's settings can be chosen on photos it did
//      not train on without looking at the test set;
//   2. resolves the models: each requested kind's weights file is
//      <weights_dir>/<kind>.safetensors, or models::default_weights_path(kind)
//      when no weights_dir is given. `all` means every kind whose file exists;
//      a kind named explicitly whose file is missing is an error before any
//      work is done (std::invalid_argument naming the path);
//   3. picks the prior of the rebalanced AuC: the classification weights'
//      "prior.weights" (the rebalancing weights of the training set, the ones
//      its loss used) when that file exists, whether or not the classification
//      model itself is evaluated; otherwise weight 1 for every bin, which makes
//      the rebalanced curve equal the raw one (the report says so);
//   4. for each image: decodes it (a file that fails, a grayscale file, or one
//      smaller than SSIM's 11 x 11 window is reported and skipped, the rest go
//      on), colorizes it with every model (the model sees only the photo's L;
//      models/inference.h), builds the gray baseline (the photo's L, a = b = 0),
//      and measures every output against the original;
//   5. writes, into the output folder:
//        report.md          tables (per set), best per column, whether the
//                           expected picture holds, the plot, skipped files
//        metrics.csv        one row per (image, model), gray included
//        summary.csv        one row per (set, model)
//        curves.csv         the pooled error curves, t = 0..150
//        error_curves.svg   raw and rebalanced curves, every model and gray
//        plausibility.svg   per image: colorfulness ratio, mean-colour error, lattice score
//        images/<name>_<model>.png   the outputs (when save_images)
//        human_answers.csv  the human test's answers (with human_results)
//
// With human_results (`--human-results FILE...`, the files the page of
// `tinct eval --human` saves), the report also has the fooling rate per
// model (models/eval/human.h). The files are read and checked against this
// run's photos and weights before any work: a malformed or mismatched file
// is std::invalid_argument.
//
// Sets: the whole folder is one set ("all"). When the images sit in more than
// one first-level subfolder (or in subfolders and at the top level), each
// subfolder is a set of its own too and gets its own table; files at the top
// level then form the set "(top level)". In a training set the images' stored
// names play the paths' part, below the folder they all share
// ("train256/bsds500_test/a.jpg": the set bsds500_test).
//
// Which number is "best" in a column: the highest AuC, PSNR and SSIM; for
// colorfulness and mean chroma the output closest to the ground truth (ratio
// closest to 1 on a log scale: twice too colourful is as far off as half as
// colourful). The gray baseline competes too: a model that does not beat
// gray on a column should be seen not to.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "models/colorizer.h"
#include "models/data/image.h"
#include "models/data/pack_set.h"
#include "models/eval/metrics.h"

namespace tinct::eval {

// The colorizers tinct knows, in report order.
const std::vector<std::string>& colorizer_kinds();
// The name of the baseline's rows.
inline constexpr const char* kGrayModel = "gray";

// Default of EvalOptions::save_images: outputs are saved for sets up to this
// many images (Kodak24: 24 x 4 PNGs, about 60 MB); beyond, only on request.
inline constexpr std::size_t kSaveImagesUpTo = 50;

struct EvalOptions {
  std::string data;                 // folder of colour photos, a single image file, or a training set
  // With a training set as data: evaluate only the `holdout` images that
  // `tinct train --holdout N` holds out of it (models/data/loader.h,
  // split_holdout: the first N by name hash). -1: every image of the set.
  int holdout = -1;
  std::vector<std::string> models;  // kinds; {"all"} or empty = every kind whose weights exist
  std::string weights_dir;          // empty: models::default_weights_path(kind)
  std::string rebalance_prior;      // the rebalanced AuC's prior; empty: the classification weights'
  std::string out;                  // output folder (created)
  int size = 256;                   // short side the models see (models::ColorizeOptions)
  Device device = Device::CPU;      // where the models run
  int save_images = -1;             // 1 yes, 0 no, -1: yes when the set has <= kSaveImagesUpTo images
  bool overwrite = false;           // replace an existing report.md
  // Freshly initialised compact models instead of weights files (seeds 1, 2,
  // 3): a smoke test of the whole pipeline where no weights exist (CI, the
  // browser test). The numbers mean nothing and the report says so.
  bool untrained = false;
  // Results files of the human test page, pooled into the report.
  std::vector<std::string> human_results;
  // The classification model's decoding; unset: the model's default.
  std::optional<models::Decoding> decoding;
  // Progress lines (one per image); null = silent.
  std::function<void(const std::string&)> log;
};

// One image of the listing: a file, or an image of a training set.
struct ImageEntry {
  std::string name;  // path relative to the data folder, '/'-separated ("sub/a.png"); in a set, its stored name
  std::string path;  // path on disk ("" for an image of a set)
  std::string set;   // the first-level subfolder, or "" at the top level
  std::shared_ptr<const data::PackSet> pack{};  // the training set it lies in, or null
  std::size_t index = 0;                      // its number in `pack`
};

// True when `data` names a training set rather than photos: a pack file, a
// sharded set's manifest, or several of either separated by commas
// (models/data/pack_set.h), each an existing file that starts like one.
bool is_training_set(const std::string& data);

// Images under `data` (a folder, recursively, or one image file), sorted by
// name; or, for a training set, its images in the set's order (`holdout` >= 0:
// only the images `tinct train --holdout N` validates on). Throws
// std::invalid_argument if `data` does not exist, when `holdout` is given for
// photos that are no training set or exceeds the set's size, and
// std::runtime_error for a set that cannot be opened (damaged, truncated).
std::vector<ImageEntry> list_images(const std::string& data, int holdout = -1);

// Decodes an entry: its file, or its image in the set. Throws what
// data::load_image or data::PackSet::decode throw.
data::Image load_entry(const ImageEntry& e);

// A colorizer to evaluate: its kind and weights file.
struct ModelSpec {
  std::string kind;
  std::string weights;  // "" for an untrained model
};

// Step 2 above. `models` may hold "all" or comma-separated names. Throws
// std::invalid_argument for an unknown kind, a missing weights file of a kind
// named explicitly, or `all` when no weights file exists at all. untrained:
// every kind asked for (all three for `all`), with no weights file.
std::vector<ModelSpec> resolve_models(const std::vector<std::string>& models,
                                      const std::string& weights_dir, bool untrained = false);

// The colorizer of a spec: loaded from its weights (models::load_colorizer,
// which checks the file's kind), or freshly initialised (compact preset,
// seed 1, 2, 3 for regression, classification, gan) when it has none. The
// model runs on `device`; a classification model decodes with `decoding`
// when one is given.
std::unique_ptr<models::Colorizer> load_model(const ModelSpec& spec, Device device = Device::CPU,
                                              const std::optional<models::Decoding>& decoding = std::nullopt);

// The prior of the rebalanced AuC (step 3).
struct RebalancePriorInfo {
  AbWeightFn weight_of;  // empty: weight 1 everywhere (rebalanced = raw)
  bool uniform = true;   // no weights file, or a prior whose weights are all equal
  std::string source;    // the file it came from, or ""
  std::string note;      // one sentence for the report
};
// From a classification weights file ("prior.weights") or a pack's prior
// (PACK.prior.safetensors, "weights"). `required`: a file that is missing or
// holds no usable prior throws instead of falling back to weight 1 (a prior
// the user named, --rebalance-prior).
RebalancePriorInfo load_rebalance_prior(const std::string& classification_weights, bool required = false);

// A file name for an output image: `name` without its extension, '/' -> '_'.
std::string output_stem(const std::string& name);

struct SkippedImage {
  std::string name;
  std::string reason;
};
struct ModelFailure {
  std::string model;
  std::string image;  // "" when the model could not be loaded at all
  std::string reason;
};
struct ModelTiming {
  std::string model;
  std::string weights;        // the file ("" for gray and untrained models)
  bool untrained = false;     // freshly initialised (EvalOptions::untrained)
  std::string preset;         // from the file's metadata
  std::int64_t parameters = 0;
  std::string decoding;       // models::decoding_text, for the classification model
  double seconds = 0.0;       // colorizing, all images
  std::size_t images = 0;     // colorized successfully
};

struct EvalResult {
  std::vector<ImageMetrics> rows;             // per image, models then gray
  std::vector<std::string> row_sets;          // the set of each row ("" top level)
  std::vector<std::string> models;            // the model names in the tables, gray last
  std::vector<ModelTiming> timings;           // per model, gray included
  std::vector<SkippedImage> skipped;
  std::vector<ModelFailure> failures;
  std::size_t images_listed = 0, images_evaluated = 0;
  RebalancePriorInfo prior;
  std::vector<std::string> written;           // the files written, relative to out
  double seconds = 0.0;                       // the whole run
  bool saved_images = false;
  std::string human_section;                  // the report's human-test section ("" without human_results)
  std::size_t human_answers = 0;              // answers pooled from human_results

  // 0 when every requested model was evaluated on every evaluated image and
  // at least one image was evaluated; 1 otherwise.
  int exit_code() const { return (failures.empty() && images_evaluated > 0) ? 0 : 1; }
};

// Runs steps 1 to 5. Throws std::invalid_argument for bad options (no data,
// no output, an existing report without overwrite, a missing weights file of
// a model named explicitly) and std::runtime_error when the output cannot be
// written. Bad images and model failures do not throw: they are in the result
// and the report (and make exit_code() 1). When no image could be evaluated
// the report still says so, and which files failed.
EvalResult run_evaluation(const EvalOptions& options);

// The checks both `tinct eval` runs share: data, output folder and size given
// and sane, and OUTDIR/<main_file> not overwritten without o.overwrite.
// Throws std::invalid_argument.
void check_eval_options(const EvalOptions& o, const std::string& main_file);

// --- pieces of the report, exposed for tests -------------------------------

// The index in `sets` of the best summary on a column, or -1 (none finite).
// Columns: "auc", "auc_rebalanced", "psnr", "ssim", "colorfulness", "chroma".
int best_on(const std::vector<SetSummary>& sets, const std::string& column);

// The paragraph on the expected picture (Zhang et al.): regression best of
// the three models on raw AuC and PSNR, classification best on rebalanced AuC
// and colorfulness, every model above gray on rebalanced AuC. Each claim is
// checked on `sets` and stated as holding or not, with the numbers; claims
// about a model that is not in `sets` are said to be unchecked.
std::string expected_picture(const std::vector<SetSummary>& sets);

// The two-panel SVG (raw above rebalanced) of the pooled error curves of
// `sets`, the gray baseline dashed in gray. uniform_prior: say in the second
// title that it repeats the first.
std::string error_curves_panels_svg(const std::vector<SetSummary>& sets, const std::string& title,
                                    bool uniform_prior = false);

// The report's plausibility section for one set's summaries (`sets`): mean a
// and b against the truth's, the signed cast, the mean-colour errors, the
// colorfulness ratio, the photos flagged by the lattice proxy
// (models/eval/artifact.h) per model and the ground truths flagged (the
// control), and the plot plausibility.svg.
std::string plausibility_section(const EvalResult& r, const std::vector<SetSummary>& sets);
// plausibility.svg: three stacked panels over the images of r (x = their
// order): the colorfulness ratio (log axis, 1 dashed), the mean-colour error,
// and the lattice score with the truth's (dashed gray) and the threshold.
std::string plausibility_svg(const EvalResult& r, const std::string& title);

}  // namespace tinct::eval
