// cmd_eval.cpp — `tinct eval`: the metrics report, the human real-vs-fake page,
// and the summary of the page's exported answers (models/eval/ does the work).
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

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

extern char** environ;

namespace tinct::cli {

namespace {

const char* kEvalUsage =
    "usage: tinct eval --data DIR -o OUTDIR [options]           the metrics report\n"
    "       tinct eval --human --data DIR -o OUTDIR [--open]    the real-vs-fake page\n"
    "       tinct eval --data DIR -o OUTDIR --human-results FILE.json [...]\n"
    "                                                   the report with people's answers\n"
    "       tinct eval --human-results FILE.json [...]         fooling rates of the answers alone\n"
    "\n"
    "Colorizes every JPEG/PNG/BMP under DIR (recursively), or the images of a training\n"
    "set (--holdout: its held-out ones), with each model, from the\n"
    "photo's L alone, and measures the output against the photo beside the gray\n"
    "baseline (a = b = 0): AuC of the cumulative ab-error curve (raw and class-\n"
    "rebalanced, thresholds 0..150, Zhang et al. 2016), PSNR and SSIM on RGB,\n"
    "colorfulness and mean chroma of output and truth, and plausibility: the mean a\n"
    "and b against the truth's (a global cast), the colourfulness ratio per photo,\n"
    "and a count of photos with a periodic lattice artifact (models/eval/artifact.h).\n"
    "Writes OUTDIR/report.md, metrics.csv (per image), summary.csv (per set),\n"
    "curves.csv, error_curves.svg, plausibility.svg and images/<name>_<model>.png.\n"
    "Files that cannot be read are listed and skipped.\n"
    "\n"
    "With --human, writes OUTDIR/human_test.html instead: one self-contained file\n"
    "(no network, no server: open it from disk, or copy it to a friend's computer)\n"
    "that shows each photo beside each model's version in random order and sides,\n"
    "asks which one is real, and ends with each model's fooling rate. Each person\n"
    "saves a results file (people taking turns: \"Next person\"). Give the files to\n"
    "--human-results, with the same --data and weights, to add the fooling rate per\n"
    "model (pooled, with its 95% Wilson interval) to report.md; results of other\n"
    "photos or other weights are refused.\n"
    "\n"
    "options:\n"
    "  --data DIR              folder of colour photos (or one image file), or a training set\n"
    "                          (a pack or sharded set from tinct prepare, as train takes)\n"
    "  --holdout N             with a training set: only the N photos tinct train --holdout N\n"
    "                          validates on (by name hash), to choose a run's settings on\n"
    "                          photos it did not train on instead of on the test set (train\n"
    "                          holds out at most a fifth of its --data: ask for that many)\n"
    "  -o, --output OUTDIR     where the report (or page) goes (created)\n"
    "  --model LIST            regression, classification, gan, comma-separated, or all\n"
    "                          (default all: every model whose weights exist)\n"
    "  --weights-dir DIR       read DIR/<model>.safetensors (default: $TINCT_WEIGHTS,\n"
    "                          else the shipped weights/)\n"
    "  --rebalance-prior FILE  the prior of the rebalanced AuC: a classification weights file or\n"
    "                          a pack's PACK.prior.safetensors (default: the classification\n"
    "                          weights'), to compare models trained with different priors\n"
    "  --size N                short side the models see (default 256)\n"
    "  --decoding zhang|plausible  classification: Zhang et al.'s decoding (T 0.38) or the\n"
    "                          default plausible (T 0.6, prior correction 0.25; docs/quality.md)\n"
    "  --temperature T         classification: annealed-mean temperature\n"
    "  --prior-correction B    classification: how much of the rebalancing's tilt is divided\n"
    "                          out before decoding, 0..1\n"
    "  --device auto|cpu|cuda  where the models run (default auto)\n"
    "  --precision fp32|tf32|bf16  the convolutions' operands (default fp32): tf32 / bf16\n"
    "                          round them as the tensor cores do, fp32 accumulation\n"
    "  --layout nchw|nhwc      the activations' memory on the GPU (default nchw): nhwc runs\n"
    "                          the convolutions channels-last (needs tf32 or bf16; nothing\n"
    "                          on the CPU)\n"
    "  --save-images           save every output image (default: sets of up to 50)\n"
    "  --no-save-images        do not save them\n"
    "  --human                 write the real-vs-fake page instead of the report\n"
    "  --max-side N            long side of the photos in the page (default 384)\n"
    "  --seed S                order and sides of the page's pairs (default 1)\n"
    "  --open                  open the page in the desktop's browser (xdg-open / open)\n"
    "  --human-results FILE    a results file the page saved; repeat (or give several\n"
    "                          files after it) to pool people\n"
    "  --overwrite             replace an existing report.md / human_test.html\n"
    "  --untrained             freshly initialised compact models instead of weights\n"
    "                          files: a smoke test of the pipeline (numbers meaningless)\n"
    "  --quiet                 no progress output\n"
    "\n"
    "Exit status: 0 on success; 1 when a model failed or no image could be\n"
    "evaluated; 2 for bad arguments (an unknown model, missing weights, ...).\n";

// --human-results without --data: the pooled answers alone, on stdout.
int human_results(const std::vector<std::string>& files) {
  eval::HumanPool pool;
  try {
    pool = eval::pool_human_results(files);
  } catch (const std::runtime_error& e) {
    throw std::invalid_argument(e.what());
  }
  for (const eval::HumanResults& f : pool.files)
    std::fprintf(stderr, "%s: %zu answers%s%s\n", f.source.c_str(), f.answers.size(),
                 f.participant.empty() ? "" : (" by " + f.participant).c_str(), f.scripted ? " (scripted)" : "");
  if (pool.answers.empty()) {
    std::fprintf(stderr, "tinct eval: no answers in %zu file(s)\n", files.size());
    return 1;
  }
  std::fputs(eval::human_report_section(pool, {}).c_str(), stdout);
  return 0;
}

// --open: the page in the desktop's browser, without waiting for it. Where
// there is no desktop the command fails and the URL printed is the way in.
void open_in_browser(const std::string& url) {
#if defined(__APPLE__)
  const char* opener = "open";
#else
  const char* opener = "xdg-open";
#endif
  std::vector<char*> argv = {const_cast<char*>(opener), const_cast<char*>(url.c_str()), nullptr};
  pid_t pid = 0;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  const int rc = posix_spawnp(&pid, opener, &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  int status = 0;
  if (rc != 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    std::fprintf(stderr, "could not start a browser with %s; open the URL above by hand\n", opener);
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
  take_option(args, "--rebalance-prior", o.rebalance_prior);
  if (take_option(args, "--holdout", v)) o.holdout = int(parse_int("--holdout", v, 1, 1 << 30));
  if (take_option(args, "--size", v)) o.size = int(parse_int("--size", v, 8, 4096));
  std::string device = "auto";
  take_option(args, "--device", device);
  o.device = parse_device(device);
  const PrecisionScope precision_scope(take_precision(args));
  const LayoutScope layout_scope(take_layout(args, precision()));
  if (take_flag(args, "--save-images")) o.save_images = 1;
  if (take_flag(args, "--no-save-images")) o.save_images = 0;
  const bool human = take_flag(args, "--human");
  if (take_option(args, "--max-side", v)) page.max_side = int(parse_int("--max-side", v, 16, 4096));
  if (take_option(args, "--seed", v)) page.seed = uint64_t(parse_int("--seed", v, 0, 1L << 62));
  const bool open = take_flag(args, "--open");
  o.overwrite = take_flag(args, "--overwrite");
  o.untrained = take_flag(args, "--untrained");
  const bool quiet = take_flag(args, "--quiet");
  const DecodingArgs decoding = take_decoding(args);
  if (decoding.given()) o.decoding = decoding.over(models::Decoding{});
  // Further files after --human-results (a shell glob: --human-results answers/*.json).
  while (!results_files.empty() && !args.empty() && args.front().rfind("-", 0) != 0) {
    results_files.push_back(args.front());
    args.erase(args.begin());
  }
  if (!args.empty()) {
    const std::string& a = args.front();
    throw std::invalid_argument((a.size() > 1 && a[0] == '-' ? "unknown option '" : "unexpected argument '") + a +
                                "' (see tinct eval --help)");
  }

  if (human && !results_files.empty())
    throw std::invalid_argument("--human writes a page; its answers come back later with --human-results");
  if (open && !human) throw std::invalid_argument("--open opens the page of --human");
  // The page's results name the weights, not the decoding: both must be the defaults.
  if (decoding.given() && (human || !results_files.empty()))
    throw std::invalid_argument("--decoding, --temperature and --prior-correction change the report's classification outputs; "
                                "the human page and its results use the default decoding");
  if (!results_files.empty() && o.data.empty()) return human_results(results_files);
  o.human_results = results_files;
  if (o.data.empty()) throw std::invalid_argument("--data DIR is required (see tinct eval --help)");
  if (o.out.empty()) throw std::invalid_argument("-o OUTDIR is required (see tinct eval --help)");
  if (!quiet) o.log = [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); };

  if (human) {
    const eval::HumanPageResult r = eval::write_human_page(o, page);
    for (const eval::SkippedImage& s : r.skipped) std::fprintf(stderr, "skipped %s: %s\n", s.name.c_str(), s.reason.c_str());
    for (const eval::ModelFailure& f : r.failures)
      std::fprintf(stderr, "%s failed%s: %s\n", f.model.c_str(), f.image.empty() ? "" : (" on " + f.image).c_str(),
                   f.reason.c_str());
    std::printf("wrote %s: %zu pairs (%zu photos x %zu models), %.1f MB, in %.1f s\n\n"
                "Open it in a browser (it needs no network; copy the file to a friend's computer too):\n"
                "  %s\n"
                "Each person saves a results file at the end; then, with the same --data and weights:\n"
                "  tinct eval --data %s%s%s%s%s -o REPORTDIR --human-results FILE.json [FILE2.json ...]\n",
                r.path.c_str(), r.pairs, r.images, r.models.size(), double(r.bytes) / 1e6, r.seconds,
                r.url.c_str(), o.data.c_str(),
                o.holdout >= 0 ? (" --holdout " + std::to_string(o.holdout)).c_str() : "",
                o.weights_dir.empty() ? "" : " --weights-dir ",
                o.weights_dir.c_str(), o.untrained ? " --untrained" : "");
    if (open) open_in_browser(r.url);
    return r.failures.empty() ? 0 : 1;
  }

  const eval::EvalResult r = eval::run_evaluation(o);
  for (const eval::ModelFailure& f : r.failures)
    std::fprintf(stderr, "%s failed%s: %s\n", f.model.c_str(), f.image.empty() ? "" : (" on " + f.image).c_str(),
                 f.reason.c_str());
  if (!r.skipped.empty()) std::fprintf(stderr, "%zu file(s) skipped (listed in the report)\n", r.skipped.size());
  std::printf("%zu of %zu images evaluated in %.1f s\n\n", r.images_evaluated, r.images_listed, r.seconds);
  // Said on the terminal too: a rebalanced column equal to the raw one is easy to misread.
  if (r.prior.uniform && !o.untrained)
    std::printf("note: %s Name a prior with --rebalance-prior FILE (classification weights, or a pack's "
                "PACK.prior.safetensors).\n\n",
                r.prior.note.c_str());
  if (r.images_evaluated > 0) {
    std::printf("%-16s %9s %12s %9s %7s %14s %9s %12s %8s\n", "model", "raw AuC", "rebal. AuC", "PSNR", "SSIM",
                "colorfulness", "its error", "mean-colour", "lattice");
    for (const eval::SetSummary& s : eval::summarize_by_model(r.rows))
      std::printf("%-16s %8.2f%% %11.2f%% %6.2f dB %7.4f %7.1f / %4.1f %9.2f %12.2f %3zu of %zu\n", s.model.c_str(),
                  100 * s.auc_pooled, 100 * s.auc_rebalanced_pooled, s.mean_psnr, s.mean_ssim, s.mean_colorfulness,
                  s.mean_colorfulness_truth, s.colorfulness_error, s.mean_color_error, s.lattice_flagged,
                  s.lattice_measured);
    std::printf("\n");
  }
  if (r.human_answers > 0) std::printf("human test: %zu answers, fooling rates in the report\n", r.human_answers);
  std::printf("report: %s/report.md\n", o.out.c_str());
  return r.exit_code();
}

}  // namespace tinct::cli
