// pack_set.cpp — see pack_set.h.
#include "models/data/pack_set.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "engine/atomic_file.h"
#include "engine/json.h"

namespace tinct::data {

namespace fs = std::filesystem;

namespace {

constexpr const char* kSetFormat = "tinct-set-1";

const char* encoding_name(PackEncoding e) { return e == PackEncoding::raw ? "raw" : "jpeg"; }

std::string hex32(std::uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08x", v);
  return buf;
}

// A shard's file name as the manifest may hold it: a plain name in the
// manifest's folder, never a path that leads elsewhere.
bool plain_file_name(const std::string& f) {
  return !f.empty() && f.size() <= 255 && f != "." && f != ".." && f.find('/') == std::string::npos &&
         f.find('\\') == std::string::npos && f.find('\0') == std::string::npos;
}

}  // namespace

std::uint64_t SetManifest::images() const {
  std::uint64_t n = 0;
  for (const Shard& s : shards) n += s.images;
  return n;
}

bool is_set_manifest(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  int c;
  do c = std::fgetc(f);
  while (c == ' ' || c == '\n' || c == '\r' || c == '\t');
  std::fclose(f);
  return c == '{';
}

SetManifest parse_set_manifest(std::string_view text, const std::string& name) {
  auto bad = [&](const std::string& what) {
    return std::runtime_error(name + ": not a tinct set manifest (" + what + ")");
  };
  json::Value v;
  try {
    v = json::parse(text, 8);
  } catch (const std::exception& e) {
    throw bad(e.what());
  }
  if (!v.is_object()) throw bad("not a JSON object");
  auto get = [&](const json::Value& obj, const char* key) -> const json::Value& {
    const json::Value* x = obj.find(key);
    if (!x) throw bad(std::string("no \"") + key + "\"");
    return *x;
  };
  auto integer = [&](const json::Value& obj, const char* key, std::int64_t lo, std::int64_t hi) {
    const json::Value& x = get(obj, key);
    if (!x.is_int() || x.as_int() < lo || x.as_int() > hi)
      throw bad(std::string("\"") + key + "\" must be an integer in [" + std::to_string(lo) + ", " +
                std::to_string(hi) + "]");
    return x.as_int();
  };
  auto string = [&](const json::Value& obj, const char* key) -> const std::string& {
    const json::Value& x = get(obj, key);
    if (!x.is_string()) throw bad(std::string("\"") + key + "\" must be a string");
    return x.as_string();
  };
  if (string(v, "format") != kSetFormat)
    throw bad("format \"" + string(v, "format") + "\", this build reads \"" + kSetFormat + "\"");
  SetManifest m;
  m.width = int(integer(v, "width", 1, 65536));
  m.height = int(integer(v, "height", 1, 65536));
  const std::string& enc = string(v, "encoding");
  if (enc == "jpeg") m.encoding = PackEncoding::jpeg;
  else if (enc == "raw") m.encoding = PackEncoding::raw;
  else throw bad("unknown encoding \"" + enc + "\"");
  m.quality = int(integer(v, "quality", 0, 100));
  const json::Value& settings = get(v, "settings");
  if (!settings.is_object()) throw bad("\"settings\" must be an object");
  for (const auto& [key, value] : settings.as_object()) {
    if (!value.is_string()) throw bad("setting \"" + key + "\" must be a string");
    m.settings[key] = value.as_string();
  }
  const json::Value& shards = get(v, "shards");
  if (!shards.is_array() || shards.as_array().empty()) throw bad("\"shards\" must be a non-empty array");
  for (const json::Value& s : shards.as_array()) {
    if (!s.is_object()) throw bad("a shard must be an object");
    SetManifest::Shard sh;
    sh.file = string(s, "file");
    if (!plain_file_name(sh.file)) throw bad("shard file \"" + sh.file + "\" is not a plain file name");
    sh.images = std::uint64_t(integer(s, "images", 1, std::int64_t(1) << 40));
    sh.bytes = std::uint64_t(integer(s, "bytes", std::int64_t(kPackHeaderBytes), std::int64_t(1) << 50));
    const std::string& crc = string(s, "index_crc");
    if (crc.size() != 8 || crc.find_first_not_of("0123456789abcdef") != std::string::npos)
      throw bad("shard \"" + sh.file + "\": \"index_crc\" must be 8 lowercase hex digits");
    sh.index_crc = std::uint32_t(std::stoul(crc, nullptr, 16));
    for (const SetManifest::Shard& o : m.shards)
      if (o.file == sh.file) throw bad("shard \"" + sh.file + "\" is listed twice");
    m.shards.push_back(sh);
  }
  if (std::uint64_t(integer(v, "images", 1, std::int64_t(1) << 50)) != m.images())
    throw bad("\"images\" is not the sum of the shards' images");
  return m;
}

std::string set_manifest_text(const SetManifest& m) {
  using json::Value;
  Value::Object settings;
  for (const auto& [k, v] : m.settings) settings.emplace_back(k, Value(v));
  Value::Array shards;
  for (const auto& s : m.shards)
    shards.push_back(Value(Value::Object{{"file", Value(s.file)},
                                         {"images", Value(std::int64_t(s.images))},
                                         {"bytes", Value(std::int64_t(s.bytes))},
                                         {"index_crc", Value(hex32(s.index_crc))}}));
  const Value v(Value::Object{{"format", Value(kSetFormat)},
                              {"width", Value(m.width)},
                              {"height", Value(m.height)},
                              {"encoding", Value(encoding_name(m.encoding))},
                              {"quality", Value(m.quality)},
                              {"settings", Value(settings)},
                              {"images", Value(std::int64_t(m.images()))},
                              {"shards", Value(shards)}});
  // One shard a line: a person can read it, and diff it after an append.
  std::string text = json::dump(v);
  std::string out;
  const std::string_view shard_key = "{\"file\":", shards_key = "\"shards\":";
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text.compare(i, shard_key.size(), shard_key) == 0 || text.compare(i, shards_key.size(), shards_key) == 0)
      out += "\n ";
    out += text[i];
  }
  return out + "\n";
}

