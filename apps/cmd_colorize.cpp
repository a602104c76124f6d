// cmd_colorize.cpp — `tinct colorize`: photos in, colorized photos out.
//
// Each input is colorized at the model's input size and recombined with its
// own full-resolution L (models/inference.h). A failed file is reported and
// the rest go on; the exit code says whether any failed. --compare writes one
// side-by-side PNG per input and an index.html that shows them all.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <stdexcept>

#include "apps/cli.h"
#include "engine/atomic_file.h"
#include "engine/device.h"
#include "engine/profile.h"
#include "models/color/colorfulness.h"
#include "models/eval/plot.h"
#include "models/inference.h"

namespace tinct::cli {

namespace fs = std::filesystem;

namespace {

const char* kColorizeUsage =
    "usage: tinct colorize INPUT... -o OUTDIR [options]\n"
    "\n"
    "Colorizes photos (files or folders, searched recursively for JPEG, PNG, BMP).\n"
    "Outputs are OUTDIR/<name>_<model>.png at the input's full size, where <name> is the\n"
    "photo's path under its folder argument (the folder tree is mirrored) without the\n"
    "extension; two inputs that would share a name get their extension or a number added.\n"
    "\n"
    "  --model regression|classification|gan|all   (default all)\n"
    "  --weights FILE      weights for a single --model (default: the shipped ones)\n"
    "  --device auto|cpu|cuda                      (default auto)\n"
    "  --precision fp32|tf32|bf16  the convolutions' operands (default fp32): tf32 / bf16\n"
    "                      round them as the tensor cores do, fp32 accumulation\n"
    "  --layout nchw|nhwc  the activations' memory on the GPU (default nchw): nhwc runs the\n"
    "                      convolutions channels-last (needs tf32 or bf16; nothing on the CPU)\n"
    "  --size N            short side the model sees (default 256)\n"
    "  --batch N           photos decoded, colorized and encoded together (default 4; memory grows\n"
    "                      with N times the largest photo); the outputs are the same at any N\n"
    "  --decoding zhang|plausible  classification: Zhang et al.'s decoding (T 0.38, vivid, a\n"
    "                      golden cast) or the default plausible (T 0.6, a quarter of the\n"
    "                      rebalancing's tilt divided out; docs/quality.md)\n"
    "  --temperature T     classification: annealed-mean temperature (1 the mean, towards 0 the mode)\n"
    "  --prior-correction B  classification: how much of the rebalancing's tilt is divided out, 0..1\n"
    "  --compare           also OUTDIR/compare/<name>.png: gray | models | original, and OUTDIR/index.html\n"
    "  --overwrite         replace existing outputs (otherwise they are kept and reported)\n"
    "  --profile           print where the time went (per stage and op, engine/profile.h)\n";

struct Input {
  fs::path path;
  // Output stem, unique among the inputs: the path relative to its folder
  // argument without the extension ('/' kept: the outputs mirror the tree),
  // or the file's stem; see make_names_unique.
  std::string name;
};

// One photo of a group on its way through (cmd_colorize).
struct Job {
  std::vector<fs::path> targets;  // one per model, then the comparison
  std::string error;              // the first failure; the photo writes nothing
  data::Image photo;
  std::vector<data::Image> results;  // one per model
  bool had_colour = false;
  std::vector<std::vector<uint8_t>> files;  // encoded, one per target
};

std::vector<Input> collect_inputs(const std::vector<std::string>& args, std::vector<std::string>& missing) {
  std::vector<Input> out;
  for (const std::string& a : args) {
    const fs::path p(a);
    if (fs::is_directory(p)) {
      for (const data::FileUnder& f : data::list_files(a, data::has_decodable_extension))
        out.push_back({f.path, fs::path(f.rel).replace_extension().generic_string()});
    } else if (fs::exists(p)) {
      out.push_back({p, p.stem().string()});
    } else {
      missing.push_back(a);
    }
  }
  return out;
}

// Two inputs must never write one output (good.jpg beside good.png; a/p.png
// given twice from two folders): the later of a clash gets its extension
// ("good_png"), and if that still clashes a number ("good_png-2"), in input
// order, so a rerun maps every input to the same file again.
void make_names_unique(std::vector<Input>& inputs) {
  std::map<std::string, int> count;
  for (const Input& in : inputs) ++count[in.name];
  std::set<std::string> taken;
  for (Input& in : inputs) {
    if (count[in.name] > 1 && taken.count(in.name)) {
      std::string ext = in.path.extension().string();
      for (char& c : ext) c = char(std::tolower(static_cast<unsigned char>(c)));
      if (!ext.empty()) in.name += "_" + ext.substr(1);
    }
    const std::string base = in.name;
    for (int k = 2; taken.count(in.name) || (in.name != base && count.count(in.name)); ++k)
      in.name = base + "-" + std::to_string(k);
    taken.insert(in.name);
  }
}

// A relative URL for a file name: each byte outside the unreserved set (and
// '/') percent-encoded, so names with '#', '?', '%' or spaces still link.
std::string url_path(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
      out += char(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

// Horizontal strip of equally tall panels.
data::Image side_by_side(const std::vector<const data::Image*>& panels) {
  int w = 0, h = panels.front()->height;
  for (auto* p : panels) w += p->width;
  data::Image out(w, h, 3);
  int x0 = 0;
  for (auto* p : panels) {
    for (int y = 0; y < h; ++y) std::copy(p->at(0, y), p->at(0, y) + p->width * 3, out.at(x0, y));
    x0 += p->width;
  }
  return out;
}

void write_index(const fs::path& out, const std::vector<std::pair<std::string, bool>>& rows,
                 const std::vector<std::string>& models) {
  std::ostringstream f;
  f << "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>tinct colorize</title>\n"
       "<style>body{font-family:sans-serif;margin:24px;background:#fafafa;color:#222}"
       "figure{margin:0 0 28px 0}img{max-width:100%;border:1px solid #ccc}"
       "figcaption{font-size:14px;margin-top:4px;color:#555}</style></head><body>\n"
       "<h1>tinct colorize</h1>\n<p>Each row: gray input";
  for (auto& m : models) f << " | " << eval::xml_escape(m);
  f << " | original (when the input had colour).</p>\n";
  for (auto& [name, had_colour] : rows) {
    f << "<figure><img src=\"" << eval::xml_escape(url_path("compare/" + name + ".png")) << "\" alt=\""
      << eval::xml_escape(name) << "\"><figcaption>" << eval::xml_escape(name) << ": gray";
    for (auto& m : models) f << " | " << eval::xml_escape(m);
    if (had_colour) f << " | original";
    f << "</figcaption></figure>\n";
  }
  f << "</body></html>\n";
  const std::string html = f.str();
  write_file_atomic((out / "index.html").string(), html.data(), html.size());
}

}  // namespace

int cmd_colorize(const Args& in) {
  Args args = in;
  if (take_flag(args, "--help") || take_flag(args, "-h")) {
    std::fputs(kColorizeUsage, stdout);
    return 0;
  }
  std::string out_dir, model_arg = "all", weights, device = "auto", v;
  if (!take_option(args, "-o", out_dir) && !take_option(args, "--out", out_dir))
    throw std::invalid_argument("-o OUTDIR is required\n\n" + std::string(kColorizeUsage));
  take_option(args, "--model", model_arg);
  take_option(args, "--weights", weights);
  take_option(args, "--device", device);
  const PrecisionScope precision_scope(take_precision(args));
  const LayoutScope layout_scope(take_layout(args, precision()));
  models::ColorizeOptions co;
  if (take_option(args, "--size", v)) co.size = int(parse_int("--size", v, 32, 4096));
  int batch = 4;
  if (take_option(args, "--batch", v)) batch = int(parse_int("--batch", v, 1, 64));
  const bool profile_on = take_flag(args, "--profile");
  const bool compare = take_flag(args, "--compare");
  const bool overwrite = take_flag(args, "--overwrite");
  const DecodingArgs decoding = take_decoding(args);
  for (auto& a : args)
    if (a.size() > 1 && a[0] == '-') throw std::invalid_argument("unknown option '" + a + "' (see tinct colorize --help)");
  if (args.empty()) throw std::invalid_argument("no input photos given (see tinct colorize --help)");
  const Device dev = parse_device(device);

  std::vector<std::string> kinds;
  if (model_arg == "all") kinds = {"regression", "classification", "gan"};
  else if (model_arg == "regression" || model_arg == "classification" || model_arg == "gan") kinds = {model_arg};
  else throw std::invalid_argument("--model must be regression, classification, gan or all");
  if (!weights.empty() && kinds.size() != 1) throw std::invalid_argument("--weights needs a single --model");

  // Load every model first: a missing or mismatched weights file stops here,
  // before any output is written.
  std::vector<std::unique_ptr<models::Colorizer>> nets;
  for (auto& k : kinds) nets.push_back(models::load_colorizer(weights.empty() ? models::default_weights_path(k) : weights, k, dev));
  if (decoding.given()) {
    if (std::find(kinds.begin(), kinds.end(), "classification") == kinds.end())
      throw std::invalid_argument("--decoding, --temperature and --prior-correction set the classification model's decoding; "
                                  "--model " + model_arg + " has none");
    for (auto& net : nets)
      if (net->options().kind == "classification") net->set_decoding(decoding.over(net->decoding()));
  }

  std::vector<std::string> missing;
  std::vector<Input> inputs = collect_inputs(args, missing);
  make_names_unique(inputs);
  int failed = 0;
  for (auto& m : missing) {
    std::fprintf(stderr, "tinct colorize: %s: no such file or folder\n", m.c_str());
    ++failed;
  }
  if (inputs.empty()) {
    std::fprintf(stderr, "tinct colorize: no photos found (JPEG, PNG or BMP)\n");
    return 1;
  }
  const fs::path out(out_dir);
  fs::create_directories(out);
  if (compare) fs::create_directories(out / "compare");
  // The debris of an earlier run that was killed mid-write.
  std::set<fs::path> folders;
  for (const Input& inp : inputs) {
    folders.insert((out / inp.name).parent_path());
    if (compare) folders.insert((out / "compare" / inp.name).parent_path());
  }
  for (const fs::path& d : folders) remove_stale_temp_files(d.string());

  // Photos go through in groups of up to --batch, in input order: decoded
  // side by side (one thread each), each model's network run once on the
  // group's photos of one input size (models::colorize_images: the same bytes
  // as one at a time), the outputs encoded side by side, then each photo's
  // files written. A photo that fails (exists, corrupt, a bad prediction, a
  // failed write) is reported and the others go on.
  std::vector<std::pair<std::string, bool>> compared;
  size_t ok = 0;
  const auto t0 = std::chrono::steady_clock::now();
  if (profile_on) profile::enable();
  for (size_t g0 = 0; g0 < inputs.size(); g0 += size_t(batch)) {
    const auto t_group = std::chrono::steady_clock::now();
    const size_t nb = std::min(inputs.size() - g0, size_t(batch));
    std::vector<Job> jobs(nb);
    for (size_t k = 0; k < nb; ++k) {
      Job& job = jobs[k];
      const Input& inp = inputs[g0 + k];
      for (auto& kind : kinds) job.targets.push_back(out / (inp.name + "_" + kind + ".png"));
      if (compare) job.targets.push_back(out / "compare" / (inp.name + ".png"));
      if (!overwrite)
        for (auto& t : job.targets)
          if (job.error.empty() && fs::exists(t)) job.error = t.string() + " exists; pass --overwrite to replace it";
    }
    {
      // stb decodes on one thread: the photos share the threads instead.
      ProfileRange range("colorize: decode");
#pragma omp parallel for schedule(dynamic, 1) if (nb > 1)
      for (size_t k = 0; k < nb; ++k) {
        if (!jobs[k].error.empty()) continue;
        try {
          jobs[k].photo = data::load_image(inputs[g0 + k].path.string());
        } catch (const std::exception& e) {
          jobs[k].error = e.what();
        }
      }
    }
    std::vector<size_t> live;  // the jobs still going
    auto refresh_live = [&] {
      live.clear();
      for (size_t k = 0; k < nb; ++k)
        if (jobs[k].error.empty()) live.push_back(k);
    };
    refresh_live();
    for (auto& net : nets) {
      std::vector<const data::Image*> photos;
      for (size_t k : live) photos.push_back(&jobs[k].photo);
      std::vector<models::Colorized> results = models::colorize_images(*net, photos, co, batch);
      for (size_t m = 0; m < live.size(); ++m) {
        Job& job = jobs[live[m]];
        if (!results[m].error.empty() && job.error.empty()) job.error = results[m].error;
        job.results.push_back(std::move(results[m].image));
      }
    }
    refresh_live();
    // What each photo writes: its models' results, then the comparison strip.
    std::vector<std::pair<size_t, size_t>> to_encode;  // (job, file)
    std::vector<data::Image> strips(nb);
    for (size_t k : live) {
      Job& job = jobs[k];
      for (size_t f = 0; f < job.results.size(); ++f) to_encode.push_back({k, f});
      if (compare) {
        try {
          data::Image gray = models::grayscale_of(job.photo);
          // A colour input is shown last, for reference.
          job.had_colour = job.photo.source_channels >= 3 &&
                           color::colorfulness(job.photo.pixels.data(), job.photo.pixel_count()) > 1.0;
          std::vector<const data::Image*> panels{&gray};
          for (auto& r : job.results) panels.push_back(&r);
          if (job.had_colour) panels.push_back(&job.photo);
          strips[k] = side_by_side(panels);
          to_encode.push_back({k, job.results.size()});
        } catch (const std::exception& e) {
          job.error = e.what();
        }
      }
      job.files.resize(job.targets.size());
    }
    {
      // PNG encoding is single-threaded too: the files share the threads.
      ProfileRange range("colorize: encode PNG");
#pragma omp parallel for schedule(dynamic, 1) if (to_encode.size() > 1)
      for (size_t e = 0; e < to_encode.size(); ++e) {
        Job& job = jobs[to_encode[e].first];
        const size_t f = to_encode[e].second;
        try {
          job.files[f] = data::encode_png(f < job.results.size() ? job.results[f] : strips[to_encode[e].first]);
        } catch (const std::exception& ex) {
#pragma omp critical(colorize_encode_error)
          if (job.error.empty()) job.error = ex.what();
        }
      }
    }
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t_group).count() / double(nb);
    for (size_t k = 0; k < nb; ++k) {
      Job& job = jobs[k];
      const Input& inp = inputs[g0 + k];
      std::fprintf(stderr, "[%zu/%zu] %s", g0 + k + 1, inputs.size(), inp.path.string().c_str());
      try {
        if (!job.error.empty()) throw std::runtime_error(job.error);
        // All of a photo's outputs or none: each is written in full to its
        // temporary file first, and only then are they renamed into place. A
        // failed write (a full disk) leaves no partial file, and no file that
        // would make the rerun stop at "exists".
        std::vector<std::unique_ptr<AtomicFile>> pending;
        for (size_t f = 0; f < job.files.size(); ++f) {
          fs::create_directories(job.targets[f].parent_path());
          pending.push_back(std::make_unique<AtomicFile>(job.targets[f].string()));
          pending.back()->write(job.files[f].data(), job.files[f].size());
        }
        for (auto& f : pending) f->commit();
        if (compare) compared.push_back({inp.name, job.had_colour});
        std::fprintf(stderr, "  %dx%d  %.2f s\n", job.photo.width, job.photo.height, secs);
        ++ok;
      } catch (const std::exception& e) {
        std::fprintf(stderr, "  FAILED: %s\n", e.what());
        ++failed;
      }
    }
  }
  if (compare && !compared.empty()) write_index(out, compared, kinds);
  const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (profile_on) {
    profile::disable();
    std::fputs(profile::format(profile::table()).c_str(), stderr);
  }
  std::fprintf(stderr, "%zu photo(s) colorized, %d failed, %.1f s; outputs in %s%s\n", ok, failed, total,
               out.string().c_str(), compare ? " (open index.html)" : "");
  return failed ? 1 : 0;
}

}  // namespace tinct::cli
