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
    "  --size N            short side the model sees (default 256)\n"
    "  --decoding zhang|plausible  classification: Zhang et al.'s decoding (T 0.38, vivid, a\n"
    "                      golden cast) or the default plausible (T 0.6, a quarter of the\n"
    "                      rebalancing's tilt divided out; docs/quality.md)\n"
    "  --temperature T     classification: annealed-mean temperature (1 the mean, towards 0 the mode)\n"
    "  --prior-correction B  classification: how much of the rebalancing's tilt is divided out, 0..1\n"
    "  --compare           also OUTDIR/compare/<name>.png: gray | models | original, and OUTDIR/index.html\n"
    "  --overwrite         replace existing outputs (otherwise they are kept and reported)\n";

struct Input {
  fs::path path;
  // Output stem, unique among the inputs: the path relative to its folder
  // argument without the extension ('/' kept: the outputs mirror the tree),
  // or the file's stem; see make_names_unique.
  std::string name;
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
  models::ColorizeOptions co;
  if (take_option(args, "--size", v)) co.size = int(parse_int("--size", v, 32, 4096));
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

  std::vector<std::pair<std::string, bool>> compared;
  size_t ok = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Input& inp = inputs[i];
    std::fprintf(stderr, "[%zu/%zu] %s", i + 1, inputs.size(), inp.path.string().c_str());
    try {
      std::vector<fs::path> targets;
      for (auto& k : kinds) targets.push_back(out / (inp.name + "_" + k + ".png"));
      if (compare) targets.push_back(out / "compare" / (inp.name + ".png"));
      if (!overwrite)
        for (auto& t : targets)
          if (fs::exists(t)) throw std::runtime_error(t.string() + " exists; pass --overwrite to replace it");
      data::Image photo = data::load_image(inp.path.string());
      const auto t_img = std::chrono::steady_clock::now();
      std::vector<data::Image> results;
      for (auto& net : nets) results.push_back(models::colorize_image(*net, photo, co));
      std::vector<std::vector<uint8_t>> files;
      for (auto& r : results) files.push_back(data::encode_png(r));
      bool had_colour = false;
      if (compare) {
        data::Image gray = models::grayscale_of(photo);
        // A colour input is shown last, for reference.
        had_colour = photo.source_channels >= 3 &&
                     color::colorfulness(photo.pixels.data(), photo.pixel_count()) > 1.0;
        std::vector<const data::Image*> panels{&gray};
        for (auto& r : results) panels.push_back(&r);
        if (had_colour) panels.push_back(&photo);
        files.push_back(data::encode_png(side_by_side(panels)));
      }
      // All of a photo's outputs or none: each is written in full to its
      // temporary file first, and only then are they renamed into place. A
      // failed write (a full disk) leaves no partial file, and no file that
      // would make the rerun stop at "exists".
      std::vector<std::unique_ptr<AtomicFile>> pending;
      for (size_t k = 0; k < files.size(); ++k) {
        fs::create_directories(targets[k].parent_path());
        pending.push_back(std::make_unique<AtomicFile>(targets[k].string()));
        pending.back()->write(files[k].data(), files[k].size());
      }
      for (auto& f : pending) f->commit();
      if (compare) compared.push_back({inp.name, had_colour});
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_img).count();
      std::fprintf(stderr, "  %dx%d  %.2f s\n", photo.width, photo.height, secs);
      ++ok;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "  FAILED: %s\n", e.what());
      ++failed;
    }
  }
  if (compare && !compared.empty()) write_index(out, compared, kinds);
  const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::fprintf(stderr, "%zu photo(s) colorized, %d failed, %.1f s; outputs in %s%s\n", ok, failed, total,
               out.string().c_str(), compare ? " (open index.html)" : "");
  return failed ? 1 : 0;
}

}  // namespace tinct::cli
