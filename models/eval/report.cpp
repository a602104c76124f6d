// report.cpp — `tinct eval`: colorize a folder, measure, write the report.
// See report.h for what a run does and writes.
#include "models/eval/report.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <memory>
#include <numeric>
#include <set>
#include <sstream>
#include <stdexcept>

#include "engine/atomic_file.h"
#include "engine/checkpoint.h"
#include "models/color/gamut.h"
#include "models/color/lab.h"
#include "models/data/image.h"
#include "models/data/loader.h"
#include "models/data/pack.h"
#include "models/eval/artifact.h"
#include "models/eval/human.h"
#include "models/eval/plot.h"
#include "models/inference.h"

namespace tinct::eval {

namespace fs = std::filesystem;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// SSIM's window: smaller images have no valid position (metrics.h).
constexpr int kMinSide = kSsimWindow;

// The name a set has in headings when it is the whole folder or the top level.
const char* kAllSet = "all";
const char* kTopLevelSet = "(top level)";

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Atomically (engine/atomic_file.h): a full disk leaves no half-written report.
void write_text(const fs::path& path, const std::string& text) {
  write_file_atomic(path.string(), text.data(), text.size());
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

std::string weights_path_for(const std::string& kind, const std::string& weights_dir) {
  if (weights_dir.empty()) return models::default_weights_path(kind);
  return (fs::path(weights_dir) / (kind + ".safetensors")).string();
}

std::vector<std::string> split_commas(const std::vector<std::string>& items) {
  std::vector<std::string> out;
  for (const std::string& item : items) {
    std::size_t begin = 0;
    while (begin <= item.size()) {
      std::size_t end = item.find(',', begin);
      if (end == std::string::npos) end = item.size();
      std::string part = item.substr(begin, end - begin);
      part.erase(0, part.find_first_not_of(" \t"));
      part.erase(part.find_last_not_of(" \t") + 1);
      if (!part.empty()) out.push_back(lower(part));
      begin = end + 1;
    }
  }
  return out;
}

// Distance of a colourfulness (or chroma) ratio from 1 on a log scale, so
// that twice and half as colourful are equally far off. A gray output (ratio
// 0) is infinitely far; NaN (gray truth) ranks last.
double log_ratio_distance(double out, double truth) {
  if (!(truth > 0.0) || !std::isfinite(out) || out < 0.0) return kNaN;
  if (out == 0.0) return std::numeric_limits<double>::infinity();
  return std::fabs(std::log(out / truth));
}

// The score of a summary on a column: higher is better.
double column_score(const SetSummary& s, const std::string& column) {
  if (column == "auc") return s.auc_pooled;
  if (column == "auc_rebalanced") return s.auc_rebalanced_pooled;
  if (column == "psnr") return s.mean_psnr;
  if (column == "ssim") return s.mean_ssim;
  if (column == "colorfulness") return -log_ratio_distance(s.mean_colorfulness, s.mean_colorfulness_truth);
  if (column == "chroma") return -log_ratio_distance(s.mean_chroma, s.mean_chroma_truth);
  throw std::invalid_argument("best_on: unknown column '" + column + "'");
}

const SetSummary* find_set(const std::vector<SetSummary>& sets, const std::string& model) {
  for (const SetSummary& s : sets)
    if (s.model == model && s.images > 0) return &s;
  return nullptr;
}

std::string pct(double v) { return format_number(100.0 * v, 2); }

// The colour of a model in the plot: fixed per kind, so that a model keeps its
// colour whichever others are in the run.
std::string model_color(const std::string& model) {
  const auto& palette = plot_palette();
  const auto& kinds = colorizer_kinds();
  for (std::size_t i = 0; i < kinds.size(); ++i)
    if (kinds[i] == model) return palette[i % palette.size()];
  return "";
}

}  // namespace

// ===========================================================================

const std::vector<std::string>& colorizer_kinds() {
  static const std::vector<std::string> kinds = {"regression", "classification", "gan"};
  return kinds;
}

bool is_training_set(const std::string& data) {
  if (data.empty()) return false;
  std::error_code ec;
  if (fs::is_directory(data, ec)) return false;
  // A name with commas that is itself a file is that file.
  const std::vector<std::string> parts =
      fs::is_regular_file(data, ec) ? std::vector<std::string>{data} : data::PackSet::split_spec(data);
  for (const std::string& p : parts)
    if (!fs::is_regular_file(p, ec) || !(data::is_pack_file(p) || data::is_set_manifest(p))) return false;
  return true;
}

namespace {

// The images of a training set, or those `tinct train --holdout N` holds out.
std::vector<ImageEntry> list_set_images(const std::string& data, int holdout) {
  std::shared_ptr<const data::PackSet> set = data::PackSet::open(data, data::PackSet::Hold::stream);
  std::vector<std::uint32_t> picked;
  if (holdout < 0) {
    picked.resize(set->size());
    std::iota(picked.begin(), picked.end(), 0u);
  } else {
    if (std::size_t(holdout) > set->size())
      throw std::invalid_argument("--holdout " + std::to_string(holdout) + ": '" + data + "' holds " +
                                  std::to_string(set->size()) + " images");
    picked = data::split_holdout(*set, std::size_t(holdout)).validation;
  }
  std::vector<ImageEntry> out;
  std::set<std::string> names;
  for (const std::uint32_t i : picked) {
    ImageEntry e;
    e.name = set->entry(i).name;
    // Several packs may hold the same name: each output keeps its own.
    if (!names.insert(e.name).second) e.name += "#" + std::to_string(i);
    e.pack = set;
    e.index = i;
    out.push_back(std::move(e));
  }
  // The sets: the folder each name starts with, below the one they all
  // share ("train256/bsds500_test/a.jpg": bsds500_test), as a folder's
  // first-level subfolders are.
  std::vector<std::vector<std::string>> parts(out.size());  // each name's path components, split once
  for (std::size_t k = 0; k < out.size(); ++k)
    for (const fs::path& c : fs::path(out[k].name)) parts[k].push_back(c.generic_string());
  // skip: how many leading folders every name shares (each name keeping a
  // folder and its file below them).
  auto shared_at = [&](std::size_t level) {
    for (const std::vector<std::string>& p : parts)
      if (p.size() <= level + 2 || p[level] != parts.front()[level]) return false;
    return true;
  };
  std::size_t skip = 0;
  while (!out.empty() && shared_at(skip)) ++skip;
  for (std::size_t k = 0; k < out.size(); ++k)
    if (parts[k].size() > skip + 1) out[k].set = parts[k][skip];
  return out;
}

}  // namespace

std::vector<ImageEntry> list_images(const std::string& data, int holdout) {
  if (is_training_set(data)) return list_set_images(data, holdout);
  std::error_code ec;
  const fs::path root(data);
  const fs::file_status st = fs::status(root, ec);
  if (data.empty() || ec || !fs::exists(st))
    throw std::invalid_argument("data '" + data + "' does not exist");
  if (holdout >= 0)
    throw std::invalid_argument("--holdout picks the held-out images of a training set (a pack from tinct prepare); '" +
                                data + "' is " + (fs::is_directory(st) ? "a folder" : "not a pack"));
  std::vector<ImageEntry> out;
  if (!fs::is_directory(st)) {  // one file named directly: examined whatever its extension
    ImageEntry e;
    e.name = root.filename().generic_string();
    e.path = root.string();
    out.push_back(std::move(e));
    return out;
  }
  for (const data::FileUnder& f : data::list_files(data, data::has_decodable_extension)) {
    ImageEntry e;
    e.name = f.rel;
    e.path = f.path;
    const fs::path rel(f.rel);
    if (std::next(rel.begin()) != rel.end()) e.set = rel.begin()->generic_string();
    out.push_back(std::move(e));
  }
  return out;
}

data::Image load_entry(const ImageEntry& e) {
  if (!e.pack) return data::load_image(e.path);
  data::Image img = e.pack->decode(e.index);
  img.source_channels = 3;  // a pack holds colour photos (tinct prepare drops gray ones)
  return img;
}

std::vector<ModelSpec> resolve_models(const std::vector<std::string>& requested,
                                      const std::string& weights_dir, bool untrained) {
  std::vector<std::string> names = split_commas(requested);
  const auto& kinds = colorizer_kinds();
  bool all = names.empty();
  for (const std::string& n : names) {
    if (n == "all") {
      all = true;
    } else if (std::find(kinds.begin(), kinds.end(), n) == kinds.end()) {
      throw std::invalid_argument("unknown model '" + n + "' (regression, classification, gan, all)");
    }
  }
  std::vector<ModelSpec> out;
  std::vector<std::string> looked;
  for (const std::string& kind : kinds) {  // report order, each kind once
    const bool named = std::find(names.begin(), names.end(), kind) != names.end();
    if (!named && !all) continue;
    if (untrained) {
      out.push_back({kind, ""});
      continue;
    }
    const std::string path = weights_path_for(kind, weights_dir);
    std::error_code ec;
    if (fs::is_regular_file(path, ec)) {
      out.push_back({kind, path});
    } else if (named) {
      throw std::invalid_argument("no weights for the " + kind + " model: '" + path +
                                  "' does not exist (train one with `tinct train --model " + kind +
                                  "`, or point --weights-dir at a folder holding " + kind + ".safetensors)");
    } else {
      looked.push_back(path);
    }
  }
  if (out.empty()) {
    std::string where;
    for (const std::string& p : looked) where += "\n  " + p;
    throw std::invalid_argument("no weights found for any model; looked for:" + where +
                                "\n(set --weights-dir or TINCT_WEIGHTS, or train a model with `tinct train`)");
  }
  return out;
}

std::unique_ptr<models::Colorizer> load_model(const ModelSpec& spec, Device device,
                                              const std::optional<models::Decoding>& decoding) {
  std::unique_ptr<models::Colorizer> model;
  if (!spec.weights.empty()) {
    model = models::load_colorizer(spec.weights, spec.kind, device);
  } else {
    const auto& kinds = colorizer_kinds();
    const auto at = std::find(kinds.begin(), kinds.end(), spec.kind);
    models::ColorizerOptions o;
    o.kind = spec.kind;
    o.preset = "compact";
    o.seed = 1 + static_cast<std::uint64_t>(at - kinds.begin());
    o.device = device;
    model = models::make_colorizer(o);
  }
  if (decoding && spec.kind == "classification") model->set_decoding(*decoding);
  return model;
}

RebalancePriorInfo load_rebalance_prior(const std::string& path, bool required) {
  RebalancePriorInfo info;
  std::error_code ec;
  if (required && !fs::is_regular_file(path, ec))
    throw std::invalid_argument("--rebalance-prior " + path + ": no such file");
  if (path.empty() || !fs::is_regular_file(path, ec)) {
    info.note = "No classification weights were found, so the training set's rebalancing prior is unknown: "
                "the rebalanced AuC uses weight 1 for every colour and equals the raw AuC.";
    return info;
  }
  try {
    const Checkpoint c = load_checkpoint(path);
    auto w = c.tensors.find("prior.weights");  // a classification weights file
    if (w == c.tensors.end()) w = c.tensors.find("weights");  // a pack's prior
    if (w == c.tensors.end())
      throw std::runtime_error("it holds no \"prior.weights\" (weights) or \"weights\" (a pack's prior)");
    std::vector<float> weights = w->second.to_vector();
    // The prior's gamut: the one of its size (zhang313, or srgb262 for the
    // files written before the metadata named it).
    const color::AbGamut* found = color::AbGamut::with_bins(static_cast<int>(weights.size()));
    if (!found)
      throw std::runtime_error("its prior has " + std::to_string(weights.size()) +
                               " bins, no known gamut's count (313 or 262)");
    const color::AbGamut& gamut = *found;
    float lo = weights[0], hi = weights[0];
    for (float v : weights) {
      if (!(v >= 0.0f) || !std::isfinite(v)) throw std::runtime_error("its prior holds a negative or non-finite weight");
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    info.source = path;
    // A model that was never prepared on data stores weight 1 everywhere.
    info.uniform = (hi - lo) <= 1e-6f * std::max(1.0f, hi);
    info.weight_of = nearest_bin_weights(gamut, std::move(weights));
    if (info.uniform)
      info.note = "The rebalancing prior stored in `" + path +
                  "` is uniform (the model was not trained on data), so the rebalanced AuC equals the raw AuC.";
    else
      info.note = "Rebalanced AuC: each pixel weighs the rebalancing weight of its true colour's nearest ab bin, "
                  "from the training-set prior stored in `" + path +
                  "` (Zhang et al. use ImageNet's prior, so the numbers compare between tinct's models, "
                  "not digit for digit with the paper).";
  } catch (const std::exception& e) {
    if (required) throw std::invalid_argument("--rebalance-prior " + path + ": " + e.what());
    info = RebalancePriorInfo{};
    info.note = std::string("The rebalancing prior could not be read from `") + path + "` (" + e.what() +
                "), so the rebalanced AuC uses weight 1 for every colour and equals the raw AuC.";
  }
  return info;
}

std::string output_stem(const std::string& name) {
  fs::path p(name);
  std::string stem = (p.parent_path() / p.stem()).generic_string();
  for (char& c : stem)
    if (c == '/' || c == '\\') c = '_';
  return stem;
}

// ===========================================================================
// Pieces of the report

int best_on(const std::vector<SetSummary>& sets, const std::string& column) {
  int best = -1;
  double best_score = -std::numeric_limits<double>::infinity();
  for (std::size_t i = 0; i < sets.size(); ++i) {
    if (sets[i].images == 0) continue;
    const double s = column_score(sets[i], column);
    if (std::isnan(s)) continue;
    if (best < 0 || s > best_score) {  // ties: the first, i.e. the models before gray
      best = static_cast<int>(i);
      best_score = s;
    }
  }
  return best;
}

std::string expected_picture(const std::vector<SetSummary>& sets) {
  // Only the three colorizers compete in the "best of" claims; gray is the
  // floor of the last claim.
  std::vector<SetSummary> models;
  for (const std::string& k : colorizer_kinds())
    if (const SetSummary* s = find_set(sets, k)) models.push_back(*s);
  const SetSummary* gray = find_set(sets, kGrayModel);

  struct Claim {
    std::string text;
    int state;  // 1 holds, 0 does not, -1 not checked
    std::string detail;
  };
  std::vector<Claim> claims;

  auto names_of = [&]() {
    std::string s;
    for (std::size_t i = 0; i < models.size(); ++i) s += (i ? ", " : "") + models[i].model;
    return s;
  };
  // "model is the best of the colorizers on column"
  auto best_claim = [&](const std::string& model, const std::string& column, const std::string& what,
                        const std::function<std::string(const SetSummary&)>& show) {
    Claim c{model + " is the best of the colorizers on " + what, -1, ""};
    const bool present = find_set(models, model) != nullptr;
    if (!present || models.size() < 2) {
      c.detail = present ? "only " + model + " was evaluated" : model + " was not evaluated";
      claims.push_back(c);
      return;
    }
    const int b = best_on(models, column);
    c.state = (b >= 0 && models[static_cast<std::size_t>(b)].model == model) ? 1 : 0;
    for (std::size_t i = 0; i < models.size(); ++i)
      c.detail += (i ? ", " : "") + models[i].model + " " + show(models[i]);
    claims.push_back(c);
  };

  best_claim("regression", "auc", "raw AuC", [](const SetSummary& s) { return pct(s.auc_pooled) + "%"; });
  best_claim("regression", "psnr", "PSNR", [](const SetSummary& s) { return format_number(s.mean_psnr, 2) + " dB"; });
  best_claim("classification", "auc_rebalanced", "rebalanced AuC",
             [](const SetSummary& s) { return pct(s.auc_rebalanced_pooled) + "%"; });
  best_claim("classification", "colorfulness", "colorfulness (closest to the truth's)",
             [](const SetSummary& s) { return format_number(s.colorfulness_ratio, 2) + "x the truth's"; });

  {
    Claim c{"every colorizer is above gray on rebalanced AuC", -1, ""};
    if (!gray || models.empty()) {
      c.detail = gray ? "no colorizer was evaluated" : "the gray baseline is missing";
    } else {
      c.state = 1;
      c.detail = "gray " + pct(gray->auc_rebalanced_pooled) + "%";
      for (const SetSummary& m : models) {
        const bool above = m.auc_rebalanced_pooled > gray->auc_rebalanced_pooled;
        if (!above) c.state = 0;
        c.detail += std::string(", ") + m.model + " " + pct(m.auc_rebalanced_pooled) + "%" + (above ? "" : " (not above)");
      }
      if (models.size() < colorizer_kinds().size()) c.detail += "; only " + names_of() + " evaluated";
    }
    claims.push_back(c);
  }

  int holds = 0, fails = 0, unchecked = 0;
  for (const Claim& c : claims) (c.state == 1 ? holds : c.state == 0 ? fails : unchecked) += 1;
  std::ostringstream o;
  o << "Zhang et al. (ECCV 2016) found regression best on raw AuC and PSNR (it hedges towards the mean "
       "colour, which the raw measures reward), classification best on rebalanced AuC and colorfulness "
       "(rare, saturated colours), and every method above the gray baseline on rebalanced AuC. On this set ";
  if (fails == 0 && unchecked == 0)
    o << "**the expected picture holds**: all " << holds << " claims are met.";
  else if (fails == 0)
    o << "**the expected picture holds as far as it can be checked**: " << holds << " claims met, " << unchecked
      << " not checked.";
  else
    o << "**the expected picture does not hold**: " << holds << " of " << claims.size() << " claims met, " << fails
      << " not met" << (unchecked ? ", " + std::to_string(unchecked) + " not checked" : std::string()) << ".";
  o << "\n\n";
  for (const Claim& c : claims)
    o << "- " << (c.state == 1 ? "holds" : c.state == 0 ? "**does not hold**" : "not checked") << ": " << c.text
      << " (" << c.detail << ")\n";
  return o.str();
}

namespace {

// Plots stacked top to bottom in one SVG. Each panel is a whole <svg> with
// width and height attributes; read them to place it inside an outer <svg>.
std::string stack_svgs(const std::vector<std::string>& panels) {
  auto attr = [](const std::string& svg, const std::string& name) {
    const std::string key = " " + name + "=\"";
    const std::size_t p = svg.find(key);
    if (p == std::string::npos) throw std::runtime_error("stack_svgs: no " + name + " in the plot");
    return std::stod(svg.substr(p + key.size()));
  };
  double w = 0, h = 0;
  std::vector<double> y;
  for (const std::string& p : panels) {
    w = std::max(w, attr(p, "width"));
    y.push_back(h);
    h += attr(p, "height");
  }
  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"" << w << "\" height=\"" << h
    << "\" viewBox=\"0 0 " << w << ' ' << h << "\">\n";
  for (std::size_t i = 0; i < panels.size(); ++i) {
    std::string p = panels[i];
    p.replace(0, 4, "<svg x=\"0\" y=\"" + std::to_string(static_cast<long>(y[i])) + "\"");
    o << p;
  }
  o << "</svg>\n";
  return o.str();
}

}  // namespace

std::string error_curves_panels_svg(const std::vector<SetSummary>& sets, const std::string& title,
                                    bool uniform_prior) {
  // Two plots stacked (raw above rebalanced) in one SVG: side by side they
  // would shrink below legibility in a Markdown viewer's column.
  std::vector<std::string> panels;
  for (int rebalanced = 0; rebalanced < 2; ++rebalanced) {
    std::vector<PlotSeries> series;
    for (const SetSummary& s : sets) {
      if (s.images == 0) continue;
      const bool gray = s.model == kGrayModel;
      const double auc = rebalanced ? s.auc_rebalanced_pooled : s.auc_pooled;
      series.push_back(error_curve_series(s.model + " (AuC " + pct(auc) + "%)",
                                          rebalanced ? s.curve.curve_rebalanced() : s.curve.curve(),
                                          gray ? "#7f7f7f" : model_color(s.model), gray));
    }
    panels.push_back(error_curves_svg(
        series, title + (rebalanced ? (uniform_prior ? ": class-rebalanced accuracy (uniform prior: as raw)"
                                                     : ": class-rebalanced accuracy")
                                    : ": raw accuracy")));
  }
  return stack_svgs(panels);
}

std::string plausibility_section(const EvalResult& r, const std::vector<SetSummary>& sets) {
  std::ostringstream md;
  md << "## Plausibility\n\n";
  // The best (lowest) mean-colour error among the colorizers, in bold.
  int best = -1;
  for (std::size_t i = 0; i < sets.size(); ++i)
    if (sets[i].images > 0 && sets[i].model != kGrayModel &&
        (best < 0 || sets[i].mean_color_error < sets[static_cast<std::size_t>(best)].mean_color_error))
      best = static_cast<int>(i);
  auto signed_num = [](double v) { return (v > 0 ? "+" : "") + format_number(v, 2); };
  std::vector<std::vector<std::string>> rows;
  for (std::size_t i = 0; i < sets.size(); ++i) {
    const SetSummary& s = sets[i];
    if (s.images == 0) continue;
    const std::string err = format_number(s.mean_color_error, 2);
    rows.push_back({s.model == kGrayModel ? "gray (baseline)" : s.model,
                    format_number(s.mean_a, 2) + " / " + format_number(s.mean_a_truth, 2),
                    format_number(s.mean_b, 2) + " / " + format_number(s.mean_b_truth, 2),
                    signed_num(s.cast_a) + ", " + signed_num(s.cast_b),
                    format_number(s.abs_a_error, 2) + ", " + format_number(s.abs_b_error, 2),
                    static_cast<int>(i) == best ? "**" + err + "**" : err,
                    format_number(s.colorfulness_ratio, 2) + " (" + format_number(s.median_colorfulness_ratio, 2) + ")",
                    format_number(s.colorfulness_error, 2),
                    s.lattice_measured ? std::to_string(s.lattice_flagged) + " of " + std::to_string(s.lattice_measured)
                                       : std::string("-"),
                    format_number(s.max_lattice_score, 2)});
  }
  md << markdown_table({"Model", "Mean a out / truth", "Mean b out / truth", "Cast a, b (signed)",
                        "Mean-colour error a, b", "Mean-colour error", "Colorfulness ratio (median)",
                        "Colorfulness error", "Lattice flagged", "Max lattice score"},
                       rows,
                       {Align::kLeft, Align::kRight, Align::kRight, Align::kRight, Align::kRight, Align::kRight,
                        Align::kRight, Align::kRight, Align::kRight, Align::kRight});
  md << "\nMean a, b: the mean over pixels of the output's (and the truth's) a and b, averaged over images; "
        "the cast is their signed difference (a > 0: towards red, b > 0: towards yellow), the mean-colour "
        "errors the mean over images of |mean a - truth's| and |mean b - truth's|, and of the distance "
        "between the two mean colours (lowest in bold). Colorfulness ratio: output over truth, ratio of the "
        "set means (the median of the per-image ratios in brackets); colorfulness error: the mean over images of "
        "|output's colorfulness - truth's|, each photo against its own. Lattice: the periodic-artifact proxy "
        "of `models/eval/artifact.h` (log10 of the ab power at the model grid's periods 2 to 32 over its "
        "spectral neighbours, the largest over the image and its tiles); flagged above "
        << format_number(kLatticeThreshold, 2) << ".\n\n";

  // The flagged photos, with the truth's score as the control.
  std::vector<std::string> flagged;
  std::size_t truth_flagged = 0;
  std::set<std::string> truth_seen;
  for (const ImageMetrics& m : r.rows) {
    if (m.lattice_score_truth > kLatticeThreshold && truth_seen.insert(m.image).second) ++truth_flagged;
    if (m.model == kGrayModel || !m.lattice_flagged()) continue;
    flagged.push_back("`" + m.image + "` " + m.model + " " + format_number(m.lattice_score, 2) + " (period " +
                      std::to_string(m.lattice_period) + ", truth " + format_number(m.lattice_score_truth, 2) + ")");
  }
  if (flagged.empty()) {
    md << "No output is flagged with a lattice.";
  } else {
    md << "Flagged with a lattice: ";
    for (std::size_t i = 0; i < flagged.size(); ++i) md << (i ? "; " : "") << flagged[i];
    md << ".";
  }
  md << " Ground truths flagged (a periodic texture of the photo itself): " << truth_flagged << ".\n\n";
  md << "![Per image: colorfulness ratio, mean-colour error, lattice score](plausibility.svg)\n\n";
  return md.str();
}

std::string plausibility_svg(const EvalResult& r, const std::string& title) {
  // The images in order of first appearance: x = 1, 2, ...
  std::vector<std::string> images;
  std::map<std::string, double> index;
  for (const ImageMetrics& m : r.rows)
    if (index.emplace(m.image, double(images.size() + 1)).second) images.push_back(m.image);
  const double n = double(images.size());
  std::vector<std::vector<PlotSeries>> panels(3);
  std::map<std::string, double> truth_score;
  for (const std::string& model : r.models) {
    const bool gray = model == kGrayModel;
    PlotSeries ratio{model, {}, {}, gray ? "#7f7f7f" : model_color(model), gray};
    PlotSeries err = ratio, lat = ratio;
    for (const ImageMetrics& m : r.rows) {
      if (m.model != model) continue;
      const double x = index[m.image];
      ratio.x.push_back(x);
      ratio.y.push_back(m.colorfulness_ratio);
      err.x.push_back(x);
      err.y.push_back(m.mean_color_error);
      lat.x.push_back(x);
      lat.y.push_back(m.lattice_score);
      if (!std::isnan(m.lattice_score_truth)) truth_score.emplace(m.image, m.lattice_score_truth);
    }
    if (!gray) panels[0].push_back(ratio);  // gray's ratio is 0: off a log axis
    panels[1].push_back(err);
    if (!gray) panels[2].push_back(lat);
  }
  panels[0].push_back({"truth (ratio 1)", {1, std::max(1.0, n)}, {1, 1}, "#000000", true});
  PlotSeries truth{"ground truth (control)", {}, {}, "#7f7f7f", true};
  for (const auto& [image, score] : truth_score) {
    truth.x.push_back(index[image]);
    truth.y.push_back(score);
  }
  // Sorted by x, so the dashed control line runs left to right.
  std::vector<std::size_t> order(truth.x.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return truth.x[a] < truth.x[b]; });
  PlotSeries sorted_truth = truth;
  for (std::size_t i = 0; i < order.size(); ++i) {
    sorted_truth.x[i] = truth.x[order[i]];
    sorted_truth.y[i] = truth.y[order[i]];
  }
  panels[2].push_back(sorted_truth);
  panels[2].push_back({"flag threshold", {1, std::max(1.0, n)}, {kLatticeThreshold, kLatticeThreshold}, "#d55e00", true});

  std::vector<std::string> svgs;
  PlotOptions o;
  o.x_label = "image (in the order of metrics.csv)";
  o.x_min = 1;
  o.x_max = std::max(2.0, n);
  o.title = title + ": colorfulness ratio (output / truth), per image";
  o.y_label = "ratio (log scale)";
  o.log_y = true;
  svgs.push_back(svg_line_plot(panels[0], o));
  o.log_y = false;
  o.title = title + ": mean-colour error, per image";
  o.y_label = "|mean ab - truth's| (LAB)";
  o.y_min = 0;
  svgs.push_back(svg_line_plot(panels[1], o));
  o.title = title + ": lattice score, per image";
  o.y_label = "log10 peak / neighbours";
  svgs.push_back(svg_line_plot(panels[2], o));
  return stack_svgs(svgs);
}

// ===========================================================================
// The run

namespace {

struct LoadedModel {
  ModelSpec spec;
  std::unique_ptr<models::Colorizer> model;
  ModelTiming timing;
};

// The table of one set, "best" in bold.
std::string set_table(const std::vector<SetSummary>& sets) {
  const char* columns[] = {"auc", "auc_rebalanced", "psnr", "ssim", "colorfulness", "chroma"};
  int best[6];
  for (int c = 0; c < 6; ++c) best[c] = best_on(sets, columns[c]);
  auto bold = [&](int column, std::size_t row, const std::string& text) {
    return best[column] == static_cast<int>(row) ? "**" + text + "**" : text;
  };
  std::vector<std::vector<std::string>> rows;
  for (std::size_t i = 0; i < sets.size(); ++i) {
    const SetSummary& s = sets[i];
    if (s.images == 0) continue;
    rows.push_back({s.model == kGrayModel ? "gray (baseline)" : s.model, bold(0, i, pct(s.auc_pooled)),
                    bold(1, i, pct(s.auc_rebalanced_pooled)), bold(2, i, format_number(s.mean_psnr, 2)),
                    bold(3, i, format_number(s.mean_ssim, 4)),
                    bold(4, i, format_number(s.mean_colorfulness, 1) + " / " +
                                   format_number(s.mean_colorfulness_truth, 1) + " (" +
                                   format_number(s.colorfulness_ratio, 2) + ")"),
                    bold(5, i, format_number(s.mean_chroma, 1) + " / " + format_number(s.mean_chroma_truth, 1))});
  }
  std::string t = markdown_table({"Model", "Raw AuC (%)", "Rebalanced AuC (%)", "PSNR (dB)", "SSIM",
                                  "Colorfulness out / truth (ratio)", "Mean chroma out / truth"},
                                 rows,
                                 {Align::kLeft, Align::kRight, Align::kRight, Align::kRight, Align::kRight,
                                  Align::kRight, Align::kRight});
  const char* what[] = {"raw AuC", "rebalanced AuC", "PSNR", "SSIM", "colorfulness", "mean chroma"};
  t += "\nBest: ";
  for (int c = 0; c < 6; ++c)
    t += std::string(c ? "; " : "") + what[c] + " " +
         (best[c] >= 0 ? sets[static_cast<std::size_t>(best[c])].model : std::string("n/a"));
  t += ".\n";
  return t;
}

std::vector<SetSummary> summaries_for(const EvalResult& r, const std::string& set, bool whole) {
  std::vector<ImageMetrics> rows;
  for (std::size_t i = 0; i < r.rows.size(); ++i)
    if (whole || r.row_sets[i] == set) rows.push_back(r.rows[i]);
  std::vector<SetSummary> out;
  for (const std::string& m : r.models) out.push_back(summarize(m, rows));
  return out;
}

std::string build_report(const EvalOptions& o, const EvalResult& r, const std::string& set_name,
                         const std::vector<std::pair<std::string, std::vector<SetSummary>>>& tables) {
  std::ostringstream md;
  md << "# tinct eval: " << set_name << "\n\n";
  if (o.untrained)
    md << "> **Untrained models** (`--untrained`): freshly initialised weights, a smoke test of the pipeline. "
          "These numbers say nothing about the colorizers.\n\n";
  md << "- Data: `" << o.data << "`"
     << (o.holdout >= 0 ? ", the " + std::to_string(o.holdout) + " images `tinct train --holdout " +
                              std::to_string(o.holdout) + "` holds out of it (by name hash)"
                        : std::string())
     << ", " << r.images_evaluated << " of " << r.images_listed << " images evaluated" << (r.skipped.empty() ? "" : " (the others are listed under Skipped files)") << "\n";
  md << "- Models see the photo's L at a short side of " << o.size
     << " pixels; the predicted ab is upsampled to full size and joined with the photo's own L. "
        "Every metric compares that full-size output with the original photo.\n";
  md << "- " << r.prior.note << "\n";
  md << "- tinct " << TINCT_VERSION << ", " << utc_now() << ", " << format_number(r.seconds, 1)
     << " s in all.\n\n";

  for (const auto& [title, sets] : tables) {
    std::size_t n = 0;
    for (const SetSummary& s : sets) n = std::max(n, s.images);
    md << "## " << title << " (" << n << (n == 1 ? " image" : " images") << ")\n\n" << set_table(sets) << "\n";
  }
  md << "AuC: area under the cumulative curve of the per-pixel ab error (L2 distance in LAB, thresholds 0 to "
        "150), pooled over all pixels of the set; rebalanced: each pixel weighted by how rare its true "
        "colour is. PSNR (capped at 100 dB) and SSIM on RGB, averaged over images. Colorfulness: Hasler and "
        "Suesstrunk; mean chroma: sqrt(a^2 + b^2) in LAB units. Best: highest AuC, PSNR, SSIM; for "
        "colorfulness and chroma the one closest to the ground truth. Per-image numbers are in `metrics.csv`.\n\n";

  md << "## The expected picture\n\n" << expected_picture(tables.front().second);
  if (r.prior.uniform)
    md << "\nCaution: without a training-set prior the rebalanced AuC equals the raw AuC, so the two claims on "
          "rebalanced AuC are checked on raw numbers here.\n";
  md << "\n";
  md << "## Error curves\n\n![Cumulative ab-error curves, raw and class-rebalanced](error_curves.svg)\n\n";
  md << r.human_section;
  md << plausibility_section(r, tables.front().second);

  md << "## Models\n\n";
  std::vector<std::vector<std::string>> trows;
  for (const ModelTiming& t : r.timings) {
    const double per = t.images ? t.seconds / double(t.images) : kNaN;
    const std::string weights = t.untrained ? "untrained (`--untrained`)" : t.weights.empty() ? "-" : "`" + t.weights + "`";
    trows.push_back({t.model, weights, t.preset.empty() ? "-" : t.preset,
                     t.parameters ? std::to_string(t.parameters) : "-", std::to_string(t.images),
                     format_number(per, 3)});
  }
  md << markdown_table({"Model", "Weights", "Preset", "Parameters", "Images", "Seconds per image"}, trows,
                       {Align::kLeft, Align::kLeft, Align::kLeft, Align::kRight, Align::kRight, Align::kRight})
     << "\n";
  for (const ModelTiming& t : r.timings)
    if (!t.decoding.empty()) md << "Decoding of the " << t.model << " model: " << t.decoding << ".\n\n";

  if (!r.failures.empty()) {
    md << "## Failures\n\n";
    for (const ModelFailure& f : r.failures)
      md << "- " << f.model << (f.image.empty() ? " (not loaded)" : " on `" + f.image + "`") << ": " << f.reason
         << "\n";
    md << "\nA model that failed on some images is summarised over the others only.\n\n";
  }
  if (!r.skipped.empty()) {
    md << "## Skipped files\n\n";
    for (const SkippedImage& s : r.skipped) md << "- `" << s.name << "`: " << s.reason << "\n";
    md << "\n";
  }
  md << "## Files\n\n";
  for (const std::string& f : r.written)
    if (f != "report.md") md << "- `" << f << "`\n";
  if (r.saved_images) md << "- `images/`: every output as `<image>_<model>.png`\n";
  return md.str();
}

}  // namespace

void check_eval_options(const EvalOptions& o, const std::string& main_file) {
  if (o.data.empty()) throw std::invalid_argument("no data folder given (--data DIR)");
  if (o.out.empty()) throw std::invalid_argument("no output folder given (-o OUTDIR)");
  if (o.size < 8 || o.size > 4096) throw std::invalid_argument("--size must be in [8, 4096]");
  const fs::path out(o.out), file = out / main_file;
  std::error_code ec;
  if (fs::exists(out, ec) && !fs::is_directory(out, ec))
    throw std::invalid_argument("output '" + o.out + "' exists and is not a folder");
  if (fs::exists(file, ec) && !o.overwrite)
    throw std::invalid_argument("'" + file.string() + "' exists (use --overwrite to replace it)");
}

EvalResult run_evaluation(const EvalOptions& o) {
  const auto t_start = std::chrono::steady_clock::now();
  auto log = [&](const std::string& s) {
    if (o.log) o.log(s);
  };
  check_eval_options(o, "report.md");
  const fs::path out(o.out);
  std::error_code ec;

  const std::vector<ImageEntry> entries = list_images(o.data, o.holdout);
  const std::vector<ModelSpec> specs = resolve_models(o.models, o.weights_dir, o.untrained);
  // The human test's answers, checked against these photos and weights
  // before any work: a wrong file costs nothing.
  HumanPool human;
  if (!o.human_results.empty()) {
    std::vector<HumanModel> evaluated;
    try {
      human = pool_human_results(o.human_results);
      for (const ModelSpec& spec : specs) evaluated.push_back(human_model(spec));
    } catch (const std::runtime_error& e) {
      throw std::invalid_argument(std::string("--human-results: ") + e.what());
    }
    check_human_results(human, entries, evaluated);
  }

  EvalResult r;
  r.images_listed = entries.size();
  if (!o.rebalance_prior.empty()) {
    r.prior = load_rebalance_prior(o.rebalance_prior, true);
  } else if (o.untrained) {
    r.prior.note = "Untrained models: the rebalanced AuC uses weight 1 for every colour and equals the raw AuC.";
  } else {
    r.prior = load_rebalance_prior(weights_path_for("classification", o.weights_dir));
  }

  std::vector<LoadedModel> loaded;
  for (const ModelSpec& spec : specs) {
    try {
      LoadedModel m;
      m.spec = spec;
      m.model = load_model(spec, o.device, o.decoding);
      m.timing.model = spec.kind;
      m.timing.weights = spec.weights;
      m.timing.untrained = spec.weights.empty();
      m.timing.preset = m.model->options().preset;
      m.timing.parameters = m.model->num_parameters();
      if (spec.kind == "classification") m.timing.decoding = models::decoding_text(m.model->decoding());
      loaded.push_back(std::move(m));
    } catch (const std::exception& e) {
      r.failures.push_back({spec.kind, "", e.what()});
      log("cannot load " + spec.kind + ": " + e.what());
    }
  }
  for (const LoadedModel& m : loaded) r.models.push_back(m.spec.kind);
  r.models.push_back(kGrayModel);
  ModelTiming gray_timing;
  gray_timing.model = kGrayModel;

  r.saved_images = o.save_images > 0 || (o.save_images < 0 && entries.size() <= kSaveImagesUpTo);
  fs::create_directories(out, ec);
  if (ec) throw std::runtime_error("cannot create '" + o.out + "': " + ec.message());
  const fs::path image_dir = out / "images";
  if (r.saved_images) {
    fs::create_directories(image_dir, ec);
    if (ec) throw std::runtime_error("cannot create '" + image_dir.string() + "': " + ec.message());
  }

  // Output names: the stem, or the whole name where two files share a stem
  // ("a.png" and "a.jpg").
  std::map<std::string, int> stem_count;
  for (const ImageEntry& e : entries) ++stem_count[output_stem(e.name)];
  auto stem_of = [&](const ImageEntry& e) {
    std::string s = output_stem(e.name);
    if (stem_count[s] > 1) {
      s = e.name;
      for (char& c : s)
        if (c == '/' || c == '\\' || c == '.') c = '_';
    }
    return s;
  };
  auto save = [&](const data::Image& img, const ImageEntry& e, const std::string& model) {
    if (!r.saved_images) return;
    data::save_png((image_dir / (stem_of(e) + "_" + model + ".png")).string(), img);
  };

  models::ColorizeOptions copt;
  copt.size = o.size;
  std::size_t index = 0;
  for (const ImageEntry& e : entries) {
    ++index;
    const std::string counter = "[" + std::to_string(index) + "/" + std::to_string(entries.size()) + "] ";
    data::Image truth;
    try {
      truth = load_entry(e);
    } catch (const data::ImageError& err) {
      r.skipped.push_back({e.name, std::string(data::to_string(err.kind())) + ": " + err.reason()});
      log(counter + e.name + ": skipped (" + r.skipped.back().reason + ")");
      continue;
    } catch (const std::exception& err) {
      r.skipped.push_back({e.name, err.what()});
      log(counter + e.name + ": skipped (" + r.skipped.back().reason + ")");
      continue;
    }
    std::string why;
    if (truth.source_channels <= 2)
      why = "grayscale file: there is no colour to compare against";
    else if (truth.width < kMinSide || truth.height < kMinSide)
      why = std::to_string(truth.width) + "x" + std::to_string(truth.height) + " is smaller than SSIM's " +
            std::to_string(kMinSide) + "x" + std::to_string(kMinSide) + " window";
    if (!why.empty()) {
      r.skipped.push_back({e.name, why});
      log(counter + e.name + ": skipped (" + why + ")");
      continue;
    }
    ++r.images_evaluated;
    const int w = truth.width, h = truth.height;
    std::string line = counter + e.name;
    // The truth's lattice score on each grid a model runs on: the control
    // that tells a periodic texture of the photo from a network artifact.
    std::vector<float> truth_L(truth.pixel_count()), truth_ab(2 * truth.pixel_count());
    color::srgb_to_lab_image(truth.pixels.data(), truth.pixel_count(), truth_L.data(), truth_ab.data());
    std::map<std::pair<int, int>, double> truth_lattice;
    auto truth_score = [&](std::pair<int, int> grid) {
      auto it = truth_lattice.find(grid);
      if (it == truth_lattice.end())
        it = truth_lattice.emplace(grid, lattice_score(truth_ab.data(), w, h, grid.first, grid.second).score).first;
      return it->second;
    };
    const std::pair<int, int> gray_grid = models::model_input_size(w, h, o.size, 32);
    for (LoadedModel& m : loaded) {
      try {
        const auto t0 = std::chrono::steady_clock::now();
        data::Image output = models::colorize_image(*m.model, truth, copt);
        const double dt = seconds_since(t0);
        m.timing.seconds += dt;
        ++m.timing.images;
        const std::pair<int, int> grid = models::model_input_size(w, h, o.size, m.model->size_multiple());
        ImageMetrics im =
            evaluate_image(truth.pixels.data(), output.pixels.data(), w, h, r.prior.weight_of, grid.first, grid.second);
        im.lattice_score_truth = truth_score(grid);
        im.model = m.spec.kind;
        im.image = e.name;
        r.rows.push_back(std::move(im));
        r.row_sets.push_back(e.set);
        save(output, e, m.spec.kind);
        line += "  " + m.spec.kind + " " + format_number(dt, 2) + " s";
      } catch (const std::exception& err) {
        r.failures.push_back({m.spec.kind, e.name, err.what()});
        line += "  " + m.spec.kind + " FAILED (" + err.what() + ")";
      }
    }
    const auto t0 = std::chrono::steady_clock::now();
    data::Image gray(w, h, 3);
    gray.pixels = gray_baseline(truth.pixels.data(), truth.pixel_count());
    gray_timing.seconds += seconds_since(t0);
    ++gray_timing.images;
    ImageMetrics gm = evaluate_image(truth.pixels.data(), gray.pixels.data(), w, h, r.prior.weight_of,
                                     gray_grid.first, gray_grid.second);
    gm.lattice_score_truth = truth_score(gray_grid);
    gm.model = kGrayModel;
    gm.image = e.name;
    r.rows.push_back(std::move(gm));
    r.row_sets.push_back(e.set);
    save(gray, e, kGrayModel);
    log(line);
  }
  for (LoadedModel& m : loaded) r.timings.push_back(m.timing);
  r.timings.push_back(gray_timing);

  // The sets: the whole folder, then each first-level subfolder when there
  // is more than one place images came from.
  fs::path data_abs = fs::absolute(o.data, ec).lexically_normal();
  if (data_abs.filename().empty()) data_abs = data_abs.parent_path();  // "dir/" -> "dir"
  std::string set_name = data_abs.filename().generic_string();
  if (set_name.empty()) set_name = o.data;
  std::vector<std::pair<std::string, std::vector<SetSummary>>> tables;
  tables.push_back({set_name + ": " + kAllSet, summaries_for(r, "", true)});
  std::set<std::string> subsets(r.row_sets.begin(), r.row_sets.end());
  if (subsets.size() > 1)
    for (const std::string& s : subsets) tables.push_back({s.empty() ? kTopLevelSet : s, summaries_for(r, s, false)});

  // Files.
  std::ostringstream metrics_csv, summary_csv, curves_csv;
  write_image_csv(metrics_csv, r.rows);
  for (std::size_t t = 0; t < tables.size(); ++t) {
    std::ostringstream part;
    write_summary_csv(part, tables[t].second);
    std::istringstream lines(part.str());
    std::string row;
    bool header = true;
    while (std::getline(lines, row)) {
      if (header) {
        if (t == 0) summary_csv << "set," << row << "\n";
        header = false;
        continue;
      }
      const std::string set = t == 0 ? kAllSet : tables[t].first;
      summary_csv << csv_field(set) << "," << row << "\n";
    }
  }
  write_curves_csv(curves_csv, tables.front().second);
  r.written = {"report.md", "metrics.csv", "summary.csv", "curves.csv", "error_curves.svg", "plausibility.svg"};
  write_text(out / "metrics.csv", metrics_csv.str());
  write_text(out / "summary.csv", summary_csv.str());
  write_text(out / "curves.csv", curves_csv.str());
  write_text(out / "error_curves.svg", error_curves_panels_svg(tables.front().second, set_name, r.prior.uniform));
  write_text(out / "plausibility.svg", plausibility_svg(r, set_name));
  if (!o.human_results.empty()) {
    r.human_section = human_report_section(human, r.models, "human_answers.csv");
    r.human_answers = human.answers.size();
    write_text(out / "human_answers.csv", human_answers_csv(human));
    r.written.push_back("human_answers.csv");
  }
  r.seconds = seconds_since(t_start);
  // The report last: its presence says the run finished.
  write_text(out / "report.md", build_report(o, r, set_name, tables));
  return r;
}

}  // namespace tinct::eval
