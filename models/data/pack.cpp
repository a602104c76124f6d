// pack.cpp — see pack.h for the file layout.
#include "models/data/pack.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <stdexcept>


namespace tinct::data {

namespace {

void put_u32(std::uint8_t* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = std::uint8_t(v >> (8 * i));
}
void put_u64(std::uint8_t* p, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = std::uint8_t(v >> (8 * i));
}
std::uint32_t get_u32(const std::uint8_t* p) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
std::uint64_t get_u64(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
void put_f32(std::uint8_t* p, float f) {
  std::uint32_t v;
  std::memcpy(&v, &f, 4);
  put_u32(p, v);
}
float get_f32(const std::uint8_t* p) {
  const std::uint32_t v = get_u32(p);
  float f;
  std::memcpy(&f, &v, 4);
  return f;
}

// The index and the names, serialised (what the index CRC covers).
std::vector<std::uint8_t> serialise_index(const std::vector<PackEntry>& entries) {
  std::size_t names = 0;
  for (const auto& e : entries) names += e.name.size();
  std::vector<std::uint8_t> out(entries.size() * kPackEntryBytes + names);
  std::uint8_t* p = out.data();
  for (const auto& e : entries) {
    put_u64(p + 0, e.offset);
    put_u32(p + 8, e.length);
    put_u32(p + 12, e.crc);
    put_u64(p + 16, e.name_hash);
    put_f32(p + 24, e.colorfulness);
    put_u32(p + 28, std::uint32_t(e.name.size()));
    p += kPackEntryBytes;
  }
  for (const auto& e : entries) {
    std::memcpy(p, e.name.data(), e.name.size());
    p += e.name.size();
  }
  return out;
}

}  // namespace

bool is_pack_file(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  char magic[8];
  const bool ok = std::fread(magic, 1, 8, f) == 8 && std::memcmp(magic, kPackMagic, 8) == 0;
  std::fclose(f);
  return ok;
}

std::uint64_t fnv1a64(const std::string& s) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

// ---------------------------------------------------------------------------
// Writer

PackWriter::PackWriter(const std::string& path, int width, int height, PackEncoding encoding,
                       int quality)
    : path_(path), width_(width), height_(height), quality_(quality), encoding_(encoding) {
  if (width <= 0 || height <= 0) throw std::invalid_argument("pack: image size must be positive");
  static std::atomic<unsigned> counter{0};
  temp_path_ = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
  file_ = std::fopen(temp_path_.c_str(), "wb");
  if (!file_) throw std::runtime_error(temp_path_ + ": cannot create: " + std::strerror(errno));
  // Placeholder header; finish() writes the real one once the index is known.
  const std::uint8_t zeros[kPackHeaderBytes] = {};
  write(zeros, sizeof zeros);
}

PackWriter::~PackWriter() {
  if (file_) std::fclose(file_);
  if (!finished_) std::remove(temp_path_.c_str());
}

void PackWriter::write(const void* data, std::size_t size) {
  if (size && std::fwrite(data, 1, size, file_) != size)
    throw std::runtime_error(temp_path_ + ": write failed: " + std::strerror(errno));
  offset_ += size;
}

void PackWriter::add(const std::uint8_t* data, std::size_t size, const std::string& name,
                     float colorfulness) {
  if (finished_) throw std::logic_error("pack: add() after finish()");
  if (size == 0 || size > 0xFFFFFFFFu) throw std::invalid_argument("pack: image of invalid size");
  if (encoding_ == PackEncoding::raw && size != std::size_t(width_) * height_ * 3)
    throw std::invalid_argument("pack: raw image of the wrong size");
  PackEntry e;
  e.offset = offset_;
  e.length = std::uint32_t(size);
  e.crc = crc32(data, size);
  e.name_hash = fnv1a64(name);
  e.colorfulness = colorfulness;
  e.name = name;
  write(data, size);
  entries_.push_back(std::move(e));
}

void PackWriter::add_image(const Image& img, const std::string& name, float colorfulness) {
  if (img.width != width_ || img.height != height_ || img.channels != 3)
    throw std::invalid_argument("pack: image is " + std::to_string(img.width) + "x" +
                                std::to_string(img.height) + "x" + std::to_string(img.channels) +
                                ", the pack holds " + std::to_string(width_) + "x" +
                                std::to_string(height_) + "x3");
  if (encoding_ == PackEncoding::raw)
    add(img.pixels, name, colorfulness);
  else
    add(encode_jpeg(img, quality_), name, colorfulness);
}

std::uint64_t PackWriter::finish() {
  if (finished_) throw std::logic_error("pack: finish() twice");
  const std::uint64_t index_offset = offset_;
  const std::vector<std::uint8_t> index = serialise_index(entries_);
  write(index.data(), index.size());

  std::uint8_t h[kPackHeaderBytes] = {};
  std::memcpy(h, kPackMagic, 8);
  put_u32(h + 8, kPackVersion);
  put_u32(h + 12, std::uint32_t(kPackHeaderBytes));
  put_u64(h + 16, entries_.size());
  put_u32(h + 24, std::uint32_t(width_));
  put_u32(h + 28, std::uint32_t(height_));
  put_u32(h + 32, 3);
  put_u32(h + 36, std::uint32_t(encoding_));
  put_u32(h + 40, encoding_ == PackEncoding::jpeg ? std::uint32_t(quality_) : 0);
  put_u32(h + 44, crc32(index.data(), index.size()));
  put_u64(h + 48, index_offset);
  put_u32(h + 60, crc32(h, 60));
  if (std::fseek(file_, 0, SEEK_SET) != 0 || std::fwrite(h, 1, sizeof h, file_) != sizeof h)
    throw std::runtime_error(temp_path_ + ": write failed: " + std::strerror(errno));
  // Data on disk before the rename: a crash leaves the old file or the new
  // one, never a half-written file under the final name.
  if (std::fflush(file_) != 0 || ::fsync(::fileno(file_)) != 0)
    throw std::runtime_error(temp_path_ + ": flush failed: " + std::strerror(errno));
  const int closed = std::fclose(file_);
  file_ = nullptr;
  if (closed != 0) throw std::runtime_error(temp_path_ + ": close failed: " + std::strerror(errno));
  if (std::rename(temp_path_.c_str(), path_.c_str()) != 0)
    throw std::runtime_error("cannot rename " + temp_path_ + " to " + path_ + ": " + std::strerror(errno));
  finished_ = true;
  return offset_;
}

// ---------------------------------------------------------------------------
// Reader

std::shared_ptr<const Pack> Pack::open(const std::string& path, Verify verify) {
  std::vector<std::uint8_t> bytes;
  try {
    bytes = read_file(path, std::size_t(1) << 40);
  } catch (const ImageError& e) {
    throw std::runtime_error(path + ": " + e.reason());
  }
  return from_bytes(std::move(bytes), path, verify);
}

namespace {

std::runtime_error pack_error(const std::string& name, const std::string& what) {
  return std::runtime_error(name + ": " + what);
}

// The header's fields, checked against the file's size n. `d` holds the
// first min(n, 64) bytes of the file.
struct Header {
  std::uint64_t count = 0, index_offset = 0;
  std::uint32_t index_crc = 0;
  int width = 0, height = 0, quality = 0;
  PackEncoding encoding = PackEncoding::jpeg;
};

Header parse_header(const std::uint8_t* d, std::uint64_t n, const std::string& name) {
  auto bad = [&](const std::string& what) { return pack_error(name, what); };
  if (n < 8 || std::memcmp(d, kPackMagic, 8) != 0)
    throw bad("not a tinct pack (no TINCTPK1 magic at the start; make one with `tinct prepare`)");
  if (n < kPackHeaderBytes) throw bad("truncated pack (" + std::to_string(n) + " bytes, shorter than its header)");
  if (get_u32(d + 60) != crc32(d, 60)) throw bad("damaged pack (header CRC mismatch)");
  const std::uint32_t version = get_u32(d + 8);
  if (version != kPackVersion)
    throw bad("pack format version " + std::to_string(version) + ", this build reads version " +
              std::to_string(kPackVersion));
  if (get_u32(d + 12) != kPackHeaderBytes) throw bad("damaged pack (unexpected header size)");
  Header h;
  h.count = get_u64(d + 16);
  h.width = int(get_u32(d + 24));
  h.height = int(get_u32(d + 28));
  const std::uint32_t channels = get_u32(d + 32);
  const std::uint32_t encoding = get_u32(d + 36);
  h.quality = int(get_u32(d + 40));
  h.index_crc = get_u32(d + 44);
  h.index_offset = get_u64(d + 48);
  if (get_u32(d + 24) == 0 || get_u32(d + 28) == 0 || get_u32(d + 24) > 65536 || get_u32(d + 28) > 65536 ||
      channels != 3)
    throw bad("damaged pack (image size " + std::to_string(get_u32(d + 24)) + "x" +
              std::to_string(get_u32(d + 28)) + "x" + std::to_string(channels) + " in the header)");
  if (encoding != std::uint32_t(PackEncoding::jpeg) && encoding != std::uint32_t(PackEncoding::raw))
    throw bad("damaged pack (unknown image encoding " + std::to_string(encoding) + ")");
  h.encoding = PackEncoding(encoding);
  if (h.index_offset < kPackHeaderBytes || h.index_offset > n || h.count > (n - h.index_offset) / kPackEntryBytes)
    throw bad("truncated pack (the index lies beyond the end of the file: " + std::to_string(n) + " bytes, " +
              std::to_string(h.count) + " images)");
  return h;
}

// The index and the names; `tail` holds bytes [index_offset, n) of the file.
std::vector<PackEntry> parse_index(const Header& h, const std::uint8_t* tail, std::uint64_t n,
                                   const std::string& name) {
  auto bad = [&](const std::string& what) { return pack_error(name, what); };
  const std::uint64_t tail_size = n - h.index_offset;
  if (crc32(tail, tail_size) != h.index_crc) throw bad("damaged or truncated pack (index CRC mismatch)");
  std::vector<PackEntry> entries(h.count);
  std::uint64_t name_pos = h.count * kPackEntryBytes;  // within the tail
  std::uint64_t expected_offset = kPackHeaderBytes;
  const std::uint64_t raw_size = std::uint64_t(h.width) * h.height * 3;
  for (std::uint64_t i = 0; i < h.count; ++i) {
    const std::uint8_t* p = tail + i * kPackEntryBytes;
    PackEntry& e = entries[i];
    e.offset = get_u64(p + 0);
    e.length = get_u32(p + 8);
    e.crc = get_u32(p + 12);
    e.name_hash = get_u64(p + 16);
    e.colorfulness = get_f32(p + 24);
    const std::uint32_t name_len = get_u32(p + 28);
    // Images are stored back to back in index order: each starts where the
    // previous one ended, and the last ends where the index starts.
    if (e.offset != expected_offset || e.length == 0 || e.length > h.index_offset - e.offset)
      throw bad("damaged pack (image " + std::to_string(i) + " lies outside the image area)");
    if (h.encoding == PackEncoding::raw && e.length != raw_size)
      throw bad("damaged pack (raw image " + std::to_string(i) + " has the wrong size)");
    expected_offset = e.offset + e.length;
    if (name_len > tail_size - name_pos) throw bad("damaged pack (names run past the end of the file)");
    e.name.assign(reinterpret_cast<const char*>(tail + name_pos), name_len);
    name_pos += name_len;
  }
  if (expected_offset != h.index_offset) throw bad("damaged pack (gap between the images and the index)");
  if (name_pos != tail_size)
    throw bad("damaged pack (" + std::to_string(tail_size - name_pos) + " unexpected bytes at the end)");
  return entries;
}

}  // namespace

PackIndex read_pack_index(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw std::runtime_error(path + ": cannot open: " + std::strerror(errno));
  struct Closer {
    std::FILE* f;
    ~Closer() { std::fclose(f); }
  } closer{f};
  auto read_at = [&](std::uint64_t offset, std::uint8_t* out, std::uint64_t size) {
    if (std::fseek(f, long(offset), SEEK_SET) != 0 || std::fread(out, 1, size, f) != size)
      throw std::runtime_error(path + ": read failed" + (std::ferror(f) ? std::string(": ") + std::strerror(errno) : ""));
  };
  if (std::fseek(f, 0, SEEK_END) != 0) throw std::runtime_error(path + ": cannot seek: " + std::strerror(errno));
  const long end = std::ftell(f);
  if (end < 0) throw std::runtime_error(path + ": cannot tell its size: " + std::strerror(errno));
  const std::uint64_t n = std::uint64_t(end);
  std::uint8_t head[kPackHeaderBytes] = {};
  read_at(0, head, std::min<std::uint64_t>(n, kPackHeaderBytes));
  const Header h = parse_header(head, n, path);
  std::vector<std::uint8_t> tail(n - h.index_offset);
  read_at(h.index_offset, tail.data(), tail.size());
  PackIndex out;
  out.entries = parse_index(h, tail.data(), n, path);
  out.width = h.width;
  out.height = h.height;
  out.quality = h.quality;
  out.encoding = h.encoding;
  out.file_size = n;
  out.index_crc = h.index_crc;
  return out;
}

std::shared_ptr<const Pack> Pack::from_bytes(std::vector<std::uint8_t> bytes,
                                             const std::string& name, Verify verify) {
  const std::uint8_t* d = bytes.data();
  const std::uint64_t n = bytes.size();
  const Header h = parse_header(d, n, name);
  auto pack = std::shared_ptr<Pack>(new Pack());
  pack->entries_ = parse_index(h, d + h.index_offset, n, name);
  if (verify == Verify::full)
    for (std::size_t i = 0; i < pack->entries_.size(); ++i) {
      const PackEntry& e = pack->entries_[i];
      if (crc32(d + e.offset, e.length) != e.crc)
        throw pack_error(name, "damaged pack (CRC mismatch in image " + std::to_string(i) + ", " + e.name + ")");
    }
  pack->width_ = h.width;
  pack->height_ = h.height;
  pack->quality_ = h.quality;
  pack->encoding_ = h.encoding;
  pack->index_crc_ = h.index_crc;
  pack->path_ = name;
  pack->bytes_ = std::move(bytes);
  return pack;
}

const std::uint8_t* Pack::blob(std::size_t i, std::size_t* size) const {
  const PackEntry& e = entries_.at(i);
  *size = e.length;
  return bytes_.data() + e.offset;
}

void decode_pack_image(const std::uint8_t* data, std::size_t size, PackEncoding encoding, int width, int height,
                       Image& out, const std::string& what) {
  if (encoding == PackEncoding::raw) {
    if (size != std::size_t(width) * height * 3)
      throw std::runtime_error(what + " does not decode: " + std::to_string(size) + " raw bytes for " +
                               std::to_string(width) + "x" + std::to_string(height) + " pixels");
    out.width = width;
    out.height = height;
    out.channels = out.source_channels = 3;
    out.source_bits = 8;
    out.pixels.assign(data, data + size);
    return;
  }
  try {
    decode_image(data, size, out, DecodeLimits{}, "");
  } catch (const ImageError& e) {
    throw std::runtime_error(what + " does not decode: " + e.reason());
  }
  if (out.width != width || out.height != height)
    throw std::runtime_error(what + " does not decode: " + std::to_string(out.width) + "x" +
                             std::to_string(out.height) + " instead of the pack's " + std::to_string(width) + "x" +
                             std::to_string(height));
}

void Pack::decode(std::size_t i, Image& out) const {
  std::size_t size = 0;
  const std::uint8_t* data = blob(i, &size);
  decode_pack_image(data, size, encoding_, width_, height_, out,
                    path_ + ": image " + std::to_string(i) + " (" + entries_[i].name + ")");
}

void Pack::decode(std::size_t i, std::vector<std::uint8_t>& out) const {
  thread_local Image scratch;  // keeps its buffer between calls
  decode(i, scratch);
  out.assign(scratch.pixels.begin(), scratch.pixels.end());
}

Image Pack::decode(std::size_t i) const {
  Image img;
  decode(i, img);
  return img;
}

}  // namespace tinct::data
