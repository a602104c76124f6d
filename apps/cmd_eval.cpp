// cmd_eval.cpp — `tinct eval`: the metrics report, the human real-vs-fake page,
// and the summary of the page's exported answers (models/eval/ does the work).
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include "apps/cli.h"
#include "engine/device.h"
#include "models/eval/human.h"
#include "models/eval/plot.h"
#include "models/eval/report.h"

namespace tinct::cli {

namespace {

const char* kEvalUsage =
    "usage: tinct eval --data DIR -o OUTDIR [options]           the metrics report\n"
    "       tinct eval --human --data DIR -o OUTDIR [options]   the real-vs-fake page\n"
    "       tinct eval --human-results FILE.json [...]         fooling rates of exported answers\n"
    "\n"
    "Colorizes every JPEG/PNG/BMP under DIR (recursively) with each model, from the\n"
    "photo's L alone, and measures the output against the photo beside the gray\n"
    "baseline (a = b = 0): AuC of the cumulative ab-error curve (raw and class-\n"
    "rebalanced, thresholds 0..150, Zhang et al. 2016), PSNR and SSIM on RGB,\n"
    "colorfulness and mean chroma of output and truth. Writes OUTDIR/report.md,\n"
    "metrics.csv (per image), summary.csv (per set), curves.csv, error_curves.svg\n"
    "and images/<name>_<model>.png. Files that cannot be read are listed and skipped.\n"
    "\n"
    "With --human, writes OUTDIR/human_test.html instead: a self-contained page that\n"
    "shows each photo beside each model's version in random order and sides, asks\n"
    "which one is real, and ends with each model's fooling rate and its 95% Wilson\n"
    "interval, exported as JSON. Open it in a browser (or serve it on localhost);\n"
    "pass the exported files to --human-results to pool several participants.\n"
    "\n"
    "options:\n"
    "  --data DIR              folder of colour photos (or one image file)\n"
    "  -o, --output OUTDIR     where the report (or page) goes (created)\n"
    "  --model LIST            regression, classification, gan, comma-separated, or all\n"
    "                          (default all: every model whose weights exist)\n"
    "  --weights-dir DIR       read DIR/<model>.safetensors (default: $TINCT_WEIGHTS,\n"
    "                          else the shipped weights/)\n"
    "  --size N                short side the models see (default 256)\n"
    "  --device auto|cpu|cuda  where the models run (default auto)\n"
    "  --save-images           save every output image (default: sets of up to 50)\n"
    "  --no-save-images        do not save them\n"
    "  --human                 write the real-vs-fake page instead of the report\n"
    "  --max-side N            long side of the photos in the page (default 384)\n"
    "  --seed S                order and sides of the page's pairs (default 1)\n"
    "  --human-results FILE    summarise an exported results file; repeat to pool\n"
    "  --overwrite             replace an existing report.md / human_test.html\n"
    "  --untrained             freshly initialised compact models instead of weights\n"
    "                          files: a smoke test of the pipeline (numbers meaningless)\n"
    "  --quiet                 no progress output\n"
    "\n"
    "Exit status: 0 on success; 1 when a model failed or no image could be\n"
    "evaluated; 2 for bad arguments (an unknown model, missing weights, ...).\n";

std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::invalid_argument("cannot read '" + path + "'");
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

int human_results(const std::vector<std::string>& files) {
  std::vector<eval::HumanAnswer> all;
  for (const std::string& f : files) {
    try {
      std::vector<eval::HumanAnswer> a = eval::parse_human_results(read_text(f));
      all.insert(all.end(), a.begin(), a.end());
      std::fprintf(stderr, "%s: %zu answers\n", f.c_str(), a.size());
    } catch (const std::runtime_error& e) {
      throw std::runtime_error(f + ": " + e.what());
    }
  }
  if (all.empty()) {
    std::fprintf(stderr, "tinct eval: no answers in %zu file(s)\n", files.size());
    return 1;
  }
  std::printf("Fooling rate: the fraction of pairs in which the colorized photo was chosen as real\n"
              "(50%% = indistinguishable), with its 95%% Wilson score interval.\n\n%s",
              eval::fooling_table(eval::fooling_rates(all)).c_str());
  return 0;
}

}  // namespace

int cmd_eval(const Args& in) {
  Args args = in;
  if (take_flag(args, "--help") || take_flag(args, "-h")) {
    std::fputs(kEvalUsage, stdout);
    return 0;
  }
  std::string v;
  std::vector<std::string> results_files;
  while (take_option(args, "--human-results", v)) results_files.push_back(v);

  eval::EvalOptions o;
  eval::HumanPageOptions page;
  take_option(args, "--data", o.data);
  if (!take_option(args, "-o", o.out)) take_option(args, "--output", o.out);
  while (take_option(args, "--model", v)) o.models.push_back(v);
  take_option(args, "--weights-dir", o.weights_dir);
  if (take_option(args, "--size", v)) o.size = int(parse_int("--size", v, 8, 4096));
  std::string device = "auto";
  take_option(args, "--device", device);
  o.device = parse_device(device);
  if (take_flag(args, "--save-images")) o.save_images = 1;
  if (take_flag(args, "--no-save-images")) o.save_images = 0;
  const bool human = take_flag(args, "--human");
  if (take_option(args, "--max-side", v)) page.max_side = int(parse_int("--max-side", v, 16, 4096));
  if (take_option(args, "--seed", v)) page.seed = uint64_t(parse_int("--seed", v, 0, 1L << 62));
  o.overwrite = take_flag(args, "--overwrite");
  o.untrained = take_flag(args, "--untrained");
  const bool quiet = take_flag(args, "--quiet");
  if (!args.empty()) {
    const std::string& a = args.front();
    throw std::invalid_argument((a.size() > 1 && a[0] == '-' ? "unknown option '" : "unexpected argument '") + a +
                                "' (see tinct eval --help)");
  }

  if (!results_files.empty()) {
    if (!o.data.empty() || human)
      throw std::invalid_argument("--human-results summarises answers; it does not take --data or --human");
    return human_results(results_files);
  }
  if (o.data.empty()) throw std::invalid_argument("--data DIR is required (see tinct eval --help)");
  if (o.out.empty()) throw std::invalid_argument("-o OUTDIR is required (see tinct eval --help)");
  if (!quiet) o.log = [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); };

