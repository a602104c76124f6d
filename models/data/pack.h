// pack.h — the packed dataset file that `tinct prepare` writes and the
// training loader reads: every kept photo as one small square image, in one
// file that loads in a single read and travels easily (1,830 photos at
// 144x144, JPEG quality 95: about 20 MB).
//
// Layout (all integers little-endian):
//
//   offset 0     header, 64 bytes
//                  0  char[8]  magic "TINCTPK1"
//                  8  u32      format version (1)
//                 12  u32      header size in bytes (64)
//                 16  u64      count: number of images
//                 24  u32      width  \  every image has this size
//                 28  u32      height /  (the prepare --size)
//                 32  u32      channels (3: RGB)
//                 36  u32      encoding: 1 = JPEG (baseline, stb_image_write),
//                                        2 = raw interleaved RGB bytes
//                 40  u32      JPEG quality (0 for raw)
//                 44  u32      CRC-32 of the index and the names
//                 48  u64      index offset (where the index starts)
//                 56  u32      reserved (0)
//                 60  u32      CRC-32 of header bytes 0..59
//   offset 64    the images, back to back, in index order
//   index        count entries of 32 bytes:
//                  0  u64  offset of the image's bytes in the file
//                  8  u32  length in bytes
//                 12  u32  CRC-32 of those bytes
//                 16  u64  FNV-1a 64-bit hash of the name (the relative path)
//                 24  f32  colorfulness of the stored image (Hasler-Suesstrunk)
//                 28  u32  length of the name in bytes
//   names        the names (relative source paths, UTF-8), back to back;
//                the file ends with the last name.
//
// The index sits at the end so that a writer can stream images as they are
// made and keep only the small index in memory. A reader checks the magic,
// the version, both CRCs, that every image lies inside the image area and
// that the sizes add up to the file size; a truncated or damaged pack is
// refused with a message that says which check failed. Image CRCs are
// checked too (Pack::Verify::full, the default): about 50 ms for 20 MB.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "models/data/image.h"

namespace tinct::data {

inline constexpr char kPackMagic[8] = {'T', 'I', 'N', 'C', 'T', 'P', 'K', '1'};
inline constexpr std::uint32_t kPackVersion = 1;
inline constexpr std::size_t kPackHeaderBytes = 64;
inline constexpr std::size_t kPackEntryBytes = 32;

enum class PackEncoding : std::uint32_t { jpeg = 1, raw = 2 };

// FNV-1a, 64 bit: a stable hash of a name (the same on every platform).
std::uint64_t fnv1a64(const std::string& s);

// True when the file at `path` starts with the pack magic (nothing else is
// checked: Pack::open says what is wrong with a damaged one).
bool is_pack_file(const std::string& path);

struct PackEntry {
  std::uint64_t offset = 0;
  std::uint32_t length = 0;
  std::uint32_t crc = 0;
  std::uint64_t name_hash = 0;
  float colorfulness = 0.0f;
  std::string name;
};

// Writes a pack to `path` atomically: everything goes to a temporary file in
// the same folder, which is flushed to disk and renamed over `path` by
// finish(). If the writer is destroyed before finish() (an error, an
// exception), the temporary file is removed and `path` is untouched.
class PackWriter {
 public:
  PackWriter(const std::string& path, int width, int height, PackEncoding encoding, int quality);
  ~PackWriter();
  PackWriter(const PackWriter&) = delete;
  PackWriter& operator=(const PackWriter&) = delete;

  // Appends one image (already encoded: JPEG bytes, or width*height*3 raw bytes).
  void add(const std::uint8_t* data, std::size_t size, const std::string& name, float colorfulness);
  void add(const std::vector<std::uint8_t>& data, const std::string& name, float colorfulness) {
    add(data.data(), data.size(), name, colorfulness);
  }
  // Encodes an RGB image of the pack's size in the pack's encoding, then adds it.
  void add_image(const Image& img, const std::string& name, float colorfulness);

  std::size_t count() const { return entries_.size(); }
  // Writes the index and header, syncs, renames. Returns the file size.
  std::uint64_t finish();

 private:
  void write(const void* data, std::size_t size);
  std::string path_, temp_path_;
  std::FILE* file_ = nullptr;
  int width_, height_, quality_;
  PackEncoding encoding_;
  std::uint64_t offset_ = 0;
  std::vector<PackEntry> entries_;
  bool finished_ = false;
};

// What a pack's header and index say, read without its images: what a
// sharded set (pack_set.h) keeps of each shard when it streams from disk.
struct PackIndex {
  int width = 0, height = 0, quality = 0;
  PackEncoding encoding = PackEncoding::jpeg;
  std::uint64_t file_size = 0;
  std::uint32_t index_crc = 0;  // header field 44: the CRC of the index and names
  std::vector<PackEntry> entries;
};

// Reads and validates the header and the index of the pack at `path` (every
// check of Pack::open but the images' CRCs, which a reader of an image checks
// when it reads it). Throws std::runtime_error as Pack::open does.
PackIndex read_pack_index(const std::string& path);

// Decodes one stored image (the bytes of a pack entry) of a pack of
// width x height in `encoding` into `out`; `what` names it in the error
// (std::runtime_error "<what> does not decode: ...").
void decode_pack_image(const std::uint8_t* data, std::size_t size, PackEncoding encoding, int width, int height,
                       Image& out, const std::string& what);

// A pack read into memory and validated. Immutable after open: any number
// of threads may call blob()/decode() at once.
class Pack {
 public:
  enum class Verify { structure, full };  // full: also every image's CRC

  // Throws std::runtime_error "<path>: not a tinct pack (...)" / "damaged
  // pack (...)" / "truncated pack (...)" when a check fails.
  static std::shared_ptr<const Pack> open(const std::string& path, Verify verify = Verify::full);
  // The same over bytes already in memory (tests, tools).
  static std::shared_ptr<const Pack> from_bytes(std::vector<std::uint8_t> bytes,
                                                const std::string& name = "<memory>",
                                                Verify verify = Verify::full);

  std::size_t size() const { return entries_.size(); }
  int width() const { return width_; }
  int height() const { return height_; }
  PackEncoding encoding() const { return encoding_; }
  int quality() const { return quality_; }
  std::uint64_t file_size() const { return bytes_.size(); }
  const std::string& path() const { return path_; }
  std::uint32_t index_crc() const { return index_crc_; }
  const std::vector<PackEntry>& entries() const { return entries_; }

  const PackEntry& entry(std::size_t i) const { return entries_.at(i); }
  // The stored bytes of image i (JPEG or raw).
  const std::uint8_t* blob(std::size_t i, std::size_t* size) const;
  // Decodes image i into `out`, reusing its buffer: the hot path of the
  // loader. The bytes go through the same checks as any image file
  // (models/data/image.h): a pack may come from anywhere, and its CRCs catch
  // damage, not a crafted file. Throws std::runtime_error naming the entry
  // if they do not decode to an RGB image of the pack's size.
  void decode(std::size_t i, Image& out) const;
  // The same into width * height * 3 bytes of interleaved RGB (resized to that).
  void decode(std::size_t i, std::vector<std::uint8_t>& out) const;
  Image decode(std::size_t i) const;

 private:
  Pack() = default;
  std::string path_;
  std::vector<std::uint8_t> bytes_;
  std::vector<PackEntry> entries_;
  int width_ = 0, height_ = 0, quality_ = 0;
  std::uint32_t index_crc_ = 0;
  PackEncoding encoding_ = PackEncoding::jpeg;
};

}  // namespace tinct::data
