// cmd_prepare.cpp — `tinct prepare SRC... -o FILE`: pack folders of photos
// into one training file (models/data/prepare.h does the work).
#include <cstdio>
#include <stdexcept>
#include <string>

#include "apps/cli.h"
#include "models/color/gamut.h"
#include "models/data/prepare.h"

namespace tinct::cli {

namespace {

const char* kPrepareUsage =
    "usage: tinct prepare SRC... -o FILE [options]\n"
    "\n"
    "Walks the SRC files and folders (recursively), decodes every JPEG/PNG/BMP\n"
    "(grayscale, RGBA and 16-bit PNGs too), resizes it so its short side is SIZE\n"
    "(antialiased), cuts the centred SIZE x SIZE square, scores its colorfulness,\n"
    "and packs the squares it keeps, as JPEG, into FILE (format: models/data/pack.h).\n"
    "Dropped files are listed with the reason: unreadable, empty, unsupported,\n"
    "truncated, corrupt, too_large, too_small, grayscale, not_colorful. The list\n"
    "and the summary are also written to FILE.log. Same input, same FILE, byte for byte.\n"
    "\n"
    "Then computes the classification model's rebalancing prior over the packed\n"
    "images (Zhang et al. 2016: the distribution of the pixels' nearest ab bins,\n"
    "smoothed with a Gaussian of sigma 5, mixed with uniform at lambda 0.5, weights\n"
    "w with E[w] = 1) into FILE.prior.safetensors, and draws it over the ab plane in\n"
    "FILE.prior.svg. `tinct train --model classification --data FILE` uses it, and\n"
    "its gamut: the bins of the model.\n"
    "\n"
    "Several SRC are packed together; --max-per-source N mixes them evenly, e.g.\n"
    "  tinct prepare ../shared/data/train256 ../shared/data/imagenette144 \\\n"
    "      --max-per-source 1830 -o mix.tpk     # half train256, half imagenette\n"
    "\n"
    "options:\n"
    "  -o, --output FILE         the pack to write (required)\n"
    "  --size N                  side of the stored squares (default 144: room for\n"
    "                            random 128x128 training crops)\n"
    "  --min-side N              drop images whose short side is under N (default 128)\n"
    "  --min-colorfulness X      drop images less colourful than X on the Hasler-\n"
    "                            Suesstrunk scale (default 5; 0 = gray, 15 = slightly\n"
    "                            colourful, 33 = moderately)\n"
    "  --max-megapixels X        refuse images larger than X megapixels before\n"
    "                            decoding them (default 40)\n"
    "  --quality Q               JPEG quality of the stored squares (default 95)\n"
    "  --raw                     store raw RGB instead of JPEG (lossless, 5x larger)\n"
    "  --max-per-source N        take at most N files of each SRC, evenly spaced\n"
    "                            through its sorted files (default: all)\n"
    "  --gamut NAME              the prior's ab bins: zhang313 (default: Zhang et al.'s\n"
    "                            313) or srgb262 (tinct's computed sRGB gamut)\n"
    "  --no-prior                do not compute the prior (training then computes it)\n"
    "  --threads N               worker threads (default: all cores)\n"
    "  --overwrite               replace FILE if it exists (otherwise refused)\n"
    "  --quiet                   no progress output\n"
    "\n"
    "Exit status: 0 when FILE was written (even if files were dropped), 1 when no\n"
    "image could be kept, 2 for bad arguments.\n";

}  // namespace

int cmd_prepare(const Args& in) {
  Args args = in;
  if (take_flag(args, "--help") || take_flag(args, "-h")) {
    std::fputs(kPrepareUsage, stdout);
    return 0;
  }
  data::PrepareOptions o;
  std::string v;
  if (!take_option(args, "-o", o.output)) take_option(args, "--output", o.output);
  if (take_option(args, "--size", v)) o.size = int(parse_int("--size", v, 8, 4096));
  if (take_option(args, "--min-side", v)) o.min_side = int(parse_int("--min-side", v, 1, 1 << 20));
  if (take_option(args, "--min-colorfulness", v)) {
    o.min_colorfulness = parse_double("--min-colorfulness", v);
    if (!(o.min_colorfulness >= 0.0 && o.min_colorfulness <= 1000.0))
      throw std::invalid_argument("--min-colorfulness must be in [0, 1000], got '" + v + "'");
  }
  if (take_option(args, "--max-megapixels", v)) {
    o.limits.max_megapixels = parse_double("--max-megapixels", v);
    if (!(o.limits.max_megapixels > 0.0 && o.limits.max_megapixels <= 1000.0))
      throw std::invalid_argument("--max-megapixels must be in (0, 1000], got '" + v + "'");
  }
  if (take_option(args, "--quality", v)) o.quality = int(parse_int("--quality", v, 1, 100));
  if (take_flag(args, "--raw")) o.encoding = data::PackEncoding::raw;
  if (take_option(args, "--threads", v)) o.threads = int(parse_int("--threads", v, 1, 256));
  if (take_option(args, "--max-per-source", v))
    o.max_per_source = std::size_t(parse_int("--max-per-source", v, 1, 1L << 40));
  if (take_option(args, "--gamut", v)) {
    color::AbGamut::named(v);  // an unknown name: its message lists the known ones
    o.gamut = v;
  }
  o.prior = !take_flag(args, "--no-prior");
  o.overwrite = take_flag(args, "--overwrite");
  o.progress = !take_flag(args, "--quiet");
  for (const std::string& a : args)
    if (a.size() > 1 && a[0] == '-')
      throw std::invalid_argument("unknown option '" + a + "' (see tinct prepare --help)");
  o.sources = args;
  if (o.sources.empty()) throw std::invalid_argument("no SRC files or folders given (see tinct prepare --help)");
  if (o.output.empty()) throw std::invalid_argument("no output given: -o FILE (see tinct prepare --help)");

  const data::PrepareResult r = data::prepare(o);

  // The summary on stdout; the dropped files too, up to a screenful.
  std::fputs(data::format_summary(o, r, false).c_str(), stdout);
  const std::size_t shown = r.kept ? 20 : r.dropped.size();
  if (!r.dropped.empty()) std::puts("dropped files:");
  for (std::size_t i = 0; i < r.dropped.size() && i < shown; ++i)
    std::printf("  %s: %s: %s\n", r.dropped[i].name.c_str(), data::to_string(r.dropped[i].reason),
                r.dropped[i].detail.c_str());
  if (r.dropped.size() > shown) std::printf("  ... and %zu more\n", r.dropped.size() - shown);
  if (!r.log_path.empty()) std::printf("log: %s\n", r.log_path.c_str());
  if (r.kept == 0) {
    std::fprintf(stderr, "tinct prepare: error: no image could be kept from %zu files; %s was not written\n",
                 r.candidates, o.output.c_str());
    return 1;
  }
  return 0;
}

}  // namespace tinct::cli
