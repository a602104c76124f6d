// prepare.h — `tinct prepare`: turn folders of photos into one pack file.
//
// For every candidate file, on a pool of worker threads:
//   1. decode (models/data/image.h: JPEG/PNG/BMP, grayscale, alpha, 16-bit);
//      a file that cannot be decoded is dropped with the decoder's reason;
//   2. drop it if its short side is under min_side ("too_small");
//   3. resize (antialiased) so the short side is `size`, cut the centred
//      size x size square;
//   4. drop it if it is grayscale: the file has no colour channels, or 99% of
//      the square's pixels have max(|R-G|, |G-B|, |B-R|) < gray_spread (8 of
//      255 by default: above the chroma noise JPEG leaves on a gray photo,
//      below any visible tint). A colorizer learns nothing from a gray
//      photo except to paint gray;
//   5. drop it if its colorfulness (Hasler-Suesstrunk, on the square) is under
//      min_colorfulness ("not_colorful");
//   6. encode the square (JPEG quality 95, or raw RGB) and add it to the pack.
//   7. after the pack is written: the rebalancing prior of the classification
//      model over its images, in the gamut `gamut`, beside it (PACK.prior.
//      safetensors, and the picture PACK.prior.svg; models/color/prior.h).
// Files are taken in sorted order of their names and written in that order,
// whatever the number of threads: the same input gives a byte-identical pack.
// One bad file never stops the run; it is listed with its reason.
//
// A sharded set (shard_size or shards; models/data/pack_set.h): the same
// images in the same order, cut into shard packs beside the output, which
// becomes the set's manifest. The workers encode in parallel; one writer
// takes the finished images in name order and starts a new shard every
// shard_size kept images (or, with `shards`, at each of K even runs of the
// candidates), so the shards are byte-identical whatever the threads.
// Append (append = true): the output, a set or a single pack, gets the new
// images as new shards (a single pack becomes shard 0 of a set: it is
// hard-linked, or copied, to that name). A candidate whose name is in the set
// already, or whose stored bytes equal an image's there, is dropped as
// "duplicate" (so appending a folder again adds only its new photos). The
// settings that make the images (size, min side, min colorfulness, gray
// spread, max megapixels, encoding, quality, gamut) must be the set's: an
// append that asks others is refused. The new shards are written first and
// the manifest last, atomically: an append that fails leaves the set as it
// was. The prior (step 7) is then recomputed over every image of the set.
//
// Candidates: the files named directly, and in named folders (recursively,
// without following symbolic links to folders) every file whose extension is
// an image format's (.jpg .jpeg .jpe .jfif .png .bmp, and .gif .webp .tif
// .tiff .heic .heif .avif .jp2 .jxl .ppm .pgm .psd .svg so that they are
// reported as unsupported). Other files (.txt, .csv, hidden files, ...) are
// counted as ignored. A file's name in the pack is its path relative to the
// named folder, prefixed with the folder's own name ("train256/a/b.jpg"), or
// the bare file name for a file named directly.
//
// Mixing sources: max_per_source caps the candidates of each named source at
// N, taken evenly spaced through its sorted files (so a folder of class
// sub-folders keeps every class in proportion; the same N, the same files).
// E.g. train256 (1,830 photos of many kinds) and imagenette144 (12,825 of ten
// classes) with N = 1,830: half of the pack each, instead of imagenette's 7 to 1.
#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "models/color/gamut.h"
#include "models/data/image.h"
#include "models/data/pack.h"