SetManifest read_set_manifest(const std::string& path) {
  std::vector<std::uint8_t> bytes;
  try {
    bytes = read_file(path, std::size_t(64) << 20);
  } catch (const ImageError& e) {
    throw std::runtime_error(path + ": " + e.reason());
  }
  return parse_set_manifest(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), path);
}

void write_set_manifest(const std::string& path, const SetManifest& m) {
  const std::string text = set_manifest_text(m);
  write_file_atomic(path, text.data(), text.size());
}

std::string shard_file_name(const std::string& set_path, std::size_t k) {
  const fs::path p(set_path);
  char buf[32];
  std::snprintf(buf, sizeof buf, "-%05zu", k);
  return p.stem().string() + buf + (p.has_extension() ? p.extension().string() : std::string(".tpk"));
}

// ---------------------------------------------------------------------------

std::vector<std::string> PackSet::split_spec(const std::string& spec) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = spec.find(',', start);
    out.push_back(spec.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  for (const std::string& s : out)
    if (s.empty()) throw std::runtime_error("--data '" + spec + "': an empty name between commas");
  return out;
}

void PackSet::add_shard(Shard s, std::vector<PackEntry> entries, int width, int height) {
  if (shards_.empty()) {
    width_ = width;
    height_ = height;
  } else if (width != width_ || height != height_) {
    throw std::runtime_error(s.path + ": its images are " + std::to_string(width) + "x" + std::to_string(height) +
                             ", those of " + shards_.front().path + " " + std::to_string(width_) + "x" +
                             std::to_string(height_) + ": a set holds images of one size");
  }
  s.first = entries_.size();
  s.count = entries.size();
  for (PackEntry& e : entries) entries_.push_back(std::move(e));
  shards_.push_back(std::move(s));
}

std::shared_ptr<const PackSet> PackSet::open(const std::string& spec, Hold hold) {
  auto set = std::shared_ptr<PackSet>(new PackSet());
  set->hold_ = hold;
  set->spec_ = spec;
  const std::vector<std::string> files = split_spec(spec);
  if (files.size() == 1) set->path_ = files.front();
  // One file: a shard path, checked against `expect` (its manifest line) when given.
  auto add_pack = [&](const std::string& path, const SetManifest::Shard* expect, const std::string& manifest) {
    std::error_code ec;
    if (expect && !fs::exists(path, ec))
      throw std::runtime_error(manifest + ": shard " + expect->file + " is missing (" + path + ")");
    Shard s;
    s.path = path;
    std::vector<PackEntry> entries;
    int w = 0, h = 0;
    if (hold == Hold::memory) {
      s.pack = Pack::open(path);
      entries = s.pack->entries();
      w = s.pack->width(), h = s.pack->height();
      s.encoding = s.pack->encoding();
      s.quality = s.pack->quality();
      s.index_crc = s.pack->index_crc();
      s.bytes = s.pack->file_size();
    } else {
      PackIndex index = read_pack_index(path);
      entries = std::move(index.entries);
      w = index.width, h = index.height;
      s.encoding = index.encoding;
      s.quality = index.quality;
      s.index_crc = index.index_crc;
      s.bytes = index.file_size;
    }
    if (expect && (entries.size() != expect->images || s.bytes != expect->bytes || s.index_crc != expect->index_crc))
      throw std::runtime_error(manifest + ": shard " + expect->file + " does not match the manifest (" +
                               std::to_string(entries.size()) + " images, " + std::to_string(s.bytes) +
                               " bytes, index CRC " + hex32(s.index_crc) + "; the manifest says " +
                               std::to_string(expect->images) + ", " + std::to_string(expect->bytes) + ", " +
                               hex32(expect->index_crc) + "): rewritten or replaced since the set was made");
    set->add_shard(std::move(s), std::move(entries), w, h);
  };
  for (const std::string& file : files) {
    std::error_code ec;
    if (!fs::exists(file, ec)) throw std::runtime_error(file + ": no such file");
    if (is_set_manifest(file)) {
      const SetManifest m = read_set_manifest(file);
      const fs::path dir = fs::path(file).parent_path();
      for (const SetManifest::Shard& sh : m.shards) add_pack((dir / sh.file).string(), &sh, file);
      if (set->width_ != m.width || set->height_ != m.height)
        throw std::runtime_error(file + ": the manifest says " + std::to_string(m.width) + "x" +
                                 std::to_string(m.height) + " images, its shards hold " +
                                 std::to_string(set->width_) + "x" + std::to_string(set->height_));
    } else {
      add_pack(file, nullptr, "");
    }
  }
  return set;
}

