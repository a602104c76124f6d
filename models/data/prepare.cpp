// prepare.cpp — see prepare.h.
#include "models/data/prepare.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "models/color/colorfulness.h"
#include "models/color/prior.h"

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

PrepareResult prepare(const PrepareOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  if (o.sources.empty()) throw std::invalid_argument("no source files or folders given");
  if (o.output.empty()) throw std::invalid_argument("no output file given (-o FILE)");
  if (o.size < 1 || o.size > 4096) throw std::invalid_argument("--size must be in [1, 4096]");
  if (o.quality < 1 || o.quality > 100) throw std::invalid_argument("JPEG quality must be in [1, 100]");
  std::error_code ec;
  if (fs::is_directory(o.output, ec)) throw std::invalid_argument("output '" + o.output + "' is a folder");
  if (fs::exists(o.output, ec) && !o.overwrite)
    throw std::invalid_argument("output '" + o.output + "' exists (use --overwrite to replace it)");

  PrepareResult r;
  color::AbGamut::named(o.gamut);  // an unknown gamut fails before any work
  const auto files = find_candidates(o.sources, &r.ignored, o.max_per_source, &r.per_source);
  const std::size_t n = files.size();
  r.candidates = n;
  r.threads = o.threads > 0 ? o.threads : int(std::max(1u, std::thread::hardware_concurrency()));
  r.threads = int(std::min<std::size_t>(std::size_t(r.threads), std::max<std::size_t>(n, 1)));

  // Created before any work so that an unwritable output fails at once.
  PackWriter writer(o.output, o.size, o.size, o.encoding, o.quality);

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
      Outcome out = process(files[i].second, o);
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
      if (out.kept) {
        writer.add(out.blob, files[i].first, out.colorfulness);
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

  if (r.kept > 0) r.output_bytes = writer.finish();  // otherwise the temp file goes away

  // Step 7. A prior left from an earlier pack of this name would no longer
  // match it: replaced, or removed when no prior is asked for.
  if (r.kept > 0) {
    const std::string prior_file = color::prior_path(o.output), picture = color::prior_picture_path(o.output);
    if (o.prior) {
      const auto p0 = std::chrono::steady_clock::now();
      if (o.progress) std::fprintf(stderr, "prepare: the rebalancing prior (%s) over %zu images...\n", o.gamut.c_str(), r.kept);
      const auto pack = Pack::open(o.output, Pack::Verify::structure);
      const color::PackPrior prior = color::compute_pack_prior(*pack, color::AbGamut::named(o.gamut), {}, r.threads);
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
    const std::string text = format_summary(o, r, true);
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
  if (r.kept)
    s += " -> " + o.output + " (" + megabytes(r.output_bytes) + ", " + std::to_string(o.size) + "x" +
         std::to_string(o.size) + " " + stored + ")";
  else
    s += " (no pack written)";
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
