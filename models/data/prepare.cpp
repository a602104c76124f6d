// prepare.cpp — see prepare.h.
#include "models/data/prepare.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "models/color/colorfulness.h"
#include "models/color/prior.h"
#include "models/data/pack_set.h"

namespace tinct::data {

namespace fs = std::filesystem;

const char* to_string(DropReason r) {
  switch (r) {
    case DropReason::unreadable: return "unreadable";
    case DropReason::empty: return "empty";
    case DropReason::unsupported: return "unsupported";
    case DropReason::truncated: return "truncated";
    case DropReason::corrupt: return "corrupt";
    case DropReason::too_large: return "too_large";
    case DropReason::too_small: return "too_small";
    case DropReason::grayscale: return "grayscale";
    case DropReason::not_colorful: return "not_colorful";
    case DropReason::duplicate: return "duplicate";
    case DropReason::failed: return "failed";
  }
  return "unknown";
}

namespace {

DropReason reason_of(ImageErrorKind k) {
  switch (k) {
    case ImageErrorKind::unreadable: return DropReason::unreadable;
    case ImageErrorKind::empty: return DropReason::empty;
    case ImageErrorKind::unsupported: return DropReason::unsupported;
    case ImageErrorKind::truncated: return DropReason::truncated;
    case ImageErrorKind::corrupt: return DropReason::corrupt;
    case ImageErrorKind::too_large: return DropReason::too_large;
  }
  return DropReason::failed;
}

std::string lower(std::string s) {
  for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool image_extension(const fs::path& p) {
  static const char* kExt[] = {".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".bmp", ".gif", ".webp", ".tif",
                               ".tiff", ".heic", ".heif", ".avif", ".jp2", ".jxl", ".ppm", ".pgm",
                               ".psd", ".svg"};
  const std::string e = lower(p.extension().string());
  for (const char* x : kExt)
    if (e == x) return true;
  return false;
}

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string megabytes(std::uint64_t bytes) { return fixed(double(bytes) / 1e6, 1) + " MB"; }

// What a worker makes of one file.
struct Outcome {
  bool kept = false;
  std::vector<std::uint8_t> blob;  // the encoded square
  float colorfulness = 0.0f;
  DropReason reason = DropReason::failed;
  std::string detail;
};

Outcome drop(DropReason r, std::string detail) {
  Outcome o;
  o.reason = r;
  o.detail = std::move(detail);
  return o;
}

// The 99th percentile of max(R,G,B) - min(R,G,B) over the pixels: the colour
// spread that all but the most saturated 1% of pixels stay under.
int spread_p99(const Image& img) {
  std::size_t hist[256] = {};
  const std::uint8_t* p = img.pixels.data();
  for (std::size_t i = 0; i < img.pixel_count(); ++i, p += 3) {
    const int hi = std::max({p[0], p[1], p[2]}), lo = std::min({p[0], p[1], p[2]});
    ++hist[hi - lo];
  }
  const std::size_t need = (img.pixel_count() * 99 + 99) / 100;
  std::size_t seen = 0;
  for (int v = 0; v < 256; ++v)
    if ((seen += hist[v]) >= need) return v;
  return 255;
}

Outcome process(const std::string& path, const PrepareOptions& o) {
  try {
    const Image img = load_image(path, o.limits);
    const int short_side = std::min(img.width, img.height);
    if (short_side < o.min_side)
      return drop(DropReason::too_small, std::to_string(img.width) + "x" + std::to_string(img.height) +
                                             ", short side under " + std::to_string(o.min_side));
    if (img.source_channels <= 2)
      return drop(DropReason::grayscale,
                  "grayscale file (" + std::to_string(img.source_channels) + " channel" +
                      (img.source_channels == 1 ? ")" : "s: gray + alpha)"));
    const Image square = resize_short_side_center_crop(img, o.size);
    const int spread = spread_p99(square);
    if (spread < o.gray_spread)
      return drop(DropReason::grayscale, "grayscale content (99% of pixels within " + std::to_string(spread) +
                                             " of gray, limit " + std::to_string(o.gray_spread) + ")");
    const double m = color::colorfulness(square.pixels.data(), square.pixel_count());
    if (m < o.min_colorfulness)
      return drop(DropReason::not_colorful,
                  "colorfulness " + fixed(m, 1) + " below " + fixed(o.min_colorfulness, 1));
    Outcome out;
    out.kept = true;
    out.colorfulness = float(m);
    out.blob = o.encoding == PackEncoding::raw ? square.pixels : encode_jpeg(square, o.quality);
    return out;
  } catch (const ImageError& e) {
    return drop(reason_of(e.kind()), e.reason());
  } catch (const std::bad_alloc&) {
    return drop(DropReason::failed, "out of memory while decoding");
  } catch (const std::exception& e) {
    return drop(DropReason::failed, e.what());
  }
}

// Progress on stderr: a bar redrawn in place on a terminal, otherwise (a log
// file, CI) one line per 10%.
class Progress {
 public:
  Progress(bool enabled, std::size_t total)
      : enabled_(enabled && total > 0), tty_(::isatty(::fileno(stderr)) == 1), total_(total),
        start_(std::chrono::steady_clock::now()) {}

  void update(std::size_t done, std::size_t kept, bool final = false) {
    if (!enabled_) return;
    const auto now = std::chrono::steady_clock::now();
    const double secs = std::chrono::duration<double>(now - start_).count();
    if (tty_) {
      if (!final && now - last_ < std::chrono::milliseconds(100)) return;
      last_ = now;
      const int width = 30, filled = int(width * done / total_);
      const double rate = secs > 0 ? done / secs : 0.0;
      const double eta = rate > 0 ? (total_ - done) / rate : 0.0;
      std::fprintf(stderr, "\r[%s%s] %zu/%zu  kept %zu  dropped %zu  %.0f files/s  eta %.0f s ",
                   std::string(filled, '#').c_str(), std::string(width - filled, '.').c_str(), done,
                   total_, kept, done - kept, rate, eta);
      if (final) std::fputc('\n', stderr);
      std::fflush(stderr);
    } else {
      const std::size_t tenth = done * 10 / total_;
      if (tenth <= last_tenth_) return;  // once per 10%, the last at 100%
      last_tenth_ = tenth;
      std::fprintf(stderr, "prepare: %zu/%zu files (%zu%%), kept %zu, dropped %zu, %.1f s\n", done, total_,
                   done * 100 / total_, kept, done - kept, secs);
      std::fflush(stderr);
    }
  }

 private:
  bool enabled_, tty_;
  std::size_t total_;
  std::chrono::steady_clock::time_point start_, last_{};
  std::size_t last_tenth_ = 0;
};

}  // namespace

// ---------------------------------------------------------------------------

std::vector<std::pair<std::string, std::string>> find_candidates(const std::vector<std::string>& sources,
                                                                 std::size_t* ignored, std::size_t max_per_source,
                                                                 std::map<std::string, std::size_t>* per_source) {
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t skipped = 0;
  for (const std::string& s : sources) {
    const fs::path root(s);
    std::error_code ec;
    const fs::file_status st = fs::status(root, ec);
    if (ec || !fs::exists(st)) throw std::invalid_argument("source '" + s + "' does not exist");
    if (!fs::is_directory(st)) {  // a file named directly: always examined
      out.emplace_back(root.filename().generic_string(), root.string());
      if (per_source) (*per_source)[s] += 1;
      continue;
    }
    fs::path abs = fs::absolute(root, ec).lexically_normal();
    if (abs.has_parent_path() && abs.filename().empty()) abs = abs.parent_path();  // "dir/" -> "dir"
    const std::string prefix = abs.filename().generic_string();
    std::size_t others = 0;
    std::vector<std::pair<std::string, std::string>> mine;
    for (const FileUnder& f : list_files(s, image_extension, &others))
      mine.emplace_back(prefix.empty() ? f.rel : prefix + "/" + f.rel, f.path);
    skipped += others;
    std::sort(mine.begin(), mine.end());
    // The cap: files k * m / N (k = 0..N-1) of the m sorted ones, evenly spaced.
    const std::size_t m = mine.size();
    const std::size_t take = max_per_source > 0 ? std::min(m, max_per_source) : m;
    for (std::size_t k = 0; k < take; ++k) out.push_back(mine[take == m ? k : k * m / take]);
    if (per_source) (*per_source)[s] += take;
  }
  std::sort(out.begin(), out.end());
  if (ignored) *ignored = skipped;
  return out;
}

namespace {

// The settings an append compares (image_settings' keys).
const char* const kImageSettings[] = {"size", "min_side", "min_colorfulness", "gray_spread", "max_megapixels",
                                      "encoding", "quality", "gamut"};

std::string number_text(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

// Where kept images go: one pack, or the shards of a set, a PackWriter at a
// time. Shards this run finished are removed again unless commit() is
// called: a run that fails leaves no stray shard behind.
class Output {
 public:
  Output(const PrepareOptions& o, std::size_t first_number, std::size_t candidates)
      : o_(o), sharded_(o.shard_size > 0 || o.shards > 0 || o.append), number_(first_number),
        candidates_(candidates) {
    open_writer();  // before any work: an unwritable output fails at once
  }
  ~Output() {
    writer_.reset();
    if (!committed_)
      for (const std::string& f : finished_paths_) std::remove(f.c_str());
  }

  void add(std::size_t candidate, const std::vector<std::uint8_t>& blob, const std::string& name, float m) {
    if (sharded_ && writer_->count() > 0) {
      const bool full = o_.shard_size > 0 && writer_->count() >= o_.shard_size;
      const bool next_run = o_.shards > 0 && run_of(candidate) != run_;
      if (full || next_run) {
        finish_writer();
        open_writer();
      }
    }
    if (o_.shards > 0) run_ = run_of(candidate);
    writer_->add(blob, name, m);
  }

  // Finishes the last pack; returns the bytes written.
  std::uint64_t finish() {
    if (writer_->count() > 0) finish_writer();
    writer_.reset();  // an empty last shard: its temporary file goes
    return total_bytes_;
  }
  void commit() { committed_ = true; }
  const std::vector<SetManifest::Shard>& shards() const { return shards_; }
  const std::vector<std::string>& paths() const { return finished_paths_; }

 private:
  std::size_t run_of(std::size_t candidate) const { return candidate * o_.shards / std::max<std::size_t>(1, candidates_); }
  std::string path_of(std::size_t number) const {
    return (fs::path(o_.output).parent_path() / shard_file_name(o_.output, number)).string();
  }
  void open_writer() {
    writer_ = std::make_unique<PackWriter>(sharded_ ? path_of(number_) : o_.output, o_.size, o_.size, o_.encoding,
                                           o_.quality);
  }
  void finish_writer() {
    const std::size_t count = writer_->count();
    const std::uint64_t bytes = writer_->finish();
    total_bytes_ += bytes;
    if (!sharded_) return;
    const std::string path = path_of(number_);
    finished_paths_.push_back(path);
    const PackIndex index = read_pack_index(path);  // 64 bytes and the index: its CRC for the manifest
    shards_.push_back({shard_file_name(o_.output, number_), count, bytes, index.index_crc});
    ++number_;
  }

  const PrepareOptions& o_;
  bool sharded_;
  std::size_t number_, candidates_, run_ = 0;
  std::unique_ptr<PackWriter> writer_;
  std::uint64_t total_bytes_ = 0;
  std::vector<SetManifest::Shard> shards_;
  std::vector<std::string> finished_paths_;
  bool committed_ = false;
};

}  // namespace

std::map<std::string, std::string> image_settings(const PrepareOptions& o) {
  return {{"size", std::to_string(o.size)},
          {"min_side", std::to_string(o.min_side)},
          {"min_colorfulness", number_text(o.min_colorfulness)},
          {"gray_spread", std::to_string(o.gray_spread)},
          {"max_megapixels", number_text(o.limits.max_megapixels)},
          {"encoding", o.encoding == PackEncoding::raw ? "raw" : "jpeg"},
          {"quality", std::to_string(o.encoding == PackEncoding::raw ? 0 : o.quality)},
          {"gamut", o.gamut}};
}

void apply_image_settings(const std::map<std::string, std::string>& m, PrepareOptions& o) {
  auto get = [&](const char* key, auto set) {
    auto it = m.find(key);
    if (it == m.end()) return;
    try {
      set(it->second);
    } catch (const std::exception&) {
      throw std::runtime_error(std::string("the set's setting ") + key + " '" + it->second + "' cannot be read");
    }
  };
  get("size", [&](const std::string& v) { o.size = std::stoi(v); });
  get("min_side", [&](const std::string& v) { o.min_side = std::stoi(v); });
  get("min_colorfulness", [&](const std::string& v) { o.min_colorfulness = std::stod(v); });
  get("gray_spread", [&](const std::string& v) { o.gray_spread = std::stoi(v); });
  get("max_megapixels", [&](const std::string& v) { o.limits.max_megapixels = std::stod(v); });
  get("encoding", [&](const std::string& v) { o.encoding = v == "raw" ? PackEncoding::raw : PackEncoding::jpeg; });
  get("quality", [&](const std::string& v) {
    if (std::stoi(v) > 0) o.quality = std::stoi(v);
  });
  get("gamut", [&](const std::string& v) { o.gamut = v; });
}

std::map<std::string, std::string> existing_image_settings(const std::string& output) {
  if (is_set_manifest(output)) return read_set_manifest(output).settings;
  const PackIndex index = read_pack_index(output);
  return {{"size", std::to_string(index.width)},
          {"encoding", index.encoding == PackEncoding::raw ? "raw" : "jpeg"},
          {"quality", std::to_string(index.quality)}};
}

PrepareResult prepare(const PrepareOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  if (o.sources.empty()) throw std::invalid_argument("no source files or folders given");
  if (o.output.empty()) throw std::invalid_argument("no output file given (-o FILE)");
  if (o.size < 1 || o.size > 4096) throw std::invalid_argument("--size must be in [1, 4096]");
  if (o.quality < 1 || o.quality > 100) throw std::invalid_argument("JPEG quality must be in [1, 100]");
  if (o.shard_size > 0 && o.shards > 0) throw std::invalid_argument("--shard-size and --shards: give one of them");
  if (o.append && o.overwrite) throw std::invalid_argument("--append adds to the set; --overwrite replaces it: give one");
  std::error_code ec;
  if (fs::is_directory(o.output, ec)) throw std::invalid_argument("output '" + o.output + "' is a folder");
  const bool exists = fs::exists(o.output, ec);
  if (exists && !o.overwrite && !o.append)
    throw std::invalid_argument("output '" + o.output + "' exists (use --overwrite to replace it, or --append to add to it)");
  if (o.append && !exists)
    throw std::invalid_argument("--append: '" + o.output + "' does not exist (leave out --append to make it)");

  // Appending: what the set holds (its shards checked against the manifest),
  // and its settings, which this run must share.
  SetManifest manifest;
  bool was_single = false;
  std::shared_ptr<const PackSet> before;
  std::map<std::uint64_t, std::string> names_held;        // name hash -> name
  std::map<std::pair<std::uint32_t, std::uint32_t>, std::string> bytes_held;  // (crc, length) -> name
  PrepareOptions eff = o;
  if (o.append) {
    try {
      was_single = !is_set_manifest(o.output);
      before = PackSet::open(o.output, PackSet::Hold::stream);
      const auto theirs = existing_image_settings(o.output);
      const auto mine = image_settings(o);
      for (const char* key : kImageSettings) {
        auto it = theirs.find(key);
        if (it != theirs.end() && it->second != mine.at(key))
          throw std::invalid_argument("--append: " + o.output + " was made with " + key + " " + it->second +
                                      ", this run asks " + mine.at(key) +
                                      ": the images of a set are made alike (leave the option out to take the set's)");
      }
      if (was_single) {
        const PackSet::Shard& only = before->shards().front();
        manifest.width = before->width();
        manifest.height = before->height();
        manifest.encoding = only.encoding;
        manifest.quality = only.quality;
        manifest.shards.push_back({shard_file_name(o.output, 0), before->size(), only.bytes, only.index_crc});
        manifest.settings = image_settings(o);
      } else {
        manifest = read_set_manifest(o.output);
      }
      if (o.shard_size == 0 && o.shards == 0) {
        auto it = manifest.settings.find("shard_size");
        if (it != manifest.settings.end()) eff.shard_size = std::size_t(std::stoull(it->second));
      }
    } catch (const std::runtime_error& e) {
      throw std::invalid_argument(std::string("--append: ") + e.what());
    }
    for (std::size_t i = 0; i < before->size(); ++i) {
      names_held.emplace(before->entry(i).name_hash, before->entry(i).name);
      bytes_held.emplace(std::make_pair(before->entry(i).crc, before->entry(i).length), before->entry(i).name);
    }
  }
  // The old shards an --overwrite of a sharded set leaves behind.
  std::vector<std::string> stale;
  if (exists && o.overwrite && is_set_manifest(o.output)) {
    try {
      for (const auto& sh : read_set_manifest(o.output).shards)
        stale.push_back((fs::path(o.output).parent_path() / sh.file).string());
    } catch (const std::exception&) {
    }
  }

  PrepareResult r;
  color::AbGamut::named(o.gamut);  // an unknown gamut fails before any work
  const auto files = find_candidates(o.sources, &r.ignored, o.max_per_source, &r.per_source);
  const std::size_t n = files.size();
  r.candidates = n;
  r.threads = o.threads > 0 ? o.threads : int(std::max(1u, std::thread::hardware_concurrency()));
  r.threads = int(std::min<std::size_t>(std::size_t(r.threads), std::max<std::size_t>(n, 1)));

  // A name already in the set is not even decoded.
  std::vector<char> known(n, 0);
  for (std::size_t i = 0; i < n; ++i) {
    auto it = names_held.find(fnv1a64(files[i].first));
    known[i] = it != names_held.end() && it->second == files[i].first;
  }

  // Created before any work so that an unwritable output fails at once. New
  // shards are numbered after the set's (a converted single pack is 0).
  std::size_t first_number = 0;
  if (o.append) {
    first_number = manifest.shards.size();
    auto listed = [&](std::size_t k) {
      for (const auto& sh : manifest.shards)
        if (sh.file == shard_file_name(o.output, k)) return true;
      return false;
    };
    while (listed(first_number)) ++first_number;
  }
  Output output(eff, first_number, n);

  // Workers claim files in order, but stay within `window` files of the
  // writer, so that a slow file cannot make the others pile up in memory.
  const std::size_t window = std::size_t(8) * r.threads + 8;
  std::vector<Outcome> outcomes(n);
  std::vector<char> ready(n, 0);
  std::mutex mu;
  std::condition_variable cv_work, cv_done;
  std::size_t next = 0, written = 0;
  bool abort = false;

  auto worker = [&] {
    while (true) {
      std::size_t i;
      {
        std::unique_lock<std::mutex> lock(mu);
        cv_work.wait(lock, [&] { return abort || next >= n || next < written + window; });
        if (abort || next >= n) return;
        i = next++;
      }
      Outcome out = known[i] ? drop(DropReason::duplicate, "already in " + o.output)
                             : process(files[i].second, o);
      {
        std::lock_guard<std::mutex> lock(mu);
        outcomes[i] = std::move(out);
        ready[i] = 1;
      }
      cv_done.notify_all();
    }
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < r.threads; ++t) pool.emplace_back(worker);
  auto stop_pool = [&] {
    {
      std::lock_guard<std::mutex> lock(mu);
      abort = true;
    }
    cv_work.notify_all();
    for (auto& t : pool)
      if (t.joinable()) t.join();
  };

  Progress progress(o.progress, n);
  try {
    for (std::size_t i = 0; i < n; ++i) {
      Outcome out;
      {
        std::unique_lock<std::mutex> lock(mu);
        cv_done.wait(lock, [&] { return ready[i] != 0; });
        out = std::move(outcomes[i]);
        written = i + 1;
      }
      cv_work.notify_all();
      if (out.kept && !bytes_held.empty()) {
        auto it = bytes_held.find({crc32(out.blob.data(), out.blob.size()), std::uint32_t(out.blob.size())});
        if (it != bytes_held.end()) out = drop(DropReason::duplicate, "the same image as " + it->second);
      }
      if (out.kept) {
        output.add(i, out.blob, files[i].first, out.colorfulness);
        ++r.kept;
      } else {
        r.dropped.push_back({files[i].first, files[i].second, out.reason, out.detail});
        ++r.drops[out.reason];
      }
      progress.update(i + 1, r.kept);
    }
  } catch (...) {
    stop_pool();
    throw;
  }
  stop_pool();
  progress.update(n, r.kept, true);

  // Otherwise the temporary file goes away, and the output stays as it was.
  if (r.kept > 0) r.output_bytes = output.finish();

  const bool sharded = o.shard_size > 0 || o.shards > 0 || o.append;
  if (r.kept > 0 && sharded) {
    // The manifest last, atomically: until it is written the set is the old
    // one (or none), and a shard of this run is an orphan.
    if (!o.append) {
      manifest.width = manifest.height = o.size;
      manifest.encoding = o.encoding;
      manifest.quality = o.encoding == PackEncoding::raw ? 0 : o.quality;
      manifest.settings = image_settings(o);
    }
    if (eff.shard_size > 0) manifest.settings["shard_size"] = std::to_string(eff.shard_size);
    for (const auto& sh : output.shards()) manifest.shards.push_back(sh);
    if (was_single) {
      // The single pack becomes shard 0: linked to that name (no copy of
      // its bytes), or copied where links are not possible.
      const fs::path shard0 = fs::path(o.output).parent_path() / manifest.shards.front().file;
      fs::remove(shard0, ec);
      fs::create_hard_link(o.output, shard0, ec);
      if (ec) fs::copy_file(o.output, shard0, fs::copy_options::overwrite_existing);
    }
    write_set_manifest(o.output, manifest);
    r.set_images = std::size_t(manifest.images());
    r.set_shards = manifest.shards.size();
    for (const std::string& f : output.paths()) r.shard_files.push_back(f);
  }
  output.commit();
  // An overwritten set's shards that the new output does not name.
  if (r.kept > 0)
    for (const std::string& f : stale) {
      bool named = false;
      for (const auto& sh : manifest.shards)
        if ((fs::path(o.output).parent_path() / sh.file).string() == f) named = true;
      if (!named) fs::remove(f, ec);
    }

  // Step 7, over every image of the output (all shards of a set). A prior
  // left from an earlier pack of this name would no longer match it:
  // replaced, or removed when no prior is asked for.
  if (r.kept > 0) {
    const std::string prior_file = color::prior_path(o.output), picture = color::prior_picture_path(o.output);
    if (o.prior) {
      const auto p0 = std::chrono::steady_clock::now();
      const auto set = PackSet::open(o.output, PackSet::Hold::stream);
      if (o.progress)
        std::fprintf(stderr, "prepare: the rebalancing prior (%s) over %zu images...\n", o.gamut.c_str(), set->size());
      const color::PackPrior prior = color::compute_pack_prior(*set, color::AbGamut::named(o.gamut), {}, r.threads);
      color::save_pack_prior(prior_file, prior);
      const std::string svg = color::prior_svg(prior, fs::path(o.output).filename().string());
      write_file(picture, std::vector<std::uint8_t>(svg.begin(), svg.end()));
      r.prior_path = prior_file;
      r.prior_picture = picture;
      r.prior_summary = color::describe_prior(prior);
      r.prior_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - p0).count();
    } else {
      fs::remove(prior_file, ec);
      fs::remove(picture, ec);
    }
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (r.kept > 0 && o.write_log) {
    r.log_path = o.output + ".log";
    std::string text = format_summary(o, r, true);
    if (o.append) {  // the log of an appended set tells its whole story
      try {
        const std::vector<std::uint8_t> old = read_file(r.log_path);
        text = std::string(old.begin(), old.end()) + "\n" + text;
      } catch (const std::exception&) {
      }
    }
    try {
      write_file(r.log_path, std::vector<std::uint8_t>(text.begin(), text.end()));
    } catch (const std::exception&) {
      r.log_path.clear();  // the pack is what matters; the caller prints the summary anyway
    }
  }
  return r;
}

std::string format_summary(const PrepareOptions& o, const PrepareResult& r, bool list_dropped) {
  const std::string stored = o.encoding == PackEncoding::raw ? "raw RGB" : "JPEG q" + std::to_string(o.quality);
  std::string s;
  s += "tinct prepare: " + std::to_string(r.candidates) + " files examined in " + fixed(r.seconds, 1) +
       " s (" + std::to_string(r.threads) + (r.threads == 1 ? " thread)" : " threads)");
  if (r.ignored) s += ", " + std::to_string(r.ignored) + " other files ignored (not image extensions)";
  s += "\n";
  s += "  sources: ";
  for (std::size_t i = 0; i < o.sources.size(); ++i) {
    s += (i ? ", " : "") + o.sources[i];
    auto it = r.per_source.find(o.sources[i]);
    if (o.sources.size() > 1 && it != r.per_source.end()) s += " (" + std::to_string(it->second) + " files)";
  }
  if (o.max_per_source > 0) s += "; at most " + std::to_string(o.max_per_source) + " files a source, evenly spaced";
  s += "\n  settings: size " + std::to_string(o.size) + ", min side " + std::to_string(o.min_side) +
       ", min colorfulness " + fixed(o.min_colorfulness, 1) + ", gray spread " +
       std::to_string(o.gray_spread) + ", max " + fixed(o.limits.max_megapixels, 1) + " megapixels, " +
       stored + "\n";
  s += "  kept    " + std::to_string(r.kept);
  if (r.kept && !r.shard_files.empty())
    s += " -> " + std::to_string(r.shard_files.size()) + " shard(s) " + fs::path(r.shard_files.front()).filename().string() +
         (r.shard_files.size() > 1 ? " .. " + fs::path(r.shard_files.back()).filename().string() : std::string()) +
         " (" + megabytes(r.output_bytes) + ", " + std::to_string(o.size) + "x" + std::to_string(o.size) + " " + stored +
         "); " + (o.append ? "the set " : "set ") + o.output + " now holds " + std::to_string(r.set_images) +
         " images in " + std::to_string(r.set_shards) + " shards";
  else if (r.kept)
    s += " -> " + o.output + " (" + megabytes(r.output_bytes) + ", " + std::to_string(o.size) + "x" +
         std::to_string(o.size) + " " + stored + ")";
  else
    s += o.append ? " (" + o.output + " unchanged)" : " (no pack written)";
  s += "\n  dropped " + std::to_string(r.dropped.size()) + "\n";
  for (const auto& [reason, count] : r.drops) {
    char line[96];
    std::snprintf(line, sizeof line, "    %-13s %zu\n", to_string(reason), count);
    s += line;
  }
  if (!r.prior_path.empty()) {
    s += r.prior_summary;
    s += "    -> " + r.prior_path + " (" + fixed(r.prior_seconds, 1) + " s), picture " + r.prior_picture + "\n";
  }
  if (list_dropped && !r.dropped.empty()) {
    s += "dropped files:\n";
    for (const auto& d : r.dropped) s += "  " + d.name + ": " + to_string(d.reason) + ": " + d.detail + "\n";
  }
  return s;
}

}  // namespace tinct::data