namespace tinct::data {

struct PrepareOptions {
  std::vector<std::string> sources;  // files and folders
  std::string output;                // the pack file
  int size = 144;                    // side of the stored squares
  // Smallest accepted short side. 128 = the training crop: an image that
  // small still holds one full crop of real pixels; the upscale to 144 is at
  // most 12.5%.
  int min_side = 128;
  // Hasler-Suesstrunk M below which a photo is dropped. 5: their scale calls
  // 0 "not colourful" and 15 "slightly colourful"; under 5 a photo is nearly
  // monochrome (faded, toned, a gray scene) and teaches the model to paint
  // gray. The same threshold curated ../shared/data/train256.
  double min_colorfulness = 5.0;
  int gray_spread = 8;  // see step 4
  DecodeLimits limits;
  // How the squares are stored. JPEG quality 95 (4:4:4 chroma in
  // stb_image_write above quality 90): 1,830 photos at 144x144 take 24 MB
  // instead of 114 MB raw, small enough to carry to a GPU machine; the loader
  // decodes each image once and keeps it in memory (LoaderOptions::cache_bytes).
  // Raw: lossless, no decoding, 62 KB per 144x144 image.
  PackEncoding encoding = PackEncoding::jpeg;
  int quality = 95;          // JPEG quality of the stored squares
  int threads = 0;           // 0: std::thread::hardware_concurrency()
  bool overwrite = false;    // replace an existing output
  bool progress = true;      // progress on stderr (a bar on a terminal, lines otherwise)
  bool write_log = true;     // the summary and every dropped file, to output + ".log"
  std::size_t max_per_source = 0;  // 0: every candidate; otherwise at most N per source
  std::size_t shard_size = 0;  // > 0: a sharded set, a new shard every N kept images
  std::size_t shards = 0;      // > 0: a sharded set of K shards, the candidates cut into K even runs
  bool append = false;         // add to the existing set `output`, as new shards
  bool prior = true;               // step 7
  std::string gamut = color::kDefaultGamut;  // the prior's bins: zhang313 | srgb262 (AbGamut::named)
};

// Why a file was not packed. The first six are the decoder's ImageErrorKind.
enum class DropReason {
  unreadable,
  empty,
  unsupported,
  truncated,
  corrupt,
  too_large,
  too_small,
  grayscale,
  not_colorful,
  duplicate,  // appending: already in the set (the same name or the same stored bytes)
  failed,  // anything else (out of memory, an unexpected exception)
};
const char* to_string(DropReason r);

struct Dropped {
  std::string name;    // as in the pack (relative path)
  std::string path;    // on disk
  DropReason reason;
  std::string detail;  // in words
};

struct PrepareResult {
  std::size_t candidates = 0;  // files examined
  std::size_t ignored = 0;     // files skipped for their extension
  std::size_t kept = 0;
  std::vector<Dropped> dropped;             // in name order
  std::map<DropReason, std::size_t> drops;  // count per reason
  std::uint64_t output_bytes = 0;
  std::string log_path;  // empty when no log was written
  double seconds = 0.0;
  int threads = 0;
  std::map<std::string, std::size_t> per_source;  // candidates taken from each source
  std::string prior_path, prior_picture;          // empty when no prior was written
  std::string prior_summary;                      // color::describe_prior
  double prior_seconds = 0.0;
  std::vector<std::string> shard_files;  // the shards this run wrote (a sharded set)
  std::size_t set_images = 0, set_shards = 0;  // the whole set afterwards (a sharded set)
};

// The settings that make a set's images, as text (what a manifest records;
// an append must match them), and the same read back into options.
std::map<std::string, std::string> image_settings(const PrepareOptions& options);
void apply_image_settings(const std::map<std::string, std::string>& settings, PrepareOptions& options);
// The settings of an existing output: a manifest's record, or what a
// single pack's header says (size, encoding, quality). Throws
// std::runtime_error when it is neither.
std::map<std::string, std::string> existing_image_settings(const std::string& output);

// Runs the pipeline. Throws std::invalid_argument for bad options (no
// sources, size < 1, an existing output without overwrite, a source that
// does not exist) and std::runtime_error when nothing could be kept (no pack
// is written then) or the output cannot be written.
PrepareResult prepare(const PrepareOptions& options);

// The summary: counts, drops per reason, and the list of dropped files.
std::string format_summary(const PrepareOptions& options, const PrepareResult& result,
                           bool list_dropped);

// What prepare() would examine: (name in the pack, path on disk), sorted by
// name. Exposed for tests.
// max_per_source as in PrepareOptions; per_source (if not null) gets the
// count taken from each source.
std::vector<std::pair<std::string, std::string>> find_candidates(const std::vector<std::string>& sources,
                                                                 std::size_t* ignored = nullptr,
                                                                 std::size_t max_per_source = 0,
                                                                 std::map<std::string, std::size_t>* per_source = nullptr);

}  // namespace tinct::data