  if (human) {
    const eval::HumanPageResult r = eval::write_human_page(o, page);
    for (const eval::SkippedImage& s : r.skipped) std::fprintf(stderr, "skipped %s: %s\n", s.name.c_str(), s.reason.c_str());
    for (const eval::ModelFailure& f : r.failures)
      std::fprintf(stderr, "%s failed%s: %s\n", f.model.c_str(), f.image.empty() ? "" : (" on " + f.image).c_str(),
                   f.reason.c_str());
    std::printf("wrote %s: %zu pairs (%zu photos x %zu models), %.1f MB, in %.1f s\n"
                "open it in a browser; each participant exports a results file, then:\n"
                "  tinct eval --human-results FILE.json [--human-results FILE2.json ...]\n",
                r.path.c_str(), r.pairs, r.images, r.models.size(), double(r.bytes) / 1e6, r.seconds);
    return r.failures.empty() ? 0 : 1;
  }

  const eval::EvalResult r = eval::run_evaluation(o);
  for (const eval::ModelFailure& f : r.failures)
    std::fprintf(stderr, "%s failed%s: %s\n", f.model.c_str(), f.image.empty() ? "" : (" on " + f.image).c_str(),
                 f.reason.c_str());
  if (!r.skipped.empty()) std::fprintf(stderr, "%zu file(s) skipped (listed in the report)\n", r.skipped.size());
  std::printf("%zu of %zu images evaluated in %.1f s\n\n", r.images_evaluated, r.images_listed, r.seconds);
  if (r.images_evaluated > 0) {
    std::printf("%-16s %9s %12s %9s %7s %14s\n", "model", "raw AuC", "rebal. AuC", "PSNR", "SSIM", "colorfulness");
    for (const eval::SetSummary& s : eval::summarize_by_model(r.rows))
      std::printf("%-16s %8.2f%% %11.2f%% %6.2f dB %7.4f %7.1f / %4.1f\n", s.model.c_str(), 100 * s.auc_pooled,
                  100 * s.auc_rebalanced_pooled, s.mean_psnr, s.mean_ssim, s.mean_colorfulness,
                  s.mean_colorfulness_truth);
    std::printf("\n");
  }
  std::printf("report: %s/report.md\n", o.out.c_str());
  return r.exit_code();
}

}  // namespace tinct::cli