std::shared_ptr<const PackSet> PackSet::of(std::shared_ptr<const Pack> pack) {
  if (!pack) throw std::invalid_argument("PackSet::of: no pack");
  auto set = std::shared_ptr<PackSet>(new PackSet());
  set->hold_ = Hold::memory;
  set->path_ = set->spec_ = pack->path();
  Shard s;
  s.path = pack->path();
  s.encoding = pack->encoding();
  s.quality = pack->quality();
  s.index_crc = pack->index_crc();
  s.bytes = pack->file_size();
  s.pack = pack;
  set->add_shard(std::move(s), pack->entries(), pack->width(), pack->height());
  return set;
}

std::size_t PackSet::shard_of(std::size_t i) const {
  if (i >= entries_.size()) throw std::out_of_range("PackSet: image index out of range");
  // The last shard whose first image is at or before i; past any empty
  // shard (a pack may hold no image) to the one that holds it.
  auto it = std::upper_bound(shards_.begin(), shards_.end(), i,
                             [](std::size_t v, const Shard& s) { return v < s.first; });
  std::size_t k = std::size_t(it - shards_.begin()) - 1;
  while (i >= shards_[k].first + shards_[k].count) ++k;
  return k;
}

std::uint64_t PackSet::resident_bytes() const {
  std::uint64_t n = 0;
  for (const Shard& s : shards_)
    if (s.pack) n += s.pack->file_size();
  return n;
}

std::string PackSet::describe(std::size_t i) const {
  const Shard& s = shards_[shard_of(i)];
  return s.path + ": image " + std::to_string(i - s.first) + " (" + entries_[i].name + ")";
}

void PackSet::decode(std::size_t i, Image& out) const {
  const Shard& s = shards_[shard_of(i)];
  if (s.pack) {
    s.pack->decode(i - s.first, out);
    return;
  }
  // Streaming: one pread of the image's bytes; the CRC tells a shard damaged
  // (or rewritten) since it was opened.
  const PackEntry& e = entries_[i];
  thread_local std::vector<std::uint8_t> bytes;
  bytes.resize(e.length);
  const int fd = ::open(s.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error(describe(i) + ": cannot open the shard: " + std::strerror(errno));
  std::size_t got = 0;
  int err = 0;
  while (got < e.length) {
    const ssize_t r = ::pread(fd, bytes.data() + got, e.length - got, off_t(e.offset + got));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      err = r < 0 ? errno : 0;
      break;
    }
    got += std::size_t(r);
  }
  ::close(fd);
  if (got < e.length)
    throw std::runtime_error(describe(i) + ": " +
                             (err ? std::string("read failed: ") + std::strerror(err)
                                  : std::string("truncated shard (the image lies past its end)")));
  if (crc32(bytes.data(), e.length) != e.crc)
    throw std::runtime_error(describe(i) + ": damaged shard (CRC mismatch in the image)");
  decode_pack_image(bytes.data(), e.length, s.encoding, width_, height_, out, describe(i));
}

void PackSet::decode(std::size_t i, std::vector<std::uint8_t>& out) const {
  thread_local Image scratch;
  decode(i, scratch);
  out.assign(scratch.pixels.begin(), scratch.pixels.end());
}

Image PackSet::decode(std::size_t i) const {
  Image img;
  decode(i, img);
  return img;
}

std::uint64_t set_fingerprint(const PackSet& set) {
  // FNV-1a over the index's fields, 8 bytes at a time (the formula priors
  // have always recorded for a single pack).
  std::uint64_t h = 1469598103934665603ull;
  auto mix = [&h](std::uint64_t v) {
    for (int i = 0; i < 8; ++i) {
      h ^= (v >> (8 * i)) & 0xff;
      h *= 1099511628211ull;
    }
  };
  mix(set.size());
  mix(std::uint64_t(set.width()) << 32 | std::uint32_t(set.height()));
  for (std::size_t i = 0; i < set.size(); ++i) {
    const PackEntry& e = set.entry(i);
    mix(std::uint64_t(e.crc) << 32 | e.length);
    mix(e.name_hash);
  }
  return h;
}

}  // namespace tinct::data
