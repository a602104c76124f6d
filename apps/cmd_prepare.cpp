// cmd_prepare.cpp — `tinct prepare SRC... -o FILE`: pack folders of photos
// into one training file (models/data/prepare.h does the work).
#include <cstdio>
#include <filesystem>
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
    "A sharded set, for sets larger than memory: --shard-size N (or --shards K) writes\n"
    "FILE as a small manifest and the images as shard packs beside it, FILE's name\n"
    "plus -00000.tpk, -00001.tpk, ... (the same images in the same order as one pack;\n"
    "format: models/data/pack_set.h). --append adds new photos to an existing set (or\n"
    "pack) as new shards: files already in it (same name or same image) are dropped as\n"
    "duplicates, the settings are the set's, and the prior is recomputed over all of it:\n"
    "  tinct prepare photos/ -o set.tpk --shard-size 1000\n"
    "  tinct prepare more_photos/ -o set.tpk --append\n"
    "`tinct train --data set.tpk` reads either kind.\n"
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
    "  --shard-size N            a sharded set: a new shard every N kept images\n"
    "  --shards K                a sharded set of K shards (the files cut into K runs)\n"
    "  --append                  add to the set (or pack) FILE as new shards; options\n"
    "                            left out take the set's values\n"
    "  --overwrite               replace FILE if it exists (otherwise refused)\n"
    "  --quiet                   no progress output\n"
    "\n"
    "Exit status: 0 when FILE was written (even if files were dropped), 1 when no\n"
    "image could be kept (0 for an --append where every file is in the set already),\n"
    "2 for bad arguments or a set that cannot be read.\n";

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
  o.append = take_flag(args, "--append");
  if (o.append && !o.output.empty() && std::filesystem::exists(o.output)) {
    // The set's settings, unless given again (and then they must agree).
    try {
      data::apply_image_settings(data::existing_image_settings(o.output), o);
    } catch (const std::runtime_error& e) {
      throw std::invalid_argument(std::string("--append: ") + e.what());
    }
  }
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
  if (take_option(args, "--shard-size", v)) o.shard_size = std::size_t(parse_int("--shard-size", v, 1, 1L << 40));
  if (take_option(args, "--shards", v)) o.shards = std::size_t(parse_int("--shards", v, 1, 1L << 20));
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
  const bool nothing_new =
      r.kept == 0 && o.append && r.drops.size() == 1 && r.drops.count(data::DropReason::duplicate);
  const std::size_t shown = r.kept || nothing_new ? 20 : r.dropped.size();
  if (!r.dropped.empty()) std::puts("dropped files:");
  for (std::size_t i = 0; i < r.dropped.size() && i < shown; ++i)
    std::printf("  %s: %s: %s\n", r.dropped[i].name.c_str(), data::to_string(r.dropped[i].reason),
                r.dropped[i].detail.c_str());
  if (r.dropped.size() > shown) std::printf("  ... and %zu more\n", r.dropped.size() - shown);
  if (!r.log_path.empty()) std::printf("log: %s\n", r.log_path.c_str());
  if (nothing_new) {
    std::printf("nothing new: every file is in %s already; it is unchanged\n", o.output.c_str());
    return 0;
  }
  if (r.kept == 0) {
    std::fprintf(stderr, "tinct prepare: error: no image could be kept from %zu files; %s was not written\n",
                 r.candidates, o.output.c_str());
    return 1;
  }
  return 0;
}

}  // namespace tinct::cli
