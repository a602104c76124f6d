// pack.cpp — see pack.h for the file layout.
#include "models/data/pack.h"

#include <unistd.h>

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

std::shared_ptr<const Pack> Pack::from_bytes(std::vector<std::uint8_t> bytes,
                                             const std::string& name, Verify verify) {
  const std::uint8_t* d = bytes.data();
  const std::uint64_t n = bytes.size();
  auto bad = [&](const std::string& what) { return std::runtime_error(name + ": " + what); };

  if (n < 8 || std::memcmp(d, kPackMagic, 8) != 0)
    throw bad("not a tinct pack (no TINCTPK1 magic at the start; make one with `tinct prepare`)");
  if (n < kPackHeaderBytes) throw bad("truncated pack (" + std::to_string(n) + " bytes, shorter than its header)");
  if (get_u32(d + 60) != crc32(d, 60)) throw bad("damaged pack (header CRC mismatch)");
  const std::uint32_t version = get_u32(d + 8);
  if (version != kPackVersion)
    throw bad("pack format version " + std::to_string(version) + ", this build reads version " +
              std::to_string(kPackVersion));
  if (get_u32(d + 12) != kPackHeaderBytes) throw bad("damaged pack (unexpected header size)");

  auto pack = std::shared_ptr<Pack>(new Pack());
  const std::uint64_t count = get_u64(d + 16);
  pack->width_ = int(get_u32(d + 24));
  pack->height_ = int(get_u32(d + 28));
  const std::uint32_t channels = get_u32(d + 32);
  const std::uint32_t encoding = get_u32(d + 36);
  pack->quality_ = int(get_u32(d + 40));
  const std::uint32_t index_crc = get_u32(d + 44);
  const std::uint64_t index_offset = get_u64(d + 48);
  if (get_u32(d + 24) == 0 || get_u32(d + 28) == 0 || get_u32(d + 24) > 65536 || get_u32(d + 28) > 65536 ||
      channels != 3)
    throw bad("damaged pack (image size " + std::to_string(get_u32(d + 24)) + "x" +
              std::to_string(get_u32(d + 28)) + "x" + std::to_string(channels) + " in the header)");
  if (encoding != std::uint32_t(PackEncoding::jpeg) && encoding != std::uint32_t(PackEncoding::raw))
    throw bad("damaged pack (unknown image encoding " + std::to_string(encoding) + ")");
  pack->encoding_ = PackEncoding(encoding);
  if (index_offset < kPackHeaderBytes || index_offset > n || count > (n - index_offset) / kPackEntryBytes)
    throw bad("truncated pack (the index lies beyond the end of the file: " + std::to_string(n) +
              " bytes, " + std::to_string(count) + " images)");
  const std::uint64_t names_offset = index_offset + count * kPackEntryBytes;
  if (crc32(d + index_offset, n - index_offset) != index_crc)
    throw bad("damaged or truncated pack (index CRC mismatch)");

  pack->entries_.resize(count);
  std::uint64_t name_pos = names_offset;
  std::uint64_t expected_offset = kPackHeaderBytes;
  const std::uint64_t raw_size = std::uint64_t(pack->width_) * pack->height_ * 3;
  for (std::uint64_t i = 0; i < count; ++i) {
    const std::uint8_t* p = d + index_offset + i * kPackEntryBytes;
    PackEntry& e = pack->entries_[i];
    e.offset = get_u64(p + 0);
    e.length = get_u32(p + 8);
    e.crc = get_u32(p + 12);
    e.name_hash = get_u64(p + 16);
    e.colorfulness = get_f32(p + 24);
    const std::uint32_t name_len = get_u32(p + 28);
    // Images are stored back to back in index order: each starts where the
    // previous one ended, and the last ends where the index starts.
    if (e.offset != expected_offset || e.length == 0 || e.length > index_offset - e.offset)
      throw bad("damaged pack (image " + std::to_string(i) + " lies outside the image area)");
    if (pack->encoding_ == PackEncoding::raw && e.length != raw_size)
      throw bad("damaged pack (raw image " + std::to_string(i) + " has the wrong size)");
    expected_offset = e.offset + e.length;
    if (name_len > n - name_pos) throw bad("damaged pack (names run past the end of the file)");
    e.name.assign(reinterpret_cast<const char*>(d + name_pos), name_len);
    name_pos += name_len;
    if (verify == Verify::full && crc32(d + e.offset, e.length) != e.crc)
      throw bad("damaged pack (CRC mismatch in image " + std::to_string(i) + ", " + e.name + ")");
  }
  if (expected_offset != index_offset) throw bad("damaged pack (gap between the images and the index)");
  if (name_pos != n) throw bad("damaged pack (" + std::to_string(n - name_pos) + " unexpected bytes at the end)");
  pack->path_ = name;
  pack->bytes_ = std::move(bytes);
  return pack;
}

const std::uint8_t* Pack::blob(std::size_t i, std::size_t* size) const {
  const PackEntry& e = entries_.at(i);
  *size = e.length;
  return bytes_.data() + e.offset;
}

void Pack::decode(std::size_t i, Image& out) const {
  std::size_t size = 0;
  const std::uint8_t* data = blob(i, &size);
  auto name = [&] { return path_ + ": image " + std::to_string(i) + " (" + entries_[i].name + ")"; };
  if (encoding_ == PackEncoding::raw) {
    out.width = width_;
    out.height = height_;
    out.channels = out.source_channels = 3;
    out.source_bits = 8;
    out.pixels.assign(data, data + size);  // the reader checked the size
    return;
  }
  try {
    decode_image(data, size, out, DecodeLimits{}, "");
  } catch (const ImageError& e) {
    throw std::runtime_error(name() + " does not decode: " + e.reason());
  }
  if (out.width != width_ || out.height != height_)
    throw std::runtime_error(name() + " does not decode: " + std::to_string(out.width) + "x" +
                             std::to_string(out.height) + " instead of the pack's " + std::to_string(width_) +
                             "x" + std::to_string(height_));
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
